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

/// Why a document or a rule was not saved. The web page words each one in
/// the reader's language ([`RuleError::message`]); the English here is for logs.
#[derive(Debug, Error)]
pub enum RuleError {
    #[error("{0:?} is not a division code; pick a province, city or district (e.g. 42 for Hubei, 4201 for Wuhan)")]
    UnknownDivision(String),
    #[error("there is no document {0:?}; create it first")]
    UnknownDocument(String),
    #[error("a document needs a name of 1 to 40 characters")]
    NameLength,
    #[error("the period is from 1 to 60 days")]
    DaysRange,
    #[error("the Chinese text is required; each text at most 5,000 characters")]
    TextLength,
    /// The text names a number of days other than the period: the person
    /// would sign one period and the receipt would say another.
    #[error("the text says {said} days but the period is {days}; write {{days}} where the number goes")]
    DaysMismatch { said: i64, days: i64 },
    #[error("a rule ends after it starts")]
    EndsBeforeStart,
    #[error("500 rules at most; remove old ones first")]
    TooManyRules,
    #[error(transparent)]
    Db(#[from] DbError),
}

impl RuleError {
    /// This error as a message key and its arguments (`leaves::detail`),
    /// for the page to word in its reader's language.
    pub fn message(&self) -> String {
        use crate::leaves::detail::enc;
        match self {
            RuleError::UnknownDivision(s) => enc("rule_err_division", &[s]),
            RuleError::UnknownDocument(s) => enc("rule_err_document", &[s]),
            RuleError::NameLength => enc("rule_err_name", &[]),
            RuleError::DaysRange => enc("rule_err_days", &[]),
            RuleError::TextLength => enc("rule_err_text", &[]),
            RuleError::DaysMismatch { said, days } => enc("rule_err_days_mismatch", &[said, days]),
            RuleError::EndsBeforeStart => enc("rule_err_order", &[]),
            RuleError::TooManyRules => enc("rule_err_many", &[]),
            RuleError::Db(_) => enc("err_server", &[]),
        }
    }
}

/// The standard texts, for a committee that leaves a document's text
/// empty: `{days}` becomes the document's period wherever it is shown.
pub fn template(kind: Kind) -> (&'static str, &'static str) {
    match kind {
        Kind::Pledge => (PLEDGE_ZH, PLEDGE_EN),
        Kind::Notice => (NOTICE_ZH, NOTICE_EN),
    }
}

const PLEDGE_ZH: &str = "本人承诺：自返{city}之日起 {days} 天内每日早晚自测体温，如实申报健康状况；出现发热、咳嗽等症状时立即告知居委会并就医；\
遵守社区防控规定。以上信息真实准确，如有隐瞒，愿承担相应责任。";
const PLEDGE_EN: &str = "I pledge to take my temperature every morning and evening for {days} days from my arrival and to report my health truthfully; \
to tell the committee at once and see a doctor if I have a fever or a cough; and to follow the compound's rules. \
The information I gave is true; I answer for anything I concealed.";
const NOTICE_ZH: &str =
    "居家隔离告知书：自返{city}之日起 {days} 天内请居家隔离，不出户，每日早晚两次测量体温并在线报告；\
如需就医或有其他紧急情况，请先联系居委会。隔离期间门岗将不为本户放行外出。";
const NOTICE_EN: &str = "Notice of home quarantine: for {days} days from your arrival, stay at home and do not go out; \
take your temperature every morning and evening and report it online. If you need a doctor or have an emergency, call the committee first. \
The gates will not let this home's people out until the quarantine ends.";

/// A number of days written in `text` other than `days` (an Arabic number
/// followed by 天, "days" or "-day"): the text contradicts the period.
/// Chinese numerals are not read; `{days}` is the way to write it.
pub fn days_said(text: &str, days: i64) -> Option<i64> {
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        if !chars[i].is_ascii_digit() || (i > 0 && chars[i - 1].is_ascii_digit()) {
            i += 1;
            continue;
        }
        let start = i;
        while i < chars.len() && chars[i].is_ascii_digit() {
            i += 1;
        }
        let n: String = chars[start..i].iter().collect();
        let after: String = chars[i..].iter().take(6).collect::<String>().trim_start().to_lowercase();
        let after = after.strip_prefix('-').unwrap_or(&after);
        if after.starts_with('天') || after.starts_with("day") {
            if let Ok(n) = n.parse::<i64>() {
                if n != days {
                    return Some(n);
                }
            }
        }
    }
    None
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
        return Err(RuleError::NameLength);
    }
    if !(1..=60).contains(&days) {
        return Err(RuleError::DaysRange);
    }
    // An empty text is the standard one of its kind.
    let (zh, en) = match (zh.trim().is_empty(), en.trim().is_empty()) {
        (true, true) => template(kind),
        (true, false) => return Err(RuleError::TextLength),
        _ => (zh, en),
    };
    if zh.chars().count() > 5_000 || en.chars().count() > 5_000 {
        return Err(RuleError::TextLength);
    }
    if let Some(said) = days_said(zh, days).or_else(|| days_said(en, days)) {
        return Err(RuleError::DaysMismatch { said, days });
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
            return Err(RuleError::EndsBeforeStart);
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
        return Err(RuleError::TooManyRules);
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
