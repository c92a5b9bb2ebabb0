//! Chores that must run once per period however many server processes
//! share the database (issue 30): the morning summary, the nightly
//! retention, the minute's look for silent kiosks. The process that runs
//! one claims its period first, in the database: the primary key lets one
//! claim in, and every other process skips that period. A claim made in
//! the chore's own transaction stands or falls with its work.

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
