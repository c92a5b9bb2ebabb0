//! The duty roster (issue 32): each gate's week of shifts with who is on
//! them and what is missing, beside the gate's traffic by hour over the
//! last four weeks; making and removing shifts, putting volunteers on and
//! off them; the roster printed for the gatehouse wall.

use std::collections::HashMap;

use axum::extract::{Form, Path, Query, State};
use axum::response::Response;
use maud::{html, Markup};

use super::{csrf_field, fmt_ms, frame, state_redirect, t, tf, FormMap, Lang, Member, Session, WebError};
use crate::db::now_ms;
use crate::records::roster::{self, RosterError, Shift, Standing, Volunteer};
use crate::reports::roster::{ShiftWorked, TRAFFIC_DAYS};
use crate::AppState;

/// The routes of this page, who may use each, and its menu entries.
pub fn table() -> super::site::Table {
    use crate::leaves::roles::Perm;
    super::site::Table::new()
        .menu("/roster", "roster")
        .get("/roster", Perm::ReadGates, week)
        .get("/roster/print", Perm::ReadGates, print)
        .post("/roster/shifts", Perm::EditRecords, add_shift)
        .post("/roster/shifts/{id}/delete", Perm::EditRecords, delete_shift)
        .post("/roster/shifts/{id}/people", Perm::EditRecords, put_on)
        .post("/roster/shifts/{id}/people/{volunteer}/remove", Perm::EditRecords, take_off)
}

const DAY_MS: i64 = 86_400_000;

#[derive(serde::Deserialize)]
pub struct Week {
    week: Option<String>,
}

/// Local midnight of the Monday of the week holding `day` (or today).
pub fn monday(day: Option<&str>, now_ms: i64, offset: i32) -> i64 {
    use chrono::Datelike;
    let start = day.and_then(|d| super::parse_day(d, offset)).map_or(now_ms, |s| s * 1000);
    let local = chrono::DateTime::from_timestamp_millis(start + i64::from(offset) * 60_000).unwrap_or_default();
    let back = i64::from(local.weekday().num_days_from_monday());
    let midnight = start - (start + i64::from(offset) * 60_000).rem_euclid(DAY_MS);
    midnight - back * DAY_MS
}

/// What a week's page shows.
struct WeekData {
    from_ms: i64,
    gates: Vec<String>,
    shifts: Vec<Shift>,
    volunteers: Vec<Volunteer>,
    traffic: HashMap<String, [i64; 24]>,
    /// (shift, volunteer) → what their shift counts for so far.
    worked: HashMap<(i64, i64), ShiftWorked>,
}

async fn load(app: &AppState, m: &Member, from_ms: i64) -> Result<WeekData, WebError> {
    let (community, offset) = (m.community.clone(), app.config.utc_offset_min);
    Ok(app
        .db
        .call(move |conn| {
            let mut gates: Vec<String> =
                crate::records::devices::list(conn, &community)?.into_iter().map(|g| g.name).collect();
            gates.sort();
            gates.dedup();
            Ok(WeekData {
                from_ms,
                gates,
                shifts: roster::shifts(conn, &community, from_ms, from_ms + 7 * DAY_MS)?,
                volunteers: roster::list(conn, &community)?,
                traffic: crate::reports::roster::traffic(conn, &community, now_ms(), offset)?,
                worked: crate::reports::roster::worked(conn, &community, from_ms, from_ms + 7 * DAY_MS, now_ms())?
                    .into_iter()
                    .map(|w| ((w.shift_id, w.volunteer_id), w))
                    .collect(),
            })
        })
        .await?)
}

