//! The server's storage: SQLite (the default: one file, one compound) or
//! PostgreSQL (`postgres://…`: a street office or a district), behind one
//! small SQL interface ([`Conn`]). Every handler reaches it through
//! [`Db::call`], which runs the closure on tokio's blocking pool with a
//! connection: SQLite's one writer, or one of PostgreSQL's pool, so pushes
//! from different kiosks proceed in parallel there.
//!
//! Requests wait for a connection in a fair queue ([`Lanes`]) without
//! holding a thread, and long work has lanes of its own: a backlog page
//! ([`Db::call_bulk`]) takes a bulk slot first and an export
//! ([`Db::reader`]) a reader slot, so a gate's one-entry push never waits
//! behind more than a few of them.
//!
//! Architecture invariant: SQL lives in the storage modules (`db`,
//! `community`, `ingest`, `alerts`, `webhook`, `pages` data functions),
//! never in a handler's HTML; and every query of a community's records is
//! filtered by that community.

mod conn;
pub mod copy;
pub mod keyfiles;
mod pg_tls;
mod postgres;
mod schema;
mod sqlite;
mod turn;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use ed25519_dalek::SigningKey;
use thiserror::Error;

pub use conn::{Conn, Engine, FromVal, Row, Val};
pub use sqlite::make_private;
pub use turn::{Turn, Work};

use crate::vals;

#[derive(Debug, Error)]
pub enum DbError {
    #[error(
        "cannot open the server database {target}: {reason}; check the path or URL and that this user may write there"
    )]
    Open { target: String, reason: String },
    #[error("{target} has no community yet; run `shoumen-server --db {target} init --community NAME` first")]
    NotInitialised { target: String },
    #[error("there is no community {0:?} on this server; `shoumen-server community list` shows them")]
    UnknownCommunity(String),
    #[error("community {0:?} already exists; pick another name")]
    AlreadyInitialised(String),
    #[error(
        "the server database {target} has schema {found}, newer than this program ({known}); upgrade shoumen-server"
    )]
    TooNew { target: String, found: i64, known: i64 },
    #[error("the disk holding the server database is full; free space so kiosks can sync again")]
    DiskFull,
    #[error("database error: {0}")]
    Engine(String),
    #[error("the record asked for does not exist")]
    NoRow,
    #[error("stored data is damaged: {0}")]
    Corrupt(String),
    /// Something the server was not given (a key file, a directory).
    #[error("{0}")]
    Setup(String),
}

enum Inner {
    Sqlite { writer: Mutex<rusqlite::Connection>, path: PathBuf },
    // Boxed: the pool keeps its connection settings, which are large.
    Postgres { pool: Box<postgres::Pool> },
}

/// A shared handle on the database.
#[derive(Clone)]
pub struct Db {
    inner: Arc<Inner>,
    lanes: Arc<Lanes>,
    /// The file or the URL (without its password), for messages.
    pub target: String,
}

/// The queues in front of the connections. Tokio's semaphores are fair
/// (first come, first served), and a waiting request holds no thread.
struct Lanes {
    /// One permit per connection for short calls: PostgreSQL's pool, or
    /// SQLite's one writer.
    calls: Arc<Semaphore>,
    /// Backlog pages (hundreds of entries each) in flight at once.
    bulk: Arc<Semaphore>,
    /// Exports streaming at once, each on a connection of its own.
    readers: Arc<Semaphore>,
    /// Short reads of public pages on SQLite's read-only connections.
    reads: Arc<Semaphore>,
    /// How many permits each lane has, in the order of [`Db::lanes`].
    sizes: [usize; 4],
}

impl Lanes {
    fn new(calls: usize, bulk: usize) -> Arc<Lanes> {
        Arc::new(Lanes {
            calls: Arc::new(Semaphore::new(calls)),
            bulk: Arc::new(Semaphore::new(bulk)),
            readers: Arc::new(Semaphore::new(READERS)),
            reads: Arc::new(Semaphore::new(READS)),
            sizes: [calls, bulk, READERS, READS],
        })
    }
}

