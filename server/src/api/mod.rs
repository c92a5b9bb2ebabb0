//! The kiosk API under `/api/v1`: JSON in, JSON out, every request but
//! enrollment authenticated as one device.

//!
//! `auth` knows who is asking (the kiosk's token, the enrollment limit),
//! `enroll` makes a kiosk, `sync` is what an enrolled kiosk does.

mod auth;
mod enroll;
mod sync;

use axum::extract::rejection::JsonRejection;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use shoumen_protocol::sync::ApiError;

pub use auth::{Kiosk, KioskCache};

use crate::db::Conn;
use crate::records::ingest::{self, Refusal};
use crate::AppState;

/// The biggest page of entries: 500 entries of at most ~1 KiB each.
pub const PUSH_LIMIT: usize = 1 << 20;
const SMALL_LIMIT: usize = 16 << 10;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/enroll", post(enroll::enroll).layer(DefaultBodyLimit::max(SMALL_LIMIT)))
        .route("/enroll/ask", post(enroll::ask).layer(DefaultBodyLimit::max(SMALL_LIMIT)))
        .route("/enroll/poll", post(enroll::poll).layer(DefaultBodyLimit::max(SMALL_LIMIT)))
        .route("/entries", post(sync::push).layer(DefaultBodyLimit::max(PUSH_LIMIT)))
        .route("/lists", get(sync::lists))
        .route("/heartbeat", post(sync::heartbeat))
        .route("/cosign", post(sync::cosign).layer(DefaultBodyLimit::max(SMALL_LIMIT)))
        .route("/presence", get(sync::presence))
        .route("/release", get(sync::release_part))
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

/// Runs `f` for an authenticated device (in the bulk lane if `bulk`),
/// mapping refusals to responses.
async fn for_device<T, F>(app: &AppState, device: ingest::Device, bulk: bool, f: F) -> Response
where
    T: serde::Serialize + Send + 'static,
    F: FnOnce(&mut dyn Conn, &ingest::Device) -> Result<T, Refusal> + Send + 'static,
{
    let work = move |conn: &mut dyn Conn| match f(conn, &device) {
        Err(Refusal::Db(e)) => Err(e),
        other => Ok(other),
    };
    let result = if bulk { app.db.call_bulk(work).await } else { app.db.call(work).await };
    match result {
        Ok(Ok(body)) => Json(body).into_response(),
        Ok(Err(refusal)) => refusal.into_response(),
        Err(e) => Refusal::Db(e).into_response(),
    }
}

/// A JSON body, or a short sentence saying what is wrong with it.
fn json_body<T>(body: Result<Json<T>, JsonRejection>) -> Result<T, Refusal> {
    body.map(|Json(b)| b).map_err(|e| Refusal::BadRequest(e.body_text().chars().take(300).collect()))
}