pub async fn week(State(app): State<AppState>, m: Member, Query(w): Query<Week>) -> Result<Markup, WebError> {
    let offset = app.config.utc_offset_min;
    let from_ms = monday(w.week.as_deref(), now_ms(), offset);
    let data = load(&app, &m, from_ms).await?;
    let (session, lang) = (&m.session, m.session.lang);
    let day = |ms: i64| fmt_ms(ms, offset)[..10].to_string();
    let body = html! {
        style { (CSS) }
        p.noprint {
            a href={ "/roster?week=" (day(from_ms - 7 * DAY_MS)) } { "‹ " (t(lang, "week_before")) } " · "
            a href="/roster" { (t(lang, "this_week")) } " · "
            a href={ "/roster?week=" (day(from_ms + 7 * DAY_MS)) } { (t(lang, "week_after")) " ›" } " · "
            a href={ "/roster/print?week=" (day(from_ms)) } { (t(lang, "roster_print")) }
            @if session.may_post("/roster/volunteers") { " · " a href="/roster/volunteers" { (t(lang, "volunteers")) } }
            @if session.may_post("/roster/volunteers") { " · " a href="/roster/hours" { (t(lang, "volunteer_hours")) } }
        }
        @if data.gates.is_empty() { p.msg { (t(lang, "roster_no_gates")) } }
        @if session.may_post("/roster/shifts") && !data.gates.is_empty() { (shift_form(session, &data, offset)) }
        @for gate in &data.gates {
            h2 { (gate) }
            (traffic(lang, data.traffic.get(gate)))
            div.week {
                @for d in 0..7 {
                    @let start = data.from_ms + d * DAY_MS;
                    div.day {
                        h3 { (weekday(lang, d)) " " (day(start)[5..].to_string()) }
                        @let theirs: Vec<&Shift> = data.shifts.iter().filter(|s| s.gate == *gate && s.start_ms >= start && s.start_ms < start + DAY_MS).collect();
                        @if theirs.is_empty() { small { (t(lang, "no_shift")) } }
                        @for s in theirs { (shift_card(session, s, &data, offset)) }
                    }
                }
            }
        }
    };
    let title = format!("{} · {}", t(lang, "roster"), day(from_ms));
    Ok(frame(lang, &title, Some(session), body))
}

// No quotes or angle brackets: maud leaves it as it is.
const CSS: &str = ".week{display:grid;grid-template-columns:repeat(auto-fill,minmax(11em,1fr));gap:.5em}\
.day{background:#fff;border:1px solid #ddd;padding:.4em .6em}.day h3{margin:.2em 0;font-size:1em}\
.shift{border-left:4px solid #0b5d3b;padding:.2em .5em;margin:.4em 0}.shift.gap{border-left-color:#b3261e}\
.shift form{margin:.2em 0}.traffic{display:flex;align-items:flex-end;gap:1px;height:3em;max-width:30em}\
.traffic i{flex:1;background:#5f6368;min-height:1px}.traffic i.busy{background:#b3261e}";

pub fn weekday(lang: Lang, d: i64) -> &'static str {
    const KEYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
    t(lang, KEYS[d.rem_euclid(7) as usize])
}

/// A gate's entries per hour of an average day of the last four weeks, and
/// its three busiest hours in words.
fn traffic(lang: Lang, hours: Option<&[i64; 24]>) -> Markup {
    let Some(hours) = hours.filter(|h| h.iter().any(|n| *n > 0)) else {
        return html! { p { small { (t(lang, "traffic_none")) } } };
    };
    let max = *hours.iter().max().unwrap_or(&1);
    let mut busiest: Vec<usize> = (0..24).filter(|h| hours[*h] > 0).collect();
    busiest.sort_by_key(|h| std::cmp::Reverse(hours[*h]));
    busiest.truncate(3);
    let per_day = |n: i64| format!("{:.1}", n as f64 / TRAFFIC_DAYS as f64);
    html! {
        p {
            (t(lang, "traffic_busiest")) " "
            @for (i, h) in busiest.iter().enumerate() {
                @if i > 0 { "，" }
                (format!("{h:02}:00–{:02}:00", h + 1)) " (" (tf(lang, "traffic_a_day", &[&per_day(hours[*h])])) ")"
            }
        }
        div.traffic role="img" aria-label=(t(lang, "traffic_busiest")) {
            @for (h, n) in hours.iter().enumerate() {
                i.busy[busiest.contains(&h)] style={ "height:" (n * 100 / max.max(1)) "%" } title={ (format!("{h:02}:00")) ": " (per_day(*n)) } {}
            }
        }
    }
}

