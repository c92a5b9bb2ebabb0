//! The server's own chores, run on its runtime beside the requests (issue
//! 30): each process keeps its own timers (`leaves::schedule`), and the
//! database decides which process does a period's work
//! (`records::chores`).

use std::sync::Arc;
use std::time::Duration;

use crate::db::{now_ms, Conn, Db, DbError};
use crate::leaves::schedule::Every;
use crate::records::chores::Leased;

/// A chore too long for one transaction, run under a lease
/// (`records::chores::run_leased`): returns what it found worth telling
/// (problems, messages queued), for the bell.
pub type Work = fn(&mut dyn Conn, i64) -> Result<usize, DbError>;

/// Runs `work` at every `when` for as long as the process lives: claims
/// the period, or, if another process has it, looks again as its lease
/// runs out until the period is done or over. `bulk`: a long read, on the
/// bulk lane so gates do not wait behind it.
pub async fn leased(
    db: Db,
    chore: &'static str,
    when: Every,
    utc_offset_min: i32,
    bell: Arc<tokio::sync::Notify>,
    bulk: bool,
    work: Work,
) {
    let lease = when.lease_ms();
    loop {
        let slot = when.next(now_ms(), utc_offset_min);
        sleep_until(slot.start_ms).await;
        let over = when.next(slot.start_ms, utc_offset_min).start_ms;
        while now_ms() < over {
            let period = slot.period.clone();
            let once = move |conn: &mut dyn Conn| {
                crate::records::chores::run_leased(conn, chore, &period, now_ms(), lease, |c| work(c, now_ms()))
            };
            let ran = if bulk { db.call_bulk(once).await } else { db.call(once).await };
            match ran {
                Ok(Leased::Done(found)) => {
                    if found > 0 {
                        bell.notify_one();
                    }
                    break;
                }
                Ok(Leased::DoneBefore) => break,
                // Another process is at it: look again when its lease is
                // a quarter gone, in case it died.
                Ok(Leased::Busy) => {}
                Err(e) => tracing::warn!(chore, period = slot.period, error = %e, "a chore failed; it is tried again"),
            }
            tokio::time::sleep(Duration::from_millis((lease / 4).max(50) as u64)).await;
        }
    }
}

/// Runs `work` at every `when`, claimed in its own transaction (a claim
/// that stands or falls with the work: a process that dies halfway leaves
/// no claim, and a process waiting on it takes it).
pub async fn in_one_transaction(
    db: Db,
    chore: &'static str,
    when: Every,
    utc_offset_min: i32,
    bell: Arc<tokio::sync::Notify>,
    work: fn(&mut dyn Conn, i64, i32, &str) -> Result<usize, DbError>,
) {
    loop {
        let slot = when.next(now_ms(), utc_offset_min);
        sleep_until(slot.start_ms).await;
        let period = slot.period.clone();
        match db.call(move |conn| work(conn, now_ms(), utc_offset_min, &period)).await {
            Ok(0) => {}
            Ok(_) => bell.notify_one(),
            Err(e) => {
                tracing::warn!(chore, period = slot.period, error = %e, "a chore failed; it runs again next period")
            }
        }
    }
}

async fn sleep_until(at_ms: i64) {
    // A few ms past the start, so every process sees the same period.
    tokio::time::sleep(Duration::from_millis((at_ms - now_ms()).max(0) as u64 + 5)).await;
}
