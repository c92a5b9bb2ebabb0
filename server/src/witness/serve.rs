//! A witness of other logs, as c2sp.org/tlog-witness says:
//! `POST <prefix>/add-checkpoint`, answered with a cosignature line, or
//! 400/403/404/409/422 with the reason. Its state (the logs it trusts and
//! what it cosigned of each) lives in its own database, its key in a file:
//! a log's operator who can write the log's database can change neither.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use shoumen_protocol::witness::{check_add, origin_of, AddCheckpoint, Cosigner, Refusal, SIZE_CONTENT_TYPE};

use crate::db::{now_ms, Db};
use crate::records::witnesses;

/// What the witness's requests share.
#[derive(Clone)]
pub struct Witness {
    pub db: Db,
    pub cosigner: Arc<Cosigner>,
    /// Requests per minute and client address. One server asks for each of
    /// its logs once per checkpoint, from each of its processes: 200
    /// communities, a checkpoint every 30 s, 3 processes ask 1,200 a
    /// minute. Each costs a signature check and at most 63 hashes.
    pub limiter: Arc<crate::Limiter>,
}

/// The witness's routes under `prefix` (such as `/witness`): its
/// submission and monitoring prefix are the same.
pub fn router(w: Witness, prefix: &str, request_timeout: std::time::Duration) -> Router {
    let prefix = prefix.trim_end_matches('/');
    Router::new()
        .route(&format!("{prefix}/add-checkpoint"), post(add_checkpoint))
        .route(&format!("{prefix}/key"), get(key))
        .layer(axum::extract::DefaultBodyLimit::max(shoumen_protocol::witness::MAX_REQUEST_BYTES))
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, request_timeout))
        .with_state(w)
}

/// The witness's public key (a vkey of type 0x04), for logs' policies.
async fn key(State(w): State<Witness>) -> Response {
    ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], w.cosigner.vkey() + "\n").into_response()
}

async fn add_checkpoint(
    State(w): State<Witness>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    body: String,
) -> Response {
    if !w.limiter.allow("witness", peer.ip()) {
        return (StatusCode::TOO_MANY_REQUESTS, "too many checkpoints from this address; wait a minute")
            .into_response();
    }
    let req = match AddCheckpoint::parse(&body) {
        Ok(r) => r,
        Err(e) => return refusal(&e),
    };
    let checkpoint = req.checkpoint.clone();
    let decided = w.db.call(move |conn| decide(conn, &req, now_ms())).await;
    match decided {
        Ok(Ok(())) => match w.cosigner.cosign(&checkpoint, (now_ms() / 1000).max(1) as u64) {
            Ok(line) => ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], line).into_response(),
            Err(e) => refusal(&e),
        },
        Ok(Err(e)) => refusal(&e),
        Err(e) => {
            tracing::error!(error = %e, "the witness cannot read or write its state");
            (StatusCode::SERVICE_UNAVAILABLE, "the witness cannot reach its database; try again").into_response()
        }
    }
}

/// Checks `req` against what was cosigned and, if it extends it, makes it
/// the new latest, in one transaction: two requests at once cannot both
/// move the same old size. A checkpoint that contradicts what was cosigned
/// is kept beside it.
fn decide(
    conn: &mut dyn crate::db::Conn,
    req: &AddCheckpoint,
    now: i64,
) -> Result<Result<(), Refusal>, crate::DbError> {
    let origin = origin_of(&req.checkpoint).to_string();
    conn.transaction(true, |tx| {
        let Some(log) = witnesses::witnessed(tx, &origin)? else {
            return Ok(Err(Refusal::UnknownLog(origin.clone())));
        };
        match check_add(req, &log.vkey, log.latest.as_ref()) {
            Ok(head) => {
                if witnesses::advance(tx, log.latest.as_ref(), &head, &req.checkpoint, now)? {
                    Ok(Ok(()))
                } else {
                    // Moved by another request since it was read.
                    let now_held = witnesses::witnessed(tx, &origin)?.and_then(|l| l.latest).map_or(0, |h| h.size);
                    Ok(Err(Refusal::Conflict(now_held)))
                }
            }
            Err(e @ Refusal::NotConsistent { .. }) => {
                tracing::error!(origin, error = %e, "a log offered a checkpoint that contradicts the one this witness cosigned");
                witnesses::refused(tx, &origin, log.note.as_deref(), &req.checkpoint, &e.to_string(), now)?;
                Ok(Err(e))
            }
            Err(e) => Ok(Err(e)),
        }
    })
}

fn refusal(e: &Refusal) -> Response {
    let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::BAD_REQUEST);
    let (kind, body) = match e {
        Refusal::Conflict(size) => (SIZE_CONTENT_TYPE, format!("{size}\n")),
        other => ("text/plain; charset=utf-8", format!("{other}\n")),
    };
    (status, [(header::CONTENT_TYPE, kind)], body).into_response()
}
