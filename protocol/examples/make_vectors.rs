//! Writes `tests/vectors/passes.json`. The signatures are deterministic
//! (Ed25519), so running this again must reproduce the committed file; the
//! `vectors` test checks that.
//!
//!     cargo run -p shoumen-protocol --example make_vectors > protocol/tests/vectors/passes.json

fn main() {
    print!("{}", shoumen_protocol_vectors::render());
}

#[path = "../tests/vectors/render.rs"]
mod shoumen_protocol_vectors;
