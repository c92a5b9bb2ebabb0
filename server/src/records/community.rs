//! The committee's records: residents, passes, revocations, quarantine, and
//! the signed list bundle kiosks pull.

use sha2::Digest;
use shoumen_protocol::sync::{ListBundle, SignedBundle};
use shoumen_protocol::{
    pass, HolderKey, ListItem, ListKind, ListSnapshot, PassClaims, PassFlags, PassId, QuarantineSource, Role, TrustList,
};
use thiserror::Error;

use crate::db::{Community, Conn, DbError};
use crate::leaves::place::Place;
use crate::leaves::secrets::random_token;
use crate::vals;

const DAY: i64 = 86_400;

/// How long a signed bundle stays valid; the server re-signs daily, so a
/// kiosk that syncs at least weekly never holds an expired one.
pub const BUNDLE_VALID_S: i64 = 7 * DAY;
const BUNDLE_RESIGN_S: i64 = DAY;

#[derive(Debug, thiserror::Error)]
pub enum CommunityError {
    /// What the person typed that cannot be taken: a message key and its
    /// arguments (`leaves::detail`), worded by the page.
    #[error("{0}")]
    Invalid(String),
    #[error("no such {0}")]
    NotFound(&'static str),
    #[error(transparent)]
    Db(#[from] DbError),
}

/// What to put on a new pass.
#[derive(Clone, Debug)]
pub struct PassRequest {
    pub role: Role,
    pub unit: String,
    pub resident_id: Option<i64>,
    pub valid_from: i64,
    pub valid_s: i64,
    pub flags: u32,
    pub visitor_name: Option<String>,
    pub gate: Option<String>,
}

#[derive(Clone, Debug)]
pub struct IssuedPass {
    pub pass_id: PassId,
    pub text: String,
    /// The secret part of the resident's phone link (`/p/<token>`).
    pub link_token: String,
    pub expires_at: i64,
}

/// Checks a unit label the way the pass format will (short, printable),
/// in the community's one form ([`crate::leaves::text::normalize_unit`]):
/// "3号楼2单元502室" is stored, printed and matched as "3-2-502".
pub fn check_unit(unit: &str) -> Result<String, CommunityError> {
    let unit = crate::leaves::text::normalize_unit(unit);
    if unit.len() > pass::MAX_UNIT_LEN
        || unit.chars().any(|c| c.is_control() || crate::leaves::text::is_bidi_control(c))
    {
        return Err(CommunityError::Invalid(crate::leaves::detail::enc(
            "err_unit_long",
            &[&unit, &pass::MAX_UNIT_LEN],
        )));
    }
    Ok(unit)
}

pub fn add_resident(
    conn: &mut dyn Conn,
    community: &str,
    name: &str,
    unit: &str,
    phone: &str,
    now_ms: i64,
) -> Result<i64, CommunityError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 64 {
        return Err(CommunityError::Invalid(crate::leaves::detail::enc("err_name_length", &[])));
    }
    // A direction override or a control character makes a name read as
    // something it is not, on every page and card that shows it.
    if name.chars().any(|c| c.is_control() || crate::leaves::text::is_bidi_control(c)) {
        return Err(CommunityError::Invalid(crate::leaves::detail::enc("err_name_control", &[])));
    }
    let unit = check_unit(unit)?;
    if unit.is_empty() {
        return Err(CommunityError::Invalid(crate::leaves::detail::enc("err_no_unit", &[])));
    }
    if phone.chars().count() > 32 {
        return Err(CommunityError::Invalid(crate::leaves::detail::enc("err_phone_long", &[])));
    }
    Ok(conn.query_row(
        "INSERT INTO residents (name, unit, phone, created_ms, community) VALUES (?1, ?2, ?3, ?4, ?5) RETURNING id",
        vals![name, unit, phone.trim(), now_ms, community],
        |r| r.get(0),
    )?)
}

pub fn issue_pass(conn: &mut dyn Conn, community: &Community, req: &PassRequest) -> Result<IssuedPass, CommunityError> {
    let unit = check_unit(&req.unit)?;
    if req.role == Role::Resident && unit.is_empty() {
        return Err(CommunityError::Invalid(crate::leaves::detail::enc("err_no_unit", &[])));
    }
    if req.valid_s <= 0 || req.valid_s > 5 * 365 * DAY {
        return Err(CommunityError::Invalid(crate::leaves::detail::enc("err_validity", &[])));
    }
    if let Some(id) = req.resident_id {
        // Only a resident of this community.
        let exists = conn.scalar(
            "SELECT COUNT(*) FROM residents WHERE id = ?1 AND community = ?2 AND moved_out_ms IS NULL",
            vals![id, &community.id],
        )? > 0;
        if !exists {
            return Err(CommunityError::NotFound("resident"));
        }
    }
    // A duty pass is always a phone pass: bound to its holder's phone, so
    // nobody signs in for another (issue 32).
    let phone = req.flags & PassFlags::PHONE != 0
        || req.role == Role::Duty
        || phone_roles(conn, &community.id)?.contains(&req.role);
    let flags = if phone { req.flags | PassFlags::PHONE } else { req.flags };
    let claims = PassClaims {
        issuer: community.id.clone(),
        pass_id: PassId(rand::random()),
        issued_at: req.valid_from,
        not_before: req.valid_from,
        expires_at: req.valid_from + req.valid_s,
        role: req.role,
        unit: unit.clone(),
        flags: PassFlags(flags),
        holder: None,
    };
    let text = pass::issue(&claims, &community.key)
        .map_err(|e| CommunityError::Invalid(crate::leaves::detail::enc("err_pass", &[&e])))?;
    let link_token = random_token();
    conn.execute(
        "INSERT INTO passes (pass_id, resident_id, role, unit, issued_at, not_before, expires_at, text, link_token, visitor_name, gate, community, phone)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
        vals![
            claims.pass_id.to_hex(),
            req.resident_id,
            req.role.as_str(),
            unit,
            claims.issued_at,
            claims.not_before,
            claims.expires_at,
            text.clone(),
            link_token.clone(),
            req.visitor_name.clone(),
            req.gate.clone(),
            &community.id,
            i64::from(phone),
        ],
    )?;
    Ok(IssuedPass { pass_id: claims.pass_id, text, link_token, expires_at: claims.expires_at })
}

/// The roles whose passes are phone passes in `community` (the committee
/// requires them); other roles get printable cards unless asked otherwise.
pub fn phone_roles(conn: &mut dyn Conn, community: &str) -> Result<Vec<Role>, DbError> {
    let words: String =
        conn.query_row("SELECT phone_roles FROM communities WHERE id = ?1", vals![community], |r| r.get(0))?;
    Ok(words.split(',').filter_map(|w| w.trim().parse().ok()).collect())
}

pub fn set_phone_roles(conn: &mut dyn Conn, community: &str, roles: &[Role]) -> Result<(), DbError> {
    let words: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
    conn.execute("UPDATE communities SET phone_roles = ?1 WHERE id = ?2", vals![words.join(","), community])?;
    Ok(())
}

/// Why a phone could not be bound to a pass.
#[derive(Debug, Error)]
pub enum BindError {
    #[error("no such pass link")]
    NotFound,
    #[error("this pass is no longer valid")]
    Gone,
    #[error("this is a printed card, not a phone pass")]
    NotPhone,
    #[error("this pass is already set up on another phone; ask the committee for a new phone pass")]
    OtherPhone,
    #[error(transparent)]
    Db(#[from] DbError),
}

/// Binds the phone pass behind `link_token` to the key its phone made, on
/// first use: the pass is signed again with the key in it (same id and
/// validity). The same key again gets the same pass back, so a page that
/// lost its answer can ask again; another key is refused.
pub fn bind_holder(
    conn: &mut dyn Conn,
    community: &Community,
    link_token: &str,
    holder: HolderKey,
    now_ms: i64,
) -> Result<String, BindError> {
    let p = pass_by_link(conn, link_token)?.filter(|p| p.community == community.id).ok_or(BindError::NotFound)?;
    if p.revoked || p.expires_at <= now_ms / 1000 {
        return Err(BindError::Gone);
    }
    if !p.phone {
        return Err(BindError::NotPhone);
    }
    let wanted = String::from(holder);
    match &p.holder {
        Some(h) if *h == wanted => return Ok(p.text),
        Some(_) => return Err(BindError::OtherPhone),
        None => {}
    }
    let claims = pass::verify_signature(&p.text, &community.trust())
        .map_err(|e| DbError::Corrupt(format!("pass {}: {e}", p.pass_id)))?;
    let bound = PassClaims { holder: Some(holder), flags: PassFlags(claims.flags.0 | PassFlags::PHONE), ..claims };
    let text = pass::issue(&bound, &community.key).map_err(|e| DbError::Corrupt(format!("pass {}: {e}", p.pass_id)))?;
    // Only the first phone wins, even if two ask at once.
    let n = conn.execute(
        "UPDATE passes SET text = ?1, holder = ?2, bound_ms = ?3 WHERE pass_id = ?4 AND community = ?5 AND holder IS NULL",
        vals![text.clone(), wanted, now_ms, &p.pass_id, &community.id],
    )?;
    if n == 0 {
        return Err(BindError::OtherPhone);
    }
    Ok(text)
}

/// Revokes a pass of `community`; another community's pass is "not found".
pub fn revoke_pass(conn: &mut dyn Conn, community: &str, pass_id: &str, now_ms: i64) -> Result<(), CommunityError> {
    let exists = conn
        .scalar("SELECT COUNT(*) FROM passes WHERE pass_id = ?1 AND community = ?2", vals![pass_id, community])?
        > 0;
    if !exists {
        return Err(CommunityError::NotFound("pass"));
    }
    conn.execute(
        "UPDATE passes SET revoked_ms = ?1 WHERE pass_id = ?2 AND community = ?3 AND revoked_ms IS NULL",
        vals![now_ms, pass_id, community],
    )?;
    Ok(())
}

/// Puts `unit` under home quarantine, set by the committee: the gates
/// enforce it from the next sync.
pub fn add_quarantine(
    conn: &mut dyn Conn,
    community: &str,
    unit: &str,
    from_s: i64,
    until_s: i64,
    note: &str,
    now_ms: i64,
) -> Result<i64, CommunityError> {
    let unit = check_quarantine(unit, from_s, until_s, note)?;
    Ok(conn.query_row(
        "INSERT INTO quarantine (unit, from_s, until_s, note, created_ms, community) VALUES (?1, ?2, ?3, ?4, ?5, ?6) RETURNING id",
        vals![unit, from_s, until_s, note, now_ms, community],
        |r| r.get(0),
    )?)
}

fn check_quarantine(unit: &str, from_s: i64, until_s: i64, note: &str) -> Result<String, CommunityError> {
    let unit = check_unit(unit)?;
    if unit.is_empty() {
        return Err(CommunityError::Invalid(crate::leaves::detail::enc("err_no_unit", &[])));
    }
    if until_s <= from_s {
        return Err(CommunityError::Invalid(crate::leaves::detail::enc("err_end_before_start", &[])));
    }
    if note.chars().count() > 200 {
        return Err(CommunityError::Invalid(crate::leaves::detail::enc("err_note_long", &[&200])));
    }
    Ok(unit)
}

/// A home quarantine a returnee declared on the public form (a notice):
/// *pending* until the committee or the household's head confirms it, so
/// a stranger's form never keeps a home in at the gates. A unit has at
/// most one pending notice; another notice for it (a family registering
/// one by one) widens that one's period. Returns its id and whether it is
/// new (worth an alert).
pub fn declare_notice(
    conn: &mut dyn Conn,
    community: &str,
    unit: &str,
    from_s: i64,
    until_s: i64,
    note: &str,
    now_ms: i64,
) -> Result<(i64, bool), CommunityError> {
    let unit = check_quarantine(unit, from_s, until_s, note)?;
    let pending = conn.query_opt(
        "SELECT id FROM quarantine WHERE community = ?1 AND unit = ?2 AND status = 'pending'",
        vals![community, &unit],
        |r| r.get::<i64>(0),
    )?;
    if let Some(id) = pending {
        conn.execute(
            "UPDATE quarantine SET from_s = CASE WHEN ?1 < from_s THEN ?1 ELSE from_s END, until_s = CASE WHEN ?2 > until_s THEN ?2 ELSE until_s END WHERE id = ?3",
            vals![from_s, until_s, id],
        )?;
        return Ok((id, false));
    }
    let id = conn.query_row(
        "INSERT INTO quarantine (unit, from_s, until_s, note, created_ms, community, status, source) VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'pending', 'returnee')
         RETURNING id",
        vals![unit, from_s, until_s, note, now_ms, community],
        |r| r.get(0),
    )?;
    Ok((id, true))
}

/// What the committee (or the household) decides about a pending notice.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    Confirm,
    Decline,
}

/// Confirms or declines the pending notice `id` of `community`; `by` is
/// who did it (an account, or `household head`). Returns its unit; a
/// notice that is not pending (decided already, another community's) is
/// "not found".
pub fn decide_notice(
    conn: &mut dyn Conn,
    community: &str,
    id: i64,
    verdict: Verdict,
    by: &str,
    now_ms: i64,
) -> Result<String, CommunityError> {
    let status = match verdict {
        Verdict::Confirm => "confirmed",
        Verdict::Decline => "declined",
    };
    let unit = conn.query_opt(
        "UPDATE quarantine SET status = ?1, decided_by = ?2, decided_ms = ?3 WHERE id = ?4 AND community = ?5 AND status = 'pending' RETURNING unit",
        vals![status, by, now_ms, id, community],
        |r| r.get::<String>(0),
    )?;
    unit.ok_or(CommunityError::NotFound("pending notice"))
}

/// The pending notice of the unit whose head holds the pass behind phone
/// link `link_token`, if any: (community, quarantine id, from, until).
pub fn pending_notice_for_head(
    conn: &mut dyn Conn,
    link_token: &str,
) -> Result<Option<(String, i64, i64, i64)>, DbError> {
    conn.query_opt(
        "SELECT q.community, q.id, q.from_s, q.until_s FROM passes p
           JOIN residents r ON r.id = p.resident_id AND r.community = p.community AND r.head = 1 AND r.moved_out_ms IS NULL
           JOIN quarantine q ON q.community = r.community AND q.unit = r.unit AND q.status = 'pending'
          WHERE p.link_token = ?1 AND p.revoked_ms IS NULL",
        vals![link_token],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
    )
}

pub fn remove_quarantine(conn: &mut dyn Conn, community: &str, id: i64) -> Result<(), CommunityError> {
    if conn.execute("DELETE FROM quarantine WHERE id = ?1 AND community = ?2", vals![id, community])? == 0 {
        return Err(CommunityError::NotFound("quarantine entry"));
    }
    Ok(())
}

/// Whether `unit` of `community` is under a confirmed home quarantine at
/// `now_s` (a pending notice changes nothing yet).
pub fn unit_quarantined(conn: &mut dyn Conn, community: &str, unit: &str, now_s: i64) -> Result<bool, DbError> {
    Ok(conn.scalar(
        "SELECT COUNT(*) FROM quarantine WHERE community = ?1 AND unit = ?2 AND from_s <= ?3 AND until_s > ?3 AND status = 'confirmed'",
        vals![community, unit, now_s],
    )? > 0)
}

/// The lists as they stand now, without version or times: trust,
/// revocations, the confirmed quarantine (each item saying who set it) and
/// the unconfirmed one (self-declared notices, which the gates only tell
/// the guard about).
fn current_lists(conn: &mut dyn Conn, community: &Community, now_s: i64) -> Result<Lists, DbError> {
    let trust = community.trust();
    let item = |id: String, from, until, source: Option<String>| -> Result<ListItem, DbError> {
        let source = source.map(|s| QuarantineSource::from_stored(&s));
        Ok(ListItem { pass_id: PassId::from_hex(&id).map_err(DbError::Corrupt)?, from, until, source })
    };
    // Expired passes fail on their own; listing them would only grow the list.
    let revoked = conn.query_map(
        "SELECT pass_id FROM passes WHERE community = ?1 AND revoked_ms IS NOT NULL AND expires_at > ?2 ORDER BY pass_id",
        vals![&community.id, now_s],
        |r| item(r.get(0)?, None, None, None),
    )?;
    let quarantine = |conn: &mut dyn Conn, status: &str| {
        conn.query_map(
            "SELECT p.pass_id, q.from_s, q.until_s, q.source FROM quarantine q JOIN passes p ON p.unit = q.unit AND p.community = q.community
             WHERE q.community = ?1 AND q.until_s > ?2 AND q.status = ?3 AND p.expires_at > ?2 AND p.revoked_ms IS NULL AND p.role = 'resident'
             ORDER BY p.pass_id, q.from_s",
            vals![&community.id, now_s, status],
            |r| item(r.get(0)?, Some(r.get(1)?), Some(r.get(2)?), Some(r.get(3)?)),
        )
    };
    let confirmed = quarantine(conn, "confirmed")?;
    let mut unconfirmed = quarantine(conn, "pending")?;
    for i in &mut unconfirmed {
        i.source = Some(QuarantineSource::SelfDeclared);
    }
    Ok(Lists { trust, revoked, confirmed, unconfirmed })
}

struct Lists {
    trust: TrustList,
    revoked: Vec<ListItem>,
    confirmed: Vec<ListItem>,
    unconfirmed: Vec<ListItem>,
}

/// The newest signed bundle, re-signed under a new version when the lists
/// changed or the last one is a day old.
pub fn bundle(conn: &mut dyn Conn, community: &Community, now_s: i64) -> Result<(u64, SignedBundle), DbError> {
    let lists = current_lists(conn, community, now_s)?;
    let content = serde_json::to_string(&(&lists.trust, &lists.revoked, &lists.confirmed, &lists.unconfirmed))
        .expect("lists serialise");
    let content_sha = hex::encode(sha2::Sha256::digest(content.as_bytes()));
    let latest = conn.query_opt(
        "SELECT version, issued_at, content_sha256, bundle, kid, signature FROM bundles WHERE community = ?1 ORDER BY version DESC LIMIT 1",
        vals![&community.id],
        |r| Ok((r.get::<i64>(0)?, r.get::<i64>(1)?, r.get::<String>(2)?, r.get::<String>(3)?, r.get::<String>(4)?, r.get::<String>(5)?)),
    )?;
    if let Some((version, issued_at, sha, bundle, kid, signature)) = &latest {
        if *sha == content_sha && now_s - issued_at < BUNDLE_RESIGN_S {
            return Ok((
                *version as u64,
                SignedBundle { bundle: bundle.clone(), kid: kid.clone(), signature: signature.clone() },
            ));
        }
    }
    let version = latest.map_or(1, |l| l.0 as u64 + 1);
    let expires_at = now_s + BUNDLE_VALID_S;
    let list = |kind, items| ListSnapshot { kind, version, issued_at: now_s, expires_at, items };
    let bundle = ListBundle {
        community: community.id.clone(),
        version,
        issued_at: now_s,
        expires_at,
        trust: lists.trust,
        revocations: list(ListKind::Revocations, lists.revoked),
        quarantine: list(ListKind::Quarantine, lists.confirmed),
        // Kiosks before this field ignore it: they never enforce a notice
        // nobody confirmed.
        unconfirmed: Some(list(ListKind::Unconfirmed, lists.unconfirmed)),
    };
    let signed = SignedBundle::sign(&bundle, community.list_key());
    // Two kiosks asking at once may both sign the next version: the first
    // one stored is the one everybody gets.
    let stored = conn.execute(
        "INSERT INTO bundles (community, version, issued_at, content_sha256, bundle, kid, signature) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
         ON CONFLICT (community, version) DO NOTHING",
        vals![&community.id, version, now_s, content_sha, signed.bundle.clone(), signed.kid.clone(), signed.signature.clone()],
    )?;
    if stored == 0 {
        return conn.query_row(
            "SELECT bundle, kid, signature FROM bundles WHERE community = ?1 AND version = ?2",
            vals![&community.id, version],
            |r| Ok((version, SignedBundle { bundle: r.get(0)?, kid: r.get(1)?, signature: r.get(2)? })),
        );
    }
    Ok((version, signed))
}

/// One line of the Residents page.
#[derive(Clone, Debug)]
pub struct ResidentRow {
    pub id: i64,
    pub name: String,
    pub unit: String,
    pub phone: String,
    pub live_passes: i64,
    /// The head of the household (the unit).
    pub head: bool,
}

/// The residents living in `community` (not those moved out), by unit.
pub fn residents(conn: &mut dyn Conn, community: &str) -> Result<Vec<ResidentRow>, DbError> {
    let mut rows = conn.query_map(
        "SELECT r.id, r.name, r.unit, r.phone,
                (SELECT COUNT(*) FROM passes p WHERE p.resident_id = r.id AND p.revoked_ms IS NULL), r.head
         FROM residents r WHERE r.community = ?1 AND r.moved_out_ms IS NULL ORDER BY r.unit, r.head DESC, r.name",
        vals![community],
        |r| {
            Ok(ResidentRow {
                id: r.get(0)?,
                name: r.get(1)?,
                unit: r.get(2)?,
                phone: r.get(3)?,
                live_passes: r.get(4)?,
                head: r.get(5)?,
            })
        },
    )?;
    // Units as people count them: 1-101 before 1-1001.
    rows.sort_by(|a, b| {
        crate::leaves::text::natural_cmp(&a.unit, &b.unit).then(b.head.cmp(&a.head)).then_with(|| a.name.cmp(&b.name))
    });
    Ok(rows)
}

/// The unit of a resident of `community`.
pub fn resident_unit(conn: &mut dyn Conn, community: &str, id: i64) -> Result<Option<String>, DbError> {
    conn.query_opt("SELECT unit FROM residents WHERE id = ?1 AND community = ?2", vals![id, community], |r| r.get(0))
}

/// Whether `community` knows `unit` (a resident lives there, or a resident
/// pass names it): visitors may only name such a unit.
pub fn unit_known(conn: &mut dyn Conn, community: &str, unit: &str) -> Result<bool, DbError> {
    conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM residents WHERE community = ?1 AND unit = ?2)
             OR EXISTS (SELECT 1 FROM passes WHERE community = ?1 AND unit = ?2 AND role = 'resident')",
        vals![community, unit],
        |r| r.get(0),
    )
}

