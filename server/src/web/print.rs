//! A building's pass cards on one printable page (A4, eight to a sheet),
//! and issuing a year's pass to every resident of the building who has
//! none, for residents without a smartphone.

use axum::extract::{Form, Path, State};
use axum::response::Response;
use maud::{html, Markup, PreEscaped};

use super::{csrf_field, fmt_day, frame, state_redirect, t, urlencode, FormMap, Member, WebError};
use crate::db::now_ms;
use crate::leaves::roles::Perm;
use crate::records::residents;
use crate::AppState;

/// The routes of this page, who may use each, and its menu entries.
pub fn table() -> super::site::Table {
    use crate::leaves::roles::Perm;
    super::site::Table::new()
        .get("/print", Perm::ReadRecords, buildings)
        .get("/print/{building}", Perm::ReadRecords, cards)
        .post("/print/{building}/issue", Perm::EditRecords, issue_missing)
}

pub async fn buildings(State(app): State<AppState>, m: Member) -> Result<Markup, WebError> {
    let lang = m.session.lang;
    let community = m.community.clone();
    let rows = app.db.call(move |conn| residents::buildings(conn, &community)).await?;
    let body = html! {
        p { (t(lang, "print_pick")) }
        ul {
            @for (b, n) in &rows {
                li { a href={ "/print/" (urlencode(b)) } { (t(lang, "building")) " " (b) } " (" (n) " " (t(lang, "residents")) ")" }
            }
        }
    };
    Ok(frame(lang, t(lang, "print_building"), Some(&m.session), body))
}

const CARD_CSS: &str = ".cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(9cm,1fr));gap:4mm}\
.pcard{border:1px dashed #999;padding:3mm;background:#fff;break-inside:avoid;display:flex;gap:3mm;align-items:center}\
.pcard svg{width:4.2cm;height:4.2cm}.pcard p{margin:.2em 0}@media print{main{padding:0}h1{display:none}.cards{grid-template-columns:1fr 1fr}}";

pub async fn cards(State(app): State<AppState>, m: Member, Path(building): Path<String>) -> Result<Markup, WebError> {
    let lang = m.session.lang;
    let offset = app.config.utc_offset_min;
    let (community, b) = (m.community.clone(), building.clone());
    let now_s = now_ms() / 1000;
    let (passes, missing) = app
        .db
        .call(move |conn| {
            Ok((
                residents::building_passes(conn, &community, &b, now_s)?,
                residents::without_pass(conn, &community, &b, now_s)?,
            ))
        })
        .await?;
    if passes.is_empty() && missing.is_empty() {
        return Err(WebError::not_found(&m.session));
    }
    let body = html! {
        style { (PreEscaped(CARD_CSS)) }
        @if !missing.is_empty() && m.may(Perm::EditRecords) {
            form.card.noprint method="post" action={ "/print/" (urlencode(&building)) "/issue" } {
                (csrf_field(&m.session.csrf))
                p { (t(lang, "without_pass").replace("{}", &missing.len().to_string())) }
                button { (t(lang, "issue_missing")) }
            }
        }
        p.noprint { (t(lang, "cards")) ": " (passes.len()) " · Ctrl+P" }
        div.cards {
            @for p in &passes {
                div.pcard {
                    (super::passes::pass_qr(p, &app.config.public_url))
                    div {
                        p { b { (p.unit) } }
                        p { (p.name.as_deref().unwrap_or("")) }
                        p { (t(lang, "valid_until")) ": " (fmt_day(p.expires_at, offset)) }
                        p { (m.session.place.name_or(&m.community)) }
                        @if p.phone { p { (t(lang, "phone_setup_hint")) } }
                    }
                }
            }
        }
    };
    let title = format!("{} {}", t(lang, "building"), building);
    Ok(frame(lang, &title, Some(&m.session), body))
}

pub async fn issue_missing(
    State(app): State<AppState>,
    m: Member,
    Path(building): Path<String>,
    Form(form): Form<FormMap>,
) -> Result<Response, WebError> {
    m.session.check_csrf(&form)?;
    let community = app.community(&m.community).await?;
    let (b, actor) = (building.clone(), m.actor());
    app.db
        .call(move |conn| Ok(crate::ops::passes::issue_building(conn, &actor, &community, &b)))
        .await?
        .map_err(|e| WebError::community(&m.session, "passes", e))?;
    Ok(state_redirect(&format!("/print/{}", urlencode(&building))))
}
