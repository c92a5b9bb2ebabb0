//! The sync client: pushes unacknowledged entries to the committee's server
//! in pages, pulls the signed list bundle, sends heartbeats.
//!
//! It runs on its own thread with its own SQLite connection; the gate never
//! waits for the network. An entry counts as delivered only when the
//! server's watermark covers it (invariant 3), so a connection cut at any
//! point means a resend, which the server treats as a no-op.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use reqwest::blocking::{Client as Http, Response};
use reqwest::StatusCode;
use shoumen_protocol::enroll::{EnrollAsk, EnrollAskAnswer, EnrollPoll, ASK_PATH, POLL_PATH};
use shoumen_protocol::evidence::{self, HeldHead, LogAnswer};
use shoumen_protocol::sync::{
    ApiError, Checkpoint, ClockReport, EnrollRequest, EnrollResponse, HealthItem, Heartbeat, HeartbeatResponse,
    ListsAnswer, PresenceFeed, PushRequest, PushResponse, PushedEntry, Vitals, API, HEARTBEAT_EVERY_S, MAX_PAGE,
};
use shoumen_protocol::time::{ServerTime, NONCE_LEN};
use shoumen_protocol::{PassId, TrustList};
use thiserror::Error;

use crate::clock::SystemClock;
use crate::gate::{Event, Presence};
use crate::store::{EvidenceView, Store, StoreError, SyncCredentials};
use shoumen_protocol::sync::KioskCosignature;

