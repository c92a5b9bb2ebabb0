//! PostgreSQL, for a street office or a district: tokio-postgres
//! connections in a deadpool pool. The server's storage interface is
//! synchronous (handlers run it on tokio's blocking pool, as SQLite), so
//! each connection comes with a small single-threaded runtime of its own
//! that the calling thread drives while it waits for an answer: a query
//! costs no hop to another thread. Pushes from different kiosks run in
//! parallel on separate connections; each connection keeps its prepared
//! statements.

use std::collections::HashMap;
use std::error::Error;
use std::time::Duration;

use deadpool::managed::{self, Metrics, RecycleError, RecycleResult};
use futures_util::StreamExt;
use tokio::runtime::Runtime;
use tokio_postgres::types::{IsNull, ToSql, Type};
use tokio_postgres::{Client, NoTls, Statement};

use super::conn::{postgres_placeholders, Conn, Engine, Row, Val};
use super::pg_tls;
use super::DbError;

impl From<tokio_postgres::Error> for DbError {
    fn from(e: tokio_postgres::Error) -> DbError {
        // The server's own words say what was wrong (constraint, syntax …).
        match e.as_db_error() {
            Some(db) => DbError::Engine(format!("{}: {}", db.code().code(), db.message())),
            None => {
                // The cause is in the source chain ("error performing TLS
                // handshake" says nothing of which certificate or why).
                let mut text = e.to_string();
                let mut source = std::error::Error::source(&e);
                while let Some(s) = source {
                    text += &format!(": {s}");
                    source = s.source();
                }
                if text.contains("TLS handshake") {
                    text += " (check sslrootcert: the PEM of the CA that signed the database's certificate; \
                             and that the URL's host is a name in that certificate)";
                }
                DbError::Engine(text)
            }
        }
    }
}

impl ToSql for Val {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut tokio_postgres::types::private::BytesMut,
    ) -> Result<IsNull, Box<dyn Error + Sync + Send>> {
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
            Val::Bytes(b) => b.as_slice().to_sql(ty, out),
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    tokio_postgres::types::to_sql_checked!();
}

fn column(r: &tokio_postgres::Row, i: usize) -> Result<Val, DbError> {
    let ty = r.columns()[i].type_().clone();
    let v = match ty {
        Type::INT8 => r.try_get::<_, Option<i64>>(i)?.map(Val::Int),
        Type::INT4 => r.try_get::<_, Option<i32>>(i)?.map(|v| Val::Int(v.into())),
        Type::INT2 => r.try_get::<_, Option<i16>>(i)?.map(|v| Val::Int(v.into())),
        Type::BOOL => r.try_get::<_, Option<bool>>(i)?.map(|v| Val::Int(v.into())),
        Type::FLOAT8 => r.try_get::<_, Option<f64>>(i)?.map(Val::Real),
        Type::FLOAT4 => r.try_get::<_, Option<f32>>(i)?.map(|v| Val::Real(v.into())),
        Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME => r.try_get::<_, Option<String>>(i)?.map(Val::Text),
        Type::BYTEA => r.try_get::<_, Option<Vec<u8>>>(i)?.map(Val::Bytes),
        other => return Err(DbError::Corrupt(format!("column {i} has type {other}, which the server does not read"))),
    };
    Ok(v.unwrap_or(Val::Null))
}

/// One connection, the runtime that drives it and its prepared statements.
pub struct Session {
    client: Client,
    /// A transaction of ours is open (BEGIN without COMMIT or ROLLBACK).
    in_tx: bool,
    /// `None` only while dropping.
    rt: Option<Runtime>,
    statements: HashMap<String, Statement>,
}

impl Session {
    /// Runs `f` to completion on this connection's runtime, which also
    /// drives the connection's socket meanwhile.
    fn run<T>(&self, f: impl std::future::Future<Output = T>) -> T {
        self.rt.as_ref().expect("present until dropped").block_on(f)
    }

