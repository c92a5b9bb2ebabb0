//! Returnee registration (issue 17): a person back from elsewhere fills in
//! a form on their phone, signs the document the committee's region rules
//! pick for where they came from, and gets a receipt.
//!
//! The signed record is canonical JSON; the evidence log holds only
//! SHA-256(salt ‖ record) with a random salt per record, so the log says
//! nothing about the person. The record and salt stay on the server (and in
//! the person's receipt) until retention deletes them, `keep_days` after
//! the period ends; the leaf stays and the log still verifies.
//!
//! A notice puts the unit under home quarantine from arrival for its days;
//! a pledge starts a self-monitoring period. Both are stored with the
//! registration, so the Returnees page lists them and the summary counts
//! them.
//!
//! Invariants: a registration and its leaf are written in one transaction;
//! a form's one-time token is spent by the registration it made (a replay
//! is refused and stores nothing); nothing but retention clears `record`.

use crate::leaves::detail::{Arg, Detail};
use serde::Serialize;
use shoumen_protocol::evidence::{self as proof, Receipt, RECEIPT_FORMAT};
use thiserror::Error;

use crate::db::{Conn, DbError};
use crate::leaves::divisions;
use crate::records::returnees::{self, Document, Kind};
use crate::records::{community, evidence};
use crate::vals;

/// Ways to travel, as the form offers them.
pub const TRAVEL: &[&str] = &["train", "plane", "car", "coach", "ship", "other"];
/// A signature is SVG path data; a finger's few strokes are 2 to 5 KiB
/// (the pad keeps whole pixels and drops points under 2 px apart).
pub const MAX_SIGNATURE: usize = 8 << 10;
/// The least ink a signature has, in pixels of the 320×160 pad.
pub const MIN_INK_PX: f64 = 20.0;
/// A form may be signed this long after it was shown.
pub const FORM_TTL_S: i64 = 2 * 3600;

/// What one client of the public form can make the server store, and
/// when a unit's registrations look unusual. A district tunes them with
/// `--registrations-per-phone`, `--registrations-per-address` and
/// `--unit-registrations-alert`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Registrations with one phone number, per community and day (a
    /// parent registering a family).
    pub per_phone_day: i64,
    /// Registrations from one client address, over every community, per
    /// day (homes and offices share an address; carriers share more).
    pub per_address_day: i64,
    /// A unit with more registrations than this in a day raises
    /// `unusual_registrations`; none of them is refused for it.
    pub unit_alert_after: i64,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits { per_phone_day: 6, per_address_day: 40, unit_alert_after: 8 }
    }
}
/// Retention deletes the personal fields this many days after the period
/// ends, unless the community chose otherwise.
pub const KEEP_DAYS: i64 = 28;

