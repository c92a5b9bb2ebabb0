//! What the committee reads off the entry log: today's counts, the latest
//! entries, the CSV export, and the district's summary of every community.
//!
//! Every query here names its community, except the district summary,
//! which is for district accounts only.

pub mod roster;
pub mod summary;

use crate::db::{Conn, DbError, Row, Val};
use crate::leaves::csv::CsvChunks;
use crate::leaves::time::fmt_ms;
use crate::records::ingest::SHOWN_MS;
use crate::vals;

/// The dashboard's figures for one community.
#[derive(Clone, Debug)]
pub struct Dashboard {
    pub today: i64,
    pub open_alerts: i64,
    /// The start of the first of the last 24 hours, and entries per hour.
    pub hour_start: i64,
    pub hours: [i64; 24],
}

/// What a new community has done of its first steps (issue 28): the
/// overview lists what is left, each with the page that does it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FirstSteps {
    pub named: bool,
    pub residents: bool,
    pub gate: bool,
    pub webhook: bool,
    pub rules: bool,
}

impl FirstSteps {
    pub fn all_done(&self) -> bool {
        self.named && self.residents && self.gate && self.webhook && self.rules
    }
}

pub fn first_steps(conn: &mut dyn Conn, community: &str) -> Result<FirstSteps, DbError> {
    let any = |conn: &mut dyn Conn, sql: &str| -> Result<bool, DbError> { Ok(conn.scalar(sql, vals![community])? > 0) };
    Ok(FirstSteps {
        named: any(conn, "SELECT COUNT(*) FROM communities WHERE id = ?1 AND display_name <> ''")?,
        residents: any(conn, "SELECT COUNT(*) FROM residents WHERE community = ?1")?,
        gate: any(conn, "SELECT COUNT(*) FROM devices WHERE community = ?1 AND revoked = 0")?,
        webhook: any(conn, "SELECT COUNT(*) FROM communities WHERE id = ?1 AND webhook_url <> ''")?,
        rules: any(conn, "SELECT COUNT(*) FROM region_rules WHERE community = ?1")?,
    })
}

/// Local midnight before `now_ms` in the display zone.
pub fn day_start(now_ms: i64, utc_offset_min: i32) -> i64 {
    let local = now_ms + i64::from(utc_offset_min) * 60_000;
    now_ms - local.rem_euclid(86_400_000)
}

pub fn dashboard(conn: &mut dyn Conn, community: &str, now_ms: i64, utc_offset_min: i32) -> Result<Dashboard, DbError> {
    let today = conn.scalar(
        &format!(
            "SELECT COUNT(*) FROM entries e LEFT JOIN boots b ON b.device = e.device AND b.boot_id = e.boot_id
             WHERE e.community = ?1 AND {SHOWN_MS} >= ?2"
        ),
        vals![community, day_start(now_ms, utc_offset_min)],
    )?;
    let open_alerts = crate::records::alerts::open_count(conn, community)?;
    let hour_start = now_ms - now_ms.rem_euclid(3_600_000) - 23 * 3_600_000;
    let mut hours = [0i64; 24];
    let rows = conn.query_map(
        &format!(
            "SELECT ({SHOWN_MS} - ?2) / 3600000 AS h, COUNT(*) FROM entries e
             LEFT JOIN boots b ON b.device = e.device AND b.boot_id = e.boot_id
             WHERE e.community = ?1 AND {SHOWN_MS} >= ?2 GROUP BY h"
        ),
        vals![community, hour_start],
        |r| Ok((r.get::<i64>(0)?, r.get::<i64>(1)?)),
    )?;
    for (h, n) in rows {
        if (0..24).contains(&h) {
            hours[h as usize] = n;
        }
    }
    Ok(Dashboard { today, open_alerts, hour_start, hours })
}

