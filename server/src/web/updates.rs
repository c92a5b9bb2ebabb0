//! The district's software updates (issue 31): the releases stored, the
//! rollout under way stage by stage, and each gate's part in it. District
//! accounts only: rolling a release out is the district's IT work, and a
//! community's account gets 404 as for any page not its own.

use axum::extract::{Form, State};
use axum::response::{IntoResponse, Response};
use maud::{html, Markup};
use shoumen_protocol::release::Outcome;

use super::{csrf_field, fmt_ms, frame, state_redirect, t, FormMap, Lang, Session, WebError};
use crate::db::now_ms;
use crate::records::updates::{self, Gate, Rollout, Step, StepRow, UpdateError, STAGES};
use crate::AppState;

/// The routes of this page, who may use each, and its menu entries.
pub fn table() -> super::site::Table {
    use super::site::Access;
    super::site::Table::new()
        .get("/updates", Access::Account, page)
        .post("/updates/start", Access::Account, start)
        .post("/updates/halt", Access::Account, halt)
}

fn district_only(session: &Session) -> Result<(), WebError> {
    match session.community {
        Some(_) => Err(WebError::not_found(session)),
        None => Ok(()),
    }
}

pub async fn page(State(app): State<AppState>, session: Session) -> Result<Markup, WebError> {
    district_only(&session)?;
    let lang = session.lang;
    let offset = app.config.utc_offset_min;
    let (stored, latest, gates) = app
        .db
        .call(|conn| {
            let latest = updates::latest(conn)?;
            let running = latest.as_ref().map(|(r, _)| r).filter(|r| r.ended_ms.is_none());
            Ok((updates::releases(conn)?, latest.clone(), updates::gates(conn, running)?))
        })
        .await?;
    let now = now_ms();
    let body = html! {
        @match &latest {
            Some((r, steps)) => (rollout(lang, r, steps, &gates, now, offset)),
            None => p { (t(lang, "update_none_yet")) },
        }
        @if latest.as_ref().is_some_and(|(r, _)| r.ended_ms.is_none()) {
            form.card method="post" action="/updates/halt" {
                (csrf_field(&session.csrf))
                label { (t(lang, "update_halt_why")) input name="why" maxlength="200"; }
                button.danger { (t(lang, "update_halt")) }
            }
        }
        h2 { (t(lang, "update_releases")) }
        @if stored.is_empty() { p { (t(lang, "update_no_releases")) " " code { "shoumen-server release add" } } }
        ul.fleet {
            @for s in &stored {
                li { b { (s.version) } " · " (s.arch) br; small { (s.size / 1024) " KiB · " (fmt_ms(s.added_ms, offset)) } }
            }
        }
        @if !stored.is_empty() {
            form.card method="post" action="/updates/start" {
                (csrf_field(&session.csrf))
                b { (t(lang, "update_start")) }
                p { (t(lang, "update_start_hint")) }
                label { (t(lang, "version"))
                    select name="version" {
                        @for s in dedup_versions(&stored) { option { (s) } }
                    }
                }
                label { (t(lang, "update_percent")) input name="percent" type="number" min="1" max="100" value="20" required; }
                button { (t(lang, "update_start")) }
            }
        }
        (gate_list(lang, &gates, latest.as_ref().map(|(r, _)| r), now))
    };
    Ok(frame(lang, t(lang, "updates"), Some(&session), body))
}

fn dedup_versions(stored: &[updates::Stored]) -> Vec<&str> {
    let mut v: Vec<&str> = stored.iter().map(|s| s.version.as_str()).collect();
    v.dedup();
    v
}

/// The rollout: its state, each stage with its gates counted, its steps.
fn rollout(lang: Lang, r: &Rollout, steps: &[StepRow], gates: &[Gate], now: i64, offset: i32) -> Markup {
    let in_stage = |s: i64| gates.iter().filter(|g| g.stage.is_some_and(|k| k <= s)).collect::<Vec<_>>();
    html! {
        h2 { (t(lang, "update_rollout")) " " (r.version) }
        p {
            @if let Some(why) = &r.halted { span.bad { (t(lang, "update_halted")) } ": " (why) }
            @else if r.ended_ms.is_some() { span.ok { (t(lang, "update_done")) } }
            @else { (t(lang, "update_running")) }
        }
        @if r.ended_ms.is_none() {
            ol.stages {
                @for s in STAGES {
                    @let taken = in_stage(s);
                    @let well = taken.iter().filter(|g| g.healthy_on(&r.version, now)).count();
                    li.current[s == r.stage] {
                        b { (stage_name(lang, s, r.percent)) }
                        @if s <= r.stage { " · " (well) " / " (taken.len()) " " (t(lang, "update_gates_well")) }
                        @else { " · " (t(lang, "update_waiting_stage")) }
                    }
                }
            }
        }
        ul.steps {
            @for (at, step, detail) in steps {
                li { small { (fmt_ms(*at, offset)) } " " (step_word(lang, *step)) @if !detail.is_empty() { " · " (detail) } }
            }
        }
    }
}

