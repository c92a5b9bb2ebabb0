//! Group commit for the evidence log, the way CT logs sequence entries in
//! batches: registrations that arrive together are appended in one
//! transaction, so the log pays one durable commit (an fsync) per batch
//! instead of one per record.
//!
//! Each job runs in a savepoint of its own, made at its first statement: a
//! job that fails (a replayed form, a bad field) is rolled back alone, its
//! appends are forgotten, and the rest of the batch goes on. The log's
//! leaves and hashes are kept in memory (`evidence::Appender`) and written
//! in a few statements before the commit, so an append costs no round trip
//! to the database. A job's answer is sent only after the batch has
//! committed, so nobody holds a receipt for a record that was not stored.
//!
//! One thread per server; it exits when the server's state is dropped.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::Arc;

use crate::db::{Conn, Db, DbError, Engine, Row, Val};
use crate::records::evidence::Appender;

/// The most jobs one commit takes.
const MAX_BATCH: usize = 512;
/// Jobs waiting at most; past that, `submit` answers "busy" at once.
const QUEUE: usize = 4096;

type Finish = Box<dyn FnOnce(Result<(), String>) + Send>;
type Job = Box<dyn FnOnce(&mut dyn Conn, &mut Appender) -> (bool, Finish) + Send>;

pub struct Sequencer {
    jobs: SyncSender<Job>,
    /// What it has done, for `/metrics`.
    pub stats: Arc<BatchStats>,
}

/// Batches committed or failed, and the jobs in them.
#[derive(Default)]
pub struct BatchStats {
    pub batches: AtomicU64,
    pub jobs: AtomicU64,
    pub failed: AtomicU64,
}

impl Sequencer {
    pub fn start(db: Db) -> Sequencer {
        let (jobs, queue) = sync_channel::<Job>(QUEUE);
        let stats = Arc::new(BatchStats::default());
        let counted = stats.clone();
        std::thread::Builder::new()
            .name("evidence-sequencer".into())
            .spawn(move || run(&db, &queue, &counted))
            .expect("a thread for the evidence log's writer");
        Sequencer { jobs, stats }
    }

    /// Queues `work` for the next batch; the answer arrives once its batch
    /// has committed (or failed as a whole).
    pub fn submit<T, E>(
        &self,
        work: impl FnOnce(&mut dyn Conn, &mut Appender) -> Result<T, E> + Send + 'static,
    ) -> tokio::sync::oneshot::Receiver<Result<T, E>>
    where
        T: Send + 'static,
        E: From<DbError> + Send + 'static,
    {
        let (answer, receiver) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move |conn, log| {
            let result = work(conn, log);
            let ok = result.is_ok();
            let finish: Finish = Box::new(move |committed| {
                let out = match committed {
                    Ok(()) => result,
                    // The whole batch rolled back: this job's work is gone too.
                    Err(e) => Err(E::from(DbError::Engine(format!("the evidence log's batch did not commit: {e}")))),
                };
                let _ = answer.send(out);
            });
            (ok, finish)
        });
        // A job that cannot be queued (and its answer) is dropped: the
        // receiver sees a closed channel, which `wait` turns into "busy".
        if let Err(TrySendError::Disconnected(_)) = self.jobs.try_send(job) {
            tracing::error!("the evidence log's writer has stopped");
        }
        receiver
    }
}

/// The answer of a submitted job, in async code.
pub async fn wait<T, E: From<DbError>>(receiver: tokio::sync::oneshot::Receiver<Result<T, E>>) -> Result<T, E> {
    receiver.await.unwrap_or_else(|_| {
        Err(E::from(DbError::Engine("the evidence log is busy or stopped; nothing was stored, try again".into())))
    })
}

fn run(db: &Db, queue: &Receiver<Job>, stats: &BatchStats) {
    while let Ok(first) = queue.recv() {
        let mut batch = vec![first];
        // Whatever queued while the last batch committed joins this one.
        while batch.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        stats.batches.fetch_add(1, Ordering::Relaxed);
        stats.jobs.fetch_add(batch.len() as u64, Ordering::Relaxed);
        let done = db.call_blocking(|conn| {
            conn.transaction(true, |tx| {
                let mut log = Appender::default();
                let mut finishes = Vec::with_capacity(batch.len());
                for job in batch {
                    let mark = log.mark();
                    let mut job_conn = JobConn { tx: &mut *tx, savepoint: false };
                    let (ok, finish) = job(&mut job_conn, &mut log);
                    let savepoint = job_conn.savepoint;
                    if !ok {
                        log.undo_to(mark);
                        if savepoint {
                            tx.execute("ROLLBACK TO SAVEPOINT job", &[])?;
                        }
                    }
                    if savepoint {
                        tx.execute("RELEASE SAVEPOINT job", &[])?;
                    }
                    finishes.push(finish);
                }
                log.flush(tx).map_err(|e| DbError::Engine(e.to_string()))?;
                Ok::<_, DbError>(finishes)
            })
        });
        match done {
            Ok(finishes) => finishes.into_iter().for_each(|f| f(Ok(()))),
            // The finishes went with the failed transaction: their receivers
            // see the channel closed, and say nothing was stored.
            Err(e) => {
                stats.failed.fetch_add(1, Ordering::Relaxed);
                tracing::error!(error = %e, "an evidence log batch failed; nothing of it was stored")
            }
        }
    }
}

/// A job's view of the batch's transaction: the savepoint that lets the job
/// roll back alone is made before its first statement, so a job that only
/// appends to the log (in memory) costs no round trip.
struct JobConn<'a> {
    tx: &'a mut dyn Conn,
    savepoint: bool,
}

impl JobConn<'_> {
    fn enter(&mut self) -> Result<&mut dyn Conn, DbError> {
        if !self.savepoint {
            self.tx.execute("SAVEPOINT job", &[])?;
            self.savepoint = true;
        }
        Ok(&mut *self.tx)
    }
}

impl Conn for JobConn<'_> {
    fn engine(&self) -> Engine {
        self.tx.engine()
    }
    fn execute(&mut self, sql: &str, params: &[Val]) -> Result<u64, DbError> {
        self.enter()?.execute(sql, params)
    }
    fn query(&mut self, sql: &str, params: &[Val]) -> Result<Vec<Row>, DbError> {
        self.enter()?.query(sql, params)
    }
    fn query_each(
        &mut self,
        sql: &str,
        params: &[Val],
        f: &mut dyn FnMut(&Row) -> Result<bool, DbError>,
    ) -> Result<(), DbError> {
        self.enter()?.query_each(sql, params, f)
    }
    // The batch owns the transaction: a job neither starts nor ends one.
    fn begin(&mut self, _write: bool) -> Result<(), DbError> {
        Err(DbError::Engine("a job of the evidence log's batch cannot start a transaction of its own".into()))
    }
    fn commit(&mut self) -> Result<(), DbError> {
        Err(DbError::Engine("a job of the evidence log's batch cannot commit; the batch does".into()))
    }
    fn rollback(&mut self) {}
    // Always inside the batch's transaction: a record's own transaction
    // nests as a savepoint in the job's.
    fn in_transaction(&mut self) -> bool {
        true
    }
    fn batch(&mut self, sql: &str) -> Result<(), DbError> {
        self.enter()?.batch(sql)
    }
}
