//! A log's side of witnessing: for each community with a witness policy,
//! its newest checkpoint is offered to every witness (with a consistency
//! proof from the size that witness last cosigned), the cosignatures are
//! checked, and once the policy's quorum cosigned, the checkpoint is
//! published with them. Until then readers keep the previous one.
//!
//! Every process on a database runs this: two offering one checkpoint is
//! harmless (a witness cosigns the same tree again, and the first process
//! to publish keeps its note).

use std::sync::Arc;
use std::time::Duration;

use shoumen_protocol::evidence::Hash;
use shoumen_protocol::witness::{cosigned_by, decimal, with_cosignatures, AddCheckpoint};
use shoumen_protocol::AlertKind;
use tokio::sync::Notify;

use crate::db::{now_ms, Db, DbError};
use crate::leaves::detail::{Arg, Detail};
use crate::records::witnesses::{self, Witness};
use crate::records::{alerts, evidence};

/// The most a witness's answer may be: a few signature lines.
const ANSWER_LIMIT: usize = 16 << 10;

/// How often the witnesses are asked, and how often a new checkpoint is
/// chosen for them.
#[derive(Clone, Copy, Debug)]
pub struct Pace {
    pub ask_every: Duration,
    pub checkpoint_every: Duration,
    /// How long one witness may take to answer.
    pub timeout: Duration,
}

/// Offers new checkpoints until the runtime stops.
pub async fn run_forever(db: Db, pace: Pace, bell: Arc<Notify>) {
    let (every, timeout) = (pace.ask_every, pace.timeout);
    let http = match crate::webhook::client(timeout) {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "cannot build the witnesses' HTTP client; checkpoints stay unpublished");
            return;
        }
    };
    loop {
        tokio::time::sleep(every).await;
        let communities = match db.call(witnesses::with_policy).await {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the witness policies");
                continue;
            }
        };
        for community in communities {
            match round(&db, &http, &community, pace.checkpoint_every).await {
                Ok(true) => bell.notify_one(),
                Ok(false) => {}
                Err(e) => tracing::warn!(community, error = %e, "cannot offer the checkpoint to the witnesses"),
            }
        }
    }
}

/// One round for `community`: offers its newest checkpoint if it is not
/// published yet, and publishes it if the quorum cosigned. True if an
/// alert was raised.
pub async fn round(db: &Db, http: &reqwest::Client, community: &str, every: Duration) -> Result<bool, DbError> {
    let c = community.to_string();
    let offer = db
        .call(move |conn| {
            let size = witnesses::candidate(conn, &c, now_ms(), every.as_millis() as i64, true)?;
            let published = witnesses::newest_published(conn, &c)?;
            if published.as_ref().is_some_and(|(n, _)| *n >= size) {
                return Ok(None);
            }
            let note = evidence::checkpoint_at(conn, &c, size).map_err(evidence_db)?;
            Ok(Some((size, note, witnesses::list(conn, &c)?, witnesses::policy(conn, &c)?)))
        })
        .await?;
    let Some((size, note, list, policy)) = offer else { return Ok(false) };
    let mut asks = tokio::task::JoinSet::new();
    for w in list {
        let (db, http, c, note) = (db.clone(), http.clone(), community.to_string(), note.clone());
        asks.spawn(async move { ask(&db, &http, &c, &w, size, &note).await.map(|a| (w, a)) });
    }
    let (mut lines, mut raised) = (Vec::new(), false);
    while let Some(done) = asks.join_next().await {
        let Ok(answer) = done else { continue };
        let (w, answer) = answer?;
        match answer {
            Answer::Cosigned(line) => lines.push(line),
            Answer::Refused(detail) => raised |= raise(db, community, &w.name, detail).await?,
            Answer::Failed => {}
        }
    }
    let note = with_cosignatures(&note, &lines);
    if !policy.is_empty() && policy.check(&note).is_ok() {
        let c = community.to_string();
        db.call(move |conn| witnesses::publish(conn, &c, size, &note, now_ms())).await?;
    }
    Ok(raised)
}

enum Answer {
    /// The witness's cosignature line, checked against its key.
    Cosigned(String),
    /// It says the log contradicts what it cosigned: an alert.
    Refused(Detail),
    /// Unreachable, or refused for a reason that is no contradiction.
    Failed,
}