/// One lane in front of the database: its name, its size, how many of it
/// are taken now.
#[derive(Clone, Copy, Debug)]
pub struct LaneUse {
    pub lane: &'static str,
    pub size: usize,
    pub in_use: usize,
}

/// Connections a PostgreSQL pool holds for short calls.
const PG_CALLS: usize = 16;
/// Backlog pages stored at once on PostgreSQL: half the cores (the other
/// half stay free for live gates, whose pushes must not queue behind a
/// month of one kiosk's entries), at least one.
fn pg_bulk() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get() / 2).max(1)
}
/// Exports at once (each holds a connection for seconds).
const READERS: usize = 2;
/// Short public reads at once on SQLite's read-only connections.
const READS: usize = 4;

/// A place in the reader lane, held for as long as an export runs.
pub struct ReaderSlot {
    _permit: OwnedSemaphorePermit,
}

impl Db {
    /// Tables in the PostgreSQL database at `url`, read without migrating
    /// it (a restore drill's scratch database must hold none).
    pub fn postgres_tables(url: &str) -> Result<i64, DbError> {
        let pool = postgres::Pool::new(url, 1)?;
        let mut conn = pool.get()?;
        (&mut conn as &mut dyn Conn)
            .scalar("SELECT COUNT(*) FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')", &[])
    }

    /// Opens `target`, a SQLite file or a `postgres://` URL, and brings its
    /// schema up to date.
    pub fn open(target: &str) -> Result<Db, DbError> {
        if target.starts_with("postgres://") || target.starts_with("postgresql://") {
            let pool = postgres::Pool::new(target, PG_CALLS + READERS)?;
            let lanes = Lanes::new(PG_CALLS, pg_bulk());
            let db = Db {
                inner: Arc::new(Inner::Postgres { pool: Box::new(pool) }),
                lanes,
                target: postgres::redact(target),
            };
            db.migrate_postgres()?;
            return Ok(db);
        }
        let path = PathBuf::from(target);
        let mut conn = sqlite::open_writer(&path)?;
        migrate_sqlite(&mut conn, target)?;
        let inner = Arc::new(Inner::Sqlite { writer: Mutex::new(conn), path });
        Ok(Db { inner, lanes: Lanes::new(1, 1), target: target.to_string() })
    }

    /// Whether this database takes writes now: a PostgreSQL standby in
    /// recovery does not; a SQLite file this process opened for writing does.
    pub async fn writable(&self) -> Result<bool, DbError> {
        let engine = self.engine();
        self.call(move |conn| match engine {
            Engine::Postgres => Ok(conn.scalar("SELECT CASE WHEN pg_is_in_recovery() THEN 0 ELSE 1 END", &[])? == 1),
            Engine::Sqlite => Ok(conn.scalar("SELECT 1", &[])? == 1),
        })
        .await
    }

    pub fn engine(&self) -> Engine {
        match *self.inner {
            Inner::Sqlite { .. } => Engine::Sqlite,
            Inner::Postgres { .. } => Engine::Postgres,
        }
    }

    /// Runs `f` with a connection on the blocking pool, after waiting for
    /// its turn.
    pub async fn call<T, F>(&self, f: F) -> Result<T, DbError>
    where
        T: Send + 'static,
        F: FnOnce(&mut dyn Conn) -> Result<T, DbError> + Send + 'static,
    {
        let turn = self.lanes.calls.clone().acquire_owned().await.map_err(closed)?;
        let db = self.clone();
        tokio::task::spawn_blocking(move || {
            let result = db.call_blocking(f);
            drop(turn);
            result
        })
        .await
        .map_err(|e| DbError::Corrupt(format!("database task failed: {e}")))?
    }

    /// Each lane's size and use now, for `/metrics`.
    pub fn lanes(&self) -> [LaneUse; 4] {
        let l = &self.lanes;
        let names = ["calls", "bulk", "exports", "public_reads"];
        let sems = [&l.calls, &l.bulk, &l.readers, &l.reads];
        std::array::from_fn(|i| LaneUse {
            lane: names[i],
            size: l.sizes[i],
            in_use: l.sizes[i].saturating_sub(sems[i].available_permits()),
        })
    }