/// One line of the Passes page, or a pass card.
#[derive(Clone, Debug)]
pub struct PassRow {
    pub pass_id: String,
    pub role: String,
    pub unit: String,
    pub name: Option<String>,
    pub expires_at: i64,
    pub revoked: bool,
    pub link_token: String,
    pub text: String,
    pub community: String,
    /// A phone pass: valid only as its holder's rotating code.
    pub phone: bool,
    /// The phone's key, once the pass is opened on it (`HolderKey` text).
    pub holder: Option<String>,
}

const PASS_SQL: &str =
    "SELECT p.pass_id, p.role, p.unit, COALESCE(r.name, p.visitor_name), p.expires_at, p.revoked_ms IS NOT NULL,
        p.link_token, p.text, p.community, p.phone, p.holder
     FROM passes p LEFT JOIN residents r ON r.id = p.resident_id";

fn pass_row(r: &crate::db::Row) -> Result<PassRow, DbError> {
    Ok(PassRow {
        pass_id: r.get(0)?,
        role: r.get(1)?,
        unit: r.get(2)?,
        name: r.get(3)?,
        expires_at: r.get(4)?,
        revoked: r.get(5)?,
        link_token: r.get(6)?,
        text: r.get(7)?,
        community: r.get(8)?,
        phone: r.get(9)?,
        holder: r.get(10)?,
    })
}

