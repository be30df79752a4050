//! What a run prints and writes: the summary table, the JSON line
//! (`--json`) and the SVG chart (`--plot`), and the exit code.

use std::process::ExitCode;
use std::time::Duration;

use serde_json::{json, Map, Value};

use super::plot;
use super::stats::Recorder;
use super::LoadArgs;

/// What a scenario measured.
pub struct Report {
    /// Latencies, requests and errors of the measured requests.
    pub rec: Recorder,
    /// Wall time of the measured phase.
    pub elapsed: Duration,
    /// Tickets sold twice (flash-sale only).
    pub oversold: Option<u64>,
    /// Scenario-specific numbers, added to the JSON line and the table.
    pub extra: Map<String, Value>,
    /// Extra chart lines (e.g. GET latency with and without signups).
    pub series: Vec<(String, Recorder)>,
    /// Rates of other measured routes, by name (requests per second), each
    /// also compared with the baseline: `NAME_ratio` on the JSON line.
    pub rates: Vec<(String, f64)>,
    /// Whether the run found a correctness failure (exit code 1).
    pub failed: bool,
}

impl Report {
    /// Requests per second over the measured phase.
    pub fn rps(&self) -> f64 {
        self.rec.requests as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

pub(super) fn finish(
    args: &LoadArgs,
    report: Report,
    baseline: Option<(Recorder, f64)>,
) -> Result<ExitCode, String> {
    let name = args.scenario.name();
    let rps = report.rps();
    let (baseline_rps, ratio) = match &baseline {
        Some((_, b)) if *b > 0.0 => (Some(*b), Some(rps / b)),
        _ => (None, None),
    };
    print_table(name, &report, baseline.as_ref(), ratio);
    if let Some(path) = &args.plot {
        let label = args.label.clone().unwrap_or_else(|| name.to_owned());
        let mut lines = vec![(label.clone(), report.rec.clone())];
        for (l, r) in &report.series {
            lines.push((format!("{label}: {l}"), r.clone()));
        }
        if let Some((b, _)) = &baseline {
            lines.push((format!("{label}: baseline"), b.clone()));
        }
        write_plot(path, args.plot_append, &lines)?;
    }
    if args.json {
        let mut obj = Map::new();
        obj.insert("scenario".into(), json!(name));
        obj.insert("requests".into(), json!(report.rec.requests));
        obj.insert("rps".into(), json!(round(rps)));
        for (label, _, ms) in report.rec.percentiles() {
            let key = match label {
                "p99.9" => "p999_ms".to_owned(),
                other => format!("{other}_ms"),
            };
            obj.insert(key, json!(round(ms)));
        }
        obj.insert("errors".into(), json!(report.rec.error_count()));
        let by_status: Map<String, Value> = report
            .rec
            .errors
            .iter()
            .map(|(s, n)| (s.to_string(), json!(n)))
            .collect();
        obj.insert("errors_by_status".into(), Value::Object(by_status));
        obj.insert("oversold".into(), json!(report.oversold));
        obj.insert("baseline_rps".into(), json!(baseline_rps.map(round)));
        obj.insert(
            "ratio".into(),
            json!(ratio.map(|r| round(r * 1000.0) / 1000.0)),
        );
        obj.insert("concurrency".into(), json!(args.concurrency));
        obj.insert(
            "elapsed_s".into(),
            json!(round(report.elapsed.as_secs_f64())),
        );
        for (k, v) in &report.extra {
            obj.insert(k.clone(), v.clone());
        }
        for (name, r) in &report.rates {
            let ratio = baseline_rps.map(|b| (r / b.max(1e-9) * 1000.0).round() / 1000.0);
            obj.insert(format!("{name}_ratio"), json!(ratio));
        }
        println!("{}", Value::Object(obj));
    }
    Ok(if report.failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

fn round(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

fn print_table(
    name: &str,
    report: &Report,
    baseline: Option<&(Recorder, f64)>,
    ratio: Option<f64>,
) {
    println!(
        "{:<22} {:>9} {:>10} {:>9} {:>9} {:>9} {:>9} {:>9}  {:<16} oversold",
        "scenario",
        "requests",
        "rate/s",
        "p50 ms",
        "p90 ms",
        "p99 ms",
        "p99.9 ms",
        "max ms",
        "errors"
    );
    let row = |label: &str, rec: &Recorder, rps: f64, oversold: String| {
        let p = rec.percentiles();
        println!(
            "{:<22} {:>9} {:>10.1} {:>9.3} {:>9.3} {:>9.3} {:>9.3} {:>9.3}  {:<16} {}",
            label,
            rec.requests,
            rps,
            p[0].2,
            p[1].2,
            p[2].2,
            p[3].2,
            p[4].2,
            rec.errors_text(),
            oversold
        );
    };
    let oversold = report.oversold.map_or("-".to_owned(), |o| o.to_string());
    row(name, &report.rec, report.rps(), oversold);
    for (label, rec) in &report.series {
        row(&format!("  {label}"), rec, 0.0, "-".into());
    }
    if let Some((rec, rps)) = baseline {
        row("  baseline", rec, *rps, "-".into());
        if let Some(r) = ratio {
            println!("ratio (rps / baseline_rps): {r:.3}");
        }
    }
    for (k, v) in &report.extra {
        println!("{k}: {v}");
    }
    if let Some((_, b)) = baseline.filter(|(_, b)| *b > 0.0) {
        for (name, r) in &report.rates {
            println!("{name}: {r:.1}/s, ratio to baseline {:.3}", r / b);
        }
    }
}

const SERIES_MARK: &str = "<!--series ";

fn write_plot(
    path: &std::path::Path,
    append: bool,
    lines: &[(String, Recorder)],
) -> Result<(), String> {
    let mut data: Vec<(String, Vec<(String, f64)>)> = Vec::new();
    if append {
        if let Ok(old) = std::fs::read_to_string(path) {
            if let Some(rest) = old.split(SERIES_MARK).nth(1) {
                if let Some(json) = rest.split(" -->").next() {
                    data = serde_json::from_str(json).unwrap_or_default();
                }
            }
        }
    }
    for (label, rec) in lines {
        let points = rec
            .percentiles()
            .into_iter()
            .map(|(l, _, ms)| (l.to_owned(), ms))
            .collect();
        data.retain(|(l, _)| l != label);
        data.push((label.clone(), points));
    }
    let series: Vec<plot::Series> = data
        .iter()
        .map(|(label, points)| plot::Series {
            label: label.clone(),
            points: points.clone(),
        })
        .collect();
    let mut doc = plot::svg("ticketing: latency percentiles (ms, log scale)", &series);
    let json = serde_json::to_string(&data).map_err(|e| e.to_string())?;
    doc.push_str(&format!("{SERIES_MARK}{json} -->\n"));
    std::fs::write(path, doc).map_err(|e| format!("cannot write {}: {e}", path.display()))
}
