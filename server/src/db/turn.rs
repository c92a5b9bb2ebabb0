//! Work only one server process may do at a time (issue 30): the door
//! sensors' subscription, which must hand each door's messages over in
//! order when its process dies. On PostgreSQL a turn is an advisory lock
//! on a session of its own, so it passes to a waiting process the moment
//! the holder's session ends, however the holder ended. SQLite serves one
//! process (a second is refused), so there a turn only orders the servers
//! a test runs inside one process.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, LazyLock, Mutex};

use super::{postgres, Db, DbError, Inner};

/// The work a turn is for: its number as an advisory lock's key, so no
/// two kinds of work share one.
#[derive(Clone, Copy, Debug)]
pub enum Work {
    /// The door sensors' MQTT subscription.
    Sensors = 1,
}

impl Work {
    /// The advisory lock's key: "shoumen" in its top bytes, so it does not
    /// meet another program's locks on a shared database.
    fn key(self) -> i64 {
        0x73686f756d656e00 | self as i64
    }
}

/// This process's turn at a [`Work`], until dropped or lost.
pub struct Turn(Holding);

enum Holding {
    /// Held, not read: the next server waits until it is dropped.
    Sqlite(#[allow(dead_code)] tokio::sync::OwnedMutexGuard<()>),
    Postgres(postgres::Held),
}

/// One turn's lock, shared by the servers that wait for it.
type TurnLock = Arc<tokio::sync::Mutex<()>>;

/// The turns of the SQLite servers in this process, by file and work.
static SQLITE_TURNS: LazyLock<Mutex<HashMap<(PathBuf, i64), TurnLock>>> = LazyLock::new(Mutex::default);

impl Db {
    /// Waits for this process's turn at `work`.
    pub async fn take_turn(&self, work: Work) -> Result<Turn, DbError> {
        match &*self.inner {
            Inner::Postgres { pool } => Ok(Turn(Holding::Postgres(pool.hold_lock(work.key()).await?))),
            Inner::Sqlite { path, .. } => {
                let lock = SQLITE_TURNS
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .entry((path.clone(), work.key()))
                    .or_default()
                    .clone();
                Ok(Turn(Holding::Sqlite(lock.lock_owned().await)))
            }
        }
    }
}

impl Turn {
    /// Resolves when the turn has passed to nobody's choosing: the
    /// database session that held it ended.
    pub async fn lost(&self) {
        match &self.0 {
            Holding::Sqlite(_) => std::future::pending().await,
            Holding::Postgres(held) => held.lost().await,
        }
    }

    /// Whether the turn is surely still ours: asked before the work
    /// starts again after a failure of its own.
    pub async fn still_held(&self) -> bool {
        match &self.0 {
            Holding::Sqlite(_) => true,
            Holding::Postgres(held) => held.answers().await,
        }
    }
}
