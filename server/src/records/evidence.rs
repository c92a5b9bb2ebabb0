//! The evidence log: an append-only Merkle tree per community, in the
//! design of Certificate Transparency and Go's checksum database, for the
//! returnees' signed pledges and notices (issue 17). Anyone can check it:
//!
//! - leaves and nodes hash as RFC 6962/9162 says (`tlog_tiles`, Go's `tlog`
//!   ported by Cloudflare); a leaf is the hash of a record the caller has
//!   made unlinkable (the canonical record plus a random salt), so the log
//!   reveals nothing about a person;
//! - the tree head is published as a C2SP `tlog-checkpoint`, a signed note
//!   whose key (Ed25519) is the log's own, separate from the pass key;
//! - inclusion proofs (a record is in the tree of a checkpoint) and
//!   consistency proofs (a checkpoint extends an earlier one) are served to
//!   whoever asks.
//!
//! Storage follows Go's tlog: every record stores about two hashes
//! (`stored_hashes`), from which roots and proofs of any size are read back
//! with at most `log n` lookups.
//!
//! Architecture invariant: nothing updates or deletes a `tlog_hashes` or
//! `tlog_leaves` row; retention never touches them (they hold no personal
//! data).

use crate::leaves::detail::{Arg, Detail};
use std::cell::RefCell;
use std::collections::HashMap;

use base64::Engine;
use signed_note::{Note, StandardSigner};
use thiserror::Error;
use tlog_tiles::{Checkpoint, Hash, HashReader};

use shoumen_protocol::evidence::HeldHead;

use crate::db::{Conn, DbError};
use crate::vals;

#[derive(Debug, Error)]
pub enum EvidenceError {
    #[error("the proof asked for is outside the log: {0}")]
    OutOfRange(String),
    #[error("the evidence log of {0} is damaged: {1}")]
    Damaged(String, String),
    #[error(transparent)]
    Db(#[from] DbError),
}

/// The name of a log whose key was made before logs were named after
/// their address: unique on one server only.
pub fn legacy_origin(community: &str) -> String {
    format!("shoumen.{}/evidence", crate::db::keyfiles::clean(community))
}

/// The origin of a log served under `public_url`: its tiles' URL prefix
/// without the scheme (`gate.example.org/log/lotus`), unique to this
/// server, as C2SP tlog-tiles recommends. `None` for an address that
/// cannot be one (a space, a '+').
pub fn url_origin(public_url: &str, community: &str) -> Option<String> {
    let host = public_url.trim().trim_start_matches("https://").trim_start_matches("http://").trim_end_matches('/');
    let origin = format!("{host}/log/{}", crate::db::keyfiles::clean(community));
    (!host.is_empty() && signed_note::is_key_name_valid(&origin)).then_some(origin)
}

/// The log's name in its checkpoints, which is its key's name: the one
/// its key was made with, else the one given at the server's start, else
/// the legacy one.
pub fn origin(conn: &mut dyn Conn, community: &str) -> Result<String, DbError> {
    let (vkey, named) = conn
        .query_opt("SELECT log_vkey, log_origin FROM communities WHERE id = ?1", vals![community], |r| {
            Ok((r.get::<Option<String>>(0)?, r.get::<Option<String>>(1)?))
        })?
        .ok_or_else(|| DbError::UnknownCommunity(community.to_string()))?;
    Ok(match (vkey, named) {
        (Some(vkey), _) => vkey.split('+').next().unwrap_or_default().to_string(),
        (None, Some(named)) => named,
        (None, None) => legacy_origin(community),
    })
}

/// Names the logs that have no key yet after the address the server is
/// reached at (a log with a key keeps its name: a new name is a new log).
pub fn name_logs(conn: &mut dyn Conn, public_url: &str) -> Result<u64, DbError> {
    let unnamed: Vec<String> =
        conn.query_map("SELECT id FROM communities WHERE log_vkey IS NULL AND log_origin IS NULL", vals![], |r| {
            r.get(0)
        })?;
    let mut named = 0;
    for id in unnamed {
        if let Some(origin) = url_origin(public_url, &id) {
            named += conn.execute(
                "UPDATE communities SET log_origin = ?1 WHERE id = ?2 AND log_vkey IS NULL",
                vals![&origin, &id],
            )?;
        }
    }
    Ok(named)
}

/// Reads stored hashes through a connection (tlog's `HashReader` takes
/// `&self`).
struct Reader<'a> {
    conn: RefCell<&'a mut dyn Conn>,
    community: &'a str,
}

