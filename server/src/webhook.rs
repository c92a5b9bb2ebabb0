//! The community's outgoing webhook: new alerts become messages for a WeCom
//! (企业微信) group robot, a DingTalk robot, or any receiver of plain JSON.
//!
//! `alerts::raise` writes an alert and its outbox row in the caller's
//! transaction; this module only delivers: a background task sends each
//! row with retries and backoff. Delivery never holds up a kiosk's push, and
//! a receiver that is down for a day costs at most [`MAX_PENDING`] rows.

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use tokio::sync::Notify;

use crate::db::{now_ms, Db, DbError};
use crate::leaves::place::Place;
use crate::leaves::time::fmt_ms;
use crate::leaves::words::{alert_text, detail_text, device_text, t, Lang};
pub use crate::records::alerts::MAX_PENDING;
use crate::records::alerts::{self, AlertRow, Outbox};
pub use crate::records::robot::{get, pending, set, Format, Webhook};
use crate::records::roster::Reminder;
use crate::reports::summary::Daily;

/// Attempts before a message is given up.
pub const MAX_ATTEMPTS: i64 = 12;

/// The body to POST for `alert`.
pub fn message(
    format: Format,
    community: &str,
    place: &Place,
    public_url: &str,
    utc_offset_min: i32,
    alert: &AlertRow,
) -> serde_json::Value {
    match format {
        Format::WeCom | Format::DingTalk => {
            let mut text = format!(
                "【{name}】{kind}\n门岗：{gate}\n{detail}\n时间：{time}",
                name = place.name_or(community),
                kind = place.say(&alert_text(Lang::Zh, &alert.kind)),
                gate = device_text(Lang::Zh, &alert.gate),
                detail = place.say(&detail_text(Lang::Zh, &alert.detail, utc_offset_min)),
                time = fmt_ms(alert.last_ms, utc_offset_min),
            );
            if alert.count > 1 {
                text += &format!("（第 {} 次）", alert.count);
            }
            text += &format!("\n{public_url}/alerts");
            json!({ "msgtype": "text", "text": { "content": text } })
        }
        Format::Json => json!({
            "community": community,
            "id": alert.id,
            "kind": alert.kind,
            "kind_zh": place.say(&alert_text(Lang::Zh, &alert.kind)),
            "kind_en": alert_text(Lang::En, &alert.kind),
            "device": alert.device,
            "gate": alert.gate,
            "detail": detail_text(Lang::En, &alert.detail, utc_offset_min),
            "detail_zh": place.say(&detail_text(Lang::Zh, &alert.detail, utc_offset_min)),
            "first_ms": alert.first_ms,
            "last_ms": alert.last_ms,
            "count": alert.count,
            "url": format!("{public_url}/alerts"),
        }),
    }
}

/// DingTalk's signature: `timestamp` and `sign` query parameters, where
/// sign = base64(HMAC-SHA256(secret, "timestamp\nsecret")).
pub fn dingtalk_url(url: &str, secret: &str, timestamp_ms: i64) -> String {
    use base64::Engine;
    use hmac::{Hmac, Mac};
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    mac.update(format!("{timestamp_ms}\n{secret}").as_bytes());
    let sign = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    let sign = sign.replace('+', "%2B").replace('/', "%2F").replace('=', "%3D");
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}timestamp={timestamp_ms}&sign={sign}")
}

/// What the delivery task needs to know.
#[derive(Clone)]
pub struct Delivery {
    pub db: Db,
    pub public_url: String,
    pub utc_offset_min: i32,
    /// Rung when a message is queued.
    pub bell: Arc<Notify>,
    pub timeout: Duration,
}

/// The server's HTTP client for requests it makes (robots, witnesses):
/// each whole request bounded by `timeout`, named in its user agent.
pub fn client(timeout: Duration) -> reqwest::Result<reqwest::Client> {
    reqwest::Client::builder()
        .timeout(timeout)
        .user_agent(concat!("shoumen-server/", env!("CARGO_PKG_VERSION")))
        .build()
}

/// Delivers queued messages until the runtime stops: at once when rung,
/// and every few seconds for retries that have come due.
pub async fn deliver_forever(d: Delivery) {
    let http = match client(d.timeout) {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "cannot build the webhook client; alerts stay on the Alerts page only");
            return;
        }
    };
    loop {
        if let Err(e) = deliver_due(&d, &http).await {
            tracing::warn!(error = %e, "webhook delivery round failed");
        }
        tokio::select! {
            _ = d.bell.notified() => {}
            _ = tokio::time::sleep(Duration::from_secs(5)) => {}
        }
    }
}

