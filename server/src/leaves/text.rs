//! Text from outside made safe to store and show.

/// Text from a kiosk made safe to store and show: no control characters
/// (newlines, bidi overrides), at most `max` characters.
pub fn clean(text: &str, max: usize) -> String {
    text.chars().filter(|c| !c.is_control() && !is_bidi_control(*c)).take(max).collect()
}

/// Unicode's explicit direction controls (U+202A–202E, U+2066–2069) and
/// the marks, which can make a label read differently from what it is.
pub fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{200E}' | '\u{200F}' | '\u{061C}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// A unit label as people write it, in one form: full-width digits,
/// letters and dashes made plain, and the building / entrance / room
/// forms ("3号楼2单元502室", "3栋502", "A座1201", "2－102") written as
/// their numbers joined by "-" ("3-2-502", "3-502", "A-1201", "2-102").
/// A label with any other words ("东区3-502") is kept as typed, made
/// plain only: the committee's own scheme.
pub fn normalize_unit(unit: &str) -> String {
    let plain: String = unit
        .trim()
        .chars()
        .map(|c| match c {
            '０'..='９' | 'Ａ'..='Ｚ' | 'ａ'..='ｚ' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            '－' | '—' | '–' | '‐' | '−' | '﹣' => '-',
            '\u{3000}' => ' ',
            c => c,
        })
        .collect();
    // Words that only separate numbers: building, entrance, room.
    const SEPARATORS: [&str; 10] = ["号楼", "单元", "栋", "幢", "座", "楼", "室", "号", "#", "/"];
    let mut parts: Vec<String> = vec![String::new()];
    let mut rest = plain.as_str();
    while let Some(c) = rest.chars().next() {
        if c.is_ascii_alphanumeric() {
            parts.last_mut().expect("one part at least").push(c);
            rest = &rest[c.len_utf8()..];
        } else if let Some(sep) = SEPARATORS.iter().find(|s| rest.starts_with(*s)) {
            parts.push(String::new());
            rest = &rest[sep.len()..];
        } else if c == '-' || c.is_whitespace() {
            parts.push(String::new());
            rest = &rest[c.len_utf8()..];
        } else {
            return plain;
        }
    }
    let parts: Vec<String> = parts.into_iter().filter(|p| !p.is_empty()).collect();
    parts.join("-")
}

/// Units in the order people count them: "1-101" before "1-1001", "2-3"
/// before "10-1" (numbers compared as numbers, the rest as text).
pub fn natural_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    fn chunks(s: &str) -> Vec<(bool, &str)> {
        let mut out = Vec::new();
        let mut start = 0;
        let bytes = s.as_bytes();
        for i in 1..=bytes.len() {
            let edge = i == bytes.len() || bytes[i].is_ascii_digit() != bytes[start].is_ascii_digit();
            if edge && s.is_char_boundary(start) && s.is_char_boundary(i) {
                out.push((bytes[start].is_ascii_digit(), &s[start..i]));
                start = i;
            }
        }
        out
    }
    let (ca, cb) = (chunks(a), chunks(b));
    for (x, y) in ca.iter().zip(&cb) {
        let order = match (x, y) {
            ((true, x), (true, y)) => {
                let (x, y) = (x.trim_start_matches('0'), y.trim_start_matches('0'));
                x.len().cmp(&y.len()).then_with(|| x.cmp(y))
            }
            ((_, x), (_, y)) => x.cmp(y),
        };
        if order != std::cmp::Ordering::Equal {
            return order;
        }
    }
    ca.len().cmp(&cb.len()).then_with(|| a.cmp(b))
}

#[cfg(test)]
mod tests {
    use super::normalize_unit;

    #[test]
    fn units_sort_as_people_count_them() {
        let mut units = vec!["1-1001", "10-1", "1-101", "2-3", "A-1", "1-102", "东区3-502"];
        units.sort_by(|a, b| super::natural_cmp(a, b));
        assert_eq!(units, ["1-101", "1-102", "1-1001", "2-3", "10-1", "A-1", "东区3-502"]);
    }

    #[test]
    fn units_are_written_one_way_however_they_are_typed() {
        for (typed, stored) in [
            ("3-502", "3-502"),
            (" 3-502 ", "3-502"),
            ("2号楼101", "2-101"),
            ("3号楼2单元502室", "3-2-502"),
            ("12栋3单元1101", "12-3-1101"),
            ("2－102", "2-102"),
            ("２－１０２", "2-102"),
            ("A座1201", "A-1201"),
            ("5幢-301", "5-301"),
            ("1-1001", "1-1001"),
            ("东区3-502", "东区3-502"),
            ("", ""),
        ] {
            assert_eq!(normalize_unit(typed), stored, "{typed}");
        }
    }
}
