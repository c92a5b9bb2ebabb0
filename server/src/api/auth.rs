//! Who is asking: an enrolled kiosk (its token, checked before the body
//! is read) or a stranger enrolling (counted per address).

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::RwLock;
use std::time::{Duration, Instant};

use super::{auth_header, error};
use crate::leaves::secrets::sha256_hex;
use crate::records::ingest::{self, Refusal};
use crate::AppState;

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

/// Counted per client address (through trusted proxies) before the body is
/// read: enrollment by token, and a kiosk asking for a code for its screen.
pub struct EnrollLimit(pub IpAddr);

/// A kiosk's polls whether its screen's code was claimed, counted apart
/// from enrollment: a compound's waiting kiosks poll every few seconds.
pub struct EnrollPollLimit;

/// The client's address, if it is within its minute's `purpose` requests.
fn limited(parts: &Parts, app: &AppState, purpose: &'static str) -> Option<IpAddr> {
    let peer = parts.extensions.get::<ConnectInfo<SocketAddr>>().map_or(IpAddr::from([0, 0, 0, 0]), |c| c.0.ip());
    let ip = app.client_ip(peer, &parts.headers);
    app.limiter.allow(purpose, ip).then_some(ip)
}

fn too_many() -> Response {
    error(StatusCode::TOO_MANY_REQUESTS, "rate_limited", "too many enrollment attempts; wait a minute".into(), None)
}

impl FromRequestParts<AppState> for EnrollLimit {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, app: &AppState) -> Result<EnrollLimit, Response> {
        limited(parts, app, "enroll").map(EnrollLimit).ok_or_else(too_many)
    }
}

impl FromRequestParts<AppState> for EnrollPollLimit {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, app: &AppState) -> Result<EnrollPollLimit, Response> {
        limited(parts, app, "enroll_poll").map(|_| EnrollPollLimit).ok_or_else(too_many)
    }
}
