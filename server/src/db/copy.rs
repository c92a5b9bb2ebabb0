//! Copying a community from a SQLite file into a PostgreSQL database
//! (`shoumen-server migrate`, issue 30): every table's rows of the
//! community, with their ids, in one transaction on the target, so a
//! failed copy leaves nothing behind.
//!
//! Ids are kept, not renumbered: a resident's check-in link and a home's
//! pass requests name them, and the audit trail's rows (hash-chained) quote
//! them. A target that already uses one of the community's ids (another
//! compound's alert 12) is refused by its primary key, and nothing is
//! copied. Sessions are not copied: everyone signs in again.

use super::conn::{Conn, Row, Val};
use super::DbError;
use crate::vals;

/// How a table's rows of one community are found.
enum Scope {
    /// The `communities` row itself.
    Id,
    /// A `community` column.
    Community,
    /// Rows of the community's kiosks (`device`).
    Device,
    /// Rows of the community's accounts (`user_id`).
    User,
}

/// Every table a community has rows in, parents first.
const TABLES: &[(&str, Scope)] = &[
    ("communities", Scope::Id),
    ("users", Scope::Community),
    ("known_browsers", Scope::User),
    ("invites", Scope::Community),
    ("devices", Scope::Community),
    ("boots", Scope::Device),
    ("entries", Scope::Community),
    ("enroll_tokens", Scope::Community),
    ("bundles", Scope::Community),
    ("residents", Scope::Community),
    ("passes", Scope::Community),
    ("pass_requests", Scope::Community),
    ("quarantine", Scope::Community),
    ("document_versions", Scope::Community),
    ("region_rules", Scope::Community),
    ("registrations", Scope::Community),
    ("tlog_leaves", Scope::Community),
    ("tlog_hashes", Scope::Community),
    ("log_witnesses", Scope::Community),
    ("log_cosigned", Scope::Community),
    ("log_cosignatures", Scope::Community),
    ("checkins", Scope::Community),
    ("service_requests", Scope::Community),
    ("call_outcomes", Scope::Community),
    ("presence", Scope::Community),
    ("sensors", Scope::Community),
    ("sensor_events", Scope::Community),
    ("alerts", Scope::Community),
    ("webhook_outbox", Scope::Community),
    ("volunteers", Scope::Community),
    ("volunteer_passes", Scope::Community),
    ("shifts", Scope::Community),
    ("shift_people", Scope::Community),
    ("audit", Scope::Community),
];

/// Tables whose `id` the target numbers itself: its counter moves past the
/// copied ids.
const NUMBERED: &[&str] = &[
    "alerts",
    "call_outcomes",
    "pass_requests",
    "quarantine",
    "region_rules",
    "registrations",
    "residents",
    "sensor_events",
    "service_requests",
    "shifts",
    "users",
    "volunteers",
    "webhook_outbox",
];

/// Rows per INSERT: 500 rows of the widest table stay far inside
/// PostgreSQL's 65,535 parameters.
const ROWS: usize = 500;

/// A community's rows in one table.
fn select(table: &str, scope: &Scope, columns: &[String]) -> String {
    let cols = columns.join(", ");
    match scope {
        Scope::Id => format!("SELECT {cols} FROM {table} WHERE id = ?1"),
        Scope::Community => format!("SELECT {cols} FROM {table} WHERE community = ?1"),
        Scope::Device => {
            format!("SELECT {cols} FROM {table} WHERE device IN (SELECT id FROM devices WHERE community = ?1)")
        }
        Scope::User => {
            format!("SELECT {cols} FROM {table} WHERE user_id IN (SELECT id FROM users WHERE community = ?1)")
        }
    }
}

/// The columns of a SQLite table, as the source names them.
fn columns(source: &mut dyn Conn, table: &str) -> Result<Vec<String>, DbError> {
    source.query_map(&format!("SELECT name FROM pragma_table_info('{table}')"), vals![], |r| r.get(0))
}