impl HashReader for Reader<'_> {
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, tlog_tiles::Error> {
        if indexes.is_empty() {
            return Ok(Vec::new());
        }
        // One query for all of them: a proof or an append needs about
        // log n hashes, and each round trip to PostgreSQL costs more than
        // the lookup.
        let marks: Vec<String> = (0..indexes.len()).map(|i| format!("?{}", i + 2)).collect();
        let sql = format!("SELECT idx, hash FROM tlog_hashes WHERE community = ?1 AND idx IN ({})", marks.join(", "));
        let mut params = vec![crate::db::Val::from(self.community)];
        params.extend(indexes.iter().map(|&i| crate::db::Val::from(i as i64)));
        let rows = self
            .conn
            .borrow_mut()
            .query_map(&sql, &params, |r| Ok((r.get::<i64>(0)? as u64, r.get::<String>(1)?)))
            .map_err(|e| tlog_tiles::Error::InvalidInput(e.to_string()))?;
        let found: std::collections::HashMap<u64, String> = rows.into_iter().collect();
        indexes
            .iter()
            .map(|i| {
                let bytes: [u8; 32] = found
                    .get(i)
                    .and_then(|h| hex::decode(h).ok())
                    .and_then(|b| b.try_into().ok())
                    .ok_or(tlog_tiles::Error::IndexesNotInTree)?;
                Ok(Hash(bytes))
            })
            .collect()
    }
}

fn damaged(community: &str, e: tlog_tiles::Error) -> EvidenceError {
    EvidenceError::Damaged(community.to_string(), e.to_string())
}

/// Records in `community`'s log.
pub fn size(conn: &mut dyn Conn, community: &str) -> Result<u64, DbError> {
    // The newest index, read off the primary key: O(log n), unlike COUNT(*).
    Ok(conn.scalar("SELECT COALESCE(MAX(n) + 1, 0) FROM tlog_leaves WHERE community = ?1", vals![community])? as u64)
}

/// Appends a record (already salted by the caller) in a transaction of its
/// own; returns its index.
pub fn append(conn: &mut dyn Conn, community: &str, record: &[u8], now_ms: i64) -> Result<u64, EvidenceError> {
    conn.transaction(true, |tx| {
        let mut log = Appender::default();
        let n = log.append(tx, community, record, now_ms)?;
        log.flush(tx)?;
        Ok(n)
    })
}

/// The appends of one transaction, kept in memory and written in a few
/// statements at its end ([`Appender::flush`]), the way CT logs sequence a
/// batch: an append costs no round trip to the database once the log is
/// locked and the older hashes it needs have been read.
///
/// Invariant: a record appended here is not in `tlog_*` until `flush`, so
/// nothing reads the log through SQL between the two; the caller flushes in
/// the same transaction as the records that name the leaves' indexes.
#[derive(Default)]
pub struct Appender {
    logs: HashMap<String, Pending>,
}

/// One community's appends in this transaction.
struct Pending {
    /// Records in the log when this transaction locked it.
    base: u64,
    /// Leaves appended since, in order, with their entry and time.
    leaves: Vec<(Hash, Vec<u8>, i64)>,
    /// Their stored hashes, which follow on from `stored_hash_index(0, base)`.
    hashes: Vec<Hash>,
    /// The older stored hashes the appends can need: the log's frontier at
    /// `base`. They never change.
    frontier: HashMap<u64, Hash>,
}

/// Where an [`Appender`] stood, to undo a failed job's appends.
pub struct Mark(Vec<(String, usize, usize)>);

impl Appender {
    /// Appends a record (already salted by the caller); returns its index.
    pub fn append(
        &mut self,
        tx: &mut dyn Conn,
        community: &str,
        record: &[u8],
        now_ms: i64,
    ) -> Result<u64, EvidenceError> {
        if !self.logs.contains_key(community) {
            // One writer per community log: appends queue on its row until
            // the transaction ends.
            let lock = tx.for_update("SELECT id FROM communities WHERE id = ?1");
            tx.query_opt(&lock, vals![community], |_| Ok(()))?
                .ok_or_else(|| DbError::UnknownCommunity(community.to_string()))?;
            let base = size(tx, community)?;
            // The batch's appends need, of the older hashes, only the roots
            // of the complete subtrees that make up the first `base`
            // records (the left siblings on their paths): one query.
            let frontier = frontier(base);
            let found = Reader { conn: RefCell::new(&mut *tx), community }
                .read_hashes(&frontier)
                .map_err(|e| damaged(community, e))?;
            let frontier = frontier.into_iter().zip(found).collect();
            self.logs.insert(community.to_string(), Pending { base, leaves: Vec::new(), hashes: Vec::new(), frontier });
        }
        let pending = self.logs.get_mut(community).expect("inserted above");
        let n = pending.base + pending.leaves.len() as u64;
        let leaf = tlog_tiles::record_hash(record);
        let hashes =
            tlog_tiles::stored_hashes_for_record_hash(n, leaf, &*pending).map_err(|e| damaged(community, e))?;
        pending.hashes.extend(hashes);
        pending.leaves.push((leaf, record.to_vec(), now_ms));
        Ok(n)
    }

    pub fn mark(&self) -> Mark {
        Mark(self.logs.iter().map(|(c, p)| (c.clone(), p.leaves.len(), p.hashes.len())).collect())
    }

    /// Forgets the appends made since `mark`. A log first locked since then
    /// is forgotten whole: the rollback that goes with this released its lock.
    pub fn undo_to(&mut self, mark: Mark) {
        let kept: HashMap<String, (usize, usize)> = mark.0.into_iter().map(|(c, l, h)| (c, (l, h))).collect();
        self.logs.retain(|c, p| match kept.get(c) {
            Some(&(leaves, hashes)) => {
                p.leaves.truncate(leaves);
                p.hashes.truncate(hashes);
                true
            }
            None => false,
        });
    }

