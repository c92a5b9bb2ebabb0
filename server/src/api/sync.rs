//! What an enrolled kiosk does: push entries, beat, pull lists (and the
//! evidence log's head) and the community's presence.

use axum::extract::rejection::JsonRejection;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use shoumen_protocol::evidence::LogAnswer;
use shoumen_protocol::sync::{Current, Heartbeat, HeartbeatResponse, KioskCosignature, ListsAnswer, PushRequest};
use shoumen_protocol::time::ServerTime;

use super::auth::Kiosk;
use super::{for_device, json_body};
use crate::db::Conn;
use crate::records::community;
use crate::records::ingest::{self, Refusal};
use crate::AppState;

pub(super) async fn push(
    State(app): State<AppState>,
    Kiosk(device): Kiosk,
    body: Result<Json<PushRequest>, JsonRejection>,
) -> Response {
    let req = match json_body(body) {
        Ok(r) => r,
        Err(refusal) => return refusal.into_response(),
    };
    let bell = app.bell.clone();
    let bulk = req.entries.len() > BULK_PAGE;
    for_device(&app, device, bulk, move |conn, device| {
        let pushed = ingest::push(conn, device, &req)?;
        if pushed.alerts > 0 {
            bell.notify_one();
        }
        Ok(pushed.response)
    })
    .await
}

/// A page longer than this is a backlog, stored in the bulk lane: a gate
/// in use pushes one entry, or a few after a short outage.
const BULK_PAGE: usize = 20;

pub(super) async fn heartbeat(
    State(app): State<AppState>,
    Kiosk(device): Kiosk,
    body: Result<Json<Heartbeat>, JsonRejection>,
) -> Response {
    let hb = match json_body(body) {
        Ok(h) => h,
        Err(refusal) => return refusal.into_response(),
    };
    let community = match app.community(&device.community).await {
        Ok(c) => c,
        Err(e) => return Refusal::Db(e).into_response(),
    };
    let bell = app.bell.clone();
    for_device(&app, device, false, move |conn, device| {
        let (server_ms, alerts) = ingest::heartbeat(conn, device, &hb)?;
        if alerts > 0 {
            bell.notify_one();
        }
        let (lists_version, _) = community::bundle(conn, &community, server_ms.div_euclid(1000))?;
        let time = match &hb.time_nonce {
            Some(nonce) => Some(
                ServerTime::sign(community.list_key(), &community.id, &device.id, nonce, server_ms)
                    .map_err(|e| Refusal::BadRequest(format!("time_nonce: {e}")))?,
            ),
            None => None,
        };
        let update = match &hb.update {
            Some(report) => crate::records::updates::note_report(conn, device, report, server_ms)?,
            None => None,
        };
        Ok(HeartbeatResponse { server_ms, lists_version, time, update })
    })
    .await
}

#[derive(Deserialize)]
pub(super) struct PartOf {
    version: String,
    arch: String,
    part: u64,
}

/// `GET /release?version=&arch=&part=`: one part of a release's package
/// ([`shoumen_protocol::release::PART_BYTES`]), for enrolled kiosks only.
/// The kiosk checks the whole against the signed note it was offered.
pub(super) async fn release_part(
    State(app): State<AppState>,
    Kiosk(device): Kiosk,
    Query(q): Query<PartOf>,
) -> Response {
    if q.version.len() > 64 || q.arch.len() > 16 {
        return Refusal::BadRequest("version ≤ 64 bytes, arch ≤ 16".into()).into_response();
    }
    let found = app.db.call_bulk(move |conn| crate::records::updates::part(conn, &q.version, &q.arch, q.part)).await;
    match found {
        Ok(Some(bytes)) => {
            tracing::debug!(device = %device.id, bytes = bytes.len(), "a release part");
            ([(axum::http::header::CONTENT_TYPE, "application/octet-stream")], bytes).into_response()
        }
        Ok(None) => super::error(axum::http::StatusCode::NOT_FOUND, "not_found", "no such release part".into(), None),
        Err(e) => Refusal::Db(e).into_response(),
    }
}