/// What is wrong with a registration: `.0` is the word key the page shows
/// in its reader's language.
#[derive(Debug, Error)]
pub enum RegisterError {
    #[error("{0}")]
    Invalid(&'static str),
    #[error(transparent)]
    Db(#[from] DbError),
    #[error(transparent)]
    Evidence(#[from] evidence::EvidenceError),
}

impl From<crate::records::community::CommunityError> for RegisterError {
    fn from(e: crate::records::community::CommunityError) -> Self {
        match e {
            crate::records::community::CommunityError::Db(e) => RegisterError::Db(e),
            _ => RegisterError::Invalid("reg_bad_unit"),
        }
    }
}

use RegisterError::Invalid;

/// The form, checked.
#[derive(Clone, Debug, PartialEq)]
pub struct Form {
    pub name: String,
    pub phone: String,
    pub unit: String,
    /// A GB/T 2260 code with no divisions below it (a district, or a city
    /// or region without districts).
    pub origin: String,
    /// `YYYY-MM-DD`, and its first second in the display zone.
    pub arrival: String,
    pub arrival_s: i64,
    pub travel: String,
    /// `36.5`, or empty when not measured.
    pub temperature: String,
    pub symptoms: bool,
    pub contact: bool,
}

/// Free text people type: no markup, no control or direction characters.
fn plain(text: &str, max_chars: usize, key: &'static str) -> Result<String, RegisterError> {
    let t = text.trim();
    let bad = |c: char| "<>\"'&`\\".contains(c) || c.is_control() || crate::leaves::text::is_bidi_control(c);
    if t.is_empty() || t.chars().count() > max_chars || t.chars().any(bad) {
        return Err(Invalid(key));
    }
    Ok(t.to_string())
}

fn yes_no(v: &str) -> Result<bool, RegisterError> {
    match v {
        "yes" => Ok(true),
        "no" => Ok(false),
        _ => Err(Invalid("reg_bad_yes_no")),
    }
}

/// Checks the form's fields (`get` reads one by name) as of `now_s`.
pub fn check_form(
    conn: &mut dyn Conn,
    community: &str,
    get: &dyn Fn(&str) -> String,
    offset_min: i32,
    now_s: i64,
) -> Result<Form, RegisterError> {
    let name = plain(&get("name"), 32, "reg_bad_name")?;
    let phone = get("phone").trim().replace([' ', '-'], "");
    let digits = phone.strip_prefix('+').unwrap_or(&phone);
    if !(7..=15).contains(&digits.len()) || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Invalid("reg_bad_phone"));
    }
    let unit = crate::leaves::text::normalize_unit(&plain(&get("unit"), 32, "reg_bad_unit")?);
    if !community::unit_known(conn, community, &unit)? {
        return Err(Invalid("reg_bad_unit"));
    }
    let origin = get("origin").trim().to_string();
    if divisions::get(&origin).is_none() || divisions::children(&origin).next().is_some() {
        return Err(Invalid("reg_bad_origin"));
    }
    let arrival = get("arrival").trim().to_string();
    let arrival_s = crate::leaves::time::parse_day(&arrival, offset_min).ok_or(Invalid("reg_bad_arrival"))?;
    // Up to a month back (registering late) and a week ahead (before travel).
    if arrival_s < now_s - 31 * 86_400 || arrival_s > now_s + 7 * 86_400 {
        return Err(Invalid("reg_bad_arrival"));
    }
    let travel = get("travel");
    if !TRAVEL.contains(&travel.as_str()) {
        return Err(Invalid("reg_bad_travel"));
    }
    let temperature = get("temperature").trim().to_string();
    if !temperature.is_empty() {
        let ok = temperature.len() <= 4 && temperature.parse::<f64>().is_ok_and(|t| (34.0..=43.0).contains(&t));
        if !ok {
            return Err(Invalid("reg_bad_temperature"));
        }
    }
    let (symptoms, contact) = (yes_no(&get("symptoms"))?, yes_no(&get("contact"))?);
    Ok(Form { name, phone, unit, origin, arrival, arrival_s, travel, temperature, symptoms, contact })
}

/// A finger's signature as SVG path data: strokes of moves (`M x y`) and
/// lines (`L x y`) with finite coordinates on or near the pad, at least
/// one line, and some ink ([`MIN_INK_PX`]). Anything else (curves,
/// markup, `M. . L. .`, a dot) is refused.
pub fn check_signature(path: &str) -> Result<String, RegisterError> {
    if path.len() > MAX_SIGNATURE {
        return Err(Invalid("reg_signature_too_big"));
    }
    let path = path.trim();
    let none = || Invalid("reg_no_signature");
    // Commands and numbers: a letter may touch its first number ("M10").
    let spaced: String =
        path.chars().flat_map(|c| if c == 'M' || c == 'L' { vec![' ', c, ' '] } else { vec![c] }).collect();
    let mut tokens = spaced.split([' ', ',']).filter(|t| !t.is_empty());
    let (mut ink, mut lines, mut at) = (0.0f64, 0usize, None::<(f64, f64)>);
    while let Some(command) = tokens.next() {
        let mut number = || -> Result<f64, RegisterError> {
            let n: f64 = tokens.next().ok_or_else(none)?.parse().map_err(|_| none())?;
            if n.is_finite() && (-10.0..=10_000.0).contains(&n) {
                Ok(n)
            } else {
                Err(none())
            }
        };
        let point = (number()?, number()?);
        match (command, at) {
            ("M", _) => {}
            ("L", Some((x, y))) => {
                ink += ((point.0 - x).powi(2) + (point.1 - y).powi(2)).sqrt();
                lines += 1;
            }
            _ => return Err(none()),
        }
        at = Some(point);
    }
    if lines == 0 || ink < MIN_INK_PX {
        return Err(none());
    }
    Ok(path.to_string())
}

/// The form's one-time token: a random nonce, when it was shown, and a MAC
/// under a secret of the community's, so a token cannot be made up and
/// the server stores nothing until the form is signed.
pub fn form_token(conn: &mut dyn Conn, community: &str, now_s: i64) -> Result<String, DbError> {
    let nonce = crate::leaves::secrets::random_token();
    let tag = token_mac(conn, community, &nonce, now_s)?;
    Ok(format!("{nonce}.{now_s}.{tag}"))
}

fn token_mac(conn: &mut dyn Conn, community: &str, nonce: &str, at_s: i64) -> Result<String, DbError> {
    evidence::keyed_mac(conn, community, "registration form", &format!("{community}|{nonce}|{at_s}"))
}

/// Checks a form token; returns its nonce.
pub fn check_token(conn: &mut dyn Conn, community: &str, token: &str, now_s: i64) -> Result<String, RegisterError> {
    let mut parts = token.split('.');
    let (Some(nonce), Some(at), Some(tag), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        return Err(Invalid("reg_form_expired"));
    };
    let at_s: i64 = at.parse().map_err(|_| Invalid("reg_form_expired"))?;
    let same = crate::leaves::secrets::same_digest(&token_mac(conn, community, nonce, at_s)?, tag);
    if !same || now_s - at_s > FORM_TTL_S || at_s > now_s + 60 {
        return Err(Invalid("reg_form_expired"));
    }
    Ok(nonce.to_string())
}

/// The signed record, canonical: fields in alphabetical order, compact
/// JSON, so the same record always hashes the same.
#[derive(Serialize)]
struct Record<'a> {
    arrival: &'a str,
    community: &'a str,
    contact: bool,
    document: &'a str,
    document_sha256: &'a str,
    document_version: i64,
    name: &'a str,
    origin: &'a str,
    origin_name: String,
    phone: &'a str,
    signature: &'a str,
    signed_ms: i64,
    signed_name: &'a str,
    symptoms: bool,
    temperature: &'a str,
    travel: &'a str,
    unit: &'a str,
}

