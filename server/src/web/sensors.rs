//! The Sensors page: door sensors paired with units (battery, link
//! quality, last seen, door state), the delivery windows in which a
//! quarantined home's door may open, and what the broker sent that was
//! dropped.

use std::fmt::Write;
use std::sync::atomic::Ordering;

use axum::extract::{Form, Path, State};
use axum::response::{IntoResponse, Response};

use super::*;
use crate::records::sensors::{self, SensorError};

/// The routes of this page, who may use each, and its menu entries.
pub fn table() -> super::site::Table {
    use crate::leaves::roles::Perm;
    super::site::Table::new()
        .menu("/sensors", "sensors")
        .get("/sensors", Perm::ReadRecords, page)
        .post("/sensors", Perm::EditRecords, pair)
        .post("/sensors/windows", Perm::EditRecords, set_windows)
        .post("/sensors/{name}/unpair", Perm::EditRecords, unpair)
}

fn sensor_error(m: &Member, e: SensorError) -> Response {
    match e {
        SensorError::Db(e) => server_error(e),
        SensorError::Invalid(why) => message(&m.session, "sensors", &why, StatusCode::BAD_REQUEST),
    }
}

/// The client's counters: what came, what was kept, what was dropped,
/// and the topic this community's sensors publish on.
fn broker_state(lang: Lang, app: &AppState, community: &str) -> String {
    let s = &app.mqtt_stats;
    let Some(config) = &app.config.mqtt else { return format!("<p class=msg id=broker>{}</p>", t(lang, "mqtt_off")) };
    let n = |c: &std::sync::atomic::AtomicU64| c.load(Ordering::Relaxed);
    let unknown = s.unknown_in(community).iter().map(|n| esc(n)).collect::<Vec<_>>().join(", ");
    let error = s.last_error.lock().unwrap_or_else(|e| e.into_inner()).clone();
    format!(
        "<p class=msg id=broker>{broker} <code>{topic}/{c}/+</code>: <b>{state}</b>. {received} {r} · {stored} {st} · {alerts} {a} · {dropped}: \
{nj} {nj_l}, {tb} {tb_l}, {un} {un_l}, {fl} {fl_l}, {ov} {ov_l}{unknown}{error}</p>",
        broker = t(lang, "mqtt_broker"),
        topic = esc(&config.base_topic),
        c = esc(community),
        state = t(lang, if s.connected.load(Ordering::Relaxed) { "connected" } else { "not_connected" }),
        received = t(lang, "mqtt_received"),
        r = n(&s.received),
        stored = t(lang, "mqtt_stored"),
        st = n(&s.stored),
        alerts = t(lang, "alerts"),
        a = n(&s.alerts),
        dropped = t(lang, "mqtt_dropped"),
        nj = n(&s.not_json),
        nj_l = t(lang, "mqtt_not_json"),
        tb = n(&s.too_big) + n(&s.oversized),
        tb_l = t(lang, "mqtt_too_big"),
        un = n(&s.unknown),
        un_l = t(lang, "mqtt_unknown"),
        fl = n(&s.flood),
        fl_l = t(lang, "mqtt_flood"),
        ov = n(&s.resets),
        ov_l = t(lang, "mqtt_resets"),
        unknown = if unknown.is_empty() { String::new() } else { format!("<br>{}: {unknown}", t(lang, "mqtt_unknown_names")) },
        error = if error.is_empty() || s.connected.load(Ordering::Relaxed) { String::new() } else { format!("<br><small>{}</small>", esc(&error)) },
    )
}