/// A kiosk's cosignature of the evidence log's checkpoint (issue 29).
pub(super) async fn cosign(
    State(app): State<AppState>,
    Kiosk(device): Kiosk,
    body: Result<Json<KioskCosignature>, JsonRejection>,
) -> Response {
    let c = match json_body(body) {
        Ok(c) => c,
        Err(refusal) => return refusal.into_response(),
    };
    for_device(&app, device, false, move |conn, device| {
        use crate::records::witnesses::{kiosk_cosigned, CosignError};
        let now = crate::db::now_ms();
        match kiosk_cosigned(conn, &device.community, &device.id, &c.witness_key, c.size, &c.line, now) {
            Ok(()) => Ok(()),
            Err(CosignError::Db(e) | CosignError::Evidence(crate::records::evidence::EvidenceError::Db(e))) => {
                Err(Refusal::Db(e))
            }
            Err(e) => Err(Refusal::BadRequest(e.to_string())),
        }
    })
    .await
}

#[derive(Deserialize)]
pub(super) struct Since {
    since: Option<u64>,
    /// The evidence log size the kiosk holds: the answer carries the newest
    /// checkpoint and the proof that it extends that size.
    log: Option<u64>,
}

/// The newest bundle if the kiosk's is older, and always the signed word of
/// which version is the newest now.
pub(super) async fn lists(State(app): State<AppState>, Kiosk(device): Kiosk, Query(q): Query<Since>) -> Response {
    let community = match app.community(&device.community).await {
        Ok(c) => c,
        Err(e) => return Refusal::Db(e).into_response(),
    };
    let every = app.config.checkpoint_every.as_millis() as i64;
    for_device(&app, device, false, move |conn, device| {
        let now_s = crate::db::now_ms().div_euclid(1000);
        let (version, signed) = community::bundle(conn, &community, now_s)?;
        if let Some(held) = q.since {
            // Which lists (and so which keys) each kiosk holds: a key
            // rotation finishes only once every kiosk has the new key.
            crate::records::devices::note_lists_version(conn, &device.id, held)?;
        }
        let current = Current::sign(community.list_key(), &community.id, version, now_s);
        let log = match q.log {
            Some(held) => Some(log_answer(conn, &community.id, held, every)?),
            None => None,
        };
        Ok(ListsAnswer { bundle: (q.since != Some(version)).then_some(signed), current, log })
    })
    .await
}

/// The newest checkpoint and its proof from the size a kiosk holds (none
/// if the kiosk holds more than the log: it will say so as a split view).
fn log_answer(conn: &mut dyn Conn, community: &str, held: u64, every_ms: i64) -> Result<LogAnswer, Refusal> {
    let fail = |e: crate::records::evidence::EvidenceError| match e {
        crate::records::evidence::EvidenceError::Db(e) => Refusal::Db(e),
        other => Refusal::BadRequest(other.to_string()),
    };
    // The kiosk is a witness: it is shown the checkpoint being shown to
    // the witnesses, to check against the one it holds and cosign.
    let (size, checkpoint) = crate::records::witnesses::for_witnesses(conn, community, every_ms).map_err(fail)?;
    let proof = if held <= size {
        crate::records::evidence::consistency(conn, community, held, size).map_err(fail)?
    } else {
        Vec::new()
    };
    Ok(LogAnswer { checkpoint, key: crate::records::evidence::verifier_key(conn, community)?, proof })
}

/// The community's presence (every gate's newest allowed direction per pass)
/// that changed after `since`.
pub(super) async fn presence(State(app): State<AppState>, Kiosk(device): Kiosk, Query(q): Query<Since>) -> Response {
    for_device(&app, device, false, move |conn, device| {
        Ok(ingest::presence_since(conn, &device.community, q.since.unwrap_or(0))?)
    })
    .await
}
