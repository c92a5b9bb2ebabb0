//! Signed passes: `SM1:` + base45(COSE_Sign1(CWT claims)), signed with Ed25519.
//!
//! The layout follows the EU Digital COVID Certificate (`HC1:`), without its
//! zlib step: our payloads are ~130 bytes and deflate does not shrink them.
//!
//! Claims (RFC 8392 keys): `iss` (1) community id, `cti` (7) the random pass
//! id, `iat` (6), `nbf` (5), `exp` (4), and one private claim (-65537)
//! holding `[role, unit, flags]`, or `[role, unit, flags, holder key]` for a
//! phone pass bound to its holder (see [`crate::holder`]). The pass id sits
//! in `cti` rather than `sub` because `sub` must be a text string and the id
//! is random bytes; one private claim holding an array costs 5 bytes of key
//! instead of 15.

use coset::cbor::value::Value;
use coset::cwt::{ClaimName, ClaimsSet, ClaimsSetBuilder, Timestamp};
use coset::{
    iana, CborSerializable, CoseSign1, CoseSign1Builder, HeaderBuilder, RegisteredLabelWithPrivate,
    TaggedCborSerializable,
};
use ed25519_dalek::{Signature, Signer, SigningKey};
use serde::{Deserialize, Serialize};
use std::fmt;

use crate::base45;
use crate::holder::{self, HolderKey, CODE_WINDOW_S};
use crate::trust::{KeyId, TrustList};

pub use crate::pass_error::{PassError, PREFIX};

/// Longest pass text accepted. A real pass is ~200 characters; anything far
/// beyond that is refused before any decoding work is done.
pub const MAX_PASS_TEXT: usize = 600;

/// Longest unit label in UTF-8 bytes (e.g. "3-502", "12-3-1102", "3栋502").
/// With [`MAX_ISSUER_LEN`] this keeps every pass within QR version 8 at ECC M.
pub const MAX_UNIT_LEN: usize = 12;

/// Longest issuer (community id) in bytes.
pub const MAX_ISSUER_LEN: usize = 12;

/// The private CWT claim holding `[role, unit, flags]`.
const CLAIM_SHOUMEN: i64 = -65537;

/// Who a pass is for. The numbers are the wire encoding; never reuse one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Resident = 1,
    Visitor = 2,
    Staff = 3,
    Delivery = 4,
    /// A volunteer's personal duty pass (issue 32): scanned at a gate's
    /// kiosk, it signs its holder in for duty there, or out; it opens
    /// nothing. A phone pass, so it cannot be shared.
    Duty = 5,
}

impl Role {
    pub const ALL: [Role; 5] = [Role::Resident, Role::Visitor, Role::Staff, Role::Delivery, Role::Duty];

    fn from_wire(n: i128) -> Option<Role> {
        Role::ALL.into_iter().find(|r| *r as i128 == n)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Resident => "resident",
            Role::Visitor => "visitor",
            Role::Staff => "staff",
            Role::Delivery => "delivery",
            Role::Duty => "duty",
        }
    }
}

impl std::str::FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| format!("unknown role {s:?}: expected resident, visitor, staff, delivery or duty"))
    }
}

/// Bit flags carried by a pass. Unknown bits are kept, not rejected, so an
/// older kiosk still reads passes from a newer server.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PassFlags(pub u32);

impl PassFlags {
    /// The holder needs help at the gate (wheelchair, pram): the result
    /// screen tells the guard.
    pub const NEEDS_ASSISTANCE: u32 = 1 << 0;
    /// The holder may escort visitors in.
    pub const MAY_ESCORT: u32 = 1 << 1;
    /// A phone pass: valid at a gate only as its holder's rotating code,
    /// never as a static picture. Printed cards do not have it.
    pub const PHONE: u32 = 1 << 2;

    pub fn has(self, bit: u32) -> bool {
        self.0 & bit != 0
    }
}

/// A random, pseudonymous pass id. It links a pass to the committee's
/// records on the server; the kiosk never learns who holds it.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub struct PassId(pub [u8; PassId::LEN]);

impl PassId {
    pub const LEN: usize = 8;

    pub fn to_hex(self) -> String {
        hex::encode(self.0)
    }

    pub fn from_hex(s: &str) -> Result<PassId, String> {
        let bytes = hex::decode(s).map_err(|e| format!("pass id {s:?} is not hex: {e}"))?;
        let arr: [u8; PassId::LEN] =
            bytes.try_into().map_err(|_| format!("pass id {s:?} must be {} hex digits", PassId::LEN * 2))?;
        Ok(PassId(arr))
    }
}

impl fmt::Debug for PassId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PassId({})", self.to_hex())
    }
}

impl fmt::Display for PassId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl From<PassId> for String {
    fn from(p: PassId) -> String {
        p.to_hex()
    }
}

impl TryFrom<String> for PassId {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        PassId::from_hex(&s)
    }
}

