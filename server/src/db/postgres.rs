//! PostgreSQL, for a street office or a district: a pool of connections
//! (the `postgres` crate, the blocking face of tokio-postgres, used from
//! tokio's blocking pool like SQLite), so pushes from different kiosks run
//! in parallel; each connection keeps its prepared statements.

use std::collections::HashMap;
use std::error::Error;
use std::sync::{Condvar, Mutex};
use std::time::Duration;

use postgres::types::{IsNull, ToSql, Type};
use postgres::{Client, NoTls, Statement};

use super::conn::{postgres_placeholders, Conn, Engine, Row, Val};
use super::DbError;

impl From<postgres::Error> for DbError {
    fn from(e: postgres::Error) -> DbError {
        // The server's own words say what was wrong (constraint, syntax …).
        match e.as_db_error() {
            Some(db) => DbError::Engine(format!("{}: {}", db.code().code(), db.message())),
            None => DbError::Engine(e.to_string()),
        }
    }
}

impl ToSql for Val {
    fn to_sql(&self, ty: &Type, out: &mut postgres::types::private::BytesMut) -> Result<IsNull, Box<dyn Error + Sync + Send>> {
        match self {
            Val::Null => Ok(IsNull::Yes),
            Val::Int(i) => match *ty {
                Type::INT2 => i16::try_from(*i)?.to_sql(ty, out),
                Type::INT4 => i32::try_from(*i)?.to_sql(ty, out),
                Type::BOOL => (*i != 0).to_sql(ty, out),
                Type::FLOAT8 => (*i as f64).to_sql(ty, out),
                Type::TEXT | Type::VARCHAR => i.to_string().to_sql(ty, out),
                _ => i.to_sql(ty, out),
            },
            Val::Real(r) => r.to_sql(ty, out),
            Val::Text(s) => s.as_str().to_sql(ty, out),
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    postgres::types::to_sql_checked!();
}

fn column(r: &postgres::Row, i: usize) -> Result<Val, DbError> {
    let ty = r.columns()[i].type_().clone();
    let v = match ty {
        Type::INT8 => r.try_get::<_, Option<i64>>(i)?.map(Val::Int),
        Type::INT4 => r.try_get::<_, Option<i32>>(i)?.map(|v| Val::Int(v.into())),
        Type::INT2 => r.try_get::<_, Option<i16>>(i)?.map(|v| Val::Int(v.into())),
        Type::BOOL => r.try_get::<_, Option<bool>>(i)?.map(|v| Val::Int(v.into())),
        Type::FLOAT8 => r.try_get::<_, Option<f64>>(i)?.map(Val::Real),
        Type::FLOAT4 => r.try_get::<_, Option<f32>>(i)?.map(|v| Val::Real(v.into())),
        Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME => r.try_get::<_, Option<String>>(i)?.map(Val::Text),
        other => return Err(DbError::Corrupt(format!("column {i} has type {other}, which the server does not read"))),
    };
    Ok(v.unwrap_or(Val::Null))
}

/// One connection and the statements it has prepared.
pub struct PgConn {
    client: Client,
    statements: HashMap<String, Statement>,
}

impl PgConn {
    fn statement(&mut self, sql: &str) -> Result<Statement, DbError> {
        if let Some(s) = self.statements.get(sql) {
            return Ok(s.clone());
        }
        let s = self.client.prepare(&postgres_placeholders(sql))?;
        // Bounded: the server's queries are a fixed set, but be safe.
        if self.statements.len() > 500 {
            self.statements.clear();
        }
        self.statements.insert(sql.to_string(), s.clone());
        Ok(s)
    }

    fn params(params: &[Val]) -> Vec<&(dyn ToSql + Sync)> {
        params.iter().map(|v| v as &(dyn ToSql + Sync)).collect()
    }
}

impl Conn for PgConn {
    fn engine(&self) -> Engine {
        Engine::Postgres
    }

    fn execute(&mut self, sql: &str, params: &[Val]) -> Result<u64, DbError> {
        let stmt = self.statement(sql)?;
        Ok(self.client.execute(&stmt, &Self::params(params))?)
    }

    fn query(&mut self, sql: &str, params: &[Val]) -> Result<Vec<Row>, DbError> {
        let stmt = self.statement(sql)?;
        let rows = self.client.query(&stmt, &Self::params(params))?;
        rows.iter().map(|r| (0..r.len()).map(|i| column(r, i)).collect::<Result<Vec<_>, _>>().map(Row)).collect()
    }

    fn query_each(&mut self, sql: &str, params: &[Val], f: &mut dyn FnMut(&Row) -> Result<bool, DbError>) -> Result<(), DbError> {
        use postgres::fallible_iterator::FallibleIterator;
        let stmt = self.statement(sql)?;
        let mut rows = self.client.query_raw(&stmt, params.iter().map(|v| v as &dyn ToSql))?;
        while let Some(r) = rows.next()? {
            let row = Row((0..r.len()).map(|i| column(&r, i)).collect::<Result<Vec<_>, _>>()?);
            if !f(&row)? {
                break;
            }
        }
        Ok(())
    }

    fn begin(&mut self, _write: bool) -> Result<(), DbError> {
        Ok(self.client.batch_execute("BEGIN")?)
    }

    fn commit(&mut self) -> Result<(), DbError> {
        Ok(self.client.batch_execute("COMMIT")?)
    }

    fn rollback(&mut self) {
        let _ = self.client.batch_execute("ROLLBACK");
    }

    fn batch(&mut self, sql: &str) -> Result<(), DbError> {
        Ok(self.client.batch_execute(sql)?)
    }
}

/// A fixed-size pool: a caller waits for a free connection rather than
/// opening ever more.
pub struct Pool {
    config: postgres::Config,
    size: usize,
    idle: Mutex<(Vec<PgConn>, usize)>,
    freed: Condvar,
}

impl Pool {
    pub fn new(url: &str, size: usize) -> Result<Pool, DbError> {
        let config: postgres::Config = url
            .parse()
            .map_err(|e: postgres::Error| DbError::Open { target: redact(url), reason: e.to_string() })?;
        Ok(Pool { config, size: size.max(1), idle: Mutex::new((Vec::new(), 0)), freed: Condvar::new() })
    }

    /// A connection, opened if the pool has room, else the next one freed.
    pub fn get(&self) -> Result<Pooled<'_>, DbError> {
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if let Some(conn) = idle.0.pop() {
                if !conn.client.is_closed() {
                    return Ok(Pooled { pool: self, conn: Some(conn) });
                }
                idle.1 -= 1;
                continue;
            }
            if idle.1 < self.size {
                idle.1 += 1;
                drop(idle);
                return match self.config.connect(NoTls) {
                    Ok(client) => Ok(Pooled { pool: self, conn: Some(PgConn { client, statements: HashMap::new() }) }),
                    Err(e) => {
                        self.idle.lock().unwrap_or_else(|e| e.into_inner()).1 -= 1;
                        Err(DbError::Open { target: format!("PostgreSQL database {:?}", self.config.get_dbname().unwrap_or("?")), reason: e.to_string() })
                    }
                };
            }
            idle = self.freed.wait_timeout(idle, Duration::from_secs(1)).unwrap_or_else(|e| e.into_inner()).0;
        }
    }
}

