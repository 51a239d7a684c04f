//! Consent to be messaged, per channel and address: the records a patient's words (STOP,
//! START, "stop texting me") or the clinic leave, and the gate every message passes.
//!
//! Messages about the patient's own care need no opt-in: a patient who gave the clinic a
//! number may be reminded on it until they say stop. Marketing needs an opt-in of its
//! own. The latest record that speaks to a purpose decides.

use jiff::Timestamp;

use crate::journey::Purpose;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    Permit,
    Deny,
}

impl Decision {
    /// The code of FHIR's `Consent.provision.type`.
    pub fn code(self) -> &'static str {
        match self {
            Self::Permit => "permit",
            Self::Deny => "deny",
        }
    }

    pub fn parse(code: &str) -> Option<Self> {
        match code {
            "permit" => Some(Self::Permit),
            "deny" => Some(Self::Deny),
            _ => None,
        }
    }
}

/// Where a consent record came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// A carrier keyword (STOP, START) in a text.
    Keyword,
    /// Words in a text that withdraw consent ("stop texting me").
    FreeText,
    /// The provider refused a message because the recipient unsubscribed (Twilio 21610).
    Provider,
}

impl Source {
    pub fn code(self) -> &'static str {
        match self {
            Self::Keyword => "keyword",
            Self::FreeText => "free-text",
            Self::Provider => "provider",
        }
    }

    pub fn parse(code: &str) -> Option<Self> {
        [Self::Keyword, Self::FreeText, Self::Provider]
            .into_iter()
            .find(|s| s.code() == code)
    }
}

/// One consent record for one address on one channel.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    pub decision: Decision,
    /// The purpose it speaks to; `None` for every purpose (STOP stops everything).
    pub purpose: Option<Purpose>,
    pub at: Timestamp,
    pub source: Source,
}

impl Record {
    fn speaks_to(&self, purpose: Purpose) -> bool {
        self.purpose.is_none_or(|p| p == purpose)
    }
}

/// Why the gate holds a message back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Held {
    OptedOut {
        at: Timestamp,
        source: Source,
    },
    NoMarketingOptIn,
    /// A record of the address could not be read: its answer is unknown, so nothing
    /// goes until it is mended.
    Unreadable,
}

impl std::fmt::Display for Held {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Unreadable => {
                f.write_str("a consent record of the recipient's address could not be read")
            }
            Self::OptedOut { at, source } => write!(
                f,
                "the recipient opted out of this channel ({} at {at})",
                match source {
                    Source::Keyword => "carrier keyword",
                    Source::FreeText => "in their own words",
                    Source::Provider => "reported by the provider",
                }
            ),
            Self::NoMarketingOptIn => {
                f.write_str("the recipient has not opted in to marketing on this channel")
            }
        }
    }
}

/// Whether a message of `purpose` may go to an address with these records.
pub fn gate(records: &[Record], purpose: Purpose) -> Result<(), Held> {
    let latest = records
        .iter()
        .filter(|r| r.speaks_to(purpose))
        .max_by_key(|r| r.at);
    match (latest, purpose) {
        (Some(r), _) if r.decision == Decision::Deny => Err(Held::OptedOut {
            at: r.at,
            source: r.source,
        }),
        (Some(_), _) | (None, Purpose::Transactional) => Ok(()),
        (None, Purpose::Marketing) => Err(Held::NoMarketingOptIn),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: i64) -> Timestamp {
        Timestamp::from_second(seconds).unwrap()
    }

    fn record(decision: Decision, purpose: Option<Purpose>, seconds: i64) -> Record {
        Record {
            decision,
            purpose,
            at: at(seconds),
            source: Source::Keyword,
        }
    }

    #[test]
    fn reminders_go_until_stop_and_again_after_start() {
        assert_eq!(gate(&[], Purpose::Transactional), Ok(()));
        let stop = record(Decision::Deny, None, 10);
        assert!(matches!(
            gate(std::slice::from_ref(&stop), Purpose::Transactional),
            Err(Held::OptedOut { .. })
        ));
        let start = record(Decision::Permit, Some(Purpose::Transactional), 20);
        assert_eq!(
            gate(&[start.clone(), stop.clone()], Purpose::Transactional),
            Ok(())
        );
        // START restores care messages, not marketing: the STOP still speaks for it.
        assert!(matches!(
            gate(&[stop, start], Purpose::Marketing),
            Err(Held::OptedOut { .. })
        ));
    }

    #[test]
    fn marketing_needs_its_own_opt_in() {
        assert_eq!(gate(&[], Purpose::Marketing), Err(Held::NoMarketingOptIn));
        let opt_in = record(Decision::Permit, Some(Purpose::Marketing), 5);
        assert_eq!(
            gate(std::slice::from_ref(&opt_in), Purpose::Marketing),
            Ok(())
        );
        let stop = record(Decision::Deny, None, 6);
        assert!(gate(&[opt_in, stop], Purpose::Marketing).is_err());
    }

    #[test]
    fn the_reason_says_how_and_when_the_recipient_said_stop() {
        let held = gate(&[record(Decision::Deny, None, 0)], Purpose::Transactional).unwrap_err();
        assert!(held.to_string().starts_with("the recipient opted out"));
        assert_eq!(
            held.to_string(),
            "the recipient opted out of this channel (carrier keyword at 1970-01-01T00:00:00Z)"
        );
    }
}
