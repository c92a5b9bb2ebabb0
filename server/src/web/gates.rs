//! The Gates page: each kiosk's last contact, queue, clock, health and
//! layout (is quarantine checked on the way out?), enrollment tokens and
//! codes shown on a new kiosk's screen, and revoking a kiosk.

use axum::extract::{Form, Path, State};
use axum::response::{IntoResponse, Response};
use maud::{html, Markup};
use shoumen_protocol::enroll;
use shoumen_protocol::time::TimeTrust;

use super::{csrf_field, fmt_ms, frame, state_redirect, t, FormMap, Member, Session, WebError};
use crate::records::devices::{self, Gate};
use crate::records::screen_enroll;
use crate::AppState;

/// The routes of this page, who may use each, and its menu entries.
pub fn table() -> super::site::Table {
    use crate::leaves::roles::Perm;
    super::site::Table::new()
        .menu("/gates", "gates")
        .get("/gates", Perm::ReadGates, page)
        .post("/gates/token", Perm::Manage, new_token)
        .get("/gates/enroll", Perm::Manage, screen_code)
        .post("/gates/enroll", Perm::Manage, screen_enroll)
        .post("/gates/{id}/revoke", Perm::Manage, revoke)
}

pub async fn page(State(app): State<AppState>, m: Member) -> Result<Markup, WebError> {
    render(&app, &m, None).await
}

async fn render(app: &AppState, m: &Member, new_token: Option<(String, String)>) -> Result<Markup, WebError> {
    let session = &m.session;
    let lang = session.lang;
    let community = m.community.clone();
    let now = crate::db::now_ms();
    let (rows, on_duty) = app
        .db
        .call(move |conn| Ok((devices::list(conn, &community)?, devices::on_duty(conn, &community, now)?)))
        .await?;
    let body = html! {
        p { a.sort href="/fleet" { (t(lang, "fleet_link")) } }
        @if let Some((token, gate)) = new_token {
            p.msg {
                (t(lang, "new_token")) " " b { (gate) } br;
                (t(lang, "token_hint")) br;
                code { "shoumen enroll " (app.config.public_url) " " (token) }
            }
        }
        (code_form(lang))
        form.card method="post" action="/gates/token" {
            (csrf_field(&session.csrf))
            label { (t(lang, "gate")) input name="gate" required maxlength="40"; }
            button { (t(lang, "new_token")) }
        }
        div.scroll {
            table {
                tr {
                    th { (t(lang, "gate")) } th { (t(lang, "last_seen")) } th { (t(lang, "queue")) }
                    th { (t(lang, "clock_skew")) } th { (t(lang, "health")) } th { (t(lang, "on_duty_now")) }
                    th { (t(lang, "entries")) } th {}
                }
                @for g in &rows {
                    (row(session, g, on_duty.get(&g.id).map_or(&[][..], Vec::as_slice), app.config.utc_offset_min))
                }
            }
        }
    };
    Ok(frame(lang, t(lang, "gates"), Some(session), body))
}

fn row(session: &Session, g: &Gate, on_duty: &[(String, i64)], offset: i32) -> Markup {
    let lang = session.lang;
    let faults: Vec<String> = g.health.iter().filter(|h| !h.ok).map(|h| format!("{}: {}", h.device, h.state)).collect();
    html! {
        tr {
            td {
                (g.name) br;
                small {
                    (g.id)
                    @if let Some(l) = &g.layout {
                        " · " (l.direction) @if l.inward_camera { " + inward camera" }
                    }
                }
            }
            td { (g.last_seen_ms.map_or(t(lang, "never").to_string(), |s| fmt_ms(s, offset))) }
            td { (g.queue.map_or(String::from("—"), |q| q.to_string())) }
            td.clock {
                (g.skew_ms.map_or(String::from("—"), |s| format!("{:+.1} s", s as f64 / 1000.0)))
                @if let Some(trust) = g.time_trust {
                    br;
                    @match trust {
                        TimeTrust::Server => span.ok { (t(lang, "time_server")) },
                        TimeTrust::Ntp => span { (t(lang, "time_ntp")) },
                        TimeTrust::Uncertain => span.bad { (t(lang, "time_uncertain")) },
                    }
                }
                @if let Some(at) = g.corrected_ms {
                    br; small { (t(lang, "time_corrected")) " " (fmt_ms(at, offset)) }
                }
            }
            td {
                @if g.revoked { span.bad { (t(lang, "device_revoked")) } }
                @else if faults.is_empty() { span.ok { "OK" } }
                @else { span.bad { (faults.join("; ")) } }
                @if g.layout.as_ref().is_some_and(|l| !l.checks_exit()) {
                    br; span.bad.exit-not-checked { (t(lang, "exit_not_checked")) }
                }
            }
            td.on-duty {
                @if on_duty.is_empty() { small { (t(lang, "nobody_on_duty")) } }
                @for (pass, since) in on_duty {
                    // The duty pass's first digits, linked to its card (whose it is).
                    (t(lang, "duty_pass")) " "
                    a href={ "/passes/" (pass) "/card" } { code { (pass.get(..8).unwrap_or(pass)) } } " "
                    small { (t(lang, "since")) " " (fmt_ms(*since, offset)) } br;
                }
            }
            td { (g.watermark) }
            td {
                @if !g.revoked {
                    form.inline method="post" action={ "/gates/" (g.id) "/revoke" } {
                        (csrf_field(&session.csrf))
                        button.danger { (t(lang, "revoke")) }
                    }
                }
            }
        }
    }
}

