//! The kiosk software's releases and their staged rollout (issue 31): the
//! only code that writes `releases`, `release_parts`, `rollouts`,
//! `rollout_steps` and the `update_*` columns of `devices`.
//!
//! The server stores and relays; it cannot make a release. A release is
//! the kiosk package and a note signed by a release key (protocol's
//! `release`): the server checks the note against the district's release
//! keys and the file against the note when it is added, and every kiosk
//! checks both again against its own keys.
//!
//! One rollout runs at a time, in three stages: one gate of each compound,
//! then `percent` of each compound's gates, then all. Which stage takes
//! each gate is fixed when the rollout starts (`rollout_gates`, in an order
//! from the rollout's number and the gate's id), so every process and every
//! heartbeat agree, and a stage's gates stay in the next. A stage is promoted once every one of its gates runs the release
//! and says its self-test passed ([`promote`]); one gate that rolls it
//! back or refuses it halts the rollout at once ([`note_report`]).

use sha2::{Digest, Sha256};
use shoumen_protocol::release::{self, Outcome, Release, ReleaseError, UpdateOffer, UpdateReport, PART_BYTES};

use crate::db::{Conn, DbError};
use crate::records::ingest::Device;
use crate::vals;

#[derive(Debug, thiserror::Error)]
pub enum UpdateError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error(transparent)]
    Release(#[from] ReleaseError),
    #[error("the package is {0} bytes; the most a release may be is {most}", most = release::MOST_BYTES)]
    TooBig(u64),
    #[error("release {0} for {1} is already stored, with another note")]
    Different(String, String),
    #[error("no release {0} is stored: add it first (shoumen-server release add)")]
    NoRelease(String),
    #[error("the share of the second stage is {0}%; it must be from 1 to 100")]
    BadPercent(i64),
    #[error("no rollout is running")]
    NoRollout,
}

impl UpdateError {
    /// The words key a page shows for it.
    pub fn key(&self) -> &'static str {
        match self {
            UpdateError::Db(_) => "server_error_text",
            UpdateError::Release(_) | UpdateError::TooBig(_) | UpdateError::Different(..) => "update_bad_release",
            UpdateError::NoRelease(_) => "update_no_release",
            UpdateError::BadPercent(_) => "update_bad_percent",
            UpdateError::NoRollout => "update_no_rollout",
        }
    }
}

/// A stored release, without its bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stored {
    pub version: String,
    pub arch: String,
    pub size: u64,
    pub added_ms: i64,
}

/// Stores a release: `note` must be signed by one of `vkeys` and name
/// `deb` exactly. Adding the same release twice is no change.
pub fn add_release(
    conn: &mut dyn Conn,
    note: &str,
    deb: &[u8],
    vkeys: &[String],
    now: i64,
) -> Result<Release, UpdateError> {
    let rel = Release::open(note, vkeys)?;
    if deb.len() as u64 > release::MOST_BYTES {
        return Err(UpdateError::TooBig(deb.len() as u64));
    }
    rel.check_file(deb)?;
    conn.transaction(true, |tx| {
        let held = tx.query_opt(
            "SELECT note FROM releases WHERE version = ?1 AND arch = ?2",
            vals![&rel.version, &rel.architecture],
            |r| r.get::<String>(0),
        )?;
        match held {
            Some(n) if n == note => return Ok(rel.clone()),
            Some(_) => return Err(UpdateError::Different(rel.version.clone(), rel.architecture.clone())),
            None => {}
        }
        tx.execute(
            "INSERT INTO releases (version, arch, note, size, added_ms) VALUES (?1, ?2, ?3, ?4, ?5)",
            vals![&rel.version, &rel.architecture, note, rel.size, now],
        )?;
        for (part, bytes) in deb.chunks(PART_BYTES as usize).enumerate() {
            tx.execute(
                "INSERT INTO release_parts (version, arch, part, bytes) VALUES (?1, ?2, ?3, ?4)",
                vals![&rel.version, &rel.architecture, part as i64, bytes],
            )?;
        }
        Ok(rel.clone())
    })
}

/// Every stored release, newest first.
pub fn releases(conn: &mut dyn Conn) -> Result<Vec<Stored>, DbError> {
    let mut all = conn.query_map("SELECT version, arch, size, added_ms FROM releases", vals![], |r| {
        Ok(Stored { version: r.get(0)?, arch: r.get(1)?, size: r.get(2)?, added_ms: r.get(3)? })
    })?;
    all.sort_by(|a, b| release::compare_versions(&b.version, &a.version).then_with(|| a.arch.cmp(&b.arch)));
    Ok(all)
}