/// The document that applies to `form`: the rule for its origin on its
/// arrival day, newest version.
pub fn document_for(conn: &mut dyn Conn, community: &str, form: &Form) -> Result<Document, RegisterError> {
    returnees::document_for(conn, community, &form.origin, form.arrival_s + 12 * 3600)?.ok_or(Invalid("reg_no_rule"))
}

/// A short code people read out: 8 letters and digits without look-alikes.
fn short_code() -> String {
    const ALPHABET: &[u8] = b"23456789ABCDEFGHJKMNPQRSTUVWXYZ";
    (0..8).map(|_| ALPHABET[rand::random::<usize>() % ALPHABET.len()] as char).collect()
}

/// What the person did on the signing page, and where from.
#[derive(Clone, Debug)]
pub struct Signing {
    /// The document name and version they read.
    pub document: String,
    pub version: i64,
    /// SVG path data of the finger's strokes.
    pub signature: String,
    /// The name they typed to confirm.
    pub signed_name: String,
    /// The form token's nonce, spent by this registration.
    pub nonce: String,
    /// The client's address, for the audit trail and the per-address cap.
    pub ip: String,
    pub limits: Limits,
    /// The display zone, for the day an alert names.
    pub utc_offset_min: i32,
}

/// Signs: stores the record and what it sets in motion inside the caller's
/// transaction, and appends its leaf to `log`, which the caller flushes in
/// the same transaction (the sequencer's batch), so a registration and its
/// leaf commit together. Returns the secret part of the receipt's
/// address, `/r/<community>/receipt/<token>`.
pub fn sign_in(
    tx: &mut dyn Conn,
    log: &mut evidence::Appender,
    community: &str,
    form: &Form,
    s: &Signing,
    now_ms: i64,
) -> Result<String, RegisterError> {
    let (signature, signed_name, nonce, ip) =
        (s.signature.as_str(), s.signed_name.as_str(), s.nonce.as_str(), s.ip.as_str());
    let signature = check_signature(signature)?;
    if plain(signed_name, 32, "reg_name_mismatch")? != form.name {
        return Err(Invalid("reg_name_mismatch"));
    }
    let doc = document_for(tx, community, form)?;
    if (doc.name.as_str(), doc.version) != (s.document.as_str(), s.version) {
        return Err(Invalid("reg_document_changed"));
    }
    if tx.scalar("SELECT COUNT(*) FROM registrations WHERE community = ?1 AND nonce = ?2", vals![community, nonce])? > 0
    {
        return Err(Invalid("reg_replayed"));
    }
    let phone_mac = within_limits(tx, community, form, s, now_ms)?;
    let record = serde_json::to_string(&Record {
        arrival: &form.arrival,
        community,
        contact: form.contact,
        document: &doc.name,
        document_sha256: &doc.sha256,
        document_version: doc.version,
        name: &form.name,
        origin: &form.origin,
        origin_name: divisions::full_name(&form.origin).unwrap_or_default(),
        phone: &form.phone,
        signature: &signature,
        signed_ms: now_ms,
        signed_name: signed_name.trim(),
        symptoms: form.symptoms,
        temperature: &form.temperature,
        travel: &form.travel,
        unit: &form.unit,
    })
    .expect("a record serialises");
    let salt: [u8; 32] = rand::random();
    let index = log.append(tx, community, &proof::commitment(&salt, record.as_bytes()), now_ms)?;
    let until_s = form.arrival_s + doc.days * 86_400;
    let (code, token) =
        (short_code(), crate::leaves::secrets::random_token() + &crate::leaves::secrets::random_token());
    let quarantine = match doc.kind {
        Kind::Notice => Some(declare_notice(tx, community, form, &doc, &code, until_s, now_ms)?),
        Kind::Pledge => None,
    };
    tx.execute(
        "INSERT INTO registrations (community, code, token_sha256, nonce, leaf_index, record, salt, unit, origin, arrival_s, document, version, kind,
             until_s, quarantine_id, signed_ms, phone_mac, client) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)",
        vals![community, &code, crate::leaves::secrets::sha256_hex(&token), nonce, index, &record, hex::encode(salt), &form.unit, &form.origin, form.arrival_s,
            &doc.name, doc.version, doc.kind.as_str(), until_s, quarantine, now_ms, &phone_mac, ip],
    )?;
    busy_unit(tx, community, &form.unit, s, now_ms)?;
    let actor = crate::records::audit::Actor {
        community: community.to_string(),
        user: "returnee (public form)".into(),
        ip: ip.to_string(),
    };
    let detail =
        crate::leaves::detail::enc("returnee_register", &[&code, &form.unit, &doc.name, &doc.version, &(index + 1)]);
    crate::records::audit::record_in(tx, &actor, "returnee.register", &detail, now_ms)?;
    Ok(token)
}

