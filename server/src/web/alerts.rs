//! The Alerts page: every alert with its words, acknowledged with a note,
//! and the community's webhook.

use axum::extract::{Form, Path, State};
use axum::response::Response;
use maud::{html, Markup};

use super::i18n::{detail_text, device_text};
use super::{alert_text, csrf_field, field, fmt_ms, frame, state_redirect, t, FormMap, Member, Session, WebError};
use crate::db::now_ms;
use crate::records::alerts::{self, AlertRow};
use crate::webhook::{self, Format, Webhook};
use crate::AppState;

/// The routes of this page, who may use each, and its menu entries.
pub fn table() -> super::site::Table {
    use crate::leaves::roles::Perm;
    super::site::Table::new()
        .menu("/alerts", "alerts")
        .get("/alerts", Perm::ReadAlerts, page)
        .post("/alerts/{id}/ack", Perm::AckAlerts, ack)
        .post("/alerts/webhook", Perm::Manage, set_webhook)
}

pub async fn page(State(app): State<AppState>, m: Member) -> Result<Markup, WebError> {
    let community = m.community.clone();
    let (rows, hook, pending) = app
        .db
        .call(move |conn| {
            let pending = webhook::pending(conn, &community)?;
            Ok((alerts::list(conn, &community, 300)?, webhook::get(conn, &community)?, pending))
        })
        .await?;
    let (session, lang, offset) = (&m.session, m.session.lang, app.config.utc_offset_min);
    let body = html! {
        div.scroll {
            table {
                tr {
                    th { (t(lang, "kind")) } th { (t(lang, "gate")) } th { (t(lang, "detail")) }
                    th { (t(lang, "time")) } th { (t(lang, "count")) } th {}
                }
                @if rows.is_empty() { tr { td colspan="6" { (t(lang, "no_rows")) } } }
                @for a in &rows { (row(session, a, offset)) }
            }
        }
        @if session.may_post("/alerts/webhook") { (webhook_form(session, hook.as_ref(), pending)) }
    };
    Ok(frame(lang, t(lang, "alerts"), Some(session), body))
}

fn row(session: &Session, a: &AlertRow, offset: i32) -> Markup {
    let (lang, place) = (session.lang, &session.place);
    html! {
        tr class={ "alert-" (a.kind) } data-alert=(a.id) {
            td class=[(!a.acked).then_some("bad")] { (place.say(&alert_text(lang, &a.kind))) }
            td { (device_text(lang, &a.gate)) }
            td { (place.say(&detail_text(lang, &a.detail, offset))) }
            td { (fmt_ms(a.last_ms, offset)) }
            td { (a.count) }
            td {
                @if a.acked {
                    (a.acked_by.as_deref().unwrap_or("")) " "
                    (a.acked_ms.map_or(String::new(), |ms| fmt_ms(ms, offset)))
                    " · " (a.acked_note.as_deref().unwrap_or(""))
                } @else {
                    form.inline method="post" action={ "/alerts/" (a.id) "/ack" } {
                        (csrf_field(&session.csrf))
                        input name="note" maxlength="200" placeholder=(t(lang, "ack_note")) aria-label=(t(lang, "ack_note"));
                        button { (t(lang, "acknowledge")) }
                    }
                }
            }
        }
    }
}

fn webhook_form(session: &Session, hook: Option<&Webhook>, pending: i64) -> Markup {
    let lang = session.lang;
    html! {
        h2 #webhook { (t(lang, "webhook")) }
        form.card method="post" action="/alerts/webhook" {
            (csrf_field(&session.csrf))
            p {
                @match hook {
                    None => (t(lang, "webhook_off")),
                    Some(_) if pending > 0 => { (pending) " " (t(lang, "webhook_pending")) }
                    Some(_) => "",
                }
            }
            label {
                (t(lang, "webhook_url"))
                input name="url" translate="no" maxlength="500" value=(hook.map_or("", |h| &h.url))
                    placeholder="https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=…";
            }
            label {
                (t(lang, "webhook_format"))
                select name="format" {
                    @for f in Format::ALL {
                        option value=(f.as_str()) selected[hook.is_some_and(|h| h.format == f)] {
                            @match f {
                                Format::WeCom => "企业微信 WeCom",
                                Format::DingTalk => "钉钉 DingTalk",
                                Format::Json => "JSON",
                            }
                        }
                    }
                }
            }
            label {
                (t(lang, "webhook_secret"))
                input name="secret" maxlength="200" value=(hook.map_or("", |h| &h.secret));
            }
            button { (t(lang, "save")) }
        }
    }
}

pub async fn ack(
    State(app): State<AppState>,
    m: Member,
    Path(id): Path<i64>,
    Form(form): Form<FormMap>,
) -> Result<Response, WebError> {
    m.session.check_csrf(&form)?;
    let note = form.get("note").cloned().unwrap_or_default();
    let (user, community, actor, detail) = (
        m.session.user.clone(),
        m.community.clone(),
        m.actor(),
        crate::leaves::detail::enc("alert_ack", &[&id, &note]),
    );
    let ack = move |conn: &mut dyn crate::db::Conn| {
        crate::ops::audited_if(conn, &actor, "alert.ack", &detail, |tx| {
            alerts::ack(tx, &community, id, &user, &note, now_ms())
        })
    };
    match app.db.call(ack).await? {
        true => Ok(state_redirect("/alerts")),
        false => Err(WebError::not_found(&m.session)),
    }
}

/// Sets the webhook; an empty address turns it off.
pub async fn set_webhook(
    State(app): State<AppState>,
    m: Member,
    Form(form): Form<FormMap>,
) -> Result<Response, WebError> {
    m.session.check_csrf(&form)?;
    let url = field(&form, "url").trim();
    let hook = match url {
        "" => None,
        _ => Some(Webhook::new(url, field(&form, "format"), field(&form, "secret")).map_err(|e| {
            let text = super::i18n::detail_text(m.session.lang, &e, 0);
            WebError::invalid(&m.session, "webhook", text).back("/alerts#webhook")
        })?),
    };
    let community = m.community.clone();
    // The address and format, never the signing secret.
    let detail = match &hook {
        None => crate::leaves::detail::enc("webhook_off", &[]),
        Some(_) => crate::leaves::detail::enc("webhook_on", &[&url, &field(&form, "format")]),
    };
    let actor = m.actor();
    let set = move |conn: &mut dyn crate::db::Conn| {
        crate::ops::audited(conn, &actor, "webhook.set", &detail, |tx| webhook::set(tx, &community, hook.as_ref()))
    };
    app.db.call(set).await?;
    Ok(state_redirect("/alerts"))
}