/// Sends every message that is due; returns how many were delivered.
/// Each is claimed first (`alerts::claim_due`), so processes sharing the
/// outbox send each message once.
pub async fn deliver_due(d: &Delivery, http: &reqwest::Client) -> Result<usize, DbError> {
    // Long enough for the send and its record; a dead claimant's message
    // is given up once it runs out (`alerts::claim_due`).
    let lease_ms = d.timeout.as_millis() as i64 + 60_000;
    let mut delivered = 0;
    // A round's bound, as before: the rest waits for the next round.
    for _ in 0..20 {
        let claim = claim_token();
        let next =
            d.db.call(move |conn| {
                let Some(row) = alerts::claim_due(conn, now_ms(), MAX_ATTEMPTS, lease_ms, &claim)? else {
                    return Ok(None);
                };
                // A daily summary carries its figures, a shift's reminder
                // the shift; an alert is read now.
                let reminder = row.summary.as_deref().and_then(|s| serde_json::from_str::<Reminder>(s).ok());
                let daily = row.summary.as_deref().and_then(|s| serde_json::from_str::<Daily>(s).ok());
                let item = match (row.community.clone(), reminder, daily) {
                    (Some(c), Some(r), _) if r.kind == "shift_reminder" => Item::Reminder(c, r),
                    (Some(c), _, Some(daily)) => Item::Summary(c, daily),
                    _ => match alerts::get(conn, row.alert_id)? {
                        Some(alert) => Item::Alert(alert),
                        None => return Ok(Some((row, None))),
                    },
                };
                let Some(hook) = get(conn, item.community())? else { return Ok(Some((row, None))) };
                let place = crate::records::community::place(conn, item.community())?;
                Ok(Some((row, Some((item, hook, place)))))
            })
            .await?;
        let Some((row, work)) = next else { break };
        // Nothing to send it with (the alert pruned, the webhook removed):
        // an attempt that failed, looked at again after the lease.
        let Some((item, hook, place)) = work else {
            let attempt = Outbox::Failed { retry_at_ms: now_ms() + lease_ms, error: "no webhook or alert".into() };
            d.db.call(move |conn| alerts::record_attempt(conn, &row, &attempt)).await?;
            continue;
        };
        let body = match &item {
            Item::Alert(alert) => {
                message(hook.format, &alert.community, &place, &d.public_url, d.utc_offset_min, alert)
            }
            Item::Summary(_, daily) => summary_message(hook.format, daily, &place, &d.public_url),
            Item::Reminder(c, r) => reminder_message(hook.format, c, r, &place, &d.public_url, d.utc_offset_min),
        };
        let attempt = match post(http, &hook, &body).await {
            Ok(()) => {
                delivered += 1;
                Outbox::Delivered { at_ms: now_ms() }
            }
            Err(e) => {
                let wait = backoff_ms(row.attempts);
                tracing::warn!(outbox = row.id, attempt = row.attempts + 1, error = %e, "webhook delivery failed; will retry");
                Outbox::Failed { retry_at_ms: now_ms() + wait, error: e }
            }
        };
        let id = row.id;
        if !d.db.call(move |conn| alerts::record_attempt(conn, &row, &attempt)).await? {
            tracing::warn!(outbox = id, "another server process took this message over after its lease ran out");
        }
    }
    Ok(delivered)
}

/// A claim's token: this process and a number it never gives twice.
fn claim_token() -> String {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!("{}:{n}", crate::records::chores::process())
}

/// What an outbox row sends.
enum Item {
    Alert(AlertRow),
    /// A community's daily summary.
    Summary(String, crate::reports::summary::Daily),
    /// A shift starting within the hour.
    Reminder(String, Reminder),
}

impl Item {
    fn community(&self) -> &str {
        match self {
            Item::Alert(a) => &a.community,
            Item::Summary(c, _) | Item::Reminder(c, _) => c,
        }
    }
}

/// 5 s, 10 s, 20 s … capped at an hour, with full jitter.
fn backoff_ms(attempts: i64) -> i64 {
    let ceiling = (5_000i64 << attempts.clamp(0, 20)).min(3_600_000);
    (ceiling as f64 * (0.5 + rand::random::<f64>() / 2.0)) as i64
}

