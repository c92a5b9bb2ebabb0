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
