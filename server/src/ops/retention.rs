//! Retention: every night the server deletes, per community, the entries
//! older than the community keeps them (90 days unless it chose otherwise)
//! and the names of visitors whose pass ended more than 14 days ago.
//!
//! A kiosk's entries go from the oldest on, in one piece per kiosk, and the
//! hash of the last deleted entry is kept on the kiosk's row: the rest of
//! its chain still verifies (`ingest::verify_chain`), and a kiosk that
//! resends deleted entries is checked against that hash.

use crate::db::{Conn, DbError};
pub use crate::records::community::{retention_policy as policy, ENTRY_DAYS, RETURNEE_DAYS, VISITOR_DAYS};
pub use crate::records::community::{set_retention_policy as set_policy, RetentionPolicy as Policy};
use crate::records::{self, audit, audit::Actor};

const DAY_MS: i64 = 86_400_000;

/// Every night at 03:00 in the display zone.
pub const AT: crate::leaves::schedule::Every = crate::leaves::schedule::Every::Day { after_midnight_ms: 3 * 3_600_000 };

/// What one night's run deleted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Pruned {
    pub entries: u64,
    pub visitor_names: u64,
    /// Returnees' registrations whose personal fields were deleted.
    pub returnees: u64,
}

/// Applies `community`'s policy as of `now_ms`. Each kiosk's entries go
/// in a transaction of their own (a push of that kiosk waits for it, not
/// for the whole night's run); the rest and the audit row go in one.
pub fn prune(conn: &mut dyn Conn, community: &str, now_ms: i64) -> Result<Pruned, DbError> {
    let policy = records::community::retention_policy(conn, community)?;
    let mut pruned = Pruned::default();
    let cutoff = now_ms - policy.entry_days * DAY_MS;
    for device in records::devices::ids_of(conn, community)? {
        pruned.entries += conn.transaction(true, |tx| records::ingest::prune_device(tx, &device, cutoff))?;
    }
    conn.transaction(true, |tx| {
        // A visitor's pass is kept (the entries name it), their name is not.
        let visitor_cutoff_s = (now_ms - policy.visitor_days * DAY_MS).div_euclid(1000);
        pruned.visitor_names = records::community::forget_visitor_names(tx, community, visitor_cutoff_s)?;
        pruned.returnees = records::registrations::prune(tx, community, now_ms)?;
        // Door sensor events, check-ins and done requests go with the entries.
        records::sensors::prune(tx, community, cutoff)?;
        records::checkins::prune(tx, community, cutoff)?;
        // Deleting is a change like any other: the trail says what went.
        if pruned != Pruned::default() {
            let actor =
                Actor { community: community.to_string(), user: "server (retention)".into(), ip: String::new() };
            let detail = crate::leaves::detail::enc(
                "retention_prune",
                &[&pruned.entries, &pruned.visitor_names, &pruned.returnees],
            );
            audit::record_in(tx, &actor, "retention.prune", &detail, now_ms)?;
        }
        Ok::<_, DbError>(())
    })?;
    Ok(pruned)
}

/// The night's run ([`super::chores::leased`]): claims older than a
/// month forgotten, then [`prune_all`]; what it finds to tell: nothing.
pub fn nightly(conn: &mut dyn Conn, now_ms: i64) -> Result<usize, DbError> {
    records::chores::prune(conn, now_ms - 30 * DAY_MS)?;
    prune_all(conn, now_ms)?;
    Ok(0)
}

/// Every community, for the nightly run.
pub fn prune_all(conn: &mut dyn Conn, now_ms: i64) -> Result<Pruned, DbError> {
    let mut total = Pruned::default();
    for community in crate::db::communities(conn)? {
        let p = prune(conn, &community, now_ms)?;
        if p != Pruned::default() {
            tracing::info!(
                community,
                entries = p.entries,
                visitor_names = p.visitor_names,
                returnees = p.returnees,
                "retention applied"
            );
        }
        total.entries += p.entries;
        total.visitor_names += p.visitor_names;
        total.returnees += p.returnees;
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_night_run_is_at_three_local_time() {
        const HOUR: i64 = 3_600_000;
        let midnight = crate::reports::day_start(1_796_000_000_000, 480);
        assert_eq!(crate::leaves::time::fmt_ms(midnight + 3 * HOUR, 480)[11..], *"03:00:00");
        assert_eq!(AT.next(midnight + 2 * HOUR, 480).start_ms, midnight + 3 * HOUR);
        assert_eq!(AT.next(midnight + 10 * HOUR, 480).start_ms, midnight + 27 * HOUR);
    }
}
