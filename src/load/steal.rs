//! Steal time: CPU time the hypervisor gave to other guests while this
//! machine's virtual CPUs had work (the eighth field of `/proc/stat`'s
//! `cpu` line). On a shared two-core host it can take half the machine for
//! seconds, and a run measured then tells more about the host than about
//! the server: every report says how much was stolen while it ran (and the
//! onsale scenario, during each wave of joins), so those runs can be told
//! apart from the rest.

use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// How often `/proc/stat` is read: the kernel counts in ticks of 10 ms, and
/// a wave of joins lasts one to a few seconds.
const EVERY: Duration = Duration::from_millis(50);

/// Readings of the stolen time (all CPUs together, in ms) since the first
/// call of [`shared`], taken on a thread of their own for the rest of the
/// process.
pub struct Steal {
    readings: Arc<Mutex<Vec<(Instant, f64)>>>,
    cpus: usize,
}

/// This process's one reader of the steal time (the run and the scenario
/// it runs read the same), started at the first call; `None` where
/// `/proc/stat` has no steal field.
pub fn shared() -> Option<&'static Steal> {
    static SHARED: OnceLock<Option<Steal>> = OnceLock::new();
    SHARED.get_or_init(Steal::start).as_ref()
}

impl Steal {
    /// Starts reading, or `None` where `/proc/stat` has no steal field.
    fn start() -> Option<Steal> {
        let ms_per_tick = 1000.0 / clock_ticks_per_sec()?;
        let read = move || {
            let (ticks, cpus) = parse(&std::fs::read_to_string("/proc/stat").ok()?)?;
            Some((ticks as f64 * ms_per_tick, cpus))
        };
        let (first, cpus) = read()?;
        let readings = Arc::new(Mutex::new(vec![(Instant::now(), first)]));
        let r = readings.clone();
        std::thread::Builder::new()
            .name("steal".into())
            .spawn(move || loop {
                std::thread::sleep(EVERY);
                if let Some((ms, _)) = read() {
                    r.lock().expect("steal lock").push((Instant::now(), ms));
                }
            })
            .ok()?;
        Some(Steal { readings, cpus })
    }

    /// Time stolen from all CPUs together between `from` and `to`
    /// (interpolated between the readings around each instant).
    pub fn stolen(&self, from: Instant, to: Instant) -> Duration {
        let readings = self.readings.lock().expect("steal lock");
        let ms = at(&readings, to) - at(&readings, from);
        Duration::from_secs_f64(ms.max(0.0) / 1000.0)
    }

    /// [`Steal::stolen`] as a share of the CPUs' time between `from` and
    /// `to` (0 to 1).
    pub fn share(&self, from: Instant, to: Instant) -> f64 {
        let span = to.saturating_duration_since(from).as_secs_f64() * self.cpus as f64;
        self.stolen(from, to).as_secs_f64() / span.max(1e-9)
    }
}

/// The stolen ms at `t`, on the line between the readings around it (the
/// first or last reading outside them).
fn at(readings: &[(Instant, f64)], t: Instant) -> f64 {
    let after = readings.partition_point(|(i, _)| *i <= t);
    match (
        after.checked_sub(1).map(|b| readings[b]),
        readings.get(after),
    ) {
        (Some((t0, v0)), Some(&(t1, v1))) => {
            let span = (t1 - t0).as_secs_f64().max(1e-9);
            v0 + (v1 - v0) * (t - t0).as_secs_f64() / span
        }
        (Some((_, v)), None) | (None, Some(&(_, v))) => v,
        (None, None) => 0.0,
    }
}

/// The steal ticks of all CPUs together, and how many CPUs, from the text
/// of `/proc/stat`.
fn parse(stat: &str) -> Option<(u64, usize)> {
    let mut lines = stat.lines();
    let all = lines.next()?.strip_prefix("cpu ")?;
    let ticks = all.split_whitespace().nth(7)?.parse().ok()?;
    let cpus = lines.take_while(|l| l.starts_with("cpu")).count();
    Some((ticks, cpus.max(1)))
}

/// The kernel's clock ticks a second, the unit of `/proc/stat`.
fn clock_ticks_per_sec() -> Option<f64> {
    // SAFETY: sysconf reads a constant of the system and touches no memory of ours.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    (hz > 0).then_some(hz as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_steal_field_and_counts_the_cpus() {
        let stat = "cpu  92427 0 13490 182429 2241 0 5001 27078 0 0\n\
                    cpu0 45698 0 6476 92448 787 0 2464 13268 0 0\n\
                    cpu1 46728 0 7014 89981 1454 0 2537 13809 0 0\n\
                    intr 1 2 3\n";
        assert_eq!(parse(stat), Some((27078, 2)));
        assert_eq!(parse("cpu  1 2 3\ncpu0 1 2 3\n"), None);
        assert_eq!(parse("intr 1\n"), None);
    }

    #[test]
    fn interpolates_between_readings() {
        let t0 = Instant::now();
        let s = |ms: u64| t0 + Duration::from_millis(ms);
        let readings = [(s(0), 0.0), (s(100), 50.0), (s(200), 50.0)];
        assert_eq!(at(&readings, s(50)), 25.0);
        assert_eq!(at(&readings, s(150)), 50.0);
        assert_eq!(at(&readings, s(100)), 50.0);
        assert_eq!(at(&readings, s(500)), 50.0);
        assert_eq!(at(&[], s(5)), 0.0);
    }

    #[test]
    fn reads_this_machine() {
        let steal = shared().expect("Linux's /proc/stat has a steal field");
        let from = Instant::now();
        std::thread::sleep(Duration::from_millis(120));
        let to = Instant::now();
        assert!(steal.readings.lock().unwrap().len() >= 2);
        let share = steal.share(from, to);
        assert!((0.0..=1.0).contains(&share), "{share}");
    }
}
