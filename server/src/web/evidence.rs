//! The evidence log's public face: the latest signed checkpoint, the log's
//! public key, its hash tiles (C2SP tlog-tiles: cacheable for ever, for
//! monitors and mirrors), and inclusion and consistency proofs for phones
//! (rate-limited per client), for anyone to check (no login: the log
//! holds nothing personal).

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
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
        .get("/log/{community}/tile/{*path}", Access::Public, tile)
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

/// The public paths of a log (checkpoint, key, tiles) are cheap but each
/// a read of the database: bounded per address, generously, `purpose` by
/// `purpose` (a mirror's tiles do not use up its checkpoints).
fn over_budget(app: &AppState, peer: SocketAddr, headers: &HeaderMap, purpose: &'static str) -> Option<Response> {
    (!app.tile_limiter.allow(purpose, app.client_ip(peer.ip(), headers))).then(|| {
        let why = "too many requests for this log from this address; wait a minute, or copy it through a cache";
        (StatusCode::TOO_MANY_REQUESTS, [(header::RETRY_AFTER, "60")], why).into_response()
    })
}

pub async fn checkpoint(
    State(app): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path(community): Path<String>,
) -> Response {
    if let Some(refused) = over_budget(&app, peer, &headers, "log") {
        return refused;
    }
    let every = app.config.checkpoint_every.as_millis() as i64;
    match app.db.call(move |conn| Ok(crate::records::witnesses::current(conn, &community, every))).await {
        Ok(Ok(Some((_, note)))) => text(note),
        // A policy, and no checkpoint its witnesses cosigned yet.
        Ok(Ok(None)) => {
            (StatusCode::NOT_FOUND, "no checkpoint of this log is cosigned by its witnesses yet").into_response()
        }
        Ok(Err(e)) => refusal(e),
        Err(e) => refusal(e.into()),
    }
}

pub async fn key(
    State(app): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path(community): Path<String>,
) -> Response {
    if let Some(refused) = over_budget(&app, peer, &headers, "log") {
        return refused;
    }
    match app.db.call(move |conn| evidence::verifier_key(conn, &community)).await {
        Ok(vkey) => text(vkey + "\n"),
        Err(e) => refusal(e.into()),
    }
}

/// A hash tile or an entry bundle: its bytes never change, so anyone may
/// cache it for ever. Bounded per address, generously (a whole log).
pub async fn tile(
    State(app): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path((community, path)): Path<(String, String)>,
) -> Response {
    if let Some(refused) = over_budget(&app, peer, &headers, "tile") {
        return refused;
    }
    match app.db.call(move |conn| Ok(evidence::tile(conn, &community, &path))).await {
        Ok(Ok(bytes)) => (
            [
                (header::CONTENT_TYPE, "application/octet-stream"),
                (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
            ],
            bytes,
        )
            .into_response(),
        // Past the end of the log, or a path that names nothing: C2SP
        // tlog-tiles' clients take a 404 for "not there (yet)".
        Ok(Err(EvidenceError::OutOfRange(why))) => (StatusCode::NOT_FOUND, why).into_response(),
        Ok(Err(e)) => refusal(e),
        Err(e) => refusal(e.into()),
    }
}

/// A phone asks a proof or two; a monitor copies the tiles instead.
fn limited(app: &AppState, peer: SocketAddr, headers: &HeaderMap) -> Option<Response> {
    (!app.limiter.allow("proof", app.client_ip(peer.ip(), headers))).then(|| {
        (
            StatusCode::TOO_MANY_REQUESTS,
            "too many proofs asked from this address; wait a minute, or copy the log's tiles",
        )
            .into_response()
    })
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
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path(community): Path<String>,
    Query(q): Query<InclusionQuery>,
) -> Response {
    if let Some(refused) = limited(&app, peer, &headers) {
        return refused;
    }
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
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path(community): Path<String>,
    Query(q): Query<ConsistencyQuery>,
) -> Response {
    if let Some(refused) = limited(&app, peer, &headers) {
        return refused;
    }
    match app.db.call(move |conn| Ok(evidence::consistency(conn, &community, q.old, q.new))).await {
        Ok(Ok(p)) => Json(Proof { proof: evidence::b64(&p) }).into_response(),
        Ok(Err(e)) => refusal(e),
        Err(e) => refusal(e.into()),
    }
}
