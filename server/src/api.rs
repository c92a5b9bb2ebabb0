//! The kiosk API under `/api/v1`: JSON in, JSON out, every request but
//! enrollment authenticated as one device.

use axum::extract::{ConnectInfo, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use shoumen_protocol::sync::{ApiError, EnrollRequest, EnrollResponse, Heartbeat, HeartbeatResponse, PushRequest};
use shoumen_protocol::TrustList;
use std::net::SocketAddr;

use crate::community;
use crate::ingest::{self, Refusal};
use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/enroll", post(enroll))
        .route("/entries", post(push))
        .route("/lists", get(lists))
        .route("/heartbeat", post(heartbeat))
}

fn error(status: StatusCode, code: &str, message: String, watermark: Option<u64>) -> Response {
    (status, Json(ApiError { code: code.into(), message, watermark })).into_response()
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let message = self.to_string();
        match self {
            Refusal::Unauthorized(_) => error(StatusCode::UNAUTHORIZED, "unauthorized", message, None),
            Refusal::BadRequest(_) => error(StatusCode::BAD_REQUEST, "bad_request", message, None),
            Refusal::Conflict(_) => error(StatusCode::CONFLICT, "conflict", message, None),
            Refusal::Gap { watermark, .. } => error(StatusCode::CONFLICT, "gap", message, Some(watermark)),
            Refusal::Tamper(_) => error(StatusCode::UNPROCESSABLE_ENTITY, "tamper", message, None),
            Refusal::Db(e) => {
                tracing::error!(error = %e, "database error in the kiosk API");
                error(StatusCode::SERVICE_UNAVAILABLE, "unavailable", e.to_string(), None)
            }
        }
    }
}

fn auth_header(headers: &HeaderMap) -> Option<String> {
    headers.get(axum::http::header::AUTHORIZATION).and_then(|v| v.to_str().ok()).map(String::from)
}

async fn enroll(
    State(app): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    body: Result<Json<EnrollRequest>, axum::extract::rejection::JsonRejection>,
) -> Response {
    if !app.limiter.allow("enroll", peer.ip()) {
        return error(StatusCode::TOO_MANY_REQUESTS, "rate_limited", "too many enrollment attempts; wait a minute".into(), None);
    }
    let Json(req) = match body {
        Ok(b) => b,
        Err(e) => return Refusal::BadRequest(e.body_text()).into_response(),
    };
    let community = app.community.clone();
    let public_url = app.config.public_url.clone();
    let result = app
        .db
        .call(move |conn| {
            let secret = match ingest::enroll(conn, &req) {
                Ok(s) => s,
                Err(Refusal::Db(e)) => return Err(e),
                Err(refusal) => return Ok(Err(refusal)),
            };
            let gate: String = conn.query_row("SELECT gate_name FROM devices WHERE id = ?1", [&req.device], |r| r.get(0))?;
            tracing::info!(device = req.device, gate, "kiosk enrolled");
            Ok(Ok(EnrollResponse {
                device: req.device.clone(),
                secret,
                community: community.id.clone(),
                trust: TrustList::new(vec![shoumen_protocol::TrustedKey {
                    issuer: community.id.clone(),
                    key: community.key.verifying_key(),
                }]),
                visitor_url: format!("{public_url}/v/{}", req.device),
            }))
        })
        .await;
    match result {
        Ok(Ok(resp)) => Json(resp).into_response(),
        Ok(Err(refusal)) => refusal.into_response(),
        Err(e) => Refusal::Db(e).into_response(),
    }
}

/// Runs `f` for an authenticated device, mapping refusals to responses.
async fn as_device<T, F>(app: &AppState, headers: &HeaderMap, f: F) -> Response
where
    T: serde::Serialize + Send + 'static,
    F: FnOnce(&mut rusqlite::Connection, &ingest::Device) -> Result<T, Refusal> + Send + 'static,
{
    let header = auth_header(headers);
    let result = app
        .db
        .call(move |conn| {
            let outcome = ingest::authenticate(conn, header.as_deref()).and_then(|device| f(conn, &device));
            match outcome {
                Err(Refusal::Db(e)) => Err(e),
                other => Ok(other),
            }
        })
        .await;
    match result {
        Ok(Ok(body)) => Json(body).into_response(),
        Ok(Err(refusal)) => refusal.into_response(),
        Err(e) => Refusal::Db(e).into_response(),
    }
}

async fn push(
    State(app): State<AppState>,
    headers: HeaderMap,
    body: Result<Json<PushRequest>, axum::extract::rejection::JsonRejection>,
) -> Response {
    // Authenticate before looking at the body, so a stranger learns nothing.
    let body = match body {
        Ok(Json(b)) => Ok(b),
        Err(e) => Err(e.body_text()),
    };
    as_device(&app, &headers, move |conn, device| {
        let req = body.map_err(Refusal::BadRequest)?;
        ingest::push(conn, device, &req)
    })
    .await
}

async fn heartbeat(
    State(app): State<AppState>,
    headers: HeaderMap,
    body: Result<Json<Heartbeat>, axum::extract::rejection::JsonRejection>,
) -> Response {
    let body = match body {
        Ok(Json(b)) => Ok(b),
        Err(e) => Err(e.body_text()),
    };
    let community = app.community.clone();
    as_device(&app, &headers, move |conn, device| {
        let hb = body.map_err(Refusal::BadRequest)?;
        let server_ms = ingest::heartbeat(conn, device, &hb)?;
        let (lists_version, _) = community::bundle(conn, &community, server_ms.div_euclid(1000))?;
        Ok(HeartbeatResponse { server_ms, lists_version })
    })
    .await
}

#[derive(Deserialize)]
struct Since {
    since: Option<u64>,
}

async fn lists(State(app): State<AppState>, headers: HeaderMap, Query(q): Query<Since>) -> Response {
    let community = app.community.clone();
    let header = auth_header(&headers);
    let result = app
        .db
        .call(move |conn| {
            if let Err(refusal) = ingest::authenticate(conn, header.as_deref()) {
                return Ok(Err(refusal));
            }
            let (version, signed) = community::bundle(conn, &community, crate::db::now_ms().div_euclid(1000))?;
            Ok(Ok((version, signed)))
        })
        .await;
    match result {
        Ok(Ok((version, _))) if q.since == Some(version) => StatusCode::NO_CONTENT.into_response(),
        Ok(Ok((_, signed))) => Json(signed).into_response(),
        Ok(Err(refusal)) => refusal.into_response(),
        Err(e) => Refusal::Db(e).into_response(),
    }
}
