//! The evidence log's nightly audit (issue 29): each community's log
//! recomputed from what it stores (`evidence::fsck`), and an alert for each
//! problem found, once per night however many processes share the database.

use crate::db::{Conn, DbError};
use crate::records::{alerts, evidence};
use shoumen_protocol::AlertKind;

/// Every night at 03:30 in the display zone, after retention.
pub const AT: crate::leaves::schedule::Every = crate::leaves::schedule::Every::Day { after_midnight_ms: 7 * 1_800_000 };

/// Audits every community's log ([`super::chores::leased`]); returns
/// the problems found.
pub fn nightly(conn: &mut dyn Conn, now_ms: i64) -> Result<usize, DbError> {
    let mut found = 0;
    for community in crate::db::communities(conn)? {
        found += fsck(conn, &community, now_ms)?;
    }
    Ok(found)
}

/// Audits one community's log, raising an alert per problem (the same
/// problem night after night stays one alert); returns how many.
pub fn fsck(conn: &mut dyn Conn, community: &str, now_ms: i64) -> Result<usize, DbError> {
    let (size, problems) = evidence::fsck(conn, community)?;
    for p in &problems {
        tracing::error!(community, size, problem = %p.encode(), "the evidence log does not follow from what it stores");
        alerts::raise_once(conn, community, AlertKind::EvidenceDamaged, "evidence", &p.encode(), now_ms)?;
    }
    Ok(problems.len())
}
