//! Phone passes bound to a holder key, shown as rotating codes.

use ed25519_dalek::SigningKey;
use p256::ecdsa::signature::Signer;
use shoumen_protocol::holder::{self, HolderKey, CODE_WINDOW_S};
use shoumen_protocol::pass::{self, PassClaims, PassFlags};
use shoumen_protocol::{testkit, TrustList, TrustedKey};

const NOW: i64 = testkit::VECTOR_NOW;

fn trust() -> TrustList {
    let key = testkit::key_from_byte(1);
    TrustList::new(vec![TrustedKey { issuer: "demo-garden".into(), key: key.verifying_key() }])
}

fn phone_pass(holder: Option<HolderKey>) -> String {
    let claims = PassClaims { flags: PassFlags(PassFlags::PHONE), holder, ..testkit::resident_claims(NOW) };
    pass::issue(&claims, &testkit::key_from_byte(1)).unwrap()
}

fn ed_holder(b: u8) -> (SigningKey, HolderKey) {
    let k = SigningKey::from_bytes(&[b; 32]);
    let h = HolderKey::from_webcrypto("Ed25519", k.verifying_key().as_bytes()).unwrap();
    (k, h)
}

fn code_at(pass_text: &str, key: &SigningKey, t: i64) -> String {
    holder::make_code_ed25519(pass_text, t, key).unwrap()
}

#[test]
fn the_current_code_is_allowed_and_carries_the_pass() {
    let (k, h) = ed_holder(9);
    let text = phone_pass(Some(h));
    let claims = pass::verify(&code_at(&text, &k, NOW), &trust(), NOW, 300).unwrap();
    assert_eq!(claims.holder, Some(h));
    assert_eq!(claims.unit, "3-502");
    assert!(claims.flags.has(PassFlags::PHONE));
}

#[test]
fn a_code_is_refused_once_older_than_the_window_and_when_from_the_future() {
    let (k, h) = ed_holder(9);
    let text = phone_pass(Some(h));
    for (age, ok) in [
        (0, true),
        (CODE_WINDOW_S, true),
        (-CODE_WINDOW_S, true),
        (40, false),
        (CODE_WINDOW_S + 1, false),
        (-40, false),
        (3600, false),
    ] {
        let got = pass::verify(&code_at(&text, &k, NOW - age), &trust(), NOW, 300);
        match (ok, got) {
            (true, Ok(_)) => {}
            (false, Err(e)) => assert_eq!(e.code(), "code_expired", "age {age}: {e}"),
            (ok, got) => panic!("age {age}: expected ok={ok}, got {got:?}"),
        }
    }
    // The pass's own leeway does not widen the code's window.
    assert_eq!(pass::verify(&code_at(&text, &k, NOW - 40), &trust(), NOW, 3600).unwrap_err().code(), "code_expired");
}

#[test]
fn a_phone_pass_shown_as_a_static_picture_is_refused() {
    let (_, h) = ed_holder(9);
    let err = pass::verify(&phone_pass(Some(h)), &trust(), NOW, 300).unwrap_err();
    assert_eq!(err.code(), "code_expired");
    assert!(err.to_string().contains("live code"), "{err}");
    // Before it is bound, too: an unbound phone pass never opens a gate.
    assert_eq!(pass::verify(&phone_pass(None), &trust(), NOW, 300).unwrap_err().code(), "code_expired");
    // A card is unaffected.
    let card = pass::issue(&testkit::resident_claims(NOW), &testkit::key_from_byte(1)).unwrap();
    assert!(pass::verify(&card, &trust(), NOW, 300).is_ok());
}

#[test]
fn another_phone_cannot_sign_for_the_pass() {
    let (_, h) = ed_holder(9);
    let (other, _) = ed_holder(10);
    let text = phone_pass(Some(h));
    let err = pass::verify(&code_at(&text, &other, NOW), &trust(), NOW, 300).unwrap_err();
    assert_eq!(err.code(), "bad_signature", "{err}");
}