/// One line of the Entries page.
#[derive(Clone, Debug)]
pub struct EntryRow {
    pub shown_ms: i64,
    pub gate: String,
    pub direction: String,
    pub decision: String,
    pub reason: String,
    pub unit: Option<String>,
    pub temp_centi: Option<i64>,
    pub note: Option<String>,
    pub clock_synced: bool,
    pub seq: i64,
    /// The volunteer whose duty pass the entry carries (a sign-in, or what
    /// they did on the guard console: a manual opening, say).
    pub volunteer: Option<String>,
}

/// What the Entries page searches for; every field narrows the search.
#[derive(Clone, Debug, Default)]
pub struct EntryFilter {
    /// `[from_ms, to_ms)` by the entry's (corrected) time.
    pub from_ms: Option<i64>,
    pub to_ms: Option<i64>,
    /// A kiosk id.
    pub gate: Option<String>,
    pub unit: Option<String>,
    /// A pass id, or its first hex digits.
    pub pass: Option<String>,
    pub decision: Option<String>,
    pub reason: Option<String>,
    pub kind: Option<String>,
    /// A property account's gates, by name: only their entries.
    pub gate_names: Option<Vec<String>>,
}

/// `d.gate_name IN (…)` for a property account's gates, its values pushed
/// onto `params`; nothing matches an empty list.
fn gate_scope(names: &[String], params: &mut Vec<Val>) -> String {
    if names.is_empty() {
        return "1 = 0".into();
    }
    let marks: Vec<String> = names
        .iter()
        .map(|n| {
            params.push(n.into());
            format!("?{}", params.len())
        })
        .collect();
    format!("d.gate_name IN ({})", marks.join(", "))
}

/// The entries of `community` matching `f` that reached the server last,
/// at most `limit`.
pub fn search_entries(
    conn: &mut dyn Conn,
    community: &str,
    f: &EntryFilter,
    limit: usize,
) -> Result<Vec<EntryRow>, DbError> {
    let mut params: Vec<Val> = vec![community.into()];
    let mut wheres = vec!["e.community = ?1".to_string()];
    let mut narrow = |clause: &str, value: Val| {
        params.push(value);
        wheres.push(clause.replace('#', &format!("?{}", params.len())));
    };
    if let Some(from) = f.from_ms {
        narrow(&format!("{SHOWN_MS} >= #"), from.into());
    }
    if let Some(to) = f.to_ms {
        narrow(&format!("{SHOWN_MS} < #"), to.into());
    }
    if let Some(gate) = &f.gate {
        narrow("e.device = #", gate.into());
    }
    if let Some(unit) = &f.unit {
        narrow("p.unit = #", unit.into());
    }
    if let Some(pass) = &f.pass {
        // Hex digits only, so the prefix cannot carry LIKE's wildcards.
        let prefix: String =
            pass.chars().filter(char::is_ascii_hexdigit).map(|c| c.to_ascii_lowercase()).take(16).collect();
        narrow("e.pass_id LIKE #", format!("{prefix}%").into());
    }
    if let Some(decision) = &f.decision {
        narrow("e.decision = #", decision.into());
    }
    if let Some(reason) = &f.reason {
        narrow("e.reason = #", reason.into());
    }
    if let Some(kind) = &f.kind {
        narrow("e.kind = #", kind.into());
    }
    if let Some(names) = &f.gate_names {
        let clause = gate_scope(names, &mut params);
        wheres.push(clause);
    }
    params.push(limit.into());
    let sql = format!(
        "SELECT {SHOWN_MS}, d.gate_name, e.direction, e.decision, e.reason, p.unit, e.temp_centi, e.note, e.clock_synced, e.seq,
                CASE WHEN e.role = 'duty' THEN p.visitor_name END
         FROM entries e JOIN devices d ON d.id = e.device
         LEFT JOIN boots b ON b.device = e.device AND b.boot_id = e.boot_id
         LEFT JOIN passes p ON p.pass_id = e.pass_id AND p.community = e.community
         WHERE {}
         ORDER BY e.received_ms DESC, e.seq DESC LIMIT ?{}",
        wheres.join(" AND "),
        params.len()
    );
    conn.query_map(&sql, &params, |r| {
        Ok(EntryRow {
            shown_ms: r.get(0)?,
            gate: r.get(1)?,
            direction: r.get(2)?,
            decision: r.get(3)?,
            reason: r.get(4)?,
            unit: r.get(5)?,
            temp_centi: r.get(6)?,
            note: r.get(7)?,
            clock_synced: r.get(8)?,
            seq: r.get(9)?,
            volunteer: r.get(10)?,
        })
    })
}

