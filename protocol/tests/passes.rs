//! Pass format tests: committed vectors, round trips, size.

use proptest::prelude::*;
use serde::Deserialize;
use shoumen_protocol::pass::{self, PassClaims, PassError, PassFlags, PassId, Role};
use shoumen_protocol::{testkit, TrustList, TrustedKey};

#[path = "vectors/render.rs"]
mod render;

#[derive(Deserialize)]
struct Doc {
    now: i64,
    leeway_s: i64,
    trust: Vec<TrustedKey>,
    vectors: Vec<Vector>,
}

#[derive(Deserialize)]
struct Vector {
    name: String,
    text: String,
    expect: String,
    claims: Option<PassClaims>,
}

const COMMITTED: &str = include_str!("vectors/passes.json");

#[test]
fn committed_vectors_give_the_expected_outcome() {
    let doc: Doc = serde_json::from_str(COMMITTED).unwrap();
    let trust = TrustList::new(doc.trust);
    assert_eq!(doc.vectors.len(), 9);
    for v in &doc.vectors {
        let got = pass::verify(&v.text, &trust, doc.now, doc.leeway_s);
        match (&got, v.expect.as_str()) {
            (Ok(claims), "ok") => assert_eq!(Some(claims), v.claims.as_ref(), "{}", v.name),
            (Err(e), code) => assert_eq!(e.code(), code, "{}: {e}", v.name),
            (Ok(_), code) => panic!("{}: accepted, expected {code}", v.name),
        }
    }
}

#[test]
fn committed_vectors_are_reproducible() {
    assert_eq!(render::render(), COMMITTED, "run the make_vectors example and commit the result");
}

#[test]
fn one_changed_character_never_verifies() {
    let key = testkit::key_from_byte(7);
    let claims = testkit::resident_claims(testkit::VECTOR_NOW);
    let trust = TrustList::new(vec![TrustedKey { issuer: claims.issuer.clone(), key: key.verifying_key() }]);
    let text = pass::issue(&claims, &key).unwrap();
    let alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:";
    for pos in pass::PREFIX.len()..text.len() {
        let original = text.as_bytes()[pos] as char;
        let replacement = alphabet.chars().find(|&c| c != original).unwrap();
        let mut tampered = text.clone();
        tampered.replace_range(pos..pos + 1, &replacement.to_string());
        let result = pass::verify(&tampered, &trust, testkit::VECTOR_NOW, 0);
        assert!(result.is_err(), "changing position {pos} was accepted");
    }
}

#[test]
fn issuer_must_match_the_key() {
    let key = testkit::key_from_byte(7);
    let claims = testkit::resident_claims(testkit::VECTOR_NOW);
    let trust = TrustList::new(vec![TrustedKey { issuer: "another-community".into(), key: key.verifying_key() }]);
    let err = pass::verify(&pass::issue(&claims, &key).unwrap(), &trust, testkit::VECTOR_NOW, 0).unwrap_err();
    assert!(matches!(err, PassError::WrongIssuer { .. }), "{err}");
    assert_eq!(err.code(), "unknown_issuer");
}

#[test]
fn leeway_extends_the_window_both_ways() {
    let key = testkit::key_from_byte(7);
    let now = testkit::VECTOR_NOW;
    let claims = PassClaims { not_before: now + 60, expires_at: now + 120, ..testkit::resident_claims(now) };
    let trust = TrustList::new(vec![TrustedKey { issuer: claims.issuer.clone(), key: key.verifying_key() }]);
    let text = pass::issue(&claims, &key).unwrap();
    assert_eq!(pass::verify(&text, &trust, now, 0).unwrap_err().code(), "not_yet_valid");
    assert!(pass::verify(&text, &trust, now, 300).is_ok());
    assert_eq!(pass::verify(&text, &trust, now + 121, 0).unwrap_err().code(), "expired");
}

/// A resident pass must fit a QR code of version 8 at ECC level M, or a
/// 640×480 camera at arm's length cannot read it.
#[test]
fn resident_pass_fits_qr_version_8_at_ecc_m() {
    let key = testkit::key_from_byte(7);
    let mut claims = testkit::resident_claims(testkit::VECTOR_NOW);
    // The longest values a real pass carries.
    claims.issuer = "x".repeat(pass::MAX_ISSUER_LEN);
    claims.unit = "12-3-110".into();
    claims.unit.push_str(&"栋".repeat((pass::MAX_UNIT_LEN - claims.unit.len()) / 3));
    claims.flags = PassFlags(PassFlags::NEEDS_ASSISTANCE | PassFlags::MAY_ESCORT);
    let text = pass::issue(&claims, &key).unwrap();
    let code = qrcode::QrCode::with_error_correction_level(text.as_bytes(), qrcode::EcLevel::M).unwrap();
    let qrcode::Version::Normal(version) = code.version() else { panic!("micro QR") };
    println!("resident pass: {} characters, QR version {version} at ECC M", text.len());
    assert!(version <= 8, "{} characters need QR version {version}", text.len());
    let typical = pass::issue(&testkit::resident_claims(testkit::VECTOR_NOW), &key).unwrap();
    let code = qrcode::QrCode::with_error_correction_level(typical.as_bytes(), qrcode::EcLevel::M).unwrap();
    println!("typical resident pass: {} characters, QR {:?} at ECC M", typical.len(), code.version());
}

fn arb_claims() -> impl Strategy<Value = PassClaims> {
    (
        "[a-z0-9-]{1,12}",
        any::<[u8; 8]>(),
        -1_000_000_000i64..4_000_000_000,
        0i64..1_000_000_000,
        1i64..1_000_000_000,
        prop::sample::select(Role::ALL.to_vec()),
        "[0-9A-Za-z-]{0,12}",
        any::<u32>(),
    )
        .prop_map(|(issuer, id, nbf, before, len, role, unit, flags)| PassClaims {
            issuer,
            pass_id: PassId(id),
            issued_at: nbf - before,
            not_before: nbf,
            expires_at: nbf + len,
            role,
            unit,
            // A phone pass is only valid as a rotating code (tests/holder.rs).
            flags: PassFlags(flags & !PassFlags::PHONE),
            holder: None,
        })
}

proptest! {
    #[test]
    fn issue_then_verify_round_trips(claims in arb_claims(), seed: [u8; 32]) {
        let key = ed25519_dalek::SigningKey::from_bytes(&seed);
        let trust = TrustList::new(vec![TrustedKey { issuer: claims.issuer.clone(), key: key.verifying_key() }]);
        let text = pass::issue(&claims, &key).unwrap();
        prop_assert!(text.starts_with(pass::PREFIX));
        let back = pass::verify(&text, &trust, claims.not_before, 0).unwrap();
        prop_assert_eq!(back, claims);
    }

    #[test]
    fn arbitrary_text_never_panics(text in "SM1:[0-9A-Z $%*+./:-]{0,300}") {
        let trust = TrustList::new(vec![TrustedKey { issuer: "x".into(), key: testkit::key_from_byte(7).verifying_key() }]);
        let _ = pass::verify(&text, &trust, 0, 0);
    }
}
