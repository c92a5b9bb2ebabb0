//! Schema migrations, tracked with `PRAGMA user_version`.
//!
//! Append new steps; never edit a released one.

use std::path::Path;

use rusqlite::Connection;

use super::{Result, StoreError};

const MIGRATIONS: &[&str] = &[
    // 1: the entry log, presence, lists, key-value metadata.
    "CREATE TABLE meta (
        key   TEXT PRIMARY KEY,
        value TEXT NOT NULL
    ) STRICT;
    -- One row per entry, never deleted: retention only sets body to NULL.
    CREATE TABLE entries (
        seq       INTEGER PRIMARY KEY,
        body      TEXT,
        digest    BLOB NOT NULL,
        hash      BLOB NOT NULL,
        wall_ms   INTEGER NOT NULL,
        decision  TEXT NOT NULL,
        reason    TEXT NOT NULL,
        direction TEXT NOT NULL
    ) STRICT;
    CREATE INDEX entries_wall ON entries (wall_ms);
    CREATE TABLE presence (
        pass_id   TEXT PRIMARY KEY,
        direction TEXT NOT NULL,
        seq       INTEGER NOT NULL
    ) STRICT;
    CREATE TABLE lists (
        kind       TEXT PRIMARY KEY,
        version    INTEGER NOT NULL,
        expires_at INTEGER NOT NULL,
        body       TEXT NOT NULL
    ) STRICT;",
    // 2: presence keeps when (wall clock) a pass went its way, so that
    // anti-passback can be timed and merged with other gates' by time.
    "CREATE TABLE presence_at (
        pass_id   TEXT PRIMARY KEY,
        direction TEXT NOT NULL,
        at_ms     INTEGER NOT NULL
    ) STRICT;
    INSERT INTO presence_at (pass_id, direction, at_ms)
        SELECT p.pass_id, p.direction, COALESCE(e.wall_ms, 0) FROM presence p LEFT JOIN entries e ON e.seq = p.seq;
    DROP TABLE presence;
    ALTER TABLE presence_at RENAME TO presence;",
];

pub fn migrate(conn: &Connection, path: &Path) -> Result<()> {
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    let known = MIGRATIONS.len() as i64;
    if version > known {
        return Err(StoreError::TooNew { path: path.into(), found: version, known });
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
        let tx = conn.unchecked_transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", i as i64 + 1)?;
        tx.commit()?;
    }
    Ok(())
}
