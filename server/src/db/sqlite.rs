//! SQLite, the embedded default: one file in WAL mode, one writer
//! connection behind a mutex (SQLite serialises writers anyway), and
//! read-only connections of their own for long reads.

use std::path::Path;
use std::time::Duration;

use rusqlite::types::{ToSqlOutput, Value, ValueRef};
use rusqlite::{Connection, OpenFlags};

use super::conn::{Conn, Engine, Row, Val};
use super::DbError;

impl From<rusqlite::Error> for DbError {
    fn from(e: rusqlite::Error) -> DbError {
        match e.sqlite_error_code() {
            Some(rusqlite::ErrorCode::DiskFull) => DbError::DiskFull,
            _ => DbError::Engine(e.to_string()),
        }
    }
}

impl rusqlite::ToSql for Val {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match self {
            Val::Null => ToSqlOutput::Owned(Value::Null),
            Val::Int(i) => ToSqlOutput::Owned(Value::Integer(*i)),
            Val::Real(r) => ToSqlOutput::Owned(Value::Real(*r)),
            Val::Text(s) => ToSqlOutput::Borrowed(ValueRef::Text(s.as_bytes())),
            Val::Bytes(b) => ToSqlOutput::Borrowed(ValueRef::Blob(b)),
        })
    }
}

fn val(v: ValueRef<'_>) -> Val {
    match v {
        ValueRef::Null => Val::Null,
        ValueRef::Integer(i) => Val::Int(i),
        ValueRef::Real(r) => Val::Real(r),
        ValueRef::Text(t) => Val::Text(String::from_utf8_lossy(t).into_owned()),
        ValueRef::Blob(b) => Val::Bytes(b.to_vec()),
    }
}

fn row(r: &rusqlite::Row<'_>, n: usize) -> Result<Row, DbError> {
    (0..n).map(|i| Ok(val(r.get_ref(i)?))).collect::<Result<Vec<_>, DbError>>().map(Row)
}

/// A borrowed SQLite connection as a [`Conn`].
pub struct SqliteConn<'a>(pub &'a mut Connection);

impl Conn for SqliteConn<'_> {
    fn engine(&self) -> Engine {
        Engine::Sqlite
    }

    fn execute(&mut self, sql: &str, params: &[Val]) -> Result<u64, DbError> {
        let mut stmt = self.0.prepare_cached(sql)?;
        Ok(stmt.execute(rusqlite::params_from_iter(params.iter()))? as u64)
    }

    fn query(&mut self, sql: &str, params: &[Val]) -> Result<Vec<Row>, DbError> {
        let mut out = Vec::new();
        self.query_each(sql, params, &mut |r| {
            out.push(r.clone());
            Ok(true)
        })?;
        Ok(out)
    }

    fn query_each(
        &mut self,
        sql: &str,
        params: &[Val],
        f: &mut dyn FnMut(&Row) -> Result<bool, DbError>,
    ) -> Result<(), DbError> {
        let mut stmt = self.0.prepare_cached(sql)?;
        let n = stmt.column_count();
        let mut rows = stmt.query(rusqlite::params_from_iter(params.iter()))?;
        while let Some(r) = rows.next()? {
            if !f(&row(r, n)?)? {
                break;
            }
        }
        Ok(())
    }

    fn begin(&mut self, write: bool) -> Result<(), DbError> {
        Ok(self.0.execute_batch(if write { "BEGIN IMMEDIATE" } else { "BEGIN" })?)
    }

    fn commit(&mut self) -> Result<(), DbError> {
        Ok(self.0.execute_batch("COMMIT")?)
    }

    fn rollback(&mut self) {
        let _ = self.0.execute_batch("ROLLBACK");
    }

    fn in_transaction(&mut self) -> bool {
        !self.0.is_autocommit()
    }

    fn batch(&mut self, sql: &str) -> Result<(), DbError> {
        Ok(self.0.execute_batch(sql)?)
    }
}

/// Creates `path` readable by its owner only, or tightens an existing file
/// to that: it holds the communities' signing keys and the sessions. SQLite
/// gives its -wal and -shm files the same mode.
pub fn make_private(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    match std::fs::metadata(path) {
        Ok(m) if m.permissions().mode() & 0o077 != 0 => {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
        }
        Ok(_) => Ok(()),
        Err(_) => {
            std::fs::OpenOptions::new().create(true).truncate(false).write(true).mode(0o600).open(path).map(|_| ())
        }
    }
}

/// Opens the writer connection: WAL, full sync, foreign keys.
pub fn open_writer(path: &Path) -> Result<Connection, DbError> {
    // Best effort: a read-only directory shows up as the open error below.
    if let Err(e) = make_private(path) {
        tracing::warn!(path = %path.display(), error = %e, "cannot make the database private to its owner");
    }
    let conn = Connection::open(path)
        .map_err(|source| DbError::Open { target: path.display().to_string(), reason: source.to_string() })?;
    conn.busy_timeout(Duration::from_secs(10))?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    // FULL: an acknowledged entry is on disk before the kiosk may forget it.
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    Ok(conn)
}

/// A read-only connection of its own, for long reads (exports): in WAL mode
/// it sees a snapshot and never waits for, or holds up, the writer.
pub fn open_reader(path: &Path) -> Result<Connection, DbError> {
    let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)
        .map_err(|source| DbError::Open { target: path.display().to_string(), reason: source.to_string() })?;
    conn.busy_timeout(Duration::from_secs(10))?;
    Ok(conn)
}

/// The schema version, kept in `PRAGMA user_version`.
pub fn version(conn: &Connection) -> Result<i64, DbError> {
    Ok(conn.query_row("PRAGMA user_version", [], |r| r.get(0))?)
}

pub fn set_version(conn: &Connection, v: i64) -> Result<(), DbError> {
    Ok(conn.pragma_update(None, "user_version", v)?)
}