    /// The same for a long write (a kiosk's backlog page): only a few run at
    /// once, so short calls keep finding a connection.
    pub async fn call_bulk<T, F>(&self, f: F) -> Result<T, DbError>
    where
        T: Send + 'static,
        F: FnOnce(&mut dyn Conn) -> Result<T, DbError> + Send + 'static,
    {
        let _bulk = self.lanes.bulk.clone().acquire_owned().await.map_err(closed)?;
        self.call(f).await
    }

    /// A short read for a public page, which must neither wait for nor
    /// hold up SQLite's one writer: it runs on a read-only snapshot
    /// connection of its own, a few at once. On PostgreSQL it is a call
    /// like any other.
    pub async fn read<T, F>(&self, f: F) -> Result<T, DbError>
    where
        T: Send + 'static,
        F: FnOnce(&mut dyn Conn) -> Result<T, DbError> + Send + 'static,
    {
        if self.engine() == Engine::Postgres {
            return self.call(f).await;
        }
        let turn = self.lanes.reads.clone().acquire_owned().await.map_err(closed)?;
        let db = self.clone();
        tokio::task::spawn_blocking(move || {
            let result = db.read_blocking(f);
            drop(turn);
            result
        })
        .await
        .map_err(|e| DbError::Corrupt(format!("database task failed: {e}")))?
    }

    /// Waits for a place in the reader lane; hold it while `read_blocking`
    /// runs.
    pub async fn reader(&self) -> Result<ReaderSlot, DbError> {
        Ok(ReaderSlot { _permit: self.lanes.readers.clone().acquire_owned().await.map_err(closed)? })
    }

    /// The same, for CLI commands and tests outside a runtime.
    pub fn call_blocking<T>(&self, f: impl FnOnce(&mut dyn Conn) -> Result<T, DbError>) -> Result<T, DbError> {
        match &*self.inner {
            Inner::Sqlite { writer, .. } => {
                // A panic while holding the lock leaves SQLite consistent (the
                // transaction rolls back), so a poisoned lock is still usable.
                let mut guard = writer.lock().unwrap_or_else(|e| e.into_inner());
                f(&mut sqlite::SqliteConn(&mut guard))
            }
            Inner::Postgres { pool } => f(&mut pool.get()?),
        }
    }

    /// Runs `f` for a long read (an export) on a connection that neither
    /// waits for nor holds up the writer: SQLite's read-only snapshot, or a
    /// pooled PostgreSQL connection beyond the short calls' (take a
    /// [`Db::reader`] slot first).
    pub fn read_blocking<T>(&self, f: impl FnOnce(&mut dyn Conn) -> Result<T, DbError>) -> Result<T, DbError> {
        match &*self.inner {
            Inner::Sqlite { path, .. } => {
                let mut conn = sqlite::open_reader(path)?;
                f(&mut sqlite::SqliteConn(&mut conn))
            }
            Inner::Postgres { pool } => f(&mut pool.get()?),
        }
    }

    fn migrate_postgres(&self) -> Result<(), DbError> {
        let target = self.target.clone();
        self.call_blocking(|conn| {
            let exists = conn.scalar(
                "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = 'shoumen_schema'",
                vals![],
            )? > 0;
            if !exists {
                conn.batch("CREATE TABLE shoumen_schema (version BIGINT NOT NULL)")?;
            }
            let version = conn.query_opt("SELECT version FROM shoumen_schema", vals![], |r| r.get::<i64>(0))?;
            if version.is_none() {
                conn.execute("INSERT INTO shoumen_schema (version) VALUES (0)", vals![])?;
            }
            let version = version.unwrap_or(0);
            let known = schema::POSTGRES.len() as i64;
            if version > known {
                return Err(DbError::TooNew { target, found: version, known });
            }
            for (i, sql) in schema::POSTGRES.iter().enumerate().skip(version as usize) {
                conn.transaction(true, |tx| {
                    tx.batch(sql)?;
                    tx.execute("UPDATE shoumen_schema SET version = ?1", vals![i as i64 + 1])?;
                    Ok::<_, DbError>(())
                })?;
            }
            Ok(())
        })
    }
}

