//! Server-rendered SVG bar charts, shared by the Overview and Trends pages.

use maud::{html, Markup};

/// Bar colours, one per gate (then repeating).
const COLOURS: [&str; 6] = ["#0b5d3b", "#2f80c0", "#c98a1b", "#7b4bb5", "#b3261e", "#5f6b76"];

/// Stacked bars: one bar per label, one colour per series, a legend when
/// there is more than one series. Every bar's title gives its numbers.
pub fn stacked(id: &str, labels: &[String], series: &[(String, Vec<i64>)]) -> Markup {
    let n = labels.len().max(1);
    let totals: Vec<i64> = (0..n).map(|i| series.iter().map(|(_, v)| v.get(i).copied().unwrap_or(0)).sum()).collect();
    let max = totals.iter().copied().max().unwrap_or(0).max(1);
    let width = 720;
    let step = (width - 40) as f64 / n as f64;
    let bar = (step * 0.8).max(2.0);
    html! {
        svg id=(id) viewBox={ "0 0 " (width) " 200" } role="img"
            style={ "width:100%;max-width:" (width) "px;background:#fff" } {
            @for (i, label) in labels.iter().enumerate() {
                @let x = 30.0 + i as f64 * step;
                @let top = bars(label, i, series, max, x, bar);
                (top.1)
                @if totals[i] > 0 {
                    text x=(format!("{x:.1}")) y=(format!("{:.1}", top.0 - 3.0)) font-size="9" { (totals[i]) }
                }
                // Every label when there are few, else every third.
                @if n <= 12 || i % 3 == 0 {
                    text x=(format!("{x:.1}")) y="186" font-size="10" { (label) }
                }
            }
        }
        @if series.len() > 1 {
            p.legend {
                @for (s, (name, _)) in series.iter().enumerate() {
                    span style={ "color:" (COLOURS[s % COLOURS.len()]) } { "■" } " " (name) " "
                }
            }
        }
    }
}

/// The stacked rectangles of bar `i`, and the height its top reaches.
fn bars(label: &str, i: usize, series: &[(String, Vec<i64>)], max: i64, x: f64, bar: f64) -> (f64, Markup) {
    let mut y = 170.0;
    let mut out = Vec::new();
    for (s, (name, values)) in series.iter().enumerate() {
        let v = values.get(i).copied().unwrap_or(0);
        if v == 0 {
            continue;
        }
        let h = v as f64 / max as f64 * 150.0;
        y -= h;
        out.push(html! {
            rect x=(format!("{x:.1}")) y=(format!("{y:.1}")) width=(format!("{bar:.1}")) height=(format!("{h:.1}"))
                fill=(COLOURS[s % COLOURS.len()]) { title { (label) " " (name) ": " (v) } }
        });
    }
    (y, html! { @for r in out { (r) } })
}
