//! How a patient is reached: a phone number in E.164 form or an email address, each on a
//! channel, with the rank the EHR gave it (1 = the patient's first choice).

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;
use std::sync::{Mutex, PoisonError};

use crate::redact::redacted;

/// The country whose numbering plan applies to a phone number written without a country
/// code ("(03) 5555 6473"): the patient's address country, else the deployment's default.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Region(phonenumber::country::Id);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("not an ISO 3166-1 alpha-2 country code with a telephone numbering plan")]
pub struct UnknownRegion;

impl FromStr for Region {
    type Err = UnknownRegion;

    fn from_str(code: &str) -> Result<Self, Self::Err> {
        if code.len() != 2 {
            return Err(UnknownRegion);
        }
        phonenumber::country::Id::from_str(&code.to_ascii_uppercase())
            .map(Self)
            .map_err(|_| UnknownRegion)
    }
}

impl Default for Region {
    fn default() -> Self {
        Self(phonenumber::country::Id::US)
    }
}

/// A phone number that resolved to a valid E.164 number (`+61355556473`).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct PhoneE164(String);

/// What a phone number as written turned out to be.
#[derive(Clone, PartialEq, Eq)]
pub enum PhoneNumber {
    /// A valid number in E.164 form: it can be texted or called.
    E164(PhoneE164),
    /// A well-formed number that is not valid in the numbering plan it was read under (a
    /// local number from another country, a retired range). Kept as its digits so it can
    /// still be found, but never used to send.
    Unresolved(String),
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PhoneError {
    #[error("a phone number may contain only digits, spaces, '+', '-', '.', '/' and parentheses")]
    Characters,
    #[error("a phone number has between 4 and 15 digits")]
    Length,
}

impl PhoneE164 {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for PhoneE164 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        redacted(f, "PhoneE164")
    }
}

/// Numbers resolved already, by region and digits: every read of a patient resolves
/// their numbers again, and checking one against its numbering plan costs many times
/// the look-up. Emptied when full, so it holds at most this many.
const MOST_RESOLVED: usize = 16_384;

/// The E.164 form (or `None`: not a valid number) of digits as read under a region.
type Resolved = HashMap<(Region, String), Option<String>>;

static RESOLVED: Mutex<Option<Resolved>> = Mutex::new(None);

/// The E.164 form of `international` read under `region`, if it is a valid number.
fn resolve(region: Region, international: &str) -> Option<String> {
    let key = (region, international.to_owned());
    {
        // The map is whole even if a holder panicked: entries are inserted complete.
        let resolved = RESOLVED.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(known) = resolved.as_ref().and_then(|map| map.get(&key)) {
            return known.clone();
        }
    }
    let e164 = phonenumber::parse(Some(region.0), international)
        .ok()
        .filter(phonenumber::is_valid)
        .map(|n| n.format().mode(phonenumber::Mode::E164).to_string());
    let mut resolved = RESOLVED.lock().unwrap_or_else(PoisonError::into_inner);
    let map = resolved.get_or_insert_with(HashMap::new);
    if map.len() >= MOST_RESOLVED {
        map.clear();
    }
    map.insert(key, e164.clone());
    e164
}

impl PhoneNumber {
    /// Reads a number as people write it. `region` applies when it has no country code.
    pub fn parse(raw: &str, region: Region) -> Result<Self, PhoneError> {
        let trimmed = raw.trim();
        let (plus, rest) = match trimmed.strip_prefix('+') {
            Some(rest) => (true, rest),
            None => (false, trimmed),
        };
        let mut digits = String::with_capacity(rest.len());
        for c in rest.chars() {
            match c {
                '0'..='9' => digits.push(c),
                ' ' | '-' | '.' | '/' | '(' | ')' => {}
                _ => return Err(PhoneError::Characters),
            }
        }
        if !(4..=15).contains(&digits.len()) {
            return Err(PhoneError::Length);
        }
        let international = if plus {
            format!("+{digits}")
        } else {
            digits.clone()
        };
        let resolved = resolve(region, &international);
        Ok(match resolved {
            Some(e164) => Self::E164(PhoneE164(e164)),
            None => Self::Unresolved(international),
        })
    }

    /// The canonical text used for exact-match look-ups.
    pub fn lookup_key(&self) -> &str {
        match self {
            Self::E164(e164) => e164.as_str(),
            Self::Unresolved(digits) => digits,
        }
    }

    pub fn e164(&self) -> Option<&PhoneE164> {
        match self {
            Self::E164(e164) => Some(e164),
            Self::Unresolved(_) => None,
        }
    }
}

impl fmt::Debug for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        redacted(f, "PhoneNumber")
    }
}

/// An email address, lower-cased so that look-ups match however the EHR capitalized it.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct EmailAddress(String);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("not an email address of the form name@domain.tld")]
pub struct BadEmail;