    fn statement(&mut self, sql: &str) -> Result<Statement, DbError> {
        if let Some(s) = self.statements.get(sql) {
            return Ok(s.clone());
        }
        let s = self.run(self.client.prepare(&postgres_placeholders(sql)))?;
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

impl Drop for Session {
    /// A session may be dropped on one of the server's runtime threads
    /// (the pool closing at shutdown), where waiting is forbidden.
    fn drop(&mut self) {
        if let Some(rt) = self.rt.take() {
            rt.shutdown_background();
        }
    }
}

/// A connection borrowed from the pool; it goes back when dropped.
pub struct PgConn(managed::Object<Manager>);

impl Conn for PgConn {
    fn engine(&self) -> Engine {
        Engine::Postgres
    }

    fn execute(&mut self, sql: &str, params: &[Val]) -> Result<u64, DbError> {
        let stmt = self.0.statement(sql)?;
        Ok(self.0.run(self.0.client.execute(&stmt, &Session::params(params)))?)
    }

    fn query(&mut self, sql: &str, params: &[Val]) -> Result<Vec<Row>, DbError> {
        let stmt = self.0.statement(sql)?;
        let rows = self.0.run(self.0.client.query(&stmt, &Session::params(params)))?;
        rows.iter().map(|r| (0..r.len()).map(|i| column(r, i)).collect::<Result<Vec<_>, _>>().map(Row)).collect()
    }

    /// Rows arrive as the server sends them; `f` runs between them outside
    /// the runtime, so it may block (an export hands each chunk to a
    /// channel and waits when the client reads slowly).
    fn query_each(
        &mut self,
        sql: &str,
        params: &[Val],
        f: &mut dyn FnMut(&Row) -> Result<bool, DbError>,
    ) -> Result<(), DbError> {
        let stmt = self.0.statement(sql)?;
        let session = &*self.0;
        let stream = session.run(session.client.query_raw(&stmt, params.iter().map(|v| v as &dyn ToSql)))?;
        let mut stream = Box::pin(stream);
        let mut done = false;
        while !done {
            // Rows come a batch at a time, so the runtime is entered once
            // per batch rather than once per row. A finished stream is not
            // polled again (it would answer "connection closed").
            let batch = session.run(async {
                let mut batch = Vec::with_capacity(256);
                while batch.len() < 256 {
                    match stream.next().await {
                        Some(r) => batch.push(r),
                        None => {
                            done = true;
                            break;
                        }
                    }
                }
                batch
            });
            for r in batch {
                let r = r?;
                let row = Row((0..r.len()).map(|i| column(&r, i)).collect::<Result<Vec<_>, _>>()?);
                if !f(&row)? {
                    return Ok(());
                }
            }
        }
        Ok(())
    }

    fn begin(&mut self, _write: bool) -> Result<(), DbError> {
        self.batch("BEGIN")?;
        self.0.in_tx = true;
        Ok(())
    }

    fn commit(&mut self) -> Result<(), DbError> {
        // Whatever COMMIT answers, the transaction is over.
        self.0.in_tx = false;
        self.batch("COMMIT")
    }

    fn rollback(&mut self) {
        self.0.in_tx = false;
        let _ = self.batch("ROLLBACK");
    }

    fn in_transaction(&mut self) -> bool {
        self.0.in_tx
    }

    fn batch(&mut self, sql: &str) -> Result<(), DbError> {
        Ok(self.0.run(self.0.client.batch_execute(sql))?)
    }
}

/// Opens connections for deadpool and checks them on their way back.
pub struct Manager {
    config: tokio_postgres::Config,
    /// `None`: plain (a Unix socket, a private network).
    tls: Option<tokio_postgres_rustls::MakeRustlsConnect>,
}

impl managed::Manager for Manager {
    type Type = Session;
    type Error = DbError;

    async fn create(&self) -> Result<Session, DbError> {
        // The socket must belong to the connection's own runtime, which can
        // only be driven from a thread outside any runtime: open it on a
        // thread of its own (once per connection).
        let (config, tls) = (self.config.clone(), self.tls.clone());
        let (tx, rx) = tokio::sync::oneshot::channel();
        std::thread::Builder::new()
            .name("pg-connect".into())
            .spawn(move || {
                let opened = (|| {
                    let rt = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .map_err(|e| DbError::Engine(e.to_string()))?;
                    let (client, driver) = rt.block_on(connect(&config, tls.as_ref()))?;
                    rt.spawn(driver);
                    Ok(Session { client, in_tx: false, rt: Some(rt), statements: HashMap::new() })
                })();
                let _ = tx.send(opened);
            })
            .map_err(|e| DbError::Engine(format!("cannot start a thread: {e}")))?;
        rx.await.map_err(|_| DbError::Engine("the connecting thread ended".into()))?
    }

    async fn recycle(&self, session: &mut Session, _: &Metrics) -> RecycleResult<DbError> {
        if session.client.is_closed() {
            return Err(RecycleError::message("the connection closed"));
        }
        // A transaction left open (its caller failed half-way) is not handed
        // to the next caller: the connection is dropped instead.
        if session.in_tx {
            return Err(RecycleError::message("a transaction was left open"));
        }
        Ok(())
    }
}

/// Opens a connection, plain or TLS; returns its client and the future
/// that drives its socket until it closes (the caller spawns it).
async fn connect(
    config: &tokio_postgres::Config,
    tls: Option<&tokio_postgres_rustls::MakeRustlsConnect>,
) -> Result<(Client, futures_util::future::BoxFuture<'static, ()>), tokio_postgres::Error> {
    // The two connections are of different types: each is driven alike.
    Ok(match tls {
        None => {
            let (client, connection) = config.connect(NoTls).await?;
            (client, Box::pin(drive(connection)))
        }
        Some(tls) => {
            let (client, connection) = config.connect(tls.clone()).await?;
            (client, Box::pin(drive(connection)))
        }
    })
}

/// Runs a connection's socket until it closes.
async fn drive<F: std::future::Future<Output = Result<(), tokio_postgres::Error>>>(connection: F) {
    if let Err(e) = connection.await {
        tracing::warn!(error = %e, "a PostgreSQL connection closed");
    }
}

/// Settings for a database that fails over (issue 30), where the URL does
/// not say otherwise. Several hosts (`postgresql://u@a,b/db`): only the one
/// that takes writes is used, so after a standby is promoted new
/// connections find it and the server needs no restart. A primary that
/// vanishes without closing its sockets (power lost, network cut) is
/// noticed within about 25 s, not the kernel's two hours, so its
/// connections are dropped and opened again elsewhere.
fn for_failover(config: &mut tokio_postgres::Config) {
    use tokio_postgres::config::TargetSessionAttrs;
    if config.get_hosts().len() > 1 && config.get_target_session_attrs() == TargetSessionAttrs::Any {
        config.target_session_attrs(TargetSessionAttrs::ReadWrite);
    }
    if config.get_keepalives_idle() == Duration::from_secs(2 * 60 * 60) {
        config.keepalives_idle(Duration::from_secs(10));
    }
    if config.get_keepalives_interval().is_none() {
        config.keepalives_interval(Duration::from_secs(5));
    }
    if config.get_keepalives_retries().is_none() {
        config.keepalives_retries(3);
    }
    if config.get_tcp_user_timeout().is_none() {
        config.tcp_user_timeout(Duration::from_secs(20));
    }
}

/// How long a caller waits for a free connection, and for a new one to
/// open, before the request fails with a message instead of hanging.
const WAIT: Duration = Duration::from_secs(30);
const CONNECT: Duration = Duration::from_secs(10);

/// A fixed-size pool: a caller waits for a free connection rather than
/// opening ever more.
pub struct Pool {
    pool: managed::Pool<Manager>,
    /// How the pool connects, for a session of its own ([`Pool::hold_lock`]).
    config: tokio_postgres::Config,
    tls: Option<tokio_postgres_rustls::MakeRustlsConnect>,
    /// Runs the pool's own waits and timeouts.
    rt: Option<Runtime>,
    dbname: String,
}

impl Pool {
    pub fn new(url: &str, size: usize) -> Result<Pool, DbError> {
        let open = |reason: String| DbError::Open { target: redact(url), reason };
        let (plain_url, mode, ca) = pg_tls::split(url).map_err(open)?;
        let tls = pg_tls::connector(&mode, ca.as_deref()).map_err(open)?;
        let mut config: tokio_postgres::Config =
            plain_url.parse().map_err(|e: tokio_postgres::Error| open(e.to_string()))?;
        if tls.is_some() {
            // Never fall back to plain when TLS was asked for.
            config.ssl_mode(tokio_postgres::config::SslMode::Require);
        }
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT);
        }
        for_failover(&mut config);
        let dbname = config.get_dbname().unwrap_or("?").to_string();
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("pg-pool")
            .enable_all()
            .build()
            .map_err(|e| open(format!("cannot start the database runtime: {e}")))?;
        let pool = managed::Pool::builder(Manager { config: config.clone(), tls: tls.clone() })
            .max_size(size.max(1))
            .wait_timeout(Some(WAIT))
            .create_timeout(Some(CONNECT + Duration::from_secs(5)))
            .runtime(deadpool::Runtime::Tokio1)
            .build()
            .map_err(|e| open(e.to_string()))?;
        Ok(Pool { pool, config, tls, rt: Some(rt), dbname })
    }

