//! Feeds arbitrary text to the pass parser. Run with
//! `cargo +nightly fuzz run parse_pass` from `protocol/`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use shoumen_protocol::{base45, pass, testkit, TrustList, TrustedKey};

fuzz_target!(|data: &[u8]| {
    let trust = TrustList::new(vec![TrustedKey {
        issuer: testkit::resident_claims(0).issuer,
        key: testkit::key_from_byte(7).verifying_key(),
    }]);
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = pass::verify(text, &trust, testkit::VECTOR_NOW, 300);
        // The fuzzer mutates base45 bodies better when it need not find the prefix.
        let _ = pass::verify(&format!("{}{text}", pass::PREFIX), &trust, testkit::VECTOR_NOW, 300);
    }
    // Decoded CBOR with a valid prefix, skipping the base45 layer.
    let text = format!("{}{}", pass::PREFIX, base45::encode(data));
    let _ = pass::verify(&text, &trust, testkit::VECTOR_NOW, 300);
});