    /// Writes every pending leaf and hash, in the caller's transaction.
    pub fn flush(&mut self, tx: &mut dyn Conn) -> Result<(), EvidenceError> {
        // Rows per statement: well inside both engines' limits on parameters.
        const ROWS: usize = 500;
        for (community, p) in std::mem::take(&mut self.logs) {
            let first = tlog_tiles::stored_hash_index(0, p.base);
            for (c, chunk) in p.hashes.chunks(ROWS).enumerate() {
                let rows: Vec<String> =
                    (0..chunk.len()).map(|k| format!("(?1, ?{}, ?{})", 2 * k + 2, 2 * k + 3)).collect();
                let mut params = vec![crate::db::Val::from(community.as_str())];
                for (k, h) in chunk.iter().enumerate() {
                    params.push(crate::db::Val::from((first + (c * ROWS + k) as u64) as i64));
                    params.push(crate::db::Val::from(hex::encode(h.0)));
                }
                tx.execute(
                    &format!("INSERT INTO tlog_hashes (community, idx, hash) VALUES {}", rows.join(", ")),
                    &params,
                )?;
            }
            for (c, chunk) in p.leaves.chunks(ROWS).enumerate() {
                let rows: Vec<String> = (0..chunk.len())
                    .map(|k| format!("(?1, ?{}, ?{}, ?{}, ?{})", 4 * k + 2, 4 * k + 3, 4 * k + 4, 4 * k + 5))
                    .collect();
                let mut params = vec![crate::db::Val::from(community.as_str())];
                for (k, (leaf, entry, at)) in chunk.iter().enumerate() {
                    params.push(crate::db::Val::from((p.base + (c * ROWS + k) as u64) as i64));
                    params.push(crate::db::Val::from(hex::encode(leaf.0)));
                    params.push(crate::db::Val::from(hex::encode(entry)));
                    params.push(crate::db::Val::from(*at));
                }
                tx.execute(
                    &format!(
                        "INSERT INTO tlog_leaves (community, n, leaf, entry, created_ms) VALUES {}",
                        rows.join(", ")
                    ),
                    &params,
                )?;
            }
        }
        Ok(())
    }
}

/// The stored-hash indexes of the largest complete subtrees that cover the
/// first `n` records, largest first.
fn frontier(n: u64) -> Vec<u64> {
    let mut start = 0u64;
    (0..64u8)
        .rev()
        .filter(|&level| n & (1 << level) != 0)
        .map(|level| {
            let index = tlog_tiles::stored_hash_index(level, start >> level);
            start += 1 << level;
            index
        })
        .collect()
}

/// An append's hashes come from memory: this transaction's own, and the
/// frontier read when the log was locked (no append needs any other older
/// hash; `appends_after_a_size_need_only_its_frontier` checks it).
impl HashReader for Pending {
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, tlog_tiles::Error> {
        let first = tlog_tiles::stored_hash_index(0, self.base);
        indexes
            .iter()
            .map(|&i| match i.checked_sub(first) {
                Some(k) => self.hashes.get(k as usize).copied(),
                None => self.frontier.get(&i).copied(),
            })
            .map(|h| h.ok_or(tlog_tiles::Error::IndexesNotInTree))
            .collect()
    }
}

/// The root of the first `n` records.
pub fn root(conn: &mut dyn Conn, community: &str, n: u64) -> Result<Hash, EvidenceError> {
    let reader = Reader { conn: RefCell::new(conn), community };
    tlog_tiles::tree_hash(n, &reader).map_err(|e| damaged(community, e))
}

/// Whether record `index` of `community`'s log has leaf hash `leaf`
/// (hex), and the log's size: what a receipt's QR code proves.
pub fn holds_leaf(conn: &mut dyn Conn, community: &str, index: u64, leaf: &str) -> Result<(bool, u64), DbError> {
    let stored = conn.query_opt(
        "SELECT leaf FROM tlog_leaves WHERE community = ?1 AND n = ?2",
        vals![community, index as i64],
        |r| r.get::<String>(0),
    )?;
    let held = stored.is_some_and(|s| s.eq_ignore_ascii_case(leaf) && leaf.len() == 64);
    Ok((held, size(conn, community)?))
}

/// C2SP tlog-tiles' tile height: 256 hashes a tile.
pub const TILE_HEIGHT: u8 = 8;

