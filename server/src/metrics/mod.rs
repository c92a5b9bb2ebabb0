//! `GET /metrics`: the fleet and the server in Prometheus' text format,
//! for a district's Prometheus, Alertmanager and Grafana
//! (docs/operations.md). Not public: it answers only a bearer token set
//! with `--metrics-token-file`, and without one the route is not there.
//! Per kiosk (community, gate and kiosk labels; no personal data) about 20
//! series; one query over `devices`, and the page is reused for
//! [`CACHE_FOR`] so a scraper cannot make the server recompute it faster.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use shoumen_protocol::time::TimeTrust;

use crate::db::DbError;
use crate::leaves::exposition::{Exposition, Histogram, CONTENT_TYPE};
use crate::records::devices::{self, FleetKiosk};
use crate::AppState;

/// How long one rendering of the page is served.
pub const CACHE_FOR: Duration = Duration::from_secs(5);

/// Which kind of client a request is, for counting.
#[derive(Clone, Copy)]
enum Lane {
    /// The kiosk API.
    Kiosk,
    /// Pages anyone may open: visitors, returnees, check-ins, receipts, the log.
    Public,
    /// The committee's pages.
    Pages,
}

const LANES: [(Lane, &str); 3] = [(Lane::Kiosk, "kiosk"), (Lane::Public, "public"), (Lane::Pages, "pages")];

fn lane(path: &str) -> Lane {
    const PUBLIC: [&str; 8] = ["/v/", "/r/", "/c/", "/p/", "/log/", "/verify", "/invite/", "/static/"];
    if path.starts_with("/api/") {
        Lane::Kiosk
    } else if PUBLIC.iter().any(|p| path.starts_with(p)) {
        Lane::Public
    } else {
        Lane::Pages
    }
}

/// What the server counts for `/metrics` while it runs.
#[derive(Default)]
pub struct Telemetry {
    latency: [Histogram; 3],
    errors: [AtomicU64; 3],
    page: Mutex<Option<(Instant, Arc<String>)>>,
    /// The last answer of `/healthz`, and when.
    health: Mutex<Option<(Instant, bool)>>,
}

/// Counts every request by lane: its latency, and whether it failed (5xx).
pub async fn count_requests(State(app): State<AppState>, request: Request, next: Next) -> Response {
    let i = lane(request.uri().path()) as usize;
    let started = Instant::now();
    let response = next.run(request).await;
    app.telemetry.latency[i].observe(started.elapsed());
    if response.status().is_server_error() {
        app.telemetry.errors[i].fetch_add(1, Ordering::Relaxed);
    }
    response
}

pub fn routes() -> Router<AppState> {
    Router::new().route("/metrics", get(scrape)).route("/healthz", get(health))
}

/// How long a health answer is reused: a load balancer asks every few
/// seconds, and nobody can make the server ask its database faster.
pub const HEALTH_FOR: Duration = Duration::from_secs(1);

/// For a load balancer (HAProxy's `option httpchk GET /healthz`): 200 when
/// this process can write its database, 503 when it cannot (a PostgreSQL
/// standby not yet promoted, or no database at all), so traffic goes only
/// to processes that can store what kiosks push. No token: it says nothing
/// but yes or no.
async fn health(State(app): State<AppState>) -> Response {
    let cached = *app.telemetry.health.lock().unwrap_or_else(|e| e.into_inner());
    let ok = match cached {
        Some((at, ok)) if at.elapsed() < HEALTH_FOR => ok,
        _ => {
            let ok = match app.db.writable().await {
                Ok(ok) => ok,
                Err(e) => {
                    tracing::warn!(error = %e, "health check: the database does not answer");
                    false
                }
            };
            *app.telemetry.health.lock().unwrap_or_else(|e| e.into_inner()) = Some((Instant::now(), ok));
            ok
        }
    };
    if ok {
        (StatusCode::OK, "ok: the database takes writes\n").into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "not ready: the database does not take writes (a standby, or unreachable)\n")
            .into_response()
    }
}

async fn scrape(State(app): State<AppState>, headers: HeaderMap) -> Response {
    let Some(token) = app.config.metrics_token.as_deref() else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    if !crate::leaves::secrets::same_digest(given, token) {
        return (StatusCode::UNAUTHORIZED, [(header::WWW_AUTHENTICATE, "Bearer")], "a metrics token is needed\n")
            .into_response();
    }
    let cached = app.telemetry.page.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let page = match cached {
        Some((at, page)) if at.elapsed() < CACHE_FOR => page,
        _ => match render(&app).await {
            Ok(page) => {
                let page = Arc::new(page);
                *app.telemetry.page.lock().unwrap_or_else(|e| e.into_inner()) = Some((Instant::now(), page.clone()));
                page
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot read the fleet for /metrics");
                return (StatusCode::SERVICE_UNAVAILABLE, "the database did not answer; see the server's log\n")
                    .into_response();
            }
        },
    };
    ([(header::CONTENT_TYPE, CONTENT_TYPE)], page.as_str().to_owned()).into_response()
}

