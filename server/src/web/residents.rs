//! The Residents page: the community's residents and adding one.

use std::fmt::Write;

use axum::extract::{Form, State};
use axum::response::{IntoResponse, Response};

use super::*;
use crate::community;

pub async fn page(State(app): State<AppState>, m: Member) -> Response {
    let lang = m.session.lang;
    let community = m.community.clone();
    let rows = match app.db.call(move |conn| community::residents(conn, &community)).await {
        Ok(r) => r,
        Err(e) => return server_error(e),
    };
    let csrf = &m.session.csrf;
    let mut body = format!(
        "<form class=card method=post action=/residents>{csrf}<label>{name}<input name=name required maxlength=64></label>\
<label>{unit}<input name=unit required maxlength=12 placeholder=3-502></label><label>{phone}<input name=phone maxlength=32></label>\
<button>{add}</button></form><div class=scroll><table><tr><th>{unit}</th><th>{name}</th><th>{phone}</th><th>{passes}</th><th></th></tr>",
        csrf = hidden_csrf(csrf),
        name = t(lang, "name"),
        unit = t(lang, "unit"),
        phone = t(lang, "phone"),
        add = t(lang, "add"),
        passes = t(lang, "passes"),
    );
    for r in &rows {
        let _ = write!(
            body,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td><form class=inline method=post action=/passes>{}\
<input type=hidden name=resident_id value=\"{}\"><input type=hidden name=role value=resident><input type=hidden name=days value=365>\
<button>{}</button></form></td></tr>",
            esc(&r.unit),
            esc(&r.name),
            esc(&r.phone),
            r.live_passes,
            hidden_csrf(csrf),
            r.id,
            t(lang, "issue"),
        );
    }
    body.push_str("</table></div>");
    layout(lang, t(lang, "residents"), Some(&m.session), &body).into_response()
}

pub async fn add(State(app): State<AppState>, m: Member, Form(form): Form<FormMap>) -> Response {
    if !m.session.csrf_ok(&form) {
        return forbidden(m.session.lang);
    }
    let (name, unit, phone) = (field(&form, "name").to_string(), field(&form, "unit").to_string(), field(&form, "phone").to_string());
    let community = m.community.clone();
    let result = app.db.call(move |conn| Ok(community::add_resident(conn, &community, &name, &unit, &phone, now_ms()))).await;
    match result {
        Ok(Ok(_)) => state_redirect("/residents"),
        Ok(Err(e)) => community_error(&m.session, "residents", e),
        Err(e) => server_error(e),
    }
}
