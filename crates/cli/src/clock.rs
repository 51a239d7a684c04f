//! The wall clock: the one place the system time is read.

use careloop_domain::Clock;
use jiff::Timestamp;

pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        #[expect(clippy::disallowed_methods, reason = "the system clock's one home")]
        Timestamp::now()
    }
}
