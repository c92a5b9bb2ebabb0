//! The closed vocabularies that cross crates: why the gate decided as it
//! did ([`Reason`]) and what the committee is alerted to ([`AlertKind`]).
//!
//! Each member has a stable wire string, the one stored in entries, the
//! audit of a kiosk's log and the server's tables: renaming one would
//! change every hash over it. Words (both languages), voice clips and
//! alert rules are exhaustive `match`es over these enums, so adding a
//! member is a list of places the compiler gives you. A string from a newer
//! device that this version does not know parses to `None`: keep it and
//! show the code.

/// Declares a closed vocabulary: the enum, `ALL`, and the wire strings
/// both ways.
macro_rules! vocabulary {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $wire:literal,)* }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $($(#[$vmeta])* $variant,)*
        }

        impl $name {
            /// Every member, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant,)*];

            /// The stable wire string.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $wire,)*
                }
            }

            /// The member a wire string names; `None` for one this version
            /// does not know (from a newer device: keep it as text).
            pub fn parse(wire: &str) -> Option<$name> {
                match wire {
                    $($wire => Some($name::$variant),)*
                    _ => None,
                }
            }
        }

        // Compared with wire strings as they are stored.
        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.as_str() == *other
            }
        }

        impl PartialEq<String> for $name {
            fn eq(&self, other: &String) -> bool {
                self.as_str() == other
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

vocabulary! {
    /// Why the gate decided as it did, recorded with every entry and shown
    /// on the result screen.
    Reason {
        /// Allowed.
        Ok = "ok",
        /// A resident under home quarantine came home.
        QuarantineReturn = "quarantine_return",
        /// Going out from a home with a self-declared, unconfirmed notice.
        QuarantineUnconfirmed = "quarantine_unconfirmed",
        /// A guard let the pass through despite anti-passback.
        PassbackOverride = "passback_override",
        /// Allowed with the thermometer out of order (the policy says so).
        AllowedWithoutTemperature = "allowed_without_temperature",
        /// A guard opened the gate from the console.
        ManualOpen = "manual_open",
        /// The exit button inside the gate.
        ExitButton = "exit_button",
        Fever = "fever",
        Expired = "expired",
        NotYetValid = "not_yet_valid",
        /// A phone's code outside its time window: a screenshot or photo.
        CodeExpired = "code_expired",
        Revoked = "revoked",
        /// A resident under home quarantine tried to go out.
        QuarantineNoExit = "quarantine_no_exit",
        /// The same pass the same way again (anti-passback).
        Passback = "passback",
        /// Nobody stepped up to the thermometer in time.
        MeasureTimeout = "measure_timeout",
        BadSignature = "bad_signature",
        /// Signed by a key this kiosk does not trust (another community).
        UnknownKey = "unknown_key",
        /// Claims another community than its key's.
        UnknownIssuer = "unknown_issuer",
        /// A QR code that is not a pass.
        NotAPass = "not_a_pass",
        BadClaims = "bad_claims",
        ThermometerFault = "thermometer_fault",
        /// The kiosk cannot vouch for its clock, and only the clock refuses
        /// the pass (not yet valid, or expired, by a time that may be
        /// wrong): the guard decides.
        TimeUncertain = "time_uncertain",
        /// The entry could not be stored: nothing opens (shown, not recorded).
        StoreFault = "store_fault",
        // Duty: entries of kind `duty`, from a volunteer's duty pass.
        /// Signed in for duty at this gate.
        DutyStart = "duty_start",
        /// Signed out of duty at this gate.
        DutyEnd = "duty_end",
        /// The guard console was opened: by the duty pass the entry names,
        /// or by the PIN (no pass; the note says "pin").
        ConsoleOpened = "console_opened",
        /// An alarm was acknowledged on the console (the note says which).
        AlarmAcknowledged = "alarm_acknowledged",
        /// A setting was changed on the console (the note says which).
        SettingChanged = "setting_changed",
        // Alarms: entries of kind `alarm`.
        ListsTooOld = "lists_too_old",
        DoorForcedOpen = "door_forced_open",
        DoorHeldOpen = "door_held_open",
        RepeatedRefusals = "repeated_refusals",
        DeviceFault = "device_fault",
    }
}

vocabulary! {
    /// What the committee must act on: an alert on the Alerts page and a
    /// message to its robot.
    AlertKind {
        Fever = "fever",
        QuarantineExit = "quarantine_exit",
        DoorForcedOpen = "door_forced_open",
        DoorHeldOpen = "door_held_open",
        RepeatedRefusals = "repeated_refusals",
        DeviceFault = "device_fault",
        ListsTooOld = "lists_too_old",
        KioskSilent = "kiosk_silent",
        Tamper = "tamper",
        SplitView = "split_view",
        /// The evidence log's nightly audit found a record, leaf or hash
        /// that does not follow from what it stores.
        EvidenceDamaged = "evidence_damaged",
        DoorSensorOpen = "door_sensor_open",
        SensorMaintenance = "sensor_maintenance",
        CheckinFever = "checkin_fever",
        MedicalHelp = "medical_help",
        SensorFlood = "sensor_flood",
        SensorBroker = "sensor_broker",
        ReturneeNotice = "returnee_notice",
        UnusualRegistrations = "unusual_registrations",
        AccountLockout = "account_lockout",
        /// A kiosk's own clock is minutes or more off (it decides by the
        /// server's signed time meanwhile).
        ClockOff = "clock_off",
        /// Past this many open alerts of one device, the rest are counted here.
        TooManyAlerts = "too_many_alerts",
        /// A rostered shift is a quarter of an hour in and nobody is signed
        /// in for duty at its gate (issue 32).
        GateUnstaffed = "gate_unstaffed",
    }
}

/// A duty sign-in older than this is not "on duty now", at the kiosk after
/// a restart or on the server's Gates page: the longest shift (12 h) with
/// room to spare. Hours never run this long: a shift nobody signed out of
/// closes at its scheduled end.
pub const DUTY_FORGOTTEN_AFTER_MS: i64 = 16 * 3_600_000;

impl Reason {
    /// The reasons of duty records (kind `duty`): who staffed the gate and
    /// what they did on its console. Nobody went in or out by them, so no
    /// count of entries counts them.
    pub const fn of_duty(self) -> bool {
        matches!(
            self,
            Reason::DutyStart
                | Reason::DutyEnd
                | Reason::ConsoleOpened
                | Reason::AlarmAcknowledged
                | Reason::SettingChanged
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_strings_round_trip_and_are_unique() {
        for r in Reason::ALL {
            assert_eq!(Reason::parse(r.as_str()), Some(*r));
        }
        for k in AlertKind::ALL {
            assert_eq!(AlertKind::parse(k.as_str()), Some(*k));
        }
        let mut wire: Vec<_> = Reason::ALL.iter().map(|r| r.as_str()).collect();
        wire.sort();
        wire.dedup();
        assert_eq!(wire.len(), Reason::ALL.len());
        assert_eq!(Reason::parse("from_a_newer_kiosk"), None);
    }
}