/// Confirms or declines a returnee's pending notice, with its row in the
/// audit trail and its alert acknowledged, in one transaction. Confirmed,
/// the gates keep the household in from their next sync. Returns the unit.
pub fn decide_notice(
    conn: &mut dyn Conn,
    actor: &crate::records::audit::Actor,
    id: i64,
    verdict: community::Verdict,
    now_ms: i64,
) -> Result<String, community::CommunityError> {
    conn.transaction(true, |tx| {
        let unit = community::decide_notice(tx, &actor.community, id, verdict, &actor.user, now_ms)?;
        let (action, said) = match verdict {
            community::Verdict::Confirm => ("returnee.confirm_notice", "confirmed"),
            community::Verdict::Decline => ("returnee.decline_notice", "declined"),
        };
        crate::records::alerts::ack_open(
            tx,
            &actor.community,
            shoumen_protocol::AlertKind::ReturneeNotice,
            &format!("unit {unit}"),
            &actor.user,
            said,
            now_ms,
        )?;
        crate::records::audit::record_in(
            tx,
            actor,
            action,
            &crate::leaves::detail::enc("returnee_notice_decided", &[&unit, &id]),
            now_ms,
        )?;
        Ok(unit)
    })
}

/// What one client can make the server store: registrations per phone
/// (per community) and per address (over all) in the last day. Returns
/// the phone's MAC, kept to count it.
fn within_limits(
    tx: &mut dyn Conn,
    community: &str,
    form: &Form,
    s: &Signing,
    now_ms: i64,
) -> Result<String, RegisterError> {
    let day_ago = now_ms - 86_400_000;
    let phone_mac = evidence::keyed_mac(tx, community, "returnee phone", &form.phone)?;
    let by_phone = tx.scalar(
        "SELECT COUNT(*) FROM registrations WHERE community = ?1 AND phone_mac = ?2 AND signed_ms > ?3",
        vals![community, &phone_mac, day_ago],
    )?;
    let by_address =
        tx.scalar("SELECT COUNT(*) FROM registrations WHERE client = ?1 AND signed_ms > ?2", vals![&s.ip, day_ago])?;
    if by_phone >= s.limits.per_phone_day || by_address >= s.limits.per_address_day {
        return Err(Invalid("reg_too_many"));
    }
    Ok(phone_mac)
}