/// The newest passes of `community`.
pub fn passes(conn: &mut dyn Conn, community: &str, limit: usize) -> Result<Vec<PassRow>, DbError> {
    conn.query_map(
        &format!("{PASS_SQL} WHERE p.community = ?1 ORDER BY p.issued_at DESC LIMIT ?2"),
        vals![community, limit],
        pass_row,
    )
}

/// A pass of `community`.
pub fn pass(conn: &mut dyn Conn, community: &str, pass_id: &str) -> Result<Option<PassRow>, DbError> {
    conn.query_opt(
        &format!("{PASS_SQL} WHERE p.pass_id = ?1 AND p.community = ?2"),
        vals![pass_id, community],
        pass_row,
    )
}

/// The live resident passes of `community`, by unit and name.
pub fn resident_passes(conn: &mut dyn Conn, community: &str, now_s: i64) -> Result<Vec<PassRow>, DbError> {
    conn.query_map(
        &format!("{PASS_SQL} WHERE p.community = ?1 AND p.role = 'resident' AND p.revoked_ms IS NULL AND p.expires_at > ?2 ORDER BY p.unit, r.name"),
        vals![community, now_s],
        pass_row,
    )
}

/// The pass behind a phone link (the link's token is the credential).
/// The phone link's secret of `community`'s pass `pass_id` (a volunteer's
/// own page links their duty pass).
pub fn link_of(conn: &mut dyn Conn, community: &str, pass_id: &str) -> Result<Option<String>, DbError> {
    conn.query_opt(
        "SELECT link_token FROM passes WHERE community = ?1 AND pass_id = ?2 AND revoked_ms IS NULL",
        vals![community, pass_id],
        |r| r.get(0),
    )
}

