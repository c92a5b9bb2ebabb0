//! Door sensors (门磁) on quarantined flats (issue 18), read the way the
//! open home-automation world publishes them: zigbee2mqtt's JSON on
//! `zigbee2mqtt/<community>/<name>` (or `zigbee2mqtt/<name>` on a server
//! of one community), e.g. `{"contact": false, "battery": 87,
//! "linkquality": 120}` (`contact: false` is an open door).
//!
//! A sensor is paired with a unit of a community on the Sensors page. Each
//! message updates the sensor's row (battery, link quality, last seen); a
//! change of contact is an event, kept under the entries' retention. A door
//! of a unit under home quarantine that opens outside the community's
//! delivery windows raises an alert; a sensor silent for over 2 hours, or
//! with a low battery, raises a maintenance alert.
//!
//! Invariants: a message from the broker never makes the server store more
//! than one event per contact change, at most [`MAX_EVENTS_PER_HOUR`] per
//! sensor; everything else (not JSON, unknown sensors, oversized payloads)
//! is counted and dropped.

use crate::leaves::detail::{Arg, Detail};
use serde::Deserialize;
use thiserror::Error;

use crate::db::{Conn, DbError};
use crate::vals;

/// A zigbee2mqtt message is a few hundred bytes; past this it is dropped.
pub const MAX_PAYLOAD: usize = 4096;
/// Contact changes stored per sensor per hour; more is a flood, dropped.
pub const MAX_EVENTS_PER_HOUR: i64 = 120;
/// A sensor not heard from for this long needs a look.
pub const SILENT_AFTER_MS: i64 = 2 * 3600 * 1000;
/// Battery percentage under which the sensor needs a new one.
pub const LOW_BATTERY: i64 = 15;
/// Sensor names as zigbee2mqtt's friendly names: short, no wildcards.
pub const MAX_NAME: usize = 64;

#[derive(Debug, Error)]
pub enum SensorError {
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Db(#[from] DbError),
}

/// The fields of a zigbee2mqtt contact sensor's message that matter here.
#[derive(Debug, Default, Deserialize)]
pub struct Reading {
    pub contact: Option<bool>,
    pub battery: Option<f64>,
    pub linkquality: Option<f64>,
}

/// What became of one message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The sensor's row was updated; `true` if the contact changed (an event).
    Seen(bool),
    /// An event and an alert: a quarantined unit's door opened outside the
    /// delivery windows. The alert's id, for the webhook.
    Alert(i64),
    NotJson,
    TooBig,
    Unknown,
    Flood,
}

/// Checks a sensor name (the topic's last part).
pub fn check_name(name: &str) -> Result<String, SensorError> {
    let name = name.trim();
    let bad = |c: char| c.is_control() || matches!(c, '+' | '#' | '/' | '<' | '>' | '"' | '\'' | '&');
    if name.is_empty() || name.len() > MAX_NAME || name.chars().any(bad) {
        return Err(SensorError::Invalid(crate::leaves::detail::enc("err_sensor_name", &[&MAX_NAME])));
    }
    Ok(name.to_string())
}

/// Pairs sensor `name` with `unit` of `community` (a sensor has one unit).
/// Names are the community's own: another community's sensor of the same
/// name is another sensor, on another topic.
pub fn pair(conn: &mut dyn Conn, community: &str, name: &str, unit: &str, now_ms: i64) -> Result<(), SensorError> {
    let name = check_name(name)?;
    let unit = crate::records::community::check_unit(unit).map_err(|e| SensorError::Invalid(e.to_string()))?;
    if unit.is_empty() || !crate::records::community::unit_known(conn, community, &unit)? {
        return Err(SensorError::Invalid(crate::leaves::detail::enc("err_unit_unknown", &[&unit])));
    }
    conn.execute(
        "INSERT INTO sensors (name, community, unit, paired_ms) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (community, name) DO UPDATE SET unit = excluded.unit, paired_ms = excluded.paired_ms",
        vals![&name, community, &unit, now_ms],
    )?;
    Ok(())
}

