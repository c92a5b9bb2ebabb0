//! The door sensors' broker (issue 18): one MQTT client (`rumqttc`) that
//! subscribes to `zigbee2mqtt/+/+` (each community's sensors under its own
//! topic) and `zigbee2mqtt/+` (a server of one community) with QoS 1 on a
//! persistent session (`clean_session = false`, a fixed client id), and
//! acknowledges each message only once it is stored. A restart of the
//! server or the broker loses nothing the broker kept: unacknowledged
//! messages are sent again. Several server processes on one PostgreSQL
//! database take turns (issue 30): one listens while it holds its turn
//! ([`Work::Sensors`], an advisory lock on a session of its own); the
//! others wait, and when the listener dies the next one connects with the
//! same client id and takes over the broker's session, with the messages
//! it queued, in order. (A shared subscription, `$share/…`, was tried: the
//! broker keeps handing a dead member its share, so a door's later message
//! could be handled before its earlier one by another process.)
//!
//! Whatever the broker sends is bounded here: payloads over
//! `sensors::MAX_PAYLOAD`, text that is not JSON and unknown sensors are
//! counted and dropped (and acknowledged, so they do not come back); a
//! flood is read one message at a time, so it queues at the broker and
//! never holds more than one database connection. A packet over
//! [`MAX_PACKET`] breaks the connection before it can be acknowledged, and
//! the persistent session would send it again on every reconnect: after
//! [`POISON_AFTER`] such failures in a row the client connects once with
//! a clean session, which drops it (and whatever else the broker queued
//! for us), raises `sensor_broker` for every community with sensors, and
//! carries on with a persistent session.

mod config;
mod stats;

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use rumqttc::{AsyncClient, ConnectionError, Event, Packet, QoS};

pub use config::{options, MqttConfig, MAX_PACKET, POISON_AFTER};
pub use stats::Stats;

use crate::db::{now_ms, Db, Turn, Work};
use crate::records::sensors::{self, Outcome};
use config::explain;

/// Runs the client until the process ends: waits for this process's turn
/// at the sensors, listens while it holds it, and waits again if it loses
/// it. Reconnects with a growing wait.
pub async fn run(db: Db, config: MqttConfig, stats: Arc<Stats>, bell: Arc<tokio::sync::Notify>, utc_offset_min: i32) {
    let opts = match options(&config) {
        Ok(o) => o,
        Err(e) => {
            tracing::error!(error = %e, "door sensors are off: the broker's address is not usable");
            *stats.last_error.lock().unwrap_or_else(|p| p.into_inner()) = e;
            return;
        }
    };
    let s = Session {
        db: &db,
        config: &config,
        stats: &stats,
        bell: &bell,
        base: &config.base_topic,
        offset: utc_offset_min,
    };
    let mut wait = Duration::from_millis(500);
    loop {
        stats.waiting.store(true, Ordering::Relaxed);
        let turn = match db.take_turn(Work::Sensors).await {
            Ok(turn) => turn,
            Err(e) => {
                tracing::warn!(error = %e, retry_in = ?wait, "cannot wait for the turn at the door sensors");
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(Duration::from_secs(30));
                continue;
            }
        };
        stats.waiting.store(false, Ordering::Relaxed);
        tracing::info!("this process listens to the door sensors");
        tokio::select! {
            () = turn.lost() => {
                tracing::warn!("this process lost its turn at the door sensors (its database session ended); waiting for it again");
            }
            () = s.listen(&opts, &turn, &mut wait) => {
                tracing::warn!("this process's turn at the door sensors is gone; waiting for it again");
            }
        }
        // Dropping the client closed the connection; the next holder's
        // connection takes over the same session at the broker.
        stats.connected.store(false, Ordering::Relaxed);
    }
}

/// How a session of the client ended.
enum Ended {
    /// An oversized packet (this large) came back [`POISON_AFTER`] times: reset.
    Poisoned(usize),
    /// A clean session connected (the old one and its queue are gone).
    Cleaned,
    /// The turn at the sensors may be another process's now.
    TurnGone,
}

struct Session<'a> {
    db: &'a Db,
    config: &'a MqttConfig,
    stats: &'a Stats,
    bell: &'a tokio::sync::Notify,
    base: &'a str,
    offset: i32,
}

