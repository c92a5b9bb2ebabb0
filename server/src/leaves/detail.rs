//! An alert's detail as stored: a words key and its arguments, not a
//! sentence, so the Alerts page, the robot's message and the export each
//! word it in their reader's language. Stored as `@key|arg|arg…`; a detail
//! without the leading `@` is an older row's text, shown as it is.
//!
//! The same detail is the same alert (it only counts up), so a detail
//! names what the alert is about (a unit, a pass), not the moment (a
//! sequence number): three refusals of one pass are one alert of three.

/// One argument: text, a time (Unix ms) worded in the reader's zone, or a
/// pass id (hex: stored whole so repeats fold by the pass, shown short).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Arg {
    Text(String),
    Time(i64),
    Pass(String),
    /// A word of a closed vocabulary (a role, a kind) by its words key.
    Word(String),
}

/// The stored form of a detail of text arguments: `enc("rule_add", &[&id, &place])`.
pub fn enc(key: &str, args: &[&dyn std::fmt::Display]) -> String {
    Detail::new(key, args.iter().map(|a| Arg::Text(a.to_string()))).encode()
}

impl From<&str> for Arg {
    fn from(s: &str) -> Arg {
        Arg::Text(s.to_string())
    }
}

impl From<String> for Arg {
    fn from(s: String) -> Arg {
        Arg::Text(s)
    }
}

/// A detail: the words key (without its `ad_` prefix) and its arguments.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Detail {
    pub key: String,
    pub args: Vec<Arg>,
}

impl Detail {
    pub fn new(key: &str, args: impl IntoIterator<Item = Arg>) -> Detail {
        Detail { key: key.to_string(), args: args.into_iter().collect() }
    }

    /// The stored form. `|` and `@` in a text argument (a unit label, a
    /// kiosk's note) become `/` and `＠`, so it cannot split or forge one.
    pub fn encode(&self) -> String {
        let mut out = format!("@{}", self.key);
        for a in &self.args {
            out.push('|');
            match a {
                Arg::Text(s) => out.push_str(&s.replace('|', "/").replace('@', "＠")),
                Arg::Time(ms) => out.push_str(&format!("@t{ms}")),
                Arg::Pass(hex) => out.push_str(&format!("@p{}", hex.replace(['|', '@'], ""))),
                Arg::Word(key) => out.push_str(&format!("@w{}", key.replace(['|', '@'], ""))),
            }
        }
        out
    }

    /// The detail stored as `s`; `None` for an older row's plain text.
    pub fn decode(s: &str) -> Option<Detail> {
        let rest = s.strip_prefix('@')?;
        let mut parts = rest.split('|');
        let key = parts.next()?.to_string();
        let args = parts
            .map(|p| {
                if let Some(ms) = p.strip_prefix("@t").and_then(|ms| ms.parse().ok()) {
                    Arg::Time(ms)
                } else if let Some(hex) = p.strip_prefix("@p") {
                    Arg::Pass(hex.to_string())
                } else if let Some(key) = p.strip_prefix("@w") {
                    Arg::Word(key.to_string())
                } else {
                    Arg::Text(p.to_string())
                }
            })
            .collect();
        Some(Detail { key, args })
    }

    /// The stored form of the first `n` arguments, ending in a separator:
    /// what every detail about the same subject starts with.
    pub fn prefix(&self, n: usize) -> String {
        let head = Detail { key: self.key.clone(), args: self.args.iter().take(n).cloned().collect() };
        head.encode() + "|"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_detail_survives_storage_and_a_unit_label_cannot_split_it() {
        let d = Detail::new(
            "gate_quarantine_exit",
            [Arg::from("3|502@x"), Arg::Pass("00ab".into()), Arg::Time(1_700_000_000_000)],
        );
        let stored = d.encode();
        assert_eq!(stored, "@gate_quarantine_exit|3/502＠x|@p00ab|@t1700000000000");
        let back = Detail::decode(&stored).unwrap();
        assert_eq!(back.args, vec![Arg::from("3/502＠x"), Arg::Pass("00ab".into()), Arg::Time(1_700_000_000_000)]);
        assert_eq!(Detail::decode("seq 23, pass fe88"), None, "an older row's text");
        assert!(stored.starts_with(&d.prefix(1)));
    }
}
