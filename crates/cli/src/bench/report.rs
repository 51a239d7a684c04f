//! What a bench run prints: throughput, due-to-sent latency percentiles and peak memory,
//! on one line a person can read and a script can check.

use std::fmt;
use std::time::Duration;

/// Latencies summarized: the order statistics a queue is judged by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Latency {
    pub p50: Duration,
    pub p90: Duration,
    pub p99: Duration,
    pub max: Duration,
}

impl Latency {
    /// Summarizes `samples` (reordered in place); `None` when there are none.
    pub fn of(samples: &mut [Duration]) -> Option<Self> {
        samples.sort_unstable();
        let max = *samples.last()?;
        Some(Self {
            p50: percentile(samples, 50),
            p90: percentile(samples, 90),
            p99: percentile(samples, 99),
            max,
        })
    }
}

/// The nearest-rank percentile of sorted `samples`: the smallest value with at least
/// `p` percent of the samples at or below it.
fn percentile(sorted: &[Duration], p: usize) -> Duration {
    let rank = (sorted.len() * p).div_ceil(100).max(1);
    sorted.get(rank - 1).copied().unwrap_or_default()
}

/// One run's result.
pub struct Outcome {
    pub database: &'static str,
    pub workers: u32,
    pub appointments: u64,
    pub rate: Option<u32>,
    pub messages: u64,
    /// From the moment the reminders fell due to the last one reaching the provider.
    pub elapsed: Duration,
    pub latency: Latency,
    /// Peak resident memory while sending, and over the whole run (seeding included),
    /// in bytes.
    pub peak_sending: Option<u64>,
    pub peak_overall: Option<u64>,
    /// CPU time this process spent while sending (the database server's, on
    /// PostgreSQL, is not in it): what the figures would cost on an idle machine.
    pub cpu_sending: Option<Duration>,
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let workers = if self.workers == 1 {
            "worker"
        } else {
            "workers"
        };
        let due = match self.rate {
            None => "all due at once".to_owned(),
            Some(rate) => format!("due at {rate}/s"),
        };
        let per_second = self.messages as f64 / self.elapsed.as_secs_f64().max(1e-9);
        let Latency { p50, p90, p99, max } = self.latency;
        let cpu = match self.cpu_sending {
            Some(cpu) => format!(
                "{:.2} ms",
                cpu.as_secs_f64() * 1000.0 / self.messages.max(1) as f64
            ),
            None => "unavailable".to_owned(),
        };
        write!(
            f,
            "bench: {}, {} {workers}, {} appointments {due}: {} messages in {} = {per_second:.0} msg/s; \
             due-to-sent p50 {}, p90 {}, p99 {}, max {}; peak memory {} sending, {} overall; \
             CPU {cpu} a message in this process",
            self.database,
            self.workers,
            self.appointments,
            self.messages,
            seconds(self.elapsed),
            seconds(p50),
            seconds(p90),
            seconds(p99),
            seconds(max),
            mebibytes(self.peak_sending),
            mebibytes(self.peak_overall),
        )
    }
}

/// `0.412 s`, `12.3 s`: milliseconds are what matter below ten seconds.
pub fn seconds(duration: Duration) -> String {
    let secs = duration.as_secs_f64();
    if secs < 10.0 {
        format!("{secs:.3} s")
    } else {
        format!("{secs:.1} s")
    }
}

fn mebibytes(bytes: Option<u64>) -> String {
    match bytes {
        Some(bytes) => format!("{:.0} MiB", bytes as f64 / (1024.0 * 1024.0)),
        None => "unavailable".to_owned(),
    }
}

/// The process's peak resident memory so far (`VmHWM`), where the system tells it.
pub fn peak_memory() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line
        .trim_start_matches("VmHWM:")
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kib * 1024)
}

/// CPU time (user and system) this process has used so far (Linux).
pub fn cpu_time() -> Option<Duration> {
    /// `/proc` counts in USER_HZ, which Linux fixes at 100 for user space.
    const TICKS_PER_SECOND: u64 = 100;
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The command name (field 2) may hold spaces; the fields after it are plain.
    let after_name = stat.rsplit_once(')')?.1;
    let mut fields = after_name.split_whitespace().skip(11);
    let user: u64 = fields.next()?.parse().ok()?;
    let system: u64 = fields.next()?.parse().ok()?;
    Some(Duration::from_millis(
        (user + system) * 1000 / TICKS_PER_SECOND,
    ))
}

/// The system's load average over the last minute (Linux), to tell a bench on a busy
/// machine from one on a quiet machine.
pub fn load_average() -> Option<f64> {
    let text = std::fs::read_to_string("/proc/loadavg").ok()?;
    text.split_whitespace().next()?.parse().ok()
}

/// Starts the peak over from the current resident memory (Linux: `clear_refs` 5), so
/// that the sending phase is measured apart from the seeding. False where it cannot.
pub fn reset_peak_memory() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn percentiles_are_nearest_rank() {
        let mut samples: Vec<Duration> = (1..=100).rev().map(ms).collect();
        let latency = Latency::of(&mut samples).unwrap();
        assert_eq!(
            latency,
            Latency {
                p50: ms(50),
                p90: ms(90),
                p99: ms(99),
                max: ms(100)
            }
        );
        let one = Latency::of(&mut [ms(7)]).unwrap();
        assert_eq!((one.p50, one.p99, one.max), (ms(7), ms(7), ms(7)));
        assert_eq!(Latency::of(&mut []), None);
    }

    #[test]
    fn the_result_is_one_readable_line() {
        let outcome = Outcome {
            database: "sqlite",
            workers: 1,
            appointments: 10_000,
            rate: None,
            messages: 10_000,
            elapsed: ms(2_500),
            latency: Latency {
                p50: ms(1_200),
                p90: ms(2_100),
                p99: ms(2_450),
                max: ms(2_500),
            },
            peak_sending: Some(40 << 20),
            peak_overall: None,
            cpu_sending: Some(ms(5_000)),
        };
        assert_eq!(
            outcome.to_string(),
            "bench: sqlite, 1 worker, 10000 appointments all due at once: 10000 messages in \
             2.500 s = 4000 msg/s; due-to-sent p50 1.200 s, p90 2.100 s, p99 2.450 s, max 2.500 s; \
             peak memory 40 MiB sending, unavailable overall; CPU 0.50 ms a message in this process"
        );
    }

    #[test]
    fn memory_and_cpu_time_are_read_on_linux() {
        if cfg!(target_os = "linux") {
            assert!(peak_memory().unwrap() > 1 << 20);
            let before = cpu_time().unwrap();
            let mut x = 0u64;
            let started = std::time::Instant::now();
            while started.elapsed() < ms(50) {
                x = std::hint::black_box(x.wrapping_add(1));
            }
            assert!(cpu_time().unwrap() > before);
        }
    }
}
