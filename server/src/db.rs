//! The server's SQLite file: schema migrations and the community's keys.
//!
//! One file, WAL. Every handler reaches it through [`Db::call`], which runs
//! the closure on tokio's blocking pool so the async workers never wait on
//! the disk.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ed25519_dalek::SigningKey;
use rusqlite::{Connection, OptionalExtension};
use thiserror::Error;

#[derive(Debug, Error)]
pub enum DbError {
    #[error("cannot open the server database {path}: {source}; check the path and that this user may write there")]
    Open { path: PathBuf, source: rusqlite::Error },
    #[error("{path} has no community yet; run `shoumen-server init --db {path}` first")]
    NotInitialised { path: PathBuf },
    #[error("{path} already holds community {community:?}; use another file to start a new one")]
    AlreadyInitialised { path: PathBuf, community: String },
    #[error("the server database {path} has schema {found}, newer than this program ({known}); upgrade shoumen-server")]
    TooNew { path: PathBuf, found: i64, known: i64 },
    #[error("the disk holding the server database is full; free space so kiosks can sync again")]
    DiskFull,
    #[error("database error: {0}")]
    Sqlite(rusqlite::Error),
    #[error("stored data is damaged: {0}")]
    Corrupt(String),
}

impl From<rusqlite::Error> for DbError {
    fn from(e: rusqlite::Error) -> DbError {
        match e.sqlite_error_code() {
            Some(rusqlite::ErrorCode::DiskFull) => DbError::DiskFull,
            _ => DbError::Sqlite(e),
        }
    }
}

