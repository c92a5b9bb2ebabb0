//! Base45 (RFC 9285): the encoding that keeps a QR code in alphanumeric mode.

use thiserror::Error;

const ALPHABET: &[u8; 45] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:";

/// Why a text is not valid base45.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum Base45Error {
    #[error("character {0:?} at position {1} is not in the base45 alphabet (0-9, A-Z, space, $%*+-./:)")]
    BadCharacter(char, usize),
    #[error("base45 text has a dangling single character at the end (its length must not be 1 mod 3)")]
    DanglingCharacter,
    #[error("base45 group at position {0} encodes a value larger than its byte width allows")]
    Overflow(usize),
}

/// Encodes bytes as base45 text.
pub fn encode(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len().div_ceil(2) * 3);
    for chunk in data.chunks(2) {
        if let [a, b] = *chunk {
            let mut n = (a as u32) * 256 + b as u32;
            for _ in 0..3 {
                out.push(ALPHABET[(n % 45) as usize] as char);
                n /= 45;
            }
        } else {
            let mut n = chunk[0] as u32;
            for _ in 0..2 {
                out.push(ALPHABET[(n % 45) as usize] as char);
                n /= 45;
            }
        }
    }
    out
}

fn value_of(c: u8, pos: usize) -> Result<u32, Base45Error> {
    ALPHABET.iter().position(|&a| a == c).map(|v| v as u32).ok_or(Base45Error::BadCharacter(c as char, pos))
}

/// Decodes base45 text, rejecting anything RFC 9285 does not allow.
pub fn decode(text: &str) -> Result<Vec<u8>, Base45Error> {
    if let Some((pos, c)) = text.char_indices().find(|(_, c)| !c.is_ascii()) {
        return Err(Base45Error::BadCharacter(c, pos));
    }
    let bytes = text.as_bytes();
    if bytes.len() % 3 == 1 {
        return Err(Base45Error::DanglingCharacter);
    }
    let mut out = Vec::with_capacity(bytes.len() / 3 * 2 + 1);
    for (i, chunk) in bytes.chunks(3).enumerate() {
        let pos = i * 3;
        let mut n = 0u32;
        let mut weight = 1u32;
        for (j, &c) in chunk.iter().enumerate() {
            n += value_of(c, pos + j)? * weight;
            weight *= 45;
        }
        if chunk.len() == 3 {
            if n > 0xFFFF {
                return Err(Base45Error::Overflow(pos));
            }
            out.extend_from_slice(&[(n >> 8) as u8, n as u8]);
        } else {
            if n > 0xFF {
                return Err(Base45Error::Overflow(pos));
            }
            out.push(n as u8);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    // The examples of RFC 9285 section 4.
    #[test]
    fn rfc_9285_examples() {
        assert_eq!(encode(b"AB"), "BB8");
        assert_eq!(encode(b"Hello!!"), "%69 VD92EX0");
        assert_eq!(encode(b"base-45"), "UJCLQE7W581");
        assert_eq!(decode("QED8WEX0").unwrap(), b"ietf!");
    }

    #[test]
    fn rejects_bad_input() {
        assert_eq!(decode("GGW"), Err(Base45Error::Overflow(0)));
        assert_eq!(decode("ab"), Err(Base45Error::BadCharacter('a', 0)));
        assert_eq!(decode("BB8B"), Err(Base45Error::DanglingCharacter));
        assert_eq!(decode("BB8é"), Err(Base45Error::BadCharacter('é', 3)));
    }

    proptest::proptest! {
        #[test]
        fn round_trip(data: Vec<u8>) {
            proptest::prop_assert_eq!(decode(&encode(&data)).unwrap(), data);
        }
    }
}