/// Part `part` of a release's package, if there is one.
pub fn part(conn: &mut dyn Conn, version: &str, arch: &str, part: u64) -> Result<Option<Vec<u8>>, DbError> {
    conn.query_opt(
        "SELECT bytes FROM release_parts WHERE version = ?1 AND arch = ?2 AND part = ?3",
        vals![version, arch, part],
        |r| r.get(0),
    )
}

/// The running rollout.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rollout {
    pub id: i64,
    pub version: String,
    /// The second stage's share of each compound's gates.
    pub percent: i64,
    /// 1: one gate per compound; 2: `percent`; 3: all.
    pub stage: i64,
    pub started_ms: i64,
    pub stage_ms: i64,
    pub started_by: String,
    pub ended_ms: Option<i64>,
    /// Why it stopped, if a gate failed it or a person halted it.
    pub halted: Option<String>,
}

/// The stages, for pages: 1, 2, 3.
pub const STAGES: [i64; 3] = [1, 2, 3];

/// What happened to a rollout, in its order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    Started,
    Promoted,
    Done,
    Halted,
    Replaced,
}

impl Step {
    pub fn as_str(self) -> &'static str {
        match self {
            Step::Started => "started",
            Step::Promoted => "promoted",
            Step::Done => "done",
            Step::Halted => "halted",
            Step::Replaced => "replaced",
        }
    }

    pub fn parse(s: &str) -> Option<Step> {
        [Step::Started, Step::Promoted, Step::Done, Step::Halted, Step::Replaced].into_iter().find(|k| k.as_str() == s)
    }
}

fn rollout(r: &crate::db::Row) -> Result<Rollout, DbError> {
    Ok(Rollout {
        id: r.get(0)?,
        version: r.get(1)?,
        percent: r.get(2)?,
        stage: r.get(3)?,
        started_ms: r.get(4)?,
        stage_ms: r.get(5)?,
        started_by: r.get(6)?,
        ended_ms: r.get(7)?,
        halted: r.get(8)?,
    })
}

const ROLLOUT: &str =
    "SELECT id, version, percent, stage, started_ms, stage_ms, started_by, ended_ms, halted FROM rollouts";

/// The rollout under way, if one is.
pub fn running(conn: &mut dyn Conn) -> Result<Option<Rollout>, DbError> {
    conn.query_opt(&format!("{ROLLOUT} WHERE ended_ms IS NULL ORDER BY id DESC"), vals![], rollout)
}

/// One thing that happened to a rollout: when, what, its detail.
pub type StepRow = (i64, Step, String);

/// The newest rollout, running or not.
pub fn newest(conn: &mut dyn Conn) -> Result<Option<Rollout>, DbError> {
    conn.query_opt(&format!("{ROLLOUT} ORDER BY id DESC"), vals![], rollout)
}

/// The newest rollout, running or not, and its steps.
pub fn latest(conn: &mut dyn Conn) -> Result<Option<(Rollout, Vec<StepRow>)>, DbError> {
    let Some(r) = newest(conn)? else {
        return Ok(None);
    };
    let steps = conn.query_map(
        "SELECT at_ms, step, detail FROM rollout_steps WHERE rollout = ?1 ORDER BY at_ms, step",
        vals![r.id],
        |row| Ok((row.get(0)?, Step::parse(&row.get::<String>(1)?).unwrap_or(Step::Halted), row.get(2)?)),
    )?;
    Ok(Some((r, steps)))
}

fn step(tx: &mut dyn Conn, rollout: i64, step: Step, detail: &str, now: i64) -> Result<(), DbError> {
    tx.execute(
        "INSERT INTO rollout_steps (rollout, at_ms, step, detail) VALUES (?1, ?2, ?3, ?4)",
        vals![rollout, now, step.as_str(), crate::leaves::text::clean(detail, 300)],
    )?;
    Ok(())
}