    /// A connection from the pool (opened if it has room), or the next one
    /// freed. Call from a thread that may block.
    pub fn get(&self) -> Result<PgConn, DbError> {
        let rt = self.rt.as_ref().expect("present until dropped");
        let object = rt.block_on(self.pool.get()).map_err(|e| DbError::Open {
            target: format!("PostgreSQL database {:?}", self.dbname),
            reason: match e {
                managed::PoolError::Backend(e) => e.to_string(),
                other => format!("{other}; check that PostgreSQL is running and accepts this server's connections"),
            },
        })?;
        Ok(PgConn(object))
    }
}

impl Pool {
    /// Waits until advisory lock `key` is ours, on a session of its own
    /// that holds nothing else, and keeps it until the [`Held`] is dropped
    /// or the session dies (this process killed, the database gone or
    /// failed over): PostgreSQL then frees the lock for the next process.
    /// Call on the server's runtime, which drives the session.
    pub async fn hold_lock(&self, key: i64) -> Result<Held, DbError> {
        // The sender lives as long as the session: its drop says "lost".
        let (tx, ended) = tokio::sync::watch::channel(());
        let (client, driver) = connect(&self.config, self.tls.as_ref()).await?;
        tokio::spawn(async move {
            driver.await;
            drop(tx);
        });
        // Waits in the database, not in a loop of tries: the lock passes on
        // the moment its holder's session ends.
        client.simple_query(&format!("SELECT pg_advisory_lock({key})")).await?;
        Ok(Held { client, ended })
    }
}

