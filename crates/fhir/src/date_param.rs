//! FHIR date search values (`ge2026-03-01`, `lt2026-03-01T12:00:00Z`) as ranges of instants.
//!
//! A value stands for the whole interval its precision implies: `2026-03` is all of March.
//! A value without an offset is read as UTC.

use jiff::civil::{Date, DateTime};
use jiff::tz::TimeZone;
use jiff::{Span, Timestamp};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DatePrefix {
    Eq,
    Lt,
    Le,
    Gt,
    Ge,
    /// Starts after the interval.
    Sa,
    /// Ends before the interval.
    Eb,
}

/// Reads `[prefix]value` into the prefix and the interval `[lower, upper)`.
pub fn parse(raw: &str) -> Result<(DatePrefix, Timestamp, Timestamp), String> {
    let (prefix, value) = match raw.get(..2) {
        Some(p) if p.bytes().all(|b| b.is_ascii_lowercase()) => (p, &raw[2..]),
        _ => ("eq", raw),
    };
    let prefix = match prefix {
        "eq" => DatePrefix::Eq,
        "lt" => DatePrefix::Lt,
        "le" => DatePrefix::Le,
        "gt" => DatePrefix::Gt,
        "ge" => DatePrefix::Ge,
        "sa" => DatePrefix::Sa,
        "eb" => DatePrefix::Eb,
        other => {
            return Err(format!(
                "the prefix '{other}' is not supported; use eq, lt, le, gt, ge, sa or eb"
            ));
        }
    };
    let (lower, upper) = interval(value).ok_or_else(|| {
        "expected YYYY, YYYY-MM, YYYY-MM-DD or a date and time such as 2026-03-01T09:00:00Z"
            .to_owned()
    })?;
    Ok((prefix, lower, upper))
}

fn interval(value: &str) -> Option<(Timestamp, Timestamp)> {
    let utc = |dt: DateTime| dt.to_zoned(TimeZone::UTC).ok().map(|z| z.timestamp());
    let date_range = |start: Date, step: Span| -> Option<(Timestamp, Timestamp)> {
        let end = start.checked_add(step).ok()?;
        Some((
            utc(start.to_datetime(jiff::civil::Time::midnight()))?,
            utc(end.to_datetime(jiff::civil::Time::midnight()))?,
        ))
    };
    match value.len() {
        4 => date_range(
            Date::new(value.parse().ok()?, 1, 1).ok()?,
            Span::new().years(1),
        ),
        7 => date_range(format!("{value}-01").parse().ok()?, Span::new().months(1)),
        10 => date_range(value.parse().ok()?, Span::new().days(1)),
        _ => {
            let (lower, step) = if let Ok(ts) = value.parse::<Timestamp>() {
                (ts, precision_step(value))
            } else {
                let dt: DateTime = value.parse().ok()?;
                (utc(dt)?, precision_step(value))
            };
            Some((lower, lower.checked_add(step).ok()?))
        }
    }
}

/// One unit of the finest field written: a minute for `T09:30`, a second for `T09:30:00`.
fn precision_step(value: &str) -> Span {
    let time = value.split_once('T').map_or("", |(_, t)| t);
    let colons = time
        .split(['Z', '+', '-'])
        .next()
        .unwrap_or("")
        .matches(':')
        .count();
    if colons >= 2 {
        Span::new().seconds(1)
    } else {
        Span::new().minutes(1)
    }
}

/// The intersection of several date conditions on one point in time, as `[from, before)`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DateRange {
    pub from: Option<Timestamp>,
    pub before: Option<Timestamp>,
}

impl DateRange {
    pub fn add(&mut self, (prefix, lower, upper): &(DatePrefix, Timestamp, Timestamp)) {
        let (from, before) = match prefix {
            DatePrefix::Eq => (Some(*lower), Some(*upper)),
            DatePrefix::Lt | DatePrefix::Eb => (None, Some(*lower)),
            DatePrefix::Le => (None, Some(*upper)),
            DatePrefix::Gt | DatePrefix::Sa => (Some(*upper), None),
            DatePrefix::Ge => (Some(*lower), None),
        };
        if let Some(from) = from {
            self.from = Some(self.from.map_or(from, |f| f.max(from)));
        }
        if let Some(before) = before {
            self.before = Some(self.before.map_or(before, |b| b.min(before)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn precision_sets_the_interval() {
        assert_eq!(
            parse("2013").unwrap(),
            (
                DatePrefix::Eq,
                ts("2013-01-01T00:00:00Z"),
                ts("2014-01-01T00:00:00Z")
            )
        );
        assert_eq!(
            parse("ge2013-12").unwrap(),
            (
                DatePrefix::Ge,
                ts("2013-12-01T00:00:00Z"),
                ts("2014-01-01T00:00:00Z")
            )
        );
        assert_eq!(
            parse("lt2013-12-10").unwrap(),
            (
                DatePrefix::Lt,
                ts("2013-12-10T00:00:00Z"),
                ts("2013-12-11T00:00:00Z")
            )
        );
        assert_eq!(
            parse("gt2013-12-10T09:00:00Z").unwrap().1,
            ts("2013-12-10T09:00:00Z")
        );
        assert_eq!(
            parse("gt2013-12-10T09:00:00Z").unwrap().2,
            ts("2013-12-10T09:00:01Z")
        );
        assert_eq!(
            parse("le2013-12-10T09:00:00-05:00").unwrap().1,
            ts("2013-12-10T14:00:00Z")
        );
        assert_eq!(
            parse("2013-12-10T09:00").unwrap().2,
            ts("2013-12-10T09:01:00Z")
        );
    }

    #[test]
    fn bad_values_are_refused() {
        assert!(parse("ne2013").is_err());
        assert!(parse("yesterday").is_err());
        assert!(parse("2013-13").is_err());
        assert!(parse("ge").is_err());
    }

    #[test]
    fn conditions_intersect() {
        let mut range = DateRange::default();
        range.add(&parse("ge2013-12-01").unwrap());
        range.add(&parse("lt2014-01-01").unwrap());
        range.add(&parse("ge2013-11-01").unwrap());
        assert_eq!(range.from, Some(ts("2013-12-01T00:00:00Z")));
        assert_eq!(range.before, Some(ts("2014-01-01T00:00:00Z")));
    }
}
