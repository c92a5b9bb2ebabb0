//! The Gates page: each kiosk's last contact, queue, clock, health and
//! layout (is quarantine checked on the way out?), enrollment tokens, and
//! revoking a kiosk.

use std::fmt::Write;

use axum::extract::{Form, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::{
    esc, fmt_ms, forbidden, hidden_csrf, layout, not_found, server_error, state_redirect, t, FormMap, Member, Session,
};
use crate::records::devices::{self, Gate};
use crate::AppState;

/// The routes of this page, who may use each, and its menu entries.
pub fn table() -> super::site::Table {
    use crate::leaves::roles::Perm;
    super::site::Table::new()
        .menu("/gates", "gates")
        .get("/gates", Perm::ReadGates, page)
        .post("/gates/token", Perm::Manage, new_token)
        .post("/gates/{id}/revoke", Perm::Manage, revoke)
}

pub async fn page(State(app): State<AppState>, m: Member) -> Response {
    render(&app, &m, None).await
}

async fn render(app: &AppState, m: &Member, new_token: Option<(String, String)>) -> Response {
    let session = &m.session;
    let lang = session.lang;
    let community = m.community.clone();
    let rows = match app.db.call(move |conn| devices::list(conn, &community)).await {
        Ok(r) => r,
        Err(e) => return server_error(e),
    };
    let mut body = String::new();
    if let Some((token, gate)) = new_token {
        let _ = write!(
            body,
            "<p class=msg>{} <b>{}</b><br>{}<br><code>shoumen enroll {} {}</code></p>",
            t(lang, "new_token"),
            esc(&gate),
            t(lang, "token_hint"),
            esc(&app.config.public_url),
            esc(&token)
        );
    }
    let _ = write!(
        body,
        "<form class=card method=post action=/gates/token>{}<label>{}<input name=gate required maxlength=40></label><button>{}</button></form>",
        hidden_csrf(&session.csrf),
        t(lang, "gate"),
        t(lang, "new_token")
    );
    let _ = write!(
        body,
        "<div class=scroll><table><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th></th></tr>",
        t(lang, "gate"),
        t(lang, "last_seen"),
        t(lang, "queue"),
        t(lang, "clock_skew"),
        t(lang, "health"),
        t(lang, "entries"),
    );
    for g in &rows {
        body.push_str(&row(session, g, app.config.utc_offset_min));
    }
    body.push_str("</table></div>");
    layout(lang, t(lang, "gates"), Some(session), &body).into_response()
}

fn row(session: &Session, g: &Gate, offset: i32) -> String {
    let lang = session.lang;
    let faults: Vec<String> = g.health.iter().filter(|h| !h.ok).map(|h| format!("{}: {}", h.device, h.state)).collect();
    let mut health = if g.revoked {
        format!("<span class=bad>{}</span>", t(lang, "device_revoked"))
    } else if faults.is_empty() {
        "<span class=ok>OK</span>".into()
    } else {
        format!("<span class=bad>{}</span>", esc(&faults.join("; ")))
    };
    if g.layout.as_ref().is_some_and(|l| !l.checks_exit()) {
        let _ = write!(health, "<br><span class=\"bad exit-not-checked\">{}</span>", t(lang, "exit_not_checked"));
    }
    let revoke = if g.revoked {
        String::new()
    } else {
        format!(
            "<form class=inline method=post action=\"/gates/{}/revoke\">{}<button class=danger>{}</button></form>",
            esc(&g.id),
            hidden_csrf(&session.csrf),
            t(lang, "revoke")
        )
    };
    let layout = g.layout.as_ref().map_or(String::new(), |l| {
        format!(" · {}{}", esc(&l.direction), if l.inward_camera { " + inward camera" } else { "" })
    });
    format!(
        "<tr><td>{name}<br><small>{id}{layout}</small></td><td>{seen}</td><td>{queue}</td><td>{skew}</td><td>{health}</td><td>{watermark}</td><td>{revoke}</td></tr>",
        name = esc(&g.name),
        id = esc(&g.id),
        seen = g.last_seen_ms.map_or(t(lang, "never").to_string(), |s| fmt_ms(s, offset)),
        queue = g.queue.map_or(String::from("—"), |q| q.to_string()),
        skew = g.skew_ms.map_or(String::from("—"), |s| format!("{:+.1} s", s as f64 / 1000.0)),
        watermark = g.watermark,
    )
}

pub async fn new_token(State(app): State<AppState>, m: Member, Form(form): Form<FormMap>) -> Response {
    let session = &m.session;
    if !session.csrf_ok(&form) {
        return forbidden(session.lang);
    }
    let gate = crate::leaves::text::clean(form.get("gate").map(String::as_str).unwrap_or("").trim(), 40);
    if gate.is_empty() {
        let body = "<p class=msg>name the gate, e.g. \"North gate\"</p>";
        return (StatusCode::BAD_REQUEST, layout(session.lang, t(session.lang, "gates"), Some(session), body))
            .into_response();
    }
    let (g, community, actor) = (gate.clone(), m.community.clone(), m.actor());
    match app.db.call(move |conn| crate::ops::gates::enroll_token(conn, &actor, &community, &g, 24 * 3_600_000)).await {
        Ok(token) => render(&app, &m, Some((token, gate))).await,
        Err(e) => server_error(e),
    }
}

pub async fn revoke(
    State(app): State<AppState>,
    m: Member,
    Path(id): Path<String>,
    Form(form): Form<FormMap>,
) -> Response {
    if !m.session.csrf_ok(&form) {
        return forbidden(m.session.lang);
    }
    let (community, device, actor, detail) = (m.community.clone(), id.clone(), m.actor(), format!("device {id}"));
    let revoke = move |conn: &mut dyn crate::db::Conn| {
        crate::ops::audited_if(conn, &actor, "gate.revoke", &detail, |tx| devices::revoke(tx, &community, &device))
    };
    match app.db.call(revoke).await {
        Ok(true) => {
            app.kiosks.forget(&id);
            state_redirect("/gates")
        }
        Ok(false) => not_found(&m.session),
        Err(e) => server_error(e),
    }
}