impl EmailAddress {
    pub fn parse(raw: &str) -> Result<Self, BadEmail> {
        let address = raw.trim().to_lowercase();
        // RFC 5321 limits: 64 octets of local part, 254 for the whole path.
        if address.len() > 254 || address.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(BadEmail);
        }
        let (local, domain) = address.split_once('@').ok_or(BadEmail)?;
        let domain_ok = domain.contains('.')
            && !domain.contains('@')
            && domain
                .split('.')
                .all(|label| !label.is_empty() && !label.starts_with('-') && !label.ends_with('-'));
        if local.is_empty() || local.len() > 64 || !domain_ok {
            return Err(BadEmail);
        }
        Ok(Self(address))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        redacted(f, "EmailAddress")
    }
}

/// The channel a contact point reaches the patient on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ContactChannel {
    /// A phone that takes calls; texts too when it is a mobile.
    Phone,
    /// A number the EHR marked for text messages only.
    Sms,
    Email,
}

/// One way to reach a patient, in the order of preference the EHR gave.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContactPoint {
    pub channel: ContactChannel,
    pub address: ContactAddress,
    /// 1 is the most preferred; `None` ranks after every ranked one.
    pub rank: Option<u32>,
    /// FHIR `ContactPoint.use`: home, work, temp, old, mobile.
    pub usage: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ContactAddress {
    Phone(PhoneNumber),
    Email(EmailAddress),
}

impl ContactPoint {
    /// Whether careloop may use this contact point at all: not an old number, and a
    /// number that resolved.
    pub fn is_usable(&self) -> bool {
        if self.usage.as_deref() == Some("old") {
            return false;
        }
        match &self.address {
            ContactAddress::Phone(number) => number.e164().is_some(),
            ContactAddress::Email(_) => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn au() -> Region {
        "AU".parse().unwrap()
    }

    #[test]
    fn national_numbers_resolve_in_their_region() {
        let n = PhoneNumber::parse("(03) 5555 6473", au()).unwrap();
        assert_eq!(n.e164().unwrap().as_str(), "+61355556473");
    }

    #[test]
    fn international_numbers_ignore_the_region() {
        let n = PhoneNumber::parse("+33 (237) 998327", au()).unwrap();
        assert_eq!(n.lookup_key(), "+33237998327");
        let us = PhoneNumber::parse("+1 (415) 555-2671", Region::default()).unwrap();
        assert_eq!(us.e164().unwrap().as_str(), "+14155552671");
    }

    #[test]
    fn a_foreign_local_number_is_kept_but_unresolved() {
        let n = PhoneNumber::parse("(03) 5555 6473", Region::default()).unwrap();
        assert_eq!(n, PhoneNumber::Unresolved("0355556473".into()));
        assert!(n.e164().is_none());
    }

    #[test]
    fn a_number_resolved_before_under_one_region_is_read_afresh_under_another() {
        for _ in 0..2 {
            let local = PhoneNumber::parse("(03) 5555 6473", au()).unwrap();
            assert_eq!(local.lookup_key(), "+61355556473");
            let abroad = PhoneNumber::parse("(03) 5555 6473", Region::default()).unwrap();
            assert_eq!(abroad, PhoneNumber::Unresolved("0355556473".into()));
        }
    }

    #[test]
    fn garbage_is_rejected() {
        assert_eq!(
            PhoneNumber::parse("call me", au()),
            Err(PhoneError::Characters)
        );
        assert_eq!(PhoneNumber::parse("12", au()), Err(PhoneError::Length));
        assert_eq!(
            PhoneNumber::parse("+1234567890123456", au()),
            Err(PhoneError::Length)
        );
    }

    #[test]
    fn emails_are_lower_cased_and_checked() {
        assert_eq!(
            EmailAddress::parse(" Jim.Chalmers@Example.ORG ")
                .unwrap()
                .as_str(),
            "jim.chalmers@example.org"
        );
        for bad in [
            "jim",
            "jim@",
            "@example.org",
            "jim@example",
            "j im@example.org",
            "a@b@c.org",
            "jim@-x.org",
        ] {
            assert_eq!(EmailAddress::parse(bad), Err(BadEmail), "{bad}");
        }
    }

    #[test]
    fn debug_never_shows_the_number() {
        let n = PhoneNumber::parse("+14155552671", Region::default()).unwrap();
        assert!(!format!("{n:?}").contains("555"));
        let e = EmailAddress::parse("jim@example.org").unwrap();
        assert!(!format!("{e:?}").contains("jim"));
    }

    #[test]
    fn regions_parse_from_iso_codes() {
        assert!("es".parse::<Region>().is_ok());
        assert_eq!("XX".parse::<Region>(), Err(UnknownRegion));
        assert_eq!("USA".parse::<Region>(), Err(UnknownRegion));
    }
}