#[derive(Debug, Error)]
pub enum SyncError {
    #[error("the server refused this kiosk ({0}); enroll it again with a new token from the committee")]
    Unauthorized(String),
    #[error("cannot reach the server: {0}; check the network and the server address")]
    Transport(String),
    #[error("the server answered {status}: {message}")]
    Server { status: u16, message: String },
    #[error("the server's answer is not what this kiosk understands ({0}); is the URL the Shoumen server?")]
    Garbage(String),
    #[error("the server refused the entries as tampering: {0}; the committee sees an alert")]
    Tamper(String),
    #[error("the list bundle from the server was refused: {0}")]
    Lists(String),
    #[error("this kiosk is not enrolled; run `shoumen enroll <server-url> <token>`")]
    NotEnrolled,
    #[error("server address refused: {0}")]
    BadUrl(String),
    #[error("the server's time was refused: {0}; the kiosk keeps deciding by the time it had")]
    Time(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl SyncError {
    /// Errors that a retry cannot fix; the thread stops retrying until a
    /// person acts (re-enrollment, or "Sync now").
    pub fn is_permanent(&self) -> bool {
        matches!(self, SyncError::Unauthorized(_) | SyncError::NotEnrolled | SyncError::Tamper(_))
    }
}

/// How the client talks to the server.
#[derive(Clone, Debug)]
pub struct ClientConfig {
    pub connect_timeout: Duration,
    /// Per request; a 500-entry page is ~250 KB.
    pub timeout: Duration,
    /// Reuse connections between requests. Tests turn it off so that every
    /// request meets the fault proxy afresh.
    pub keep_alive: bool,
    /// PEM certificates of a CA to trust besides the built-in roots: a
    /// district whose server has a certificate from its own CA.
    pub extra_roots_pem: Vec<u8>,
}

impl Default for ClientConfig {
    fn default() -> ClientConfig {
        ClientConfig {
            connect_timeout: Duration::from_secs(5),
            timeout: Duration::from_secs(20),
            keep_alive: true,
            extra_roots_pem: Vec::new(),
        }
    }
}

/// The certificates in a PEM bundle, or why there are none.
pub fn parse_roots(pem: &[u8]) -> Result<Vec<reqwest::Certificate>, String> {
    let certs = reqwest::Certificate::from_pem_bundle(pem).map_err(|e| e.to_string())?;
    if certs.is_empty() {
        return Err("no certificate in it (a PEM file starts with -----BEGIN CERTIFICATE-----)".into());
    }
    Ok(certs)
}

fn http(config: &ClientConfig) -> Result<Http, SyncError> {
    let builder = Http::builder();
    let mut builder = if config.keep_alive { builder } else { builder.pool_max_idle_per_host(0) };
    if !config.extra_roots_pem.is_empty() {
        for cert in parse_roots(&config.extra_roots_pem).map_err(SyncError::Transport)? {
            builder = builder.add_root_certificate(cert);
        }
    }
    builder
        .connect_timeout(config.connect_timeout)
        .timeout(config.timeout)
        .user_agent(concat!("shoumen/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| SyncError::Transport(e.to_string()))
}

fn transport(e: reqwest::Error) -> SyncError {
    // reqwest's Display leaves out the cause ("error sending request").
    let mut text = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    SyncError::Transport(text)
}

/// Turns a non-success answer into an error, keeping the server's words.
fn refusal(resp: Response) -> SyncError {
    let status = resp.status();
    let body = resp.text().unwrap_or_default();
    let api: Option<ApiError> = serde_json::from_str(&body).ok();
    let message = api.as_ref().map_or_else(|| body.chars().take(200).collect(), |a| a.message.clone());
    match status {
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => SyncError::Unauthorized(message),
        StatusCode::UNPROCESSABLE_ENTITY if api.as_ref().is_some_and(|a| a.code == "tamper") => {
            SyncError::Tamper(message)
        }
        _ => SyncError::Server { status: status.as_u16(), message },
    }
}

fn json<T: serde::de::DeserializeOwned>(resp: Response) -> Result<T, SyncError> {
    let bytes = resp.bytes().map_err(transport)?;
    serde_json::from_slice(&bytes).map_err(|e| SyncError::Garbage(e.to_string()))
}

/// Redeems an enrollment token and makes the server's community this
/// kiosk's trust root.
pub fn enroll(
    store: &mut Store,
    url: &str,
    token: &str,
    gate_name: &str,
    config: &ClientConfig,
) -> Result<EnrollResponse, SyncError> {
    let url = url.trim_end_matches('/').to_string();
    check_url(&url)?;
    let key = store.device_key()?;
    let req = EnrollRequest {
        token: token.trim().to_string(),
        device: store.device_id().to_string(),
        device_key: hex::encode(key.verifying_key().as_bytes()),
        gate_name: gate_name.to_string(),
    };
    let resp = http(config)?.post(format!("{url}{API}/enroll")).json(&req).send().map_err(transport)?;
    if !resp.status().is_success() {
        return Err(refusal(resp));
    }
    let answer: EnrollResponse = json(resp)?;
    keep_enrollment(store, url, answer)
}

/// Keeps what enrollment gave: the server, the kiosk's secret, the
/// community's keys as its trust root.
fn keep_enrollment(store: &mut Store, url: String, answer: EnrollResponse) -> Result<EnrollResponse, SyncError> {
    if answer.device != store.device_id() || answer.trust.keys.is_empty() {
        return Err(SyncError::Garbage("enrollment answer names another device or no community key".into()));
    }
    let creds = SyncCredentials {
        url,
        device: answer.device.clone(),
        secret: answer.secret.clone(),
        visitor_url: answer.visitor_url.clone(),
    };
    store.set_enrollment(&creds, &answer.trust)?;
    Ok(answer)
}

/// Enrollment from the kiosk's screen (`protocol::enroll`): asks the
/// server at `url` for a code bound to this kiosk's key, to show with the
/// key's fingerprint and the claim link.
pub fn ask_code(
    store: &mut Store,
    url: &str,
    gate_name: &str,
    config: &ClientConfig,
) -> Result<EnrollAskAnswer, SyncError> {
    let url = url.trim_end_matches('/');
    check_url(url)?;
    let key = store.device_key()?;
    let ask = EnrollAsk {
        device: store.device_id().to_string(),
        device_key: hex::encode(key.verifying_key().as_bytes()),
        gate_name: gate_name.to_string(),
    };
    let resp = http(config)?.post(format!("{url}{API}{ASK_PATH}")).json(&ask).send().map_err(transport)?;
    if !resp.status().is_success() {
        return Err(refusal(resp));
    }
    json(resp)
}

/// Asks whether an admin claimed `code`; enrolled if so (`Some`), and the
/// enrollment kept as [`enroll`] keeps it. `counter` must grow with every
/// poll of a code.
pub fn poll_code(
    store: &mut Store,
    url: &str,
    code: &str,
    counter: u64,
    config: &ClientConfig,
) -> Result<Option<EnrollResponse>, SyncError> {
    let url = url.trim_end_matches('/').to_string();
    let key = store.device_key()?;
    let poll = EnrollPoll::signed(code, store.device_id(), counter, &key);
    let resp = http(config)?.post(format!("{url}{API}{POLL_PATH}")).json(&poll).send().map_err(transport)?;
    match resp.status() {
        StatusCode::ACCEPTED => Ok(None),
        s if s.is_success() => keep_enrollment(store, url, json(resp)?).map(Some),
        _ => Err(refusal(resp)),
    }
}

/// The server's address must be HTTPS, except on this machine: the secret
/// and the trust root travel in the answer.
fn check_url(url: &str) -> Result<(), SyncError> {
    let parsed = reqwest::Url::parse(url).map_err(|e| SyncError::BadUrl(format!("{url}: {e}")))?;
    let host = parsed.host_str().unwrap_or("");
    let loopback = host == "localhost"
        || host.trim_matches(['[', ']']).parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback());
    match parsed.scheme() {
        "https" => Ok(()),
        "http" if loopback => Ok(()),
        "http" => Err(SyncError::BadUrl(format!(
            "{url} is plain HTTP: the enrollment answer carries the kiosk's secret and the community's key; use the server's https:// address"
        ))),
        other => Err(SyncError::BadUrl(format!("{url}: unsupported scheme {other:?}; use https://"))),
    }
}

/// One enrolled kiosk's connection to its server.
pub struct Client {
    http: Http,
    creds: SyncCredentials,
}

impl Client {
    pub fn new(creds: SyncCredentials, config: &ClientConfig) -> Result<Client, SyncError> {
        Ok(Client { http: http(config)?, creds })
    }

    fn auth(&self) -> String {
        format!("Bearer {}:{}", self.creds.device, self.creds.secret)
    }

    fn url(&self, path: &str) -> String {
        format!("{}{API}{path}", self.creds.url)
    }

    pub fn heartbeat(&self, hb: &Heartbeat) -> Result<HeartbeatResponse, SyncError> {
        let resp = self
            .http
            .post(self.url("/heartbeat"))
            .header("Authorization", self.auth())
            .json(hb)
            .send()
            .map_err(transport)?;
        if !resp.status().is_success() {
            return Err(refusal(resp));
        }
        json(resp)
    }

    /// Part `part` of a release's package (at most
    /// [`shoumen_protocol::release::PART_BYTES`]; the caller checks the
    /// whole against the signed note).
    pub fn release_part(&self, version: &str, arch: &str, part: u64) -> Result<Vec<u8>, SyncError> {
        let resp = self
            .http
            .get(self.url("/release"))
            .query(&[("version", version), ("arch", arch), ("part", &part.to_string())])
            .header("Authorization", self.auth())
            .send()
            .map_err(transport)?;
        if !resp.status().is_success() {
            return Err(refusal(resp));
        }
        let most = shoumen_protocol::release::PART_BYTES;
        if resp.content_length().is_some_and(|n| n > most) {
            return Err(SyncError::Garbage(format!("a release part over {most} bytes")));
        }
        let bytes = resp.bytes().map_err(transport)?;
        if bytes.len() as u64 > most {
            return Err(SyncError::Garbage(format!("a release part over {most} bytes")));
        }
        Ok(bytes.to_vec())
    }

    /// Pushes one page; `Ok(Err(watermark))` when the server says the page
    /// starts past what it holds (resend from there).
    pub fn push(&self, page: &PushRequest) -> Result<Result<PushResponse, u64>, SyncError> {
        let resp = self
            .http
            .post(self.url("/entries"))
            .header("Authorization", self.auth())
            .json(page)
            .send()
            .map_err(transport)?;
        if resp.status() == StatusCode::CONFLICT {
            let body = resp.text().map_err(transport)?;
            let api: ApiError = serde_json::from_str(&body).map_err(|e| SyncError::Garbage(e.to_string()))?;
            return match (api.code.as_str(), api.watermark) {
                ("gap", Some(w)) => Ok(Err(w)),
                _ => Err(SyncError::Server { status: 409, message: api.message }),
            };
        }
        if !resp.status().is_success() {
            return Err(refusal(resp));
        }
        json(resp).map(Ok)
    }

    /// Hands the server this kiosk's cosignature of a log checkpoint.
    pub fn cosign(&self, c: &shoumen_protocol::sync::KioskCosignature) -> Result<(), SyncError> {
        let resp = self
            .http
            .post(self.url("/cosign"))
            .header("Authorization", self.auth())
            .json(c)
            .send()
            .map_err(transport)?;
        if !resp.status().is_success() {
            return Err(refusal(resp));
        }
        Ok(())
    }

    /// The newest bundle if it is newer than `since`, and the signed word
    /// of which version is the newest.
    pub fn lists(&self, since: u64, log: u64) -> Result<ListsAnswer, SyncError> {
        self.get(&format!("/lists?since={since}&log={log}"))
    }

    /// Presence from every gate of the community that changed after `since`.
    pub fn presence(&self, since: u64) -> Result<PresenceFeed, SyncError> {
        self.get(&format!("/presence?since={since}"))
    }

    fn get<T: serde::de::DeserializeOwned>(&self, path: &str) -> Result<T, SyncError> {
        let resp = self.http.get(self.url(path)).header("Authorization", self.auth()).send().map_err(transport)?;
        if !resp.status().is_success() {
            return Err(refusal(resp));
        }
        json(resp)
    }
}

/// What one sync round did.
#[derive(Clone, Debug, PartialEq)]
pub struct Report {
    /// Entries the server newly stored.
    pub pushed: u64,
    /// The watermark after the round.
    pub acked: u64,
    /// Entries still waiting.
    pub queue: u64,
    /// A new list bundle was installed.
    pub lists_updated: bool,
    /// The server's clock minus the OS clock, in ms, at the heartbeat.
    pub skew_ms: i64,
    /// The server's signed time taken this round (unix ms), or why not.
    pub time: Result<i64, String>,
    /// When the round reached the server (our wall clock, unix ms).
    pub reached_ms: i64,
    /// Presence from the community's gates that changed since the last round.
    pub presence: Vec<(PassId, Presence)>,
    /// The release the district chose for this kiosk, if it runs another.
    pub offer: Option<shoumen_protocol::release::UpdateOffer>,
}

/// One round: push everything unacknowledged, heartbeat, pull lists if
/// newer, pull the community's presence. `progress(acked, head)` is called
/// after each page.
pub fn sync_once(
    store: &mut Store,
    client: &Client,
    clock: &SystemClock,
    health: &[HealthItem],
    progress: &mut dyn FnMut(u64, u64),
) -> Result<Report, SyncError> {
    sync_reporting(store, client, clock, health, None, None, progress)
}

/// [`sync_once`], the heartbeat also carrying the machine's `vitals` and
/// its side of updates.
pub fn sync_reporting(
    store: &mut Store,
    client: &Client,
    clock: &SystemClock,
    health: &[HealthItem],
    vitals: Option<&Vitals>,
    update: Option<&shoumen_protocol::release::UpdateReport>,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<Report, SyncError> {
    let mut report = Report {
        pushed: push_all(store, client, progress)?,
        acked: 0,
        queue: 0,
        lists_updated: false,
        skew_ms: 0,
        time: Err("no heartbeat yet".into()),
        reached_ms: 0,
        presence: Vec::new(),
        offer: None,
    };
    report.acked = store.acked_seq()?;
    report.queue = store.head_seq()? - report.acked;
    let nonce: [u8; NONCE_LEN] = rand::random();
    let mut beat = heartbeat(store, clock, report.queue, health, &nonce)?;
    beat.vitals = vitals.cloned();
    beat.update = update.cloned();
    let sent = clock.raw();
    let answer = client.heartbeat(&beat)?;
    report.offer = answer.update.clone();
    let received_mono_ms = clock.raw().mono_ms;
    report.skew_ms = answer.server_ms - sent.wall_ms;
    report.time = take_time(store, clock, &answer, &nonce, sent.mono_ms, received_mono_ms);
    report.lists_updated = pull_lists(store, client, clock)?;
    report.presence = pull_presence(store, client)?;
    report.reached_ms = clock.now().wall_ms;
    Ok(report)
}

/// Takes the server's signed time from a heartbeat's answer, if it answers
/// the question `nonce` and came back quickly; kept in the store so that
/// the kiosk's other processes of this boot, and the floor after a reboot,
/// have it. A refused one is logged and the round goes on: entries and lists
/// do not depend on it.
fn take_time(
    store: &mut Store,
    clock: &SystemClock,
    answer: &HeartbeatResponse,
    nonce: &[u8; NONCE_LEN],
    sent_mono_ms: u64,
    received_mono_ms: u64,
) -> Result<i64, String> {
    let Some(time) = &answer.time else {
        return Err("the server does not sign its time (older than this kiosk)".into());
    };
    let taken = store
        .trust()
        .map_err(|e| e.to_string())
        .and_then(|trust| accept_time(&trust, store.device_id(), nonce, time).map_err(|e| e.to_string()))
        .and_then(|server_ms| clock.take_server_time(server_ms, sent_mono_ms, received_mono_ms));
    match taken {
        Ok(anchor) => {
            if let Err(e) = store.set_time_anchor(&anchor) {
                tracing::warn!(error = %e, "the server's time is taken but could not be kept in the store");
            }
            Ok(anchor.server_ms)
        }
        Err(e) => {
            tracing::warn!(error = %e, "the server's time is not taken");
            Err(e)
        }
    }
}

/// The server's time in `time` if it is signed by the community for this
/// kiosk's question `nonce`; a replayed or altered answer is refused.
pub fn accept_time(
    trust: &TrustList,
    device: &str,
    nonce: &[u8; NONCE_LEN],
    time: &ServerTime,
) -> Result<i64, SyncError> {
    time.verify(trust, device, nonce).map_err(|e| SyncError::Time(e.to_string()))
}

/// Pushes every unacknowledged entry in pages; returns how many were new.
fn push_all(store: &mut Store, client: &Client, progress: &mut dyn FnMut(u64, u64)) -> Result<u64, SyncError> {
    let key = store.device_key()?;
    let device = store.device_id().to_string();
    let mut pushed = 0;
    let mut cursor = store.acked_seq()?;
    let mut gaps = 0;
    loop {
        let page = store.entries_with_hash(cursor + 1, MAX_PAGE)?;
        let Some((last, last_hash)) = page.last().map(|(e, h)| (e.seq, *h)) else { return Ok(pushed) };
        let request = PushRequest {
            checkpoint: Checkpoint::sign(&key, &device, last, &last_hash),
            entries: page.into_iter().map(|(entry, hash)| PushedEntry { entry, hash: hex::encode(hash) }).collect(),
        };
        match client.push(&request)? {
            Ok(resp) => {
                pushed += resp.stored;
                let head = store.head_seq()?;
                store.set_acked(resp.watermark.min(head))?;
                if resp.watermark < last {
                    return Err(SyncError::Garbage(format!(
                        "server acknowledged only up to {} of a page ending at {last}",
                        resp.watermark
                    )));
                }
                cursor = resp.watermark;
                progress(cursor, head);
            }
            Err(watermark) => {
                // The server holds less than we thought (restored from a
                // backup?): resend from its watermark, once.
                gaps += 1;
                if gaps > 2 || watermark > cursor {
                    return Err(SyncError::Garbage(format!("server keeps asking to resume at {}", watermark + 1)));
                }
                tracing::warn!(watermark, "server holds fewer entries than acknowledged; resending");
                cursor = watermark;
            }
        }
    }
}

/// The heartbeat goes after the push so the committee sees the queue as it
/// is now; its checkpoint vouches for the head just delivered.
fn heartbeat(
    store: &mut Store,
    clock: &SystemClock,
    queue: u64,
    health: &[HealthItem],
    nonce: &[u8; NONCE_LEN],
) -> Result<Heartbeat, SyncError> {
    let key = store.device_key()?;
    let (head_seq, head_hash) = store.head()?;
    let raw = clock.raw();
    let base = clock.base();
    let corrected_at_ms = base.anchor.filter(|a| a.boot_id == clock.boot_id()).map(|a| a.server_ms);
    Ok(Heartbeat {
        clock: ClockReport {
            boot_id: clock.boot_id().to_string(),
            mono_ms: raw.mono_ms,
            wall_ms: raw.wall_ms,
            synced: raw.ntp_synced,
            trust: Some(clock.now().trust),
            corrected_at_ms,
        },
        queue,
        health: health.to_vec(),
        checkpoint: Checkpoint::sign(&key, store.device_id(), head_seq, &head_hash),
        version: env!("CARGO_PKG_VERSION").into(),
        layout: store.layout()?,
        log: store.evidence_view()?.map(|v| v.head),
        time_nonce: Some(hex::encode(nonce)),
        vitals: None,
        update: None,
    })
}

/// How far the server's "your lists are current" may be from our clock:
/// further off, it may be a replay and the lists do not count as fresh.
const CURRENT_TOLERANCE_S: i64 = 3600;

/// Installs a newer bundle if there is one; lists count as fresh only on
/// the server's signed word. Returns whether a bundle was installed.
fn pull_lists(store: &mut Store, client: &Client, clock: &SystemClock) -> Result<bool, SyncError> {
    let held = store.evidence_view()?.map_or(0, |v| v.head.size);
    let mut answer = client.lists(store.bundle_version()?, held)?;
    if let Some(log) = answer.log.take() {
        if let Some(cosigned) = accept_log(store, log, clock.now().wall_ms)? {
            // Kept already: a lost answer is sent again at the next change.
            if let Err(e) = client.cosign(&cosigned) {
                tracing::warn!(error = %e, "cannot hand the server this gate's cosignature of the evidence log");
            }
        }
    }
    accept_lists(store, answer, clock.now().wall_ms)
}

/// Checks the evidence log's newest checkpoint against the head the kiosk
/// holds: signed by the key first seen, and extending that head. One that
/// does not is not taken; the fault goes to the committee with every
/// heartbeat from then on (a split view: the log showed this kiosk a
/// history it does not show others, or rewrote its own). The kiosk is a
/// witness: a checkpoint that extends its head is kept as the new head,
/// then cosigned (C2SP tlog-witness's order: kept before answering);
/// returns the cosignature when the head moved.
fn accept_log(store: &mut Store, answer: LogAnswer, now_ms: i64) -> Result<Option<KioskCosignature>, SyncError> {
    let view = store.evidence_view()?;
    let key = view.as_ref().map_or_else(|| answer.key.clone(), |v| v.key.clone());
    let checked = evidence::open_checkpoint(&answer.checkpoint, &key).and_then(|head| {
        if let Some(v) = &view {
            let held = evidence::Head { origin: head.origin.clone(), size: v.head.size, root: v.head.root };
            evidence::check_extends(&held, &head, &answer.proof)?;
        }
        Ok(head)
    });
    let next = match (checked, view) {
        (Ok(head), _) => EvidenceView { key, head: HeldHead { size: head.size, root: head.root, fault: None } },
        (Err(e), Some(mut v)) => {
            tracing::error!(error = %e, "the evidence log's checkpoint does not extend the one this gate holds");
            v.head.fault = Some(e.to_string());
            v
        }
        (Err(e), None) => {
            tracing::warn!(error = %e, "the evidence log's first checkpoint does not check out; not kept");
            return Ok(None);
        }
    };
    let moved = next.head.fault.is_none() && store.evidence_view()?.is_none_or(|v| v.head != next.head);
    store.set_evidence_view(&next)?;
    if !moved || next.head.size == 0 {
        return Ok(None);
    }
    let witness = store.witness_key()?;
    match witness.cosign(&answer.checkpoint, (now_ms / 1000).max(1) as u64) {
        Ok(line) => Ok(Some(KioskCosignature { witness_key: witness.vkey(), size: next.head.size, line })),
        Err(e) => {
            tracing::warn!(error = %e, "cannot cosign the evidence log's checkpoint");
            Ok(None)
        }
    }
}

/// What a `/lists` answer does to the store: a newer bundle is installed;
/// the lists count as fresh only on the server's signed, dated word.
fn accept_lists(store: &mut Store, answer: ListsAnswer, now_ms: i64) -> Result<bool, SyncError> {
    let have = store.bundle_version()?;
    let trust = store.trust()?;
    answer
        .current
        .verify(&trust)
        .map_err(|e| SyncError::Lists(format!("the server's statement of the newest lists: {e}")))?;
    let Some(signed) = answer.bundle else {
        if answer.current.version != have {
            return Err(SyncError::Lists(format!(
                "the server says version {} is newest but sent no bundle (we hold {have})",
                answer.current.version
            )));
        }
        if (answer.current.at - now_ms.div_euclid(1000)).abs() > CURRENT_TOLERANCE_S {
            return Err(SyncError::Lists(format!(
                "the server's statement that our lists are current is dated {} (unix), too far from our clock; is the kiosk's time right?",
                answer.current.at
            )));
        }
        store.mark_lists_synced(now_ms)?;
        return Ok(false);
    };
    let bundle = signed.open(&trust).map_err(|e| SyncError::Lists(e.to_string()))?;
    store.put_bundle(&bundle, now_ms).map_err(|e| match e {
        e @ (StoreError::Rollback { .. } | StoreError::ListExpired { .. }) => SyncError::Lists(e.to_string()),
        e => SyncError::Store(e),
    })?;
    tracing::info!(version = bundle.version, "lists updated from the server");
    Ok(true)
}

/// The community's presence since the last round, stored and returned for
/// the gate core. A server without the feed (older) gives none.
fn pull_presence(store: &mut Store, client: &Client) -> Result<Vec<(PassId, Presence)>, SyncError> {
    let mut out = Vec::new();
    let mut cursor = store.presence_cursor()?;
    // Bounded: a huge backlog continues next round.
    for _ in 0..20 {
        let feed = match client.presence(cursor) {
            Ok(f) => f,
            Err(SyncError::Server { status: 404, .. }) => return Ok(out),
            Err(e) => return Err(e),
        };
        let items: Vec<(PassId, Presence)> =
            feed.items.iter().map(|i| (i.pass_id, Presence { direction: i.direction, at_ms: i.at_ms })).collect();
        store.merge_presence(&items, feed.cursor)?;
        out.extend(items);
        cursor = feed.cursor;
        if !feed.more {
            break;
        }
    }
    Ok(out)
}

/// What the UI shows about sync.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SyncStatus {
    pub enrolled: bool,
    pub online: bool,
    /// Wall clock (unix ms) of the last successful round.
    pub last_success_ms: Option<i64>,
    pub queue: u64,
    pub last_error: Option<String>,
    /// Set after a 401/403: no retries until re-enrolled or forced.
    pub unauthorised: bool,
    /// Not enrolled, with a server to enroll at: the code to show.
    pub screen_code: Option<ScreenCode>,
}

/// Exponential backoff with full jitter (AWS architecture blog): a random
/// wait in [0, min(cap, base·2^attempt)], so many kiosks coming back after an
/// outage do not hit the server in step.
pub fn backoff(attempt: u32, base: Duration, cap: Duration) -> Duration {
    let ceiling = base.saturating_mul(1u32 << attempt.min(20)).min(cap);
    ceiling.mul_f64(rand::random::<f64>())
}

/// How long after a start the self-test looks at the devices: they
/// report within seconds of a start.
const SELF_TEST_AFTER: Duration = Duration::from_secs(20);

/// The sync thread's timing.
#[derive(Clone, Debug)]
pub struct LoopConfig {
    /// Between successful rounds (new entries also wait at most this long).
    pub interval: Duration,
    pub backoff_base: Duration,
    pub backoff_cap: Duration,
    pub client: ClientConfig,
    /// Acknowledged entries older than this lose their content (digest
    /// kept), checked hourly after a good round.
    pub retention_days: u32,
    /// The committee's server, for a kiosk not enrolled yet: it shows a
    /// code to enroll it there from its screen (`protocol::enroll`).
    pub enroll_url: Option<String>,
    /// The gate's name in the configuration, suggested with the code.
    pub gate_name: String,
    /// Updates, for a kiosk installed from the package (`crate::update`).
    pub updates: Option<crate::update::Updates>,
    /// How long after a start the self-test is written.
    pub self_test_after: Duration,
}

impl Default for LoopConfig {
    fn default() -> LoopConfig {
        LoopConfig {
            interval: Duration::from_secs(30),
            backoff_base: Duration::from_secs(2),
            backoff_cap: Duration::from_secs(300),
            client: ClientConfig::default(),
            retention_days: 90,
            enroll_url: None,
            gate_name: String::new(),
            updates: None,
            self_test_after: SELF_TEST_AFTER,
        }
    }
}

/// The code a kiosk not enrolled shows on its screen.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ScreenCode {
    /// As shown: "K7M2-9QXD".
    pub code: String,
    pub fingerprint: String,
    /// The claim link its QR code holds.
    pub link: String,
    pub server: String,
    /// Why the server could not be reached last ("" = it could); with no
    /// code yet, all the screen has to say.
    pub problem: String,
}

/// Shared between the sync thread and the rest of the kiosk.
#[derive(Clone, Default)]
pub struct SyncLink {
    pub status: Arc<Mutex<SyncStatus>>,
    /// The latest device health, sent with each heartbeat.
    pub health: Arc<Mutex<Vec<HealthItem>>>,
    /// The machine's numbers, sent with each heartbeat.
    pub vitals: Arc<Mutex<Vitals>>,
    /// When someone was last at the gate (a pass read, a person seen, a
    /// forehead measured): an update waits until nobody has been a while.
    pub last_activity: Arc<Mutex<Option<Instant>>>,
}

/// Starts the sync thread. `wake` ("Sync now") cuts any wait short.
pub fn spawn(
    db: PathBuf,
    clock: SystemClock,
    events: Sender<Event>,
    link: SyncLink,
    wake: Receiver<()>,
    config: LoopConfig,
    stop: Arc<AtomicBool>,
) -> std::io::Result<JoinHandle<()>> {
    std::thread::Builder::new().name("sync".into()).spawn(move || {
        let store = match Store::open(&db, clock.boot_id()) {
            Ok(s) => s,
            Err(e) => {
                tracing::error!(error = %e, "sync thread cannot open the store; no sync this run");
                link.set(|s| s.last_error = Some(e.to_string()));
                return;
            }
        };
        let mut sync = SyncThread {
            store,
            clock,
            link,
            config,
            events,
            attempt: 0,
            blocked: false,
            retention_due: Instant::now(),
            asked: None,
            started: Instant::now(),
            self_tested: false,
            install_asked: None,
        };
        let mut wait = Duration::ZERO;
        while let Some(forced) = wait_for(wait, &wake, &stop) {
            if sync.blocked && !forced {
                wait = Duration::from_secs(3600);
                continue;
            }
            match sync.round() {
                Some(next) => wait = next,
                // The core has gone: the kiosk is stopping.
                None => return,
            }
        }
    })
}

/// Waits up to `wait`, in small steps so that shutdown and "Sync now" are
/// prompt. `None`: stop; `Some(true)`: someone asked for a sync.
fn wait_for(wait: Duration, wake: &Receiver<()>, stop: &AtomicBool) -> Option<bool> {
    let until = Instant::now() + wait;
    while Instant::now() < until && !stop.load(Ordering::Relaxed) {
        match wake.recv_timeout((until - Instant::now()).min(Duration::from_millis(250))) {
            Ok(()) => return Some(true),
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => return None,
        }
    }
    (!stop.load(Ordering::Relaxed)).then_some(false)
}

impl SyncLink {
    fn set(&self, f: impl FnOnce(&mut SyncStatus)) {
        f(&mut self.status.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// Someone is at the gate now.
    pub fn someone_at_gate(&self) {
        *self.last_activity.lock().unwrap_or_else(|e| e.into_inner()) = Some(Instant::now());
    }
}

/// The sync thread's own store connection and what it remembers between rounds.
struct SyncThread {
    store: Store,
    clock: SystemClock,
    link: SyncLink,
    config: LoopConfig,
    events: Sender<Event>,
    attempt: u32,
    /// A refusal a retry cannot fix: wait for a person.
    blocked: bool,
    retention_due: Instant,
    /// The code on the screen while not enrolled: (code, until, polls so far).
    asked: Option<(String, Instant, u64)>,
    started: Instant,
    /// This run's self-test is written (once per start).
    self_tested: bool,
    /// The release this run asked the updater to install.
    install_asked: Option<String>,
}

impl SyncThread {
    /// One round; returns how long to wait before the next, or `None` when
    /// the kiosk is stopping.
    fn round(&mut self) -> Option<Duration> {
        let creds = match self.store.sync_credentials() {
            Ok(Some(c)) => c,
            Ok(None) => return Some(self.enroll_from_screen()),
            Err(e) => {
                self.link.set(|s| s.last_error = Some(e.to_string()));
                return Some(Duration::from_secs(60));
            }
        };
        let health = self.link.health.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let vitals = self.link.vitals.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let update = self.config.updates.as_ref().map(|u| u.report());
        let result = Client::new(creds, &self.config.client).and_then(|client| {
            let report = sync_reporting(
                &mut self.store,
                &client,
                &self.clock,
                &health,
                Some(&vitals),
                update.as_ref(),
                &mut |_, _| {},
            )?;
            Ok((client, report))
        });
        match result {
            Ok((client, report)) => {
                self.updates(&client, &report, &health);
                self.succeeded(&report)
            }
            Err(e) => Some(self.failed(&e)),
        }
    }

    /// After a round that reached the server: the offered release fetched
    /// a few parts further, the install asked for if it is quiet, and once
    /// per start (the devices having reported) the self-test written.
    fn updates(&mut self, client: &Client, report: &Report, health: &[HealthItem]) {
        let Some(updates) = &self.config.updates else { return };
        // While the updater installs what this run asked for, the server
        // still offers it (this kiosk still runs the old version): not
        // fetched again.
        let offer = report.offer.as_ref().filter(|o| self.install_asked.as_ref() != Some(&o.version));
        if let Some(offer) = offer {
            let mut fetch = |v: &str, a: &str, n: u64| client.release_part(v, a, n).map_err(|e| e.to_string());
            if let Err(e) = updates.take(&mut fetch, offer) {
                tracing::warn!(error = %e, version = offer.version, "the offered release is not taken");
            }
        }
        let last = *self.link.last_activity.lock().unwrap_or_else(|e| e.into_inner());
        let idle_for = last.unwrap_or(self.started).elapsed();
        match updates.ask_to_install(self.clock.now().wall_ms, idle_for) {
            Ok(Some(version)) => self.install_asked = Some(version),
            Ok(None) => {}
            Err(e) => tracing::warn!(error = %e, "cannot ask for the update to be installed"),
        }
        if !self.self_tested && self.started.elapsed() >= self.config.self_test_after {
            self.self_tested = true;
            match updates.write_self_test(self.clock.now().wall_ms, health, true) {
                Ok(t) if t.passed() => tracing::info!(version = t.version, "self-test passed"),
                Ok(t) => tracing::warn!(version = t.version, failures = t.failures(), "self-test failed"),
                Err(e) => tracing::error!(error = %e, "cannot write the self-test"),
            }
        }
    }

    /// Not enrolled: with a server to enroll at, shows a code and asks
    /// whether an admin claimed it; the next round syncs once enrolled.
    fn enroll_from_screen(&mut self) -> Duration {
        // A refusal blocked the old enrollment; this one is new.
        self.blocked = false;
        // The configured server, else the one it was enrolled with before
        // the guard had it enroll again.
        let url = self.config.enroll_url.clone().filter(|u| !u.is_empty());
        let url = url.or_else(|| self.store.last_server().ok().flatten());
        let Some(url) = url else {
            self.link.set(|s| *s = SyncStatus { enrolled: false, ..SyncStatus::default() });
            return Duration::from_secs(60);
        };
        match self.screen_round(&url) {
            Ok(true) => {
                self.asked = None;
                self.link.set(|s| *s = SyncStatus { enrolled: true, ..SyncStatus::default() });
                Duration::ZERO
            }
            Ok(false) => Duration::from_secs(shoumen_protocol::enroll::POLL_EVERY_S),
            Err(e) => {
                // Expired, or the server forgot it: a new code next round.
                if matches!(e, SyncError::Unauthorized(_)) {
                    self.asked = None;
                }
                tracing::warn!(error = %e, "enrollment from the screen");
                let (server, problem) = (url.clone(), e.to_string());
                self.link.set(|s| {
                    s.last_error = Some(problem.clone());
                    let code = s.screen_code.get_or_insert_with(|| ScreenCode { server, ..ScreenCode::default() });
                    code.problem = problem;
                });
                let wait = backoff(self.attempt, self.config.backoff_base, self.config.backoff_cap);
                self.attempt += 1;
                wait.max(Duration::from_secs(2))
            }
        }
    }

    /// Asks for a code if none is live, else polls it; true once enrolled.
    fn screen_round(&mut self, url: &str) -> Result<bool, SyncError> {
        use shoumen_protocol::enroll;
        let live = self.asked.as_ref().is_some_and(|(_, until, _)| Instant::now() < *until);
        if !live {
            let asked = ask_code(&mut self.store, url, &self.config.gate_name, &self.config.client)?;
            let key = self.store.device_key()?.verifying_key();
            let screen = ScreenCode {
                code: enroll::show_code(&asked.code),
                fingerprint: enroll::fingerprint(&key),
                link: enroll::claim_url(url, &asked.code, &key),
                server: url.to_string(),
                problem: String::new(),
            };
            tracing::info!(code = screen.code, fingerprint = screen.fingerprint, "not enrolled: showing a code");
            self.link.set(|s| {
                *s = SyncStatus { enrolled: false, screen_code: Some(screen), ..SyncStatus::default() };
            });
            let until = Instant::now() + Duration::from_secs(asked.expires_in_s.saturating_sub(30));
            self.asked = Some((asked.code, until, 0));
            self.attempt = 0;
            return Ok(false);
        }
        let Some((code, _, polls)) = self.asked.as_mut() else { return Ok(false) };
        *polls += 1;
        let (code, counter) = (code.clone(), *polls);
        let enrolled = poll_code(&mut self.store, url, &code, counter, &self.config.client)?;
        self.link.set(|s| {
            if let Some(c) = s.screen_code.as_mut() {
                c.problem.clear();
            }
        });
        if let Some(answer) = &enrolled {
            tracing::info!(gate = answer.gate, community = answer.community, "enrolled from the screen");
        }
        self.attempt = 0;
        Ok(enrolled.is_some())
    }

    fn succeeded(&mut self, report: &Report) -> Option<Duration> {
        self.attempt = 0;
        self.blocked = false;
        let now = self.clock.now().wall_ms;
        self.link.set(|s| {
            *s = SyncStatus {
                enrolled: true,
                online: true,
                last_success_ms: Some(now),
                queue: report.queue,
                last_error: None,
                unauthorised: false,
                screen_code: None,
            }
        });
        if report.pushed > 0 {
            tracing::info!(pushed = report.pushed, acked = report.acked, "entries synced");
        }
        // Only acknowledged entries are pruned (invariant 3); the store checks that itself.
        if Instant::now() >= self.retention_due {
            self.retention_due = Instant::now() + Duration::from_secs(3600);
            let days = self.config.retention_days;
            match self.store.apply_retention(now, days) {
                Ok(0) => {}
                Ok(n) => tracing::info!(pruned = n, days, "retention: old acknowledged entries pruned"),
                Err(e) => tracing::warn!(error = %e, "retention failed"),
            }
        }
        if report.lists_updated {
            match self.store.lists() {
                Ok(lists) => self.events.send(Event::ListsUpdated(Box::new(lists))).ok()?,
                Err(e) => tracing::error!(error = %e, "cannot read the new lists"),
            }
        }
        self.events.send(Event::Synced { at_ms: report.reached_ms, presence: report.presence.clone() }).ok()?;
        // A backlog beyond one page goes on at once.
        Some(if report.queue > 0 {
            Duration::ZERO
        } else {
            self.config.interval.min(Duration::from_secs(HEARTBEAT_EVERY_S))
        })
    }

    fn failed(&mut self, e: &SyncError) -> Duration {
        let queue = self.store.head_seq().unwrap_or(0).saturating_sub(self.store.acked_seq().unwrap_or(0));
        let message = e.to_string();
        tracing::warn!(error = %message, attempt = self.attempt, "sync failed");
        self.link.set(|s| {
            s.enrolled = true;
            s.online = false;
            s.queue = queue;
            s.last_error = Some(message);
            s.unauthorised = matches!(e, SyncError::Unauthorized(_));
        });
        if e.is_permanent() {
            self.blocked = true;
            return Duration::from_secs(3600);
        }
        let wait = backoff(self.attempt, self.config.backoff_base, self.config.backoff_cap);
        self.attempt = self.attempt.saturating_add(1);
        wait
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_stays_within_the_growing_ceiling_and_the_cap() {
        let base = Duration::from_secs(2);
        let cap = Duration::from_secs(300);
        for attempt in 0..40 {
            let ceiling = (base * 2u32.pow(attempt.min(20))).min(cap);
            for _ in 0..50 {
                assert!(backoff(attempt, base, cap) <= ceiling);
            }
        }
        // Full jitter: waits spread out instead of all being the ceiling.
        let waits: Vec<_> = (0..200).map(|_| backoff(10, base, cap)).collect();
        assert!(waits.iter().any(|w| *w < cap / 2) && waits.iter().any(|w| *w > cap / 2));
    }

    #[test]
    fn enrollment_goes_over_https_except_on_this_machine() {
        assert!(check_url("https://gate.example.org").is_ok());
        assert!(
            check_url("http://127.0.0.1:8080").is_ok()
                && check_url("http://localhost:1").is_ok()
                && check_url("http://[::1]:9").is_ok()
        );
        let err = check_url("http://gate.example.org").unwrap_err().to_string();
        assert!(err.contains("https://"), "{err}");
        assert!(check_url("ftp://gate").is_err() && check_url("gate.example.org").is_err());
    }

    #[test]
    fn lists_count_as_fresh_only_on_the_servers_signed_and_dated_word() {
        use shoumen_protocol::sync::Current;
        use shoumen_protocol::{TrustList, TrustedKey};
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("k.db"), "b").unwrap();
        let key = ed25519_dalek::SigningKey::from_bytes(&[3; 32]);
        store.set_trust(&TrustList::new(vec![TrustedKey { issuer: "c".into(), key: key.verifying_key() }])).unwrap();
        let now_ms = 1_790_000_000_000;
        let answer = |current| ListsAnswer { bundle: None, current, log: None };
        let synced = |s: &Store| s.lists().unwrap().synced_at_ms;
        // The server's word, signed and dated now: fresh.
        assert!(!accept_lists(&mut store, answer(Current::sign(&key, "c", 0, now_ms / 1000)), now_ms).unwrap());
        assert_eq!(synced(&store), Some(now_ms));
        // Anyone else's "you are current": refused, and the lists stay as old as they were.
        let stranger = ed25519_dalek::SigningKey::from_bytes(&[4; 32]);
        let later = now_ms + 60_000;
        assert!(matches!(
            accept_lists(&mut store, answer(Current::sign(&stranger, "c", 0, later / 1000)), later),
            Err(SyncError::Lists(_))
        ));
        // An old statement replayed: refused.
        assert!(accept_lists(&mut store, answer(Current::sign(&key, "c", 0, now_ms / 1000 - 7200)), later).is_err());
        // "A newer version exists" without the bundle: refused.
        assert!(accept_lists(&mut store, answer(Current::sign(&key, "c", 5, later / 1000)), later).is_err());
        assert_eq!(synced(&store), Some(now_ms));
    }

    #[test]
    fn only_authorisation_and_tampering_stop_the_retries() {
        assert!(SyncError::Unauthorized("x".into()).is_permanent());
        assert!(SyncError::Tamper("x".into()).is_permanent());
        assert!(!SyncError::Transport("reset".into()).is_permanent());
        assert!(!SyncError::Server { status: 503, message: String::new() }.is_permanent());
        assert!(!SyncError::Garbage("eof".into()).is_permanent());
    }
}