/// The community and sensor a topic (after the base topic and its `/`)
/// names: `<community>/<name>`, as each community's zigbee2mqtt publishes
/// on a district's broker (its base topic `zigbee2mqtt/<community>`), or
/// a bare `<name>` on a server that holds a single community. `None` for
/// anything else (a bare name on a server of several communities would be
/// anyone's).
pub fn resolve(conn: &mut dyn Conn, topic: &str) -> Result<Option<(String, String)>, DbError> {
    let (community, name) = match topic.split_once('/') {
        Some((community, name)) => {
            let known = conn.scalar("SELECT COUNT(*) FROM communities WHERE id = ?1", vals![community])? > 0;
            if !known {
                return Ok(None);
            }
            (community.to_string(), name)
        }
        None => {
            let all = crate::db::communities(conn)?;
            match all.as_slice() {
                [only] => (only.clone(), topic),
                _ => return Ok(None),
            }
        }
    };
    Ok(check_name(name).ok().map(|n| (community, n)))
}

pub fn unpair(conn: &mut dyn Conn, community: &str, name: &str) -> Result<bool, DbError> {
    Ok(conn.execute("DELETE FROM sensors WHERE name = ?1 AND community = ?2", vals![name, community])? > 0)
}

/// Delivery windows as the committee writes them: `07:00-09:00, 17:30-19:00`;
/// returns minutes of the day, [from, until).
pub fn parse_windows(text: &str) -> Result<Vec<(u32, u32)>, SensorError> {
    let minute = |s: &str| -> Option<u32> {
        let (h, m) = s.trim().split_once(':')?;
        let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
        (h < 24 && m < 60).then_some(h * 60 + m)
    };
    text.split([',', '，'])
        .map(str::trim)
        .filter(|w| !w.is_empty())
        .map(|w| {
            let (a, b) = w
                .split_once('-')
                .ok_or_else(|| SensorError::Invalid(crate::leaves::detail::enc("err_window", &[&w])))?;
            match (minute(a), minute(b)) {
                (Some(a), Some(b)) if a < b => Ok((a, b)),
                _ => {
                    Err(SensorError::Invalid(format!("{w:?}: write a window as 07:00-09:00, its start before its end")))
                }
            }
        })
        .collect()
}

pub fn windows(conn: &mut dyn Conn, community: &str) -> Result<String, DbError> {
    conn.query_row("SELECT delivery_windows FROM communities WHERE id = ?1", vals![community], |r| r.get(0))
}

pub fn set_windows(conn: &mut dyn Conn, community: &str, text: &str) -> Result<(), SensorError> {
    let parsed = parse_windows(text)?;
    let canonical: Vec<String> =
        parsed.iter().map(|(a, b)| format!("{:02}:{:02}-{:02}:{:02}", a / 60, a % 60, b / 60, b % 60)).collect();
    conn.execute("UPDATE communities SET delivery_windows = ?1 WHERE id = ?2", vals![canonical.join(", "), community])?;
    Ok(())
}

/// Whether local minute-of-day `m` is inside one of `windows`.
pub fn in_windows(windows: &[(u32, u32)], m: u32) -> bool {
    windows.iter().any(|&(a, b)| a <= m && m < b)
}

/// Handles one message of sensor `name` of `community`, received at
/// `now_ms`. The sensor's state (contact, battery, link quality, last
/// seen) always follows the message, so the page shows the door as it is;
/// only the event rows and alerts are capped, at
/// [`MAX_EVENTS_PER_HOUR`] changes per sensor, past which one
/// `sensor_flood` alert counts the rest.
///
/// One transaction, the sensor's row locked: a process killed between the
/// new state and its event row would leave the state changed and the
/// event missing, and the message, sent again, would then change nothing.
pub fn record(
    conn: &mut dyn Conn,
    community: &str,
    name: &str,
    payload: &[u8],
    now_ms: i64,
    utc_offset_min: i32,
) -> Result<Outcome, DbError> {
    conn.transaction(true, |tx| record_in(tx, community, name, payload, now_ms, utc_offset_min))
}