async fn post(http: &reqwest::Client, hook: &Webhook, body: &serde_json::Value) -> Result<(), String> {
    let url = match hook.format {
        Format::DingTalk if !hook.secret.is_empty() => dingtalk_url(&hook.url, &hook.secret, now_ms()),
        _ => hook.url.clone(),
    };
    let resp = http.post(&url).json(body).send().await.map_err(|e| format!("cannot reach the webhook: {e}"))?;
    let status = resp.status();
    let text = resp.text().await.unwrap_or_default();
    if !status.is_success() {
        return Err(format!("the webhook answered {status}: {}", text.chars().take(200).collect::<String>()));
    }
    // WeCom and DingTalk answer 200 with {"errcode": N}; 0 is success.
    if matches!(hook.format, Format::WeCom | Format::DingTalk) {
        let code = serde_json::from_str::<serde_json::Value>(&text)
            .ok()
            .and_then(|v| v.get("errcode").and_then(|c| c.as_i64()));
        if code != Some(0) {
            return Err(format!("the robot refused the message: {}", text.chars().take(200).collect::<String>()));
        }
    }
    Ok(())
}

/// The daily summary's message for the community's webhook.
pub fn summary_message(format: Format, d: &Daily, place: &Place, public_url: &str) -> serde_json::Value {
    match format {
        Format::WeCom | Format::DingTalk => {
            let mut text = format!("【{}】{} 每日汇总", place.name_or(&d.community), d.day);
            for (key, value) in d.figures() {
                text += &format!("\n{}：{value}", place.say(t(Lang::Zh, key)));
            }
            text += &format!("\n{public_url}/summary?day={}", d.day);
            json!({ "msgtype": "text", "text": { "content": text } })
        }
        Format::Json => {
            json!({ "kind": "daily_summary", "summary": d, "url": format!("{public_url}/summary?day={}", d.day) })
        }
    }
}

/// A shift's reminder for the community's robot: where, when, who, and
/// how many are still missing.
pub fn reminder_message(
    format: Format,
    community: &str,
    r: &Reminder,
    place: &Place,
    public_url: &str,
    offset: i32,
) -> serde_json::Value {
    let (start, end) = (crate::leaves::time::fmt_ms(r.start_ms, offset), crate::leaves::time::fmt_ms(r.end_ms, offset));
    match format {
        Format::WeCom | Format::DingTalk => {
            let who = if r.people.is_empty() { "无人报名".to_string() } else { r.people.join("、") };
            let mut text = format!(
                "【{}】值班提醒：{} {} {}–{}，{who}",
                place.name_or(community),
                r.gate,
                &start[5..10],
                &start[11..16],
                &end[11..16]
            );
            let gap = r.needed - r.people.len() as i64;
            if gap > 0 {
                text += &format!("，缺 {gap} 人");
            }
            text += &format!("\n{public_url}/roster");
            json!({ "msgtype": "text", "text": { "content": text } })
        }
        Format::Json => json!({ "kind": "shift_reminder", "shift": r, "url": format!("{public_url}/roster") }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dingtalk_signatures_follow_the_documented_recipe() {
        // HMAC-SHA256("SECabc", "1700000000000\nSECabc"), base64, URL-encoded.
        let url = dingtalk_url("https://oapi.dingtalk.com/robot/send?access_token=t", "SECabc", 1_700_000_000_000);
        assert!(
            url.starts_with("https://oapi.dingtalk.com/robot/send?access_token=t&timestamp=1700000000000&sign="),
            "{url}"
        );
        let sign = url.rsplit("sign=").next().unwrap();
        assert!(!sign.contains(['+', '/', '=']), "{sign}");
        assert_eq!(dingtalk_url("https://x/send", "s", 1).matches('?').count(), 1);
    }

    #[test]
    fn backoff_grows_and_stays_under_an_hour() {
        assert!(backoff_ms(0) <= 5_000 && backoff_ms(0) >= 2_500);
        assert!(backoff_ms(30) <= 3_600_000);
    }

    #[test]
    fn bad_webhook_settings_are_refused() {
        assert!(Webhook::new("ftp://x", "wecom", "").is_err());
        assert!(Webhook::new("https://x", "telegram", "").is_err());
        assert!(Webhook::new("https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k", "wecom", "").is_ok());
    }

    #[test]
    fn a_robot_message_lists_every_figure_in_chinese() {
        let d = crate::reports::summary::Daily {
            community: "lotus".into(),
            day: "2026-11-28".into(),
            entries: 412,
            fever: 2,
            ..crate::reports::summary::Daily::default()
        };
        let place = Place::check("莲花小区", "沪").unwrap();
        let m = summary_message(Format::WeCom, &d, &place, "https://c.example");
        let text = m["text"]["content"].as_str().unwrap();
        assert!(text.starts_with("【莲花小区】2026-11-28 每日汇总"), "{text}");
        assert!(text.contains("返沪登记（承诺书）"), "{text}");
        assert!(text.contains("\n通行记录：412") && text.contains("：2"), "{text}");
        assert_eq!(text.lines().count(), 1 + crate::reports::summary::FIGURES.len() + 1);
        assert_eq!(summary_message(Format::Json, &d, &place, "u")["summary"]["entries"], 412);
    }
}
