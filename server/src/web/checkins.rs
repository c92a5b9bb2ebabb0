//! The Check-ins page (a volunteer's call list: who has missed a check-in,
//! their phone and last report; everyone under watch with their personal
//! link) and the Tasks page (service requests from quarantined homes,
//! taken and marked done by volunteers).

use axum::extract::{Form, Path, State};
use axum::response::Response;
use maud::{html, Markup};

use super::{csrf_field, fmt_last_day, fmt_ms, frame, state_redirect, t, FormMap, Lang, Member, WebError};
use crate::db::now_ms;
use crate::leaves::roles::Perm;
use crate::records::checkins::{self, Report};
use crate::records::returnees::Kind;
use crate::AppState;

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

pub async fn page(State(app): State<AppState>, m: Member) -> Result<Markup, WebError> {
    let (lang, offset, community) = (m.session.lang, app.config.utc_offset_min, m.community.clone());
    let (missed, all) = app
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
        .await?;
    let (slot_day, slot, _) = checkins::last_overdue_slot(now_ms(), offset);
    let base = app.config.public_url.trim_end_matches('/');
    let body = html! {
        p { (t(lang, "checkin_help")) }
        h2 { (t(lang, "call_list")) " " small { "(" (slot_day) " " (t(lang, if slot == "am" { "morning" } else { "evening" })) ")" } }
        div.scroll {
            table #call-list {
                tr { th { (t(lang, "unit")) } th { (t(lang, "name")) } th { (t(lang, "phone")) } th { (t(lang, "last_report")) } }
                @for (p, last) in &missed {
                    tr {
                        td { (p.unit) } td { (p.name) }
                        td { a href={ "tel:" (p.phone) } { (p.phone) } }
                        td { (report(lang, last, offset)) }
                    }
                }
            }
        }
        h2 { (t(lang, "under_watch")) }
        div.scroll {
            table #watched {
                tr {
                    th { (t(lang, "unit")) } th { (t(lang, "name")) } th { (t(lang, "period_until")) }
                    th { (t(lang, "last_report")) } th { (t(lang, "personal_link")) }
                }
                @for (p, token, last) in &all {
                    tr {
                        td { (p.unit) } td { (p.name) }
                        td {
                            (t(lang, if p.kind == Kind::Notice { "quarantine" } else { "self_monitoring" })) " · "
                            (fmt_last_day(p.until_s, offset))
                        }
                        td { (report(lang, last, offset)) }
                        td { code { (base) "/c/" (m.community) "/" (token) } }
                    }
                }
            }
        }
    };
    Ok(frame(lang, t(lang, "checkins"), Some(&m.session), body))
}

pub async fn tasks(State(app): State<AppState>, m: Member) -> Result<Markup, WebError> {
    let (lang, offset, community) = (m.session.lang, app.config.utc_offset_min, m.community.clone());
    let list = app.db.call(move |conn| checkins::tasks(conn, &community, now_ms())).await?;
    let act = m.may(Perm::AckAlerts);
    let body = html! {
        div.scroll {
            table #tasks {
                tr { th { (t(lang, "unit")) } th { (t(lang, "request")) } th { (t(lang, "asked_at")) } th { (t(lang, "status")) } th {} }
                @for r in &list {
                    @let (status, button) = match (&r.taken_by, r.done_ms) {
                        (_, Some(done)) => (format!("{} {}", t(lang, "task_done"), fmt_ms(done, offset)), None),
                        (Some(by), None) => (format!("{} {by}", t(lang, "task_taken_by")), Some(("done", "mark_done"))),
                        (None, None) => (t(lang, "task_open").to_string(), Some(("take", "take_task"))),
                    };
                    tr data-task=(r.id) {
                        td { (r.unit) }
                        td class=[(r.kind == "medical").then_some("bad")] {
                            (t(lang, &format!("request_{}", r.kind)))
                            @if !r.note.is_empty() { ": " (r.note) }
                        }
                        td { (fmt_ms(r.asked_ms, offset)) }
                        td { (status) }
                        td {
                            @if let Some((action, word)) = button.filter(|_| act) {
                                form.inline method="post" action={ "/tasks/" (r.id) "/" (action) } {
                                    (csrf_field(&m.session.csrf))
                                    button { (t(lang, word)) }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(frame(lang, t(lang, "tasks"), Some(&m.session), body))
}

pub async fn advance(
    State(app): State<AppState>,
    m: Member,
    Path((id, action)): Path<(i64, String)>,
    Form(form): Form<FormMap>,
) -> Result<Response, WebError> {
    m.session.check_csrf(&form)?;
    let done = match action.as_str() {
        "take" => false,
        "done" => true,
        _ => return Err(WebError::not_found(&m.session)),
    };
    let (community, user, actor) = (m.community.clone(), m.session.user.clone(), m.actor());
    let action = if done { "task.done" } else { "task.take" };
    let advance = move |conn: &mut dyn crate::db::Conn| {
        crate::ops::audited_if(conn, &actor, action, &crate::leaves::detail::enc("request_n", &[&id]), |tx| {
            checkins::advance(tx, &community, id, &user, done, now_ms())
        })
    };
    if !app.db.call(advance).await? {
        return Err(WebError::not_found(&m.session));
    }
    Ok(state_redirect("/tasks"))
}
