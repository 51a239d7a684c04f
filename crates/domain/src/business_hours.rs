//! Opening hours and the response-time clock. A target such as "4 business hours" runs
//! only while the clinic is open, in the clinic's own time zone (across daylight-saving
//! changes); an urgent target ("15 minutes") runs around the clock.

use jiff::civil::{Time, Weekday};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp, ToSpan};

/// When the clinic is open: one window a weekday at most (none on a closed day).
#[derive(Clone, Debug, PartialEq)]
pub struct BusinessHours {
    zone: TimeZone,
    /// Monday first.
    days: [Option<(Time, Time)>; 7],
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum BadHours {
    #[error("opening hours must end after they start")]
    EndsBeforeStart,
    #[error("a clinic must be open at some time in the week")]
    NeverOpen,
}

impl BusinessHours {
    /// Monday to Friday, 08:00 to 17:00.
    pub fn weekdays(zone: TimeZone) -> Self {
        let day = Some((Time::constant(8, 0, 0, 0), Time::constant(17, 0, 0, 0)));
        Self {
            zone,
            days: [day, day, day, day, day, None, None],
        }
    }

    /// `days`, Monday first: the window of each, or `None` on a day it is closed.
    pub fn new(zone: TimeZone, days: [Option<(Time, Time)>; 7]) -> Result<Self, BadHours> {
        if days.iter().flatten().any(|(open, close)| close <= open) {
            return Err(BadHours::EndsBeforeStart);
        }
        if days.iter().all(Option::is_none) {
            return Err(BadHours::NeverOpen);
        }
        Ok(Self { zone, days })
    }

    /// The hours as a person reads them: `Monday to Friday 08:00-17:00`.
    pub fn describe(&self) -> String {
        const DAYS: [&str; 7] = [
            "Monday",
            "Tuesday",
            "Wednesday",
            "Thursday",
            "Friday",
            "Saturday",
            "Sunday",
        ];
        let mut spans: Vec<(usize, usize, (Time, Time))> = Vec::new();
        for (day, window) in self.days.iter().enumerate() {
            let Some(window) = window else { continue };
            match spans.last_mut() {
                Some((_, last, w)) if *last + 1 == day && w == window => *last = day,
                _ => spans.push((day, day, *window)),
            }
        }
        spans
            .iter()
            .map(|(first, last, (open, close))| {
                let hours = format!("{}-{}", open.strftime("%H:%M"), close.strftime("%H:%M"));
                if first == last {
                    format!("{} {hours}", DAYS[*first])
                } else {
                    format!("{} to {} {hours}", DAYS[*first], DAYS[*last])
                }
            })
            .collect::<Vec<_>>()
            .join(", ")
    }

    fn window(&self, weekday: Weekday) -> Option<(Time, Time)> {
        self.days[usize::from(weekday.to_monday_zero_offset().unsigned_abs())]
    }

    /// Whether the clinic is open at `at`.
    pub fn is_open(&self, at: Timestamp) -> bool {
        let local = at.to_zoned(self.zone.clone());
        self.window(local.weekday())
            .is_some_and(|(open, close)| open <= local.time() && local.time() < close)
    }

    /// The instant `work` of open time after `from`: the clock stops while the clinic
    /// is closed. `None` only past the end of time.
    pub fn after(&self, from: Timestamp, work: SignedDuration) -> Option<Timestamp> {
        let mut left = work;
        let mut local = from.to_zoned(self.zone.clone());
        // Each day is visited once: as many weeks as the work takes at the week's open
        // time, and one more for the part weeks at either end.
        let weekly: i64 = self
            .days
            .iter()
            .flatten()
            .map(|(open, close)| open.duration_until(*close).as_secs())
            .sum();
        let weeks = work.as_secs() / weekly.max(1) + 2;
        for _ in 0..weeks.saturating_mul(7) {
            if let Some((open, close)) = self.window(local.weekday()) {
                let day = local.date();
                let opens = day.to_datetime(open).to_zoned(self.zone.clone()).ok()?;
                let closes = day.to_datetime(close).to_zoned(self.zone.clone()).ok()?;
                let start = if local < opens { opens } else { local.clone() };
                if start < closes {
                    let available = start.duration_until(&closes);
                    if left <= available {
                        return start.checked_add(left).ok().map(|z| z.timestamp());
                    }
                    left -= available;
                }
            }
            // On to the start of the next day.
            let next = local.date().checked_add(1.day()).ok()?;
            local = next.to_zoned(self.zone.clone()).ok()?;
        }
        None
    }
}

/// How soon a message of each priority must have a first answer.
#[derive(Clone, Debug, PartialEq)]
pub struct ResponseTargets {
    /// Around the clock.
    pub urgent: SignedDuration,
    /// Open hours only, from here down.
    pub high: SignedDuration,
    pub normal: SignedDuration,
    pub low: SignedDuration,
}

impl Default for ResponseTargets {
    /// Urgent 15 minutes; high 1, normal 4 and low 8 business hours.
    fn default() -> Self {
        Self {
            urgent: SignedDuration::from_mins(15),
            high: SignedDuration::from_hours(1),
            normal: SignedDuration::from_hours(4),
            low: SignedDuration::from_hours(8),
        }
    }
}

/// How soon a conversation needs an answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Priority {
    Urgent,
    High,
    Normal,
    Low,
}

impl Priority {
    pub const ALL: [Self; 4] = [Self::Urgent, Self::High, Self::Normal, Self::Low];