/// Starts rolling `version` out, replacing a rollout under way.
pub fn start(conn: &mut dyn Conn, version: &str, percent: i64, by: &str, now: i64) -> Result<Rollout, UpdateError> {
    if !(1..=100).contains(&percent) {
        return Err(UpdateError::BadPercent(percent));
    }
    conn.transaction(true, |tx| {
        if tx.scalar("SELECT COUNT(*) FROM releases WHERE version = ?1", vals![version])? == 0 {
            return Err(UpdateError::NoRelease(version.to_string()));
        }
        if let Some(old) = running(tx)? {
            tx.execute("UPDATE rollouts SET ended_ms = ?1 WHERE id = ?2", vals![now, old.id])?;
            step(tx, old.id, Step::Replaced, version, now)?;
        }
        let id: i64 = tx.query_row(
            "INSERT INTO rollouts (version, percent, stage, started_ms, stage_ms, started_by)
             VALUES (?1, ?2, 1, ?3, ?3, ?4) RETURNING id",
            vals![version, percent, now, by],
            |r| r.get(0),
        )?;
        step(tx, id, Step::Started, by, now)?;
        let r = running(tx)?.expect("just started");
        place_gates(tx, &r)?;
        Ok(r)
    })
}

/// Stops the rollout under way: no kiosk is offered its release again.
pub fn halt(conn: &mut dyn Conn, why: &str, now: i64) -> Result<(), UpdateError> {
    conn.transaction(true, |tx| {
        let r = running(tx)?.ok_or(UpdateError::NoRollout)?;
        halt_in(tx, &r, why, now)?;
        Ok(())
    })
}

fn halt_in(tx: &mut dyn Conn, r: &Rollout, why: &str, now: i64) -> Result<(), DbError> {
    let why = crate::leaves::text::clean(why, 300);
    tx.execute("UPDATE rollouts SET ended_ms = ?1, halted = ?2 WHERE id = ?3", vals![now, &why, r.id])?;
    step(tx, r.id, Step::Halted, &why, now)
}

/// How many of `n` gates a stage takes in each compound.
pub fn stage_size(stage: i64, percent: i64, n: usize) -> usize {
    match stage {
        1 => n.min(1),
        2 => (n * percent.clamp(1, 100) as usize).div_ceil(100).clamp(n.min(1), n),
        _ => n,
    }
}

/// A compound's gates in the order a rollout takes them: by a hash of the
/// rollout's number and the gate's id, so each rollout starts elsewhere.
fn in_rollout_order(rollout: i64, mut ids: Vec<String>) -> Vec<String> {
    let rank =
        |id: &str| -> [u8; 32] { Sha256::new().chain_update(rollout.to_be_bytes()).chain_update(id).finalize().into() };
    ids.sort_by_cached_key(|id| rank(id));
    ids
}

/// Fixes, as the rollout starts, the stage that takes each gate the
/// release can update (in service, reporting a packaged kiosk of an
/// architecture the release has): a gate's stage must not move as other
/// gates come and go, or one compound could get two "first" gates.
fn place_gates(tx: &mut dyn Conn, r: &Rollout) -> Result<(), DbError> {
    let rows: Vec<(String, String)> = tx.query_map(
        "SELECT community, id FROM devices WHERE revoked = 0
             AND update_arch IN (SELECT arch FROM releases WHERE version = ?1)
         ORDER BY community",
        vals![&r.version],
        |row| Ok((row.get(0)?, row.get(1)?)),
    )?;
    let mut by_community: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    for (community, id) in rows {
        by_community.entry(community).or_default().push(id);
    }
    for (community, ids) in by_community {
        let order = in_rollout_order(r.id, ids);
        let n = order.len();
        for (rank, id) in order.into_iter().enumerate() {
            let stage = STAGES.into_iter().find(|&s| rank < stage_size(s, r.percent, n)).unwrap_or(3);
            tx.execute(
                "INSERT INTO rollout_gates (rollout, community, device, stage) VALUES (?1, ?2, ?3, ?4)",
                vals![r.id, &community, &id, stage],
            )?;
        }
    }
    Ok(())
}

/// The stage that takes a gate: as placed when the rollout started, or the
/// last stage for a gate that became updatable since.
fn stage_of(tx: &mut dyn Conn, r: &Rollout, community: &str, device: &str) -> Result<Option<i64>, DbError> {
    let placed = tx.query_opt(
        "SELECT stage FROM rollout_gates WHERE rollout = ?1 AND community = ?2 AND device = ?3",
        vals![r.id, community, device],
        |row| row.get::<i64>(0),
    )?;
    if placed.is_some() {
        return Ok(placed);
    }
    let updatable = tx.scalar(
        "SELECT COUNT(*) FROM devices WHERE id = ?1 AND community = ?2 AND revoked = 0
             AND update_arch IN (SELECT arch FROM releases WHERE version = ?3)",
        vals![device, community, &r.version],
    )?;
    Ok((updatable > 0).then_some(3))
}

