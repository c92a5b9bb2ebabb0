//! The Sensors page: door sensors paired with units (battery, link
//! quality, last seen, door state), the delivery windows in which a
//! quarantined home's door may open, and what the broker sent that was
//! dropped.

use std::sync::atomic::Ordering;

use axum::extract::{Form, Path, State};
use axum::response::Response;
use maud::{html, Markup};

use super::{csrf_field, field, fmt_ms, frame, state_redirect, t, urlencode, FormMap, Lang, Member, WebError};
use crate::db::now_ms;
use crate::leaves::roles::Perm;
use crate::records::sensors::{self, SensorError};
use crate::AppState;

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

fn sensor_error(m: &Member, e: SensorError) -> WebError {
    match e {
        SensorError::Db(e) => e.into(),
        SensorError::Invalid(why) => {
            WebError::invalid(&m.session, "sensors", crate::leaves::words::detail_text(m.session.lang, &why, 0))
                .back("/sensors")
        }
    }
}

/// The client's counters: what came, what was kept, what was dropped,
/// and the topic this community's sensors publish on.
fn broker_state(lang: Lang, app: &AppState, community: &str) -> Markup {
    let s = &app.mqtt_stats;
    let Some(config) = &app.config.mqtt else { return html! { p.msg #broker { (t(lang, "mqtt_off")) } } };
    let n = |c: &std::sync::atomic::AtomicU64| c.load(Ordering::Relaxed);
    let error = s.last_error.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let connected = s.connected.load(Ordering::Relaxed);
    let waiting = s.waiting.load(Ordering::Relaxed) && !connected;
    let dropped = [
        (n(&s.not_json), "mqtt_not_json"),
        (n(&s.too_big) + n(&s.oversized), "mqtt_too_big"),
        (n(&s.unknown), "mqtt_unknown"),
        (n(&s.flood), "mqtt_flood"),
        (n(&s.resets), "mqtt_resets"),
    ];
    html! {
        p.msg #broker {
            (t(lang, "mqtt_broker")) " " code { (config.base_topic) "/" (community) "/+" } ": "
            b { (t(lang, if connected { "connected" } else if waiting { "mqtt_standing_by" } else { "not_connected" })) } ". "
            (t(lang, "mqtt_received")) " " (n(&s.received)) " · " (t(lang, "mqtt_stored")) " " (n(&s.stored)) " · "
            (t(lang, "alerts")) " " (n(&s.alerts)) " · " (t(lang, "mqtt_dropped")) ": "
            @for (i, (count, key)) in dropped.iter().enumerate() {
                @if i > 0 { ", " }
                (count) " " (t(lang, key))
            }
            @if waiting { br; small { (t(lang, "mqtt_standby_help")) } }
            @else if !error.is_empty() && !connected { br; small { (error) } }
        }
    }
}

pub async fn page(State(app): State<AppState>, m: Member) -> Result<Markup, WebError> {
    let (lang, offset, community) = (m.session.lang, app.config.utc_offset_min, m.community.clone());
    let (list, windows) =
        app.db.call(move |conn| Ok((sensors::list(conn, &community)?, sensors::windows(conn, &community)?))).await?;
    let edit = m.may(Perm::EditRecords);
    let csrf = &m.session.csrf;
    let now = now_ms();
    // Sensors the broker heard that no unit has yet: paired with a tap.
    let heard: Vec<String> =
        app.mqtt_stats.unknown_in(&m.community).into_iter().filter(|n| !list.iter().any(|s| &s.name == n)).collect();
    let body = html! {
        (broker_state(lang, &app, &m.community))
        @if edit && !heard.is_empty() {
            h2 #heard { (t(lang, "heard_sensors")) }
            p { (t(lang, "heard_help")) }
            @for name in &heard {
                form.card method="post" action="/sensors" {
                    (csrf_field(csrf))
                    input type="hidden" name="name" value=(name);
                    p { (t(lang, "sensor")) " " b translate="no" { (name) } }
                    label { (t(lang, "unit")) input name="unit" required maxlength="24" placeholder="3-502"; }
                    button { (t(lang, "pair")) }
                }
            }
        }
        div.scroll {
            table #sensors {
                tr {
                    th { (t(lang, "sensor")) } th { (t(lang, "unit")) } th { (t(lang, "door")) } th { (t(lang, "battery")) }
                    th { (t(lang, "link_quality")) } th { (t(lang, "last_seen")) } th {}
                }
                @for s in &list {
                    @let silent = s.last_seen_ms.is_none_or(|seen| now - seen > sensors::SILENT_AFTER_MS);
                    @let low = s.battery.is_some_and(|b| b < sensors::LOW_BATTERY);
                    @let door = match s.contact { Some(true) => "door_closed", Some(false) => "door_open", None => "unknown" };
                    tr {
                        td { (s.name) } td { (s.unit) } td { (t(lang, door)) }
                        td class=[low.then_some("bad")] { (s.battery.map_or("—".into(), |b| format!("{b}%"))) }
                        td { (s.linkquality.map_or("—".into(), |q| q.to_string())) }
                        td class=[silent.then_some("bad")] { (s.last_seen_ms.map_or("—".into(), |ms| fmt_ms(ms, offset))) }
                        td {
                            @if edit {
                                form.inline method="post" action={ "/sensors/" (urlencode(&s.name)) "/unpair" } {
                                    (csrf_field(csrf))
                                    button.danger { (t(lang, "remove")) }
                                }
                            }
                        }
                    }
                }
            }
        }
        @if edit {
            form.card method="post" action="/sensors" {
                (csrf_field(csrf))
                p { (t(lang, "pair_help")) }
                label { (t(lang, "sensor")) input name="name" required maxlength="64" placeholder="door-3-502"; }
                label { (t(lang, "unit")) input name="unit" required maxlength="24" placeholder="3-502"; }
                button { (t(lang, "pair")) }
            }
            form.card method="post" action="/sensors/windows" {
                (csrf_field(csrf))
                p { (t(lang, "windows_help")) }
                label {
                    (t(lang, "delivery_windows"))
                    input name="windows" value=(windows) placeholder="07:00-09:00, 17:00-19:00";
                }
                button { (t(lang, "save")) }
            }
        } @else {
            p { (t(lang, "delivery_windows")) ": " (windows) }
        }
    };
    Ok(frame(lang, t(lang, "sensors"), Some(&m.session), body))
}