fn shift_card(session: &Session, s: &Shift, data: &WeekData, offset: i32) -> Markup {
    let (lang, volunteers) = (session.lang, &data.volunteers);
    let hm = |ms: i64| fmt_ms(ms, offset)[11..16].to_string();
    let edit = session.may_post("/roster/shifts/{id}/people");
    // The forms come back to the week they were on, not to this week.
    let week = html! { input type="hidden" name="week" value=(fmt_ms(data.from_ms, offset)[..10].to_string()); };
    html! {
        div.shift.gap[s.gap() > 0] {
            b { (hm(s.start_ms)) "–" (hm(s.end_ms)) } " "
            span { (s.people.len()) " / " (s.needed) }
            @if s.gap() > 0 { " " span.bad { (t(lang, "shift_gap")) " " (s.gap()) } }
            @for (id, name) in &s.people {
                div {
                    (name)
                    @match data.worked.get(&(s.id, *id)) {
                        Some(w) if w.no_show => { " " span.bad.no-show { (t(lang, "hours_no_show")) } }
                        Some(w) if w.worked.first_in_ms.is_some() => {
                            " " small.ok { (t(lang, "hours_signed_in")) " " (hm(w.worked.first_in_ms.unwrap_or_default())) }
                        }
                        _ => {}
                    }
                    @if edit {
                        form.inline method="post" action={ "/roster/shifts/" (s.id) "/people/" (id) "/remove" } {
                            (csrf_field(&session.csrf)) (week) " " button { (t(lang, "take_off_shift")) }
                        }
                    }
                }
            }
            @if edit && s.gap() > 0 {
                form method="post" action={ "/roster/shifts/" (s.id) "/people" } {
                    (csrf_field(&session.csrf)) (week)
                    select name="volunteer" aria-label=(t(lang, "volunteer")) {
                        @for v in volunteers.iter().filter(|v| v.standing == Standing::Active && !s.people.iter().any(|p| p.0 == v.id)) {
                            option value=(v.id) { (v.name) }
                        }
                    }
                    button { (t(lang, "put_on_shift")) }
                }
            }
            @if edit {
                form method="post" action={ "/roster/shifts/" (s.id) "/delete" } {
                    (csrf_field(&session.csrf)) (week) button.danger { (t(lang, "delete_shift")) }
                }
            }
        }
    }
}

fn shift_form(session: &Session, data: &WeekData, offset: i32) -> Markup {
    let lang = session.lang;
    html! {
        // Folded, so that on a phone the week comes first.
        details.card.noprint open[data.shifts.is_empty()] {
            summary { (t(lang, "add_shift")) }
            (shift_fields(session, data, offset))
        }
    }
}

fn shift_fields(session: &Session, data: &WeekData, offset: i32) -> Markup {
    let lang = session.lang;
    html! {
        form method="post" action="/roster/shifts" {
            (csrf_field(&session.csrf))
            label { (t(lang, "gate")) select name="gate" { @for g in &data.gates { option { (g) } } } }
            label { (t(lang, "day")) input type="date" name="day" required value=(fmt_ms(data.from_ms, offset)[..10].to_string()); }
            label { (t(lang, "shift_from")) input type="time" name="from" required value="08:00"; }
            label { (t(lang, "shift_to")) input type="time" name="to" required value="12:00"; }
            label { (t(lang, "shift_needed")) input type="number" name="needed" min="1" max=(roster::MOST_NEEDED) value="2"; }
            button { (t(lang, "add_shift")) }
        }
    }
}

/// `HH:MM` as minutes after midnight.
fn minutes(s: &str) -> Option<i64> {
    let (h, m) = s.trim().split_once(':')?;
    let (h, m): (i64, i64) = (h.parse().ok()?, m.parse().ok()?);
    ((0..24).contains(&h) && (0..60).contains(&m)).then_some(h * 60 + m)
}

/// The words of a roster refusal, or the error as it is.
fn refused(session: &Session, e: RosterError, back: &str) -> WebError {
    match e {
        RosterError::Invalid(key) => WebError::invalid(session, "roster", t(session.lang, key)).back(back),
        RosterError::NotFound(_) => WebError::not_found(session),
        RosterError::Db(e) => WebError::from(e),
    }
}

pub async fn add_shift(
    State(app): State<AppState>,
    m: Member,
    Form(form): Form<FormMap>,
) -> Result<Response, WebError> {
    let session = &m.session;
    session.check_csrf(&form)?;
    let offset = app.config.utc_offset_min;
    let f = |k: &str| form.get(k).map(String::as_str).unwrap_or("");
    let (Some(day_s), Some(from), Some(to)) =
        (super::parse_day(f("day"), offset), minutes(f("from")), minutes(f("to")))
    else {
        return Err(refused(session, RosterError::Invalid("err_shift_times"), "/roster"));
    };
    let start_ms = day_s * 1000 + from * 60_000;
    // A shift ending before it starts runs past midnight.
    let end_ms = day_s * 1000 + to * 60_000 + if to <= from { DAY_MS } else { 0 };
    let needed: i64 = f("needed").trim().parse().unwrap_or(0);
    let (gate, community, actor) = (f("gate").to_string(), m.community.clone(), m.actor());
    let week = fmt_ms(start_ms, offset)[..10].to_string();
    app.db
        .call(move |conn| Ok(crate::ops::roster::add_shift(conn, &actor, &community, &gate, start_ms, end_ms, needed)))
        .await?
        .map_err(|e| refused(session, e, "/roster"))?;
    Ok(state_redirect(&format!("/roster?week={week}")))
}

