//! What the start-up benches (the webhook's `benches/startup.rs`, the
//! cold-start bench of every package) report alike: how many runs, the
//! machine's load beside the numbers, and nearest-rank percentiles, so two
//! tables of the same machine can be read side by side.

use std::time::Duration;

/// Samples per binary: `STARTUP_RUNS`, else `default`, at least one.
pub fn runs_from_env(default: usize) -> usize {
    std::env::var("STARTUP_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
        .max(1)
}

/// The 1, 5 and 15 minute load averages (`/proc/loadavg`), or `unknown`.
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|text| {
            text.split_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_else(|_| "unknown".into())
}

/// Nearest-rank statistics of a set of durations, in milliseconds.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Percentiles {
    /// The 50th percentile.
    pub median: f64,
    /// The 90th percentile.
    pub p90: f64,
    /// The fastest sample.
    pub min: f64,
    /// The slowest sample.
    pub max: f64,
}

impl Percentiles {
    /// `None` for no samples.
    pub fn of(samples: impl IntoIterator<Item = Duration>) -> Option<Self> {
        let mut ms: Vec<f64> = samples.into_iter().map(|d| d.as_secs_f64() * 1e3).collect();
        ms.sort_by(f64::total_cmp);
        let (&min, &max) = (ms.first()?, ms.last()?);
        let rank = |p: f64| ms[((p * ms.len() as f64).ceil() as usize).clamp(1, ms.len()) - 1];
        Some(Self {
            median: rank(0.5),
            p90: rank(0.9),
            min,
            max,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_of_ten_samples() {
        let samples = (1..=10).rev().map(Duration::from_millis);
        let p = Percentiles::of(samples).unwrap();
        assert_eq!((p.median, p.p90, p.min, p.max), (5.0, 9.0, 1.0, 10.0));
    }

    #[test]
    fn one_sample_is_every_percentile_and_none_is_none() {
        let p = Percentiles::of([Duration::from_micros(1500)]).unwrap();
        assert_eq!((p.median, p.p90, p.min, p.max), (1.5, 1.5, 1.5, 1.5));
        assert_eq!(Percentiles::of([]), None);
    }
}
