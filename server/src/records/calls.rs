//! What a volunteer's call to someone who missed a check-in found (issue
//! 28): one row per call, so the call list shows who called, when and
//! what came of it, and the next volunteer does not call again blind.

use thiserror::Error;

use crate::db::{Conn, DbError};
use crate::vals;

#[derive(Debug, Error)]
pub enum CallError {
    /// What cannot be taken: a word key.
    #[error("{0}")]
    Invalid(&'static str),
    #[error(transparent)]
    Db(#[from] DbError),
}

/// The closed vocabulary of outcomes (word keys `call_<outcome>`).
pub const OUTCOMES: &[&str] = &["fine", "unwell", "no_answer", "visit", "wrong_number"];

/// A call's note is short: what the person said, in a line.
pub const NOTE_CHARS: usize = 200;

/// Calls kept per person and slot: a bound on what one account can make
/// the server store.
pub const MAX_PER_SLOT: i64 = 20;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Call {
    pub outcome: String,
    pub note: String,
    pub by_user: String,
    pub at_ms: i64,
}

/// Records a call to `subject` for check-in `slot` (`2026-12-05 am`).
#[allow(clippy::too_many_arguments)]
pub fn record(
    conn: &mut dyn Conn,
    community: &str,
    subject: &str,
    slot: &str,
    outcome: &str,
    note: &str,
    by_user: &str,
    now_ms: i64,
) -> Result<(), CallError> {
    if !OUTCOMES.contains(&outcome) {
        return Err(CallError::Invalid("err_call_outcome"));
    }
    let note: String = note
        .trim()
        .chars()
        .filter(|c| !c.is_control() && !crate::leaves::text::is_bidi_control(*c))
        .take(NOTE_CHARS)
        .collect();
    let made = conn.scalar(
        "SELECT COUNT(*) FROM call_outcomes WHERE community = ?1 AND subject = ?2 AND slot = ?3",
        vals![community, subject, slot],
    )?;
    if made >= MAX_PER_SLOT {
        return Err(CallError::Invalid("err_call_many"));
    }
    conn.execute(
        "INSERT INTO call_outcomes (community, subject, slot, outcome, note, by_user, at_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        vals![community, subject, slot, outcome, &note, by_user, now_ms],
    )?;
    Ok(())
}

/// The last call to `subject` for `slot`, if any.
pub fn last(conn: &mut dyn Conn, community: &str, subject: &str, slot: &str) -> Result<Option<Call>, DbError> {
    conn.query_opt(
        "SELECT outcome, note, by_user, at_ms FROM call_outcomes WHERE community = ?1 AND subject = ?2 AND slot = ?3
         ORDER BY at_ms DESC, id DESC LIMIT 1",
        vals![community, subject, slot],
        |r| Ok(Call { outcome: r.get(0)?, note: r.get(1)?, by_user: r.get(2)?, at_ms: r.get(3)? }),
    )
}

/// Deletes `community`'s calls older than `cutoff_ms`, with the check-ins.
pub fn prune(conn: &mut dyn Conn, community: &str, cutoff_ms: i64) -> Result<u64, DbError> {
    conn.execute("DELETE FROM call_outcomes WHERE community = ?1 AND at_ms < ?2", vals![community, cutoff_ms])
}
