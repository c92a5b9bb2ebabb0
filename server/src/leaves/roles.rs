//! Who may do what on a community's pages: five roles and one table of
//! routes. The table is the only place a page's permission is stated; the
//! `Member` extractor consults it for every community page, and a route
//! missing from it is refused to everyone (and logged), so a new page is
//! closed until someone decides who may use it.

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

/// Every community page: method, axum route pattern, permission.
pub const ROUTES: &[(&str, &str, Perm)] = &[
    ("GET", "/", Perm::ReadCompound),
    ("POST", "/retention", Perm::Manage),
    ("GET", "/residents", Perm::ReadRecords),
    ("POST", "/residents", Perm::EditRecords),
    ("GET", "/residents/{id}", Perm::EditRecords),
    ("POST", "/residents/{id}", Perm::EditRecords),
    ("POST", "/residents/{id}/move-out", Perm::EditRecords),
    ("GET", "/residents/import", Perm::EditRecords),
    ("POST", "/residents/import", Perm::EditRecords),
    ("GET", "/print", Perm::ReadRecords),
    ("GET", "/print/{building}", Perm::ReadRecords),
    ("POST", "/print/{building}/issue", Perm::EditRecords),
    ("POST", "/requests/{id}/{verdict}", Perm::EditRecords),
    ("GET", "/passes", Perm::ReadRecords),
    ("POST", "/passes", Perm::EditRecords),
    ("GET", "/passes/{id}/card", Perm::ReadRecords),
    ("POST", "/passes/{id}/revoke", Perm::EditRecords),
    ("POST", "/passes/phone-roles", Perm::EditRecords),
    ("GET", "/quarantine", Perm::ReadRecords),
    ("POST", "/quarantine", Perm::EditRecords),
    ("POST", "/quarantine/{id}/remove", Perm::EditRecords),
    ("GET", "/returnees", Perm::ReadRecords),
    ("GET", "/returnees.csv", Perm::ReadRecords),
    ("GET", "/returnees/poster", Perm::ReadRecords),
    ("GET", "/returnees/{id}", Perm::ReadRecords),
    ("GET", "/returnees/rules", Perm::ReadRecords),
    ("POST", "/returnees/documents", Perm::EditRecords),
    ("POST", "/returnees/rules", Perm::EditRecords),
    ("POST", "/returnees/rules/{id}/remove", Perm::EditRecords),
    ("POST", "/returnees/notices/{id}/{verdict}", Perm::EditRecords),
    ("GET", "/sensors", Perm::ReadRecords),
    ("POST", "/sensors", Perm::EditRecords),
    ("POST", "/sensors/windows", Perm::EditRecords),
    ("POST", "/sensors/{name}/unpair", Perm::EditRecords),
    ("GET", "/checkins", Perm::ReadAlerts),
    ("GET", "/tasks", Perm::ReadAlerts),
    ("POST", "/tasks/{id}/{action}", Perm::AckAlerts),
    ("GET", "/entries", Perm::ReadEntries),
    ("GET", "/outside", Perm::ReadCompound),
    ("GET", "/trends", Perm::ReadCompound),
    ("GET", "/summary", Perm::ReadCompound),
    ("GET", "/summary.csv", Perm::ReadCompound),
    ("GET", "/export.csv", Perm::Export),
    ("GET", "/alerts", Perm::ReadAlerts),
    ("POST", "/alerts/{id}/ack", Perm::AckAlerts),
    ("POST", "/alerts/webhook", Perm::Manage),
    ("GET", "/gates", Perm::ReadGates),
    ("POST", "/gates/token", Perm::Manage),
    ("POST", "/gates/{id}/revoke", Perm::Manage),
    ("GET", "/accounts", Perm::Manage),
    ("POST", "/accounts/invite", Perm::Manage),
    ("POST", "/accounts/{id}/role", Perm::Manage),
    ("POST", "/accounts/{id}/disable", Perm::Manage),
    ("POST", "/accounts/{id}/unlock", Perm::Manage),
    ("GET", "/keys", Perm::Manage),
    ("POST", "/keys/{action}", Perm::Manage),
    ("GET", "/audit", Perm::ReadAudit),
    ("GET", "/audit.csv", Perm::ReadAudit),
];

/// The permission a community page needs; `None` for a route missing from
/// [`ROUTES`], which nobody may use.
pub fn needed(method: &str, route: &str) -> Option<Perm> {
    ROUTES.iter().find(|(m, r, _)| *m == method && *r == route).map(|&(_, _, p)| p)
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
        assert_eq!(needed("DELETE", "/"), None);
    }
}