/// Someone whose pass's last allowed passage, at any gate, was outward.
#[derive(Clone, Debug)]
pub struct OutRow {
    pub unit: String,
    pub role: String,
    pub name: Option<String>,
    pub pass_id: String,
    pub at_ms: i64,
    pub gate: Option<String>,
}

/// Who is outside the compound now, and the visitors still inside after
/// their pass ended.
#[derive(Clone, Debug, Default)]
pub struct Outside {
    pub out: Vec<OutRow>,
    pub overstaying: Vec<OutRow>,
    /// Per unit: (unit, people out), most first.
    pub per_unit: Vec<(String, usize)>,
}

/// Reads the community's presence (the last allowed direction per pass,
/// merged from every gate by time). Passes withdrawn since are left out.
pub fn outside(conn: &mut dyn Conn, community: &str, now_ms: i64) -> Result<Outside, DbError> {
    let select = "SELECT p.unit, p.role, COALESCE(r.name, p.visitor_name), pr.pass_id, pr.at_ms, d.gate_name
         FROM presence pr JOIN passes p ON p.pass_id = pr.pass_id AND p.community = pr.community
         LEFT JOIN residents r ON r.id = p.resident_id
         LEFT JOIN devices d ON d.id = pr.device
         WHERE pr.community = ?1 AND p.revoked_ms IS NULL";
    let row = |r: &Row| {
        Ok(OutRow {
            unit: r.get(0)?,
            role: r.get(1)?,
            name: r.get(2)?,
            pass_id: r.get(3)?,
            at_ms: r.get(4)?,
            gate: r.get(5)?,
        })
    };
    let out =
        conn.query_map(&format!("{select} AND pr.direction = 'out' ORDER BY p.unit, pr.at_ms"), vals![community], row)?;
    let overstaying = conn.query_map(
        &format!("{select} AND pr.direction = 'in' AND p.role = 'visitor' AND p.expires_at * 1000 < ?2 ORDER BY p.expires_at"),
        vals![community, now_ms],
        row,
    )?;
    let mut per_unit: Vec<(String, usize)> = Vec::new();
    for o in &out {
        match per_unit.last_mut() {
            Some((unit, n)) if *unit == o.unit => *n += 1,
            _ => per_unit.push((o.unit.clone(), 1)),
        }
    }
    per_unit.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    Ok(Outside { out, overstaying, per_unit })
}

/// A community's entries over the last days, for the Trends page.
#[derive(Clone, Debug, Default)]
pub struct Trends {
    /// Local midnight of the first day.
    pub start_ms: i64,
    /// (gate, entries per day).
    pub per_gate: Vec<(String, Vec<i64>)>,
    /// Refusals (deny or guard) by reason, most first.
    pub refusals: Vec<(String, i64)>,
    pub fevers: Vec<i64>,
    /// Entries by hour of the day, local time.
    pub hours: [i64; 24],
}