pub async fn delete_shift(
    State(app): State<AppState>,
    m: Member,
    Path(id): Path<i64>,
    Form(form): Form<FormMap>,
) -> Result<Response, WebError> {
    m.session.check_csrf(&form)?;
    let (community, actor) = (m.community.clone(), m.actor());
    let found = app.db.call(move |conn| Ok(crate::ops::roster::delete_shift(conn, &actor, &community, id))).await?;
    if !found.map_err(|e| refused(&m.session, e, "/roster"))? {
        return Err(WebError::not_found(&m.session));
    }
    Ok(back_to_week(&form, app.config.utc_offset_min))
}

pub async fn put_on(
    State(app): State<AppState>,
    m: Member,
    Path(id): Path<i64>,
    Form(form): Form<FormMap>,
) -> Result<Response, WebError> {
    m.session.check_csrf(&form)?;
    let volunteer: i64 = form.get("volunteer").and_then(|v| v.parse().ok()).unwrap_or(0);
    let (community, actor) = (m.community.clone(), m.actor());
    app.db
        .call(move |conn| Ok(crate::ops::roster::put_on(conn, &actor, &community, id, volunteer)))
        .await?
        .map_err(|e| refused(&m.session, e, "/roster"))?;
    Ok(back_to_week(&form, app.config.utc_offset_min))
}

pub async fn take_off(
    State(app): State<AppState>,
    m: Member,
    Path((id, volunteer)): Path<(i64, i64)>,
    Form(form): Form<FormMap>,
) -> Result<Response, WebError> {
    m.session.check_csrf(&form)?;
    let (community, actor) = (m.community.clone(), m.actor());
    let was_on = app
        .db
        .call(move |conn| Ok(crate::ops::roster::take_off(conn, &actor, &community, id, volunteer)))
        .await?
        .map_err(|e| refused(&m.session, e, "/roster"))?;
    if !was_on {
        return Err(WebError::not_found(&m.session));
    }
    Ok(back_to_week(&form, app.config.utc_offset_min))
}

/// Back to the week a form was on (a date the page wrote), else this week.
fn back_to_week(form: &FormMap, offset: i32) -> Response {
    match form.get("week").filter(|w| super::parse_day(w, offset).is_some()) {
        Some(week) => state_redirect(&format!("/roster?week={week}")),
        None => state_redirect("/roster"),
    }
}

/// The week on one sheet for the gatehouse wall: per gate and day, each
/// shift's times and names, and its gaps.
pub async fn print(State(app): State<AppState>, m: Member, Query(w): Query<Week>) -> Result<Markup, WebError> {
    let offset = app.config.utc_offset_min;
    let from_ms = monday(w.week.as_deref(), now_ms(), offset);
    let data = load(&app, &m, from_ms).await?;
    let lang = m.session.lang;
    let hm = |ms: i64| fmt_ms(ms, offset)[11..16].to_string();
    let body = html! {
        p.noprint { (t(lang, "roster_print_hint")) }
        @for gate in &data.gates {
            h2 { (gate) }
            div.scroll { table {
                tr { th { (t(lang, "day")) } th { (t(lang, "shift")) } th { (t(lang, "volunteers")) } }
                @for s in data.shifts.iter().filter(|s| s.gate == *gate) {
                    @let d = (s.start_ms - data.from_ms).div_euclid(DAY_MS);
                    tr {
                        td { (weekday(lang, d)) " " (fmt_ms(s.start_ms, offset)[5..10].to_string()) }
                        td { (hm(s.start_ms)) "–" (hm(s.end_ms)) }
                        td {
                            (s.people.iter().map(|p| p.1.as_str()).collect::<Vec<_>>().join("、"))
                            @if s.gap() > 0 { " " span.bad { (t(lang, "shift_gap")) " " (s.gap()) } }
                        }
                    }
                }
            } }
        }
    };
    let title = format!("{} · {}", t(lang, "roster"), &fmt_ms(from_ms, offset)[..10]);
    Ok(frame(lang, &title, Some(&m.session), body))
}
