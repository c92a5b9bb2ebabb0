//! CSV in chunks, defused for spreadsheets.

/// CSV handed to a sink about 64 KiB at a time; the sink returns false to
/// stop (the reader went away), and then nothing more is sent.
pub struct CsvChunks<'a> {
    out: String,
    open: bool,
    sink: &'a mut dyn FnMut(String) -> bool,
}

impl<'a> CsvChunks<'a> {
    pub fn new(header: &str, sink: &'a mut dyn FnMut(String) -> bool) -> CsvChunks<'a> {
        CsvChunks { out: format!("{header}\n"), open: true, sink }
    }

    /// Adds a line of fields (quoted and defused); false once the reader
    /// has gone.
    pub fn row(&mut self, fields: &[String]) -> bool {
        let line: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
        self.out.push_str(&line.join(","));
        self.out.push('\n');
        if self.out.len() >= 64 << 10 {
            self.open = (self.sink)(std::mem::take(&mut self.out));
        }
        self.open
    }

    /// Sends what is left.
    pub fn finish(mut self) {
        if self.open && !self.out.is_empty() {
            (self.sink)(std::mem::take(&mut self.out));
        }
    }
}

/// Quotes a CSV field, and defuses spreadsheet formulas (`=`, `+`, `-`, `@`,
/// and a leading tab or carriage return, which spreadsheets skip).
pub fn csv_field(s: &str) -> String {
    let s = if s.starts_with(['=', '+', '-', '@', '\t', '\r']) && s.parse::<f64>().is_err() {
        format!("'{s}")
    } else {
        s.to_string()
    };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quotes_and_defuses_formulas() {
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("=HYPERLINK(1)"), "'=HYPERLINK(1)");
        assert_eq!(csv_field("\t=1+1"), "'\t=1+1");
        assert_eq!(csv_field("\r=1+1"), "\"'\r=1+1\"");
        assert_eq!(csv_field("-3.5"), "-3.5");
    }
}
