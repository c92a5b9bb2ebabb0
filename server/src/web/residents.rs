//! The Residents page: the community's households (residents by unit, the
//! head first), adding, editing and moving out a resident.

use axum::extract::{Form, Path, Query, State};
use axum::response::{IntoResponse, Response};
use maud::{html, Markup};

use super::{csrf_field, field, frame, state_redirect, t, FormMap, Member, WebError};
use crate::db::now_ms;
use crate::leaves::roles::Perm;
use crate::records::community;
use crate::records::residents;
use crate::AppState;

/// The routes of this page, who may use each, and its menu entries.
pub fn table() -> super::site::Table {
    use crate::leaves::roles::Perm;
    super::site::Table::new()
        .menu("/residents", "residents")
        .get("/residents", Perm::ReadRecords, page)
        .post("/residents", Perm::EditRecords, add)
        .get("/residents/{id}", Perm::EditRecords, edit_form)
        .post("/residents/{id}", Perm::EditRecords, update)
        .post("/residents/{id}/move-out", Perm::EditRecords, move_out)
}

#[derive(serde::Deserialize, Default)]
pub struct Search {
    #[serde(default)]
    q: String,
}

pub async fn page(State(app): State<AppState>, m: Member, Query(search): Query<Search>) -> Result<Markup, WebError> {
    let lang = m.session.lang;
    let community = m.community.clone();
    let mut rows = app.db.call(move |conn| community::residents(conn, &community)).await?;
    let total = rows.len();
    // A name, a phone or a unit (typed any way a unit is written).
    let q = search.q.trim().chars().take(64).collect::<String>();
    if !q.is_empty() {
        let unit = crate::leaves::text::normalize_unit(&q);
        rows.retain(|r| r.name.contains(&q) || r.phone.contains(&q) || r.unit.starts_with(&unit));
    }
    let csrf = &m.session.csrf;
    let edit = m.may(Perm::EditRecords);
    let body = html! {
        @if edit {
            form.card method="post" action="/residents" {
                (csrf_field(csrf))
                label { (t(lang, "name")) input name="name" required maxlength="64"; }
                label { (t(lang, "unit")) input name="unit" required maxlength="24" placeholder="3-502"; }
                label { (t(lang, "phone")) input name="phone" maxlength="32"; }
                button { (t(lang, "add")) }
            }
        }
        p.noprint {
            @if edit { a href="/residents/import" { (t(lang, "import")) } " · " }
            a href="/print" { (t(lang, "print_building")) }
        }
        form.noprint method="get" action="/residents" {
            label { (t(lang, "search_residents")) input type="search" name="q" value=(q) placeholder="3-502"; }
            button { (t(lang, "search")) }
        }
        p { (t(lang, "residents")) ": " (rows.len()) @if rows.len() != total { " / " (total) } }
        div.scroll {
            table {
                tr { th { (t(lang, "unit")) } th { (t(lang, "name")) } th { (t(lang, "phone")) } th { (t(lang, "passes")) } th {} }
                @for (i, r) in rows.iter().enumerate() {
                    tr {
                        // A household starts where the unit changes.
                        td { @if i == 0 || rows[i - 1].unit != r.unit { b { (r.unit) } } }
                        td { (r.name) @if r.head { " " span title=(t(lang, "head")) { "(" (t(lang, "head")) ")" } } }
                        td { (r.phone) }
                        td { (r.live_passes) }
                        td {
                            @if edit {
                                a href={ "/residents/" (r.id) } { (t(lang, "edit")) } " "
                                form.inline method="post" action="/passes" {
                                    (csrf_field(csrf))
                                    input type="hidden" name="resident_id" value=(r.id);
                                    input type="hidden" name="role" value="resident";
                                    input type="hidden" name="days" value="365";
                                    button { (t(lang, "issue")) }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(frame(lang, t(lang, "residents"), Some(&m.session), body))
}

pub async fn add(State(app): State<AppState>, m: Member, Form(form): Form<FormMap>) -> Result<Response, WebError> {
    m.session.check_csrf(&form)?;
    let (name, unit, phone) =
        (field(&form, "name").to_string(), field(&form, "unit").to_string(), field(&form, "phone").to_string());
    let (community, actor) = (m.community.clone(), m.actor());
    let add = move |conn: &mut dyn crate::db::Conn| {
        Ok(crate::ops::audited_with(conn, &actor, "resident.add", |tx| {
            let id = community::add_resident(tx, &community, &name, &unit, &phone, now_ms())?;
            Ok((id, crate::leaves::detail::enc("resident_add", &[&id, &unit])))
        }))
    };
    app.db.call(add).await?.map_err(|e| WebError::community(&m.session, "residents", e))?;
    Ok(state_redirect("/residents"))
}

/// The edit form of one resident, with the move-out button.
pub async fn edit_form(State(app): State<AppState>, m: Member, Path(id): Path<i64>) -> Result<Markup, WebError> {
    let lang = m.session.lang;
    let community = m.community.clone();
    let r = match app.db.call(move |conn| residents::resident(conn, &community, id)).await? {
        Some(r) if !r.moved_out => r,
        _ => return Err(WebError::not_found(&m.session)),
    };
    let csrf = &m.session.csrf;
    let body = html! {
        form.card method="post" action={ "/residents/" (r.id) } {
            (csrf_field(csrf))
            label { (t(lang, "name")) input name="name" required maxlength="64" value=(r.name); }
            label { (t(lang, "unit")) input name="unit" required maxlength="24" value=(r.unit); }
            label { (t(lang, "phone")) input name="phone" maxlength="32" value=(r.phone); }
            label.check { input type="checkbox" name="head" style="width:auto" checked[r.head]; " " (t(lang, "head_of_household")) }
            p { (t(lang, "unit_change_note")) }
            button { (t(lang, "save")) }
        }
        form.card method="post" action={ "/residents/" (r.id) "/move-out" } {
            (csrf_field(csrf))
            p { (t(lang, "move_out_note")) }
            button.danger { (t(lang, "move_out")) }
        }
    };
    Ok(frame(lang, &r.name, Some(&m.session), body))
}

pub async fn update(
    State(app): State<AppState>,
    m: Member,
    Path(id): Path<i64>,
    Form(form): Form<FormMap>,
) -> Result<Response, WebError> {
    m.session.check_csrf(&form)?;
    let (name, unit, phone) =
        (field(&form, "name").to_string(), field(&form, "unit").to_string(), field(&form, "phone").to_string());
    let head = !field(&form, "head").is_empty();
    let (community, actor) = (m.community.clone(), m.actor());
    let edit = move |conn: &mut dyn crate::db::Conn| {
        let fields = residents::Edit { name: &name, unit: &unit, phone: &phone, head };
        Ok(crate::ops::audited_with(conn, &actor, "resident.edit", |tx| {
            let revoked = residents::update(tx, &community, id, &fields, now_ms())?;
            let head = if head { "yes" } else { "no" };
            use crate::leaves::detail::{Arg, Detail};
            let detail = Detail::new(
                "resident_edit",
                [
                    Arg::from(id.to_string()),
                    Arg::from(unit.as_str()),
                    Arg::Word(head.into()),
                    Arg::from(revoked.to_string()),
                ],
            );
            Ok((revoked, detail.encode()))
        }))
    };
    let revoked = app.db.call(edit).await?.map_err(|e| WebError::community(&m.session, "residents", e))?;
    if revoked == 0 {
        return Ok(state_redirect("/residents"));
    }
    // Moving a resident revoked their passes: say so before going on.
    let lang = m.session.lang;
    let text = t(lang, "passes_revoked_unit").replace("{}", &revoked.to_string());
    let body = html! { p.msg { (text) } };
    Ok(frame(lang, t(lang, "residents"), Some(&m.session), body).into_response())
}

pub async fn move_out(
    State(app): State<AppState>,
    m: Member,
    Path(id): Path<i64>,
    Form(form): Form<FormMap>,
) -> Result<Response, WebError> {
    m.session.check_csrf(&form)?;
    let (community, actor) = (m.community.clone(), m.actor());
    let move_out = move |conn: &mut dyn crate::db::Conn| {
        Ok(crate::ops::audited_with(conn, &actor, "resident.move_out", |tx| {
            let revoked = residents::move_out(tx, &community, id, now_ms())?;
            Ok((revoked, crate::leaves::detail::enc("resident_move_out", &[&id, &revoked])))
        }))
    };
    app.db.call(move_out).await?.map_err(|e| WebError::community(&m.session, "residents", e))?;
    Ok(state_redirect("/residents"))
}