async fn render(app: &AppState) -> Result<String, DbError> {
    let (fleet, outbox, drill, rollout) = app
        .db
        .call(|conn| {
            let fleet = devices::fleet(conn, None)?;
            let outbox = crate::records::alerts::outbox_counts(conn)?;
            let drill = crate::records::drill::last_success(conn)?;
            let rollout = crate::records::updates::newest(conn)?;
            Ok::<_, DbError>((fleet, outbox, drill, rollout))
        })
        .await?;
    let mut page = Exposition::default();
    kiosk_families(&mut page, &fleet);
    server_families(&mut page, app, outbox);
    // Absent until a drill has passed: an alert on its age (docs/operations.md)
    // then also fires for a district that never ran one.
    if let Some(ms) = drill {
        page.family(
            "shoumen_restore_drill_last_success_timestamp_seconds",
            "gauge",
            "When a restore drill of a backup last passed (shoumen-server restore-drill).",
        );
        page.sample("shoumen_restore_drill_last_success_timestamp_seconds", &[], ms as f64 / 1000.0);
    }
    // One series, the newest rollout's; absent before the district's first.
    // A halted one leaves the fleet on two versions until someone looks.
    if let Some(r) = rollout {
        page.family(
            "shoumen_rollout_halted",
            "gauge",
            "1 when the newest software rollout was halted (a gate failed the new version's self-test and rolled back, or a person halted it), else 0.",
        );
        page.sample("shoumen_rollout_halted", &[("version", &r.version)], f64::from(u8::from(r.halted.is_some())));
    }
    Ok(page.finish())
}

/// A kiosk's gauge: its value if it has one.
type Gauge = fn(&FleetKiosk) -> Option<f64>;

const KIOSK_GAUGES: [(&str, &str, Gauge); 11] = [
    ("shoumen_kiosk_last_heartbeat_timestamp_seconds", "When the kiosk last reached the server (unix seconds).", |k| {
        k.last_seen_ms.map(|t| t as f64 / 1000.0)
    }),
    ("shoumen_kiosk_queue_entries", "Entries the kiosk holds that the server has not stored yet.", |k| {
        k.queue.map(|q| q as f64)
    }),
    ("shoumen_kiosk_clock_offset_seconds", "The server's time minus the kiosk's own clock.", |k| {
        k.skew_ms.map(|s| s as f64 / 1000.0)
    }),
    (
        "shoumen_kiosk_clock_trusted",
        "1 if the kiosk vouches for the time it decides by (server or NTP), 0 if not.",
        |k| k.time_trust.map(|t| f64::from(u8::from(t != TimeTrust::Uncertain))),
    ),
    ("shoumen_kiosk_clock_server_set", "1 if the kiosk decides by the server's signed time.", |k| {
        k.time_trust.map(|t| f64::from(u8::from(t == TimeTrust::Server)))
    }),
    ("shoumen_kiosk_lists_version", "Version of the list bundle the kiosk holds.", |k| {
        k.lists_version.map(|v| v as f64)
    }),
    ("shoumen_kiosk_lists_age_seconds", "How old the kiosk's lists are, by its own reckoning.", |k| {
        k.vitals.as_ref().and_then(|v| v.lists_age_s).map(|s| s as f64)
    }),
    ("shoumen_kiosk_evidence_log_size", "Size of the evidence log whose head the kiosk holds.", |k| {
        k.log_size.map(|v| v as f64)
    }),
    ("shoumen_kiosk_cpu_temperature_celsius", "The kiosk's SoC temperature.", |k| {
        k.vitals.as_ref().and_then(|v| v.cpu_temp_c).map(f64::from)
    }),
    ("shoumen_kiosk_disk_free_bytes", "Free space where the kiosk keeps its entry log.", |k| {
        k.vitals.as_ref().and_then(|v| v.disk_free_bytes).map(|b| b as f64)
    }),
    ("shoumen_kiosk_scan_seconds", "Mean time the kiosk takes to scan one camera frame.", |k| {
        k.vitals.as_ref().and_then(|v| v.scan_ms).map(|ms| f64::from(ms) / 1000.0)
    }),
];