/// A notice waits for the committee or the household's head: a stranger
/// typing a unit into the public form never keeps that home in. The first
/// pending notice of a unit raises `returnee_notice`.
fn declare_notice(
    tx: &mut dyn Conn,
    community: &str,
    form: &Form,
    doc: &Document,
    code: &str,
    until_s: i64,
    now_ms: i64,
) -> Result<i64, RegisterError> {
    let (id, new) = community::declare_notice(
        tx,
        community,
        &form.unit,
        form.arrival_s,
        until_s,
        &format!("告知书 {code}"),
        now_ms,
    )?;
    if new {
        let detail = Detail::new(
            "returnee_notice",
            [form.unit.as_str(), code, &doc.name, &doc.version.to_string(), &doc.days.to_string()].map(Arg::from),
        )
        .encode();
        crate::records::alerts::raise(
            tx,
            community,
            shoumen_protocol::AlertKind::ReturneeNotice,
            &format!("unit {}", form.unit),
            None,
            &detail,
            now_ms,
        )?;
    }
    Ok(id)
}

/// Many registrations for one home in a day are worth a look, not a
/// refusal: the genuine ones among them go through. One alert per unit and
/// day, counting.
fn busy_unit(tx: &mut dyn Conn, community: &str, unit: &str, s: &Signing, now_ms: i64) -> Result<(), RegisterError> {
    let for_unit = tx.scalar(
        "SELECT COUNT(*) FROM registrations WHERE community = ?1 AND unit = ?2 AND signed_ms > ?3",
        vals![community, unit, now_ms - 86_400_000],
    )?;
    if for_unit > s.limits.unit_alert_after {
        let day = crate::leaves::time::fmt_ms(now_ms, s.utc_offset_min)[..10].to_string();
        let detail =
            Detail::new("unusual_registrations", [unit, &s.limits.unit_alert_after.to_string(), &day].map(Arg::from))
                .encode();
        crate::records::alerts::raise(
            tx,
            community,
            shoumen_protocol::AlertKind::UnusualRegistrations,
            &format!("unit {unit}"),
            None,
            &detail,
            now_ms,
        )?;
    }
    Ok(())
}

/// One registration as the committee and the receipt page see it.
#[derive(Clone, Debug)]
pub struct Registration {
    pub id: i64,
    pub code: String,
    pub index: u64,
    /// The canonical record and its salt (hex); `None` once deleted.
    pub record: Option<(String, String)>,
    pub unit: String,
    pub origin: String,
    pub arrival_s: i64,
    pub document: String,
    pub version: i64,
    pub kind: Kind,
    pub until_s: i64,
    pub signed_ms: i64,
    pub deleted_ms: Option<i64>,
}

impl Registration {
    /// A field of the record (`name`, `phone`, ...), or empty once deleted.
    pub fn field(&self, key: &str) -> String {
        let Some((record, _)) = &self.record else { return String::new() };
        match serde_json::from_str::<serde_json::Value>(record).ok().and_then(|v| v.get(key).cloned()) {
            Some(serde_json::Value::String(s)) => s,
            Some(serde_json::Value::Bool(b)) => if b { "yes" } else { "no" }.into(),
            Some(v) => v.to_string(),
            None => String::new(),
        }
    }
}

