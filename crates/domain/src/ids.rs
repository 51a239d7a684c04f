//! Identifiers. A FHIR logical id is at most 64 characters of `[A-Za-z0-9\-\.]` (FHIR R4
//! `id` datatype); the EHR may choose it (update-as-create) or we assign a UUID.

use std::fmt;

/// The organization (tenant) a row belongs to. The default install has one.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct OrgId(String);

impl OrgId {
    /// The organization created by the first migration.
    pub const DEFAULT: &'static str = "default";

    pub fn new(id: impl Into<String>) -> Self {
        Self(id.into())
    }

    pub fn default_org() -> Self {
        Self(Self::DEFAULT.to_owned())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A FHIR logical id.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ResourceId(String);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ResourceIdError {
    #[error("an id must be 1 to 64 characters long")]
    Length,
    #[error("an id may contain only letters, digits, '-' and '.'")]
    Characters,
}

impl ResourceId {
    pub fn parse(raw: &str) -> Result<Self, ResourceIdError> {
        if raw.is_empty() || raw.len() > 64 {
            return Err(ResourceIdError::Length);
        }
        if !raw
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
        {
            return Err(ResourceIdError::Characters);
        }
        Ok(Self(raw.to_owned()))
    }

    /// An id derived from 16 bytes: a version 4 UUID. For ids that must come out the
    /// same from the same input (a keyed hash of a provider's message id).
    pub fn from_random(mut bytes: [u8; 16]) -> Self {
        // RFC 9562: version 4 in the high nibble of byte 6, variant 10 in byte 8.
        bytes[6] = (bytes[6] & 0x0f) | 0x40;
        Self::uuid(bytes)
    }

    /// A new server-assigned id: a version 7 UUID, the milliseconds since the Unix epoch
    /// followed by random bits, both supplied by the caller (the domain has no clock or
    /// randomness source of its own).
    ///
    /// Ids made close in time sort close together, so a batch of new resources lands
    /// on a few pages of each index instead of one page per row: with random ids, the
    /// pages a commit rewrote grew with the table.
    pub fn time_ordered(unix_ms: u64, random: [u8; 16]) -> Self {
        let mut bytes = random;
        // 48 bits of milliseconds, then version 7 in the high nibble of byte 6.
        bytes[..6].copy_from_slice(&unix_ms.to_be_bytes()[2..]);
        bytes[6] = (bytes[6] & 0x0f) | 0x70;
        Self::uuid(bytes)
    }

    /// The RFC 9562 text form, with variant 10 set in byte 8.
    fn uuid(mut bytes: [u8; 16]) -> Self {
        bytes[8] = (bytes[8] & 0x3f) | 0x80;
        let mut out = String::with_capacity(36);
        for (i, b) in bytes.iter().enumerate() {
            if matches!(i, 4 | 6 | 8 | 10) {
                out.push('-');
            }
            out.push_str(&format!("{b:02x}"));
        }
        Self(out)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ResourceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_fhir_ids_and_rejects_others() {
        assert!(ResourceId::parse("example").is_ok());
        assert!(ResourceId::parse("a.b-C9").is_ok());
        assert_eq!(ResourceId::parse(""), Err(ResourceIdError::Length));
        assert_eq!(
            ResourceId::parse(&"x".repeat(65)),
            Err(ResourceIdError::Length)
        );
        assert_eq!(ResourceId::parse("a/b"), Err(ResourceIdError::Characters));
        assert_eq!(ResourceId::parse("a b"), Err(ResourceIdError::Characters));
    }

    #[test]
    fn random_ids_look_like_uuids() {
        let id = ResourceId::from_random([0xab; 16]);
        assert_eq!(id.as_str(), "abababab-abab-4bab-abab-abababababab");
        assert!(ResourceId::parse(id.as_str()).is_ok());
    }

    #[test]
    fn new_ids_are_version_7_uuids_that_sort_by_time() {
        let id = ResourceId::time_ordered(0x0123_4567_89ab, [0xff; 16]);
        assert_eq!(id.as_str(), "01234567-89ab-7fff-bfff-ffffffffffff");
        assert!(ResourceId::parse(id.as_str()).is_ok());
        let earlier = ResourceId::time_ordered(1_700_000_000_000, [0xff; 16]);
        let later = ResourceId::time_ordered(1_700_000_000_001, [0; 16]);
        assert!(earlier < later);
    }
}