/// What a pass says, once its signature has been checked.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PassClaims {
    /// Community id of the issuer; must match the trusted key's issuer.
    pub issuer: String,
    pub pass_id: PassId,
    /// Unix seconds.
    pub issued_at: i64,
    pub not_before: i64,
    pub expires_at: i64,
    pub role: Role,
    /// Unit label such as "3-502"; empty for staff and delivery passes.
    pub unit: String,
    pub flags: PassFlags,
    /// The phone's key a phone pass is bound to; `None` on cards and on a
    /// phone pass not yet opened on its phone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub holder: Option<HolderKey>,
}

/// Signs `claims` and returns the pass text to put in a QR code.
///
/// Fails if the issuer or unit label is longer than a pass may carry.
pub fn issue(claims: &PassClaims, key: &SigningKey) -> Result<String, PassError> {
    if claims.issuer.is_empty() || claims.issuer.len() > MAX_ISSUER_LEN {
        return Err(PassError::BadClaims(format!("issuer {:?} must be 1 to {MAX_ISSUER_LEN} bytes", claims.issuer)));
    }
    if claims.unit.len() > MAX_UNIT_LEN || claims.unit.chars().any(char::is_control) {
        return Err(PassError::BadClaims(format!(
            "unit label {:?} must be at most {MAX_UNIT_LEN} bytes without control characters",
            claims.unit
        )));
    }
    if claims.expires_at <= claims.not_before {
        return Err(PassError::BadClaims("exp must be after nbf".into()));
    }
    let kid = KeyId::of(&key.verifying_key());
    let protected = HeaderBuilder::new().algorithm(iana::Algorithm::EdDSA).key_id(kid.0.to_vec()).build();
    if claims.holder.is_some() && !claims.flags.has(PassFlags::PHONE) {
        return Err(PassError::BadClaims("a pass bound to a holder key must be a phone pass".into()));
    }
    let mut private = vec![
        Value::Integer((claims.role as i64).into()),
        Value::Text(claims.unit.clone()),
        Value::Integer(claims.flags.0.into()),
    ];
    if let Some(h) = &claims.holder {
        private.push(Value::Bytes(h.to_wire()));
    }
    let private = Value::Array(private);
    let cwt = ClaimsSetBuilder::new()
        .issuer(claims.issuer.clone())
        .cwt_id(claims.pass_id.0.to_vec())
        .issued_at(Timestamp::WholeSeconds(claims.issued_at))
        .not_before(Timestamp::WholeSeconds(claims.not_before))
        .expiration_time(Timestamp::WholeSeconds(claims.expires_at))
        .private_claim(CLAIM_SHOUMEN, private)
        .build();
    // Encoding our own well-formed claims cannot fail.
    let payload = cwt.to_vec().expect("CWT claims encode");
    let sign1 = CoseSign1Builder::new()
        .protected(protected)
        .payload(payload)
        .create_signature(&[], |data| key.sign(data).to_bytes().to_vec())
        .build();
    // Untagged: the `SM1:` prefix already says what follows, and the tag
    // would cost a byte of the QR budget.
    let bytes = sign1.to_vec().expect("COSE_Sign1 encodes");
    Ok(format!("{PREFIX}{}", base45::encode(&bytes)))
}

/// Checks what a kiosk read, a printed pass (`SM1:`) or a phone's rotating
/// code (`SMR:`): the signatures, then the claims, then the pass's validity
/// window, then the code's time.
///
/// `now` is unix seconds; `leeway` seconds are granted on both ends of the
/// pass's window because the kiosk's clock may drift between syncs. A code's
/// own window is [`CODE_WINDOW_S`], and a phone pass is refused without one.
pub fn verify(text: &str, trust: &TrustList, now: i64, leeway: i64) -> Result<PassClaims, PassError> {
    let (claims, code_time) = open(text, trust)?;
    if now + leeway < claims.not_before {
        return Err(PassError::NotYetValid { not_before: claims.not_before });
    }
    if now - leeway >= claims.expires_at {
        return Err(PassError::Expired { expires_at: claims.expires_at });
    }
    match code_time {
        Some(made_at) if (now - made_at).abs() > CODE_WINDOW_S => Err(PassError::CodeExpired { made_at, now }),
        None if claims.flags.has(PassFlags::PHONE) => Err(PassError::CodeRequired),
        _ => Ok(claims),
    }
}

/// Checks the signatures and decodes the claims, without looking at the
/// time: of a printed pass, or of a rotating code and the pass inside it.
///
/// Nothing in the payload is parsed before the signature has verified.
pub fn verify_signature(text: &str, trust: &TrustList) -> Result<PassClaims, PassError> {
    open(text, trust).map(|(claims, _)| claims)
}

