//! The Out now page: who is outside the compound now, per unit and in
//! total, and the visitors still inside after their pass ended.

use std::fmt::Write;

use axum::extract::State;
use axum::response::{IntoResponse, Response};

use super::*;
use crate::records::devices;
use crate::reports::{self, OutRow};

/// The routes of this page, who may use each, and its menu entries.
pub fn table() -> super::site::Table {
    use crate::leaves::roles::Perm;
    super::site::Table::new().menu("/outside", "outside").get("/outside", Perm::ReadCompound, page)
}

pub async fn page(State(app): State<AppState>, m: Member) -> Response {
    let lang = m.session.lang;
    let offset = app.config.utc_offset_min;
    let community = m.community.clone();
    let found = app
        .db
        .call(move |conn| Ok((reports::outside(conn, &community, now_ms())?, devices::list(conn, &community)?)))
        .await;
    let (outside, gates) = match found {
        Ok(r) => r,
        Err(e) => return server_error(e),
    };
    let mut body = format!(
        "<p>{hint}</p><div class=stat id=outside-total>{label}<b>{n}</b></div>",
        hint = t(lang, "outside_hint"),
        label = t(lang, "outside_total"),
        n = outside.out.len(),
    );
    // Exits through a button are not recorded per pass.
    if gates.iter().any(|g| !g.revoked && g.layout.as_ref().is_some_and(|l| !l.checks_exit())) {
        let _ = write!(body, "<p class=msg>{}</p>", t(lang, "outside_unsure"));
    }
    if !outside.per_unit.is_empty() {
        let _ = write!(
            body,
            "<div class=scroll><table id=per-unit><tr><th>{}</th><th>{}</th></tr>",
            t(lang, "unit"),
            t(lang, "people")
        );
        for (unit, n) in &outside.per_unit {
            let _ = write!(body, "<tr><td>{}</td><td>{n}</td></tr>", esc(unit));
        }
        body.push_str("</table></div>");
    }
    body.push_str(&people(lang, "outside", "left_at", &outside.out, offset));
    if !outside.overstaying.is_empty() {
        let _ = write!(body, "<h2>{}</h2>", t(lang, "overstaying"));
        body.push_str(&people(lang, "overstaying", "time", &outside.overstaying, offset));
    }
    layout(lang, t(lang, "outside"), Some(&m.session), &body).into_response()
}

/// A table of passes with the time of their last passage.
fn people(lang: Lang, id: &str, time_key: &str, rows: &[OutRow], offset: i32) -> String {
    if rows.is_empty() {
        return format!("<p id={id}>{}</p>", t(lang, "no_rows"));
    }
    let mut out = format!(
        "<div class=scroll><table id={id}><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr>",
        t(lang, "unit"),
        t(lang, "name"),
        t(lang, "role"),
        t(lang, time_key),
        t(lang, "gate"),
    );
    for o in rows {
        let _ = write!(
            out,
            "<tr data-pass=\"{pass}\"><td>{unit}</td><td>{name}</td><td>{role}</td><td>{time}</td><td>{gate}</td></tr>",
            pass = esc(&o.pass_id),
            unit = esc(&o.unit),
            name = esc(o.name.as_deref().unwrap_or("")),
            role = role_word(lang, &o.role),
            time = fmt_ms(o.at_ms, offset),
            gate = esc(o.gate.as_deref().unwrap_or("")),
        );
    }
    out + "</table></div>"
}
