//! Witnesses of the evidence log (issue 29), both sides:
//!
//! - a community's **witness policy**: the witnesses its checkpoints are
//!   shown to (C2SP tlog-witness, by their submission URL), how many must
//!   cosign one before it is published, and the checkpoints published with
//!   their cosignatures. A community with a quorum of 0 publishes its log's
//!   own signed checkpoint, as before witnesses;
//! - a **witness** of other logs (`shoumen-server witness`, on a database
//!   of its own, never the logs'): the logs it trusts, the newest checkpoint
//!   it cosigned of each, and the checkpoints it refused, kept as evidence
//!   of a log that showed two histories.

use shoumen_protocol::evidence::Head;
use shoumen_protocol::witness::{Policy, WitnessKey};

use crate::db::{Conn, DbError};
use crate::records::evidence::{self, EvidenceError};
use crate::vals;

/// A witness a community shows its checkpoints to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Witness {
    pub name: String,
    pub vkey: String,
    /// The submission prefix: requests go to `<url>/add-checkpoint`; or
    /// `kiosk:<device>` for a gate, which cosigns over its own sync.
    pub url: String,
    /// It must cosign every checkpoint, whatever the others do.
    pub required: bool,
    /// The size it last cosigned for this log, as far as the log knows.
    pub known_size: u64,
    /// Why it last refused or could not be reached, if it did.
    pub last_error: Option<String>,
}

pub fn list(conn: &mut dyn Conn, community: &str) -> Result<Vec<Witness>, DbError> {
    conn.query_map(
        "SELECT name, vkey, url, known_size, last_error, required FROM log_witnesses WHERE community = ?1 ORDER BY name",
        vals![community],
        |r| {
            Ok(Witness {
                name: r.get(0)?,
                vkey: r.get(1)?,
                url: r.get(2)?,
                known_size: r.get::<i64>(3)? as u64,
                last_error: r.get(4)?,
                required: r.get::<i64>(5)? != 0,
            })
        },
    )
}

/// The community's policy, as readers check checkpoints.
pub fn policy(conn: &mut dyn Conn, community: &str) -> Result<Policy, DbError> {
    let quorum = conn
        .query_opt("SELECT witness_quorum FROM communities WHERE id = ?1", vals![community], |r| r.get::<i64>(0))?
        .ok_or_else(|| DbError::UnknownCommunity(community.to_string()))?;
    let all = list(conn, community)?;
    let required = all.iter().filter(|w| w.required).map(|w| w.vkey.clone()).collect();
    Ok(Policy { witnesses: all.into_iter().map(|w| w.vkey).collect(), quorum: quorum.max(0) as usize, required })
}