/// A hash tile of `community`'s log (C2SP tlog-tiles), by its path below
/// `tile/`: `<L>/<N>[.p/<W>]`. Its hashes, 32 bytes each, if the log holds
/// every one of them now. A full tile never changes, nor does a partial
/// one of a given width: a mirror copies the log from them alone.
pub fn tile(conn: &mut dyn Conn, community: &str, path: &str) -> Result<Vec<u8>, EvidenceError> {
    let bad = || EvidenceError::OutOfRange(format!("tile/{path}: not a tile (tile/<level>/<index>[.p/<width>])"));
    if let Some(bundle) = path.strip_prefix("entries/") {
        return entry_bundle(conn, community, bundle);
    }
    let tile = parse_tile(path).ok_or_else(bad)?;
    let size = size(conn, community)?;
    // The hashes the log holds at the tile's level: one per complete
    // subtree of 2^level records.
    let level = u32::from(tile.level()) * u32::from(TILE_HEIGHT);
    let held = size.checked_shr(level).unwrap_or(0);
    let end = tile.level_index().checked_mul(1 << TILE_HEIGHT).and_then(|s| s.checked_add(u64::from(tile.width())));
    if end.is_none_or(|end| end > held) {
        return Err(EvidenceError::OutOfRange(format!("tile/{path}: the log holds {size} records")));
    }
    let reader = Reader { conn: RefCell::new(conn), community };
    tile.read_data(&reader).map_err(|e| damaged(community, e))
}

/// A tile path of height 8 (C2SP's), checked before the tile is made
/// (`Tile::new` panics on a level past 63 or a width of 0), and then in
/// its one written form (no `x`-less groups, no leading zeros).
fn parse_tile(path: &str) -> Option<tlog_tiles::Tile> {
    if path.len() > 40 {
        return None;
    }
    let level: u8 = path.split('/').next()?.parse().ok()?;
    if level >= 64 || !width_ok(path) {
        return None;
    }
    tlog_tiles::Tile::from_path(&format!("tile/{TILE_HEIGHT}/{path}")).ok().filter(|t| !t.is_data())
}

/// A partial tile's width, if the path names one, is 1 to 255.
fn width_ok(path: &str) -> bool {
    match path.split_once(".p/") {
        Some((_, width)) => width.parse::<u32>().is_ok_and(|w| (1..1 << TILE_HEIGHT).contains(&w)),
        None => true,
    }
}

/// An entry bundle (C2SP tlog-tiles, `tile/entries/<N>[.p/<W>]`): the
/// entries of records 256·N onwards, each a big-endian u16 length and the
/// entry, which is a record's salted commitment (32 bytes, nothing about
/// the person). A leaf logged before entries were kept has its entry
/// recomputed from its registration; with that deleted by retention the
/// bundle cannot be made, and its leaf hashes stay in the level-0 tile.
/// Each entry is checked against its stored leaf before it is served.
fn entry_bundle(conn: &mut dyn Conn, community: &str, path: &str) -> Result<Vec<u8>, EvidenceError> {
    let bad = || {
        EvidenceError::OutOfRange(format!(
            "tile/entries/{path}: not an entry bundle (tile/entries/<index>[.p/<width>])"
        ))
    };
    if path.len() > 40 || !width_ok(path) {
        return Err(bad());
    }
    // Go's tlog names the same tiles `data`: its parser checks the index.
    let tile = tlog_tiles::Tile::from_path(&format!("tile/{TILE_HEIGHT}/data/{path}")).map_err(|_| bad())?;
    let first = tile.level_index().checked_mul(1 << TILE_HEIGHT).ok_or_else(bad)?;
    let end = first + u64::from(tile.width());
    let size = size(conn, community)?;
    if end > size {
        return Err(EvidenceError::OutOfRange(format!("tile/entries/{path}: the log holds {size} records")));
    }
    let rows: Vec<(u64, String, Option<String>)> = conn.query_map(
        "SELECT n, leaf, entry FROM tlog_leaves WHERE community = ?1 AND n >= ?2 AND n < ?3 ORDER BY n",
        vals![community, first as i64, end as i64],
        |r| Ok((r.get::<i64>(0)? as u64, r.get(1)?, r.get(2)?)),
    )?;
    if rows.len() as u64 != end - first {
        return Err(EvidenceError::Damaged(
            community.to_string(),
            format!("leaves {first} to {end} are not all stored"),
        ));
    }
    let older: HashMap<u64, Vec<u8>> = if rows.iter().any(|(_, _, e)| e.is_none()) {
        conn.query_map(
            "SELECT leaf_index, record, salt FROM registrations WHERE community = ?1 AND leaf_index >= ?2 AND leaf_index < ?3 AND record IS NOT NULL AND salt IS NOT NULL",
            vals![community, first as i64, end as i64],
            |r| Ok((r.get::<i64>(0)? as u64, r.get::<String>(1)?, r.get::<String>(2)?)),
        )?
        .into_iter()
        .map(|(n, record, salt)| {
            (n, shoumen_protocol::evidence::commitment(&hex::decode(salt).unwrap_or_default(), record.as_bytes()).to_vec())
        })
        .collect()
    } else {
        HashMap::new()
    };
    let mut bundle = Vec::with_capacity(rows.len() * 34);
    for (n, leaf, entry) in rows {
        let entry = match entry {
            Some(e) => hex::decode(e).unwrap_or_default(),
            None => older.get(&n).cloned().ok_or_else(|| {
                EvidenceError::OutOfRange(format!(
                    "tile/entries/{path}: record {n} was logged before entries were kept and its registration is deleted; its leaf hash is in tile/0"
                ))
            })?,
        };
        if hex::encode(tlog_tiles::record_hash(&entry).0) != leaf || entry.len() > usize::from(u16::MAX) {
            return Err(EvidenceError::Damaged(
                community.to_string(),
                format!("the entry of record {n} is not its leaf's"),
            ));
        }
        bundle.extend_from_slice(&(entry.len() as u16).to_be_bytes());
        bundle.extend_from_slice(&entry);
    }
    Ok(bundle)
}