const COLUMNS: &str = "id, code, leaf_index, record, salt, unit, origin, arrival_s, document, version, kind, until_s, signed_ms, deleted_ms";

fn row(r: &crate::db::Row) -> Result<Registration, DbError> {
    let record = match (r.get::<Option<String>>(3)?, r.get::<Option<String>>(4)?) {
        (Some(rec), Some(salt)) => Some((rec, salt)),
        _ => None,
    };
    Ok(Registration {
        id: r.get(0)?,
        code: r.get(1)?,
        index: r.get::<i64>(2)? as u64,
        record,
        unit: r.get(5)?,
        origin: r.get(6)?,
        arrival_s: r.get(7)?,
        document: r.get(8)?,
        version: r.get(9)?,
        kind: Kind::parse(&r.get::<String>(10)?).unwrap_or(Kind::Pledge),
        until_s: r.get(11)?,
        signed_ms: r.get(12)?,
        deleted_ms: r.get(13)?,
    })
}

/// The registration a receipt address names.
pub fn by_token(conn: &mut dyn Conn, community: &str, token: &str) -> Result<Option<Registration>, DbError> {
    let sql = format!("SELECT {COLUMNS} FROM registrations WHERE community = ?1 AND token_sha256 = ?2");
    conn.query_opt(&sql, vals![community, crate::leaves::secrets::sha256_hex(token)], row)
}

pub fn by_id(conn: &mut dyn Conn, community: &str, id: i64) -> Result<Option<Registration>, DbError> {
    conn.query_opt(
        &format!("SELECT {COLUMNS} FROM registrations WHERE community = ?1 AND id = ?2"),
        vals![community, id],
        row,
    )
}

/// What the Returnees page filters by.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    pub from_s: Option<i64>,
    pub until_s: Option<i64>,
    /// A division prefix of the origin.
    pub region: String,
    pub kind: Option<Kind>,
    /// Only periods that end within this many seconds from `now_s`.
    pub ending_within_s: Option<i64>,
}

/// Registrations of `community` by arrival, newest first.
pub fn list(
    conn: &mut dyn Conn,
    community: &str,
    f: &Filter,
    now_s: i64,
    limit: usize,
) -> Result<Vec<Registration>, DbError> {
    let like = format!("{}%", f.region.chars().filter(char::is_ascii_digit).collect::<String>());
    let sql = format!(
        "SELECT {COLUMNS} FROM registrations WHERE community = ?1 AND arrival_s >= ?2 AND arrival_s < ?3 AND origin LIKE ?4
           AND (?5 = '' OR kind = ?5) AND until_s > ?6 AND until_s <= ?7 ORDER BY arrival_s DESC, id DESC LIMIT {limit}"
    );
    let (ending_from, ending_to) = match f.ending_within_s {
        Some(w) => (now_s, now_s + w),
        None => (i64::MIN, i64::MAX),
    };
    let kind = f.kind.map_or("", Kind::as_str);
    let params = vals![
        community,
        f.from_s.unwrap_or(i64::MIN),
        f.until_s.unwrap_or(i64::MAX),
        like,
        kind,
        ending_from,
        ending_to
    ];
    conn.query_map(&sql, params, row)
}

/// Registrations of `community` whose period runs at `now_s` and whose
/// personal fields are kept: everyone a check-in is asked of.
pub fn in_period(conn: &mut dyn Conn, community: &str, now_s: i64) -> Result<Vec<Registration>, DbError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM registrations WHERE community = ?1 AND until_s > ?2 AND arrival_s <= ?2 AND record IS NOT NULL ORDER BY unit, id"
    );
    conn.query_map(&sql, vals![community, now_s], row)
}

