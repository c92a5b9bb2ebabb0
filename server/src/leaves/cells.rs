//! Labels for table cells, so a table can become a stack of cards on a
//! phone: each `<td>` of a table gets `data-label="…"` with the text of
//! its column's heading, and the page's style shows it before the value
//! below a phone's width (frame.rs). Tables are written once, as tables;
//! this adds the labels to the finished page, so no page repeats its
//! headings by hand and a new column is labelled by its heading alone.
//!
//! It reads only what the pages write (maud's output): a table's first
//! row of `<th>` cells is its heading; `colspan` is counted; a cell that
//! already has a `data-label` keeps it; a nested table is left alone.

/// `html` with every data cell of every table labelled by its heading.
pub fn label_cells(html: &str) -> String {
    let mut out = String::with_capacity(html.len() + html.len() / 8);
    let mut rest = html;
    while let Some(at) = rest.find("<table") {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        let Some(end) = rest.find("</table>").map(|e| e + "</table>".len()) else { break };
        let table = &rest[..end];
        if table[1..].contains("<table") {
            out.push_str(table);
        } else {
            out.push_str(&label_table(table));
        }
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

fn label_table(table: &str) -> String {
    let rows: Vec<&str> = table.split("<tr").collect();
    let Some(head) = rows.iter().skip(1).find(|r| r.contains("<th") && !r.contains("<td")) else {
        return table.to_string();
    };
    let headings = cells(head, "<th");
    let mut out = String::from(rows[0]);
    for row in &rows[1..] {
        out.push_str("<tr");
        if !row.contains("<td") {
            out.push_str(row);
            continue;
        }
        let mut col = 0;
        let mut rest = *row;
        while let Some(at) = rest.find("<td") {
            let (before, tag_on) = rest.split_at(at);
            out.push_str(before);
            let tag_end = tag_on.find('>').unwrap_or(tag_on.len());
            let tag = &tag_on[..tag_end];
            let label = headings.get(col).map(String::as_str).unwrap_or("");
            out.push_str("<td");
            if !label.is_empty() && !tag.contains("data-label") {
                out.push_str(&format!(" data-label=\"{}\"", escape(label)));
            }
            out.push_str(&tag[3..]);
            col += span(tag);
            rest = &tag_on[tag_end..];
        }
        out.push_str(rest);
    }
    out
}

/// The text of each cell opened by `open` (`<th`), one entry per column
/// it spans.
fn cells(row: &str, open: &str) -> Vec<String> {
    let mut out = Vec::new();
    for part in row.split(open).skip(1) {
        let tag_end = part.find('>').unwrap_or(part.len());
        let body = &part[(tag_end + 1).min(part.len())..];
        let body = body.split("</th>").next().unwrap_or("");
        let text = text_of(body);
        for _ in 0..span(&part[..tag_end]) {
            out.push(text.clone());
        }
    }
    out
}

/// How many columns a cell's opening tag spans.
fn span(tag: &str) -> usize {
    tag.split("colspan=\"").nth(1).and_then(|s| s.split('"').next()).and_then(|n| n.parse().ok()).unwrap_or(1).max(1)
}

/// The visible text of an HTML fragment: tags dropped, entities kept.
fn text_of(html: &str) -> String {
    let mut text = String::new();
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => text.push(c),
            _ => {}
        }
    }
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The text is already escaped HTML (entities kept); only a quote would
/// end the attribute.
fn escape(text: &str) -> String {
    text.replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::label_cells;

    #[test]
    fn every_cell_is_labelled_by_its_column_heading() {
        let page = r#"<p>x</p><table id="t"><tr><th>房号</th><th colspan="2">时间 &amp; 地点</th><th></th></tr><tr data-a="1"><td>3-502</td><td class="bad">08:00</td><td>北门</td><td><form><button>确认</button></form></td></tr></table><p>y</p>"#;
        let out = label_cells(page);
        assert!(out.contains(r#"<td data-label="房号">3-502</td>"#), "{out}");
        assert!(out.contains(r#"<td data-label="时间 &amp; 地点" class="bad">08:00</td>"#), "{out}");
        assert!(out.contains(r#"<td data-label="时间 &amp; 地点">北门</td>"#), "{out}");
        assert!(out.contains(r#"<td><form>"#), "an empty heading labels nothing: {out}");
        assert!(out.starts_with("<p>x</p><table id=\"t\"><tr><th>") && out.ends_with("</table><p>y</p>"));
        let plain = "<table><tr><td>a</td></tr></table>";
        assert_eq!(label_cells(plain), plain, "no heading, no labels");
    }
}