/// The last `days` days of `community` up to `now_ms`, in the display zone.
pub fn trends(
    conn: &mut dyn Conn,
    community: &str,
    days: usize,
    now_ms: i64,
    utc_offset_min: i32,
) -> Result<Trends, DbError> {
    let start_ms = day_start(now_ms, utc_offset_min) - (days as i64 - 1) * 86_400_000;
    let from = "FROM entries e JOIN devices d ON d.id = e.device
         LEFT JOIN boots b ON b.device = e.device AND b.boot_id = e.boot_id
         WHERE e.community = ?1";
    let mut t = Trends { start_ms, fevers: vec![0; days], ..Trends::default() };
    let rows = conn.query_map(
        &format!("SELECT ({SHOWN_MS} - ?2) / 86400000 AS day, d.gate_name, COUNT(*), SUM(CASE WHEN e.reason = 'fever' THEN 1 ELSE 0 END) {from} AND {SHOWN_MS} >= ?2 GROUP BY day, d.gate_name"),
        vals![community, start_ms],
        |r| Ok((r.get::<i64>(0)?, r.get::<String>(1)?, r.get::<i64>(2)?, r.get::<i64>(3)?)),
    )?;
    for (day, gate, n, fevers) in rows {
        let Ok(day) = usize::try_from(day) else { continue };
        if day >= days {
            continue;
        }
        let slot = match t.per_gate.iter().position(|(g, _)| *g == gate) {
            Some(i) => i,
            None => {
                t.per_gate.push((gate, vec![0; days]));
                t.per_gate.len() - 1
            }
        };
        t.per_gate[slot].1[day] += n;
        t.fevers[day] += fevers;
    }
    t.per_gate.sort_by(|a, b| a.0.cmp(&b.0));
    t.refusals = conn.query_map(
        &format!("SELECT e.reason, COUNT(*) AS n {from} AND {SHOWN_MS} >= ?2 AND e.decision <> 'allow' GROUP BY e.reason ORDER BY n DESC, e.reason"),
        vals![community, start_ms],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    let hours = conn.query_map(
        &format!(
            "SELECT (({SHOWN_MS} + ?3) % 86400000) / 3600000 AS h, COUNT(*) {from} AND {SHOWN_MS} >= ?2 GROUP BY h"
        ),
        vals![community, start_ms, i64::from(utc_offset_min) * 60_000],
        |r| Ok((r.get::<i64>(0)?, r.get::<i64>(1)?)),
    )?;
    for (h, n) in hours {
        if let Ok(h) = usize::try_from(h) {
            if h < 24 {
                t.hours[h] += n;
            }
        }
    }
    Ok(t)
}

/// Entries of `community` in `range_ms` as CSV (times in the
/// display zone, reasons as codes and in `reason_words`), handed to `sink` about 64 KiB at a time; `sink` returns
/// false to stop (the reader went away). Rows stream from the database:
/// memory stays flat however long the range.
pub fn export_csv(
    conn: &mut dyn Conn,
    community: &str,
    range_ms: std::ops::Range<i64>,
    utc_offset_min: i32,
    reason_words: &dyn Fn(&str) -> String,
    gate_names: Option<&[String]>,
    sink: &mut dyn FnMut(String) -> bool,
) -> Result<(), DbError> {
    let mut params: Vec<Val> = vec![community.into(), range_ms.start.into(), range_ms.end.into()];
    let scope = gate_names.map_or_else(|| "1 = 1".to_string(), |names| gate_scope(names, &mut params));
    let sql = format!(
        "SELECT {SHOWN_MS}, e.device, d.gate_name, e.seq, e.direction, e.decision, e.reason, e.kind,
                e.pass_id, e.role, p.unit, e.temp_centi, e.note, e.clock_synced
         FROM entries e JOIN devices d ON d.id = e.device
         LEFT JOIN boots b ON b.device = e.device AND b.boot_id = e.boot_id
         LEFT JOIN passes p ON p.pass_id = e.pass_id AND p.community = e.community
         WHERE e.community = ?1 AND {SHOWN_MS} >= ?2 AND {SHOWN_MS} < ?3 AND {scope} ORDER BY 1, e.device, e.seq"
    );
    // The reason's words come last, so the columns before stay where
    // scripts reading older exports expect them.
    let mut csv = CsvChunks::new("time,device,gate,seq,direction,decision,reason,kind,pass_id,role,unit,temperature_c,note,clock_synced,reason_words", sink);
    conn.query_each(&sql, &params, &mut |r| {
        let text = |i: usize| r.get::<Option<String>>(i).map(Option::unwrap_or_default);
        let temp: Option<i64> = r.get(11)?;
        let fields = [
            fmt_ms(r.get(0)?, utc_offset_min),
            text(1)?,
            text(2)?,
            r.get::<i64>(3)?.to_string(),
            text(4)?,
            text(5)?,
            text(6)?,
            text(7)?,
            text(8)?,
            text(9)?,
            text(10)?,
            temp.map_or(String::new(), |c| format!("{:.2}", c as f64 / 100.0)),
            text(12)?,
            r.get::<bool>(13)?.to_string(),
            reason_words(&text(6)?),
        ];
        Ok(csv.row(&fields))
    })?;
    csv.finish();
    Ok(())
}

/// One community's line in the district's summary of a day.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Summary {
    pub community: String,
    pub kiosks: i64,
    /// Kiosks in service that have not been heard from for ten minutes.
    pub kiosks_silent: i64,
    pub entries: i64,
    pub allowed_in: i64,
    pub allowed_out: i64,
    pub refused: i64,
    pub fever: i64,
    pub open_alerts: i64,
    pub units_quarantined: i64,
    pub residents: i64,
}

