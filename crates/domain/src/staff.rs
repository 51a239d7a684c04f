//! The people who work the inbox: their roles, the departments they belong to, what a
//! password must be, and how long repeated failed logins lock an account.

use std::fmt;

use jiff::{SignedDuration, Timestamp};

/// What a person may see and do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Role {
    /// Everything, in every department: staff, departments, triage rules, saved replies.
    Admin,
    /// Works the conversations of the departments they belong to.
    Agent,
    /// An agent who also works the clinical queue (urgent messages, tasks).
    Clinician,
}

impl Role {
    pub const ALL: [Self; 3] = [Self::Admin, Self::Agent, Self::Clinician];

    pub fn name(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::Agent => "agent",
            Self::Clinician => "clinician",
        }
    }

    pub fn parse(name: &str) -> Result<Self, StaffError> {
        Self::ALL
            .into_iter()
            .find(|role| role.name() == name)
            .ok_or_else(|| StaffError::UnknownRole(name.to_owned()))
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A department's key: lower-case letters, digits and dashes (`front-desk`, `nursing`),
/// so it reads the same in a URL, a command line and a triage rule.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DepartmentKey(String);

impl DepartmentKey {
    pub const MAX_LEN: usize = 40;

    pub fn parse(text: &str) -> Result<Self, StaffError> {
        let key = text.trim().to_ascii_lowercase().replace([' ', '_'], "-");
        let well_formed = !key.is_empty()
            && key.len() <= Self::MAX_LEN
            && key
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            && !key.starts_with('-')
            && !key.ends_with('-');
        if well_formed {
            Ok(Self(key))
        } else {
            Err(StaffError::BadDepartment(text.to_owned()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Where urgent messages go unless a clinic says otherwise.
    pub fn nursing() -> Self {
        Self("nursing".to_owned())
    }
}

impl fmt::Display for DepartmentKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A password as a person chose it, long enough to resist guessing. Length is what
/// counts (NIST SP 800-63B): no rules of character classes, any character allowed.
pub struct NewPassword(String);

impl NewPassword {
    pub const MIN_CHARS: usize = 12;
    /// Beyond this a password is a denial of service on the hash, not a secret.
    pub const MAX_BYTES: usize = 1_024;

    pub fn parse(text: String) -> Result<Self, StaffError> {
        if text.chars().count() < Self::MIN_CHARS {
            return Err(StaffError::ShortPassword);
        }
        if text.len() > Self::MAX_BYTES {
            return Err(StaffError::LongPassword);
        }
        Ok(Self(text))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for NewPassword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("NewPassword(…)")
    }
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum StaffError {
    #[error("unknown role '{0}'; the roles are admin, agent and clinician")]
    UnknownRole(String),
    #[error("'{0}' is not a department key: use lower-case letters, digits and dashes, at most 40")]
    BadDepartment(String),
    #[error(
        "the password must have at least {} characters",
        NewPassword::MIN_CHARS
    )]
    ShortPassword,
    #[error("the password must have at most {} bytes", NewPassword::MAX_BYTES)]
    LongPassword,
}

/// An on-call contact as careloop will reach it: a lower-case email address, or a
/// phone number in E.164, read in `region` when it has no country code.
pub fn on_call_contact(contact: &str, region: crate::Region) -> Result<String, String> {
    if contact.contains('@') {
        let email = crate::EmailAddress::parse(contact).map_err(|e| e.to_string())?;
        return Ok(email.as_str().to_owned());
    }
    let phone = crate::PhoneNumber::parse(contact, region).map_err(|e| e.to_string())?;
    match phone.e164() {
        Some(e164) => Ok(e164.as_str().to_owned()),
        None => Err("the number does not resolve to a phone careloop can call".to_owned()),
    }
}

/// Failed logins allowed in a row before the account locks.
pub const FREE_FAILURES: u32 = 5;
const FIRST_LOCK: SignedDuration = SignedDuration::from_secs(60);
const LONGEST_LOCK: SignedDuration = SignedDuration::from_secs(3_600);

/// Until when an account is locked after `failures` failed logins in a row, the last at
/// `last_failure`: not at all for the first few, then a minute, doubling with each
/// further failure up to an hour. A lock slows guessing to a few tries an hour without
/// keeping the owner out for long; a successful login starts the count again.
pub fn locked_until(failures: u32, last_failure: Timestamp) -> Option<Timestamp> {
    let beyond = failures.checked_sub(FREE_FAILURES)?;
    let lock = FIRST_LOCK
        .checked_mul(1_i32 << beyond.min(20))
        .map_or(LONGEST_LOCK, |lock| lock.min(LONGEST_LOCK));
    last_failure.checked_add(lock).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn roles_read_back_and_others_are_refused() {
        for role in Role::ALL {
            assert_eq!(Role::parse(role.name()), Ok(role));
        }
        assert_eq!(
            Role::parse("root").unwrap_err().to_string(),
            "unknown role 'root'; the roles are admin, agent and clinician"
        );
    }

    #[test]
    fn department_keys_are_normalised_or_refused() {
        assert_eq!(
            DepartmentKey::parse(" Front Desk ").unwrap().as_str(),
            "front-desk"
        );
        assert_eq!(
            DepartmentKey::parse("nursing_2").unwrap().as_str(),
            "nursing-2"
        );
        for bad in ["", "-nursing", "billing!", "<script>", &"a".repeat(41)] {
            assert!(DepartmentKey::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_password_is_long_enough_and_not_absurdly_long() {
        assert_eq!(
            NewPassword::parse("short".into()).unwrap_err(),
            StaffError::ShortPassword
        );
        // Characters count, not bytes: twelve accented letters will do.
        assert!(NewPassword::parse("ééééééééééééé".into()).is_ok());
        assert!(NewPassword::parse("x".repeat(1_025)).is_err());
        let password = NewPassword::parse("correct horse battery".into()).unwrap();
        assert!(!format!("{password:?}").contains("horse"));
    }

    #[test]
    fn failed_logins_lock_for_longer_and_longer_up_to_an_hour() {
        let at: Timestamp = "2026-03-02T15:00:00Z".parse().unwrap();
        for free in 0..FREE_FAILURES {
            assert_eq!(locked_until(free, at), None);
        }
        let lock = |failures| locked_until(failures, at).unwrap().duration_since(at);
        assert_eq!(lock(5), SignedDuration::from_mins(1));
        assert_eq!(lock(6), SignedDuration::from_mins(2));
        assert_eq!(lock(8), SignedDuration::from_mins(8));
        assert_eq!(lock(12), SignedDuration::from_hours(1));
        assert_eq!(lock(u32::MAX), SignedDuration::from_hours(1));
    }

    proptest! {
        #[test]
        fn more_failures_never_lock_for_less(failures in 0u32..100) {
            let at: Timestamp = "2026-03-02T15:00:00Z".parse().unwrap();
            let now = locked_until(failures, at);
            let next = locked_until(failures + 1, at);
            prop_assert!(next >= now);
        }
    }
}
