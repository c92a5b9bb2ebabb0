//! Server-rendered SVG bar charts, shared by the Overview and Trends pages.

use maud::{html, Markup};

/// Bar colours, one per gate (then repeating).
const COLOURS: [&str; 6] = ["#0b5d3b", "#2f80c0", "#c98a1b", "#7b4bb5", "#b3261e", "#5f6b76"];

/// Stacked bars: one bar per label, one colour per series, a legend when
/// there is more than one series. Every bar's title gives its numbers.
/// Drawn twice, for a desktop and for a phone (the page's style shows
/// one): an SVG scales its words with it, so a chart drawn for 720 px
/// would label a phone in 5 px type.
pub fn stacked(id: &str, labels: &[String], series: &[(String, Vec<i64>)]) -> Markup {
    let wide = Shape { width: 720.0, labels_max: 12, totals_max: 40 };
    let narrow = Shape { width: 340.0, labels_max: 7, totals_max: 12 };
    html! {
        (draw(id, "chart wide", &wide, labels, series))
        (draw(&format!("{id}-phone"), "chart narrow", &narrow, labels, series))
        @if series.len() > 1 {
            p.legend {
                @for (s, (name, _)) in series.iter().enumerate() {
                    span style={ "color:" (COLOURS[s % COLOURS.len()]) } { "■" } " " (name) " "
                }
            }
        }
    }
}

/// Type sizes in the drawing's units, which both shapes draw at about
/// one to one: 11 px or more as shown.
const LABEL_PX: f64 = 13.0;
const TOTAL_PX: f64 = 12.0;

/// A chart's drawing size and how much of its words fit: every label up
/// to `labels_max` bars (else every few), totals above the bars up to
/// `totals_max`.
struct Shape {
    width: f64,
    labels_max: usize,
    totals_max: usize,
}

fn draw(id: &str, class: &str, shape: &Shape, labels: &[String], series: &[(String, Vec<i64>)]) -> Markup {
    let n = labels.len().max(1);
    let totals: Vec<i64> = (0..n).map(|i| series.iter().map(|(_, v)| v.get(i).copied().unwrap_or(0)).sum()).collect();
    let max = totals.iter().copied().max().unwrap_or(0).max(1);
    let step = (shape.width - 40.0) / n as f64;
    let bar = (step * 0.8).max(2.0);
    let every = n.div_ceil(shape.labels_max).max(1);
    html! {
        svg id=(id) class=(class) viewBox={ "0 0 " (shape.width) " 200" } role="img"
            style={ "width:100%;max-width:" (shape.width) "px;background:#fff" } {
            @for (i, label) in labels.iter().enumerate() {
                @let x = 30.0 + i as f64 * step;
                @let top = bars(label, i, series, max, x, bar);
                (top.1)
                @if totals[i] > 0 && n <= shape.totals_max {
                    text x=(format!("{x:.1}")) y=(format!("{:.1}", top.0 - 3.0)) font-size=(TOTAL_PX) { (totals[i]) }
                }
                @if i % every == 0 {
                    text x=(format!("{x:.1}")) y="190" font-size=(LABEL_PX) { (label) }
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
