//! The wall clock: the one place the system time is read.

use std::sync::atomic::{AtomicI64, Ordering};

use careloop_domain::Clock;
use jiff::{SignedDuration, Timestamp};

pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        #[expect(clippy::disallowed_methods, reason = "the system clock's one home")]
        Timestamp::now()
    }
}

/// The wall clock moved by an offset that can be changed while it runs: `careloop bench`
/// books appointments now and then jumps a day ahead so that their reminders fall due,
/// while real time keeps running underneath (a manual clock would stand still, and
/// every due-to-sent latency would read zero).
#[derive(Default)]
pub struct OffsetClock {
    /// Microseconds added to the wall clock; an atomic so that engines read it without
    /// a lock on every `now()`.
    offset_us: AtomicI64,
}

impl OffsetClock {
    /// Moves the clock so that it reads `to` at the wall-clock instant `at`.
    pub fn set(&self, to: Timestamp, at: Timestamp) {
        let offset = to.duration_since(at);
        let micros = i64::try_from(offset.as_micros()).unwrap_or(i64::MAX);
        self.offset_us.store(micros, Ordering::SeqCst);
    }

    /// The wall clock, unshifted.
    pub fn wall(&self) -> Timestamp {
        SystemClock.now()
    }
}

impl Clock for OffsetClock {
    fn now(&self) -> Timestamp {
        let offset = SignedDuration::from_micros(self.offset_us.load(Ordering::SeqCst));
        let wall = SystemClock.now();
        wall.checked_add(offset).unwrap_or(wall)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_offset_clock_reads_the_shifted_wall_clock_and_keeps_running() {
        let clock = OffsetClock::default();
        let wall = clock.wall();
        let ahead = wall.checked_add(SignedDuration::from_hours(24)).unwrap();
        clock.set(ahead, wall);
        let first = clock.now();
        assert!(first >= ahead);
        assert!(first.duration_since(ahead) < SignedDuration::from_secs(60));
        std::thread::sleep(std::time::Duration::from_millis(5));
        assert!(clock.now() > first, "real time still runs underneath");
    }
}
