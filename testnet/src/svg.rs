//! The latency CDF of a run as a small self-contained SVG: x is milliseconds on a log scale,
//! y the share of samples at or below it.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::{Context as _, Result, bail};

const WIDTH: f64 = 640.0;
const HEIGHT: f64 = 360.0;
const LEFT: f64 = 56.0;
const RIGHT: f64 = 16.0;
const TOP: f64 = 28.0;
const BOTTOM: f64 = 40.0;
/// Most points drawn: enough for a smooth curve, small enough for a readable file.
const MAX_POINTS: usize = 2000;

/// Renders the CDF of `samples_ms` (any order) titled `title`.
pub(crate) fn cdf(title: &str, what: &str, samples_ms: &[f64]) -> Result<String> {
    let mut sorted: Vec<f64> = samples_ms
        .iter()
        .copied()
        .filter(|x| x.is_finite())
        .collect();
    if sorted.is_empty() {
        bail!("no latency samples to draw");
    }
    sorted.sort_by(f64::total_cmp);
    // Decades that hold every sample; sub-0.1 ms samples are drawn at 0.1 ms.
    let floor = 0.1f64;
    let lo = floor.max(sorted[0]).log10().floor();
    let hi = sorted[sorted.len() - 1]
        .max(floor * 10.0)
        .log10()
        .ceil()
        .max(lo + 1.0);
    let plot_w = WIDTH - LEFT - RIGHT;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let x_of = |ms: f64| LEFT + (ms.max(floor).log10() - lo) / (hi - lo) * plot_w;
    let y_of = |share: f64| TOP + (1.0 - share) * plot_h;

    let mut svg = String::new();
    writeln!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" font-family="sans-serif" font-size="12">"#
    )?;
    writeln!(svg, r#"<rect width="100%" height="100%" fill="white"/>"#)?;
    writeln!(
        svg,
        r#"<text x="{LEFT}" y="18" font-size="14">{}</text>"#,
        escape(title)
    )?;
    // Grid: decades on x, quarters on y.
    let mut decade = lo;
    while decade <= hi + 1e-9 {
        let x = x_of(10f64.powf(decade));
        writeln!(
            svg,
            r##"<line x1="{x:.1}" y1="{TOP}" x2="{x:.1}" y2="{:.1}" stroke="#ddd"/><text x="{x:.1}" y="{:.1}" text-anchor="middle">{}</text>"##,
            TOP + plot_h,
            TOP + plot_h + 16.0,
            format_ms(10f64.powf(decade))
        )?;
        decade += 1.0;
    }
    for quarter in 0..=4 {
        let share = f64::from(quarter) / 4.0;
        let y = y_of(share);
        writeln!(
            svg,
            r##"<line x1="{LEFT}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="#ddd"/><text x="{:.1}" y="{:.1}" text-anchor="end">{}%</text>"##,
            LEFT + plot_w,
            LEFT - 6.0,
            y + 4.0,
            quarter * 25
        )?;
    }
    writeln!(
        svg,
        r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">{} (ms, log scale); {} samples</text>"#,
        LEFT + plot_w / 2.0,
        HEIGHT - 6.0,
        escape(what),
        sorted.len()
    )?;
    // The curve: a step at each drawn sample.
    let step = sorted.len().div_ceil(MAX_POINTS).max(1);
    let mut points = String::new();
    let n = sorted.len() as f64;
    for (i, ms) in sorted.iter().enumerate().step_by(step) {
        write!(points, "{:.1},{:.1} ", x_of(*ms), y_of((i + 1) as f64 / n))?;
    }
    write!(
        points,
        "{:.1},{:.1}",
        x_of(sorted[sorted.len() - 1]),
        y_of(1.0)
    )?;
    writeln!(
        svg,
        r##"<polyline points="{points}" fill="none" stroke="#1f5fbf" stroke-width="2"/>"##
    )?;
    writeln!(svg, "</svg>")?;
    Ok(svg)
}

/// Writes [`cdf`] to `path`.
pub(crate) fn write_cdf(path: &Path, title: &str, what: &str, samples_ms: &[f64]) -> Result<()> {
    let svg = cdf(title, what, samples_ms)?;
    std::fs::write(path, svg).with_context(|| format!("cannot write {}", path.display()))
}

fn format_ms(ms: f64) -> String {
    if ms < 1.0 {
        format!("{ms:.1}")
    } else {
        format!("{ms:.0}")
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn the_curve_spans_the_samples_and_ends_at_the_top() {
        let samples: Vec<f64> = (1..=5000).map(|i| f64::from(i) / 10.0).collect();
        let svg = cdf("t <1>", "delivery", &samples).unwrap();
        assert!(svg.starts_with("<svg"));
        assert!(svg.contains("t &lt;1&gt;"));
        assert!(svg.contains("5000 samples"));
        // Decades from 0.1 ms to 1000 ms are labelled.
        for label in [">0.1<", ">1<", ">10<", ">100<", ">1000<"] {
            assert!(svg.contains(label), "{label} missing");
        }
        let points = svg.split("points=\"").nth(1).unwrap();
        let points: Vec<&str> = points.split('"').next().unwrap().split(' ').collect();
        assert!(points.len() <= MAX_POINTS + 1);
        // The last point is at 100 %: y = TOP.
        assert!(points.last().unwrap().ends_with(&format!(",{TOP:.1}")));
    }

    #[test]
    fn no_samples_is_an_error() {
        assert!(cdf("t", "x", &[]).is_err());
        assert!(cdf("t", "x", &[f64::NAN]).is_err());
    }
}
