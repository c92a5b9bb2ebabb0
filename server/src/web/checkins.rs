//! The Check-ins page (a volunteer's call list: who has missed a check-in,
//! their phone and last report; everyone under watch with their personal
//! link) and the Tasks page (service requests from quarantined homes,
//! taken and marked done by volunteers).

use std::fmt::Write;

use axum::extract::{Form, Path, State};
use axum::response::{IntoResponse, Response};

use super::*;
use crate::records::checkins::{self, Report};
use crate::records::returnees::Kind;

/// The routes of this page, who may use each, and its menu entries.
pub fn table() -> super::site::Table {
    use crate::leaves::roles::Perm;
    super::site::Table::new()
        .menu("/checkins", "checkins")
        .menu("/tasks", "tasks")
        .get("/checkins", Perm::ReadAlerts, page)
        .get("/tasks", Perm::ReadAlerts, tasks)
        .post("/tasks/{id}/{action}", Perm::AckAlerts, advance)
}

fn report(lang: Lang, r: &Option<Report>, offset: i32) -> String {
    match r {
        None => t(lang, "no_report").to_string(),
        Some((_, _, temp, symptoms, at)) => {
            format!(
                "{temp} °C{} · {}",
                if *symptoms { format!(" · {}", t(lang, "symptoms")) } else { String::new() },
                fmt_ms(*at, offset)
            )
        }
    }
}

pub async fn page(State(app): State<AppState>, m: Member) -> Response {
    let (lang, offset, community) = (m.session.lang, app.config.utc_offset_min, m.community.clone());
    let found = app
        .db
        .call(move |conn| {
            let now = now_ms();
            let missed = checkins::missed(conn, &community, now, offset)?;
            let mut all = Vec::new();
            for p in checkins::watched(conn, &community, now / 1000)? {
                let token = checkins::token(conn, &community, &p.key)?;
                let last = checkins::last_report(conn, &community, &p.key)?;
                all.push((p, token, last));
            }
            Ok((missed, all))
        })
        .await;
    let (missed, all) = match found {
        Ok(v) => v,
        Err(e) => return server_error(e),
    };
    let (slot_day, slot, _) = checkins::last_overdue_slot(now_ms(), offset);
    let mut body = format!(
        "<p>{}</p><h2>{} <small>({slot_day} {})</small></h2><div class=scroll><table id=call-list><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr>",
        t(lang, "checkin_help"),
        t(lang, "call_list"),
        t(lang, if slot == "am" { "morning" } else { "evening" }),
        t(lang, "unit"),
        t(lang, "name"),
        t(lang, "phone"),
        t(lang, "last_report"),
    );
    for (p, last) in &missed {
        let _ = write!(
            body,
            "<tr><td>{}</td><td>{}</td><td><a href=\"tel:{phone}\">{phone}</a></td><td>{}</td></tr>",
            esc(&p.unit),
            esc(&p.name),
            report(lang, last, offset),
            phone = esc(&p.phone),
        );
    }
    let _ = write!(
        body,
        "</table></div><h2>{}</h2><div class=scroll><table id=watched><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr>",
        t(lang, "under_watch"),
        t(lang, "unit"),
        t(lang, "name"),
        t(lang, "period_until"),
        t(lang, "last_report"),
        t(lang, "personal_link"),
    );
    let base = app.config.public_url.trim_end_matches('/');
    for (p, token, last) in &all {
        let _ = write!(
            body,
            "<tr><td>{}</td><td>{}</td><td>{} · {}</td><td>{}</td><td><code>{base}/c/{}/{}</code></td></tr>",
            esc(&p.unit),
            esc(&p.name),
            t(lang, if p.kind == Kind::Notice { "quarantine" } else { "self_monitoring" }),
            fmt_day(p.until_s - 1, offset),
            report(lang, last, offset),
            esc(&m.community),
            esc(token),
        );
    }
    body.push_str("</table></div>");
    layout(lang, t(lang, "checkins"), Some(&m.session), &body).into_response()
}

pub async fn tasks(State(app): State<AppState>, m: Member) -> Response {
    let (lang, offset, community) = (m.session.lang, app.config.utc_offset_min, m.community.clone());
    let list = match app.db.call(move |conn| checkins::tasks(conn, &community, now_ms())).await {
        Ok(v) => v,
        Err(e) => return server_error(e),
    };
    let csrf = hidden_csrf(&m.session.csrf);
    let act = m.may(Perm::AckAlerts);
    let mut body = format!(
        "<div class=scroll><table id=tasks><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr>",
        t(lang, "unit"),
        t(lang, "request"),
        t(lang, "asked_at"),
        t(lang, "status"),
        ""
    );
    for r in &list {
        let (status, button) = match (&r.taken_by, r.done_ms) {
            (_, Some(done)) => (format!("{} {}", t(lang, "task_done"), fmt_ms(done, offset)), None),
            (Some(by), None) => (format!("{} {}", t(lang, "task_taken_by"), esc(by)), Some(("done", "mark_done"))),
            (None, None) => (t(lang, "task_open").to_string(), Some(("take", "take_task"))),
        };
        let form = match button.filter(|_| act) {
            Some((action, word)) => format!(
                "<form class=inline method=post action=\"/tasks/{}/{action}\">{csrf}<button>{}</button></form>",
                r.id,
                t(lang, word)
            ),
            None => String::new(),
        };
        let _ = write!(
            body,
            "<tr data-task={}><td>{}</td><td{}>{}{}</td><td>{}</td><td>{status}</td><td>{form}</td></tr>",
            r.id,
            esc(&r.unit),
            if r.kind == "medical" { " class=bad" } else { "" },
            t(lang, &format!("request_{}", r.kind)),
            if r.note.is_empty() { String::new() } else { format!(": {}", esc(&r.note)) },
            fmt_ms(r.asked_ms, offset),
        );
    }
    body.push_str("</table></div>");
    layout(lang, t(lang, "tasks"), Some(&m.session), &body).into_response()
}

pub async fn advance(
    State(app): State<AppState>,
    m: Member,
    Path((id, action)): Path<(i64, String)>,
    Form(form): Form<FormMap>,
) -> Response {
    if !m.session.csrf_ok(&form) {
        return forbidden(m.session.lang);
    }
    let done = match action.as_str() {
        "take" => false,
        "done" => true,
        _ => return not_found(&m.session),
    };
    let (community, user, actor) = (m.community.clone(), m.session.user.clone(), m.actor());
    let action = if done { "task.done" } else { "task.take" };
    let advance = move |conn: &mut dyn crate::db::Conn| {
        crate::ops::audited_if(conn, &actor, action, &format!("request {id}"), |tx| {
            checkins::advance(tx, &community, id, &user, done, now_ms())
        })
    };
    match app.db.call(advance).await {
        Ok(true) => state_redirect("/tasks"),
        Ok(false) => not_found(&m.session),
        Err(e) => server_error(e),
    }
}
