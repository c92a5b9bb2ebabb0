//! `POST /api/v1/enroll`: a kiosk with a one-time token becomes a gate.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::Json;
use shoumen_protocol::sync::{EnrollRequest, EnrollResponse};

use super::auth::EnrollLimit;
use crate::records::ingest::{self, Refusal};
use crate::AppState;

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
            let community = crate::db::community(conn, &enrolled.community)?;
            tracing::info!(device = req.device, gate = enrolled.gate, community = community.id, "kiosk enrolled");
            Ok(Ok(EnrollResponse {
                device: req.device.clone(),
                secret: enrolled.secret,
                community: community.id.clone(),
                trust: community.trust(),
                visitor_url: format!("{public_url}/v/{}", req.device),
            }))
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
