//! The Residents page: the community's households (residents by unit, the
//! head first), adding, editing and moving out a resident.

use std::fmt::Write;

use axum::extract::{Form, Path, State};
use axum::response::{IntoResponse, Response};

use super::*;
use crate::records::community;
use crate::records::residents;

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

pub async fn page(State(app): State<AppState>, m: Member) -> Response {
    let lang = m.session.lang;
    let community = m.community.clone();
    let rows = match app.db.call(move |conn| community::residents(conn, &community)).await {
        Ok(r) => r,
        Err(e) => return server_error(e),
    };
    let csrf = &m.session.csrf;
    let edit = m.may(Perm::EditRecords);
    let mut body = String::new();
    if edit {
        let _ = write!(
            body,
            "<form class=card method=post action=/residents>{csrf}<label>{name}<input name=name required maxlength=64></label>\
<label>{unit}<input name=unit required maxlength=12 placeholder=3-502></label><label>{phone}<input name=phone maxlength=32></label>\
<button>{add}</button></form>",
            csrf = hidden_csrf(csrf),
            name = t(lang, "name"),
            unit = t(lang, "unit"),
            phone = t(lang, "phone"),
            add = t(lang, "add"),
        );
    }
    let _ = write!(
        body,
        "<p class=noprint>{import}<a href=/print>{print}</a></p><p>{count}: {n}</p>\
<div class=scroll><table><tr><th>{unit}</th><th>{name}</th><th>{phone}</th><th>{passes}</th><th></th></tr>",
        import = if edit { format!("<a href=/residents/import>{}</a> · ", t(lang, "import")) } else { String::new() },
        print = t(lang, "print_building"),
        count = t(lang, "residents"),
        n = rows.len(),
        unit = t(lang, "unit"),
        name = t(lang, "name"),
        phone = t(lang, "phone"),
        passes = t(lang, "passes"),
    );
    let mut last_unit = "";
    for r in &rows {
        // A household starts where the unit changes.
        let unit = if r.unit != last_unit { format!("<b>{}</b>", esc(&r.unit)) } else { String::new() };
        last_unit = &r.unit;
        let actions = if edit {
            format!(
                "<a href=\"/residents/{id}\">{edit}</a> <form class=inline method=post action=/passes>{csrf}\
<input type=hidden name=resident_id value=\"{id}\"><input type=hidden name=role value=resident><input type=hidden name=days value=365>\
<button>{issue}</button></form>",
                id = r.id,
                edit = t(lang, "edit"),
                csrf = hidden_csrf(csrf),
                issue = t(lang, "issue"),
            )
        } else {
            String::new()
        };
        let _ = write!(
            body,
            "<tr><td>{unit}</td><td>{}{}</td><td>{}</td><td>{}</td><td>{actions}</td></tr>",
            esc(&r.name),
            if r.head { format!(" <span title=\"{0}\">({0})</span>", t(lang, "head")) } else { String::new() },
            esc(&r.phone),
            r.live_passes,
        );
    }
    body.push_str("</table></div>");
    layout(lang, t(lang, "residents"), Some(&m.session), &body).into_response()
}

pub async fn add(State(app): State<AppState>, m: Member, Form(form): Form<FormMap>) -> Response {
    if !m.session.csrf_ok(&form) {
        return forbidden(m.session.lang);
    }
    let (name, unit, phone) =
        (field(&form, "name").to_string(), field(&form, "unit").to_string(), field(&form, "phone").to_string());
    let (community, actor) = (m.community.clone(), m.actor());
    let add = move |conn: &mut dyn crate::db::Conn| {
        Ok(crate::ops::audited_with(conn, &actor, "resident.add", |tx| {
            let id = community::add_resident(tx, &community, &name, &unit, &phone, now_ms())?;
            Ok((id, format!("resident {id}, unit {unit}")))
        }))
    };
    match app.db.call(add).await {
        Ok(Ok(_)) => state_redirect("/residents"),
        Ok(Err(e)) => community_error(&m.session, "residents", e),
        Err(e) => server_error(e),
    }
}

