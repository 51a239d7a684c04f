//! Quiet hours: the part of the patient's night when no automated text or call goes out.
//! A message that falls inside is deferred to the end of the window in the patient's own
//! time zone, never dropped. The window may wrap midnight (21:00–08:00).

use std::fmt;
use std::str::FromStr;

use jiff::civil::Time;
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QuietHours {
    start: Time,
    end: Time,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("quiet hours are written HH:MM-HH:MM, as 21:00-08:00")]
pub struct BadQuietHours;

impl QuietHours {
    /// 21:00 to 08:00: the default for texts and calls.
    pub const TEXTS_AND_CALLS: Self = Self {
        start: Time::constant(21, 0, 0, 0),
        end: Time::constant(8, 0, 0, 0),
    };

    pub fn new(start: Time, end: Time) -> Result<Self, BadQuietHours> {
        if start == end {
            return Err(BadQuietHours);
        }
        Ok(Self { start, end })
    }

    /// Whether a local time of day falls inside the window.
    pub fn contains(&self, local: Time) -> bool {
        if self.start < self.end {
            self.start <= local && local < self.end
        } else {
            local >= self.start || local < self.end
        }
    }

    /// When a message due at `now` may go out: `None` if now, else the end of the window
    /// in `zone`.
    pub fn defer(&self, now: Timestamp, zone: &TimeZone) -> Option<Timestamp> {
        let local = now.to_zoned(zone.clone());
        if !self.contains(local.time()) {
            return None;
        }
        let mut day = local.date();
        if local.time() >= self.end {
            // Inside a window that started this evening: it ends tomorrow morning.
            day = day.checked_add(1.day()).ok()?;
        }
        // A window end that falls in a DST gap resolves to the first instant after it.
        let end = day.to_datetime(self.end).to_zoned(zone.clone()).ok()?;
        Some(end.timestamp())
    }
}

impl FromStr for QuietHours {
    type Err = BadQuietHours;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let (start, end) = text.split_once('-').ok_or(BadQuietHours)?;
        let time = |s: &str| -> Result<Time, BadQuietHours> {
            let (h, m) = s.trim().split_once(':').ok_or(BadQuietHours)?;
            let h: i8 = h.parse().map_err(|_| BadQuietHours)?;
            let m: i8 = m.parse().map_err(|_| BadQuietHours)?;
            Time::new(h, m, 0, 0).map_err(|_| BadQuietHours)
        };
        Self::new(time(start)?, time(end)?)
    }
}

impl fmt::Display for QuietHours {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}-{}",
            self.start.strftime("%H:%M"),
            self.end.strftime("%H:%M")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn zone(name: &str) -> TimeZone {
        TimeZone::get(name).unwrap()
    }

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn evening_and_night_wait_for_the_morning() {
        let q = QuietHours::TEXTS_AND_CALLS;
        let ny = zone("America/New_York");
        // 22:30 in New York (EST, UTC-5) goes out at 08:00 the next day.
        assert_eq!(
            q.defer(at("2026-01-15T03:30:00Z"), &ny),
            Some(at("2026-01-15T13:00:00Z"))
        );
        // 06:00 waits two hours, the same day.
        assert_eq!(
            q.defer(at("2026-01-15T11:00:00Z"), &ny),
            Some(at("2026-01-15T13:00:00Z"))
        );
        // 08:00 and 20:59 are allowed.
        assert_eq!(q.defer(at("2026-01-15T13:00:00Z"), &ny), None);
        assert_eq!(q.defer(at("2026-01-16T01:59:00Z"), &ny), None);
        assert_eq!(
            q.defer(at("2026-01-16T02:00:00Z"), &ny),
            Some(at("2026-01-16T13:00:00Z"))
        );
    }

    #[test]
    fn the_patients_zone_decides_not_the_servers() {
        let q = QuietHours::TEXTS_AND_CALLS;
        let noon_utc = at("2026-01-15T12:00:00Z");
        assert_eq!(q.defer(noon_utc, &zone("Europe/Madrid")), None);
        // Noon UTC is 23:00 in Melbourne (AEDT, UTC+11).
        assert_eq!(
            q.defer(noon_utc, &zone("Australia/Melbourne")),
            Some(at("2026-01-15T21:00:00Z"))
        );
    }

    #[test]
    fn across_a_dst_change_the_morning_is_local() {
        let q = QuietHours::TEXTS_AND_CALLS;
        let ny = zone("America/New_York");
        // Saturday 7 March 2026 23:00 EST; clocks go forward on Sunday 8 March at 02:00,
        // so 08:00 on Sunday is EDT (UTC-4).
        assert_eq!(
            q.defer(at("2026-03-08T04:00:00Z"), &ny),
            Some(at("2026-03-08T12:00:00Z"))
        );
    }

    #[test]
    fn windows_that_do_not_wrap() {
        let q: QuietHours = "12:00-13:30".parse().unwrap();
        assert!(q.contains(Time::constant(12, 30, 0, 0)));
        assert!(!q.contains(Time::constant(13, 30, 0, 0)));
        assert_eq!(q.to_string(), "12:00-13:30");
        assert!("21:00".parse::<QuietHours>().is_err());
        assert!("25:00-08:00".parse::<QuietHours>().is_err());
        assert!("08:00-08:00".parse::<QuietHours>().is_err());
    }

    proptest! {
        #[test]
        fn a_deferred_message_lands_at_the_end_of_the_window(
            seconds in 1_700_000_000i64..1_900_000_000,
            zone_name in proptest::sample::select(vec!["America/New_York", "Europe/London", "Australia/Lord_Howe", "Asia/Kolkata", "Pacific/Chatham", "UTC"]),
        ) {
            let q = QuietHours::TEXTS_AND_CALLS;
            let tz = zone(zone_name);
            let now = Timestamp::from_second(seconds).unwrap();
            match q.defer(now, &tz) {
                None => prop_assert!(!q.contains(now.to_zoned(tz.clone()).time())),
                Some(later) => {
                    prop_assert!(later > now);
                    prop_assert!(later.duration_since(now) <= jiff::SignedDuration::from_hours(12));
                    let local = later.to_zoned(tz.clone()).time();
                    prop_assert!(!q.contains(local));
                }
            }
        }
    }
}
