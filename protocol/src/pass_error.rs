//! How a pass text is refused, and the prefix every pass starts with:
//! shared by the card format (`pass`) and the phone's codes (`holder`),
//! which both parse texts and refuse them the same way.

use thiserror::Error;

use crate::base45::Base45Error;
use crate::trust::KeyId;

/// The text every Shoumen pass starts with (version 1 of the format).
pub const PREFIX: &str = "SM1:";

/// A code is accepted this many seconds either side of the kiosk's clock.
pub const CODE_WINDOW_S: i64 = 30;

/// Why a pass text was refused. Each variant maps to one reason the gate
/// shows; see [`PassError::code`].
#[derive(Debug, Error, PartialEq, Eq)]
pub enum PassError {
    #[error("pass text is {len} bytes long, more than the {max} a pass can be; this is not a Shoumen pass")]
    Oversized { len: usize, max: usize },
    #[error("not a Shoumen pass: it does not start with {PREFIX:?}")]
    WrongPrefix,
    #[error("pass text is not valid base45: {0}")]
    Base45(#[from] Base45Error),
    #[error("pass is damaged or not a COSE_Sign1 structure: {0}")]
    Malformed(String),
    #[error("pass uses signature algorithm {0}, only EdDSA (Ed25519) is accepted")]
    UnsupportedAlgorithm(String),
    #[error("pass has no key id (kid) in its protected header")]
    MissingKeyId,
    #[error("pass was signed with key {0}, which this kiosk does not trust; sync the trust list or check the pass's community")]
    UnknownKey(KeyId),
    #[error("pass signature does not verify: the pass was altered or forged")]
    BadSignature,
    #[error("pass claims issuer {found:?} but key {kid} belongs to {expected:?}")]
    WrongIssuer { expected: String, found: String, kid: KeyId },
    #[error("pass signature is good but its claims are malformed: {0}")]
    BadClaims(String),
    #[error("pass is not valid before {not_before} (unix time)")]
    NotYetValid { not_before: i64 },
    #[error("pass expired at {expires_at} (unix time)")]
    Expired { expires_at: i64 },
    #[error("this phone code was made at {made_at} but the kiosk's clock says {now} (unix time): a code is valid for {CODE_WINDOW_S} s; show the live code on the phone, or check the kiosk's clock")]
    CodeExpired { made_at: i64, now: i64 },
    #[error("this is a phone pass shown as a static picture: it is valid only as the live code on its holder's phone")]
    CodeRequired,
    #[error("the phone code's holder signature does not verify: the code was altered or comes from another phone")]
    BadHolderSignature,
}

impl PassError {
    /// A stable snake_case code, used in entries, JSON output and the UI.
    pub fn code(&self) -> crate::Reason {
        use crate::Reason;
        match self {
            PassError::Oversized { .. } | PassError::WrongPrefix | PassError::Base45(_) | PassError::Malformed(_) => {
                Reason::NotAPass
            }
            PassError::UnsupportedAlgorithm(_) | PassError::MissingKeyId => Reason::UnknownKey,
            PassError::UnknownKey(_) => Reason::UnknownKey,
            PassError::BadSignature | PassError::BadHolderSignature => Reason::BadSignature,
            PassError::WrongIssuer { .. } => Reason::UnknownIssuer,
            PassError::BadClaims(_) => Reason::BadClaims,
            PassError::NotYetValid { .. } => Reason::NotYetValid,
            PassError::Expired { .. } => Reason::Expired,
            PassError::CodeExpired { .. } | PassError::CodeRequired => Reason::CodeExpired,
        }
    }
}
