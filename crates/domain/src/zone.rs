//! A patient's time zone, by IANA name (`Europe/Madrid`), checked against the time zone
//! database so that quiet hours and reminder times can always be computed.

use std::fmt;

use jiff::tz::TimeZone;

#[derive(Clone, PartialEq, Eq)]
pub struct IanaZone {
    name: String,
    zone: TimeZone,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("not a time zone in the IANA database")]
pub struct UnknownZone;

impl IanaZone {
    pub fn parse(name: &str) -> Result<Self, UnknownZone> {
        // A bare offset or an abbreviation ("EST") is not a zone: it cannot follow DST.
        if !name.contains('/') && name != "UTC" {
            return Err(UnknownZone);
        }
        let zone = jiff::tz::db().get(name).map_err(|_| UnknownZone)?;
        Ok(Self {
            name: name.to_owned(),
            zone,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn time_zone(&self) -> &TimeZone {
        &self.zone
    }
}

impl fmt::Debug for IanaZone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "IanaZone({})", self.name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_zones_parse_and_unknown_do_not() {
        assert_eq!(
            IanaZone::parse("America/New_York").unwrap().name(),
            "America/New_York"
        );
        assert!(IanaZone::parse("UTC").is_ok());
        assert_eq!(IanaZone::parse("Mars/Olympus_Mons"), Err(UnknownZone));
        assert_eq!(IanaZone::parse("EST"), Err(UnknownZone));
        assert_eq!(IanaZone::parse(""), Err(UnknownZone));
    }
}