/// The receipt for a stored registration: its record and the proof into
/// the log's newest checkpoint. `None` once its personal fields are gone.
pub fn receipt(
    conn: &mut dyn Conn,
    community: &str,
    reg: &Registration,
) -> Result<Option<Receipt>, evidence::EvidenceError> {
    let Some((record, salt)) = reg.record.clone() else { return Ok(None) };
    // The newest checkpoint its witnesses cosigned, once one holds the
    // record; until then the log's own (a reader sees it is not cosigned).
    let policy = crate::records::witnesses::policy(conn, community)?;
    let (size, checkpoint) = match crate::records::witnesses::cosigned(conn, community)? {
        Some((size, note)) if size > reg.index => (size, note),
        _ => {
            let size = evidence::size(conn, community)?;
            (size, evidence::checkpoint_at(conn, community, size)?)
        }
    };
    let proof = evidence::inclusion(conn, community, reg.index, size)?;
    Ok(Some(Receipt {
        format: RECEIPT_FORMAT.into(),
        code: reg.code.clone(),
        record,
        salt,
        index: reg.index,
        proof,
        checkpoint,
        log_key: evidence::verifier_key(conn, community)?,
        witnesses: policy.witnesses,
        quorum: policy.quorum,
        required: policy.required,
    }))
}

/// The receipt of the registration with this 8-character code, in
/// whichever community of this server has it: `None` if none has,
/// `Some(None)` if its record was deleted after its retention period.
pub fn receipt_by_code(conn: &mut dyn Conn, code: &str) -> Result<Option<Option<Receipt>>, evidence::EvidenceError> {
    // Codes are unique per community: one indexed look-up in each.
    for community in crate::db::communities(conn)? {
        let sql = format!("SELECT {COLUMNS} FROM registrations WHERE community = ?1 AND code = ?2");
        if let Some(reg) = conn.query_opt(&sql, vals![&community, code], row)? {
            return Ok(Some(receipt(conn, &community, &reg)?));
        }
    }
    Ok(None)
}

/// The community whose log a checkpoint names, by its origin line.
pub fn community_of_checkpoint(conn: &mut dyn Conn, checkpoint: &str) -> Result<Option<String>, DbError> {
    let origin = checkpoint.lines().next().unwrap_or("");
    for c in crate::db::communities(conn)? {
        if evidence::origin(conn, &c)? == origin {
            return Ok(Some(c));
        }
    }
    Ok(None)
}

/// A receipt that checked out: itself, its checkpoint's head, and who
/// cosigned that checkpoint.
pub type Verified = (Receipt, proof::Head, Vec<shoumen_protocol::witness::Cosigned>);

/// Checks a receipt against this server's key for the log it names, and
/// against the log as it is now: the tree of the receipt's checkpoint must
/// still be the first records of the log. A log rewritten since the receipt
/// was given (even with every stored hash recomputed and a new checkpoint
/// signed) fails here, and one that lost records since says it shrank.
/// Returns the receipt, its head, and the cosignatures of the community's
/// witnesses on its checkpoint.
pub fn verify_receipt(conn: &mut dyn Conn, text: &str) -> Result<Result<Verified, proof::EvidenceError>, DbError> {
    let receipt = match Receipt::parse(text) {
        Ok(r) => r,
        Err(e) => return Ok(Err(e)),
    };
    let Some(community) = community_of_checkpoint(conn, &receipt.checkpoint)? else {
        let first = receipt.checkpoint.lines().next().unwrap_or("").to_string();
        return Ok(Err(proof::EvidenceError::BadCheckpoint(format!("this server keeps no log named {first:?}"))));
    };
    let vkey = evidence::verifier_key(conn, &community)?;
    let policy = crate::records::witnesses::policy(conn, &community)?;
    let (head, cosigned) = match shoumen_protocol::witness::verify_receipt(&receipt, &vkey, &policy) {
        Ok(checked) => checked,
        Err(e) => return Ok(Err(e)),
    };
    let now = evidence::size(conn, &community)?;
    // With witnesses, the receipt's tree must extend to the newest
    // cosigned one by a proof from the stored hashes: a database rewritten
    // since cannot make one for roots the witnesses signed.
    if !policy.is_empty() {
        if let Some((size, note)) = crate::records::witnesses::newest_published(conn, &community)? {
            let newest = match proof::open_checkpoint(&note, &vkey) {
                Ok(h) => h,
                Err(e) => return Ok(Err(e)),
            };
            if head.size <= newest.size {
                let consistency = match evidence::consistency(conn, &community, head.size, size) {
                    Ok(p) => p,
                    Err(evidence::EvidenceError::Db(e)) => return Err(e),
                    Err(_) => return Ok(Err(proof::EvidenceError::Inconsistent { old: head.size, new: size })),
                };
                return Ok(proof::check_extends(&head, &newest, &consistency).map(|()| (receipt, head, cosigned)));
            }
        }
    }
    if head.size > now {
        return Ok(Err(proof::EvidenceError::Shrank { old: head.size, new: now }));
    }
    match evidence::root(conn, &community, head.size) {
        Ok(root) if root == head.root => Ok(Ok((receipt, head, cosigned))),
        Ok(_) => Ok(Err(proof::EvidenceError::Inconsistent { old: head.size, new: now })),
        Err(evidence::EvidenceError::Db(e)) => Err(e),
        // Stored hashes that cannot make a root: as good as rewritten.
        Err(_) => Ok(Err(proof::EvidenceError::Inconsistent { old: head.size, new: now })),
    }
}