pub fn pass_by_link(conn: &mut dyn Conn, link_token: &str) -> Result<Option<PassRow>, DbError> {
    conn.query_opt(&format!("{PASS_SQL} WHERE p.link_token = ?1"), vals![link_token], pass_row)
}

/// One home quarantine on the Quarantine page.
#[derive(Clone, Debug)]
pub struct QuarantineRow {
    pub id: i64,
    pub unit: String,
    pub from_s: i64,
    pub until_s: i64,
    pub note: String,
    /// `pending`, `confirmed` or `declined`.
    pub status: String,
    /// `committee` or `returnee` (a notice signed on the public form).
    pub source: String,
    pub decided_by: Option<String>,
}

const QUARANTINE_COLUMNS: &str = "id, unit, from_s, until_s, note, status, source, decided_by";

fn quarantine_row(r: &crate::db::Row) -> Result<QuarantineRow, DbError> {
    Ok(QuarantineRow {
        id: r.get(0)?,
        unit: r.get(1)?,
        from_s: r.get(2)?,
        until_s: r.get(3)?,
        note: r.get(4)?,
        status: r.get(5)?,
        source: r.get(6)?,
        decided_by: r.get(7)?,
    })
}

/// The quarantines of `community` that have not ended at `now_s`, pending
/// and confirmed ones (declined ones are history).
pub fn quarantines(conn: &mut dyn Conn, community: &str, now_s: i64) -> Result<Vec<QuarantineRow>, DbError> {
    conn.query_map(
        &format!("SELECT {QUARANTINE_COLUMNS} FROM quarantine WHERE community = ?1 AND until_s > ?2 AND status <> 'declined' ORDER BY unit, id"),
        vals![community, now_s],
        quarantine_row,
    )
}

