//! The kiosk API under `/api/v1`: JSON in, JSON out, every request but
//! enrollment authenticated as one device.

use axum::extract::rejection::JsonRejection;
use axum::extract::{ConnectInfo, DefaultBodyLimit, FromRequestParts, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use shoumen_protocol::evidence::LogAnswer;
use shoumen_protocol::sync::{
    ApiError, Current, EnrollRequest, EnrollResponse, Heartbeat, HeartbeatResponse, ListsAnswer, PushRequest,
};
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::RwLock;
use std::time::{Duration, Instant};

use crate::db::Conn;
use crate::leaves::secrets::sha256_hex;
use crate::records::community;
use crate::records::ingest::{self, Refusal};
use crate::AppState;

/// The biggest page of entries: 500 entries of at most ~1 KiB each.
pub const PUSH_LIMIT: usize = 1 << 20;
const SMALL_LIMIT: usize = 16 << 10;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/enroll", post(enroll).layer(DefaultBodyLimit::max(SMALL_LIMIT)))
        .route("/entries", post(push).layer(DefaultBodyLimit::max(PUSH_LIMIT)))
        .route("/lists", get(lists))
        .route("/heartbeat", post(heartbeat))
        .route("/presence", get(presence))
}

/// An enrolled kiosk, authenticated from its `Authorization` header before
/// the body is read: a stranger's upload is never buffered.
pub struct Kiosk(pub ingest::Device);

impl FromRequestParts<AppState> for Kiosk {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, app: &AppState) -> Result<Kiosk, Response> {
        let header = auth_header(&parts.headers);
        let (id, secret) = ingest::credentials(header.as_deref()).map_err(IntoResponse::into_response)?;
        let secret_sha = sha256_hex(secret);
        if let Some(device) = app.kiosks.get(id, &secret_sha) {
            return Ok(Kiosk(device));
        }
        let (id, secret) = (id.to_string(), secret.to_string());
        let result = app.db.call(move |conn| Ok(ingest::authenticate(conn, &id, &secret))).await;
        match result {
            Ok(Ok(device)) => {
                app.kiosks.put(&device, secret_sha);
                Ok(Kiosk(device))
            }
            Ok(Err(refusal)) => Err(refusal.into_response()),
            Err(e) => Err(Refusal::Db(e).into_response()),
        }
    }
}

/// Kiosks authenticated in the last minute, so that a gate's push costs
/// one trip to the database rather than two. Revoking or re-enrolling a
/// kiosk forgets it here, and a push re-checks the kiosk under its lock
/// anyway; only kiosks that authenticated are kept, so the map stays the
/// size of the fleet.
#[derive(Default)]
pub struct KioskCache {
    map: RwLock<HashMap<String, Remembered>>,
}

struct Remembered {
    device: ingest::Device,
    secret_sha: String,
    at: Instant,
}

const REMEMBER: Duration = Duration::from_secs(60);

impl KioskCache {
    fn get(&self, id: &str, secret_sha: &str) -> Option<ingest::Device> {
        let map = self.map.read().unwrap_or_else(|e| e.into_inner());
        let r = map.get(id)?;
        (r.at.elapsed() < REMEMBER && crate::leaves::secrets::same_digest(secret_sha, &r.secret_sha))
            .then(|| r.device.clone())
    }

    fn put(&self, device: &ingest::Device, secret_sha: String) {
        let remembered = Remembered { device: device.clone(), secret_sha, at: Instant::now() };
        self.map.write().unwrap_or_else(|e| e.into_inner()).insert(device.id.clone(), remembered);
    }

    /// Forgets kiosk `id` (revoked, or enrolled again).
    pub fn forget(&self, id: &str) {
        self.map.write().unwrap_or_else(|e| e.into_inner()).remove(id);
    }
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

/// Counted per client address (through trusted proxies) before the body is
/// read.
pub struct EnrollLimit;

impl FromRequestParts<AppState> for EnrollLimit {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, app: &AppState) -> Result<EnrollLimit, Response> {
        let peer = parts.extensions.get::<ConnectInfo<SocketAddr>>().map_or(IpAddr::from([0, 0, 0, 0]), |c| c.0.ip());
        if !app.limiter.allow("enroll", app.client_ip(peer, &parts.headers)) {
            return Err(error(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                "too many enrollment attempts; wait a minute".into(),
                None,
            ));
        }
        Ok(EnrollLimit)
    }
}

async fn enroll(
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

async fn push(
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

async fn heartbeat(
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
        Ok(HeartbeatResponse { server_ms, lists_version })
    })
    .await
}

#[derive(Deserialize)]
struct Since {
    since: Option<u64>,
    /// The evidence log size the kiosk holds: the answer carries the newest
    /// checkpoint and the proof that it extends that size.
    log: Option<u64>,
}

/// The newest bundle if the kiosk's is older, and always the signed word of
/// which version is the newest now.
async fn lists(State(app): State<AppState>, Kiosk(device): Kiosk, Query(q): Query<Since>) -> Response {
    let community = match app.community(&device.community).await {
        Ok(c) => c,
        Err(e) => return Refusal::Db(e).into_response(),
    };
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
            Some(held) => Some(log_answer(conn, &community.id, held)?),
            None => None,
        };
        Ok(ListsAnswer { bundle: (q.since != Some(version)).then_some(signed), current, log })
    })
    .await
}

/// The newest checkpoint and its proof from the size a kiosk holds (none
/// if the kiosk holds more than the log: it will say so as a split view).
fn log_answer(conn: &mut dyn Conn, community: &str, held: u64) -> Result<LogAnswer, Refusal> {
    let fail = |e: crate::records::evidence::EvidenceError| match e {
        crate::records::evidence::EvidenceError::Db(e) => Refusal::Db(e),
        other => Refusal::BadRequest(other.to_string()),
    };
    let size = crate::records::evidence::size(conn, community)?;
    let checkpoint = crate::records::evidence::checkpoint_at(conn, community, size).map_err(fail)?;
    let proof = if held <= size {
        crate::records::evidence::consistency(conn, community, held, size).map_err(fail)?
    } else {
        Vec::new()
    };
    Ok(LogAnswer { checkpoint, key: crate::records::evidence::verifier_key(conn, community)?, proof })
}

/// The community's presence (every gate's newest allowed direction per pass)
/// that changed after `since`.
async fn presence(State(app): State<AppState>, Kiosk(device): Kiosk, Query(q): Query<Since>) -> Response {
    for_device(&app, device, false, move |conn, device| {
        Ok(ingest::presence_since(conn, &device.community, q.since.unwrap_or(0))?)
    })
    .await
}
