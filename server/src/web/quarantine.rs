//! The Home quarantine page: units under home quarantine, adding and
//! removing one.

use std::fmt::Write;

use axum::extract::{Form, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::*;
use crate::records::community;

/// The routes of this page, who may use each, and its menu entries.
pub fn table() -> super::site::Table {
    use crate::leaves::roles::Perm;
    super::site::Table::new()
        .menu("/quarantine", "quarantine")
        .get("/quarantine", Perm::ReadRecords, page)
        .post("/quarantine", Perm::EditRecords, add)
        .post("/quarantine/{id}/remove", Perm::EditRecords, remove)
}

pub async fn page(State(app): State<AppState>, m: Member) -> Response {
    let lang = m.session.lang;
    let offset = app.config.utc_offset_min;
    let community = m.community.clone();
    let rows = match app.db.call(move |conn| community::quarantines(conn, &community, now_ms() / 1000)).await {
        Ok(r) => r,
        Err(e) => return server_error(e),
    };
    let csrf = &m.session.csrf;
    let today = fmt_ms(now_ms(), offset)[..10].to_string();
    let mut body = format!(
        "<form class=card method=post action=/quarantine>{csrf}<label>{unit}<input name=unit required maxlength=12 placeholder=3-502></label>\
<label>{from}<input name=from type=date required value=\"{today}\"></label><label>{until}<input name=until type=date required></label>\
<label>{note}<input name=note maxlength=200></label><button>{add}</button></form>\
<div class=scroll><table id=quarantines><tr><th>{unit}</th><th>{from}</th><th>{until}</th><th>{status}</th><th>{note}</th><th></th></tr>",
        csrf = hidden_csrf(csrf),
        unit = t(lang, "unit"),
        from = t(lang, "from"),
        until = t(lang, "until"),
        note = t(lang, "note"),
        add = t(lang, "add"),
        status = t(lang, "q_status"),
    );
    for q in &rows {
        let _ = write!(
            body,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{} · {}</td><td>{}</td><td><form class=inline method=post action=\"/quarantine/{}/remove\">{}<button class=danger>{}</button></form></td></tr>",
            esc(&q.unit),
            fmt_day(q.from_s, offset),
            fmt_day(q.until_s, offset),
            t(lang, if q.status == "pending" { "q_pending" } else { "q_confirmed" }),
            t(lang, if q.source == "returnee" { "q_returnee" } else { "q_committee" }),
            esc(&q.note),
            q.id,
            hidden_csrf(csrf),
            t(lang, "remove"),
        );
    }
    body.push_str("</table></div>");
    layout(lang, t(lang, "quarantine"), Some(&m.session), &body).into_response()
}

pub async fn add(State(app): State<AppState>, m: Member, Form(form): Form<FormMap>) -> Response {
    let session = &m.session;
    if !session.csrf_ok(&form) {
        return forbidden(session.lang);
    }
    let offset = app.config.utc_offset_min;
    let (Some(from), Some(until)) = (parse_day(field(&form, "from"), offset), parse_day(field(&form, "until"), offset))
    else {
        return message(session, "quarantine", "dates must look like 2026-11-29", StatusCode::BAD_REQUEST);
    };
    // The end date is inclusive: quarantine lasts until the end of that day.
    let until = until + 86_400;
    let (unit, note) = (field(&form, "unit").to_string(), field(&form, "note").to_string());
    let (community, actor) = (m.community.clone(), m.actor());
    let detail = format!("unit {unit}, {} to {}", field(&form, "from"), field(&form, "until"));
    let result = app
        .db
        .call(move |conn| {
            Ok(crate::ops::audited(conn, &actor, "quarantine.add", &detail, |tx| {
                community::add_quarantine(tx, &community, &unit, from, until, &note, now_ms())
            }))
        })
        .await;
    match result {
        Ok(Ok(_)) => state_redirect("/quarantine"),
        Ok(Err(e)) => community_error(session, "quarantine", e),
        Err(e) => server_error(e),
    }
}

pub async fn remove(
    State(app): State<AppState>,
    m: Member,
    Path(id): Path<i64>,
    Form(form): Form<FormMap>,
) -> Response {
    if !m.session.csrf_ok(&form) {
        return forbidden(m.session.lang);
    }
    let (community, actor) = (m.community.clone(), m.actor());
    let remove = move |conn: &mut dyn crate::db::Conn| {
        Ok(crate::ops::audited(conn, &actor, "quarantine.remove", &format!("quarantine {id}"), |tx| {
            community::remove_quarantine(tx, &community, id)
        }))
    };
    match app.db.call(remove).await {
        Ok(Ok(())) => state_redirect("/quarantine"),
        Ok(Err(e)) => community_error(&m.session, "quarantine", e),
        Err(e) => server_error(e),
    }
}
