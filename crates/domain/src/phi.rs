//! How much protected health information a message carries, and how much each channel
//! may carry. A text can be read on a lock screen and an email sits in a mailbox that is
//! not the clinic's: by default both carry no more than that an appointment exists (a
//! time, a place, the clinic), and anything clinical travels behind a secure link.

use std::fmt;
use std::str::FromStr;

use crate::journey::Channel;

/// From least to most sensitive.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PhiLevel {
    /// Nothing about the patient's health: opening hours, a HELP answer.
    None,
    /// That the patient has an appointment: a time, a place, the clinic's name. What
    /// appointment reminders carry.
    Limited,
    /// Clinical detail: a diagnosis, a result, a medication, a procedure.
    Clinical,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("'{0}' is not a PHI level (none, limited or clinical)")]
pub struct BadPhiLevel(pub String);

impl PhiLevel {
    pub fn code(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Limited => "limited",
            Self::Clinical => "clinical",
        }
    }

    /// The level of an HL7 v3 Confidentiality code (the FHIR security label an EHR puts
    /// on a resource): U unrestricted carries none, L low carries limited, M moderate and
    /// N normal (health information's default), R restricted and V very restricted are
    /// clinical.
    pub fn from_confidentiality(code: &str) -> Option<Self> {
        match code {
            "U" => Some(Self::None),
            "L" => Some(Self::Limited),
            "M" | "N" | "R" | "V" => Some(Self::Clinical),
            _ => None,
        }
    }
}

impl FromStr for PhiLevel {
    type Err = BadPhiLevel;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.trim().to_ascii_lowercase().as_str() {
            "none" => Ok(Self::None),
            "limited" => Ok(Self::Limited),
            "clinical" => Ok(Self::Clinical),
            _ => Err(BadPhiLevel(text.to_owned())),
        }
    }
}

impl fmt::Display for PhiLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// The most each channel may carry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PhiPolicy {
    pub sms: PhiLevel,
    pub email: PhiLevel,
}

impl Default for PhiPolicy {
    fn default() -> Self {
        Self {
            sms: PhiLevel::Limited,
            email: PhiLevel::Limited,
        }
    }
}

/// Why a message may not go on a channel.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the message carries {carried} health information; {channel} may carry {allowed} at most")]
pub struct PhiHeld {
    pub carried: PhiLevel,
    pub channel: &'static str,
    pub allowed: PhiLevel,
}

impl PhiPolicy {
    pub fn allowed(&self, channel: Channel) -> PhiLevel {
        match channel {
            Channel::Sms => self.sms,
            Channel::Email => self.email,
        }
    }

    pub fn check(&self, channel: Channel, carried: PhiLevel) -> Result<(), PhiHeld> {
        let allowed = self.allowed(channel);
        if carried <= allowed {
            return Ok(());
        }
        Err(PhiHeld {
            carried,
            channel: match channel {
                Channel::Sms => "a text message",
                Channel::Email => "an email",
            },
            allowed,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_are_ordered_and_read_back() {
        assert!(PhiLevel::None < PhiLevel::Limited && PhiLevel::Limited < PhiLevel::Clinical);
        for level in [PhiLevel::None, PhiLevel::Limited, PhiLevel::Clinical] {
            assert_eq!(level.code().parse(), Ok(level));
        }
        assert_eq!(" Clinical ".parse(), Ok(PhiLevel::Clinical));
        assert!("secret".parse::<PhiLevel>().is_err());
    }

    #[test]
    fn confidentiality_codes_map_to_levels() {
        assert_eq!(PhiLevel::from_confidentiality("U"), Some(PhiLevel::None));
        assert_eq!(PhiLevel::from_confidentiality("L"), Some(PhiLevel::Limited));
        for code in ["M", "N", "R", "V"] {
            assert_eq!(
                PhiLevel::from_confidentiality(code),
                Some(PhiLevel::Clinical)
            );
        }
        assert_eq!(PhiLevel::from_confidentiality("X"), None);
    }

    #[test]
    fn by_default_no_channel_carries_clinical_detail() {
        let policy = PhiPolicy::default();
        for channel in [Channel::Sms, Channel::Email] {
            assert_eq!(policy.check(channel, PhiLevel::None), Ok(()));
            assert_eq!(policy.check(channel, PhiLevel::Limited), Ok(()));
            assert!(policy.check(channel, PhiLevel::Clinical).is_err());
        }
        let held = policy.check(Channel::Sms, PhiLevel::Clinical).unwrap_err();
        assert_eq!(
            held.to_string(),
            "the message carries clinical health information; a text message may carry limited at most"
        );
    }

    #[test]
    fn a_clinic_may_let_email_carry_more() {
        let policy = PhiPolicy {
            email: PhiLevel::Clinical,
            ..PhiPolicy::default()
        };
        assert_eq!(policy.check(Channel::Email, PhiLevel::Clinical), Ok(()));
        assert!(policy.check(Channel::Sms, PhiLevel::Clinical).is_err());
    }
}
