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

    /// A new server-assigned id: a version 4 UUID made from 16 random bytes supplied by
    /// the caller (the domain has no randomness source of its own).
    pub fn from_random(mut bytes: [u8; 16]) -> Self {
        // RFC 9562: version 4 in the high nibble of byte 6, variant 10 in byte 8.
        bytes[6] = (bytes[6] & 0x0f) | 0x40;
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
}
