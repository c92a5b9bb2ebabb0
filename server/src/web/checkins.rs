//! The Check-ins page (a volunteer's call list: who has missed a check-in,
//! their phone and last report; everyone under watch with their personal
//! link) and the Tasks page (service requests from quarantined homes,
//! taken and marked done by volunteers).

use axum::extract::{Form, Path, State};
use axum::response::Response;
use maud::{html, Markup};

use super::{csrf_field, field, fmt_last_day, fmt_ms, frame, state_redirect, t, FormMap, Lang, Member, WebError};
use crate::db::now_ms;
use crate::leaves::roles::Perm;
use crate::records::calls;
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
        .post("/checkins/{subject}/call", Perm::AckAlerts, call)
        .get("/checkins/{subject}/card", Perm::ReadAlerts, card)
}

/// Who took a task: the name and phone they gave, else their account.
fn taker(r: &checkins::Request, account: &str) -> String {
    match (r.taker_name.is_empty(), r.taker_phone.is_empty()) {
        (true, true) => account.to_string(),
        (false, true) => r.taker_name.clone(),
        (true, false) => format!("{account} {}", r.taker_phone),
        (false, false) => format!("{} {}", r.taker_name, r.taker_phone),
    }
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
            let (day, slot, _) = checkins::last_overdue_slot(now, offset);
            let slot = format!("{day} {slot}");
            let mut missed = Vec::new();
            for (p, last) in checkins::missed(conn, &community, now, offset)? {
                let call = calls::last(conn, &community, &p.key, &slot)?;
                missed.push((p, last, call));
            }
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
    let may_call = m.may(Perm::AckAlerts);
    let body = html! {
        p { (t(lang, "checkin_help")) }
        h2 { (t(lang, "call_list")) " " small { "(" (slot_day) " " (t(lang, if slot == "am" { "morning" } else { "evening" })) ")" } }
        div.scroll {
            table #call-list {
                tr {
                    th { (t(lang, "unit")) } th { (t(lang, "name")) } th { (t(lang, "phone")) } th { (t(lang, "last_report")) }
                    th { (t(lang, "call_outcome")) }
                }
                @for (p, last, call) in &missed {
                    tr data-subject=(p.key) {
                        td { (p.unit) } td { (p.name) }
                        td { a href={ "tel:" (p.phone) } { (p.phone) } }
                        td { (report(lang, last, offset)) }
                        td {
                            @if let Some(c) = call {
                                p.call { b { (t(lang, &format!("call_{}", c.outcome))) } " · " (c.by_user) " " (&fmt_ms(c.at_ms, offset)[11..16])
                                    @if !c.note.is_empty() { br; (c.note) } }
                            }
                            @if may_call { (call_form(lang, &m.session.csrf, &p.key)) }
                        }
                    }
                }
            }
        }
        h2 { (t(lang, "under_watch")) }
        div.scroll {
            table #watched {
                tr {
                    th { (t(lang, "unit")) } th { (t(lang, "name")) } th { (t(lang, "period_until")) }
                    th { (t(lang, "last_report")) } th { (t(lang, "personal_link")) } th {}
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
                        td { a href={ "/checkins/" (p.key) "/card" } { (t(lang, "print_card")) } }
                    }
                }
            }
        }
    };
    Ok(frame(lang, t(lang, "checkins"), Some(&m.session), body))
}

/// What came of a call, said in a tap and a line.
fn call_form(lang: Lang, csrf: &str, subject: &str) -> Markup {
    html! {
        form.inline method="post" action={ "/checkins/" (subject) "/call" } {
            (csrf_field(csrf))
            // Nothing chosen until the caller chooses: a tap on the button
            // alone records nothing.
            select name="outcome" required aria-label=(t(lang, "call_outcome")) {
                option value="" { (t(lang, "call_choose")) }
                @for o in calls::OUTCOMES { option value=(o) { (t(lang, &format!("call_{o}"))) } }
            }
            input name="note" maxlength=(calls::NOTE_CHARS) placeholder=(t(lang, "call_note"));
            button { (t(lang, "call_record")) }
        }
    }
}