/// An advisory lock held on a session of its own.
pub struct Held {
    client: Client,
    ended: tokio::sync::watch::Receiver<()>,
}

impl Held {
    /// Resolves when the session (and so the lock) is gone.
    pub async fn lost(&self) {
        let mut ended = self.ended.clone();
        while ended.changed().await.is_ok() {}
    }

    /// Whether the session still answers: a lock on a session that cannot
    /// reach its database may already be someone else's.
    pub async fn answers(&self) -> bool {
        matches!(tokio::time::timeout(Duration::from_secs(5), self.client.simple_query("SELECT 1")).await, Ok(Ok(_)))
    }
}

impl Drop for Pool {
    /// The last handle on the pool may be dropped on one of the server's
    /// runtime threads, where waiting for another runtime is forbidden.
    fn drop(&mut self) {
        self.pool.close();
        if let Some(rt) = self.rt.take() {
            rt.shutdown_background();
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

#[cfg(test)]
mod tests {
    use super::*;
    use tokio_postgres::config::TargetSessionAttrs;

    #[test]
    fn several_hosts_mean_the_one_that_takes_writes_and_a_dead_host_is_noticed() {
        let mut two: tokio_postgres::Config = "postgresql://shoumen@db-a,db-b/shoumen".parse().unwrap();
        for_failover(&mut two);
        assert_eq!(two.get_target_session_attrs(), TargetSessionAttrs::ReadWrite);
        assert_eq!(two.get_keepalives_idle(), Duration::from_secs(10));
        assert_eq!(two.get_tcp_user_timeout(), Some(&Duration::from_secs(20)));
        // What the URL says stands.
        let mut said: tokio_postgres::Config =
            "postgresql://shoumen@db-a,db-b/shoumen?keepalives_idle=60".parse().unwrap();
        for_failover(&mut said);
        assert_eq!(said.get_keepalives_idle(), Duration::from_secs(60));
        let mut one: tokio_postgres::Config = "postgresql://shoumen@db-a/shoumen".parse().unwrap();
        for_failover(&mut one);
        assert_eq!(one.get_target_session_attrs(), TargetSessionAttrs::Any);
    }
}