/// The proof that record `index` is in the tree of `size` records.
pub fn inclusion(conn: &mut dyn Conn, community: &str, index: u64, size: u64) -> Result<Vec<Hash>, EvidenceError> {
    let have = self::size(conn, community)?;
    if index >= size || size > have {
        return Err(EvidenceError::OutOfRange(format!("record {index} in a tree of {size}; the log holds {have}")));
    }
    let reader = Reader { conn: RefCell::new(conn), community };
    tlog_tiles::prove_record(size, index, &reader).map_err(|e| damaged(community, e))
}

/// The proof that the tree of `new` records extends the tree of `old`.
pub fn consistency(conn: &mut dyn Conn, community: &str, old: u64, new: u64) -> Result<Vec<Hash>, EvidenceError> {
    let have = size(conn, community)?;
    if old > new || new > have {
        return Err(EvidenceError::OutOfRange(format!("from {old} to {new} records; the log holds {have}")));
    }
    // Every tree extends the empty one, and itself: nothing to prove.
    if old == 0 || old == new {
        return Ok(Vec::new());
    }
    let reader = Reader { conn: RefCell::new(conn), community };
    tlog_tiles::prove_tree(new, old, &reader).map_err(|e| damaged(community, e))
}

/// The file a community's log key is kept in, out of the database.
pub fn key_file(dir: &std::path::Path, community: &str) -> std::path::PathBuf {
    dir.join(format!("{}.key", crate::db::keyfiles::clean(community)))
}

/// The log's signing key (a signed-note private key) and its public form
/// (a verifier key, `name+id+base64`), made on first use. A key moved out
/// of the database (`evidence move-key`) is read from its file, and must
/// be the one whose public form the database keeps.
fn log_keys(conn: &mut dyn Conn, community: &str) -> Result<(String, String), DbError> {
    let stored = conn.query_opt("SELECT log_skey, log_vkey FROM communities WHERE id = ?1", vals![community], |r| {
        Ok((r.get::<Option<String>>(0)?, r.get::<Option<String>>(1)?))
    })?;
    match stored {
        None => Err(DbError::UnknownCommunity(community.to_string())),
        Some((Some(skey), Some(vkey))) => Ok((skey, vkey)),
        Some((None, Some(vkey))) => Ok((key_outside(community, &vkey)?, vkey)),
        Some(_) => {
            let (mut skey, mut vkey) = signed_note::generate_key(&mut rand::rngs::OsRng, &origin(conn, community)?);
            // A server given a key directory makes the key there; a file
            // already there (two first uses at once, or a crash before the
            // database learnt its public key) is the key.
            let kept = match crate::db::keyfiles::dir() {
                Some(dir) => {
                    let path = key_file(dir, community);
                    crate::db::keyfiles::write_secret(&path, &skey, |_| true)?;
                    skey = crate::db::keyfiles::read_secret("a new evidence log key", |_| path.clone())?;
                    vkey = public_of(&skey).ok_or_else(|| {
                        DbError::Setup(format!("{} holds no evidence log key; move it away", path.display()))
                    })?;
                    None
                }
                None => Some(skey.as_str()),
            };
            conn.execute(
                "UPDATE communities SET log_skey = ?1, log_vkey = ?2 WHERE id = ?3 AND log_skey IS NULL AND log_vkey IS NULL",
                vals![kept, &vkey, community],
            )?;
            log_keys(conn, community)
        }
    }
}

/// The signing key of `community`'s log from its file, checked against
/// the public key the database keeps.
fn key_outside(community: &str, vkey: &str) -> Result<String, DbError> {
    let what = format!("the evidence log key of {community}");
    let skey = crate::db::keyfiles::read_secret(&what, |dir| key_file(dir, community))?;
    if public_of(&skey).as_deref() != Some(vkey) {
        return Err(DbError::Setup(format!("{what}: its file holds another key than the log's {vkey}")));
    }
    Ok(skey)
}

