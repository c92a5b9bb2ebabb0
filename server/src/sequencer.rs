//! Group commit for the evidence log, the way CT logs sequence entries in
//! batches: registrations that arrive together are appended in one
//! transaction, so the log pays one durable commit (an fsync) per batch
//! instead of one per record.
//!
//! Each job runs in a savepoint of its own: a job that fails (a replayed
//! form, a bad field) is rolled back alone and the rest of the batch goes
//! on. A job's answer is sent only after the batch has committed, so
//! nobody holds a receipt for a record that was not stored.
//!
//! One thread per server; it exits when the server's state is dropped.

use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};

use crate::db::{Conn, Db, DbError};

/// The most jobs one commit takes.
const MAX_BATCH: usize = 512;
/// Jobs waiting at most; past that, `submit` answers "busy" at once.
const QUEUE: usize = 4096;

type Finish = Box<dyn FnOnce(Result<(), String>) + Send>;
type Job = Box<dyn FnOnce(&mut dyn Conn) -> (bool, Finish) + Send>;

pub struct Sequencer {
    jobs: SyncSender<Job>,
}

impl Sequencer {
    pub fn start(db: Db) -> Sequencer {
        let (jobs, queue) = sync_channel::<Job>(QUEUE);
        std::thread::Builder::new()
            .name("evidence-sequencer".into())
            .spawn(move || run(&db, &queue))
            .expect("a thread for the evidence log's writer");
        Sequencer { jobs }
    }

    /// Queues `work` for the next batch; the answer arrives once its batch
    /// has committed (or failed as a whole).
    pub fn submit<T, E>(&self, work: impl FnOnce(&mut dyn Conn) -> Result<T, E> + Send + 'static) -> tokio::sync::oneshot::Receiver<Result<T, E>>
    where
        T: Send + 'static,
        E: From<DbError> + Send + 'static,
    {
        let (answer, receiver) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move |conn| {
            let result = work(conn);
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
        if let Err(e) = self.jobs.try_send(job) {
            // The job (and its answer) is dropped: the receiver sees a closed
            // channel, which `wait` turns into "busy".
            if let TrySendError::Disconnected(_) = e {
                tracing::error!("the evidence log's writer has stopped");
            }
        }
        receiver
    }
}

/// The answer of a submitted job, in async code.
pub async fn wait<T, E: From<DbError>>(receiver: tokio::sync::oneshot::Receiver<Result<T, E>>) -> Result<T, E> {
    receiver.await.unwrap_or_else(|_| Err(E::from(DbError::Engine("the evidence log is busy or stopped; nothing was stored, try again".into()))))
}

fn run(db: &Db, queue: &Receiver<Job>) {
    while let Ok(first) = queue.recv() {
        let mut batch = vec![first];
        // Whatever queued while the last batch committed joins this one.
        while batch.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let done = db.call_blocking(|conn| {
            conn.transaction(true, |tx| {
                let mut finishes = Vec::with_capacity(batch.len());
                for job in batch {
                    tx.execute("SAVEPOINT job", &[])?;
                    let (ok, finish) = job(tx);
                    if !ok {
                        tx.execute("ROLLBACK TO SAVEPOINT job", &[])?;
                    }
                    tx.execute("RELEASE SAVEPOINT job", &[])?;
                    finishes.push(finish);
                }
                Ok::<_, DbError>(finishes)
            })
        });
        match done {
            Ok(finishes) => finishes.into_iter().for_each(|f| f(Ok(()))),
            // The finishes went with the failed transaction: their receivers
            // see the channel closed, and say nothing was stored.
            Err(e) => tracing::error!(error = %e, "an evidence log batch failed; nothing of it was stored"),
        }
    }
}