fn stage_name(lang: Lang, stage: i64, percent: i64) -> String {
    match stage {
        1 => t(lang, "update_stage_one").to_string(),
        2 => format!("{} {percent}%", t(lang, "update_stage_share")),
        _ => t(lang, "update_stage_all").to_string(),
    }
}

fn step_word(lang: Lang, step: Step) -> &'static str {
    t(
        lang,
        match step {
            Step::Started => "update_step_started",
            Step::Promoted => "update_step_promoted",
            Step::Done => "update_step_done",
            Step::Halted => "update_step_halted",
            Step::Replaced => "update_step_replaced",
        },
    )
}

/// Every gate: the version it runs and how its last update went; during a
/// rollout, the stage that takes it.
fn gate_list(lang: Lang, gates: &[Gate], r: Option<&Rollout>, now: i64) -> Markup {
    html! {
        h2 { (t(lang, "update_gates")) }
        ul.fleet {
            @for g in gates {
                li {
                    b { (g.community) " · " (g.gate) }
                    @if let (Some(r), Some(s)) = (r.filter(|r| r.ended_ms.is_none()), g.stage) {
                        " " small { (stage_name(lang, s, r.percent)) }
                        @if g.healthy_on(&r.version, now) { " " span.ok { (t(lang, "update_gate_well")) } }
                    }
                    br;
                    small {
                        (t(lang, "version")) " " (g.installed.as_deref().unwrap_or("—"))
                        @if g.installed.is_none() { " · " (t(lang, "update_not_packaged")) }
                        @if let Some(w) = &g.waiting { " · " (t(lang, "update_waiting_quiet")) " " (w) }
                        @match &g.last {
                            Some(Outcome::RolledBack { failed, why, .. }) => {
                                " · " span.bad { (t(lang, "update_rolled_back")) " " (failed) } ": " (why)
                            }
                            Some(Outcome::Refused { version, why, .. }) => {
                                " · " span.bad { (t(lang, "update_refused")) " " (version) } ": " (why)
                            }
                            _ => {}
                        }
                    }
                }
            }
        }
    }
}

fn refusal(session: &Session, e: UpdateError) -> WebError {
    match e {
        UpdateError::Db(e) => e.into(),
        other => WebError::invalid(session, "updates", t(session.lang, other.key())).back("/updates"),
    }
}

pub async fn start(
    State(app): State<AppState>,
    session: Session,
    Form(form): Form<FormMap>,
) -> Result<Response, WebError> {
    district_only(&session)?;
    session.check_csrf(&form)?;
    let version = form.get("version").cloned().unwrap_or_default();
    let percent = form.get("percent").and_then(|p| p.trim().parse().ok()).unwrap_or(0);
    let by = session.user.clone();
    let started = app.db.call(move |conn| Ok(updates::start(conn, &version, percent, &by, now_ms()))).await?;
    started.map_err(|e| refusal(&session, e))?;
    Ok(state_redirect("/updates").into_response())
}

pub async fn halt(
    State(app): State<AppState>,
    session: Session,
    Form(form): Form<FormMap>,
) -> Result<Response, WebError> {
    district_only(&session)?;
    session.check_csrf(&form)?;
    let why = match form.get("why").map(|w| w.trim()).filter(|w| !w.is_empty()) {
        Some(w) => format!("{} ({})", w, session.user),
        None => session.user.clone(),
    };
    let halted = app.db.call(move |conn| Ok(updates::halt(conn, &why, now_ms()))).await?;
    halted.map_err(|e| refusal(&session, e))?;
    Ok(state_redirect("/updates").into_response())
}