impl Session<'_> {
    /// Listens while `turn` holds, replacing the client when it must be.
    async fn listen(&self, opts: &rumqttc::MqttOptions, turn: &Turn, wait: &mut Duration) {
        let mut clean = false;
        // The size of the packet a reset dropped, told once the new session listens.
        let mut dropped: Option<usize> = None;
        loop {
            // A session reset is a connection of its own with a fresh client,
            // so no state of the poisoned session is carried over.
            let mut o = opts.clone();
            o.set_clean_session(clean);
            // Acknowledgements queue here until the next poll sends them, and a
            // poll first hands out every message it has read (up to the broker's
            // inflight window, 20 in Mosquitto): the queue must hold them all, or
            // an `ack` waits for a poll that waits for it.
            let (client, mut events) = AsyncClient::new(o, 4096);
            let ended = self.run(&client, &mut events, turn, wait, clean, &mut dropped).await;
            let _ = client.try_disconnect();
            clean = match ended {
                // The broker dropped the poisoned session: persistent again.
                Ended::Cleaned => false,
                Ended::Poisoned(size) => {
                    dropped = Some(size);
                    true
                }
                Ended::TurnGone => return,
            };
        }
    }

    /// Polls one client until it must be replaced; reconnects (with a
    /// growing wait) on any other error.
    async fn run(
        &self,
        client: &AsyncClient,
        events: &mut rumqttc::EventLoop,
        turn: &Turn,
        wait: &mut Duration,
        clean: bool,
        dropped: &mut Option<usize>,
    ) -> Ended {
        // Oversized packets in a row, and the largest seen.
        let (mut poisoned, mut largest) = (0u32, 0usize);
        loop {
            match events.poll().await {
                Ok(Event::Incoming(Packet::ConnAck(ack))) => {
                    tracing::info!(
                        session_present = ack.session_present,
                        clean,
                        "connected to the door sensors' broker"
                    );
                    if clean {
                        return Ended::Cleaned;
                    }
                    self.stats.connected.store(true, Ordering::Relaxed);
                    *wait = Duration::from_millis(500);
                    for filter in self.config.filters() {
                        if let Err(e) = client.subscribe(&filter, QoS::AtLeastOnce).await {
                            tracing::error!(error = %e, "cannot subscribe to the door sensors");
                        }
                    }
                    // Listening again after a reset: now say what it cost.
                    if let Some(size) = dropped.take() {
                        reset_session(self.db, self.stats, self.bell, size).await;
                    }
                }
                Ok(Event::Incoming(Packet::Publish(p))) => {
                    poisoned = 0;
                    handle(self.db, self.base, &p.topic, &p.payload, self.stats, self.bell, self.offset).await;
                    if let Err(e) = client.ack(&p).await {
                        tracing::warn!(error = %e, "cannot acknowledge a sensor message; the broker sends it again");
                    }
                }
                Ok(_) => {}
                Err(e) => {
                    self.stats.connected.store(false, Ordering::Relaxed);
                    let why = explain(&e, self.config);
                    tracing::warn!(error = %why, retry_in = ?wait, "the door sensors' broker is not reachable");
                    *self.stats.last_error.lock().unwrap_or_else(|p| p.into_inner()) = why;
                    tokio::time::sleep(*wait).await;
                    *wait = (*wait * 2).min(Duration::from_secs(30));
                    // Another process that took the turn also took the
                    // broker's session from us: do not take it back.
                    if !turn.still_held().await {
                        return Ended::TurnGone;
                    }
                    if let Some(size) = oversized(&e) {
                        self.stats.oversized.fetch_add(1, Ordering::Relaxed);
                        (poisoned, largest) = (poisoned + 1, largest.max(size));
                        if poisoned >= POISON_AFTER {
                            tracing::error!(size = largest, "the door sensors' broker sent an oversized message again and again; resetting the session");
                            return Ended::Poisoned(largest);
                        }
                    }
                }
            }
        }
    }
}

/// The size of a packet that broke the connection by being too large.
fn oversized(e: &ConnectionError) -> Option<usize> {
    match e {
        ConnectionError::MqttState(rumqttc::StateError::Deserialization(
            rumqttc::mqttbytes::Error::PayloadSizeLimitExceeded(n),
        )) => Some(*n),
        _ => None,
    }
}

/// Counts the reset and tells every community with door sensors: its
/// messages queued at the broker are gone with the oversized one.
async fn reset_session(db: &Db, stats: &Stats, bell: &tokio::sync::Notify, size: usize) {
    stats.resets.fetch_add(1, Ordering::Relaxed);
    let detail = crate::leaves::detail::Detail::new(
        "sensor_broker",
        [(size >> 10).to_string(), (MAX_PACKET >> 10).to_string()].map(crate::leaves::detail::Arg::from),
    )
    .encode();
    tracing::warn!(%detail, "the door sensors' session was reset");
    let d = detail.clone();
    let raised = db
        .call(move |conn| {
            let now = now_ms();
            let mut raised = 0;
            for community in sensors::communities_with_sensors(conn)? {
                raised += usize::from(
                    crate::records::alerts::raise(
                        conn,
                        &community,
                        shoumen_protocol::AlertKind::SensorBroker,
                        "mqtt",
                        None,
                        &d,
                        now,
                    )?
                    .is_some(),
                );
            }
            Ok(raised)
        })
        .await;
    match raised {
        Ok(0) => {}
        Ok(_) => bell.notify_one(),
        Err(e) => tracing::error!(error = %e, "cannot raise the broker's alert"),
    }
    *stats.last_error.lock().unwrap_or_else(|p| p.into_inner()) = detail;
}

/// Stores one message; retries the database until it answers, so a message
/// is acknowledged only once it is stored (or counted as dropped).
async fn handle(
    db: &Db,
    base: &str,
    topic: &str,
    payload: &[u8],
    stats: &Stats,
    bell: &tokio::sync::Notify,
    offset: i32,
) {
    stats.received.fetch_add(1, Ordering::Relaxed);
    let Some(rest) = topic.strip_prefix(base).and_then(|t| t.strip_prefix('/')).map(str::to_string) else {
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
        let (r, p) = (rest.clone(), payload.clone());
        let result = db
            .call(move |conn| {
                // A topic no sensor could have is an unknown sensor like any other.
                let Some((community, name)) = sensors::resolve(conn, &r)? else { return Ok((Outcome::Unknown, None)) };
                let outcome = sensors::record(conn, &community, &name, &p, now_ms(), offset)?;
                Ok((outcome, Some((community, name))))
            })
            .await;
        match result {
            Ok((outcome, who)) => {
                stats.count(outcome);
                match (outcome, who) {
                    (Outcome::Unknown, Some((community, name))) => stats.saw_unknown(&community, &name),
                    // The alert's message is queued with it: wake the delivery.
                    (Outcome::Alert(_) | Outcome::Flood, _) => bell.notify_one(),
                    _ => {}
                }
                return;
            }
            Err(e) => {
                tracing::error!(error = %e, topic, "cannot store a door sensor's message; trying again");
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(Duration::from_secs(10));
            }
        }
    }
}
