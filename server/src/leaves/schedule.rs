//! When the server's own chores come round (issue 30): at a time of day
//! in the display zone, or, in a test, every few seconds
//! (`--chores-every-s`) to see each period's work done once while
//! processes are killed. `ops::chores` runs them.

use std::time::Duration;

/// How often a chore comes round.
#[derive(Clone, Copy, Debug)]
pub enum Every {
    /// Every day, this long after midnight in the display zone.
    Day { after_midnight_ms: i64 },
    /// Every so long (tests): periods are counted from the epoch.
    Short(Duration),
}

/// A chore's next run: when it starts and the period it is for.
#[derive(Clone, Debug, PartialEq)]
pub struct Slot {
    pub start_ms: i64,
    /// The day (`2026-12-05`) or the short period's number (`t881`).
    pub period: String,
}

impl Every {
    /// The first run after `now_ms`.
    pub fn next(self, now_ms: i64, utc_offset_min: i32) -> Slot {
        match self {
            Every::Day { after_midnight_ms } => {
                let local = now_ms + i64::from(utc_offset_min) * 60_000;
                let mut start = now_ms - local.rem_euclid(DAY_MS) + after_midnight_ms;
                if start <= now_ms {
                    start += DAY_MS;
                }
                Slot { start_ms: start, period: super::time::fmt_day(start / 1000, utc_offset_min) }
            }
            Every::Short(every) => {
                let every = (every.as_millis() as i64).max(1);
                let n = now_ms / every + 1;
                Slot { start_ms: n * every, period: format!("t{n}") }
            }
        }
    }

    /// How long a claim on a long chore holds before another process may
    /// take it over: an hour a night; half a short period.
    pub fn lease_ms(self) -> i64 {
        match self {
            Every::Day { .. } => 3_600_000,
            Every::Short(every) => (every.as_millis() as i64 / 2).max(1),
        }
    }
}

const DAY_MS: i64 = 86_400_000;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_day_runs_at_its_hour_in_the_display_zone_and_names_its_date() {
        // 2026-12-05 00:00 in UTC+8.
        let midnight = 1_796_400_000_000i64;
        let at = Every::Day { after_midnight_ms: 3 * 3_600_000 };
        assert_eq!(at.next(midnight + 3_600_000, 480).start_ms, midnight + 3 * 3_600_000);
        assert_eq!(at.next(midnight + 3_600_000, 480).period, "2026-12-05");
        let later = at.next(midnight + 10 * 3_600_000, 480);
        assert_eq!((later.start_ms, later.period.as_str()), (midnight + 27 * 3_600_000, "2026-12-06"));
    }

    #[test]
    fn a_short_period_is_numbered_from_the_epoch() {
        let every = Every::Short(Duration::from_secs(2));
        assert_eq!(every.next(4_500, 0), Slot { start_ms: 6_000, period: "t3".into() });
        assert_eq!(every.next(6_000, 0), Slot { start_ms: 8_000, period: "t4".into() });
        assert_eq!(every.lease_ms(), 1_000);
    }
}