pub async fn page(State(app): State<AppState>, m: Member) -> Response {
    let (lang, offset, community) = (m.session.lang, app.config.utc_offset_min, m.community.clone());
    let found =
        app.db.call(move |conn| Ok((sensors::list(conn, &community)?, sensors::windows(conn, &community)?))).await;
    let (list, windows) = match found {
        Ok(v) => v,
        Err(e) => return server_error(e),
    };
    let edit = m.may(Perm::EditRecords);
    let csrf = hidden_csrf(&m.session.csrf);
    let mut body = broker_state(lang, &app, &m.community);
    let _ = write!(
        body,
        "<div class=scroll><table id=sensors><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th></th></tr>",
        t(lang, "sensor"),
        t(lang, "unit"),
        t(lang, "door"),
        t(lang, "battery"),
        t(lang, "link_quality"),
        t(lang, "last_seen"),
    );
    let now = now_ms();
    for s in &list {
        let silent = s.last_seen_ms.is_none_or(|seen| now - seen > sensors::SILENT_AFTER_MS);
        let low = s.battery.is_some_and(|b| b < sensors::LOW_BATTERY);
        let unpair = if edit {
            format!("<form class=inline method=post action=\"/sensors/{}/unpair\">{csrf}<button class=danger>{}</button></form>", esc(&s.name), t(lang, "remove"))
        } else {
            String::new()
        };
        let _ = write!(
            body,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td{}>{}</td><td>{}</td><td{}>{}</td><td>{unpair}</td></tr>",
            esc(&s.name),
            esc(&s.unit),
            t(
                lang,
                match s.contact {
                    Some(true) => "door_closed",
                    Some(false) => "door_open",
                    None => "unknown",
                }
            ),
            if low { " class=bad" } else { "" },
            s.battery.map_or("—".into(), |b| format!("{b}%")),
            s.linkquality.map_or("—".into(), |q| q.to_string()),
            if silent { " class=bad" } else { "" },
            s.last_seen_ms.map_or("—".into(), |ms| fmt_ms(ms, offset)),
        );
    }
    body.push_str("</table></div>");
    if edit {
        let _ = write!(
            body,
            "<form class=card method=post action=/sensors>{csrf}<p>{help}</p><label>{name_l}<input name=name required maxlength=64 placeholder=door-3-502></label>\
<label>{unit_l}<input name=unit required maxlength=12 placeholder=3-502></label><button>{pair}</button></form>\
<form class=card method=post action=/sensors/windows>{csrf}<p>{windows_help}</p><label>{windows_l}<input name=windows value=\"{windows}\" placeholder=\"07:00-09:00, 17:00-19:00\"></label><button>{save}</button></form>",
            help = t(lang, "pair_help"),
            name_l = t(lang, "sensor"),
            unit_l = t(lang, "unit"),
            pair = t(lang, "pair"),
            windows_help = t(lang, "windows_help"),
            windows_l = t(lang, "delivery_windows"),
            windows = esc(&windows),
            save = t(lang, "save"),
        );
    } else {
        let _ = write!(body, "<p>{}: {}</p>", t(lang, "delivery_windows"), esc(&windows));
    }
    layout(lang, t(lang, "sensors"), Some(&m.session), &body).into_response()
}

pub async fn pair(State(app): State<AppState>, m: Member, Form(form): Form<FormMap>) -> Response {
    if !m.session.csrf_ok(&form) {
        return forbidden(m.session.lang);
    }
    let (name, unit, community) =
        (field(&form, "name").to_string(), field(&form, "unit").to_string(), m.community.clone());
    let (actor, detail) = (m.actor(), format!("sensor {} → unit {}", name.trim(), unit.trim()));
    let pair = move |conn: &mut dyn crate::db::Conn| {
        Ok(crate::ops::audited(conn, &actor, "sensor.pair", &detail, |tx| {
            sensors::pair(tx, &community, &name, &unit, now_ms())
        }))
    };
    match app.db.call(pair).await {
        Ok(Ok(())) => state_redirect("/sensors"),
        Ok(Err(e)) => sensor_error(&m, e),
        Err(e) => server_error(e),
    }
}

pub async fn unpair(
    State(app): State<AppState>,
    m: Member,
    Path(name): Path<String>,
    Form(form): Form<FormMap>,
) -> Response {
    if !m.session.csrf_ok(&form) {
        return forbidden(m.session.lang);
    }
    let (community, actor, detail) = (m.community.clone(), m.actor(), format!("sensor {name}"));
    // Only an unpairing that happened is audited: nothing else is stored.
    let unpair = move |conn: &mut dyn crate::db::Conn| {
        crate::ops::audited_if(conn, &actor, "sensor.unpair", &detail, |tx| sensors::unpair(tx, &community, &name))
    };
    match app.db.call(unpair).await {
        Ok(true) => state_redirect("/sensors"),
        Ok(false) => not_found(&m.session),
        Err(e) => server_error(e),
    }
}

pub async fn set_windows(State(app): State<AppState>, m: Member, Form(form): Form<FormMap>) -> Response {
    if !m.session.csrf_ok(&form) {
        return forbidden(m.session.lang);
    }
    let (text, community) = (field(&form, "windows").to_string(), m.community.clone());
    let (actor, detail) = (m.actor(), format!("delivery windows: {text}"));
    let set = move |conn: &mut dyn crate::db::Conn| {
        Ok(crate::ops::audited(conn, &actor, "sensor.windows", &detail, |tx| {
            sensors::set_windows(tx, &community, &text)
        }))
    };
    match app.db.call(set).await {
        Ok(Ok(())) => state_redirect("/sensors"),
        Ok(Err(e)) => sensor_error(&m, e),
        Err(e) => server_error(e),
    }
}