fn record_in(
    conn: &mut dyn Conn,
    community: &str,
    name: &str,
    payload: &[u8],
    now_ms: i64,
    utc_offset_min: i32,
) -> Result<Outcome, DbError> {
    if payload.len() > MAX_PAYLOAD {
        return Ok(Outcome::TooBig);
    }
    let Ok(reading) = serde_json::from_slice::<Reading>(payload) else { return Ok(Outcome::NotJson) };
    let sql = conn.for_update("SELECT unit, contact FROM sensors WHERE community = ?1 AND name = ?2");
    let sensor =
        conn.query_opt(&sql, vals![community, name], |r| Ok((r.get::<String>(0)?, r.get::<Option<i64>>(1)?)))?;
    let Some((unit, was)) = sensor else { return Ok(Outcome::Unknown) };
    let pct = |v: Option<f64>| v.filter(|v| v.is_finite()).map(|v| v.clamp(0.0, 255.0).round() as i64);
    let contact = reading.contact.map(i64::from);
    conn.execute(
        "UPDATE sensors SET last_seen_ms = ?1, battery = COALESCE(?2, battery), linkquality = COALESCE(?3, linkquality), contact = COALESCE(?4, contact)
         WHERE community = ?5 AND name = ?6",
        vals![now_ms, pct(reading.battery), pct(reading.linkquality), contact, community, name],
    )?;
    let Some(contact) = reading.contact else { return Ok(Outcome::Seen(false)) };
    if was == Some(i64::from(contact)) {
        return Ok(Outcome::Seen(false));
    }
    let lately = conn.scalar(
        "SELECT COUNT(*) FROM sensor_events WHERE community = ?1 AND sensor = ?2 AND at_ms > ?3",
        vals![community, name, now_ms - 3_600_000],
    )?;
    if lately >= MAX_EVENTS_PER_HOUR {
        let detail =
            Detail::new("sensor_flood", [unit.as_str(), &MAX_EVENTS_PER_HOUR.to_string()].map(Arg::from)).encode();
        crate::records::alerts::raise(
            conn,
            community,
            shoumen_protocol::AlertKind::SensorFlood,
            &format!("sensor {name}"),
            None,
            &detail,
            now_ms,
        )?;
        return Ok(Outcome::Flood);
    }
    conn.execute(
        "INSERT INTO sensor_events (community, sensor, unit, contact, at_ms) VALUES (?1, ?2, ?3, ?4, ?5)",
        vals![community, name, &unit, i64::from(contact), now_ms],
    )?;
    // An open door (contact false) of a quarantined unit, outside the windows.
    if contact || !crate::records::community::unit_quarantined(conn, community, &unit, now_ms / 1000)? {
        return Ok(Outcome::Seen(true));
    }
    let windows = parse_windows(&windows(conn, community)?).unwrap_or_default();
    let minute = ((now_ms / 60_000 + i64::from(utc_offset_min)).rem_euclid(24 * 60)) as u32;
    if in_windows(&windows, minute) {
        return Ok(Outcome::Seen(true));
    }
    let contact = crate::records::residents::unit_contact(conn, community, &unit)?;
    let detail = Detail::new("door_open", [Arg::from(unit.as_str()), Arg::Time(now_ms), Arg::from(contact)]).encode();
    match crate::records::alerts::raise(
        conn,
        community,
        shoumen_protocol::AlertKind::DoorSensorOpen,
        &format!("sensor {name}"),
        None,
        &detail,
        now_ms,
    )? {
        Some(id) => Ok(Outcome::Alert(id)),
        None => Ok(Outcome::Seen(true)),
    }
}

/// One sensor on the Sensors page.
#[derive(Clone, Debug)]
pub struct SensorRow {
    pub name: String,
    pub unit: String,
    pub battery: Option<i64>,
    pub linkquality: Option<i64>,
    /// `Some(true)`: closed.
    pub contact: Option<bool>,
    pub last_seen_ms: Option<i64>,
}