/// Every community's figures for the day `[from_ms, to_ms)` (by the
/// kiosks' clocks) and their state now: a handful of grouped queries,
/// however many communities there are.
pub fn district(conn: &mut dyn Conn, from_ms: i64, to_ms: i64, now_ms: i64) -> Result<Vec<Summary>, DbError> {
    let mut rows: Vec<Summary> = crate::db::communities(conn)?
        .into_iter()
        .map(|community| Summary { community, ..Summary::default() })
        .collect();
    let index: std::collections::HashMap<String, usize> =
        rows.iter().enumerate().map(|(i, s)| (s.community.clone(), i)).collect();
    let mut fill = |conn: &mut dyn Conn,
                    sql: &str,
                    params: &[crate::db::Val],
                    set: &dyn Fn(&mut Summary, &[i64])|
     -> Result<(), DbError> {
        conn.query_each(sql, params, &mut |r| {
            let community: String = r.get(0)?;
            let values = (1..r.0.len())
                .map(|i| r.get::<Option<i64>>(i).map(Option::unwrap_or_default))
                .collect::<Result<Vec<_>, _>>()?;
            if let Some(&i) = index.get(&community) {
                set(&mut rows[i], &values);
            }
            Ok(true)
        })
    };
    fill(
        conn,
        "SELECT community, COUNT(*),
                SUM(CASE WHEN decision = 'allow' AND kind <> 'duty' AND direction = 'in' THEN 1 ELSE 0 END),
                SUM(CASE WHEN decision = 'allow' AND kind <> 'duty' AND direction = 'out' THEN 1 ELSE 0 END),
                SUM(CASE WHEN decision <> 'allow' AND kind = 'scan' THEN 1 ELSE 0 END),
                SUM(CASE WHEN reason = 'fever' THEN 1 ELSE 0 END)
         FROM entries WHERE wall_ms >= ?1 AND wall_ms < ?2 GROUP BY community",
        vals![from_ms, to_ms],
        &|s, v| (s.entries, s.allowed_in, s.allowed_out, s.refused, s.fever) = (v[0], v[1], v[2], v[3], v[4]),
    )?;
    fill(
        conn,
        "SELECT community, COUNT(*), SUM(CASE WHEN last_seen_ms IS NULL OR last_seen_ms < ?1 THEN 1 ELSE 0 END)
         FROM devices WHERE revoked = 0 GROUP BY community",
        vals![now_ms - crate::records::alerts::SILENT_AFTER_MS],
        &|s, v| (s.kiosks, s.kiosks_silent) = (v[0], v[1]),
    )?;
    fill(conn, "SELECT community, COUNT(*) FROM alerts WHERE acked = 0 GROUP BY community", vals![], &|s, v| {
        s.open_alerts = v[0]
    })?;
    fill(
        conn,
        "SELECT community, COUNT(DISTINCT unit) FROM quarantine WHERE from_s <= ?1 AND until_s > ?1 GROUP BY community",
        vals![now_ms / 1000],
        &|s, v| s.units_quarantined = v[0],
    )?;
    fill(conn, "SELECT community, COUNT(*) FROM residents GROUP BY community", vals![], &|s, v| s.residents = v[0])?;
    Ok(rows)
}
