//! The overview of one community: entries today, open alerts, the last 24
//! hours, and how long its records are kept. A district account is sent to
//! the district's overview instead.

use axum::extract::{Form, State};
use axum::response::{IntoResponse, Response};

use super::*;
use crate::ops::retention;

/// The routes of this page, who may use each, and its menu entries.
pub fn table() -> super::site::Table {
    use crate::leaves::roles::Perm;
    super::site::Table::new().menu("/", "dashboard").get("/", Perm::ReadCompound, page).post(
        "/retention",
        Perm::Manage,
        set_retention,
    )
}

pub async fn page(State(app): State<AppState>, session: Session) -> Response {
    let Some(community) = session.community.clone() else {
        return state_redirect("/district");
    };
    // A property account's one page is its gates' entries.
    if !session.role.may(crate::leaves::roles::Perm::ReadCompound) {
        return state_redirect("/entries");
    }
    let lang = session.lang;
    let offset = app.config.utc_offset_min;
    let found = app
        .db
        .call(move |conn| {
            Ok((crate::reports::dashboard(conn, &community, now_ms(), offset)?, retention::policy(conn, &community)?))
        })
        .await;
    let (d, policy) = match found {
        Ok(d) => d,
        Err(e) => return server_error(e),
    };
    let mut body = format!(
        "<div class=stat><b>{today}</b>{}</div><div class=stat><b class=\"{}\">{open}</b><a href=/alerts>{}</a></div><h2>{}</h2>",
        t(lang, "entries_today"),
        if d.open_alerts > 0 { "bad" } else { "ok" },
        t(lang, "open_alerts"),
        t(lang, "per_hour"),
        today = d.today,
        open = d.open_alerts,
    );
    body.push_str(&hour_chart(lang, &d.hours, d.hour_start, offset));
    body.push_str(&retention_form(lang, &session.csrf, policy));
    layout(lang, t(lang, "dashboard"), Some(&session), &body).into_response()
}

/// The community's retention policy, stated and changeable.
fn retention_form(lang: Lang, csrf: &str, p: retention::Policy) -> String {
    format!(
        "<h2>{title}</h2><p id=retention>{policy}</p><form class=card method=post action=/retention>{csrf}\
<label>{entries}<input type=number name=entry_days min={emin} max={emax} value={e}></label>\
<label>{visitors}<input type=number name=visitor_days min={vmin} max={vmax} value={v}></label>\
<label>{returnees}<input type=number name=returnee_days min={rmin} max={rmax} value={r}></label><button>{save}</button></form>",
        title = t(lang, "retention"),
        policy = t(lang, "retention_policy")
            .replacen("{}", &p.entry_days.to_string(), 1)
            .replacen("{}", &p.visitor_days.to_string(), 1)
            .replacen("{}", &p.returnee_days.to_string(), 1),
        csrf = hidden_csrf(csrf),
        entries = t(lang, "entry_days"),
        visitors = t(lang, "visitor_days"),
        returnees = t(lang, "returnee_days"),
        rmin = retention::RETURNEE_DAYS.start(),
        rmax = retention::RETURNEE_DAYS.end(),
        r = p.returnee_days,
        emin = retention::ENTRY_DAYS.start(),
        emax = retention::ENTRY_DAYS.end(),
        vmin = retention::VISITOR_DAYS.start(),
        vmax = retention::VISITOR_DAYS.end(),
        e = p.entry_days,
        v = p.visitor_days,
        save = t(lang, "save"),
    )
}

pub async fn set_retention(State(app): State<AppState>, m: Member, Form(form): Form<FormMap>) -> Response {
    if !m.session.csrf_ok(&form) {
        return forbidden(m.session.lang);
    }
    let days = |key: &str| field(&form, key).trim().parse::<i64>().unwrap_or(0);
    // A form from before returnees' retention existed keeps the default.
    let returnee_days = if field(&form, "returnee_days").trim().is_empty() {
        crate::records::registrations::KEEP_DAYS
    } else {
        days("returnee_days")
    };
    let policy =
        retention::Policy { entry_days: days("entry_days"), visitor_days: days("visitor_days"), returnee_days };
    let (community, actor) = (m.community.clone(), m.actor());
    let detail = format!(
        "entries {} days, visitors {} days, returnees {} days",
        policy.entry_days, policy.visitor_days, policy.returnee_days
    );
    let set = move |conn: &mut dyn crate::db::Conn| {
        use crate::records::community::CommunityError;
        Ok(crate::ops::audited(conn, &actor, "retention.set", &detail, |tx| {
            retention::set_policy(tx, &community, policy)?.map_err(CommunityError::Invalid)
        }))
    };
    match app.db.call(set).await {
        Ok(Ok(())) => state_redirect("/"),
        Ok(Err(e)) => community_error(&m.session, "retention", e),
        Err(e) => server_error(e),
    }
}

/// Entries per hour of the last 24 hours, labelled by local hour.
fn hour_chart(lang: Lang, hours: &[i64; 24], start_ms: i64, offset: i32) -> String {
    let labels: Vec<String> = (0..24).map(|i| fmt_ms(start_ms + i * 3_600_000, offset)[11..13].to_string()).collect();
    super::chart::stacked("per-hour", &labels, &[(t(lang, "entries").to_string(), hours.to_vec())])
}