/// The notices waiting for the committee, oldest first.
pub fn pending_notices(conn: &mut dyn Conn, community: &str) -> Result<Vec<QuarantineRow>, DbError> {
    conn.query_map(
        &format!("SELECT {QUARANTINE_COLUMNS} FROM quarantine WHERE community = ?1 AND status = 'pending' ORDER BY created_ms, id"),
        vals![community],
        quarantine_row,
    )
}

// Retention: what a community keeps, and for how long.

/// What one community keeps, in days.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetentionPolicy {
    pub entry_days: i64,
    pub visitor_days: i64,
    /// Days after a returnee's period ends before their personal fields go.
    pub returnee_days: i64,
}

/// The bounds a committee may choose within.
pub const ENTRY_DAYS: std::ops::RangeInclusive<i64> = 7..=3650;
pub const VISITOR_DAYS: std::ops::RangeInclusive<i64> = 1..=365;
pub const RETURNEE_DAYS: std::ops::RangeInclusive<i64> = 1..=365;

pub fn retention_policy(conn: &mut dyn Conn, community: &str) -> Result<RetentionPolicy, DbError> {
    conn.query_row(
        "SELECT entry_days, visitor_days, returnee_days FROM communities WHERE id = ?1",
        vals![community],
        |r| Ok(RetentionPolicy { entry_days: r.get(0)?, visitor_days: r.get(1)?, returnee_days: r.get(2)? }),
    )
}

