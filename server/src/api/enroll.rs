//! `POST /api/v1/enroll`: a kiosk with a one-time token becomes a gate.
//! `POST /api/v1/enroll/ask` and `/enroll/poll`: a kiosk becomes one from
//! the code on its screen (`protocol::enroll`).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use shoumen_protocol::enroll::{EnrollAsk, EnrollAskAnswer, EnrollPoll, ASK_VALID_MS};
use shoumen_protocol::sync::{EnrollRequest, EnrollResponse};

use super::auth::{EnrollLimit, EnrollPollLimit};
use crate::db::{now_ms, Conn, DbError};
use crate::records::ingest::{self, Enrolled, Refusal};
use crate::records::screen_enroll::{self, Polled};
use crate::AppState;

/// What a kiosk just enrolled is told: its secret, its community's keys.
fn answer(conn: &mut dyn Conn, device: &str, enrolled: Enrolled, public_url: &str) -> Result<EnrollResponse, DbError> {
    let community = crate::db::community(conn, &enrolled.community)?;
    tracing::info!(device, gate = enrolled.gate, community = community.id, "kiosk enrolled");
    Ok(EnrollResponse {
        device: device.to_string(),
        secret: enrolled.secret,
        community: community.id.clone(),
        trust: community.trust(),
        visitor_url: format!("{public_url}/v/{device}"),
        gate: enrolled.gate,
    })
}

pub(super) async fn ask(
    State(app): State<AppState>,
    EnrollLimit(ip): EnrollLimit,
    body: Result<Json<EnrollAsk>, axum::extract::rejection::JsonRejection>,
) -> Response {
    let Json(req) = match body {
        Ok(b) => b,
        Err(e) => return Refusal::BadRequest(e.body_text()).into_response(),
    };
    let address = ip.to_string();
    let result = app.db.call(move |conn| Ok(screen_enroll::ask(conn, &req, &address, now_ms()))).await;
    match result {
        Ok(Ok(code)) => Json(EnrollAskAnswer { code, expires_in_s: (ASK_VALID_MS / 1000) as u64 }).into_response(),
        Ok(Err(refusal)) => refusal.into_response(),
        Err(e) => Refusal::Db(e).into_response(),
    }
}

pub(super) async fn poll(
    State(app): State<AppState>,
    _limit: EnrollPollLimit,
    body: Result<Json<EnrollPoll>, axum::extract::rejection::JsonRejection>,
) -> Response {
    let Json(req) = match body {
        Ok(b) => b,
        Err(e) => return Refusal::BadRequest(e.body_text()).into_response(),
    };
    let public_url = app.config.public_url.clone();
    let result = app
        .db
        .call(move |conn| match screen_enroll::poll(conn, &req, now_ms()) {
            Ok(Polled::Waiting) => Ok(Ok(None)),
            Ok(Polled::Enrolled(enrolled)) => Ok(Ok(Some(answer(conn, &req.device, enrolled, &public_url)?))),
            Err(Refusal::Db(e)) => Err(e),
            Err(refusal) => Ok(Err(refusal)),
        })
        .await;
    match result {
        // Not claimed yet: the kiosk asks again in a few seconds.
        Ok(Ok(None)) => StatusCode::ACCEPTED.into_response(),
        Ok(Ok(Some(resp))) => {
            app.kiosks.forget(&resp.device);
            Json(resp).into_response()
        }
        Ok(Err(refusal)) => refusal.into_response(),
        Err(e) => Refusal::Db(e).into_response(),
    }
}

pub(super) async fn enroll(
    State(app): State<AppState>,
    _limit: EnrollLimit,
    body: Result<Json<EnrollRequest>, axum::extract::rejection::JsonRejection>,
) -> Response {
    let Json(req) = match body {
        Ok(b) => b,
        Err(e) => return Refusal::BadRequest(e.body_text()).into_response(),
    };
    let public_url = app.config.public_url.clone();
    let result = app
        .db
        .call(move |conn| {
            let enrolled = match ingest::enroll(conn, &req) {
                Ok(s) => s,
                Err(Refusal::Db(e)) => return Err(e),
                Err(refusal) => return Ok(Err(refusal)),
            };
            Ok(Ok(answer(conn, &req.device, enrolled, &public_url)?))
        })
        .await;
    match result {
        Ok(Ok(resp)) => {
            app.kiosks.forget(&resp.device);
            Json(resp).into_response()
        }
        Ok(Err(refusal)) => refusal.into_response(),
        Err(e) => Refusal::Db(e).into_response(),
    }
}