impl Drop for Pool {
    /// Closing a connection blocks on its own small runtime, which tokio
    /// forbids on a runtime's thread (where the last handle on the pool may
    /// be dropped at shutdown): close them on a thread of their own.
    fn drop(&mut self) {
        let idle = std::mem::take(&mut self.idle.get_mut().unwrap_or_else(|e| e.into_inner()).0);
        if !idle.is_empty() {
            let _ = std::thread::Builder::new().name("pg-close".into()).spawn(move || drop(idle));
        }
    }
}

/// A connection borrowed from the pool; it goes back when dropped.
pub struct Pooled<'a> {
    pool: &'a Pool,
    conn: Option<PgConn>,
}

impl Pooled<'_> {
    pub fn conn(&mut self) -> &mut PgConn {
        self.conn.as_mut().expect("present until dropped")
    }
}

impl Drop for Pooled<'_> {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            let mut idle = self.pool.idle.lock().unwrap_or_else(|e| e.into_inner());
            if conn.client.is_closed() {
                idle.1 -= 1;
            } else {
                idle.0.push(conn);
            }
            self.pool.freed.notify_one();
        }
    }
}

/// A connection string without its password, for messages.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.find('@')) {
        (Some(s), Some(at)) if at > s && url[s + 3..at].contains(':') => {
            let user = url[s + 3..at].split(':').next().unwrap_or("");
            format!("{}{user}:…{}", &url[..s + 3], &url[at..])
        }
        _ => url.to_string(),
    }
}
