//! What a returning resident signs, by where they came from (issue 17):
//! the committee's documents (a pledge to self-monitor for N days, or a
//! notice of home quarantine for N days from arrival), versioned so a
//! signed record names the exact text, and region rules that map a GB/T
//! 2260 prefix (a province, a city or a district) to a document for a
//! period. The most specific rule in force wins; a rule with an empty
//! prefix covers everywhere else.

use sha2::{Digest, Sha256};
use thiserror::Error;

use crate::db::{Conn, DbError};
use crate::leaves::divisions;
use crate::vals;

#[derive(Debug, Error)]
pub enum RuleError {
    #[error("{0:?} is not a division code; pick a province, city or district (e.g. 42 for Hubei, 4201 for Wuhan)")]
    UnknownDivision(String),
    #[error("there is no document {0:?}; create it first")]
    UnknownDocument(String),
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Db(#[from] DbError),
}

/// What signing a document commits the person to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// 承诺书: self-monitoring for N days.
    Pledge,
    /// 告知书: home quarantine for N days from arrival.
    Notice,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Pledge => "pledge",
            Kind::Notice => "notice",
        }
    }

    pub fn parse(s: &str) -> Option<Kind> {
        [Kind::Pledge, Kind::Notice].into_iter().find(|k| k.as_str() == s)
    }
}

/// One version of a document.
#[derive(Clone, Debug, PartialEq)]
pub struct Document {
    pub name: String,
    pub version: i64,
    pub kind: Kind,
    pub days: i64,
    pub body_zh: String,
    pub body_en: String,
    /// SHA-256 of the version's canonical text: what a signature covers.
    pub sha256: String,
}

fn canonical(name: &str, version: i64, kind: Kind, days: i64, zh: &str, en: &str) -> String {
    serde_json::to_string(&(name, version, kind.as_str(), days, zh, en)).expect("strings and numbers serialise")
}

const DOC_COLUMNS: &str = "name, version, kind, days, body_zh, body_en, sha256";

fn document_row(r: &crate::db::Row) -> Result<Document, DbError> {
    let kind: String = r.get(2)?;
    Ok(Document {
        name: r.get(0)?,
        version: r.get(1)?,
        kind: Kind::parse(&kind).ok_or_else(|| DbError::Corrupt(format!("document kind {kind:?}")))?,
        days: r.get(3)?,
        body_zh: r.get(4)?,
        body_en: r.get(5)?,
        sha256: r.get(6)?,
    })
}

/// Saves a new version of document `name` (the first if it is new);
/// versions are never changed afterwards. Returns the version.
#[allow(clippy::too_many_arguments)]
pub fn save_document(
    conn: &mut dyn Conn,
    community: &str,
    name: &str,
    kind: Kind,
    days: i64,
    zh: &str,
    en: &str,
    by: &str,
    now_ms: i64,
) -> Result<i64, RuleError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 40 {
        return Err(RuleError::Invalid("a document needs a name of 1 to 40 characters".into()));
    }
    if !(1..=60).contains(&days) {
        return Err(RuleError::Invalid("days: from 1 to 60".into()));
    }
    if zh.trim().is_empty() || zh.chars().count() > 5_000 || en.chars().count() > 5_000 {
        return Err(RuleError::Invalid("the Chinese text is required; each text at most 5,000 characters".into()));
    }
    conn.transaction(true, |tx| {
        let lock = tx.for_update("SELECT id FROM communities WHERE id = ?1");
        tx.query_opt(&lock, vals![community], |_| Ok(()))?;
        let version = tx.scalar("SELECT COALESCE(MAX(version), 0) FROM document_versions WHERE community = ?1 AND name = ?2", vals![community, name])? + 1;
        let sha = hex::encode(Sha256::digest(canonical(name, version, kind, days, zh, en).as_bytes()));
        tx.execute(
            "INSERT INTO document_versions (community, name, version, kind, days, body_zh, body_en, sha256, created_ms, created_by)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            vals![community, name, version, kind.as_str(), days, zh, en, &sha, now_ms, by],
        )?;
        Ok(version)
    })
}

/// The newest version of every document of `community`, by name.
pub fn documents(conn: &mut dyn Conn, community: &str) -> Result<Vec<Document>, DbError> {
    conn.query_map(
        &format!(
            "SELECT {DOC_COLUMNS} FROM document_versions d WHERE community = ?1
               AND version = (SELECT MAX(version) FROM document_versions v WHERE v.community = d.community AND v.name = d.name)
             ORDER BY name"
        ),
        vals![community],
        document_row,
    )
}

/// One version of a document (a signed record names it).
pub fn document(conn: &mut dyn Conn, community: &str, name: &str, version: i64) -> Result<Option<Document>, DbError> {
    conn.query_opt(
        &format!("SELECT {DOC_COLUMNS} FROM document_versions WHERE community = ?1 AND name = ?2 AND version = ?3"),
        vals![community, name, version],
        document_row,
    )
}