/// Deletes the personal fields of registrations whose period ended more
/// than the community's days ago; the leaf stays. Returns how many.
pub fn prune(conn: &mut dyn Conn, community: &str, now_ms: i64) -> Result<u64, DbError> {
    let keep = conn.scalar("SELECT returnee_days FROM communities WHERE id = ?1", vals![community])?;
    let cutoff_s = now_ms / 1000 - keep * 86_400;
    // The origin keeps its province only: enough for the district's counts.
    conn.execute(
        "UPDATE registrations SET record = NULL, salt = NULL, origin = SUBSTR(origin, 1, 2), phone_mac = NULL, client = NULL, deleted_ms = ?1
         WHERE community = ?2 AND record IS NOT NULL AND until_s < ?3",
        vals![now_ms, community, cutoff_s],
    )
}

/// Registrations signed in `[from_ms, to_ms)`, by kind: (pledges, notices).
pub fn signed_between(conn: &mut dyn Conn, community: &str, from_ms: i64, to_ms: i64) -> Result<(i64, i64), DbError> {
    let count = |conn: &mut dyn Conn, kind: &str| {
        conn.scalar(
            "SELECT COUNT(*) FROM registrations WHERE community = ?1 AND kind = ?2 AND signed_ms >= ?3 AND signed_ms < ?4",
            vals![community, kind, from_ms, to_ms],
        )
    };
    Ok((count(conn, "pledge")?, count(conn, "notice")?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_are_path_data_with_a_stroke_and_nothing_else() {
        assert!(check_signature("M10 10 L20 20 L30 25").is_ok());
        assert!(check_signature("M10,10L40,50M5 5L6 6").is_ok());
        for bad in ["", "M10 10", "M1 1 L2 2\"/><script>alert(1)</script>", "L1 1", "M1 1 C2 2 3 3 4 4"] {
            assert!(check_signature(bad).is_err(), "{bad:?}");
        }
        // Nonsense that looks like path data: no numbers, no ink, no end.
        for bad in [
            "M. . L. .",
            "M0 0 L0 0",
            "M0 0 L3 4",
            "M1 1 L",
            "M1 L2 2",
            "MNaN 1 L2 2",
            "M0 0 L1e9 1",
            "M0 0 Linf 0",
            "M- - L- -",
        ] {
            assert!(check_signature(bad).is_err(), "{bad:?}");
        }
        assert!(check_signature("M0 0 L30 40").is_ok(), "50 px of ink");
        let huge = format!("M0 0{}", " L1 1".repeat(MAX_SIGNATURE));
        assert!(matches!(check_signature(&huge), Err(Invalid("reg_signature_too_big"))));
    }

    #[test]
    fn text_fields_refuse_markup_and_control_characters() {
        assert_eq!(plain("  王 芳 ", 32, "k").unwrap(), "王 芳");
        for bad in ["<script>", "a\"b", "x\u{202e}y", "", "a\nb", &"长".repeat(33)] {
            assert!(plain(bad, 32, "k").is_err(), "{bad:?}");
        }
    }
}
