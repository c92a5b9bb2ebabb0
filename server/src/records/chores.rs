//! Chores that must run once per period however many server processes
//! share the database (issue 30): the morning summary, the nightly
//! retention, the minute's look for silent kiosks. The process that runs
//! one claims its period first, in the database: the primary key lets one
//! claim in, and every other process skips that period. A claim made in
//! the chore's own transaction stands or falls with its work ([`claim`]:
//! the morning summary, the minute's look). A chore too long for one
//! transaction (the night's retention, the evidence audit) is claimed for
//! a lease and marked done at the end ([`claim_lease`], [`finish`]): if its
//! process dies halfway, another takes it over once the lease runs out.

use crate::db::{Conn, DbError};
use crate::vals;

/// Claims `period` of `chore` (a day `2026-12-05`, a minute) for this
/// process; `false` if another process has it already.
pub fn claim(conn: &mut dyn Conn, chore: &str, period: &str, now_ms: i64) -> Result<bool, DbError> {
    let made = conn.execute(
        "INSERT INTO chore_runs (chore, period, by_process, started_ms) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (chore, period) DO NOTHING",
        vals![chore, period, process(), now_ms],
    )?;
    Ok(made == 1)
}

/// Claims `period` of `chore` for `lease_ms`: made if nobody claimed it,
/// or taken over if its claim was never finished and is older than the
/// lease. `false` if it is done, or another process is at it.
pub fn claim_lease(
    conn: &mut dyn Conn,
    chore: &str,
    period: &str,
    now_ms: i64,
    lease_ms: i64,
) -> Result<bool, DbError> {
    let made = conn.execute(
        "INSERT INTO chore_runs (chore, period, by_process, started_ms) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (chore, period) DO UPDATE SET by_process = excluded.by_process, started_ms = excluded.started_ms
         WHERE chore_runs.finished_ms IS NULL AND chore_runs.started_ms < ?5",
        vals![chore, period, process(), now_ms, now_ms - lease_ms],
    )?;
    Ok(made == 1)
}

/// Marks this process's run of `period` done; `false` if its claim was
/// taken over meanwhile (its lease ran out), so the other run's end counts.
pub fn finish(conn: &mut dyn Conn, chore: &str, period: &str, now_ms: i64) -> Result<bool, DbError> {
    let marked = conn.execute(
        "UPDATE chore_runs SET finished_ms = ?4 WHERE chore = ?1 AND period = ?2 AND by_process = ?3",
        vals![chore, period, process(), now_ms],
    )?;
    Ok(marked == 1)
}

/// Whether `period` of `chore` is done (by whichever process).
pub fn finished(conn: &mut dyn Conn, chore: &str, period: &str) -> Result<bool, DbError> {
    Ok(conn.scalar(
        "SELECT COUNT(*) FROM chore_runs WHERE chore = ?1 AND period = ?2 AND finished_ms IS NOT NULL",
        vals![chore, period],
    )? == 1)
}

/// What became of a leased chore's period.
#[derive(Debug, PartialEq)]
pub enum Leased {
    /// This process did it; what it found worth telling.
    Done(usize),
    /// It was done already.
    DoneBefore,
    /// Another process holds it under a live lease.
    Busy,
}

/// Claims `period` of `chore` for `lease_ms`, runs `work` (which commits
/// as it goes) and marks the period done: a process that dies halfway
/// leaves it to whoever claims it after the lease.
pub fn run_leased(
    conn: &mut dyn Conn,
    chore: &str,
    period: &str,
    now_ms: i64,
    lease_ms: i64,
    work: impl FnOnce(&mut dyn Conn) -> Result<usize, DbError>,
) -> Result<Leased, DbError> {
    if !conn.transaction(true, |tx| claim_lease(tx, chore, period, now_ms, lease_ms))? {
        return Ok(if finished(conn, chore, period)? { Leased::DoneBefore } else { Leased::Busy });
    }
    let found = work(conn)?;
    if !conn.transaction(true, |tx| finish(tx, chore, period, crate::db::now_ms()))? {
        tracing::warn!(chore, period, "a chore outlived its lease; another process ran it too");
    }
    Ok(Leased::Done(found))
}

/// Who claimed a chore: the machine and the process, for whoever reads the
/// table after an incident.
pub fn process() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    format!("{}:{}", host.trim(), std::process::id())
}

/// Forgets claims older than `cutoff_ms` (run with retention).
pub fn prune(conn: &mut dyn Conn, cutoff_ms: i64) -> Result<u64, DbError> {
    conn.execute("DELETE FROM chore_runs WHERE started_ms < ?1", vals![cutoff_ms])
}
