//! What the gate keeps an eye on between events, to raise alarms once per
//! episode: a pass refused again and again, a device fault that lasts, lists
//! that grew too old. Pure and bounded: time comes in as monotonic ms.

use std::collections::HashMap;

use shoumen_protocol::PassId;

/// Never more passes than this are tracked for repeated refusals: a flood
/// of different forged passes must not grow the kiosk's memory.
const MAX_TRACKED: usize = 1024;

#[derive(Clone, Debug, Default)]
pub struct Watch {
    /// Monotonic times of recent refusals per pass.
    refusals: HashMap<PassId, Vec<u64>>,
    /// Devices in fault: since when, what, and whether the alarm went off.
    faults: HashMap<&'static str, Fault>,
    /// The lists-too-old alarm went off and the lists are still old.
    lists_stale: bool,
}

#[derive(Clone, Debug)]
struct Fault {
    since_mono_ms: u64,
    message: String,
    alarmed: bool,
}

impl Watch {
    /// Counts a refusal of `pass_id`; returns the count when it reaches
    /// `limit` within `window_ms` (and starts counting afresh).
    pub fn refused(&mut self, pass_id: PassId, now_ms: u64, limit: u32, window_ms: u64) -> Option<u32> {
        let recent = |t: &u64| now_ms.saturating_sub(*t) < window_ms;
        if self.refusals.len() >= MAX_TRACKED && !self.refusals.contains_key(&pass_id) {
            self.refusals.retain(|_, times| times.iter().any(recent));
            if self.refusals.len() >= MAX_TRACKED {
                self.refusals.clear();
            }
        }
        let times = self.refusals.entry(pass_id).or_default();
        times.retain(recent);
        times.push(now_ms);
        let count = times.len() as u32;
        if count >= limit.max(1) {
            self.refusals.remove(&pass_id);
            return Some(count);
        }
        None
    }

    /// Notes a device's state: a fault starts its clock, health stops it.
    pub fn device(&mut self, device: &'static str, fault: Option<String>, now_ms: u64) {
        match fault {
            None => {
                self.faults.remove(device);
            }
            Some(message) => {
                let f = self.faults.entry(device).or_insert(Fault {
                    since_mono_ms: now_ms,
                    message: String::new(),
                    alarmed: false,
                });
                f.message = message.chars().take(160).collect();
            }
        }
    }

    /// Faults that have lasted `after_ms` and have not raised their alarm
    /// yet; each is returned once per episode.
    pub fn lasting_faults(&mut self, now_ms: u64, after_ms: u64) -> Vec<(&'static str, String)> {
        let mut out: Vec<(&'static str, String)> = self
            .faults
            .iter_mut()
            .filter(|(_, f)| !f.alarmed && now_ms.saturating_sub(f.since_mono_ms) >= after_ms)
            .map(|(device, f)| {
                f.alarmed = true;
                (*device, f.message.clone())
            })
            .collect();
        out.sort();
        out
    }

    /// True once when the lists become too old; again only after they were
    /// fresh in between.
    pub fn lists_went_stale(&mut self, too_old: bool) -> bool {
        let first = too_old && !self.lists_stale;
        self.lists_stale = too_old;
        first
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn three_refusals_in_the_window_alarm_once_then_count_afresh() {
        let mut w = Watch::default();
        let p = PassId([1; 8]);
        assert_eq!(w.refused(p, 0, 3, 600_000), None);
        assert_eq!(w.refused(p, 1_000, 3, 600_000), None);
        assert_eq!(w.refused(p, 2_000, 3, 600_000), Some(3));
        assert_eq!(w.refused(p, 3_000, 3, 600_000), None, "counting starts afresh");
        // Spread out: the oldest fall out of the window.
        let q = PassId([2; 8]);
        assert_eq!(w.refused(q, 0, 3, 600_000), None);
        assert_eq!(w.refused(q, 400_000, 3, 600_000), None);
        assert_eq!(w.refused(q, 700_000, 3, 600_000), None);
        assert_eq!(w.refused(q, 800_000, 3, 600_000), Some(3));
    }

    #[test]
    fn a_flood_of_different_passes_stays_bounded() {
        let mut w = Watch::default();
        for i in 0..10_000u64 {
            w.refused(PassId(i.to_be_bytes()), i, 3, 600_000);
        }
        assert!(w.refusals.len() <= MAX_TRACKED);
    }

    #[test]
    fn a_fault_alarms_once_after_it_has_lasted() {
        let mut w = Watch::default();
        w.device("camera", Some("unplugged".into()), 0);
        assert!(w.lasting_faults(30_000, 60_000).is_empty());
        w.device("camera", Some("still unplugged".into()), 40_000);
        assert_eq!(w.lasting_faults(60_000, 60_000), [("camera", "still unplugged".to_string())]);
        assert!(w.lasting_faults(120_000, 60_000).is_empty(), "once per episode");
        w.device("camera", None, 130_000);
        w.device("camera", Some("gone again".into()), 140_000);
        assert!(w.lasting_faults(150_000, 60_000).is_empty());
        assert_eq!(w.lasting_faults(200_000, 60_000).len(), 1, "a new episode alarms again");
    }

    #[test]
    fn stale_lists_alarm_once_per_episode() {
        let mut w = Watch::default();
        assert!(!w.lists_went_stale(false));
        assert!(w.lists_went_stale(true));
        assert!(!w.lists_went_stale(true));
        assert!(!w.lists_went_stale(false));
        assert!(w.lists_went_stale(true));
    }
}