/// A kiosk's labels: which community, which gate, which kiosk.
fn labels(k: &FleetKiosk) -> [(&'static str, &str); 3] {
    [("community", k.community.as_str()), ("gate", k.gate.as_str()), ("kiosk", k.id.as_str())]
}

fn kiosk_families(page: &mut Exposition, fleet: &[FleetKiosk]) {
    for (name, help, value) in KIOSK_GAUGES {
        page.family(name, "gauge", help);
        for k in fleet {
            if let Some(v) = value(k) {
                page.sample(name, &labels(k), v);
            }
        }
    }
    page.family("shoumen_kiosk_info", "gauge", "The kiosk's software version, as a label; always 1.");
    for k in fleet {
        let [c, g, id] = labels(k);
        page.sample("shoumen_kiosk_info", &[c, g, id, ("version", k.version.as_deref().unwrap_or(""))], 1.0);
    }
    page.family(
        "shoumen_kiosk_part_ok",
        "gauge",
        "1 if a part of the kiosk (camera, thermometer, gpio, disk …) is working.",
    );
    for k in fleet {
        let [c, g, id] = labels(k);
        for h in &k.health {
            page.sample("shoumen_kiosk_part_ok", &[c, g, id, ("part", &h.device)], f64::from(u8::from(h.ok)));
        }
    }
}

fn server_families(page: &mut Exposition, app: &AppState, (pending, failing): (i64, i64)) {
    page.family("shoumen_build_info", "gauge", "The server's version, as a label; always 1.");
    page.sample("shoumen_build_info", &[("version", env!("CARGO_PKG_VERSION"))], 1.0);
    page.family(
        "shoumen_http_request_duration_seconds",
        "histogram",
        "Requests served, by lane, and how long they took.",
    );
    for (lane, name) in LANES {
        app.telemetry.latency[lane as usize].write(page, "shoumen_http_request_duration_seconds", &[("lane", name)]);
    }
    page.family("shoumen_http_server_errors_total", "counter", "Requests answered 5xx, by lane.");
    for (lane, name) in LANES {
        let n = app.telemetry.errors[lane as usize].load(Ordering::Relaxed);
        page.sample("shoumen_http_server_errors_total", &[("lane", name)], n as f64);
    }
    page.family(
        "shoumen_webhook_outbox_pending",
        "gauge",
        "Alert messages not yet delivered to the committees' robots.",
    );
    page.sample("shoumen_webhook_outbox_pending", &[], pending as f64);
    page.family("shoumen_webhook_outbox_failing", "gauge", "Undelivered alert messages that failed at least once.");
    page.sample("shoumen_webhook_outbox_failing", &[], failing as f64);
    let lanes = app.db.lanes();
    page.family("shoumen_db_lane_in_use", "gauge", "Database connections (or slots) taken now, by lane.");
    for l in lanes {
        page.sample("shoumen_db_lane_in_use", &[("lane", l.lane)], l.in_use as f64);
    }
    page.family("shoumen_db_lane_size", "gauge", "Database connections (or slots) each lane has.");
    for l in lanes {
        page.sample("shoumen_db_lane_size", &[("lane", l.lane)], l.size as f64);
    }
    let seq = &app.sequencer.stats;
    page.family(
        "shoumen_evidence_batches_total",
        "counter",
        "Batches the evidence log's writer committed or tried to.",
    );
    page.sample("shoumen_evidence_batches_total", &[], seq.batches.load(Ordering::Relaxed) as f64);
    page.family(
        "shoumen_evidence_batch_jobs_total",
        "counter",
        "Registrations in those batches (over batches: the mean batch size).",
    );
    page.sample("shoumen_evidence_batch_jobs_total", &[], seq.jobs.load(Ordering::Relaxed) as f64);
    page.family("shoumen_evidence_batches_failed_total", "counter", "Batches that rolled back whole.");
    page.sample("shoumen_evidence_batches_failed_total", &[], seq.failed.load(Ordering::Relaxed) as f64);
    let mq = &app.mqtt_stats;
    page.family("shoumen_mqtt_connected", "gauge", "1 if the door sensors' broker is connected.");
    page.sample("shoumen_mqtt_connected", &[], f64::from(u8::from(mq.connected.load(Ordering::Relaxed))));
    page.family(
        "shoumen_mqtt_standby",
        "gauge",
        "1 if another server process on the database listens to the door sensors and this one waits its turn.",
    );
    page.sample("shoumen_mqtt_standby", &[], f64::from(u8::from(mq.waiting.load(Ordering::Relaxed))));
    page.family("shoumen_mqtt_messages_total", "counter", "Door sensor messages, by what became of them.");
    for (outcome, counter) in [
        ("received", &mq.received),
        ("stored", &mq.stored),
        ("alert", &mq.alerts),
        ("not_json", &mq.not_json),
        ("too_big", &mq.too_big),
        ("unknown_sensor", &mq.unknown),
        ("flood", &mq.flood),
        ("oversized", &mq.oversized),
    ] {
        page.sample("shoumen_mqtt_messages_total", &[("outcome", outcome)], counter.load(Ordering::Relaxed) as f64);
    }
    page.family("shoumen_mqtt_session_resets_total", "counter", "Broker sessions reset to drop an oversized message.");
    page.sample("shoumen_mqtt_session_resets_total", &[], mq.resets.load(Ordering::Relaxed) as f64);
}
