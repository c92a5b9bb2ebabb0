//! A building's pass cards on one printable page (A4, eight to a sheet),
//! and issuing a year's pass to every resident of the building who has
//! none, for residents without a smartphone.

use std::fmt::Write;

use axum::extract::{Form, Path, State};
use axum::response::{IntoResponse, Response};

use super::*;
use crate::records::residents;

/// The routes of this page, who may use each, and its menu entries.
pub fn table() -> super::site::Table {
    use crate::leaves::roles::Perm;
    super::site::Table::new()
        .get("/print", Perm::ReadRecords, buildings)
        .get("/print/{building}", Perm::ReadRecords, cards)
        .post("/print/{building}/issue", Perm::EditRecords, issue_missing)
}

pub async fn buildings(State(app): State<AppState>, m: Member) -> Response {
    let lang = m.session.lang;
    let community = m.community.clone();
    let rows = match app.db.call(move |conn| residents::buildings(conn, &community)).await {
        Ok(r) => r,
        Err(e) => return server_error(e),
    };
    let mut body = format!("<p>{}</p><ul>", t(lang, "print_pick"));
    for (b, n) in &rows {
        let _ = write!(
            body,
            "<li><a href=\"/print/{0}\">{1} {0}</a> ({n} {2})</li>",
            esc(b),
            t(lang, "building"),
            t(lang, "residents")
        );
    }
    body.push_str("</ul>");
    layout(lang, t(lang, "print_building"), Some(&m.session), &body).into_response()
}

const CARD_CSS: &str = "<style>.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(9cm,1fr));gap:4mm}\
.pcard{border:1px dashed #999;padding:3mm;background:#fff;break-inside:avoid;display:flex;gap:3mm;align-items:center}\
.pcard svg{width:4.2cm;height:4.2cm}.pcard p{margin:.2em 0}@media print{main{padding:0}h1{display:none}.cards{grid-template-columns:1fr 1fr}}</style>";

pub async fn cards(State(app): State<AppState>, m: Member, Path(building): Path<String>) -> Response {
    let lang = m.session.lang;
    let offset = app.config.utc_offset_min;
    let (community, b) = (m.community.clone(), building.clone());
    let now_s = now_ms() / 1000;
    let found = app
        .db
        .call(move |conn| {
            Ok((
                residents::building_passes(conn, &community, &b, now_s)?,
                residents::without_pass(conn, &community, &b, now_s)?,
            ))
        })
        .await;
    let (passes, missing) = match found {
        Ok(v) => v,
        Err(e) => return server_error(e),
    };
    if passes.is_empty() && missing.is_empty() {
        return not_found(&m.session);
    }
    let mut body = String::from(CARD_CSS);
    if !missing.is_empty() && m.may(Perm::EditRecords) {
        let _ = write!(
            body,
            "<form class=\"card noprint\" method=post action=\"/print/{b}/issue\">{csrf}<p>{text}</p><button>{issue}</button></form>",
            b = esc(&building),
            csrf = hidden_csrf(&m.session.csrf),
            text = t(lang, "without_pass").replace("{}", &missing.len().to_string()),
            issue = t(lang, "issue_missing"),
        );
    }
    let _ = write!(body, "<p class=noprint>{}: {} · Ctrl+P</p><div class=cards>", t(lang, "cards"), passes.len());
    for p in &passes {
        let _ = write!(
            body,
            "<div class=pcard>{qr}<div><p><b>{unit}</b></p><p>{name}</p><p>{until}: {exp}</p><p>{app}</p>{setup}</div></div>",
            qr = super::passes::pass_qr(p, &app.config.public_url),
            setup = if p.phone { format!("<p>{}</p>", t(lang, "phone_setup_hint")) } else { String::new() },
            unit = esc(&p.unit),
            name = esc(p.name.as_deref().unwrap_or("")),
            until = t(lang, "valid_until"),
            exp = fmt_day(p.expires_at, offset),
            app = t(lang, "app"),
        );
    }
    body.push_str("</div>");
    let title = format!("{} {}", t(lang, "building"), building);
    layout(lang, &title, Some(&m.session), &body).into_response()
}

pub async fn issue_missing(
    State(app): State<AppState>,
    m: Member,
    Path(building): Path<String>,
    Form(form): Form<FormMap>,
) -> Response {
    if !m.session.csrf_ok(&form) {
        return forbidden(m.session.lang);
    }
    let community = match app.community(&m.community).await {
        Ok(c) => c,
        Err(e) => return server_error(e),
    };
    let (b, actor) = (building.clone(), m.actor());
    let issued = app.db.call(move |conn| Ok(crate::ops::passes::issue_building(conn, &actor, &community, &b))).await;
    match issued {
        Ok(Ok(_)) => state_redirect(&format!("/print/{}", urlencode(&building))),
        Ok(Err(e)) => community_error(&m.session, "passes", e),
        Err(e) => server_error(e),
    }
}
