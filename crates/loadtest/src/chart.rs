//! The SVG chart of a compare run: CPU per forwarded packet and loss by
//! room size, one line per target (plotters, SVG backend only).

use plotters::prelude::*;

use crate::figures::Sample;

const COLOURS: [RGBColor; 3] = [
    RGBColor(0, 114, 178),
    RGBColor(213, 94, 0),
    RGBColor(0, 158, 115),
];

/// Which figure of a sample a panel shows.
type Figure = fn(&Sample) -> f64;

/// An SVG document charting the medians.
pub fn svg(medians: &[Sample], targets: &[&str]) -> anyhow::Result<String> {
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, (900, 380)).into_drawing_area();
        root.fill(&WHITE)?;
        let panels = root.split_evenly((1, 2));
        let max_size = medians.iter().map(|m| m.participants).max().unwrap_or(16) as f64;
        let series = |f: fn(&Sample) -> f64| -> Vec<(&str, Vec<(f64, f64)>)> {
            targets
                .iter()
                .map(|t| {
                    let pts = medians
                        .iter()
                        .filter(|m| m.target == *t && m.rooms == 1 && f(m).is_finite())
                        .map(|m| (m.participants as f64, f(m)))
                        .collect();
                    (*t, pts)
                })
                .collect()
        };
        // CPU per packet falls as rooms grow, packets/s rises: each legend
        // goes where its lines are not.
        let charts: [(&str, Figure, SeriesLabelPosition); 2] = [
            (
                "server CPU µs per forwarded packet",
                |m| m.cpu_us_per_packet,
                SeriesLabelPosition::UpperRight,
            ),
            (
                "forwarded packets/s",
                |m| m.fwd_packets_per_s,
                SeriesLabelPosition::UpperLeft,
            ),
        ];
        for (panel, (title, f, legend)) in panels.iter().zip(charts) {
            let data = series(f);
            let top = data
                .iter()
                .flat_map(|(_, p)| p.iter().map(|(_, y)| *y))
                .fold(1.0f64, f64::max)
                * 1.15;
            let mut chart = ChartBuilder::on(panel)
                .caption(title, ("sans-serif", 18))
                .margin(12)
                .x_label_area_size(36)
                .y_label_area_size(56)
                .build_cartesian_2d(0f64..max_size + 1.0, 0f64..top)?;
            chart
                .configure_mesh()
                .x_desc("people in the room")
                .x_labels(9)
                .x_label_formatter(&|x| format!("{x:.0}"))
                .y_label_formatter(&|y| format!("{y:.0}"))
                .draw()?;
            for (i, (name, pts)) in data.into_iter().enumerate() {
                let colour = COLOURS[i % COLOURS.len()];
                chart
                    .draw_series(LineSeries::new(pts.clone(), colour.stroke_width(2)))?
                    .label(name)
                    .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], colour));
                chart.draw_series(pts.into_iter().map(|p| Circle::new(p, 3, colour.filled())))?;
            }
            chart
                .configure_series_labels()
                .background_style(WHITE.mix(0.8))
                .border_style(BLACK)
                .position(legend)
                .draw()?;
        }
        root.present()?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_chart_is_an_svg_naming_each_target() {
        let s = |target, n| Sample {
            cpu_us_per_packet: 10.0 * n as f64,
            ..Sample::blank(target, n, 1)
        };
        let svg = svg(
            &[s("regroup", 2), s("regroup", 4), s("relay", 2)],
            &["regroup", "relay"],
        )
        .unwrap();
        assert!(svg.starts_with("<svg"), "{}", &svg[..40]);
        assert!(svg.contains("regroup") && svg.contains("relay"));
        assert!(svg.contains("<polyline") || svg.contains("<path"));
    }
}
