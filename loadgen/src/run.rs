//! The load itself: live kiosks pushing at their rate, backlog kiosks
//! pushing as fast as the server takes it, an export in the middle, and
//! the server's memory sampled throughout.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use shoumen_protocol::sync::{PushResponse, MAX_PAGE};

use crate::kiosk::SimKiosk;

/// One push as the loadgen saw it.
#[derive(Clone, Copy, Debug)]
pub struct Sample {
    /// Since the load started.
    pub at: Duration,
    pub latency: Duration,
    pub ok: bool,
}

/// Everything measured, shared by the tasks.
#[derive(Default)]
pub struct Record {
    pub live: Mutex<Vec<Sample>>,
    pub heartbeats: Mutex<Vec<Sample>>,
    pub errors: Mutex<Vec<String>>,
    /// When the backlog kiosks started and finished, and what they stored.
    pub backlog: Mutex<Option<(Duration, Duration, u64)>>,
    /// The export: started, finished, CSV lines, bytes.
    pub export: Mutex<Option<(Duration, Duration, u64, u64)>>,
    pub rss_kib: Mutex<Vec<(Duration, u64)>>,
    /// Each /metrics scrape: how long, bytes, samples.
    pub scrapes: Mutex<Vec<(Duration, usize, usize)>>,
}

impl Record {
    fn error(&self, e: String) {
        let mut errors = self.errors.lock().unwrap();
        if errors.len() < 10_000 {
            errors.push(e);
        }
    }
}

pub struct Load {
    pub url: String,
    pub http: reqwest::Client,
    pub start: Instant,
    pub stop: AtomicBool,
    pub record: Record,
}

/// Pushes `k`'s pending entries once; returns the latency and whether the
/// server stored them.
async fn push(load: &Load, k: &mut SimKiosk, max: usize) -> Sample {
    let at = load.start.elapsed();
    let Some(page) = k.page(max) else { return Sample { at, latency: Duration::ZERO, ok: true } };
    let t = Instant::now();
    let result = load
        .http
        .post(format!("{}/api/v1/entries", load.url))
        .header("Authorization", &k.auth)
        .json(&page)
        .send()
        .await;
    let ok = match result {
        Ok(r) if r.status().is_success() => match r.json::<PushResponse>().await {
            Ok(resp) => {
                k.acked(resp.watermark);
                true
            }
            Err(e) => {
                load.record.error(format!("push answer: {e}"));
                false
            }
        },
        Ok(r) => {
            let status = r.status();
            load.record.error(format!(
                "push {status}: {}",
                r.text().await.unwrap_or_default().chars().take(200).collect::<String>()
            ));
            false
        }
        Err(e) => {
            load.record.error(format!("push: {e}"));
            false
        }
    };
    Sample { at, latency: t.elapsed(), ok }
}

async fn heartbeat(load: &Load, k: &SimKiosk) -> Sample {
    let at = load.start.elapsed();
    let t = Instant::now();
    let hb = k.heartbeat(shoumen_server::db::now_ms());
    let ok = match load
        .http
        .post(format!("{}/api/v1/heartbeat", load.url))
        .header("Authorization", &k.auth)
        .json(&hb)
        .send()
        .await
    {
        Ok(r) if r.status().is_success() => true,
        Ok(r) => {
            load.record.error(format!("heartbeat {}", r.status()));
            false
        }
        Err(e) => {
            load.record.error(format!("heartbeat: {e}"));
            false
        }
    };
    Sample { at, latency: t.elapsed(), ok }
}

/// A gate in use: one entry every `every`, pushed at once, and a heartbeat
/// every `heartbeat`, until the load stops.
pub async fn live(load: Arc<Load>, mut k: SimKiosk, every: Duration, heartbeat_every: Duration) {
    // Kiosks do not all tick at the same instant.
    tokio::time::sleep(every.mul_f64(rand::random::<f64>())).await;
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_heartbeat = Instant::now();
    while !load.stop.load(Ordering::Relaxed) {
        tick.tick().await;
        k.add(shoumen_server::db::now_ms());
        let sample = push(&load, &mut k, MAX_PAGE).await;
        load.record.live.lock().unwrap().push(sample);
        if last_heartbeat.elapsed() >= heartbeat_every {
            last_heartbeat = Instant::now();
            let sample = heartbeat(&load, &k).await;
            load.record.heartbeats.lock().unwrap().push(sample);
        }
    }
}