fn closed(_: tokio::sync::AcquireError) -> DbError {
    DbError::Engine("the server is shutting down".into())
}

fn migrate_sqlite(conn: &mut rusqlite::Connection, target: &str) -> Result<(), DbError> {
    let version = sqlite::version(conn)?;
    let known = schema::SQLITE.len() as i64;
    if version > known {
        return Err(DbError::TooNew { target: target.into(), found: version, known });
    }
    for (i, sql) in schema::SQLITE.iter().enumerate().skip(version as usize) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        sqlite::set_version(&tx, i as i64 + 1)?;
        tx.commit()?;
    }
    Ok(())
}

pub fn get_meta(conn: &mut dyn Conn, key: &str) -> Result<Option<String>, DbError> {
    conn.query_opt("SELECT value FROM meta WHERE key = ?1", vals![key], |r| r.get(0))
}

pub fn set_meta(conn: &mut dyn Conn, key: &str, value: &str) -> Result<(), DbError> {
    conn.execute(
        "INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        vals![key, value],
    )?;
    Ok(())
}

/// A community's id and pass-signing keys. While a key rotation is under
/// way (see `keys`) there are two: `next` before it is used, or `old` after.
#[derive(Clone)]
pub struct Community {
    pub id: String,
    /// Signs new passes.
    pub key: SigningKey,
    /// Created, announced to kiosks, not yet signing passes.
    pub next: Option<SigningKey>,
    /// The key before `key`: still trusted, and still signing the list
    /// bundles, so a kiosk that knows only it keeps opening them.
    pub old: Option<SigningKey>,
}

impl Community {
    /// The key that signs the list bundles and the statement of the newest
    /// lists: the oldest key every kiosk is sure to trust.
    pub fn list_key(&self) -> &SigningKey {
        self.old.as_ref().unwrap_or(&self.key)
    }

    /// Every key kiosks should trust now, told apart by kid.
    pub fn trust(&self) -> shoumen_protocol::TrustList {
        let keys = [Some(&self.key), self.next.as_ref(), self.old.as_ref()];
        shoumen_protocol::TrustList::new(
            keys.into_iter()
                .flatten()
                .map(|k| shoumen_protocol::TrustedKey { issuer: self.id.clone(), key: k.verifying_key() })
                .collect(),
        )
    }
}

/// A pass key from its column: in the database, or in its file.
fn signing_key(id: &str, column: &str) -> Result<SigningKey, DbError> {
    keyfiles::pass_key(id, column)
}

/// Whether `community`'s pass keys are kept out of the database: a new
/// one (the next key of a rotation) is then made in a file too.
pub fn pass_keys_outside(conn: &mut dyn Conn, community: &str) -> Result<bool, DbError> {
    let current =
        conn.query_opt("SELECT signing_key FROM communities WHERE id = ?1", vals![community], |r| r.get::<String>(0))?;
    let current = current.ok_or_else(|| DbError::UnknownCommunity(community.to_string()))?;
    Ok(keyfiles::is_outside(&current))
}

/// Moves `community`'s pass keys (current, next, old) out of the database
/// into `dir`, each written and synced before the database forgets it.
/// Returns how many moved (0: already out).
pub fn move_pass_keys(conn: &mut dyn Conn, community: &str, dir: &std::path::Path) -> Result<usize, DbError> {
    let columns = ["signing_key", "next_key", "old_key"];
    let mut moved = 0;
    for column in columns {
        let held =
            conn.query_opt(&format!("SELECT {column} FROM communities WHERE id = ?1"), vals![community], |r| {
                r.get::<Option<String>>(0)
            })?;
        let Some(Some(held)) = held else { continue };
        if keyfiles::is_outside(&held) {
            continue;
        }
        let mark = keyfiles::move_pass_key(community, &signing_key(community, &held)?, dir)?;
        // Only the key just written is replaced (a rotation meanwhile keeps its own).
        moved += conn.execute(
            &format!("UPDATE communities SET {column} = ?1 WHERE id = ?2 AND {column} = ?3"),
            vals![&mark, community, &held],
        )?;
    }
    Ok(moved as usize)
}

