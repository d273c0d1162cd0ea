//! Charts drawn on the server as inline SVG: no script, no chart library, and
//! the numbers are also in the page as text for screen readers.

use std::fmt::Write;

use crate::site::summary::DayCount;

const VISITORS: &str = "#2f6f62";
const VIEWS: &str = "#9cc5b8";

fn esc(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A round maximum for the axis: 1, 2 or 5 times a power of ten.
fn nice_max(value: i64) -> i64 {
    let value = value.max(1);
    let mut step = 1;
    loop {
        for m in [1, 2, 5] {
            if step * m >= value {
                return step * m;
            }
        }
        step *= 10;
    }
}

/// Page views as bars and visitors as a line, one slot per day.
pub fn daily(days: &[DayCount]) -> String {
    let (w, h, left, bottom, top) = (720.0, 240.0, 44.0, 28.0, 12.0);
    let max = nice_max(
        days.iter()
            .map(|d| d.pageviews.max(d.visitors))
            .max()
            .unwrap_or(0),
    );
    let plot_w = w - left - 8.0;
    let plot_h = h - bottom - top;
    let n = days.len().max(1) as f64;
    let slot = plot_w / n;
    let y = |v: i64| top + plot_h - (v as f64 / max as f64) * plot_h;
    let mut svg = String::new();
    let _ = write!(
        svg,
        "<svg class=\"chart\" viewBox=\"0 0 {w} {h}\" role=\"img\" aria-label=\"Visitors and page views per day\" xmlns=\"http://www.w3.org/2000/svg\">"
    );
    for i in 0..=4 {
        let v = max * i / 4;
        let yy = y(v);
        let _ = write!(
            svg,
            "<line x1=\"{left}\" x2=\"{}\" y1=\"{yy:.1}\" y2=\"{yy:.1}\" stroke=\"#e4e1da\"/><text x=\"{}\" y=\"{:.1}\" font-size=\"11\" text-anchor=\"end\" fill=\"#55636a\">{v}</text>",
            w - 8.0,
            left - 6.0,
            yy + 4.0
        );
    }
    let bar_w = (slot * 0.7).max(1.0);
    for (i, d) in days.iter().enumerate() {
        let x = left + slot * i as f64 + (slot - bar_w) / 2.0;
        let top_y = y(d.pageviews);
        let _ = write!(
            svg,
            "<rect x=\"{x:.1}\" y=\"{top_y:.1}\" width=\"{bar_w:.1}\" height=\"{:.1}\" rx=\"2\" fill=\"{VIEWS}\"><title>{}: {} page views, {} visitors</title></rect>",
            top + plot_h - top_y,
            d.date,
            d.pageviews,
            d.visitors
        );
    }
    let points: Vec<String> = days
        .iter()
        .enumerate()
        .map(|(i, d)| format!("{:.1},{:.1}", left + slot * (i as f64 + 0.5), y(d.visitors)))
        .collect();
    let _ = write!(
        svg,
        "<polyline points=\"{}\" fill=\"none\" stroke=\"{VISITORS}\" stroke-width=\"2.5\" stroke-linejoin=\"round\"/>",
        points.join(" ")
    );
    for p in &points {
        let (x, yy) = p.split_once(',').unwrap_or(("0", "0"));
        let _ = write!(
            svg,
            "<circle cx=\"{x}\" cy=\"{yy}\" r=\"3\" fill=\"{VISITORS}\"/>"
        );
    }
    let label_every = (days.len() / 8).max(1);
    for (i, d) in days
        .iter()
        .enumerate()
        .filter(|(i, _)| i % label_every == 0)
    {
        let x = left + slot * (i as f64 + 0.5);
        let _ = write!(
            svg,
            "<text x=\"{x:.1}\" y=\"{}\" font-size=\"11\" text-anchor=\"middle\" fill=\"#55636a\">{}</text>",
            h - 8.0,
            esc(d.date.get(5..).unwrap_or(&d.date))
        );
    }
    svg.push_str("</svg>");
    svg
}

/// One horizontal bar split in the shares of phones, tablets and computers.
pub fn device_share(mobile: f64, tablet: f64, desktop: f64) -> String {
    let parts = [
        ("Mobile", mobile, "#2f6f62"),
        ("Tablet", tablet, "#e0a84f"),
        ("Desktop", desktop, "#5b7fa6"),
    ];
    let mut svg = String::from(
        "<svg class=\"chart share\" viewBox=\"0 0 320 64\" role=\"img\" aria-label=\"Device share\" xmlns=\"http://www.w3.org/2000/svg\">",
    );
    let total: f64 = parts.iter().map(|p| p.1).sum();
    let mut x = 0.0;
    for (name, share, color) in parts {
        let width = if total > 0.0 {
            share / total * 320.0
        } else {
            0.0
        };
        if width > 0.0 {
            let _ = write!(
                svg,
                "<rect x=\"{x:.1}\" y=\"0\" width=\"{width:.1}\" height=\"26\" fill=\"{color}\"><title>{name}: {:.0}%</title></rect>",
                share * 100.0
            );
        }
        x += width;
    }
    if total == 0.0 {
        svg.push_str("<rect x=\"0\" y=\"0\" width=\"320\" height=\"26\" fill=\"#e4e1da\"/>");
    }
    for (i, (name, share, color)) in parts.iter().enumerate() {
        let lx = i as f64 * 108.0;
        let _ = write!(
            svg,
            "<rect x=\"{lx}\" y=\"40\" width=\"12\" height=\"12\" rx=\"2\" fill=\"{color}\"/><text x=\"{}\" y=\"51\" font-size=\"12\" fill=\"#1f2a2e\">{name} {:.0}%</text>",
            lx + 17.0,
            share * 100.0
        );
    }
    svg.push_str("</svg>");
    svg
}

/// Horizontal bars for a ranked list (pages, referrers, browsers…).
pub fn bars(rows: &[(String, i64)]) -> String {
    if rows.is_empty() {
        return "<p class=\"muted\">No data in this range.</p>".into();
    }
    let max = rows.iter().map(|r| r.1).max().unwrap_or(1).max(1) as f64;
    let row_h = 26.0;
    let h = row_h * rows.len() as f64;
    let mut svg = format!(
        "<svg class=\"chart bars\" viewBox=\"0 0 360 {h}\" role=\"img\" aria-hidden=\"true\" xmlns=\"http://www.w3.org/2000/svg\">"
    );
    for (i, (label, n)) in rows.iter().enumerate() {
        let y = i as f64 * row_h;
        let width = (*n as f64 / max) * 300.0;
        let label: String = label.chars().take(44).collect();
        let _ = write!(
            svg,
            "<rect x=\"0\" y=\"{:.1}\" width=\"{width:.1}\" height=\"{:.1}\" rx=\"3\" fill=\"#e7f2ee\"/>\
             <text x=\"6\" y=\"{:.1}\" font-size=\"12\" fill=\"#1f2a2e\">{}</text>\
             <text x=\"356\" y=\"{:.1}\" font-size=\"12\" text-anchor=\"end\" fill=\"#23564c\" font-weight=\"600\">{n}</text>",
            y + 2.0,
            row_h - 4.0,
            y + 17.0,
            esc(&label),
            y + 17.0
        );
    }
    svg.push_str("</svg>");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_escaped_and_axes_round() {
        assert!(bars(&[("<script>".into(), 3)]).contains("&lt;script&gt;"));
        assert_eq!(nice_max(0), 1);
        assert_eq!(nice_max(7), 10);
        assert_eq!(nice_max(130), 200);
    }
}
