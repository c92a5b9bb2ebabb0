//! The audit trail: every change and every export on a community's pages,
//! with who, when, what and from where. Append-only and hash-chained per
//! community like a kiosk's entry log: each row's hash covers the previous
//! row's hash and its own fields, so a deleted or edited row breaks the
//! chain at that point and [`verify`] says where.
//!
//! Architecture invariant: nothing updates or deletes an `audit` row.

use crate::db::{Conn, DbError, Row};
use crate::leaves::secrets::sha256_hex;
use crate::vals;

/// Who did it and from where.
#[derive(Clone, Debug)]
pub struct Actor {
    pub community: String,
    pub user: String,
    pub ip: String,
}

/// One recorded action.
#[derive(Clone, Debug, PartialEq)]
pub struct AuditRow {
    pub seq: i64,
    pub at_ms: i64,
    pub actor: String,
    pub ip: String,
    /// A short code such as `pass.issue` (shown in words by the page).
    pub action: String,
    /// What was changed: ids, units and values, never a password or token.
    pub detail: String,
    pub hash: String,
}

const COLUMNS: &str = "seq, at_ms, actor, ip, action, detail, hash";

fn row(r: &Row) -> Result<AuditRow, DbError> {
    Ok(AuditRow {
        seq: r.get(0)?,
        at_ms: r.get(1)?,
        actor: r.get(2)?,
        ip: r.get(3)?,
        action: r.get(4)?,
        detail: r.get(5)?,
        hash: r.get(6)?,
    })
}

/// The hash of a row after `prev` (the empty string before the first). The
/// fields go in as a JSON array, so no field can run into the next.
fn chain_hash(prev: &str, seq: i64, at_ms: i64, actor: &str, ip: &str, action: &str, detail: &str) -> String {
    let canonical =
        serde_json::to_string(&(prev, seq, at_ms, actor, ip, action, detail)).expect("strings and numbers serialise");
    sha256_hex(&canonical)
}

/// Appends one row to `actor.community`'s trail. Run it in the same call as
/// the change it records.
pub fn record(conn: &mut dyn Conn, actor: &Actor, action: &str, detail: &str, now_ms: i64) -> Result<(), DbError> {
    conn.transaction(true, |tx| record_in(tx, actor, action, detail, now_ms))
}

/// [`record`] inside the caller's transaction: the change and its row in
/// the trail are stored together or not at all.
pub fn record_in(tx: &mut dyn Conn, actor: &Actor, action: &str, detail: &str, now_ms: i64) -> Result<(), DbError> {
    {
        // Concurrent changes in one community queue on its row, so two never
        // take the same place in the chain.
        let lock = tx.for_update("SELECT id FROM communities WHERE id = ?1");
        tx.query_opt(&lock, vals![&actor.community], |_| Ok(()))?;
        let last = tx.query_opt(
            "SELECT seq, hash FROM audit WHERE community = ?1 ORDER BY seq DESC LIMIT 1",
            vals![&actor.community],
            |r| Ok((r.get::<i64>(0)?, r.get::<String>(1)?)),
        )?;
        let (prev_seq, prev_hash) = last.unwrap_or((0, String::new()));
        let seq = prev_seq + 1;
        // Long free text (a note, a reason) is cut, so one form cannot make
        // the trail store megabytes.
        let detail: String = detail.chars().take(500).collect();
        let hash = chain_hash(&prev_hash, seq, now_ms, &actor.user, &actor.ip, action, &detail);
        tx.execute(
            "INSERT INTO audit (community, seq, at_ms, actor, ip, action, detail, hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            vals![&actor.community, seq, now_ms, &actor.user, &actor.ip, action, &detail, &hash],
        )?;
        Ok(())
    }
}

/// The latest `limit` rows, newest first.
pub fn latest(conn: &mut dyn Conn, community: &str, limit: i64) -> Result<Vec<AuditRow>, DbError> {
    conn.query_map(
        &format!("SELECT {COLUMNS} FROM audit WHERE community = ?1 ORDER BY seq DESC LIMIT ?2"),
        vals![community, limit],
        row,
    )
}

/// What a walk of the chain found.
#[derive(Debug, PartialEq)]
pub enum Verdict {
    /// Every row in place: how many.
    Intact(i64),
    /// The first row whose seq or hash does not follow from the one before
    /// (a row deleted, inserted or changed there).
    BrokenAt(i64),
}

/// Walks `community`'s whole trail from the first row, streaming.
pub fn verify(conn: &mut dyn Conn, community: &str) -> Result<Verdict, DbError> {
    let (mut prev, mut expect, mut broken) = (String::new(), 1i64, None);
    conn.query_each(
        &format!("SELECT {COLUMNS} FROM audit WHERE community = ?1 ORDER BY seq"),
        vals![community],
        &mut |r| {
            let a = row(r)?;
            if a.seq != expect || a.hash != chain_hash(&prev, a.seq, a.at_ms, &a.actor, &a.ip, &a.action, &a.detail) {
                broken = Some(expect.min(a.seq));
                return Ok(false);
            }
            prev = a.hash;
            expect += 1;
            Ok(true)
        },
    )?;
    Ok(broken.map_or(Verdict::Intact(expect - 1), Verdict::BrokenAt))
}

/// The whole trail as CSV, oldest first, with each row's hash so a copy can
/// be checked later; handed to `sink` in chunks (false: stop).
pub fn export_csv(
    conn: &mut dyn Conn,
    community: &str,
    utc_offset_min: i32,
    sink: &mut dyn FnMut(String) -> bool,
) -> Result<(), DbError> {
    let mut csv = crate::leaves::csv::CsvChunks::new("seq,time,actor,ip,action,detail,hash", sink);
    conn.query_each(
        &format!("SELECT {COLUMNS} FROM audit WHERE community = ?1 ORDER BY seq"),
        vals![community],
        &mut |r| {
            let a = row(r)?;
            Ok(csv.row(&[
                a.seq.to_string(),
                crate::leaves::time::fmt_ms(a.at_ms, utc_offset_min),
                a.actor,
                a.ip,
                a.action,
                a.detail,
                a.hash,
            ]))
        },
    )?;
    csv.finish();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_field_and_the_previous_hash_change_the_hash() {
        let base = chain_hash("p", 1, 2, "a", "ip", "x", "d");
        assert_ne!(base, chain_hash("q", 1, 2, "a", "ip", "x", "d"));
        assert_ne!(base, chain_hash("p", 2, 2, "a", "ip", "x", "d"));
        assert_ne!(base, chain_hash("p", 1, 2, "a", "ip", "x", "e"));
        // Moving text between fields is not the same row.
        assert_ne!(chain_hash("p", 1, 2, "ab", "ip", "x", "d"), chain_hash("p", 1, 2, "a", "bip", "x", "d"));
    }
}