/// A region rule.
#[derive(Clone, Debug, PartialEq)]
pub struct Rule {
    pub id: i64,
    /// A GB/T 2260 code prefix; empty: everywhere else.
    pub prefix: String,
    pub document: String,
    /// In force from this day's start to this day's end (unix seconds);
    /// `None`: open-ended.
    pub from_s: Option<i64>,
    pub until_s: Option<i64>,
}

pub fn add_rule(
    conn: &mut dyn Conn,
    community: &str,
    prefix: &str,
    document: &str,
    from_s: Option<i64>,
    until_s: Option<i64>,
    now_ms: i64,
) -> Result<i64, RuleError> {
    let prefix = prefix.trim();
    if !prefix.is_empty() && divisions::get(prefix).is_none() {
        return Err(RuleError::UnknownDivision(prefix.to_string()));
    }
    if let (Some(f), Some(u)) = (from_s, until_s) {
        if u <= f {
            return Err(RuleError::Invalid("a rule ends after it starts".into()));
        }
    }
    let known = conn.scalar(
        "SELECT COUNT(*) FROM document_versions WHERE community = ?1 AND name = ?2",
        vals![community, document],
    )? > 0;
    if !known {
        return Err(RuleError::UnknownDocument(document.to_string()));
    }
    if conn.scalar("SELECT COUNT(*) FROM region_rules WHERE community = ?1", vals![community])? >= 500 {
        return Err(RuleError::Invalid("500 rules at most; remove old ones first".into()));
    }
    Ok(conn.query_row(
        "INSERT INTO region_rules (community, prefix, document, from_s, until_s, created_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6) RETURNING id",
        vals![community, prefix, document, from_s, until_s, now_ms],
        |r| r.get(0),
    )?)
}

pub fn remove_rule(conn: &mut dyn Conn, community: &str, id: i64) -> Result<bool, DbError> {
    Ok(conn.execute("DELETE FROM region_rules WHERE id = ?1 AND community = ?2", vals![id, community])? == 1)
}

pub fn rules(conn: &mut dyn Conn, community: &str) -> Result<Vec<Rule>, DbError> {
    conn.query_map(
        "SELECT id, prefix, document, from_s, until_s FROM region_rules WHERE community = ?1 ORDER BY prefix, from_s, id",
        vals![community],
        |r| Ok(Rule { id: r.get(0)?, prefix: r.get(1)?, document: r.get(2)?, from_s: r.get(3)?, until_s: r.get(4)? }),
    )
}

/// The rule that applies to someone arriving from `origin` at `at_s`: the
/// longest prefix among the rules in force (the newest rule on a tie),
/// else the default rule; `None` if the committee has set neither.
pub fn rule_for<'a>(rules: &'a [Rule], origin: &str, at_s: i64) -> Option<&'a Rule> {
    rules
        .iter()
        .filter(|r| r.from_s.is_none_or(|f| f <= at_s) && r.until_s.is_none_or(|u| at_s < u))
        .filter(|r| r.prefix.is_empty() || divisions::within(origin, &r.prefix))
        .max_by_key(|r| (r.prefix.len(), r.id))
}

/// The document (its newest version) to sign for `origin` at `at_s`.
pub fn document_for(
    conn: &mut dyn Conn,
    community: &str,
    origin: &str,
    at_s: i64,
) -> Result<Option<Document>, DbError> {
    let all = rules(conn, community)?;
    let Some(rule) = rule_for(&all, origin, at_s) else { return Ok(None) };
    let version = conn.scalar(
        "SELECT COALESCE(MAX(version), 0) FROM document_versions WHERE community = ?1 AND name = ?2",
        vals![community, &rule.document],
    )?;
    document(conn, community, &rule.document, version)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(id: i64, prefix: &str, from_s: Option<i64>, until_s: Option<i64>) -> Rule {
        Rule { id, prefix: prefix.into(), document: format!("doc{id}"), from_s, until_s }
    }

    #[test]
    fn the_most_specific_rule_in_force_wins_and_the_default_covers_the_rest() {
        let rules = [
            rule(1, "", None, None),
            rule(2, "42", None, None),
            rule(3, "4201", Some(100), Some(200)),
            rule(4, "420106", Some(300), None),
            rule(5, "31", None, None),
        ];
        let doc = |origin: &str, at: i64| rule_for(&rules, origin, at).map(|r| r.id);
        assert_eq!(doc("420106", 150), Some(3), "Wuchang in Wuhan's period: the city rule");
        assert_eq!(doc("420106", 250), Some(2), "after it: the province rule");
        assert_eq!(doc("420106", 300), Some(4), "the district rule from its first second");
        assert_eq!(doc("420111", 350), Some(2), "another district of Wuhan");
        assert_eq!(doc("310115", 0), Some(5));
        assert_eq!(doc("110101", 0), Some(1), "everywhere else");
        assert_eq!(rule_for(&rules[1..2], "110101", 0), None, "no default, no rule");
        let tie = [rule(7, "42", None, None), rule(9, "42", None, None)];
        assert_eq!(rule_for(&tie, "420106", 0).map(|r| r.id), Some(9), "the newer of two equal rules");
    }
}
