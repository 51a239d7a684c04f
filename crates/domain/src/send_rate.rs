//! A sender's rate limit: carriers and providers accept only so many messages a second
//! from one number or one account (a US long code about one a second, a toll-free number
//! three, a short code a hundred), and refuse or filter what goes faster. A message over
//! the limit waits its turn; it is never dropped.

use std::fmt;
use std::str::FromStr;

use jiff::SignedDuration;

/// `count` messages per `per`, sent evenly: one every `per / count`, with at most a
/// second's worth (or one message) saved up while the sender is idle.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SendRate {
    count: u32,
    per: SignedDuration,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("'{0}' is not a send rate such as 1/s, 30/min or 3600/h")]
pub struct BadSendRate(pub String);

impl SendRate {
    pub fn new(count: u32, per: SignedDuration) -> Option<Self> {
        (count > 0 && per.is_positive()).then_some(Self { count, per })
    }

    /// The time one message uses up.
    pub fn interval(&self) -> SignedDuration {
        self.per / i32::try_from(self.count).unwrap_or(i32::MAX)
    }

    /// The most unused time an idle sender saves up: a second's worth of messages, or
    /// one message when the rate is slower than one a second.
    pub fn burst(&self) -> SignedDuration {
        self.interval().max(SignedDuration::from_secs(1))
    }
}

impl FromStr for SendRate {
    type Err = BadSendRate;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bad = || BadSendRate(text.to_owned());
        let (count, per) = text.trim().split_once('/').ok_or_else(bad)?;
        let count: u32 = count.trim().parse().map_err(|_| bad())?;
        let per = match per.trim().to_ascii_lowercase().as_str() {
            "s" | "sec" | "second" => SignedDuration::from_secs(1),
            "m" | "min" | "minute" => SignedDuration::from_mins(1),
            "h" | "hour" => SignedDuration::from_hours(1),
            _ => return Err(bad()),
        };
        Self::new(count, per).ok_or_else(bad)
    }
}

impl fmt::Display for SendRate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let unit = match self.per.as_secs() {
            1 => "s",
            60 => "min",
            _ => "h",
        };
        write!(f, "{}/{unit}", self.count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_read_and_print() {
        for text in ["1/s", "30/min", "3600/h"] {
            let rate: SendRate = text.parse().unwrap();
            assert_eq!(rate.to_string(), text);
        }
        for bad in ["", "0/s", "1", "x/s", "1/day", "-1/s"] {
            assert!(bad.parse::<SendRate>().is_err(), "{bad}");
        }
    }

    #[test]
    fn the_interval_spreads_messages_evenly() {
        let rate: SendRate = "4/s".parse().unwrap();
        assert_eq!(rate.interval(), SignedDuration::from_millis(250));
        assert_eq!(rate.burst(), SignedDuration::from_secs(1));
        let slow: SendRate = "30/min".parse().unwrap();
        assert_eq!(slow.interval(), SignedDuration::from_secs(2));
        assert_eq!(slow.burst(), SignedDuration::from_secs(2));
    }
}