/// A kiosk back online after a long outage: `n` entries, pushed in full
/// pages as fast as the server takes them. Returns the entries stored.
pub async fn backlog(load: Arc<Load>, mut k: SimKiosk, n: u64) -> u64 {
    let start_ms = shoumen_server::db::now_ms() - 30 * 86_400_000;
    let mut made = 0u64;
    let mut stored = 0u64;
    while (made < n || k.pending() > 0) && !load.stop.load(Ordering::Relaxed) {
        while made < n && k.pending() < MAX_PAGE {
            // Thirty days of entries, oldest first.
            k.add(start_ms + (made as i64) * (30 * 86_400_000 / n.max(1) as i64));
            made += 1;
        }
        let before = k.pending();
        let sample = push(&load, &mut k, MAX_PAGE).await;
        if sample.ok {
            stored += (before - k.pending()) as u64;
        } else {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    stored
}

/// Logs in as the export account and downloads the whole history as CSV;
/// returns (lines, bytes).
pub async fn export(load: &Load, user: &str, password: &str) -> Result<(u64, u64), String> {
    let browser = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| e.to_string())?;
    let login = browser
        .get(format!("{}/login", load.url))
        .send()
        .await
        .map_err(|e| e.to_string())?
        .text()
        .await
        .map_err(|e| e.to_string())?;
    // The hidden field's attributes, quoted or not.
    let mark = ["name=\"csrf\" value=\"", "name=csrf value=\""]
        .into_iter()
        .find_map(|m| login.find(m).map(|at| at + m.len()))
        .ok_or("no login form")?;
    let at = mark;
    let csrf = &login[at..at + 32];
    let r = browser
        .post(format!("{}/login", load.url))
        .form(&[("user", user), ("password", password), ("csrf", csrf)])
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if r.status() != 303 {
        return Err(format!("export login answered {}", r.status()));
    }
    let to = shoumen_server::web::fmt_ms(shoumen_server::db::now_ms() + 86_400_000, 480)[..10].to_string();
    let r = browser
        .get(format!("{}/export.csv?from=2000-01-01&to={to}", load.url))
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let mut body = r.bytes_stream();
    let (mut lines, mut bytes) = (0u64, 0u64);
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|e| e.to_string())?;
        bytes += chunk.len() as u64;
        lines += chunk.iter().filter(|b| **b == b'\n').count() as u64;
    }
    Ok((lines, bytes))
}

/// Samples the server process's resident memory twice a second.
pub async fn sample_rss(load: Arc<Load>, pid: u32) {
    while !load.stop.load(Ordering::Relaxed) {
        if let Some(kib) = rss_kib(pid) {
            load.record.rss_kib.lock().unwrap().push((load.start.elapsed(), kib));
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

pub fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// Scrapes /metrics `n` times, each after the server's page cache expired,
/// as Prometheus would (every 15 s or more).
pub async fn scrape(load: Arc<Load>, token: &'static str, n: usize, save: Option<std::path::PathBuf>) {
    let wait = shoumen_server::metrics::CACHE_FOR + Duration::from_millis(200);
    for _ in 0..n {
        tokio::time::sleep(wait).await;
        let started = Instant::now();
        let got = load
            .http
            .get(format!("{}/metrics", load.url))
            .bearer_auth(token)
            .send()
            .await
            .and_then(|r| r.error_for_status());
        let body = match got {
            Ok(r) => r.text().await,
            Err(e) => Err(e),
        };
        match body {
            Ok(text) => {
                let took = started.elapsed();
                let samples = text.lines().filter(|l| !l.starts_with('#') && !l.is_empty()).count();
                load.record.scrapes.lock().unwrap().push((took, text.len(), samples));
                if let Some(path) = &save {
                    if let Err(e) = std::fs::write(path, &text) {
                        load.record.error(format!("cannot keep the scraped page in {}: {e}", path.display()));
                    }
                }
            }
            Err(e) => load.record.error(format!("metrics: {e}")),
        }
    }
}
