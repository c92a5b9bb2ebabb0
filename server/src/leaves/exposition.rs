//! The Prometheus text exposition format (version 0.0.4), written by hand:
//! a few families, each `# HELP`, `# TYPE` and its samples, and a latency
//! histogram kept in atomics. Names follow Prometheus' conventions (base
//! units, `_total` for counters, `_seconds`, `_bytes`).

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// What `/metrics` answers with.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// A page of families being written.
#[derive(Default)]
pub struct Exposition {
    out: String,
}

impl Exposition {
    /// Starts a family: its help text and type (`gauge`, `counter`, `histogram`).
    pub fn family(&mut self, name: &str, kind: &str, help: &str) {
        let _ = writeln!(self.out, "# HELP {name} {help}\n# TYPE {name} {kind}");
    }

    /// One sample of the current family.
    pub fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: f64) {
        self.out.push_str(name);
        if !labels.is_empty() {
            self.out.push('{');
            for (i, (k, v)) in labels.iter().enumerate() {
                if i > 0 {
                    self.out.push(',');
                }
                let _ = write!(self.out, "{k}=\"{}\"", escape(v));
            }
            self.out.push('}');
        }
        let _ = writeln!(self.out, " {}", number(value));
    }

    pub fn finish(self) -> String {
        self.out
    }
}

/// A label value as the format wants it: backslash, quote and newline escaped.
fn escape(v: &str) -> String {
    v.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

fn number(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v.is_infinite() {
        if v > 0.0 { "+Inf" } else { "-Inf" }.into()
    } else if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}

/// Upper bounds (seconds) of the request latency buckets.
pub const LATENCY_BUCKETS: [f64; 11] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

/// A latency histogram: counts per bucket (not cumulative), the sum in
/// microseconds, the count.
#[derive(Default)]
pub struct Histogram {
    buckets: [AtomicU64; LATENCY_BUCKETS.len()],
    sum_us: AtomicU64,
    count: AtomicU64,
}

impl Histogram {
    pub fn observe(&self, took: Duration) {
        let s = took.as_secs_f64();
        if let Some(i) = LATENCY_BUCKETS.iter().position(|&b| s <= b) {
            self.buckets[i].fetch_add(1, Ordering::Relaxed);
        }
        self.sum_us.fetch_add(took.as_micros() as u64, Ordering::Relaxed);
        self.count.fetch_add(1, Ordering::Relaxed);
    }

    pub fn count(&self) -> u64 {
        self.count.load(Ordering::Relaxed)
    }

    /// The samples of this histogram under `name`, with `labels` and `le`.
    pub fn write(&self, page: &mut Exposition, name: &str, labels: &[(&str, &str)]) {
        let mut cumulative = 0;
        let bucket = format!("{name}_bucket");
        for (i, bound) in LATENCY_BUCKETS.iter().enumerate() {
            cumulative += self.buckets[i].load(Ordering::Relaxed);
            let le = number(*bound);
            let mut with_le = labels.to_vec();
            with_le.push(("le", &le));
            page.sample(&bucket, &with_le, cumulative as f64);
        }
        let count = self.count() as f64;
        let mut with_le = labels.to_vec();
        with_le.push(("le", "+Inf"));
        page.sample(&bucket, &with_le, count);
        page.sample(&format!("{name}_sum"), labels, self.sum_us.load(Ordering::Relaxed) as f64 / 1e6);
        page.sample(&format!("{name}_count"), labels, count);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_are_written_as_the_text_format_wants_them() {
        let mut page = Exposition::default();
        page.family("shoumen_kiosk_queue_entries", "gauge", "Entries waiting.");
        page.sample("shoumen_kiosk_queue_entries", &[("gate", "东门 \"A\"\n")], 3.0);
        page.sample("shoumen_kiosk_queue_entries", &[], 0.25);
        let h = Histogram::default();
        h.observe(Duration::from_millis(7));
        h.observe(Duration::from_secs(30));
        h.write(&mut page, "shoumen_http_request_duration_seconds", &[("lane", "kiosk")]);
        let text = page.finish();
        assert!(text.starts_with(
            "# HELP shoumen_kiosk_queue_entries Entries waiting.\n# TYPE shoumen_kiosk_queue_entries gauge\n"
        ));
        assert!(text.contains("shoumen_kiosk_queue_entries{gate=\"东门 \\\"A\\\"\\n\"} 3\n"), "{text}");
        assert!(text.contains("shoumen_kiosk_queue_entries 0.25\n"));
        assert!(text.contains("_bucket{lane=\"kiosk\",le=\"0.005\"} 0\n"));
        assert!(text.contains("_bucket{lane=\"kiosk\",le=\"0.01\"} 1\n"));
        assert!(text.contains("_bucket{lane=\"kiosk\",le=\"10\"} 1\n"));
        assert!(text.contains("_bucket{lane=\"kiosk\",le=\"+Inf\"} 2\n"));
        assert!(text.contains("shoumen_http_request_duration_seconds_count{lane=\"kiosk\"} 2\n"));
    }
}