/// The verifier key of a signed-note Ed25519 signer key.
fn public_of(skey: &str) -> Option<String> {
    let mut parts = skey.splitn(5, '+');
    let (_, _, name, _, raw) = (parts.next()?, parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    let raw = base64::engine::general_purpose::STANDARD.decode(raw).ok()?;
    let (&alg, seed) = raw.split_first()?;
    let seed: [u8; 32] = seed.try_into().ok().filter(|_| alg == 1)?;
    let key = ed25519_dalek::SigningKey::from_bytes(&seed);
    Some(signed_note::new_ed25519_verifier_key(name, &key.verifying_key()))
}

/// Checks that every key kept outside the database can be read, the log's
/// and the passes' (a server is started with them, or fails at once
/// saying which is missing); returns how many communities keep any there.
pub fn check_keys(conn: &mut dyn Conn) -> Result<usize, DbError> {
    let outside: Vec<(String, Option<String>, bool)> = conn.query_map(
        "SELECT id, CASE WHEN log_skey IS NULL THEN log_vkey END,
         CASE WHEN signing_key LIKE 'file:%' OR COALESCE(next_key, '') LIKE 'file:%' OR COALESCE(old_key, '') LIKE 'file:%' THEN 1 ELSE 0 END
         FROM communities ORDER BY id",
        vals![],
        |r| Ok((r.get(0)?, r.get(1)?, r.get::<i64>(2)? != 0)),
    )?;
    let mut count = 0;
    for (community, vkey, passes) in &outside {
        if let Some(vkey) = vkey {
            key_outside(community, vkey)?;
        }
        if *passes {
            crate::db::community(conn, community)?;
        }
        count += usize::from(vkey.is_some() || *passes);
    }
    Ok(count)
}

/// Moves `community`'s log signing key out of the database into `dir`
/// (a file readable by its owner only): a copy of the database (a backup,
/// a dump) then cannot sign the log's checkpoints. Returns the file.
pub fn move_key(conn: &mut dyn Conn, community: &str, dir: &std::path::Path) -> Result<std::path::PathBuf, DbError> {
    let (skey, vkey) = log_keys(conn, community)?;
    let path = key_file(dir, community);
    crate::db::keyfiles::write_secret(&path, &skey, |there| public_of(there).as_deref() == Some(vkey.as_str()))?;
    // Written and synced before the database forgets it.
    conn.execute("UPDATE communities SET log_skey = NULL WHERE id = ?1", vals![community])?;
    Ok(path)
}

/// A MAC (hex) of `message` under the community's MAC secret for
/// `purpose`: links and form tokens that need no storage and cannot be
/// made up. The secret is its own, not the log's signing key (a community
/// older than that kept its log key as its secret: its links stay valid).
pub(crate) fn keyed_mac(conn: &mut dyn Conn, community: &str, purpose: &str, message: &str) -> Result<String, DbError> {
    use hmac::{Hmac, Mac};
    let secret = mac_secret(conn, community)?;
    let mut mac =
        Hmac::<sha2::Sha256>::new_from_slice(format!("{purpose}|{secret}").as_bytes()).expect("any key length");
    mac.update(message.as_bytes());
    Ok(hex::encode(mac.finalize().into_bytes()))
}

/// The community's MAC secret, made on first use.
fn mac_secret(conn: &mut dyn Conn, community: &str) -> Result<String, DbError> {
    let stored = conn.query_opt("SELECT mac_secret FROM communities WHERE id = ?1", vals![community], |r| {
        r.get::<Option<String>>(0)
    })?;
    match stored {
        None => Err(DbError::UnknownCommunity(community.to_string())),
        Some(Some(secret)) => Ok(secret),
        Some(None) => {
            let secret = hex::encode(rand::random::<[u8; 32]>());
            // Two first uses at once keep the first secret stored.
            conn.execute(
                "UPDATE communities SET mac_secret = ?1 WHERE id = ?2 AND mac_secret IS NULL",
                vals![&secret, community],
            )?;
            mac_secret(conn, community)
        }
    }
}

/// The log's public key, for kiosks and anyone checking checkpoints.
pub fn verifier_key(conn: &mut dyn Conn, community: &str) -> Result<String, DbError> {
    Ok(log_keys(conn, community)?.1)
}

/// The signed checkpoint of the first `n` records (a size the log has).
pub fn checkpoint_at(conn: &mut dyn Conn, community: &str, n: u64) -> Result<String, EvidenceError> {
    let (skey, _) = log_keys(conn, community)?;
    let root = root(conn, community, n)?;
    let text = Checkpoint::new(&origin(conn, community)?, n, root, "")
        .map_err(|_| damaged(community, tlog_tiles::Error::BadMath))?
        .to_bytes();
    let signer = StandardSigner::new(&skey)
        .map_err(|e| EvidenceError::Damaged(community.to_string(), format!("log key: {e}")))?;
    let mut note = Note::new(&text, &[]).map_err(|e| EvidenceError::Damaged(community.to_string(), e.to_string()))?;
    note.add_sigs(&[&signer]).map_err(|e| EvidenceError::Damaged(community.to_string(), e.to_string()))?;
    String::from_utf8(note.to_bytes()).map_err(|e| EvidenceError::Damaged(community.to_string(), e.to_string()))
}

/// Compares the log head a kiosk holds with the log itself and with the
/// heads the community's other kiosks hold. A head the log does not have,
/// or two kiosks holding different trees of one size, is a split view: the
/// log showed different histories, and an alert says so. Returns how many
/// alerts were new.
pub fn check_held(
    conn: &mut dyn Conn,
    community: &str,
    device: &str,
    held: &HeldHead,
    now_ms: i64,
) -> Result<usize, EvidenceError> {
    let mut problems = Vec::new();
    if let Some(fault) = &held.fault {
        problems.push(Detail::new("split_not_extending", [Arg::from(crate::leaves::text::clean(fault, 200))]));
    }
    let have = size(conn, community)?;
    if held.size > have {
        problems.push(Detail::new("split_longer", [held.size.to_string(), have.to_string()].map(Arg::from)));
    } else if held.size > 0 && root(conn, community, held.size)? != held.root {
        problems.push(Detail::new("split_unknown_root", [Arg::from(held.size.to_string())]));
    }
    let root_b64 = held.root.to_string();
    let others: Vec<String> = conn.query_map(
        "SELECT id FROM devices WHERE community = ?1 AND id <> ?2 AND log_size = ?3 AND log_root <> ?4 ORDER BY id",
        vals![community, device, held.size, &root_b64],
        |r| r.get(0),
    )?;
    for other in others {
        problems.push(Detail::new("split_two_gates", [device, &other, &held.size.to_string()].map(Arg::from)));
    }
    conn.execute("UPDATE devices SET log_size = ?1, log_root = ?2 WHERE id = ?3", vals![held.size, &root_b64, device])?;
    let mut raised = 0;
    for p in problems {
        let p = p.encode();
        // A kiosk reports the same head every heartbeat until someone acts:
        // one alert per problem, not one per heartbeat after it is seen to.
        if let Some(_id) = crate::records::alerts::raise_once(
            conn,
            community,
            shoumen_protocol::AlertKind::SplitView,
            device,
            &p,
            now_ms,
        )? {
            tracing::error!(community, device, problem = %p, "evidence log split view");
            raised += 1;
        }
    }
    Ok(raised)
}

/// Problems [`fsck`] reports at most: the first ones name where to look.
const MAX_PROBLEMS: usize = 20;

/// Audits `community`'s log from what it stores (issue 29's "a log that
/// audits itself", and a restore drill's check, issue 30): every leaf
/// recomputed from its registration's record and salt (where retention has
/// not deleted them), every stored hash from the leaves, and the root every
/// kiosk holds. Returns the log's size and its problems, each a detail to
/// word: `fsck_record` (record n: its record or salt, or its stored leaf,
/// changed), `fsck_entry` (record n's stored entry changed), `fsck_hash` (level, node: a stored hash changed), `fsck_root`
/// (a kiosk holds a root the log does not have), `fsck_missing`. Memory:
/// the log's hashes, 64 bytes per record.
pub fn fsck(conn: &mut dyn Conn, community: &str) -> Result<(u64, Vec<Detail>), DbError> {
    let mut problems = Vec::new();
    let leaves = stored_leaves(conn, community, &mut problems)?;
    for (n, record, salt) in conn.query_map(
        "SELECT leaf_index, record, salt FROM registrations WHERE community = ?1 AND record IS NOT NULL AND salt IS NOT NULL ORDER BY leaf_index",
        vals![community],
        |r| Ok((r.get::<i64>(0)? as u64, r.get::<String>(1)?, r.get::<String>(2)?)),
    )? {
        let salt = hex::decode(&salt).unwrap_or_default();
        let expected = tlog_tiles::record_hash(&shoumen_protocol::evidence::commitment(&salt, record.as_bytes()));
        if leaves.get(n as usize) != Some(&expected) && problems.len() < MAX_PROBLEMS {
            problems.push(Detail::new("fsck_record", [Arg::from(n.to_string())]));
        }
    }
    let computed = hashes_of(&leaves).map_err(|e| DbError::Corrupt(e.to_string()))?;
    let mut i = 0usize;
    // Nodes that differ: above a changed leaf every ancestor differs too,
    // and only the lowest is named.
    let mut differ = std::collections::HashSet::new();
    conn.query_each(
        "SELECT idx, hash FROM tlog_hashes WHERE community = ?1 ORDER BY idx",
        vals![community],
        &mut |r| {
            let (idx, hash) = (r.get::<i64>(0)? as usize, r.get::<String>(1)?);
            // A hash stored where none belongs is as wrong as a changed one.
            let index = idx.max(i);
            if computed.get(index).map(|h| hex::encode(h.0)) != Some(hash) {
                let (level, node) = tlog_tiles::split_stored_hash_index(index as u64);
                let below = level > 0
                    && (differ.contains(&(level - 1, 2 * node)) || differ.contains(&(level - 1, 2 * node + 1)));
                differ.insert((level, node));
                if !below {
                    problems
                        .push(Detail::new("fsck_hash", [Arg::from(level.to_string()), Arg::from(node.to_string())]));
                }
            }
            i = idx + 1;
            Ok(problems.len() < MAX_PROBLEMS)
        },
    )?;
    let held: Vec<(String, i64, String)> = conn.query_map(
        "SELECT id, log_size, log_root FROM devices WHERE community = ?1 AND log_size > 0 AND log_root IS NOT NULL ORDER BY id",
        vals![community],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )?;
    for (device, size, held_root) in held {
        let size = size as u64;
        if size > leaves.len() as u64 {
            continue; // A longer log than this one: `check_held` raises that.
        }
        let ours = root_of(&computed, size).map(|h| h.to_string());
        if ours.as_deref() != Some(held_root.as_str()) && problems.len() < MAX_PROBLEMS {
            problems.push(Detail::new("fsck_root", [Arg::from(device.as_str()), Arg::from(size.to_string())]));
        }
    }
    Ok((leaves.len() as u64, problems))
}

/// The stored leaves in order; a missing one is a problem (and a zero hash
/// in its place, so the rest still line up).
fn stored_leaves(conn: &mut dyn Conn, community: &str, problems: &mut Vec<Detail>) -> Result<Vec<Hash>, DbError> {
    let mut leaves = Vec::new();
    let sql = "SELECT n, leaf, entry FROM tlog_leaves WHERE community = ?1 ORDER BY n";
    conn.query_each(sql, vals![community], &mut |r| {
        let (n, leaf, entry) = (r.get::<i64>(0)? as usize, r.get::<String>(1)?, r.get::<Option<String>>(2)?);
        while leaves.len() < n {
            problems.push(Detail::new("fsck_missing", [Arg::from(leaves.len().to_string())]));
            leaves.push(Hash([0; 32]));
        }
        let leaf = hex::decode(&leaf).ok().and_then(|b| <[u8; 32]>::try_from(b).ok()).unwrap_or([0; 32]);
        // The entry bundles serve it: it must hash to the leaf.
        let entry_leaf = entry.map(|e| tlog_tiles::record_hash(&hex::decode(e).unwrap_or_default()));
        if entry_leaf.is_some_and(|h| h.0 != leaf) && problems.len() < MAX_PROBLEMS {
            problems.push(Detail::new("fsck_entry", [Arg::from(n.to_string())]));
        }
        leaves.push(Hash(leaf));
        Ok(true)
    })?;
    Ok(leaves)
}

/// Every stored hash that follows from `leaves`, in stored order.
fn hashes_of(leaves: &[Hash]) -> Result<Vec<Hash>, tlog_tiles::Error> {
    let mut hashes = Vec::with_capacity(leaves.len() * 2);
    for (n, leaf) in leaves.iter().enumerate() {
        let more = tlog_tiles::stored_hashes_for_record_hash(n as u64, *leaf, &InMemory(&hashes))?;
        hashes.extend(more);
    }
    Ok(hashes)
}

/// The root of the first `size` records from hashes in memory.
fn root_of(hashes: &[Hash], size: u64) -> Option<Hash> {
    tlog_tiles::tree_hash(size, &InMemory(hashes)).ok()
}

/// Stored hashes held in memory, in stored order.
struct InMemory<'a>(&'a [Hash]);

