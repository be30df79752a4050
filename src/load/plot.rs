//! `--plot FILE`: an SVG chart of latency percentiles, written by hand (a
//! few dozen lines of SVG need no plotting stack). The x axis places p50,
//! p90, p99, p99.9 and max at equal steps (the usual "nines" scale); the y
//! axis is milliseconds on a log scale, so a scenario and its baseline fit
//! on one chart even when they differ a hundredfold.

use std::fmt::Write as _;

/// One line on the chart: a label and (percentile label, milliseconds).
pub struct Series {
    /// Legend text.
    pub label: String,
    /// Points, in x order.
    pub points: Vec<(String, f64)>,
}

const W: f64 = 720.0;
const H: f64 = 420.0;
const LEFT: f64 = 70.0;
const RIGHT: f64 = 220.0;
const TOP: f64 = 40.0;
const BOTTOM: f64 = 50.0;
const COLOURS: [&str; 8] = [
    "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf",
];

/// The SVG document for `series` under `title`.
pub fn svg(title: &str, series: &[Series]) -> String {
    let values = series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.1))
        .filter(|v| *v > 0.0);
    let (lo, hi) = values.fold((f64::MAX, f64::MIN), |(lo, hi), v| (lo.min(v), hi.max(v)));
    let (lo, hi) = if lo > hi { (0.01, 1.0) } else { (lo, hi) };
    let lo_exp = lo.max(0.001).log10().floor() as i32;
    let hi_exp = (hi.log10().ceil() as i32).max(lo_exp + 1);
    let plot_w = W - LEFT - RIGHT;
    let plot_h = H - TOP - BOTTOM;
    let y = |ms: f64| {
        let e = ms.max(10f64.powi(lo_exp)).log10();
        TOP + plot_h * (1.0 - (e - lo_exp as f64) / (hi_exp - lo_exp) as f64)
    };
    let n = series
        .iter()
        .map(|s| s.points.len())
        .max()
        .unwrap_or(1)
        .max(2);
    let x = |i: usize| LEFT + plot_w * i as f64 / (n - 1) as f64;

    let mut out = String::new();
    let _ = write!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}" font-family="sans-serif" font-size="12">
<rect width="100%" height="100%" fill="white"/>
<text x="{}" y="22" font-size="15" text-anchor="middle">{}</text>
"#,
        LEFT + plot_w / 2.0,
        escape(title)
    );
    for e in lo_exp..=hi_exp {
        let yy = y(10f64.powi(e));
        let label = if e >= 0 {
            format!("{}", 10u64.pow(e as u32))
        } else {
            format!("{}", 10f64.powi(e))
        };
        let _ = writeln!(
            out,
            r##"<line x1="{LEFT}" y1="{yy:.1}" x2="{:.1}" y2="{yy:.1}" stroke="#ddd"/><text x="{:.1}" y="{:.1}" text-anchor="end">{label} ms</text>"##,
            LEFT + plot_w,
            LEFT - 6.0,
            yy + 4.0
        );
    }
    if let Some(s) = series.iter().max_by_key(|s| s.points.len()) {
        for (i, (label, _)) in s.points.iter().enumerate() {
            let _ = writeln!(
                out,
                r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
                x(i),
                TOP + plot_h + 20.0,
                escape(label)
            );
        }
    }
    let _ = writeln!(
        out,
        r#"<rect x="{LEFT}" y="{TOP}" width="{plot_w}" height="{plot_h}" fill="none" stroke="black"/>"#
    );
    for (k, s) in series.iter().enumerate() {
        let colour = COLOURS[k % COLOURS.len()];
        let points: Vec<String> = s
            .points
            .iter()
            .enumerate()
            .map(|(i, (_, ms))| format!("{:.1},{:.1}", x(i), y(*ms)))
            .collect();
        let _ = writeln!(
            out,
            r#"<polyline points="{}" fill="none" stroke="{colour}" stroke-width="2"/>"#,
            points.join(" ")
        );
        for (i, (_, ms)) in s.points.iter().enumerate() {
            let _ = writeln!(
                out,
                r#"<circle cx="{:.1}" cy="{:.1}" r="3" fill="{colour}"><title>{:.3} ms</title></circle>"#,
                x(i),
                y(*ms),
                ms
            );
        }
        let ly = TOP + 10.0 + 18.0 * k as f64;
        let lx = LEFT + plot_w + 12.0;
        let _ = writeln!(
            out,
            r#"<line x1="{lx}" y1="{ly}" x2="{}" y2="{ly}" stroke="{colour}" stroke-width="2"/><text x="{}" y="{}">{}</text>"#,
            lx + 18.0,
            lx + 24.0,
            ly + 4.0,
            escape(&s.label)
        );
    }
    out.push_str("</svg>\n");
    out
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_one_polyline_per_series() {
        let s = |label: &str, k: f64| Series {
            label: label.into(),
            points: vec![("p50".into(), k), ("p99".into(), k * 10.0)],
        };
        let doc = svg("t <x>", &[s("a", 0.1), s("b", 2.0)]);
        assert!(doc.starts_with("<svg"));
        assert_eq!(doc.matches("<polyline").count(), 2);
        assert!(doc.contains("t &lt;x&gt;"));
    }
}