const MIGRATIONS: &[&str] = &[
    // 1: community, accounts, devices, the entry log, passes and lists.
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT;
    CREATE TABLE users (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        password_hash TEXT NOT NULL,
        created_ms INTEGER NOT NULL
    ) STRICT;
    CREATE TABLE sessions (
        token_sha256 TEXT PRIMARY KEY,
        user_id INTEGER NOT NULL REFERENCES users (id),
        csrf TEXT NOT NULL,
        expires_ms INTEGER NOT NULL
    ) STRICT;
    CREATE TABLE enroll_tokens (
        token_sha256 TEXT PRIMARY KEY,
        gate_name TEXT NOT NULL,
        expires_ms INTEGER NOT NULL,
        used_by TEXT
    ) STRICT;
    CREATE TABLE devices (
        id TEXT PRIMARY KEY,
        gate_name TEXT NOT NULL,
        key_hex TEXT NOT NULL,
        secret_sha256 TEXT NOT NULL,
        enrolled_ms INTEGER NOT NULL,
        revoked INTEGER NOT NULL DEFAULT 0,
        -- Highest seq up to which every entry is stored, and its chain hash.
        watermark INTEGER NOT NULL DEFAULT 0,
        head_hash TEXT NOT NULL,
        last_seen_ms INTEGER,
        queue INTEGER,
        skew_ms INTEGER,
        clock_synced INTEGER,
        health TEXT,
        version TEXT
    ) STRICT;
    -- Unique on (device, seq): a resent page is a no-op.
    CREATE TABLE entries (
        device TEXT NOT NULL REFERENCES devices (id),
        seq INTEGER NOT NULL,
        body TEXT NOT NULL,
        hash TEXT NOT NULL,
        wall_ms INTEGER NOT NULL,
        clock_synced INTEGER NOT NULL,
        boot_id TEXT NOT NULL,
        mono_ms INTEGER NOT NULL,
        received_ms INTEGER NOT NULL,
        kind TEXT NOT NULL,
        direction TEXT NOT NULL,
        decision TEXT NOT NULL,
        reason TEXT NOT NULL,
        pass_id TEXT,
        role TEXT,
        temp_centi INTEGER,
        note TEXT,
        PRIMARY KEY (device, seq)
    ) STRICT;
    CREATE INDEX entries_wall ON entries (wall_ms);
    -- The latest (server time, kiosk monotonic time) pair per boot, to place
    -- entries made before the kiosk's clock was synchronised.
    CREATE TABLE boots (
        device TEXT NOT NULL,
        boot_id TEXT NOT NULL,
        server_ms INTEGER NOT NULL,
        mono_ms INTEGER NOT NULL,
        PRIMARY KEY (device, boot_id)
    ) STRICT;
    CREATE TABLE alerts (
        id INTEGER PRIMARY KEY,
        kind TEXT NOT NULL,
        device TEXT NOT NULL,
        seq INTEGER,
        detail TEXT NOT NULL,
        first_ms INTEGER NOT NULL,
        last_ms INTEGER NOT NULL,
        count INTEGER NOT NULL DEFAULT 1,
        acked INTEGER NOT NULL DEFAULT 0,
        UNIQUE (kind, device, detail)
    ) STRICT;
    CREATE TABLE residents (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL,
        unit TEXT NOT NULL,
        phone TEXT NOT NULL DEFAULT '',
        created_ms INTEGER NOT NULL
    ) STRICT;
    CREATE INDEX residents_unit ON residents (unit);
    CREATE TABLE passes (
        pass_id TEXT PRIMARY KEY,
        resident_id INTEGER REFERENCES residents (id),
        role TEXT NOT NULL,
        unit TEXT NOT NULL,
        issued_at INTEGER NOT NULL,
        not_before INTEGER NOT NULL,
        expires_at INTEGER NOT NULL,
        text TEXT NOT NULL,
        link_token TEXT NOT NULL UNIQUE,
        revoked_ms INTEGER,
        visitor_name TEXT,
        gate TEXT
    ) STRICT;
    CREATE INDEX passes_unit ON passes (unit);
    -- Home quarantine is per household (unit); the bundle lists its passes.
    CREATE TABLE quarantine (
        id INTEGER PRIMARY KEY,
        unit TEXT NOT NULL,
        from_s INTEGER NOT NULL,
        until_s INTEGER NOT NULL,
        note TEXT NOT NULL DEFAULT '',
        created_ms INTEGER NOT NULL
    ) STRICT;
    CREATE TABLE bundles (
        version INTEGER PRIMARY KEY,
        issued_at INTEGER NOT NULL,
        content_sha256 TEXT NOT NULL,
        bundle TEXT NOT NULL,
        kid TEXT NOT NULL,
        signature TEXT NOT NULL
    ) STRICT;",
    // 2: alarms that reach people: acknowledgement notes, the gates' layout
    // (is the exit checked?), presence shared by the gates, the webhook outbox.
    "ALTER TABLE alerts ADD COLUMN acked_by TEXT;
    ALTER TABLE alerts ADD COLUMN acked_note TEXT;
    ALTER TABLE alerts ADD COLUMN acked_ms INTEGER;
    CREATE INDEX alerts_open ON alerts (device, acked);
    ALTER TABLE devices ADD COLUMN layout TEXT;
    -- The newest allowed direction of each pass from every gate; `change`
    -- orders the kiosks' feed.
    CREATE TABLE presence (
        pass_id TEXT PRIMARY KEY,
        direction TEXT NOT NULL,
        at_ms INTEGER NOT NULL,
        device TEXT NOT NULL,
        change INTEGER NOT NULL
    ) STRICT;
    CREATE INDEX presence_change ON presence (change);
    -- Webhook messages waiting for delivery; written with the alert, sent
    -- by a background task, so delivery never holds up a kiosk's push.
    CREATE TABLE webhook_outbox (
        id INTEGER PRIMARY KEY,
        alert_id INTEGER NOT NULL,
        created_ms INTEGER NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        next_ms INTEGER NOT NULL,
        delivered_ms INTEGER,
        last_error TEXT
    ) STRICT;
    CREATE INDEX webhook_due ON webhook_outbox (delivered_ms, next_ms);",
];

/// A shared handle on the database.
#[derive(Clone)]
pub struct Db {
    conn: Arc<Mutex<Connection>>,
    pub path: PathBuf,
}

impl Db {
    pub fn open(path: &Path) -> Result<Db, DbError> {
        let conn = open_conn(path)?;
        Ok(Db { conn: Arc::new(Mutex::new(conn)), path: path.into() })
    }

    /// Runs `f` with the connection on the blocking pool.
    pub async fn call<T, F>(&self, f: F) -> Result<T, DbError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, DbError> + Send + 'static,
    {
        let conn = self.conn.clone();
        tokio::task::spawn_blocking(move || {
            // A panic while holding the lock leaves SQLite consistent (the
            // transaction rolls back), so a poisoned lock is still usable.
            let mut guard = conn.lock().unwrap_or_else(|e| e.into_inner());
            f(&mut guard)
        })
        .await
        .map_err(|e| DbError::Corrupt(format!("database task failed: {e}")))?
    }