#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    #[error("{0}")]
    Key(#[from] shoumen_protocol::witness::WitnessKeyError),
    #[error("the witness's address must start with https:// or http://, got {0:?}")]
    Url(String),
    #[error("a quorum of {quorum} needs {quorum} witnesses besides the required ones; the community has {have}")]
    Quorum { quorum: usize, have: usize },
    #[error(transparent)]
    Db(#[from] DbError),
}

/// The communities whose checkpoints wait for witnesses.
pub fn with_policy(conn: &mut dyn Conn) -> Result<Vec<String>, DbError> {
    conn.query_map(
        "SELECT id FROM communities c WHERE witness_quorum > 0
            OR EXISTS (SELECT 1 FROM log_witnesses w WHERE w.community = c.id AND w.required = 1)
         ORDER BY id",
        vals![],
        |r| r.get(0),
    )
}

/// Adds (or re-addresses) a witness of `community`'s log; a `required`
/// one must cosign every checkpoint.
pub fn add(conn: &mut dyn Conn, community: &str, vkey: &str, url: &str, required: bool) -> Result<String, PolicyError> {
    let key = WitnessKey::parse(vkey)?;
    let url = url.trim().trim_end_matches('/');
    if !(url.starts_with("https://") || url.starts_with("http://")) {
        return Err(PolicyError::Url(url.to_string()));
    }
    conn.transaction(true, |tx| {
        policy(tx, community)?;
        tx.execute(
            "INSERT INTO log_witnesses (community, name, vkey, url, required) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (community, name) DO UPDATE
             SET vkey = excluded.vkey, url = excluded.url, required = excluded.required, known_size = 0",
            vals![community, key.name(), vkey.trim(), url, required as i64],
        )?;
        Ok(key.name().to_string())
    })
}

/// Sets how many of the community's witnesses must cosign a checkpoint
/// before it is published (0: none, the log's signature alone).
pub fn set_quorum(conn: &mut dyn Conn, community: &str, quorum: usize) -> Result<(), PolicyError> {
    conn.transaction(true, |tx| {
        let p = policy(tx, community)?;
        let have = p.witnesses.len() - p.required.len();
        if quorum > have {
            return Err(PolicyError::Quorum { quorum, have });
        }
        tx.execute("UPDATE communities SET witness_quorum = ?1 WHERE id = ?2", vals![quorum as i64, community])?;
        Ok(())
    })
}

/// Notes what a witness answered: the size it now holds, or why it did not
/// cosign.
pub fn answered(
    conn: &mut dyn Conn,
    community: &str,
    name: &str,
    known_size: u64,
    error: Option<&str>,
) -> Result<(), DbError> {
    conn.execute(
        "UPDATE log_witnesses SET known_size = ?1, last_error = ?2 WHERE community = ?3 AND name = ?4",
        vals![known_size as i64, error, community, name],
    )?;
    Ok(())
}

/// Publishes a cosigned checkpoint (a second process publishing the same
/// size keeps the first's).
pub fn publish(conn: &mut dyn Conn, community: &str, size: u64, note: &str, now_ms: i64) -> Result<(), DbError> {
    conn.transaction(true, |tx| {
        tx.execute(
            "INSERT INTO log_cosigned (community, size, note, published_ms) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (community, size) DO NOTHING",
            vals![community, size as i64, note, now_ms],
        )?;
        // The kiosks' cosignatures of older trees are of no more use.
        tx.execute("DELETE FROM log_cosignatures WHERE community = ?1 AND size < ?2", vals![community, size as i64])?;
        Ok(())
    })
}

/// The newest published checkpoint, if any.
pub fn newest_published(conn: &mut dyn Conn, community: &str) -> Result<Option<(u64, String)>, DbError> {
    conn.query_opt(
        "SELECT size, note FROM log_cosigned WHERE community = ?1 ORDER BY size DESC LIMIT 1",
        vals![community],
        |r| Ok((r.get::<i64>(0)? as u64, r.get(1)?)),
    )
}

/// The checkpoint readers are shown now, and its size: with a policy, the
/// newest one its witnesses cosigned (none before the first); without,
/// the log's own of the size chosen at most every `every_ms`.
pub fn current(conn: &mut dyn Conn, community: &str, every_ms: i64) -> Result<Option<(u64, String)>, EvidenceError> {
    if policy(conn, community)?.is_empty() {
        let size = candidate(conn, community, crate::db::now_ms(), every_ms, false)?;
        return Ok(Some((size, evidence::checkpoint_at(conn, community, size)?)));
    }
    Ok(newest_published(conn, community)?)
}

/// The newest cosigned checkpoint, for a receipt: `None` without a policy
/// (the receipt then carries the log's own checkpoint).
pub fn cosigned(conn: &mut dyn Conn, community: &str) -> Result<Option<(u64, String)>, DbError> {
    if policy(conn, community)?.is_empty() {
        return Ok(None);
    }
    newest_published(conn, community)
}

/// The checkpoint being shown (its size), chosen afresh from the log's
/// size at most every `every_ms`: readers learn the log's size no more
/// often, so a public checkpoint does not date each registration. With
/// `witnessed`, a new one waits until the last one is published, or ten
/// periods (a witness gone).
pub fn candidate(
    conn: &mut dyn Conn,
    community: &str,
    now_ms: i64,
    every_ms: i64,
    witnessed: bool,
) -> Result<u64, DbError> {
    let read = |c: &mut dyn Conn, select: &str| -> Result<(Option<u64>, i64, u64, u64), DbError> {
        let (held, since) = c
            .query_opt(select, vals![community], |r| Ok((r.get::<Option<i64>>(0)?, r.get::<Option<i64>>(1)?)))?
            .ok_or_else(|| DbError::UnknownCommunity(community.to_string()))?;
        let size = evidence::size(c, community)?;
        let published = if witnessed { newest_published(c, community)?.map_or(0, |(n, _)| n) } else { 0 };
        Ok((held.map(|h| h as u64), since.unwrap_or(0), size, published))
    };
    let due = |(held, since, size, published): (Option<u64>, i64, u64, u64)| {
        let age = now_ms - since;
        match held {
            None => true,
            // A log restored from an older backup: show what it has.
            Some(c) if size < c => true,
            Some(c) => size > c && age >= every_ms && (!witnessed || c <= published || age >= every_ms * 10),
        }
    };
    // Read first: most reads find nothing due, and take no write lock.
    let seen = read(conn, "SELECT log_candidate, log_candidate_ms FROM communities WHERE id = ?1")?;
    if !due(seen) {
        return Ok(seen.0.unwrap_or(0));
    }
    conn.transaction(true, |tx| {
        let select = tx.for_update("SELECT log_candidate, log_candidate_ms FROM communities WHERE id = ?1");
        let now = read(tx, &select)?;
        if !due(now) {
            return Ok(now.0.unwrap_or(0));
        }
        tx.execute(
            "UPDATE communities SET log_candidate = ?1, log_candidate_ms = ?2 WHERE id = ?3",
            vals![now.2 as i64, now_ms, community],
        )?;
        Ok(now.2)
    })
}

/// The checkpoint a kiosk is shown, to check against the one it holds and
/// cosign: with a policy, the one being shown to the witnesses (until the
/// collector chose one, the whole log); without, the scheduled one.
pub fn for_witnesses(conn: &mut dyn Conn, community: &str, every_ms: i64) -> Result<(u64, String), EvidenceError> {
    let size = if policy(conn, community)?.is_empty() {
        candidate(conn, community, crate::db::now_ms(), every_ms, false)?
    } else {
        let chosen = conn
            .query_opt("SELECT log_candidate FROM communities WHERE id = ?1", vals![community], |r| {
                r.get::<Option<i64>>(0)
            })?
            .flatten();
        match chosen {
            Some(n) => n as u64,
            None => evidence::size(conn, community)?,
        }
    };
    Ok((size, evidence::checkpoint_at(conn, community, size)?))
}

/// Why a kiosk's cosignature is not taken.
#[derive(Debug, thiserror::Error)]
pub enum CosignError {
    #[error("this gate's witness key is not the one it first gave ({0}); re-enroll it to change keys")]
    KeyChanged(String),
    #[error("the cosignature does not check against the gate's witness key over the log's checkpoint of {0} records")]
    Invalid(u64),
    #[error("{0}")]
    Key(#[from] shoumen_protocol::witness::WitnessKeyError),
    #[error(transparent)]
    Evidence(#[from] EvidenceError),
    #[error(transparent)]
    Db(#[from] DbError),
}

/// Takes a kiosk's cosignature of the log's checkpoint of `size` records.
/// The kiosk is one of the community's witnesses from its first one on
/// (its key pinned then, as its device key is at enrollment); the
/// committee sets how many must cosign.
pub fn kiosk_cosigned(
    conn: &mut dyn Conn,
    community: &str,
    device: &str,
    vkey: &str,
    size: u64,
    line: &str,
    now_ms: i64,
) -> Result<(), CosignError> {
    let key = WitnessKey::parse(vkey)?;
    let url = format!("kiosk:{device}");
    conn.transaction(true, |tx| {
        let pinned = tx.query_opt(
            "SELECT vkey FROM log_witnesses WHERE community = ?1 AND url = ?2",
            vals![community, &url],
            |r| r.get::<String>(0),
        )?;
        match pinned {
            Some(p) if p != vkey.trim() => return Err(CosignError::KeyChanged(key.name().to_string())),
            Some(_) => {}
            None => {
                tx.execute(
                    "INSERT INTO log_witnesses (community, name, vkey, url) VALUES (?1, ?2, ?3, ?4)",
                    vals![community, key.name(), vkey.trim(), &url],
                )?;
            }
        }
        if size > evidence::size(tx, community)? {
            return Err(CosignError::Invalid(size));
        }
        let note = evidence::checkpoint_at(tx, community, size)?;
        if !shoumen_protocol::witness::cosigned_by(vkey.trim(), &note, line) {
            return Err(CosignError::Invalid(size));
        }
        let line = if line.ends_with('\n') { line.to_string() } else { format!("{line}\n") };
        tx.execute(
            "INSERT INTO log_cosignatures (community, size, witness, line, at_ms) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (community, size, witness) DO NOTHING",
            vals![community, size as i64, key.name(), &line, now_ms],
        )?;
        answered(tx, community, key.name(), size, None)?;
        Ok(())
    })
}

/// A kiosk witness's cosignature of the checkpoint of `size`, if it came.
pub fn kiosk_cosignature(
    conn: &mut dyn Conn,
    community: &str,
    witness: &str,
    size: u64,
) -> Result<Option<String>, DbError> {
    conn.query_opt(
        "SELECT line FROM log_cosignatures WHERE community = ?1 AND size = ?2 AND witness = ?3",
        vals![community, size as i64, witness],
        |r| r.get(0),
    )
}

// The witness's side: the logs it trusts and what it cosigned.

/// A log this witness trusts, and the newest checkpoint it cosigned.
#[derive(Clone, Debug)]
pub struct Witnessed {
    pub vkey: String,
    /// What it cosigned last (none: never).
    pub latest: Option<Head>,
    /// That checkpoint's note, kept to show beside a contradicting one.
    pub note: Option<String>,
}

/// Trusts the log whose key is `vkey` (its origin is the key's name).
pub fn trust_log(conn: &mut dyn Conn, vkey: &str, now_ms: i64) -> Result<String, EvidenceError> {
    let origin = vkey.trim().split('+').next().unwrap_or("").to_string();
    signed_note::StandardVerifier::new(vkey.trim())
        .map_err(|e| EvidenceError::OutOfRange(format!("not a log's verifier key ({e})")))?;
    conn.execute(
        "INSERT INTO witnessed_logs (origin, vkey, updated_ms) VALUES (?1, ?2, ?3)
         ON CONFLICT (origin) DO UPDATE SET vkey = excluded.vkey",
        vals![&origin, vkey.trim(), now_ms],
    )?;
    Ok(origin)
}

pub fn witnessed(conn: &mut dyn Conn, origin: &str) -> Result<Option<Witnessed>, DbError> {
    conn.query_opt("SELECT vkey, size, root, note FROM witnessed_logs WHERE origin = ?1", vals![origin], |r| {
        let root: Option<String> = r.get(2)?;
        let latest = match root {
            Some(root) => Some(Head {
                origin: origin.to_string(),
                size: r.get::<i64>(1)? as u64,
                root: tlog_tiles::Hash::parse_hash(&root).map_err(|_| DbError::Corrupt(format!("root of {origin}")))?,
            }),
            None => None,
        };
        Ok(Witnessed { vkey: r.get(0)?, latest, note: r.get(3)? })
    })
}

/// Moves the log's latest cosigned checkpoint from `old` to `head`, only
/// if it is still `old` (two requests at once cannot roll it back, the
/// spec's race). False: another request moved it first.
pub fn advance(conn: &mut dyn Conn, old: Option<&Head>, head: &Head, note: &str, now_ms: i64) -> Result<bool, DbError> {
    let changed = match old {
        Some(old) => conn.execute(
            "UPDATE witnessed_logs SET size = ?1, root = ?2, note = ?3, updated_ms = ?4
             WHERE origin = ?5 AND size = ?6 AND root = ?7",
            vals![
                head.size as i64,
                head.root.to_string(),
                note,
                now_ms,
                &head.origin,
                old.size as i64,
                old.root.to_string()
            ],
        )?,
        None => conn.execute(
            "UPDATE witnessed_logs SET size = ?1, root = ?2, note = ?3, updated_ms = ?4
             WHERE origin = ?5 AND root IS NULL",
            vals![head.size as i64, head.root.to_string(), note, now_ms, &head.origin],
        )?,
    };
    Ok(changed == 1)
}

/// Refusals kept per log: the newest ones are the evidence.
const REFUSALS_KEPT: i64 = 100;

/// Keeps a checkpoint the witness refused as inconsistent, beside the one
/// it had cosigned: together, two signed notes of one log that cannot both
/// be true.
pub fn refused(
    conn: &mut dyn Conn,
    origin: &str,
    held: Option<&str>,
    offered: &str,
    why: &str,
    now_ms: i64,
) -> Result<(), DbError> {
    conn.transaction(true, |tx| {
        tx.execute(
            "INSERT INTO witness_refusals (origin, at_ms, held, offered, why) VALUES (?1, ?2, ?3, ?4, ?5)",
            vals![origin, now_ms, held, offered, why],
        )?;
        tx.execute(
            "DELETE FROM witness_refusals WHERE origin = ?1 AND id <= (
                SELECT id FROM witness_refusals WHERE origin = ?1 ORDER BY id DESC LIMIT 1 OFFSET ?2)",
            vals![origin, REFUSALS_KEPT],
        )?;
        Ok(())
    })
}

/// The refusals kept for `origin`, newest first: (when, held, offered, why).
pub type Refused = (i64, Option<String>, String, String);

pub fn refusals(conn: &mut dyn Conn, origin: &str) -> Result<Vec<Refused>, DbError> {
    conn.query_map(
        "SELECT at_ms, held, offered, why FROM witness_refusals WHERE origin = ?1 ORDER BY id DESC",
        vals![origin],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
    )
}