/// The community `id`.
pub fn community(conn: &mut dyn Conn, id: &str) -> Result<Community, DbError> {
    let keys =
        conn.query_opt("SELECT signing_key, next_key, old_key FROM communities WHERE id = ?1", vals![id], |r| {
            Ok((r.get::<String>(0)?, r.get::<Option<String>>(1)?, r.get::<Option<String>>(2)?))
        })?;
    let (key, next, old) = keys.ok_or_else(|| DbError::UnknownCommunity(id.to_string()))?;
    Ok(Community {
        id: id.to_string(),
        key: signing_key(id, &key)?,
        next: next.map(|k| signing_key(id, &k)).transpose()?,
        old: old.map(|k| signing_key(id, &k)).transpose()?,
    })
}

/// Every community's id, in order.
pub fn communities(conn: &mut dyn Conn) -> Result<Vec<String>, DbError> {
    conn.query_map("SELECT id FROM communities ORDER BY id", vals![], |r| r.get(0))
}

/// The only community, for a server that has just one (the CLI's default).
pub fn sole_community(conn: &mut dyn Conn, target: &str) -> Result<Community, DbError> {
    match communities(conn)?.as_slice() {
        [] => Err(DbError::NotInitialised { target: target.into() }),
        [one] => community(conn, one),
        many => {
            Err(DbError::Engine(format!("this server holds {} communities; say which with --community", many.len())))
        }
    }
}

/// Creates a community with a fresh signing key.
pub fn create_community(conn: &mut dyn Conn, id: &str, now_ms: i64) -> Result<Community, DbError> {
    let exists = conn.scalar("SELECT COUNT(*) FROM communities WHERE id = ?1", vals![id])? > 0;
    if exists {
        return Err(DbError::AlreadyInitialised(id.to_string()));
    }
    let key = SigningKey::generate(&mut rand::rngs::OsRng);
    // A server given a key directory makes its keys there.
    let column = keyfiles::pass_key_column(id, &key, keyfiles::dir().is_some())?;
    conn.execute(
        "INSERT INTO communities (id, signing_key, created_ms) VALUES (?1, ?2, ?3)",
        vals![id, column, now_ms],
    )?;
    Ok(Community { id: id.into(), key, next: None, old: None })
}

/// Adds a committee account: of one community, or (`None`) of the district.
pub fn add_user(
    conn: &mut dyn Conn,
    name: &str,
    password_hash: &str,
    community: Option<&str>,
    now_ms: i64,
) -> Result<i64, DbError> {
    conn.query_row(
        "INSERT INTO users (name, password_hash, created_ms, community) VALUES (?1, ?2, ?3, ?4) RETURNING id",
        vals![name, password_hash, now_ms, community],
        |r| r.get(0),
    )
}

/// Creates a community and its first admin.
pub fn init(
    conn: &mut dyn Conn,
    community_id: &str,
    admin: &str,
    password_hash: &str,
    now_ms: i64,
) -> Result<Community, DbError> {
    conn.transaction(true, |tx| {
        let community = create_community(tx, community_id, now_ms)?;
        add_user(tx, admin, password_hash, Some(community_id), now_ms)?;
        Ok(community)
    })
}

