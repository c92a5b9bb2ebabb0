//! The evidence log's nightly audit (issue 29): each community's log
//! recomputed from what it stores (`evidence::fsck`), and an alert for each
//! problem found, once per night however many processes share the database.

use crate::db::{Conn, DbError};
use crate::records::{self, alerts, evidence};
use shoumen_protocol::AlertKind;

/// Audits every community's log unless another process has this night;
/// returns the problems found (`None`: not this process's night).
pub fn fsck_all_once(conn: &mut dyn Conn, now_ms: i64, utc_offset_min: i32) -> Result<Option<usize>, DbError> {
    let night = crate::leaves::time::fmt_day(now_ms / 1000, utc_offset_min);
    if !conn.transaction(true, |tx| records::chores::claim(tx, "evidence_fsck", &night, now_ms))? {
        return Ok(None);
    }
    let mut found = 0;
    for community in crate::db::communities(conn)? {
        found += fsck(conn, &community, now_ms)?;
    }
    Ok(Some(found))
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