/// Keeps what a kiosk says of its updates; halts the rollout if the kiosk
/// failed its release; returns the release to offer it, if its stage has
/// come and it runs an older version.
pub fn note_report(
    conn: &mut dyn Conn,
    device: &Device,
    report: &UpdateReport,
    now: i64,
) -> Result<Option<UpdateOffer>, DbError> {
    use crate::leaves::text::clean;
    // Written only when it changed: a thousand gates beat every 30 s and
    // say the same thing nearly every time.
    let said = (
        Some(clean(&report.arch, 16)),
        Some(clean(&report.installed, 64)),
        report.last.as_ref().map(|o| serde_json::to_string(&bounded(o)).unwrap_or_default()),
        report.waiting.as_deref().map(|w| clean(w, 64)),
    );
    let held = conn.query_opt(
        "SELECT update_arch, update_installed, update_last, update_waiting FROM devices WHERE id = ?1 AND community = ?2",
        vals![&device.id, &device.community],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
    )?;
    if held.as_ref() != Some(&said) {
        conn.execute(
            "UPDATE devices SET update_arch = ?1, update_installed = ?2, update_last = ?3, update_waiting = ?4
             WHERE id = ?5 AND community = ?6",
            vals![said.0, said.1, said.2, said.3, &device.id, &device.community],
        )?;
    }
    let Some(r) = running(conn)? else { return Ok(None) };
    if let Some(why) = report.last.as_ref().filter(|o| o.version() == r.version).and_then(Outcome::failure) {
        let gate = conn
            .query_opt("SELECT gate_name FROM devices WHERE id = ?1", vals![&device.id], |r| r.get::<String>(0))?
            .unwrap_or_default();
        let why = format!("{} · {gate}: {why}", device.community);
        // Another process may have halted it since `running`: once only.
        conn.transaction(true, |tx| match running(tx)? {
            Some(still) if still.id == r.id => halt_in(tx, &r, &why, now),
            _ => Ok(()),
        })?;
        tracing::warn!(version = %r.version, device = %device.id, why, "a gate failed the release: rollout halted");
        return Ok(None);
    }
    let newer = release::compare_versions(&report.installed, &r.version) == std::cmp::Ordering::Less;
    if !newer || stage_of(conn, &r, &device.community, &device.id)?.is_none_or(|s| s > r.stage) {
        return Ok(None);
    }
    let note = conn.query_opt(
        "SELECT note FROM releases WHERE version = ?1 AND arch = ?2",
        vals![&r.version, &report.arch],
        |row| row.get::<String>(0),
    )?;
    Ok(note.map(|note| UpdateOffer { version: r.version.clone(), note }))
}

/// An outcome as stored: each text cut to its length (dpkg's reasons can
/// be long), so the stored JSON stays whole.
fn bounded(o: &Outcome) -> Outcome {
    use crate::leaves::text::clean;
    match o {
        Outcome::Installed { version, at_ms } => Outcome::Installed { version: clean(version, 64), at_ms: *at_ms },
        Outcome::RolledBack { failed, restored, why, at_ms } => Outcome::RolledBack {
            failed: clean(failed, 64),
            restored: clean(restored, 64),
            why: clean(why, 300),
            at_ms: *at_ms,
        },
        Outcome::Refused { version, why, at_ms } => {
            Outcome::Refused { version: clean(version, 64), why: clean(why, 300), at_ms: *at_ms }
        }
    }
}

/// A gate as a rollout sees it.
#[derive(Clone, Debug)]
pub struct Gate {
    pub community: String,
    pub gate: String,
    pub id: String,
    pub arch: Option<String>,
    pub installed: Option<String>,
    pub last: Option<Outcome>,
    pub waiting: Option<String>,
    pub last_seen_ms: Option<i64>,
    /// The first stage that takes it in the running rollout (none: not
    /// updatable, or no rollout).
    pub stage: Option<i64>,
}

impl Gate {
    /// Runs `version` and says its self-test passed.
    pub fn healthy_on(&self, version: &str, now: i64) -> bool {
        self.installed.as_deref() == Some(version)
            && matches!(&self.last, Some(Outcome::Installed { version: v, .. }) if v == version)
            && self.last_seen_ms.is_some_and(|t| now - t <= crate::records::alerts::SILENT_AFTER_MS)
    }
}

