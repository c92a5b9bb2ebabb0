//! The door sensors' broker (issue 18): one MQTT client (`rumqttc`) that
//! subscribes to `zigbee2mqtt/+` with QoS 1 on a persistent session
//! (`clean_session = false`, a fixed client id), and acknowledges each
//! message only once it is stored. A restart of the server or the broker
//! loses nothing the broker kept: unacknowledged messages are sent again.
//!
//! Whatever the broker sends is bounded here: payloads over
//! `sensors::MAX_PAYLOAD`, text that is not JSON and unknown sensors are
//! counted and dropped (and acknowledged, so they do not come back); a
//! flood is read one message at a time, so it queues at the broker and
//! never holds more than one database connection.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rumqttc::{AsyncClient, ConnectionError, Event, MqttOptions, Packet, QoS, Transport};

use crate::db::{now_ms, Db};
use crate::sensors::{self, Outcome};

/// How to reach the broker.
#[derive(Clone, Debug)]
pub struct MqttConfig {
    /// `mqtt://[user:password@]host:1883` or `mqtts://…:8883`.
    pub url: String,
    /// zigbee2mqtt's base topic.
    pub base_topic: String,
    /// The client id of the persistent session (one per server).
    pub client_id: String,
    /// A PEM file of the CA that signed the broker's certificate (mqtts);
    /// the system's roots otherwise.
    pub ca: Option<std::path::PathBuf>,
}

/// What the client has seen, for the Sensors page.
#[derive(Default)]
pub struct Stats {
    pub connected: AtomicBool,
    pub received: AtomicU64,
    pub stored: AtomicU64,
    pub alerts: AtomicU64,
    pub not_json: AtomicU64,
    pub too_big: AtomicU64,
    pub unknown: AtomicU64,
    pub flood: AtomicU64,
    /// The last few unknown sensor names, to pair them.
    pub unknown_names: Mutex<VecDeque<String>>,
    pub last_error: Mutex<String>,
}

