//! The patient as careloop uses them: who they are, how to reach them, in which language
//! and time zone. Everything here is protected health information.

use std::fmt;

use crate::contact::ContactPoint;
use crate::ids::ResourceId;
use crate::locale::Locale;
use crate::zone::IanaZone;

#[derive(Clone, PartialEq, Eq)]
pub struct Patient {
    pub id: ResourceId,
    pub active: bool,
    pub names: Vec<PersonName>,
    pub birth_date: Option<PartialDate>,
    pub identifiers: Vec<Identifier>,
    pub contacts: Vec<ContactPoint>,
    pub zone: Option<IanaZone>,
    pub language: Option<Locale>,
}

#[derive(Clone, PartialEq, Eq)]
pub struct PersonName {
    /// FHIR `HumanName.use`: usual, official, nickname, maiden, old, ...
    pub usage: Option<String>,
    pub given: Vec<String>,
    pub family: Option<String>,
}

/// An identifier the EHR knows the patient by (an MRN): `system|value`.
#[derive(Clone, PartialEq, Eq)]
pub struct Identifier {
    pub system: Option<String>,
    pub value: String,
}

/// A FHIR `date`: a year, a year and month, or a full date.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PartialDate {
    pub year: i16,
    pub month: Option<i8>,
    pub day: Option<i8>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("not a date of the form YYYY, YYYY-MM or YYYY-MM-DD")]
pub struct BadDate;

impl PartialDate {
    pub fn parse(raw: &str) -> Result<Self, BadDate> {
        let parts: Vec<&str> = raw.split('-').collect();
        let number = |s: &str, len: usize| -> Result<i16, BadDate> {
            if s.len() != len || !s.bytes().all(|b| b.is_ascii_digit()) {
                return Err(BadDate);
            }
            s.parse().map_err(|_| BadDate)
        };
        let year = number(parts.first().ok_or(BadDate)?, 4)?;
        let month = parts.get(1).map(|m| number(m, 2)).transpose()?;
        let day = parts.get(2).map(|d| number(d, 2)).transpose()?;
        if parts.len() > 3 || year == 0 {
            return Err(BadDate);
        }
        let month = month
            .map(|m| i8::try_from(m).map_err(|_| BadDate))
            .transpose()?;
        let day = day
            .map(|d| i8::try_from(d).map_err(|_| BadDate))
            .transpose()?;
        match (month, day) {
            (Some(m), Some(d)) => {
                jiff::civil::Date::new(year, m, d).map_err(|_| BadDate)?;
            }
            (Some(m), None) if !(1..=12).contains(&m) => return Err(BadDate),
            _ => {}
        }
        Ok(Self { year, month, day })
    }

    /// Age in whole years on `today`; known only for a full date.
    pub fn age_on(&self, today: jiff::civil::Date) -> Option<u16> {
        let (month, day) = (self.month?, self.day?);
        let mut age = today.year() - self.year;
        if (today.month(), today.day()) < (month, day) {
            age -= 1;
        }
        u16::try_from(age).ok()
    }
}

impl Patient {
    /// The contact points careloop may use, most preferred first.
    pub fn reachable_contacts(&self) -> Vec<&ContactPoint> {
        let mut usable: Vec<&ContactPoint> =
            self.contacts.iter().filter(|c| c.is_usable()).collect();
        usable.sort_by_key(|c| c.rank.unwrap_or(u32::MAX));
        usable
    }

    /// The name to greet the patient by: the usual name if there is one, else the first.
    pub fn first_name(&self) -> Option<&str> {
        let usual = self
            .names
            .iter()
            .find(|n| n.usage.as_deref() == Some("usual"));
        usual
            .or(self.names.first())
            .and_then(|n| n.given.first())
            .map(String::as_str)
    }

    /// The name staff see: the usual name (else the first) in full, given names then
    /// family name; `None` for a record without a name.
    pub fn full_name(&self) -> Option<String> {
        let name = self
            .names
            .iter()
            .find(|n| n.usage.as_deref() == Some("usual"))
            .or(self.names.first())?;
        let words: Vec<&str> = name
            .given
            .iter()
            .map(String::as_str)
            .chain(name.family.as_deref())
            .collect();
        (!words.is_empty()).then(|| words.join(" "))
    }
}

impl fmt::Debug for Patient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Patient")
            .field("id", &self.id)
            .field("active", &self.active)
            .field("zone", &self.zone)
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for PersonName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        crate::redact::redacted(f, "PersonName")
    }
}

impl fmt::Debug for Identifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        crate::redact::redacted(f, "Identifier")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contact::{ContactAddress, ContactChannel, PhoneNumber, Region};

    #[test]
    fn age_counts_whole_years_from_a_full_date() {
        let born = PartialDate::parse("2010-06-15").unwrap();
        let on = |d: &str| born.age_on(d.parse().unwrap());
        assert_eq!(on("2026-06-14"), Some(15));
        assert_eq!(on("2026-06-15"), Some(16));
        assert_eq!(on("2009-01-01"), None);
        assert_eq!(
            PartialDate::parse("2010-06")
                .unwrap()
                .age_on(jiff::civil::date(2026, 1, 1)),
            None
        );
    }

    fn contact(raw: &str, rank: Option<u32>, usage: Option<&str>) -> ContactPoint {
        ContactPoint {
            channel: ContactChannel::Phone,
            address: ContactAddress::Phone(PhoneNumber::parse(raw, Region::default()).unwrap()),
            rank,
            usage: usage.map(str::to_owned),
        }
    }

    fn patient(contacts: Vec<ContactPoint>) -> Patient {
        Patient {
            id: ResourceId::parse("p1").unwrap(),
            active: true,
            names: vec![
                PersonName {
                    usage: Some("official".into()),
                    given: vec!["Peter".into(), "James".into()],
                    family: Some("Chalmers".into()),
                },
                PersonName {
                    usage: Some("usual".into()),
                    given: vec!["Jim".into()],
                    family: None,
                },
            ],
            birth_date: None,
            identifiers: vec![],
            contacts,
            zone: None,
            language: None,
        }
    }

    #[test]
    fn reachable_contacts_follow_rank_and_skip_old_numbers() {
        let p = patient(vec![
            contact("+14155550101", None, None),
            contact("+14155550102", Some(2), Some("mobile")),
            contact("+14155550103", Some(1), Some("old")),
            contact("+14155550104", Some(1), Some("work")),
        ]);
        let order: Vec<u32> = p
            .reachable_contacts()
            .iter()
            .map(|c| c.rank.unwrap_or(0))
            .collect();
        assert_eq!(order, vec![1, 2, 0]);
    }

    #[test]
    fn greets_by_the_usual_name() {
        assert_eq!(patient(vec![]).first_name(), Some("Jim"));
    }

    #[test]
    fn debug_hides_names() {
        let shown = format!("{:?}", patient(vec![]));
        assert!(!shown.contains("Chalmers") && !shown.contains("Jim"));
    }

    #[test]
    fn partial_dates() {
        assert!(PartialDate::parse("1974-12-25").is_ok());
        assert!(PartialDate::parse("1974-12").is_ok());
        assert!(PartialDate::parse("1974").is_ok());
        for bad in [
            "1974-13",
            "1974-02-30",
            "74-12-25",
            "1974-12-25T10:00",
            "",
            "1974-1-2",
        ] {
            assert_eq!(PartialDate::parse(bad), Err(BadDate), "{bad}");
        }
    }
}
