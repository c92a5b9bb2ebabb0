//! Times as the committee reads and types them, in the display zone
//! (minutes east of UTC; China is +480).

/// Unix ms as `YYYY-MM-DD HH:MM:SS` in the display zone.
pub fn fmt_ms(ms: i64, utc_offset_min: i32) -> String {
    let offset = chrono::FixedOffset::east_opt(utc_offset_min * 60)
        .unwrap_or_else(|| chrono::FixedOffset::east_opt(0).expect("zero offset"));
    match chrono::DateTime::from_timestamp_millis(ms) {
        Some(t) => t.with_timezone(&offset).format("%Y-%m-%d %H:%M:%S").to_string(),
        None => "?".into(),
    }
}

/// Parses a `YYYY-MM-DD` date as the start of that day in the display zone.
pub fn parse_day(s: &str, utc_offset_min: i32) -> Option<i64> {
    use chrono::Datelike;
    let d = chrono::NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").ok()?;
    // Dates a committee means; anything else is a typo or an attack.
    if !(2000..=2100).contains(&d.year()) {
        return None;
    }
    let secs = d.and_hms_opt(0, 0, 0)?.and_utc().timestamp() - i64::from(utc_offset_min) * 60;
    Some(secs)
}

/// Unix seconds as `YYYY-MM-DD` in the display zone.
/// The last day of a period whose end `end_s` is exclusive (the midnight
/// after it), as the person typed it: the inclusive end.
pub fn fmt_last_day(end_s: i64, utc_offset_min: i32) -> String {
    fmt_day(end_s - 1, utc_offset_min)
}

pub fn fmt_day(s: i64, utc_offset_min: i32) -> String {
    let offset = chrono::FixedOffset::east_opt(utc_offset_min * 60)
        .unwrap_or_else(|| chrono::FixedOffset::east_opt(0).expect("zero offset"));
    match chrono::DateTime::from_timestamp(s, 0) {
        Some(t) => t.with_timezone(&offset).format("%Y-%m-%d").to_string(),
        None => "?".into(),
    }
}