pub fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A database as the one-community server of schema 2 left it.
    fn old_database(path: &std::path::Path) {
        let conn = rusqlite::Connection::open(path).unwrap();
        conn.execute_batch(schema::SQLITE[0]).unwrap();
        conn.execute_batch(schema::SQLITE[1]).unwrap();
        conn.execute_batch(&format!(
            "PRAGMA user_version = 2;
             INSERT INTO meta VALUES ('community', 'lotus-gdn'), ('signing_key', '{}'), ('webhook_url', 'https://x/hook'), ('webhook_format', 'wecom');
             INSERT INTO devices (id, gate_name, key_hex, secret_sha256, enrolled_ms, head_hash) VALUES ('k1', 'North', '', '', 0, '');
             INSERT INTO entries (device, seq, body, hash, wall_ms, clock_synced, boot_id, mono_ms, received_ms, kind, direction, decision, reason)
                 VALUES ('k1', 1, '{{}}', 'h', 5, 1, 'b', 1, 6, 'scan', 'in', 'allow', 'ok');
             INSERT INTO residents (name, unit, created_ms) VALUES ('Li', '3-502', 0);
             INSERT INTO bundles VALUES (3, 0, 'sha', 'b', 'kid', 'sig');
             INSERT INTO presence VALUES ('ab', 'in', 5, 'k1', 7);",
            "11".repeat(32)
        ))
        .unwrap();
    }

    #[test]
    fn a_one_community_database_becomes_the_first_community() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.db");
        old_database(&path);
        let db = Db::open(path.to_str().unwrap()).unwrap();
        db.call_blocking(|c| {
            assert_eq!(communities(c)?, ["lotus-gdn"]);
            assert_eq!(community(c, "lotus-gdn")?.key.to_bytes(), [0x11; 32]);
            for table in ["devices", "entries", "residents", "bundles", "presence"] {
                let n = c.scalar(&format!("SELECT COUNT(*) FROM {table} WHERE community = 'lotus-gdn'"), vals![])?;
                assert_eq!(n, 1, "{table} kept its row, now of the community");
            }
            let hook = c.query_row("SELECT webhook_url FROM communities WHERE id = 'lotus-gdn'", vals![], |r| {
                r.get::<String>(0)
            })?;
            assert_eq!(hook, "https://x/hook", "the webhook moved to the community");
            assert_eq!(get_meta(c, "signing_key")?, None, "the key is no longer loose in meta");
            Ok(())
        })
        .unwrap();
    }

    #[test]
    fn a_database_newer_than_the_program_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("new.db");
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.pragma_update(None, "user_version", 99).unwrap();
        drop(conn);
        let err = Db::open(path.to_str().unwrap()).err().expect("refused");
        assert!(matches!(err, DbError::TooNew { found: 99, .. }), "{err}");
        assert!(err.to_string().contains("upgrade shoumen-server"));
    }

    /// A gate's short call that arrives while one backlog page is being
    /// stored and another waits goes before the waiting page.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_short_call_does_not_queue_behind_backlog_pages() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(dir.path().join("lanes.db").to_str().unwrap()).unwrap();
        let order = Arc::new(Mutex::new(Vec::new()));
        let (started_tx, started_rx) = std::sync::mpsc::channel();
        let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
        let log = |name: &'static str| {
            let order = order.clone();
            move |_: &mut dyn Conn| {
                order.lock().unwrap().push(name);
                Ok(())
            }
        };
        let first = {
            let (db, order) = (db.clone(), order.clone());
            tokio::spawn(async move {
                db.call_bulk(move |_| {
                    started_tx.send(()).unwrap();
                    release_rx.recv().unwrap();
                    order.lock().unwrap().push("first page");
                    Ok(())
                })
                .await
            })
        };
        tokio::task::spawn_blocking(move || started_rx.recv().unwrap()).await.unwrap();
        let second = tokio::spawn({
            let (db, f) = (db.clone(), log("second page"));
            async move { db.call_bulk(f).await }
        });
        // Both waiters must be queued before the first page ends.
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        let gate = tokio::spawn({
            let (db, f) = (db.clone(), log("gate"));
            async move { db.call(f).await }
        });
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        release_tx.send(()).unwrap();
        for task in [first, second, gate] {
            task.await.unwrap().unwrap();
        }
        assert_eq!(*order.lock().unwrap(), ["first page", "gate", "second page"]);
    }

    #[test]
    fn passwords_stay_out_of_messages() {
        assert_eq!(
            postgres::redact("postgres://shoumen:hunter2@db.local/shoumen"),
            "postgres://shoumen:…@db.local/shoumen"
        );
        assert_eq!(postgres::redact("postgres://shoumen@db.local/shoumen"), "postgres://shoumen@db.local/shoumen");
    }
}