impl Stats {
    fn count(&self, outcome: Outcome) {
        let counter = match outcome {
            Outcome::Seen(_) => &self.stored,
            Outcome::Alert(_) => &self.alerts,
            Outcome::NotJson => &self.not_json,
            Outcome::TooBig => &self.too_big,
            Outcome::Unknown => &self.unknown,
            Outcome::Flood => &self.flood,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    fn saw_unknown(&self, name: &str) {
        let mut names = self.unknown_names.lock().unwrap_or_else(|e| e.into_inner());
        if !names.iter().any(|n| n == name) {
            names.push_front(name.to_string());
            names.truncate(10);
        }
    }
}

/// The broker's options from the config.
pub fn options(config: &MqttConfig) -> Result<MqttOptions, String> {
    let sep = if config.url.contains('?') { '&' } else { '?' };
    let url = format!("{}{sep}client_id={}", config.url, config.client_id);
    let mut opts = MqttOptions::parse_url(url).map_err(|e| format!("--mqtt {}: {e}; e.g. mqtt://user:password@127.0.0.1:1883", config.url))?;
    opts.set_clean_session(false).set_manual_acks(true).set_keep_alive(Duration::from_secs(30));
    // Large enough that an oversized payload arrives and is dropped here,
    // rather than breaking the connection and coming back for ever.
    opts.set_max_packet_size(16 << 20, 64 << 10);
    if is_tls(config) {
        let mut roots = rustls::RootCertStore::empty();
        match &config.ca {
            Some(path) => {
                let pem = std::fs::read(path).map_err(|e| format!("--mqtt-ca {}: {e}", path.display()))?;
                for cert in rustls_pemfile::certs(&mut pem.as_slice()) {
                    let cert = cert.map_err(|e| format!("--mqtt-ca {}: {e}", path.display()))?;
                    roots.add(cert).map_err(|e| format!("--mqtt-ca {}: {e}", path.display()))?;
                }
            }
            None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
        }
        let tls = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .map_err(|e| e.to_string())?
            .with_root_certificates(roots)
            .with_no_client_auth();
        opts.set_transport(Transport::tls_with_config(tls.into()));
    }
    Ok(opts)
}

/// Runs the client until the process ends; reconnects with a growing wait.
pub async fn run(db: Db, config: MqttConfig, stats: Arc<Stats>, bell: Arc<tokio::sync::Notify>, utc_offset_min: i32) {
    let opts = match options(&config) {
        Ok(o) => o,
        Err(e) => {
            tracing::error!(error = %e, "door sensors are off: the broker's address is not usable");
            *stats.last_error.lock().unwrap_or_else(|p| p.into_inner()) = e;
            return;
        }
    };
    // Acknowledgements queue here until the next poll sends them, and a
    // poll first hands out every message it has read (up to the broker's
    // inflight window, 20 in Mosquitto): the queue must hold them all, or
    // an `ack` waits for a poll that waits for it.
    let (client, mut events) = AsyncClient::new(opts, 4096);
    let filter = format!("{}/+", config.base_topic);
    let mut wait = Duration::from_millis(500);
    loop {
        match events.poll().await {
            Ok(Event::Incoming(Packet::ConnAck(ack))) => {
                tracing::info!(session_present = ack.session_present, "connected to the door sensors' broker");
                stats.connected.store(true, Ordering::Relaxed);
                wait = Duration::from_millis(500);
                if let Err(e) = client.subscribe(&filter, QoS::AtLeastOnce).await {
                    tracing::error!(error = %e, "cannot subscribe to the door sensors");
                }
            }
            Ok(Event::Incoming(Packet::Publish(p))) => {
                handle(&db, &config.base_topic, &p.topic, &p.payload, &stats, &bell, utc_offset_min).await;
                if let Err(e) = client.ack(&p).await {
                    tracing::warn!(error = %e, "cannot acknowledge a sensor message; the broker sends it again");
                }
            }
            Ok(_) => {}
            Err(e) => {
                stats.connected.store(false, Ordering::Relaxed);
                let why = explain(&e, &config);
                tracing::warn!(error = %why, retry_in = ?wait, "the door sensors' broker is not reachable");
                *stats.last_error.lock().unwrap_or_else(|p| p.into_inner()) = why;
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(Duration::from_secs(30));
            }
        }
    }
}

fn is_tls(config: &MqttConfig) -> bool {
    config.url.starts_with("mqtts://") || config.url.starts_with("ssl://")
}

/// A connection error as the Sensors page and the log say it: what failed
/// and which option to check.
fn explain(e: &ConnectionError, config: &MqttConfig) -> String {
    let tls_failed = |e: &dyn std::fmt::Display| {
        format!("TLS with the broker failed ({e}): check --mqtt-ca (the PEM of the CA that signed the broker's certificate) and the host in --mqtt")
    };
    match e {
        ConnectionError::ConnectionRefused(code) => {
            format!("the broker refused the connection ({code:?}): check the user and password in --mqtt (mqtt://user:password@host:port)")
        }
        ConnectionError::Tls(e) => tls_failed(e),
        // rustls reports a refused certificate as an I/O error.
        ConnectionError::Io(e) if is_tls(config) && e.kind() == std::io::ErrorKind::InvalidData => tls_failed(e),
        ConnectionError::Io(e) => format!("cannot reach the broker ({e}): check the host and port in --mqtt and that the broker is running"),
        e => e.to_string(),
    }
}

/// Stores one message; retries the database until it answers, so a message
/// is acknowledged only once it is stored (or counted as dropped).
async fn handle(db: &Db, base: &str, topic: &str, payload: &[u8], stats: &Stats, bell: &tokio::sync::Notify, offset: i32) {
    stats.received.fetch_add(1, Ordering::Relaxed);
    // A name no sensor could have is an unknown sensor like any other.
    let Some(name) = topic.strip_prefix(base).and_then(|t| t.strip_prefix('/')).and_then(|n| sensors::check_name(n).ok()) else {
        stats.count(Outcome::Unknown);
        return;
    };
    if payload.len() > sensors::MAX_PAYLOAD {
        stats.count(Outcome::TooBig);
        return;
    }
    let payload = payload.to_vec();
    let mut wait = Duration::from_millis(200);
    loop {
        let (n, p) = (name.clone(), payload.clone());
        match db.call(move |conn| sensors::record(conn, &n, &p, now_ms(), offset)).await {
            Ok(outcome) => {
                stats.count(outcome);
                match outcome {
                    Outcome::Unknown => stats.saw_unknown(&name),
                    // The alert's message is queued with it: wake the delivery.
                    Outcome::Alert(_) => bell.notify_one(),
                    _ => {}
                }
                return;
            }
            Err(e) => {
                tracing::error!(error = %e, sensor = name, "cannot store a door sensor's message; trying again");
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(Duration::from_secs(10));
            }
        }
    }
}