/// Rows copied per table, in [`TABLES`] order.
pub type Copied = Vec<(&'static str, u64)>;

/// Copies `community` from `source` (SQLite) into `target` (PostgreSQL) in
/// one transaction of the target; `check` reads the copy before it commits,
/// and an error from it rolls the copy back.
pub fn community(
    source: &mut dyn Conn,
    target: &mut dyn Conn,
    community: &str,
    check: impl FnOnce(&mut dyn Conn) -> Result<(), DbError>,
) -> Result<Copied, DbError> {
    let held = target.scalar("SELECT COUNT(*) FROM communities WHERE id = ?1", vals![community])?;
    if held > 0 {
        return Err(DbError::Engine(format!(
            "the target already holds community {community:?}; nothing was copied (if an earlier move of it \
             failed half-way, nothing of it was kept either: look for another server that created it)"
        )));
    }
    target.transaction(true, |tx| {
        let mut copied = Vec::new();
        for (table, scope) in TABLES {
            let cols = columns(source, table)?;
            let n = copy_table(source, tx, table, &select(table, scope, &cols), &cols, community)
                .map_err(|e| DbError::Engine(format!("table {table}: {e}")))?;
            copied.push((*table, n));
        }
        for table in NUMBERED {
            tx.execute(
                &format!(
                    "SELECT setval(pg_get_serial_sequence('{table}', 'id'), COALESCE((SELECT MAX(id) FROM {table}), 0) + 1, false)"
                ),
                vals![],
            )?;
        }
        check(tx)?;
        Ok(copied)
    })
}

fn copy_table(
    source: &mut dyn Conn,
    tx: &mut dyn Conn,
    table: &str,
    select: &str,
    cols: &[String],
    community: &str,
) -> Result<u64, DbError> {
    let mut batch: Vec<Row> = Vec::with_capacity(ROWS);
    let mut n = 0u64;
    let mut failed = None;
    source.query_each(select, vals![community], &mut |row| {
        batch.push(Row(row.0.clone()));
        if batch.len() == ROWS {
            if let Err(e) = insert(tx, table, cols, &std::mem::take(&mut batch)) {
                failed = Some(e);
                return Ok(false);
            }
            n += ROWS as u64;
        }
        Ok(true)
    })?;
    if let Some(e) = failed {
        return Err(e);
    }
    n += batch.len() as u64;
    insert(tx, table, cols, &batch)?;
    Ok(n)
}

fn insert(tx: &mut dyn Conn, table: &str, cols: &[String], rows: &[Row]) -> Result<(), DbError> {
    if rows.is_empty() {
        return Ok(());
    }
    let width = cols.len();
    let tuples: Vec<String> = (0..rows.len())
        .map(|r| format!("({})", (1..=width).map(|c| format!("?{}", r * width + c)).collect::<Vec<_>>().join(", ")))
        .collect();
    let params: Vec<Val> = rows.iter().flat_map(|r| r.0.iter().cloned()).collect();
    tx.execute(&format!("INSERT INTO {table} ({}) VALUES {}", cols.join(", "), tuples.join(", ")), &params)?;
    Ok(())
}

/// Rows of `community` per table, to compare both sides after a copy.
pub fn counts(conn: &mut dyn Conn, community: &str) -> Result<Copied, DbError> {
    let mut out = Vec::new();
    for (table, scope) in TABLES {
        let sql = select(table, scope, &["COUNT(*)".to_string()]);
        out.push((*table, conn.scalar(&sql, vals![community])? as u64));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Tables with a `community` column that a move leaves behind: codes a
    /// kiosk asked for on its screen this half hour (it asks the new server).
    const NOT_COPIED: &[&str] = &["enroll_asks", "rollout_gates"];

    /// A table added with a `community` column is copied, or said not to
    /// be: the roster's tables were once left behind by a move.
    #[test]
    fn every_table_of_a_community_is_copied_or_named_as_left_behind() {
        let dir = tempfile::tempdir().unwrap();
        let db = crate::db::Db::open(dir.path().join("c.db").to_str().unwrap()).unwrap();
        let tables: Vec<String> = db
            .call_blocking(|c| {
                c.query_map("SELECT name FROM sqlite_master WHERE type = 'table'", vals![], |r| r.get(0))
            })
            .unwrap();
        let mut missing = Vec::new();
        for table in tables {
            let cols = db.call_blocking({
                let table = table.clone();
                move |c| columns(c, &table)
            });
            let has_community = cols.unwrap().iter().any(|c| c == "community");
            let named = TABLES.iter().any(|(t, _)| *t == table) || NOT_COPIED.contains(&table.as_str());
            if has_community && !named {
                missing.push(table);
            }
        }
        assert!(missing.is_empty(), "tables a move to PostgreSQL would leave behind: {missing:?}");
    }
}
