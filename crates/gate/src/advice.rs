//! What the person at the gate should do next, for every result: the
//! screen words it under the reason, and the spoken clip says it. One
//! closed mapping, so a new reason does not compile until it says what to
//! do now.

use shoumen_protocol::Reason;

use super::core::ResultView;
use super::policy::AntiPassback;

/// The next step after a result, in the words of the screen and the voice.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NextStep {
    /// Allowed: go through.
    GoAhead,
    /// Back from outside under home quarantine, or refused going out:
    /// go home (the committee's number for an emergency).
    GoHome,
    /// A fever: wait to one side and measure again; the guard is coming.
    WaitAside,
    /// A phone code too old or used: show the live code.
    ShowLiveCode,
    /// No temperature taken: step closer and show the pass again.
    StepCloser,
    /// Timed anti-passback: the pass went through a moment ago; try again
    /// shortly, or see the guard.
    WaitAndRetry,
    /// Strict anti-passback: the pass is inside; go out first, or see the
    /// guard if you left another way.
    GoOutFirst,
    /// Not a pass of this compound: register at the gatehouse as a visitor.
    RegisterAsVisitor,
    /// A pass the committee must renew or reinstate: call the committee.
    CallCommittee,
    /// Something the person cannot fix alone: the guard on duty.
    SeeGuard,
    /// A volunteer signed in for duty: scan again when the shift ends.
    DutyStarted,
    /// A volunteer signed out: thanks; the hours count within the shift.
    DutyEnded,
}

impl NextStep {
    /// The key the screen words and the voice clips are named by.
    pub fn as_str(self) -> &'static str {
        match self {
            NextStep::GoAhead => "go_ahead",
            NextStep::GoHome => "go_home",
            NextStep::WaitAside => "wait_aside",
            NextStep::ShowLiveCode => "show_live_code",
            NextStep::StepCloser => "step_closer",
            NextStep::WaitAndRetry => "wait_and_retry",
            NextStep::GoOutFirst => "go_out_first",
            NextStep::RegisterAsVisitor => "register_as_visitor",
            NextStep::CallCommittee => "call_committee",
            NextStep::SeeGuard => "see_guard",
            NextStep::DutyStarted => "duty_started",
            NextStep::DutyEnded => "duty_ended",
        }
    }
}

/// The next step for a result.
pub fn next_step(view: &ResultView) -> NextStep {
    use Reason::*;
    match view.reason {
        Ok | QuarantineUnconfirmed | PassbackOverride | ManualOpen | ExitButton | AllowedWithoutTemperature => {
            NextStep::GoAhead
        }
        // Console records: never on a result screen.
        ConsoleOpened | AlarmAcknowledged | SettingChanged => NextStep::GoAhead,
        QuarantineReturn | QuarantineNoExit => NextStep::GoHome,
        DutyStart => NextStep::DutyStarted,
        DutyEnd => NextStep::DutyEnded,
        Fever => NextStep::WaitAside,
        CodeExpired => NextStep::ShowLiveCode,
        MeasureTimeout => NextStep::StepCloser,
        Passback => match view.passback {
            Some(AntiPassback::Strict) => NextStep::GoOutFirst,
            _ => NextStep::WaitAndRetry,
        },
        UnknownKey | UnknownIssuer | NotAPass => NextStep::RegisterAsVisitor,
        Expired | Revoked => NextStep::CallCommittee,
        // A pass not valid yet, a damaged one, and whatever the kiosk cannot
        // decide alone: the guard on duty can look and let in.
        NotYetValid | BadSignature | BadClaims | ThermometerFault | StoreFault | TimeUncertain | ListsTooOld
        | DoorForcedOpen | DoorHeldOpen | RepeatedRefusals | DeviceFault => NextStep::SeeGuard,
    }
}
