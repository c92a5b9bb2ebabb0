//! The figures: what the issue asks to measure, one line each, and one
//! JSON line for scripts.

use std::time::Duration;

use crate::run::{Load, Sample};
use crate::Args;

/// The `p`th percentile (0–100) of the latencies, in ms.
pub fn percentile(samples: &[Sample], p: f64) -> f64 {
    let mut ms: Vec<f64> = samples.iter().map(|s| s.latency.as_secs_f64() * 1000.0).collect();
    if ms.is_empty() {
        return f64::NAN;
    }
    ms.sort_by(f64::total_cmp);
    let rank = ((p / 100.0) * ms.len() as f64).ceil() as usize;
    ms[rank.clamp(1, ms.len()) - 1]
}

fn within(samples: &[Sample], from: Duration, to: Duration) -> Vec<Sample> {
    samples.iter().copied().filter(|s| s.at >= from && s.at < to).collect()
}

pub fn print(engine: &str, args: &Args, load: &Load) {
    let r = &load.record;
    let live = r.live.lock().unwrap().clone();
    let heartbeats = r.heartbeats.lock().unwrap().clone();
    let errors = r.errors.lock().unwrap().clone();
    let (b_start, b_end, stored) = r.backlog.lock().unwrap().unwrap_or_default();
    let export = *r.export.lock().unwrap();
    let rss = r.rss_kib.lock().unwrap().clone();
    let during_backlog = within(&live, b_start, b_end);
    let backlog_s = (b_end - b_start).as_secs_f64();
    let backlog_rate = stored as f64 / backlog_s.max(f64::MIN_POSITIVE);
    let live_failed = live.iter().filter(|s| !s.ok).count();
    println!("engine                     {engine}");
    println!(
        "live kiosks                {} ({} communities × {}, {} entry/s each)",
        args.communities * args.live,
        args.communities,
        args.live,
        args.rate
    );
    println!(
        "backlog                    {stored} entries from {} kiosks in {backlog_s:.1} s: {backlog_rate:.0} entries/s",
        args.backlog_kiosks
    );
    println!(
        "live pushes during backlog {} pushes, p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        during_backlog.len(),
        percentile(&during_backlog, 50.0),
        percentile(&during_backlog, 99.0),
        percentile(&during_backlog, 100.0)
    );
    println!(
        "live pushes, whole run     {} pushes, p50 {:.1} ms, p99 {:.1} ms, {live_failed} failed",
        live.len(),
        percentile(&live, 50.0),
        percentile(&live, 99.0)
    );
    println!("heartbeats                 {}, p99 {:.1} ms", heartbeats.len(), percentile(&heartbeats, 99.0));
    let mut export_json = serde_json::Value::Null;
    if let Some((start, end, lines, bytes)) = export {
        let during = within(&live, start, end);
        let secs = (end - start).as_secs_f64();
        println!(
            "export                     {} rows, {:.1} MB in {secs:.1} s; live pushes meanwhile: {} pushes, p50 {:.1} ms, p99 {:.1} ms",
            lines.saturating_sub(1),
            bytes as f64 / 1e6,
            during.len(),
            percentile(&during, 50.0),
            percentile(&during, 99.0)
        );
        export_json = serde_json::json!({"rows": lines.saturating_sub(1), "seconds": secs, "live_p99_ms": percentile(&during, 99.0)});
    }
    let scrapes = r.scrapes.lock().unwrap().clone();
    let mut scrape_json = serde_json::Value::Null;
    if !scrapes.is_empty() {
        let as_samples: Vec<Sample> =
            scrapes.iter().map(|(took, _, _)| Sample { at: Duration::ZERO, latency: *took, ok: true }).collect();
        let (bytes, samples) = scrapes.last().map(|(_, b, s)| (*b, *s)).unwrap_or_default();
        println!(
            "metrics scrape             {} scrapes, p50 {:.1} ms, p99 {:.1} ms; {:.0} kB, {samples} samples",
            scrapes.len(),
            percentile(&as_samples, 50.0),
            percentile(&as_samples, 99.0),
            bytes as f64 / 1e3
        );
        scrape_json = serde_json::json!({"p50_ms": percentile(&as_samples, 50.0), "p99_ms": percentile(&as_samples, 99.0), "bytes": bytes, "samples": samples});
    }
    let rss_max = rss.iter().map(|(_, k)| *k).max().unwrap_or(0);
    let rss_end = rss.last().map_or(0, |(_, k)| *k);
    println!(
        "server RSS                 max {:.0} MB, at the end {:.0} MB (the database's own processes not counted)",
        rss_max as f64 / 1024.0,
        rss_end as f64 / 1024.0
    );
    println!("errors                     {}", errors.len());
    let mut kinds: Vec<String> = errors.iter().map(|e| e.chars().take(80).collect()).collect();
    kinds.sort();
    kinds.dedup();
    for e in kinds.iter().take(5) {
        println!("  {e}");
    }
    let json = serde_json::json!({
        "engine": engine,
        "backlog_entries_per_s": backlog_rate,
        "live_p50_ms": percentile(&during_backlog, 50.0),
        "live_p99_ms": percentile(&during_backlog, 99.0),
        "export": export_json,
        "metrics_scrape": scrape_json,
        "errors": errors.len(),
        "server_rss_max_mb": rss_max as f64 / 1024.0,
    });
    println!("json {json}");
}
