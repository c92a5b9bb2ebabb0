//! A restore drill (issue 30): a backup restored into a scratch database
//! is checked as a restore would need it (every kiosk chain, every
//! community's audit trail, every evidence log's hashes), and compared with
//! the live database: what kiosks and the log hold that the backup lacks.
//! The command (`shoumen-server restore-drill`) restores and prints; this
//! module reads.

use std::collections::BTreeMap;

use crate::db::{Conn, DbError};
use crate::leaves::words::Lang;
use crate::records::{audit, evidence, ingest};
use crate::vals;

/// What one database holds: each kiosk's newest entry, each community's
/// newest audit row and evidence log size, and the largest log size any
/// kiosk of the community has seen (`devices.log_size`).
#[derive(Debug, Default, PartialEq)]
pub struct Heads {
    pub kiosks: BTreeMap<String, i64>,
    pub audit: BTreeMap<String, i64>,
    pub evidence: BTreeMap<String, i64>,
    pub held: BTreeMap<String, i64>,
}

pub fn heads(conn: &mut dyn Conn) -> Result<Heads, DbError> {
    let pairs = |conn: &mut dyn Conn, sql: &str| -> Result<BTreeMap<String, i64>, DbError> {
        Ok(conn.query_map(sql, vals![], |r| Ok((r.get::<String>(0)?, r.get::<i64>(1)?)))?.into_iter().collect())
    };
    Ok(Heads {
        // A kiosk whose every entry was pruned still has its watermark.
        kiosks: pairs(conn, "SELECT id, watermark FROM devices")?,
        audit: pairs(conn, "SELECT community, MAX(seq) FROM audit GROUP BY community")?,
        evidence: pairs(conn, "SELECT community, MAX(n) + 1 FROM tlog_leaves GROUP BY community")?,
        held: pairs(
            conn,
            "SELECT community, MAX(log_size) FROM devices WHERE log_size IS NOT NULL GROUP BY community",
        )?,
    })
}

/// Every check a restore needs, over the whole database: a line per
/// problem (none: the backup can be restored as it is), and a line per
/// thing checked.
pub fn check(conn: &mut dyn Conn) -> Result<(Vec<String>, Vec<String>), DbError> {
    let (mut problems, mut checked) = (Vec::new(), Vec::new());
    for id in crate::db::communities(conn)? {
        let (p, c) = check_community(conn, &id)?;
        problems.extend(p);
        checked.extend(c);
    }
    Ok((problems, checked))
}

/// [`check`] for one community: its kiosks' chains, its audit trail, its
/// evidence log.
pub fn check_community(conn: &mut dyn Conn, id: &str) -> Result<(Vec<String>, Vec<String>), DbError> {
    let (mut problems, mut checked) = (Vec::new(), Vec::new());
    let devices: Vec<String> =
        conn.query_map("SELECT id FROM devices WHERE community = ?1 ORDER BY id", vals![id], |r| r.get(0))?;
    for device in devices {
        match ingest::verify_chain(conn, &device) {
            Ok(n) => checked.push(format!("kiosk {device}: chain of {n} entries intact")),
            Err(e) => problems.push(format!("kiosk {device}: chain broken: {e}")),
        }
    }
    match audit::verify(conn, id)? {
        audit::Verdict::Intact(n) => checked.push(format!("{id}: audit trail of {n} rows intact")),
        audit::Verdict::BrokenAt(seq) => problems.push(format!("{id}: audit trail broken at row {seq}")),
    }
    let (n, damaged) = evidence::fsck(conn, id)?;
    if damaged.is_empty() {
        let root = evidence::root(conn, id, n).map(|h| hex::encode(h.0)).unwrap_or_default();
        checked.push(format!("{id}: evidence log of {n} records, every hash follows, root {root}"));
    }
    for d in damaged {
        problems.push(format!("{id}: evidence log: {}", crate::leaves::words::detail_text(Lang::En, &d.encode(), 0)));
    }
    Ok((problems, checked))
}

/// What the live database holds that the backup lacks, a line each: the
/// missing tail a restore would lose until the kiosks push it again, and
/// the evidence records signed after the backup.
pub fn lacks(backup: &Heads, live: &Heads) -> Vec<String> {
    let mut lines = Vec::new();
    for (kiosk, &have) in &live.kiosks {
        let had = backup.kiosks.get(kiosk).copied();
        match had {
            None => lines.push(format!(
                "kiosk {kiosk}: enrolled after the backup; entries 1..{have}: after a restore it must be enrolled again"
            )),
            Some(had) if had < have => lines.push(format!(
                "kiosk {kiosk}: entries {}..{have} ({} entries): the kiosk keeps them and pushes them again",
                had + 1,
                have - had
            )),
            Some(_) => {}
        }
    }
    for (community, &have) in &live.audit {
        let had = backup.audit.get(community).copied().unwrap_or(0);
        if had < have {
            lines.push(format!(
                "{community}: audit rows {}..{have} ({}): lost with a restore; export the trail (Audit page, CSV) now",
                had + 1,
                have - had
            ));
        }
    }
    for (community, &have) in live.evidence.iter().chain(live.held.iter()) {
        let had = backup.evidence.get(community).copied().unwrap_or(0);
        if had < have {
            lines.push(format!(
                "{community}: evidence records {had}..{} ({}) signed after the backup: a restored log would \
                 fork from receipts and kiosks that hold them (docs/scale.md, \"Restoring the evidence log\")",
                have - 1,
                have - had
            ));
        }
    }
    lines.dedup();
    lines
}

/// The meta key of the last drill that passed.
const LAST_GOOD: &str = "restore_drill_ok_ms";

/// Notes a drill that passed, for `/metrics`.
pub fn record_success(conn: &mut dyn Conn, now_ms: i64) -> Result<(), DbError> {
    conn.execute(
        "INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        vals![LAST_GOOD, now_ms.to_string()],
    )?;
    Ok(())
}

/// When the last drill passed (unix ms), if ever.
pub fn last_success(conn: &mut dyn Conn) -> Result<Option<i64>, DbError> {
    let value: Option<String> =
        conn.query_opt("SELECT value FROM meta WHERE key = ?1", vals![LAST_GOOD], |r| r.get(0))?;
    Ok(value.and_then(|v| v.parse().ok()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn heads(kiosks: &[(&str, i64)], evidence: &[(&str, i64)]) -> Heads {
        Heads {
            kiosks: kiosks.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
            evidence: evidence.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
            ..Heads::default()
        }
    }

    #[test]
    fn the_drill_names_exactly_the_missing_tail() {
        let backup = heads(&[("north", 100), ("south", 50)], &[("lotus", 3)]);
        let live = heads(&[("north", 210), ("south", 50), ("east", 7)], &[("lotus", 5)]);
        let lines = lacks(&backup, &live);
        assert_eq!(lines.len(), 3, "{lines:?}");
        assert!(lines[0].starts_with("kiosk east: enrolled after the backup"));
        assert!(lines[1].starts_with("kiosk north: entries 101..210 (110 entries)"));
        assert!(lines[2].starts_with("lotus: evidence records 3..4 (2) signed after the backup"));
        assert!(lacks(&live, &live).is_empty());
    }
}