/// Every gate in service with what it reports of updates, and the stage
/// of `rollout` that takes it.
pub fn gates(conn: &mut dyn Conn, rollout: Option<&Rollout>) -> Result<Vec<Gate>, DbError> {
    let mut all = conn.query_map(
        "SELECT community, gate_name, id, update_installed, update_last, update_waiting, last_seen_ms, update_arch
         FROM devices WHERE revoked = 0 ORDER BY community, gate_name, id",
        vals![],
        |r| {
            Ok(Gate {
                community: r.get(0)?,
                gate: r.get(1)?,
                id: r.get(2)?,
                installed: r.get(3)?,
                last: r.get::<Option<String>>(4)?.and_then(|l| serde_json::from_str(&l).ok()),
                waiting: r.get(5)?,
                last_seen_ms: r.get(6)?,
                arch: r.get(7)?,
                stage: None,
            })
        },
    )?;
    let Some(r) = rollout else { return Ok(all) };
    let placed: std::collections::HashMap<(String, String), i64> = conn
        .query_map("SELECT community, device, stage FROM rollout_gates WHERE rollout = ?1", vals![r.id], |row| {
            Ok(((row.get(0)?, row.get(1)?), row.get(2)?))
        })?
        .into_iter()
        .collect();
    let archs: Vec<String> =
        conn.query_map("SELECT arch FROM releases WHERE version = ?1", vals![&r.version], |row| row.get(0))?;
    for g in &mut all {
        g.stage = placed
            .get(&(g.community.clone(), g.id.clone()))
            .copied()
            .or_else(|| g.arch.as_ref().filter(|a| archs.contains(a)).map(|_| 3));
    }
    Ok(all)
}

/// Promotes the running rollout a stage, or ends it, once every gate of
/// its stage is healthy on its release and the stage has run `hold_ms`.
/// Returns 1 if it moved.
pub fn promote(tx: &mut dyn Conn, now: i64, hold_ms: i64) -> Result<usize, DbError> {
    let Some(r) = running(tx)? else { return Ok(0) };
    if now - r.stage_ms < hold_ms {
        return Ok(0);
    }
    let gates = gates(tx, Some(&r))?;
    let taken: Vec<&Gate> = gates.iter().filter(|g| g.stage.is_some_and(|s| s <= r.stage)).collect();
    if taken.is_empty() || !taken.iter().all(|g| g.healthy_on(&r.version, now)) {
        return Ok(0);
    }
    let detail = format!("{} / {}", taken.len(), gates.iter().filter(|g| g.stage.is_some()).count());
    if r.stage >= 3 {
        tx.execute("UPDATE rollouts SET ended_ms = ?1 WHERE id = ?2", vals![now, r.id])?;
        step(tx, r.id, Step::Done, &detail, now)?;
        tracing::info!(version = %r.version, "rollout done: every gate runs it");
    } else {
        tx.execute("UPDATE rollouts SET stage = stage + 1, stage_ms = ?1 WHERE id = ?2", vals![now, r.id])?;
        step(tx, r.id, Step::Promoted, &detail, now)?;
        tracing::info!(version = %r.version, stage = r.stage + 1, "rollout promoted");
    }
    Ok(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_reason_is_stored_cut_and_still_readable() {
        let long =
            Outcome::RolledBack { failed: "2.0".into(), restored: "1.0".into(), why: "dpkg: ".repeat(1000), at_ms: 1 };
        let stored = serde_json::to_string(&bounded(&long)).unwrap();
        match serde_json::from_str::<Outcome>(&stored).unwrap() {
            Outcome::RolledBack { why, .. } => assert_eq!(why.chars().count(), 300),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn stages_take_one_gate_then_a_share_then_all() {
        assert_eq!([1, 2, 3].map(|s| stage_size(s, 40, 5)), [1, 2, 5]);
        assert_eq!([1, 2, 3].map(|s| stage_size(s, 10, 5)), [1, 1, 5], "a share under one gate is still one");
        assert_eq!([1, 2, 3].map(|s| stage_size(s, 100, 3)), [1, 3, 3]);
        assert_eq!([1, 2, 3].map(|s| stage_size(s, 50, 0)), [0, 0, 0]);
    }

    #[test]
    fn each_rollout_takes_its_own_first_gate_and_a_stage_keeps_the_last_ones() {
        let ids: Vec<String> = (0..5).map(|i| format!("kiosk-{i}")).collect();
        let firsts: std::collections::HashSet<String> =
            (1..=20).map(|r| in_rollout_order(r, ids.clone())[0].clone()).collect();
        assert!(firsts.len() > 1, "twenty rollouts all began at the same gate");
        assert_eq!(in_rollout_order(7, ids.clone()), in_rollout_order(7, ids.iter().rev().cloned().collect()));
    }
}
