//! Who may do what on a community's pages: five roles and the permissions
//! they hold. Which permission a page needs is written once, in its page
//! module's table (`web::site`); the `Member` extractor checks it for every
//! community page.

/// An account's role in its community.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AccountRole {
    /// Everything, including accounts, gates, settings and the audit trail.
    Admin,
    /// Residents, passes, quarantine and returnees, and reading the rest.
    Staff,
    /// A volunteer or guard: reads entries and alerts, acknowledges alerts.
    Volunteer,
    /// The property company: reads the entries of its own gates.
    Property,
    /// Read-only everywhere; an export needs a stated reason.
    Police,
}

impl AccountRole {
    pub const ALL: [AccountRole; 5] =
        [AccountRole::Admin, AccountRole::Staff, AccountRole::Volunteer, AccountRole::Property, AccountRole::Police];

    pub fn as_str(self) -> &'static str {
        match self {
            AccountRole::Admin => "admin",
            AccountRole::Staff => "staff",
            AccountRole::Volunteer => "volunteer",
            AccountRole::Property => "property",
            AccountRole::Police => "police",
        }
    }

    /// The key of its name in the pages' words.
    pub fn word_key(self) -> &'static str {
        match self {
            AccountRole::Admin => "acct_admin",
            AccountRole::Staff => "acct_staff",
            AccountRole::Volunteer => "acct_volunteer",
            AccountRole::Property => "acct_property",
            AccountRole::Police => "acct_police",
        }
    }

    pub fn parse(s: &str) -> Option<AccountRole> {
        AccountRole::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// Whether this role holds `perm`.
    pub fn may(self, perm: Perm) -> bool {
        use AccountRole::*;
        use Perm::*;
        match perm {
            ReadEntries => true,
            ReadCompound | ReadGates => self != Property,
            ReadAlerts => matches!(self, Admin | Staff | Volunteer | Police),
            AckAlerts => matches!(self, Admin | Staff | Volunteer),
            ReadRecords => matches!(self, Admin | Staff | Police),
            EditRecords => matches!(self, Admin | Staff),
            Export => matches!(self, Admin | Staff | Property | Police),
            ReadAudit => matches!(self, Admin | Police),
            Manage => self == Admin,
        }
    }
}

/// What a page needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Perm {
    /// The entries list (a property account sees its own gates' only).
    ReadEntries,
    /// The overview, who is out now, trends.
    ReadCompound,
    /// The gates' health.
    ReadGates,
    ReadAlerts,
    AckAlerts,
    /// Residents, passes, quarantine, visitors' names.
    ReadRecords,
    /// Adding and changing residents, passes, quarantine.
    EditRecords,
    /// The entries export (the police state a reason).
    Export,
    ReadAudit,
    /// Accounts, gates' enrollment, retention, the webhook, signing keys.
    Manage,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_round_trip_and_only_admins_manage() {
        for r in AccountRole::ALL {
            assert_eq!(AccountRole::parse(r.as_str()), Some(r));
            assert_eq!(r.may(Perm::Manage), r == AccountRole::Admin);
        }
        assert_eq!(AccountRole::parse("root"), None);
        assert!(!AccountRole::Police.may(Perm::AckAlerts), "the police read only");
        assert!(!AccountRole::Police.may(Perm::EditRecords));
        assert!(AccountRole::Volunteer.may(Perm::AckAlerts));
        assert!(!AccountRole::Volunteer.may(Perm::ReadRecords), "a guard does not browse the residents");
        assert!(!AccountRole::Property.may(Perm::ReadCompound));
    }
}
