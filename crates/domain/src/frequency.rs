//! Frequency caps: at most so many automated messages to one patient on one channel per
//! day and per week. A day is the patient's own calendar day; a week is the seven local
//! days ending today. Only automated messages count and are capped: an answer to the
//! patient's own text is neither.

use std::fmt;
use std::str::FromStr;

use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FrequencyCap {
    pub per_day: Option<u32>,
    pub per_week: Option<u32>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("'{0}' is not a frequency cap such as 1/day, 3/week, 1/day,3/week or off")]
pub struct BadFrequencyCap(pub String);

/// Which cap holds a message back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Period {
    Day,
    Week,
}

/// Why a message is held back: this many went out in the period already.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("frequency cap: {limit} {unit} a {period} reached for this patient")]
pub struct CapHeld {
    pub limit: u32,
    pub period: Period,
    unit: &'static str,
}

/// Automated messages already sent to a patient on a channel, today and this week.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SentCount {
    pub today: u32,
    pub this_week: u32,
}

/// The starts of the windows the caps count over, for a message due at `now`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Windows {
    pub day_start: Timestamp,
    pub week_start: Timestamp,
}

impl FrequencyCap {
    pub const OFF: Self = Self {
        per_day: None,
        per_week: None,
    };

    /// The TCPA healthcare exemption's limit on automated texts and calls: one a day,
    /// three a week.
    pub const TCPA_HEALTHCARE: Self = Self {
        per_day: Some(1),
        per_week: Some(3),
    };

    pub fn is_off(&self) -> bool {
        self.per_day.is_none() && self.per_week.is_none()
    }

    /// The stricter of two caps, period by period.
    pub fn and(self, other: Self) -> Self {
        let min = |a: Option<u32>, b: Option<u32>| match (a, b) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        Self {
            per_day: min(self.per_day, other.per_day),
            per_week: min(self.per_week, other.per_week),
        }
    }

    /// Whether one more message may go after `sent`; `unit` names what is counted
    /// ("text messages").
    pub fn check(&self, sent: SentCount, unit: &'static str) -> Result<(), CapHeld> {
        let over = |limit: Option<u32>, count: u32, period| match limit {
            Some(limit) if count >= limit => Err(CapHeld {
                limit,
                period,
                unit,
            }),
            _ => Ok(()),
        };
        over(self.per_day, sent.today, Period::Day)?;
        over(self.per_week, sent.this_week, Period::Week)
    }
}

/// The patient's day so far and the seven local days ending today, in `zone`.
pub fn windows(now: Timestamp, zone: &TimeZone) -> Windows {
    let local = now.to_zoned(zone.clone());
    let day_start = local
        .start_of_day()
        .map(|start| start.timestamp())
        .unwrap_or(now);
    let week_start = local
        .date()
        .checked_sub(6.days())
        .ok()
        .and_then(|date| date.to_zoned(zone.clone()).ok())
        .map(|start| start.timestamp())
        .unwrap_or(day_start);
    Windows {
        day_start,
        week_start,
    }
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Day => "day",
            Self::Week => "week",
        })
    }
}

impl FromStr for FrequencyCap {
    type Err = BadFrequencyCap;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bad = || BadFrequencyCap(text.to_owned());
        let trimmed = text.trim();
        if trimmed.eq_ignore_ascii_case("off") {
            return Ok(Self::OFF);
        }
        let mut cap = Self::OFF;
        for part in trimmed.split(',') {
            let (count, period) = part.trim().split_once('/').ok_or_else(bad)?;
            let count: u32 = count.trim().parse().map_err(|_| bad())?;
            let slot = match period.trim().to_ascii_lowercase().as_str() {
                "day" | "d" => &mut cap.per_day,
                "week" | "w" => &mut cap.per_week,
                _ => return Err(bad()),
            };
            if slot.replace(count).is_some() {
                return Err(bad());
            }
        }
        Ok(cap)
    }
}

impl fmt::Display for FrequencyCap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.per_day, self.per_week) {
            (None, None) => f.write_str("off"),
            (Some(day), None) => write!(f, "{day}/day"),
            (None, Some(week)) => write!(f, "{week}/week"),
            (Some(day), Some(week)) => write!(f, "{day}/day,{week}/week"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caps_read_and_print() {
        for text in ["off", "1/day", "3/week", "1/day,3/week"] {
            let cap: FrequencyCap = text.parse().unwrap();
            assert_eq!(cap.to_string(), text);
        }
        assert_eq!(
            " 3/w , 1/d ".parse::<FrequencyCap>(),
            Ok(FrequencyCap::TCPA_HEALTHCARE)
        );
        for bad in ["", "1", "1/month", "x/day", "1/day,2/day", "-1/day"] {
            assert!(bad.parse::<FrequencyCap>().is_err(), "{bad}");
        }
    }

    #[test]
    fn the_stricter_limit_wins_period_by_period() {
        let clinic: FrequencyCap = "2/day".parse().unwrap();
        assert_eq!(
            clinic.and(FrequencyCap::TCPA_HEALTHCARE),
            FrequencyCap::TCPA_HEALTHCARE
        );
        let loose: FrequencyCap = "5/week".parse().unwrap();
        assert_eq!(
            loose.and(clinic),
            FrequencyCap {
                per_day: Some(2),
                per_week: Some(5)
            }
        );
        assert!(FrequencyCap::OFF.and(FrequencyCap::OFF).is_off());
    }

    #[test]
    fn a_message_goes_while_under_both_limits() {
        let cap = FrequencyCap::TCPA_HEALTHCARE;
        let unit = "text messages";
        assert_eq!(cap.check(SentCount::default(), unit), Ok(()));
        let day = cap
            .check(
                SentCount {
                    today: 1,
                    this_week: 1,
                },
                unit,
            )
            .unwrap_err();
        assert_eq!(day.period, Period::Day);
        assert_eq!(
            day.to_string(),
            "frequency cap: 1 text messages a day reached for this patient"
        );
        let week = cap
            .check(
                SentCount {
                    today: 0,
                    this_week: 3,
                },
                unit,
            )
            .unwrap_err();
        assert_eq!(week.period, Period::Week);
        assert_eq!(
            cap.check(
                SentCount {
                    today: 0,
                    this_week: 2
                },
                unit
            ),
            Ok(())
        );
        assert_eq!(
            FrequencyCap::OFF.check(
                SentCount {
                    today: 99,
                    this_week: 99
                },
                unit
            ),
            Ok(())
        );
    }

    #[test]
    fn windows_follow_the_patients_calendar() {
        let zone = TimeZone::get("America/New_York").unwrap();
        // 02:30 UTC on 5 March is 21:30 on 4 March in New York.
        let now: Timestamp = "2026-03-05T02:30:00Z".parse().unwrap();
        let windows = windows(now, &zone);
        assert_eq!(
            windows.day_start,
            "2026-03-04T05:00:00Z".parse::<Timestamp>().unwrap()
        );
        assert_eq!(
            windows.week_start,
            "2026-02-26T05:00:00Z".parse::<Timestamp>().unwrap()
        );
        // Across the spring change of clocks the week still starts at local midnight.
        let later: Timestamp = "2026-03-10T12:00:00Z".parse().unwrap();
        assert_eq!(
            super::windows(later, &zone).week_start,
            "2026-03-04T05:00:00Z".parse::<Timestamp>().unwrap()
        );
    }
}
