//! The Alerts page: every alert with its words, acknowledged with a note,
//! and the community's webhook.

use std::fmt::Write;

use axum::extract::{Form, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::{esc, fmt_ms, hidden_csrf, layout, not_found, server_error, state_redirect, t, FormMap, Member, Session};
use crate::db::now_ms;
use crate::records::alerts::{self, AlertRow};
use crate::webhook::{self, Format, Webhook};
use crate::AppState;

pub async fn page(State(app): State<AppState>, m: Member) -> Response {
    let session = &m.session;
    let community = m.community.clone();
    let data = app
        .db
        .call(move |conn| {
            let pending = webhook::pending(conn, &community)?;
            Ok((alerts::list(conn, &community, 300)?, webhook::get(conn, &community)?, pending))
        })
        .await;
    let (rows, hook, pending) = match data {
        Ok(d) => d,
        Err(e) => return server_error(e),
    };
    let lang = session.lang;
    let offset = app.config.utc_offset_min;
    let mut body = format!(
        "<div class=scroll><table><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th></th></tr>",
        t(lang, "kind"),
        t(lang, "gate"),
        t(lang, "detail"),
        t(lang, "time"),
        t(lang, "count"),
    );
    if rows.is_empty() {
        let _ = write!(body, "<tr><td colspan=6>{}</td></tr>", t(lang, "no_rows"));
    }
    for a in &rows {
        body.push_str(&row(session, a, offset));
    }
    body.push_str("</table></div>");
    body.push_str(&webhook_form(session, hook.as_ref(), pending));
    layout(lang, t(lang, "alerts"), Some(session), &body).into_response()
}

fn row(session: &Session, a: &AlertRow, offset: i32) -> String {
    let lang = session.lang;
    let status = if a.acked {
        format!(
            "{} {} · {}",
            esc(a.acked_by.as_deref().unwrap_or("")),
            a.acked_ms.map_or(String::new(), |ms| fmt_ms(ms, offset)),
            esc(a.acked_note.as_deref().unwrap_or(""))
        )
    } else {
        format!(
            "<form class=inline method=post action=\"/alerts/{id}/ack\">{csrf}<input name=note maxlength=200 placeholder=\"{ph}\" aria-label=\"{ph}\"><button>{ack}</button></form>",
            id = a.id,
            csrf = hidden_csrf(&session.csrf),
            ph = t(lang, "ack_note"),
            ack = t(lang, "acknowledge"),
        )
    };
    format!(
        "<tr class=\"alert-{kind}\" data-alert=\"{id}\"><td class=\"{cls}\">{word}</td><td>{gate}</td><td>{detail}</td><td>{last}</td><td>{count}</td><td>{status}</td></tr>",
        kind = esc(&a.kind),
        id = a.id,
        cls = if a.acked { "" } else { "bad" },
        word = esc(&super::alert_text(lang, &a.kind)),
        gate = esc(&a.gate),
        detail = esc(&a.detail),
        last = fmt_ms(a.last_ms, offset),
        count = a.count,
    )
}

fn webhook_form(session: &Session, hook: Option<&Webhook>, pending: i64) -> String {
    let lang = session.lang;
    let options: String = Format::ALL
        .iter()
        .map(|f| {
            let selected = if hook.is_some_and(|h| h.format == *f) { " selected" } else { "" };
            let label = match f {
                Format::WeCom => "企业微信 WeCom",
                Format::DingTalk => "钉钉 DingTalk",
                Format::Json => "JSON",
            };
            format!("<option value={}{selected}>{label}</option>", f.as_str())
        })
        .collect();
    let state = match hook {
        None => t(lang, "webhook_off").to_string(),
        Some(_) if pending > 0 => format!("{pending} {}", t(lang, "webhook_pending")),
        Some(_) => String::new(),
    };
    format!(
        "<h2>{title}</h2><form class=card method=post action=/alerts/webhook>{csrf}<p>{state}</p>\
<label>{url_l}<input name=url maxlength=500 value=\"{url}\" placeholder=\"https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=…\"></label>\
<label>{format_l}<select name=format>{options}</select></label>\
<label>{secret_l}<input name=secret maxlength=200 value=\"{secret}\"></label><button>{save}</button></form>",
        title = t(lang, "webhook"),
        csrf = hidden_csrf(&session.csrf),
        state = esc(&state),
        url_l = t(lang, "webhook_url"),
        url = esc(hook.map_or("", |h| &h.url)),
        format_l = t(lang, "webhook_format"),
        secret_l = t(lang, "webhook_secret"),
        secret = esc(hook.map_or("", |h| &h.secret)),
        save = t(lang, "save"),
    )
}

pub async fn ack(State(app): State<AppState>, m: Member, Path(id): Path<i64>, Form(form): Form<FormMap>) -> Response {
    if !m.session.csrf_ok(&form) {
        return super::forbidden(m.session.lang);
    }
    let note = form.get("note").cloned().unwrap_or_default();
    let (user, community, actor, detail) =
        (m.session.user.clone(), m.community.clone(), m.actor(), format!("alert {id}: {note}"));
    let ack = move |conn: &mut dyn crate::db::Conn| {
        crate::ops::audited_if(conn, &actor, "alert.ack", &detail, |tx| {
            alerts::ack(tx, &community, id, &user, &note, now_ms())
        })
    };
    match app.db.call(ack).await {
        Ok(true) => state_redirect("/alerts"),
        Ok(false) => not_found(&m.session),
        Err(e) => server_error(e),
    }
}

/// Sets the webhook; an empty address turns it off.
pub async fn set_webhook(State(app): State<AppState>, m: Member, Form(form): Form<FormMap>) -> Response {
    let session = &m.session;
    if !session.csrf_ok(&form) {
        return super::forbidden(session.lang);
    }
    let field = |k: &str| form.get(k).map(String::as_str).unwrap_or("");
    let hook = if field("url").trim().is_empty() {
        None
    } else {
        match Webhook::new(field("url"), field("format"), field("secret")) {
            Ok(h) => Some(h),
            Err(e) => {
                let body = format!("<p class=msg>{}</p>", esc(&e));
                return (
                    StatusCode::BAD_REQUEST,
                    layout(session.lang, t(session.lang, "webhook"), Some(session), &body),
                )
                    .into_response();
            }
        }
    };
    let community = m.community.clone();
    // The address and format, never the signing secret.
    let detail =
        hook.as_ref().map_or_else(|| "off".to_string(), |_| format!("{} ({})", field("url").trim(), field("format")));
    let actor = m.actor();
    let set = move |conn: &mut dyn crate::db::Conn| {
        crate::ops::audited(conn, &actor, "webhook.set", &detail, |tx| webhook::set(tx, &community, hook.as_ref()))
    };
    match app.db.call(set).await {
        Ok(()) => state_redirect("/alerts"),
        Err(e) => server_error(e),
    }
}