/// Offers `note` (of `size` records) to one witness, and notes what it
/// answered: the size it now holds, or why it did not cosign.
async fn ask(
    db: &Db,
    http: &reqwest::Client,
    community: &str,
    w: &Witness,
    size: u64,
    note: &str,
) -> Result<Answer, DbError> {
    if let Some(device) = w.url.strip_prefix("kiosk:") {
        return kiosk(db, community, w, device, size, note).await;
    }
    let (answer, known, error) = exchange(db, http, community, w, size, note).await?;
    note_answer(db, community, &w.name, known, error).await?;
    Ok(answer)
}

/// A kiosk cosigns over its own sync (`/api/v1/cosign`): its cosignature
/// of this checkpoint, if it came and checks against its key.
async fn kiosk(db: &Db, community: &str, w: &Witness, device: &str, size: u64, note: &str) -> Result<Answer, DbError> {
    let (c, name) = (community.to_string(), w.name.clone());
    let line = db.call(move |conn| witnesses::kiosk_cosignature(conn, &c, &name, size)).await?;
    Ok(match line {
        Some(line) if cosigned_by(&w.vkey, note, &line) => Answer::Cosigned(line),
        Some(_) => {
            tracing::warn!(community, device, "a gate's stored cosignature does not check against its key");
            Answer::Failed
        }
        // Until the gate's next sync.
        None => Answer::Failed,
    })
}

/// What one witness answered, the size it holds after, and the problem if
/// any; on a 409, asks once more from the size it says it holds.
async fn exchange(
    db: &Db,
    http: &reqwest::Client,
    community: &str,
    w: &Witness,
    size: u64,
    note: &str,
) -> Result<(Answer, u64, Option<String>), DbError> {
    let detail =
        |key: &str, a: u64, b: u64| Detail::new(key, [w.name.clone(), a.to_string(), b.to_string()].map(Arg::from));
    let mut known = w.known_size;
    for _ in 0..2 {
        if known > size {
            let why = format!("it has cosigned {known} records; the log has {size}");
            return Ok((Answer::Refused(detail("witness_ahead", known, size)), known, Some(why)));
        }
        let c = community.to_string();
        let proof: Vec<Hash> = if known == 0 || known == size {
            Vec::new()
        } else {
            db.call(move |conn| evidence::consistency(conn, &c, known, size).map_err(evidence_db)).await?
        };
        let body = AddCheckpoint { old: known, proof, checkpoint: note.to_string() }.body();
        let resp = match http.post(format!("{}/add-checkpoint", w.url)).body(body).send().await {
            Ok(r) => r,
            Err(e) => return Ok((Answer::Failed, known, Some(format!("cannot reach the witness: {e}")))),
        };
        let status = resp.status().as_u16();
        let text = match super::read_capped(resp, ANSWER_LIMIT).await {
            Ok(t) => t,
            Err(e) => return Ok((Answer::Failed, known, Some(e))),
        };
        let said: String = text.trim().chars().take(300).collect();
        match status {
            200 => {
                // Only a line that checks against the witness's own key.
                let valid = text.lines().find(|l| cosigned_by(&w.vkey, note, l));
                return Ok(match valid {
                    Some(line) => (Answer::Cosigned(format!("{line}\n")), size, None),
                    None => (Answer::Failed, known, Some("its answer holds no valid cosignature by its key".into())),
                });
            }
            409 => match decimal(text.trim_end_matches('\n')) {
                Some(theirs) => known = theirs,
                None => break,
            },
            422 => return Ok((Answer::Refused(detail("witness_refused", size, known)), known, Some(said))),
            other => return Ok((Answer::Failed, known, Some(format!("it answered {other}: {said}")))),
        }
    }
    Ok((Answer::Failed, known, Some("its answers about the size it holds disagree".into())))
}

async fn note_answer(db: &Db, community: &str, name: &str, known: u64, error: Option<String>) -> Result<(), DbError> {
    let (c, n) = (community.to_string(), name.to_string());
    db.call(move |conn| witnesses::answered(conn, &c, &n, known, error.as_deref())).await
}

/// A split view, once per witness and contradiction.
async fn raise(db: &Db, community: &str, witness: &str, detail: Detail) -> Result<bool, DbError> {
    let (c, w) = (community.to_string(), witness.to_string());
    let raised =
        db.call(move |conn| alerts::raise_once(conn, &c, AlertKind::SplitView, &w, &detail.encode(), now_ms())).await?;
    if raised.is_some() {
        tracing::error!(community, witness, "a witness refused the log's checkpoint: a split view");
    }
    Ok(raised.is_some())
}

fn evidence_db(e: evidence::EvidenceError) -> DbError {
    match e {
        evidence::EvidenceError::Db(e) => e,
        other => DbError::Corrupt(other.to_string()),
    }
}
