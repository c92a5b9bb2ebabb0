//! Feeds arbitrary input to the pass parser. Run from `protocol/` with
//! `cargo +nightly fuzz run -s none parse_pass -- -runs=10000000`.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use shoumen_protocol::{base45, pass, testkit, TrustList, TrustedKey};

fn trust() -> &'static TrustList {
    static TRUST: OnceLock<TrustList> = OnceLock::new();
    TRUST.get_or_init(|| {
        TrustList::new(vec![TrustedKey {
            issuer: testkit::resident_claims(0).issuer,
            key: testkit::key_from_byte(7).verifying_key(),
        }])
    })
}

fuzz_target!(|data: &[u8]| {
    let trust = trust();
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = pass::verify(text, trust, testkit::VECTOR_NOW, 300);
    }
    // The same bytes as the COSE layer, skipping base45, so that the fuzzer
    // reaches the CBOR parser without having to discover the encoding.
    let text = format!("{}{}", pass::PREFIX, base45::encode(data));
    let _ = pass::verify(&text, trust, testkit::VECTOR_NOW, 300);
});