pub async fn pair(State(app): State<AppState>, m: Member, Form(form): Form<FormMap>) -> Result<Response, WebError> {
    m.session.check_csrf(&form)?;
    let (name, unit, community) =
        (field(&form, "name").to_string(), field(&form, "unit").to_string(), m.community.clone());
    let (actor, detail) = (m.actor(), crate::leaves::detail::enc("sensor_pair", &[&name.trim(), &unit.trim()]));
    let pair = move |conn: &mut dyn crate::db::Conn| {
        Ok(crate::ops::audited(conn, &actor, "sensor.pair", &detail, |tx| {
            sensors::pair(tx, &community, &name, &unit, now_ms())
        }))
    };
    app.db.call(pair).await?.map_err(|e| sensor_error(&m, e))?;
    Ok(state_redirect("/sensors"))
}

pub async fn unpair(
    State(app): State<AppState>,
    m: Member,
    Path(name): Path<String>,
    Form(form): Form<FormMap>,
) -> Result<Response, WebError> {
    m.session.check_csrf(&form)?;
    let (community, actor, detail) = (m.community.clone(), m.actor(), crate::leaves::detail::enc("sensor_n", &[&name]));
    // Only an unpairing that happened is audited: nothing else is stored.
    let unpair = move |conn: &mut dyn crate::db::Conn| {
        crate::ops::audited_if(conn, &actor, "sensor.unpair", &detail, |tx| sensors::unpair(tx, &community, &name))
    };
    if !app.db.call(unpair).await? {
        return Err(WebError::not_found(&m.session));
    }
    Ok(state_redirect("/sensors"))
}

pub async fn set_windows(
    State(app): State<AppState>,
    m: Member,
    Form(form): Form<FormMap>,
) -> Result<Response, WebError> {
    m.session.check_csrf(&form)?;
    let (text, community) = (field(&form, "windows").to_string(), m.community.clone());
    let (actor, detail) = (m.actor(), crate::leaves::detail::enc("sensor_windows", &[&text]));
    let set = move |conn: &mut dyn crate::db::Conn| {
        Ok(crate::ops::audited(conn, &actor, "sensor.windows", &detail, |tx| {
            sensors::set_windows(tx, &community, &text)
        }))
    };
    app.db.call(set).await?.map_err(|e| sensor_error(&m, e))?;
    Ok(state_redirect("/sensors"))
}