/// The claims, and the code's time if `text` is a rotating code: both
/// signatures checked, no time looked at (the kiosk's checks when it cannot
/// vouch for its clock).
pub fn open(text: &str, trust: &TrustList) -> Result<(PassClaims, Option<i64>), PassError> {
    // Scanners and text files add line endings; they are never part of a pass.
    let text = text.trim_end_matches(['\r', '\n']);
    if text.len() > MAX_PASS_TEXT {
        return Err(PassError::Oversized { len: text.len(), max: MAX_PASS_TEXT });
    }
    if let Some(code) = holder::split(text)? {
        let claims = verify_cose(&code.pass_cose, trust)?;
        let key = claims.holder.as_ref().ok_or_else(|| {
            PassError::BadClaims("a rotating code must carry a phone pass bound to its holder".into())
        })?;
        holder::check_holder(&code, key)?;
        return Ok((claims, Some(code.time_s)));
    }
    let body = text.strip_prefix(PREFIX).ok_or(PassError::WrongPrefix)?;
    Ok((verify_cose(&base45::decode(body)?, trust)?, None))
}

/// The COSE_Sign1 bytes of a pass: the community's signature, then the claims.
fn verify_cose(bytes: &[u8], trust: &TrustList) -> Result<PassClaims, PassError> {
    let sign1 = CoseSign1::from_tagged_slice(bytes)
        .or_else(|_| CoseSign1::from_slice(bytes))
        .map_err(|e| PassError::Malformed(e.to_string()))?;

    match &sign1.protected.header.alg {
        Some(RegisteredLabelWithPrivate::Assigned(iana::Algorithm::EdDSA)) => {}
        Some(other) => return Err(PassError::UnsupportedAlgorithm(format!("{other:?}"))),
        None => return Err(PassError::UnsupportedAlgorithm("none".into())),
    }
    let kid = KeyId::from_slice(&sign1.protected.header.key_id).ok_or(PassError::MissingKeyId)?;
    let trusted = trust.get(&kid).ok_or(PassError::UnknownKey(kid))?;

    sign1
        .verify_signature(&[], |sig, data| {
            let sig: [u8; 64] = sig.try_into().map_err(|_| ())?;
            trusted.key.verify_strict(data, &Signature::from_bytes(&sig)).map_err(|_| ())
        })
        .map_err(|_| PassError::BadSignature)?;

    // From here on the payload is authentic.
    let payload = sign1.payload.as_deref().ok_or_else(|| PassError::BadClaims("no payload".into()))?;
    let claims = decode_claims(payload)?;
    if claims.issuer != trusted.issuer {
        return Err(PassError::WrongIssuer { expected: trusted.issuer.clone(), found: claims.issuer, kid });
    }
    Ok(claims)
}

fn decode_claims(payload: &[u8]) -> Result<PassClaims, PassError> {
    let bad = |what: &str| PassError::BadClaims(what.to_string());
    let cwt = ClaimsSet::from_slice(payload).map_err(|e| PassError::BadClaims(e.to_string()))?;
    let issuer = cwt.issuer.clone().ok_or_else(|| bad("no issuer (iss)"))?;
    if issuer.is_empty() || issuer.len() > MAX_ISSUER_LEN {
        return Err(bad("issuer is empty or too long"));
    }
    let pass_id: [u8; PassId::LEN] = cwt
        .cwt_id
        .as_deref()
        .ok_or_else(|| bad("no pass id (cti)"))?
        .try_into()
        .map_err(|_| bad("pass id (cti) has the wrong length"))?;
    let seconds = |t: &Option<Timestamp>, name: &str| match t {
        Some(Timestamp::WholeSeconds(s)) => Ok(*s),
        Some(Timestamp::FractionalSeconds(_)) => Err(bad(&format!("{name} must be whole seconds"))),
        None => Err(bad(&format!("no {name}"))),
    };
    let issued_at = seconds(&cwt.issued_at, "iat")?;
    let not_before = seconds(&cwt.not_before, "nbf")?;
    let expires_at = seconds(&cwt.expiration_time, "exp")?;
    if expires_at <= not_before {
        return Err(bad("exp is not after nbf"));
    }

    let private = cwt
        .rest
        .iter()
        .find(|(name, _)| *name == ClaimName::PrivateUse(CLAIM_SHOUMEN))
        .map(|(_, v)| v)
        .ok_or_else(|| bad("no role/unit/flags claim"))?;
    let Value::Array(items) = private else {
        return Err(bad("role/unit/flags claim is not an array"));
    };
    let (fields, holder) = match items.as_slice() {
        [a, b, c] => ([a, b, c], None),
        [a, b, c, Value::Bytes(key)] => ([a, b, c], Some(HolderKey::from_wire(key).map_err(|e| bad(&e))?)),
        _ => return Err(bad("role/unit/flags claim has the wrong shape")),
    };
    let [Value::Integer(role), Value::Text(unit), Value::Integer(flags)] = fields else {
        return Err(bad("role/unit/flags claim has the wrong shape"));
    };
    let role = Role::from_wire(i128::from(*role)).ok_or_else(|| bad("unknown role"))?;
    if unit.len() > MAX_UNIT_LEN || unit.chars().any(char::is_control) {
        return Err(bad("unit label too long or has control characters"));
    }
    let flags = u32::try_from(i128::from(*flags)).map_err(|_| bad("flags out of range"))?;
    Ok(PassClaims {
        issuer,
        pass_id: PassId(pass_id),
        issued_at,
        not_before,
        expires_at,
        role,
        unit: unit.clone(),
        flags: PassFlags(flags),
        holder,
    })
}