impl HashReader for InMemory<'_> {
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, tlog_tiles::Error> {
        indexes.iter().map(|&i| self.0.get(i as usize).copied().ok_or(tlog_tiles::Error::IndexesNotInTree)).collect()
    }
}

/// Hashes as the proof endpoints send them: standard base64, as in
/// checkpoints.
pub fn b64(hashes: &[Hash]) -> Vec<String> {
    hashes.iter().map(|h| base64::engine::general_purpose::STANDARD.encode(h.0)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every older hash an append after `base` asks for is one of
    /// `frontier(base)`, so a batch reads the database once.
    #[test]
    fn appends_after_a_size_need_only_its_frontier() {
        struct Store(RefCell<Vec<Hash>>, RefCell<Vec<u64>>);
        impl HashReader for Store {
            fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, tlog_tiles::Error> {
                self.1.borrow_mut().extend_from_slice(indexes);
                Ok(indexes.iter().map(|&i| self.0.borrow()[i as usize]).collect())
            }
        }
        let store = Store(RefCell::default(), RefCell::default());
        for n in 0..1100u64 {
            let hashes = tlog_tiles::stored_hashes(n, &n.to_be_bytes(), &store).unwrap();
            store.0.borrow_mut().extend(hashes);
        }
        for base in 0..1000u64 {
            let (first, frontier) = (tlog_tiles::stored_hash_index(0, base), frontier(base));
            for n in base..base + 100 {
                store.1.borrow_mut().clear();
                tlog_tiles::stored_hashes(n, &n.to_be_bytes(), &store).unwrap();
                for &i in store.1.borrow().iter().filter(|&&i| i < first) {
                    assert!(frontier.contains(&i), "append {n} after {base} reads {i}, not in {frontier:?}");
                }
            }
        }
    }

    #[test]
    fn origins_are_valid_key_names() {
        assert_eq!(legacy_origin("lotus-gdn"), "shoumen.lotus-gdn/evidence");
        assert!(signed_note::is_key_name_valid(&legacy_origin("莲花 园+1")));
        assert_eq!(url_origin("https://gate.example.org/", "lotus").as_deref(), Some("gate.example.org/log/lotus"));
        assert_eq!(url_origin("http://10.0.0.5:8080", "莲花 园").as_deref(), Some("10.0.0.5:8080/log/____"));
        assert_eq!(url_origin("https://a b.example", "lotus"), None);
        assert_eq!(url_origin("", "lotus"), None);
    }
}