#[test]
fn a_code_with_a_changed_time_or_pass_is_refused() {
    let (k, h) = ed_holder(9);
    let text = phone_pass(Some(h));
    let good = code_at(&text, &k, NOW - 40);
    // Re-encode the same bytes with the time moved to now: the signature fails.
    let mut bytes = shoumen_protocol::base45::decode(&good["SMR:".len()..]).unwrap();
    bytes[..4].copy_from_slice(&(NOW as u32).to_be_bytes());
    let moved = format!("SMR:{}", shoumen_protocol::base45::encode(&bytes));
    assert_eq!(pass::verify(&moved, &trust(), NOW, 300).unwrap_err().code(), "bad_signature");
    // Any flipped byte of the pass inside: refused, never allowed.
    let mut refused = 0;
    for i in 68..bytes.len() {
        let mut b = shoumen_protocol::base45::decode(&good["SMR:".len()..]).unwrap();
        b[i] ^= 0x01;
        let text = format!("SMR:{}", shoumen_protocol::base45::encode(&b));
        assert!(pass::verify(&text, &trust(), NOW - 40, 300).is_err(), "byte {i} flipped was accepted");
        refused += 1;
    }
    assert!(refused > 100);
    // Truncated and empty codes are "not a pass", not a panic.
    for text in ["SMR:", "SMR:00", &good[..40]] {
        assert_eq!(pass::verify(text, &trust(), NOW, 300).unwrap_err().code(), "not_a_pass", "{text}");
    }
}

#[test]
fn a_card_inside_a_code_is_refused() {
    let card = pass::issue(&testkit::resident_claims(NOW), &testkit::key_from_byte(1)).unwrap();
    let (k, _) = ed_holder(9);
    assert_eq!(pass::verify(&code_at(&card, &k, NOW), &trust(), NOW, 300).unwrap_err().code(), "bad_claims");
}

#[test]
fn a_p256_holder_as_webcrypto_makes_it() {
    let sk = p256::ecdsa::SigningKey::from_slice(&[7u8; 32]).unwrap();
    let uncompressed = sk.verifying_key().to_encoded_point(false);
    assert_eq!(uncompressed.as_bytes().len(), 65);
    let h = HolderKey::from_webcrypto("P-256", uncompressed.as_bytes()).unwrap();
    assert_eq!(h.to_wire().len(), 33, "kept compressed");
    let text = phone_pass(Some(h));
    let sign = |m: &[u8]| -> [u8; 64] {
        let sig: p256::ecdsa::Signature = sk.sign(m);
        sig.to_bytes().into()
    };
    let code = holder::make_code(&text, NOW, sign).unwrap();
    assert_eq!(pass::verify(&code, &trust(), NOW, 300).unwrap().holder, Some(h));
    let old = holder::make_code(&text, NOW - 40, sign).unwrap();
    assert_eq!(pass::verify(&old, &trust(), NOW, 300).unwrap_err().code(), "code_expired");
}

#[test]
fn holder_keys_are_checked_and_round_trip() {
    assert!(HolderKey::from_webcrypto("Ed25519", &[0u8; 31]).is_err());
    assert!(HolderKey::from_webcrypto("P-256", &[4u8; 65]).is_err(), "not a point");
    assert!(HolderKey::from_webcrypto("RSA", &[0u8; 32]).unwrap_err().contains("RSA"));
    let (_, h) = ed_holder(9);
    let json = serde_json::to_string(&h).unwrap();
    assert!(json.starts_with("\"Ed25519:"), "{json}");
    assert_eq!(serde_json::from_str::<HolderKey>(&json).unwrap(), h);
    // A key without the phone flag is refused at issue.
    let claims = PassClaims { holder: Some(h), ..testkit::resident_claims(NOW) };
    assert!(pass::issue(&claims, &testkit::key_from_byte(1)).is_err());
}

#[test]
fn a_rotating_code_fits_a_qr_code_at_ecc_m() {
    // Reported in the closing note: the version a phone shows.
    let (k, h) = ed_holder(9);
    let code = code_at(&phone_pass(Some(h)), &k, NOW);
    let qr = qrcode::QrCode::with_error_correction_level(code.as_bytes(), qrcode::EcLevel::M).unwrap();
    let card = pass::issue(&testkit::resident_claims(NOW), &testkit::key_from_byte(1)).unwrap();
    let card_qr = qrcode::QrCode::with_error_correction_level(card.as_bytes(), qrcode::EcLevel::M).unwrap();
    println!("card {} chars, {:?}; phone code {} chars, {:?}", card.len(), card_qr.version(), code.len(), qr.version());
    assert!(code.len() < pass::MAX_PASS_TEXT);
    assert!(matches!(qr.version(), qrcode::Version::Normal(v) if v <= 12), "{:?}", qr.version());
}
