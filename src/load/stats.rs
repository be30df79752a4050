//! What a load run measured: request counts, an HDR latency histogram
//! (microseconds, 3 significant digits, so p99.9 and max are exact enough to
//! compare runs), and errors by status. Workers each keep their own
//! [`Recorder`] (no shared lock on the hot path) and merge at the end.

use std::collections::BTreeMap;
use std::time::Duration;

use hdrhistogram::Histogram;

use super::client::Outcome;

/// Highest latency the histogram tracks (longer ones are clamped): 10 minutes.
const MAX_MICROS: u64 = 600_000_000;

/// One worker's (or a whole run's) measurements.
#[derive(Clone)]
pub struct Recorder {
    /// Latency of every request, in microseconds.
    pub histogram: Histogram<u64>,
    /// Requests sent.
    pub requests: u64,
    /// Responses that were not what the scenario expected, by status (0 is a
    /// transport error or timeout).
    pub errors: BTreeMap<u16, u64>,
}

impl Default for Recorder {
    fn default() -> Self {
        Recorder {
            histogram: Histogram::new_with_bounds(1, MAX_MICROS, 3).expect("valid bounds"),
            requests: 0,
            errors: BTreeMap::new(),
        }
    }
}

impl Recorder {
    /// Records one request's latency; `expected` says whether its status was
    /// the one the scenario wanted (a refused reservation in a flash sale is
    /// expected, a 500 never is).
    pub fn record(&mut self, outcome: &Outcome, expected: bool) {
        self.requests += 1;
        self.record_latency(outcome.latency);
        if !expected {
            *self.errors.entry(outcome.status).or_default() += 1;
        }
    }

    /// Records one latency sample without counting a request (for WebSocket
    /// deliveries).
    pub fn record_latency(&mut self, latency: Duration) {
        let micros = (latency.as_micros() as u64).clamp(1, MAX_MICROS);
        let _ = self.histogram.record(micros);
    }

    /// Adds `other`'s measurements to these.
    pub fn merge(&mut self, other: &Recorder) {
        let _ = self.histogram.add(&other.histogram);
        self.requests += other.requests;
        for (status, n) in &other.errors {
            *self.errors.entry(*status).or_default() += n;
        }
    }

    /// Total unexpected responses.
    pub fn error_count(&self) -> u64 {
        self.errors.values().sum()
    }

    /// The latency at `quantile` (0..=1), in milliseconds.
    pub fn ms(&self, quantile: f64) -> f64 {
        if self.histogram.is_empty() {
            return 0.0;
        }
        self.histogram.value_at_quantile(quantile) as f64 / 1000.0
    }

    /// The largest latency, in milliseconds.
    pub fn max_ms(&self) -> f64 {
        self.histogram.max() as f64 / 1000.0
    }

    /// The percentiles the summary and the chart show: (label, quantile, ms).
    pub fn percentiles(&self) -> Vec<(&'static str, f64, f64)> {
        [
            ("p50", 0.5),
            ("p90", 0.9),
            ("p99", 0.99),
            ("p99.9", 0.999),
            ("max", 1.0),
        ]
        .into_iter()
        .map(|(label, q)| {
            let ms = if q >= 1.0 { self.max_ms() } else { self.ms(q) };
            (label, q, ms)
        })
        .collect()
    }

    /// Errors as `"400: 3, 0: 1"`, or `-` when there were none.
    pub fn errors_text(&self) -> String {
        if self.errors.is_empty() {
            return "-".into();
        }
        self.errors
            .iter()
            .map(|(s, n)| format!("{s}: {n}"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}
