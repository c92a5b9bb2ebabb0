//! A volunteer's hours on a shift, counted as volunteer platforms count
//! them (issue 32): the scheduled shift clipped to the person's sign-ins
//! and sign-outs at the post. Shift times bound the hours, never scan
//! times: coming early or staying late adds nothing, and a shift nobody
//! signed out of closes at its scheduled end, flagged, never extended.
//! The sign-ins come from the kiosks' hash-chained entries, so nobody can
//! pad them afterwards without the chain showing it.

/// A shift as scheduled, unix ms.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shift {
    pub start_ms: i64,
    pub end_ms: i64,
}

/// A scan of one's duty pass at the post, unix ms.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sign {
    In(i64),
    Out(i64),
}

impl Sign {
    pub fn at(self) -> i64 {
        match self {
            Sign::In(at) | Sign::Out(at) => at,
        }
    }
}

/// How long before a shift a sign-in counts for it (it counts from the
/// shift's start): a volunteer who comes early signs in then.
pub const EARLY_SIGN_IN_MS: i64 = 2 * 3_600_000;

/// A shift with no sign-in this long after its start is a no-show.
pub const NO_SHOW_AFTER_MS: i64 = 15 * 60_000;

/// What a shift counts for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Worked {
    /// Inside the shift and signed in.
    pub ms: i64,
    /// The first sign-in that counts, if any.
    pub first_in_ms: Option<i64>,
    /// From the start of the first time counted to the end of the last,
    /// each clipped to the shift: the service's start and end as a
    /// platform's import takes them.
    pub served: Option<(i64, i64)>,
    /// Still signed in at the end: counted to the scheduled end, flagged.
    pub not_signed_out: bool,
    /// A sign-out with no sign-in before it: counts nothing, flagged.
    pub out_without_in: bool,
}

impl Worked {
    /// Whole minutes, as platforms take them (rounded down).
    pub fn minutes(&self) -> i64 {
        self.ms / 60_000
    }
}

/// The hours of `shift` from the person's `signs`, in time order. Signs
/// outside [start − [`EARLY_SIGN_IN_MS`], end] are not this shift's.
pub fn worked(shift: Shift, signs: &[Sign]) -> Worked {
    let mut w = Worked::default();
    let mut open: Option<i64> = None;
    let credit = |from: i64, to: i64, w: &mut Worked| {
        let (from, to) = (from.max(shift.start_ms), to.min(shift.end_ms));
        if to > from {
            w.ms += to - from;
            w.served = Some(w.served.map_or((from, to), |(first, _)| (first, to)));
        }
    };
    for &sign in signs {
        match sign {
            Sign::In(at) if at < shift.start_ms - EARLY_SIGN_IN_MS || at > shift.end_ms => {}
            // Signed in already (at another gate's kiosk, say): the first counts.
            Sign::In(_) if open.is_some() => {}
            Sign::In(at) => {
                open = Some(at);
                w.first_in_ms.get_or_insert(at);
            }
            Sign::Out(at) if at < shift.start_ms - EARLY_SIGN_IN_MS => {}
            Sign::Out(at) => match open.take() {
                Some(from) => credit(from, at, &mut w),
                None if at <= shift.end_ms => w.out_without_in = true,
                None => {}
            },
        }
    }
    if let Some(from) = open {
        credit(from, shift.end_ms, &mut w);
        w.not_signed_out = true;
    }
    w
}

/// Whether the shift is a no-show at `now_ms`: [`NO_SHOW_AFTER_MS`] into
/// it and nobody signed in for it.
pub fn no_show(shift: Shift, signs: &[Sign], now_ms: i64) -> bool {
    now_ms >= shift.start_ms + NO_SHOW_AFTER_MS && worked(shift, signs).first_in_ms.is_none()
}

#[cfg(test)]
mod tests {
    use super::*;

    const M: i64 = 60_000;
    /// 08:00 to 12:00 on some day, in minutes from midnight.
    const SHIFT: Shift = Shift { start_ms: 480 * M, end_ms: 720 * M };

    fn at(h: i64, m: i64) -> i64 {
        (h * 60 + m) * M
    }

    /// (what happened, the signs, minutes counted, not signed out, out without in)
    #[test]
    fn the_hours_are_the_shift_clipped_to_sign_in_and_sign_out() {
        use Sign::{In, Out};
        let table: &[(&str, &[Sign], i64, bool, bool)] = &[
            ("on time, both ways", &[In(at(8, 0)), Out(at(12, 0))], 240, false, false),
            ("early and late add nothing", &[In(at(7, 10)), Out(at(13, 30))], 240, false, false),
            ("late in", &[In(at(8, 40)), Out(at(12, 0))], 200, false, false),
            ("early out", &[In(at(8, 0)), Out(at(10, 15))], 135, false, false),
            ("a break", &[In(at(8, 0)), Out(at(9, 0)), In(at(9, 30)), Out(at(12, 0))], 210, false, false),
            ("never signed out: to the scheduled end, flagged", &[In(at(8, 5))], 235, true, false),
            ("never signed out, in after the end: nothing", &[In(at(12, 30))], 0, false, false),
            (
                "signed in twice (two gates): the first counts",
                &[In(at(8, 0)), In(at(9, 0)), Out(at(11, 0))],
                180,
                false,
                false,
            ),
            ("out without in: nothing, flagged", &[Out(at(11, 0))], 0, false, true),
            ("in too early for this shift: not its", &[In(at(5, 0)), Out(at(5, 30))], 0, false, false),
            ("nobody came", &[], 0, false, false),
            ("seconds round down", &[In(at(8, 0) + 59_000), Out(at(8, 2))], 1, false, false),
        ];
        for &(what, signs, minutes, not_out, out_alone) in table {
            let w = worked(SHIFT, signs);
            assert_eq!((w.minutes(), w.not_signed_out, w.out_without_in), (minutes, not_out, out_alone), "{what}");
            assert!(w.ms <= SHIFT.end_ms - SHIFT.start_ms, "{what}: more than the shift");
        }
    }

    #[test]
    fn the_service_runs_from_the_first_time_counted_to_the_last() {
        use Sign::{In, Out};
        let served = |signs: &[Sign]| worked(SHIFT, signs).served;
        assert_eq!(served(&[In(at(7, 10)), Out(at(13, 30))]), Some((at(8, 0), at(12, 0))), "clipped to the shift");
        assert_eq!(served(&[In(at(8, 40)), Out(at(11, 0))]), Some((at(8, 40), at(11, 0))));
        assert_eq!(
            served(&[In(at(8, 0)), Out(at(9, 0)), In(at(9, 30)), Out(at(10, 0))]),
            Some((at(8, 0), at(10, 0))),
            "a break inside"
        );
        assert_eq!(served(&[In(at(8, 5))]), Some((at(8, 5), at(12, 0))), "not signed out: to the end");
        assert_eq!(served(&[In(at(12, 30))]), None, "nothing counted");
    }

    #[test]
    fn a_shift_with_no_sign_in_fifteen_minutes_in_is_a_no_show() {
        assert!(!no_show(SHIFT, &[], at(8, 14)), "too early to say");
        assert!(no_show(SHIFT, &[], at(8, 15)));
        assert!(!no_show(SHIFT, &[Sign::In(at(7, 50))], at(8, 15)), "came early");
        assert!(!no_show(SHIFT, &[Sign::In(at(8, 20))], at(8, 30)), "came late");
        assert!(no_show(SHIFT, &[Sign::In(at(5, 0))], at(8, 30)), "a sign-in of an earlier shift");
    }
}