pub fn list(conn: &mut dyn Conn, community: &str) -> Result<Vec<SensorRow>, DbError> {
    conn.query_map(
        "SELECT name, unit, battery, linkquality, contact, last_seen_ms FROM sensors WHERE community = ?1 ORDER BY unit, name",
        vals![community],
        |r| {
            Ok(SensorRow {
                name: r.get(0)?,
                unit: r.get(1)?,
                battery: r.get(2)?,
                linkquality: r.get(3)?,
                contact: r.get::<Option<i64>>(4)?.map(|c| c != 0),
                last_seen_ms: r.get(5)?,
            })
        },
    )
}

/// Raises a maintenance alert for each sensor silent for over 2 hours (or
/// never heard since pairing 2 hours ago) or with a low battery, once per
/// silence or battery reading, with its message queued. Returns how many.
pub fn check_maintenance(conn: &mut dyn Conn, now_ms: i64) -> Result<usize, DbError> {
    let due = conn.query_map(
        "SELECT name, community, unit, last_seen_ms, paired_ms, battery FROM sensors
         WHERE COALESCE(last_seen_ms, paired_ms) < ?1 OR battery < ?2",
        vals![now_ms - SILENT_AFTER_MS, LOW_BATTERY],
        |r| {
            Ok((
                r.get::<String>(0)?,
                r.get::<String>(1)?,
                r.get::<String>(2)?,
                r.get::<Option<i64>>(3)?,
                r.get::<i64>(4)?,
                r.get::<Option<i64>>(5)?,
            ))
        },
    )?;
    let mut raised = 0;
    for (name, community, unit, seen, paired, battery) in due {
        let detail = match (battery, seen) {
            (Some(b), _) if b < LOW_BATTERY => {
                Detail::new("sensor_battery", [unit.as_str(), &b.to_string()].map(Arg::from))
            }
            (_, Some(seen)) => Detail::new("sensor_silent", [Arg::from(unit.as_str()), Arg::Time(seen)]),
            (_, None) => Detail::new("sensor_never", [Arg::from(unit.as_str()), Arg::Time(paired)]),
        }
        .encode();
        let device = format!("sensor {name}");
        raised += usize::from(
            crate::records::alerts::raise_once(
                conn,
                &community,
                shoumen_protocol::AlertKind::SensorMaintenance,
                &device,
                &detail,
                now_ms,
            )?
            .is_some(),
        );
    }
    Ok(raised)
}

/// The communities that have paired at least one sensor.
pub fn communities_with_sensors(conn: &mut dyn Conn) -> Result<Vec<String>, DbError> {
    conn.query_map("SELECT DISTINCT community FROM sensors ORDER BY community", vals![], |r| r.get(0))
}

/// Deletes sensor events older than the community keeps entries.
pub fn prune(conn: &mut dyn Conn, community: &str, cutoff_ms: i64) -> Result<u64, DbError> {
    conn.execute("DELETE FROM sensor_events WHERE community = ?1 AND at_ms < ?2", vals![community, cutoff_ms])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delivery_windows_read_as_a_committee_writes_them() {
        assert_eq!(parse_windows("07:00-09:00, 17:30-19:00").unwrap(), vec![(420, 540), (1050, 1140)]);
        assert_eq!(parse_windows("").unwrap(), vec![]);
        assert!(parse_windows("9-10").is_err());
        assert!(parse_windows("10:00-09:00").is_err());
        let w = parse_windows("07:00-09:00").unwrap();
        assert!(in_windows(&w, 420) && in_windows(&w, 539) && !in_windows(&w, 540) && !in_windows(&w, 419));
    }

    #[test]
    fn names_are_friendly_names_without_wildcards() {
        assert!(check_name("door-3-502").is_ok());
        for bad in ["", "a/b", "a+", "#", "<x>", &"x".repeat(65)] {
            assert!(check_name(bad).is_err(), "{bad:?}");
        }
    }
}