/// Sets a community's policy; returns the detail key of what is wrong with
/// it instead, if anything.
pub fn set_retention_policy(
    conn: &mut dyn Conn,
    community: &str,
    p: RetentionPolicy,
) -> Result<Result<(), String>, DbError> {
    if !ENTRY_DAYS.contains(&p.entry_days)
        || !VISITOR_DAYS.contains(&p.visitor_days)
        || !RETURNEE_DAYS.contains(&p.returnee_days)
    {
        let ends = [&ENTRY_DAYS, &VISITOR_DAYS, &RETURNEE_DAYS].map(|r| (*r.start(), *r.end()));
        let args: Vec<&dyn std::fmt::Display> = ends.iter().flat_map(|(a, b)| [a as _, b as _]).collect();
        return Ok(Err(crate::leaves::detail::enc("err_retention", &args)));
    }
    conn.execute(
        "UPDATE communities SET entry_days = ?1, visitor_days = ?2, returnee_days = ?3 WHERE id = ?4",
        vals![p.entry_days, p.visitor_days, p.returnee_days, community],
    )?;
    Ok(Ok(()))
}

/// The community's display name and city (`leaves::place`).
pub fn place(conn: &mut dyn Conn, community: &str) -> Result<Place, DbError> {
    conn.query_opt("SELECT display_name, city FROM communities WHERE id = ?1", vals![community], |r| {
        Ok(Place { name: r.get(0)?, city: r.get(1)? })
    })
    .map(Option::unwrap_or_default)
}

/// Sets them, as typed; an error names what cannot be taken.
pub fn set_place(conn: &mut dyn Conn, community: &str, name: &str, city: &str) -> Result<Place, CommunityError> {
    let place =
        Place::check(name, city).map_err(|key| CommunityError::Invalid(crate::leaves::detail::enc(key, &[])))?;
    conn.execute(
        "UPDATE communities SET display_name = ?1, city = ?2 WHERE id = ?3",
        vals![place.name.as_str(), place.city.as_str(), community],
    )?;
    Ok(place)
}

/// Forgets the names of `community`'s visitors whose pass ended before
/// `cutoff_s` (the pass stays: the entries name it). Returns how many.
pub fn forget_visitor_names(conn: &mut dyn Conn, community: &str, cutoff_s: i64) -> Result<u64, DbError> {
    conn.execute(
        "UPDATE passes SET visitor_name = NULL WHERE community = ?1 AND visitor_name IS NOT NULL AND expires_at < ?2",
        vals![community, cutoff_s],
    )
}