    pub fn name(self) -> &'static str {
        match self {
            Self::Urgent => "urgent",
            Self::High => "high",
            Self::Normal => "normal",
            Self::Low => "low",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.name() == name)
    }

    /// Its place in a queue: 0 for urgent, first.
    pub fn rank(self) -> i64 {
        match self {
            Self::Urgent => 0,
            Self::High => 1,
            Self::Normal => 2,
            Self::Low => 3,
        }
    }

    pub fn from_rank(rank: i64) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.rank() == rank)
    }
}

impl ResponseTargets {
    /// When a message a patient wrote at `written` must have had its first answer.
    pub fn due(
        &self,
        priority: Priority,
        written: Timestamp,
        hours: &BusinessHours,
    ) -> Option<Timestamp> {
        match priority {
            Priority::Urgent => written.checked_add(self.urgent).ok(),
            Priority::High => hours.after(written, self.high),
            Priority::Normal => hours.after(written, self.normal),
            Priority::Low => hours.after(written, self.low),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn boston() -> TimeZone {
        TimeZone::get("America/New_York").unwrap()
    }

    fn at(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    #[test]
    fn the_clock_runs_while_open_and_waits_while_closed() {
        let hours = BusinessHours::weekdays(boston());
        // Monday 2026-03-02 10:00 EST (15:00Z) + 4 h = 14:00 EST.
        assert_eq!(
            hours.after(at("2026-03-02T15:00:00Z"), SignedDuration::from_hours(4)),
            Some(at("2026-03-02T19:00:00Z"))
        );
        // Monday 15:00 EST + 4 h: 2 h on Monday, 2 h from Tuesday 08:00.
        assert_eq!(
            hours.after(at("2026-03-02T20:00:00Z"), SignedDuration::from_hours(4)),
            Some(at("2026-03-03T15:00:00Z"))
        );
        // Friday 16:00 EST + 4 h: 1 h on Friday, 3 h from Monday 08:00.
        assert_eq!(
            hours.after(at("2026-03-06T21:00:00Z"), SignedDuration::from_hours(4)),
            Some(at("2026-03-09T15:00:00Z")),
            "Monday the 9th is after the clocks changed: 11:00 EDT is 15:00Z"
        );
        // Saturday night: from Monday 08:00 EDT.
        assert_eq!(
            hours.after(at("2026-03-08T03:00:00Z"), SignedDuration::from_hours(1)),
            Some(at("2026-03-09T13:00:00Z"))
        );
        assert!(hours.is_open(at("2026-03-02T15:00:00Z")));
        assert!(!hours.is_open(at("2026-03-07T15:00:00Z")), "Saturday");
        assert!(!hours.is_open(at("2026-03-02T22:30:00Z")), "17:30");
    }

    #[test]
    fn an_urgent_message_is_due_in_fifteen_minutes_at_any_hour() {
        let hours = BusinessHours::weekdays(boston());
        let targets = ResponseTargets::default();
        let sunday_night = at("2026-03-08T06:00:00Z");
        assert_eq!(
            targets.due(Priority::Urgent, sunday_night, &hours),
            Some(at("2026-03-08T06:15:00Z"))
        );
        assert_eq!(
            targets.due(Priority::Normal, sunday_night, &hours),
            Some(at("2026-03-09T16:00:00Z"))
        );
        for priority in Priority::ALL {
            assert_eq!(Priority::parse(priority.name()), Some(priority));
        }
    }

    #[test]
    fn a_clinic_open_an_hour_a_week_takes_weeks() {
        let hour = Some((Time::constant(9, 0, 0, 0), Time::constant(10, 0, 0, 0)));
        let hours =
            BusinessHours::new(boston(), [hour, None, None, None, None, None, None]).unwrap();
        // Monday 2026-03-02 09:30 EST: half an hour now, an hour on the 9th, the last
        // hour on the 16th.
        assert_eq!(
            hours.after(at("2026-03-02T14:30:00Z"), SignedDuration::from_mins(150)),
            Some(at("2026-03-16T14:00:00Z")),
            "10:00 EDT on Monday the 16th, the end of its hour"
        );
    }

    #[test]
    fn hours_that_cannot_be_are_refused() {
        let late = Some((Time::constant(17, 0, 0, 0), Time::constant(8, 0, 0, 0)));
        assert_eq!(
            BusinessHours::new(boston(), [late, None, None, None, None, None, None]),
            Err(BadHours::EndsBeforeStart)
        );
        assert_eq!(
            BusinessHours::new(boston(), [None; 7]),
            Err(BadHours::NeverOpen)
        );
    }

    proptest! {
        #[test]
        fn more_work_is_never_due_sooner_and_always_lands_open(
            start in 1_767_225_600i64..1_798_761_600,
            minutes in 1i64..3_000,
        ) {
            let hours = BusinessHours::weekdays(boston());
            let from = Timestamp::from_second(start).unwrap();
            let due = hours.after(from, SignedDuration::from_mins(minutes)).unwrap();
            let more = hours.after(from, SignedDuration::from_mins(minutes + 1)).unwrap();
            prop_assert!(more > due);
            prop_assert!(due > from);
            // The second before it is due, the clinic is open: the clock was running.
            prop_assert!(hours.is_open(due - SignedDuration::from_secs(1)));
        }
    }

    #[test]
    fn hours_read_as_a_person_says_them() {
        assert_eq!(
            BusinessHours::weekdays(TimeZone::UTC).describe(),
            "Monday to Friday 08:00-17:00"
        );
    }
}