/// The edit form of one resident, with the move-out button.
pub async fn edit_form(State(app): State<AppState>, m: Member, Path(id): Path<i64>) -> Response {
    let lang = m.session.lang;
    let community = m.community.clone();
    let r = match app.db.call(move |conn| residents::resident(conn, &community, id)).await {
        Ok(Some(r)) if !r.moved_out => r,
        Ok(_) => return not_found(&m.session),
        Err(e) => return server_error(e),
    };
    let csrf = hidden_csrf(&m.session.csrf);
    let body = format!(
        "<form class=card method=post action=\"/residents/{id}\">{csrf}<label>{name}<input name=name required maxlength=64 value=\"{vname}\"></label>\
<label>{unit}<input name=unit required maxlength=12 value=\"{vunit}\"></label><label>{phone}<input name=phone maxlength=32 value=\"{vphone}\"></label>\
<label class=check><input type=checkbox name=head style=\"width:auto\"{checked}> {head}</label><p>{unit_note}</p><button>{save}</button></form>\
<form class=card method=post action=\"/residents/{id}/move-out\">{csrf}<p>{move_note}</p><button class=danger>{move_out}</button></form>",
        id = r.id,
        name = t(lang, "name"),
        vname = esc(&r.name),
        unit = t(lang, "unit"),
        vunit = esc(&r.unit),
        phone = t(lang, "phone"),
        vphone = esc(&r.phone),
        checked = if r.head { " checked" } else { "" },
        head = t(lang, "head_of_household"),
        unit_note = t(lang, "unit_change_note"),
        save = t(lang, "save"),
        move_note = t(lang, "move_out_note"),
        move_out = t(lang, "move_out"),
    );
    layout(lang, &r.name, Some(&m.session), &body).into_response()
}

pub async fn update(
    State(app): State<AppState>,
    m: Member,
    Path(id): Path<i64>,
    Form(form): Form<FormMap>,
) -> Response {
    if !m.session.csrf_ok(&form) {
        return forbidden(m.session.lang);
    }
    let (name, unit, phone) =
        (field(&form, "name").to_string(), field(&form, "unit").to_string(), field(&form, "phone").to_string());
    let head = !field(&form, "head").is_empty();
    let (community, actor) = (m.community.clone(), m.actor());
    let edit = move |conn: &mut dyn crate::db::Conn| {
        let fields = residents::Edit { name: &name, unit: &unit, phone: &phone, head };
        Ok(crate::ops::audited_with(conn, &actor, "resident.edit", |tx| {
            let revoked = residents::update(tx, &community, id, &fields, now_ms())?;
            Ok((revoked, format!("resident {id}: unit {unit}, head {head}, {revoked} passes revoked")))
        }))
    };
    match app.db.call(edit).await {
        Ok(Ok(revoked)) => {
            if revoked > 0 {
                let text = t(m.session.lang, "passes_revoked_unit").replace("{}", &revoked.to_string());
                return message(&m.session, "residents", &text, StatusCode::OK);
            }
            state_redirect("/residents")
        }
        Ok(Err(e)) => community_error(&m.session, "residents", e),
        Err(e) => server_error(e),
    }
}

pub async fn move_out(
    State(app): State<AppState>,
    m: Member,
    Path(id): Path<i64>,
    Form(form): Form<FormMap>,
) -> Response {
    if !m.session.csrf_ok(&form) {
        return forbidden(m.session.lang);
    }
    let (community, actor) = (m.community.clone(), m.actor());
    let move_out = move |conn: &mut dyn crate::db::Conn| {
        Ok(crate::ops::audited_with(conn, &actor, "resident.move_out", |tx| {
            let revoked = residents::move_out(tx, &community, id, now_ms())?;
            Ok((revoked, format!("resident {id}, {revoked} passes revoked")))
        }))
    };
    match app.db.call(move_out).await {
        Ok(Ok(_)) => state_redirect("/residents"),
        Ok(Err(e)) => community_error(&m.session, "residents", e),
        Err(e) => server_error(e),
    }
}
