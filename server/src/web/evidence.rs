//! The evidence log's public face: the latest signed checkpoint, the log's
//! public key, and inclusion and consistency proofs, for anyone to check
//! (no login: the log holds nothing personal).

use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Json, Response};

use super::WebError;
use crate::records::evidence::{self, EvidenceError};
use crate::AppState;

/// The routes of this page, who may use each, and its menu entries.
pub fn table() -> super::site::Table {
    use super::site::Access;
    super::site::Table::new()
        .get("/log/{community}/checkpoint", Access::Public, checkpoint)
        .get("/log/{community}/key", Access::Public, key)
        .get("/log/{community}/inclusion", Access::Public, inclusion)
        .get("/log/{community}/consistency", Access::Public, consistency)
}

fn refusal(e: EvidenceError) -> Response {
    match e {
        EvidenceError::OutOfRange(why) => (StatusCode::BAD_REQUEST, why).into_response(),
        EvidenceError::Db(crate::db::DbError::UnknownCommunity(_)) => {
            (StatusCode::NOT_FOUND, "no such log").into_response()
        }
        other => WebError::internal(other).into_response(),
    }
}

fn text(body: String) -> Response {
    ([(header::CONTENT_TYPE, "text/plain; charset=utf-8"), (header::CACHE_CONTROL, "no-store")], body).into_response()
}

pub async fn checkpoint(State(app): State<AppState>, Path(community): Path<String>) -> Response {
    match app.db.call(move |conn| Ok(evidence::checkpoint(conn, &community))).await {
        Ok(Ok(note)) => text(note),
        Ok(Err(e)) => refusal(e),
        Err(e) => refusal(e.into()),
    }
}

pub async fn key(State(app): State<AppState>, Path(community): Path<String>) -> Response {
    match app.db.call(move |conn| evidence::verifier_key(conn, &community)).await {
        Ok(vkey) => text(vkey + "\n"),
        Err(e) => refusal(e.into()),
    }
}

#[derive(serde::Deserialize)]
pub struct InclusionQuery {
    index: u64,
    size: u64,
}

#[derive(serde::Serialize)]
struct Proof {
    /// Hashes in standard base64, in RFC 9162 order.
    proof: Vec<String>,
}

pub async fn inclusion(
    State(app): State<AppState>,
    Path(community): Path<String>,
    Query(q): Query<InclusionQuery>,
) -> Response {
    match app.db.call(move |conn| Ok(evidence::inclusion(conn, &community, q.index, q.size))).await {
        Ok(Ok(p)) => Json(Proof { proof: evidence::b64(&p) }).into_response(),
        Ok(Err(e)) => refusal(e),
        Err(e) => refusal(e.into()),
    }
}

#[derive(serde::Deserialize)]
pub struct ConsistencyQuery {
    old: u64,
    new: u64,
}

pub async fn consistency(
    State(app): State<AppState>,
    Path(community): Path<String>,
    Query(q): Query<ConsistencyQuery>,
) -> Response {
    match app.db.call(move |conn| Ok(evidence::consistency(conn, &community, q.old, q.new))).await {
        Ok(Ok(p)) => Json(Proof { proof: evidence::b64(&p) }).into_response(),
        Ok(Err(e)) => refusal(e),
        Err(e) => refusal(e.into()),
    }
}