/// The gate's name a form gives, as the committee may name a gate.
fn gate_name(session: &Session, form: &FormMap) -> Result<String, WebError> {
    let gate = crate::leaves::text::clean(form.get("gate").map(String::as_str).unwrap_or("").trim(), 40);
    if gate.is_empty() {
        return Err(WebError::invalid(session, "gates", t(session.lang, "err_gate_name")).back("/gates"));
    }
    Ok(gate)
}

pub async fn new_token(
    State(app): State<AppState>,
    m: Member,
    Form(form): Form<FormMap>,
) -> Result<Response, WebError> {
    let session = &m.session;
    session.check_csrf(&form)?;
    let gate = gate_name(session, &form)?;
    let (g, community, actor) = (gate.clone(), m.community.clone(), m.actor());
    let token =
        app.db.call(move |conn| crate::ops::gates::enroll_token(conn, &actor, &community, &g, 24 * 3_600_000)).await?;
    Ok(render(&app, &m, Some((token, gate))).await?.into_response())
}

pub async fn revoke(
    State(app): State<AppState>,
    m: Member,
    Path(id): Path<String>,
    Form(form): Form<FormMap>,
) -> Result<Response, WebError> {
    m.session.check_csrf(&form)?;
    let (community, device, actor, detail) =
        (m.community.clone(), id.clone(), m.actor(), crate::leaves::detail::enc("gate_revoke", &[&id]));
    let revoke = move |conn: &mut dyn crate::db::Conn| {
        crate::ops::audited_if(conn, &actor, "gate.revoke", &detail, |tx| devices::revoke(tx, &community, &device))
    };
    if !app.db.call(revoke).await? {
        return Err(WebError::not_found(&m.session));
    }
    app.kiosks.forget(&id);
    Ok(state_redirect("/gates"))
}

/// Where an admin types the code a new kiosk shows on its screen.
fn code_form(lang: super::Lang) -> Markup {
    html! {
        form.card method="get" action="/gates/enroll" {
            b { (t(lang, "screen_enroll")) }
            p { (t(lang, "screen_enroll_hint")) }
            label { (t(lang, "screen_code")) input name="code" required maxlength="12" autocomplete="off" autocapitalize="characters"; }
            button { (t(lang, "screen_enroll_next")) }
        }
    }
}

#[derive(serde::Deserialize)]
pub struct ScreenCode {
    #[serde(default)]
    code: String,
    /// The fingerprint the screen's QR code carries, if it was scanned.
    #[serde(default)]
    fp: String,
}

/// The code a kiosk shows on its screen, typed or scanned: which kiosk it
/// is (its fingerprint, to compare with its screen) and the gate's name.
pub async fn screen_code(
    State(app): State<AppState>,
    m: Member,
    axum::extract::Query(q): axum::extract::Query<ScreenCode>,
) -> Result<Markup, WebError> {
    let session = &m.session;
    let lang = session.lang;
    if q.code.trim().is_empty() {
        return Ok(frame(lang, t(lang, "screen_enroll"), Some(session), code_form(lang)));
    }
    let unknown = || WebError::invalid(session, "gates", t(lang, "screen_enroll_unknown")).back("/gates");
    let code = enroll::normalize_code(&q.code).ok_or_else(unknown)?;
    let c = code.clone();
    let ask = app.db.call(move |conn| screen_enroll::find(conn, &c, crate::db::now_ms())).await?;
    let ask = ask.filter(|a| a.claimed.is_none()).ok_or_else(unknown)?;
    let fingerprint = ask.fingerprint();
    let scanned: String = q.fp.chars().filter(char::is_ascii_hexdigit).collect::<String>().to_ascii_lowercase();
    if !scanned.is_empty() && scanned != fingerprint.replace(' ', "") {
        return Err(WebError::invalid(session, "gates", t(lang, "screen_enroll_other")).back("/gates"));
    }
    let body = html! {
        form.card method="post" action="/gates/enroll" {
            (csrf_field(&session.csrf))
            input type="hidden" name="code" value=(code);
            p { (t(lang, "screen_code")) ": " b { (enroll::show_code(&code)) } }
            p { (t(lang, "screen_enroll_check")) br; b #fingerprint translate="no" { (fingerprint) } }
            label { (t(lang, "gate")) input name="gate" required maxlength="40" value=(ask.gate_hint); }
            button { (t(lang, "screen_enroll_confirm")) }
        }
    };
    Ok(frame(lang, t(lang, "screen_enroll"), Some(session), body))
}

/// Claims the code for a gate of this community: the kiosk's next poll
/// enrolls it.
pub async fn screen_enroll(
    State(app): State<AppState>,
    m: Member,
    Form(form): Form<FormMap>,
) -> Result<Response, WebError> {
    let session = &m.session;
    session.check_csrf(&form)?;
    let lang = session.lang;
    let gate = gate_name(session, &form)?;
    let unknown = || WebError::invalid(session, "gates", t(lang, "screen_enroll_unknown")).back("/gates");
    let code = enroll::normalize_code(form.get("code").map(String::as_str).unwrap_or("")).ok_or_else(unknown)?;
    let (community, actor) = (m.community.clone(), m.actor());
    let claimed =
        app.db.call(move |conn| crate::ops::gates::claim_screen_code(conn, &actor, &community, &code, &gate)).await?;
    if !claimed {
        return Err(unknown());
    }
    let body =
        html! { p.msg #claimed { (t(lang, "screen_enroll_done")) } p { a href="/gates" { (t(lang, "gates")) } } };
    Ok(frame(lang, t(lang, "screen_enroll"), Some(session), body).into_response())
}