/// A volunteer records what a call found, for the slot the list is of.
pub async fn call(
    State(app): State<AppState>,
    m: Member,
    Path(subject): Path<String>,
    Form(form): Form<FormMap>,
) -> Result<Response, WebError> {
    m.session.check_csrf(&form)?;
    let (community, user, actor, offset) =
        (m.community.clone(), m.session.user.clone(), m.actor(), app.config.utc_offset_min);
    let (outcome, note) = (field(&form, "outcome").to_string(), field(&form, "note").to_string());
    let record = move |conn: &mut dyn crate::db::Conn| {
        let now = now_ms();
        // Only someone the list can show: a person under watch here.
        let watched = checkins::watched(conn, &community, now / 1000)?;
        let Some(person) = watched.iter().find(|p| p.key == subject) else { return Ok(Err(None)) };
        let (day, slot, _) = checkins::last_overdue_slot(now, offset);
        let detail = crate::leaves::detail::Detail::new(
            "call_made",
            [
                crate::leaves::detail::Arg::from(person.unit.as_str()),
                crate::leaves::detail::Arg::Word(format!("call_{outcome}")),
            ],
        )
        .encode();
        let done = crate::ops::audited(conn, &actor, "call.record", &detail, |tx| {
            calls::record(tx, &community, &subject, &format!("{day} {slot}"), &outcome, &note, &user, now)
        });
        match done {
            Ok(()) => Ok(Ok(())),
            Err(calls::CallError::Invalid(key)) => Ok(Err(Some(key))),
            Err(calls::CallError::Db(e)) => Err(e),
        }
    };
    match app.db.call(record).await? {
        Ok(()) => Ok(state_redirect("/checkins")),
        Err(None) => Err(WebError::not_found(&m.session)),
        Err(Some(key)) => {
            let text = super::i18n::detail_text(m.session.lang, &crate::leaves::detail::enc(key, &[]), 0);
            Err(WebError::invalid(&m.session, "checkins", text).back("/checkins"))
        }
    }
}

/// A card to print and hand to a home under watch: the personal link as a
/// QR code, and what to do with it.
pub async fn card(State(app): State<AppState>, m: Member, Path(subject): Path<String>) -> Result<Markup, WebError> {
    let (lang, offset, community) = (m.session.lang, app.config.utc_offset_min, m.community.clone());
    let found = app
        .db
        .call(move |conn| {
            let Some(p) = checkins::watched(conn, &community, now_ms() / 1000)?.into_iter().find(|p| p.key == subject)
            else {
                return Ok(None);
            };
            let token = checkins::token(conn, &community, &p.key)?;
            Ok(Some((p, token)))
        })
        .await?;
    let Some((p, token)) = found else { return Err(WebError::not_found(&m.session)) };
    let url = format!(
        "{}/c/{}/{}",
        app.config.public_url.trim_end_matches('/'),
        super::urlencode(&m.community),
        super::urlencode(&token)
    );
    let body = html! {
        div.card #checkin-card style="text-align:center;max-width:24em" {
            p { b { (m.session.place.name_or(&m.community)) } }
            h2 { (p.unit) " · " (p.name) }
            p {
                (t(lang, if p.kind == Kind::Notice { "quarantine" } else { "self_monitoring" })) " · "
                (t(lang, "until")) " " (fmt_last_day(p.until_s, offset))
            }
            div.qr { (super::qr_code(&url)) }
            p { (t(lang, "card_help")) }
        }
        p.noprint { (t(lang, "print_hint")) }
    };
    Ok(frame(lang, t(lang, "checkin_card"), Some(&m.session), body))
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
                        (Some(by), None) => (format!("{} {}", t(lang, "task_taken_by"), taker(r, by)), Some(("done", "mark_done"))),
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
