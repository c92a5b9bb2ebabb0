//! The community's robot: where its alerts and daily summaries are sent
//! (a WeCom or DingTalk group robot, or any receiver of JSON), set on the
//! Alerts page. `webhook` delivers; the outbox is the alerts'.

use crate::db::{Conn, DbError};
use crate::vals;

/// The message shape the receiver expects.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// 企业微信 group robot: `{"msgtype":"text","text":{"content":…}}`.
    WeCom,
    /// DingTalk custom robot; optionally signed with its secret.
    DingTalk,
    /// Every field of the alert as JSON.
    Json,
}

impl Format {
    pub const ALL: [Format; 3] = [Format::WeCom, Format::DingTalk, Format::Json];

    pub fn as_str(self) -> &'static str {
        match self {
            Format::WeCom => "wecom",
            Format::DingTalk => "dingtalk",
            Format::Json => "json",
        }
    }

    pub fn parse(s: &str) -> Option<Format> {
        Format::ALL.into_iter().find(|f| f.as_str() == s)
    }
}

/// Where new alerts go.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Webhook {
    pub url: String,
    pub format: Format,
    /// DingTalk's signing secret ("SEC…"), if the robot has one.
    pub secret: String,
}

impl Webhook {
    /// Checks what a committee member typed: an http(s) URL of sane length.
    /// An error is a detail key (`leaves::detail`).
    pub fn new(url: &str, format: &str, secret: &str) -> Result<Webhook, String> {
        let url = url.trim();
        let format = Format::parse(format).ok_or_else(|| crate::leaves::detail::enc("err_webhook_format", &[]))?;
        if !(url.starts_with("https://") || url.starts_with("http://"))
            || url.len() > 500
            || url.chars().any(char::is_whitespace)
        {
            return Err(crate::leaves::detail::enc("err_webhook_url", &[]));
        }
        if secret.len() > 200 {
            return Err(crate::leaves::detail::enc("err_webhook_secret", &[]));
        }
        Ok(Webhook { url: url.into(), format, secret: secret.trim().into() })
    }
}

/// The webhook of `community`, if it has one.
pub fn get(conn: &mut dyn Conn, community: &str) -> Result<Option<Webhook>, DbError> {
    let row = conn.query_opt(
        "SELECT webhook_url, webhook_format, webhook_secret FROM communities WHERE id = ?1",
        vals![community],
        |r| Ok((r.get::<String>(0)?, r.get::<String>(1)?, r.get::<String>(2)?)),
    )?;
    Ok(row.filter(|(url, _, _)| !url.is_empty()).map(|(url, format, secret)| Webhook {
        url,
        format: Format::parse(&format).unwrap_or(Format::Json),
        secret,
    }))
}

/// Sets (or with `None` removes) the webhook of `community`.
pub fn set(conn: &mut dyn Conn, community: &str, hook: Option<&Webhook>) -> Result<(), DbError> {
    conn.execute(
        "UPDATE communities SET webhook_url = ?1, webhook_format = ?2, webhook_secret = ?3 WHERE id = ?4",
        vals![
            hook.map_or("", |h| h.url.as_str()),
            hook.map_or("json", |h| h.format.as_str()),
            hook.map_or("", |h| h.secret.as_str()),
            community
        ],
    )?;
    Ok(())
}

/// Messages of `community` not delivered yet.
pub fn pending(conn: &mut dyn Conn, community: &str) -> Result<i64, DbError> {
    conn.scalar(
        "SELECT COUNT(*) FROM webhook_outbox o LEFT JOIN alerts a ON a.id = o.alert_id
         WHERE o.delivered_ms IS NULL AND COALESCE(o.community, a.community) = ?1",
        vals![community],
    )
}