    /// A read-only connection of its own, for long reads (exports): in WAL
    /// mode it sees a snapshot and never waits for, or holds up, the writer.
    pub fn reader(&self) -> Result<Connection, DbError> {
        use rusqlite::OpenFlags;
        let conn = Connection::open_with_flags(&self.path, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)
            .map_err(|source| DbError::Open { path: self.path.clone(), source })?;
        conn.busy_timeout(Duration::from_secs(10))?;
        Ok(conn)
    }

    /// The same, for CLI commands and tests outside a runtime.
    pub fn call_blocking<T>(&self, f: impl FnOnce(&mut Connection) -> Result<T, DbError>) -> Result<T, DbError> {
        let mut guard = self.conn.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut guard)
    }
}

/// Creates `path` readable by its owner only, or tightens an existing file
/// to that: it holds the community's signing key and the sessions. SQLite
/// gives its -wal and -shm files the same mode.
pub fn make_private(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    match std::fs::metadata(path) {
        Ok(m) if m.permissions().mode() & 0o077 != 0 => std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)),
        Ok(_) => Ok(()),
        Err(_) => std::fs::OpenOptions::new().create(true).truncate(false).write(true).mode(0o600).open(path).map(|_| ()),
    }
}

pub fn open_conn(path: &Path) -> Result<Connection, DbError> {
    // Best effort: a read-only directory shows up as the open error below.
    if let Err(e) = make_private(path) {
        tracing::warn!(path = %path.display(), error = %e, "cannot make the database private to its owner");
    }
    let conn = Connection::open(path).map_err(|source| DbError::Open { path: path.into(), source })?;
    conn.busy_timeout(Duration::from_secs(10))?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    // FULL: an acknowledged entry is on disk before the kiosk may forget it.
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    let known = MIGRATIONS.len() as i64;
    if version > known {
        return Err(DbError::TooNew { path: path.into(), found: version, known });
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
        let tx = conn.unchecked_transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", i as i64 + 1)?;
        tx.commit()?;
    }
    Ok(conn)
}

pub fn get_meta(conn: &Connection, key: &str) -> Result<Option<String>, DbError> {
    Ok(conn.query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0)).optional()?)
}

pub fn set_meta(conn: &Connection, key: &str, value: &str) -> Result<(), DbError> {
    conn.execute(
        "INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        [key, value],
    )?;
    Ok(())
}

/// The community's id and signing key, created by `init`.
#[derive(Clone)]
pub struct Community {
    pub id: String,
    pub key: SigningKey,
}

pub fn community(conn: &Connection, path: &Path) -> Result<Community, DbError> {
    let (Some(id), Some(key)) = (get_meta(conn, "community")?, get_meta(conn, "signing_key")?) else {
        return Err(DbError::NotInitialised { path: path.into() });
    };
    let bytes: [u8; 32] = hex::decode(&key)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| DbError::Corrupt("signing_key is not 32 hex bytes".into()))?;
    Ok(Community { id, key: SigningKey::from_bytes(&bytes) })
}

/// Creates the community: its id, a fresh signing key, and the first admin.
pub fn init(conn: &Connection, path: &Path, community_id: &str, admin: &str, password_hash: &str, now_ms: i64) -> Result<Community, DbError> {
    if let Some(existing) = get_meta(conn, "community")? {
        return Err(DbError::AlreadyInitialised { path: path.into(), community: existing });
    }
    let key = SigningKey::generate(&mut rand::rngs::OsRng);
    let tx = conn.unchecked_transaction()?;
    set_meta(&tx, "community", community_id)?;
    set_meta(&tx, "signing_key", &hex::encode(key.to_bytes()))?;
    tx.execute(
        "INSERT INTO users (name, password_hash, created_ms) VALUES (?1, ?2, ?3)",
        rusqlite::params![admin, password_hash, now_ms],
    )?;
    tx.commit()?;
    Ok(Community { id: community_id.into(), key })
}

pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

pub fn sha256_hex(text: &str) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(text.as_bytes()))
}

/// A random token for URLs and cookies: 32 hex digits (128 bits).
pub fn random_token() -> String {
    hex::encode(rand::random::<[u8; 16]>())
}
