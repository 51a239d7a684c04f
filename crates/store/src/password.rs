//! Staff passwords, kept as argon2id hashes (RFC 9106, with the argon2 crate's defaults:
//! 19 MiB, two passes, one lane, as OWASP recommends) in PHC string form, which carries
//! its own salt and parameters: a hash made under older parameters still verifies.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use careloop_domain::staff::NewPassword;

#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    #[error("no random numbers for a salt")]
    Random,
    #[error("the password could not be hashed")]
    Hash,
}

/// The PHC string of `password` under a fresh random salt.
pub fn hash(password: &NewPassword) -> Result<String, PasswordError> {
    let mut salt = [0u8; 16];
    getrandom::getrandom(&mut salt).map_err(|_| PasswordError::Random)?;
    let salt = SaltString::encode_b64(&salt).map_err(|_| PasswordError::Hash)?;
    Argon2::default()
        .hash_password(password.expose().as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|_| PasswordError::Hash)
}

/// Whether `candidate` is the password `stored` was made from. A stored string that is
/// not a hash matches nothing.
pub fn verify(stored: &str, candidate: &str) -> bool {
    PasswordHash::new(stored).is_ok_and(|parsed| {
        Argon2::default()
            .verify_password(candidate.as_bytes(), &parsed)
            .is_ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_verifies_its_password_only_and_is_salted() {
        let password = NewPassword::parse("correct horse battery".into()).unwrap();
        let first = hash(&password).unwrap();
        assert!(first.starts_with("$argon2id$v=19$"), "{first}");
        assert!(!first.contains("horse"));
        assert!(verify(&first, "correct horse battery"));
        assert!(!verify(&first, "correct horse battery "));
        assert!(!verify(&first, ""));
        // Salted: the same password hashes differently each time.
        assert_ne!(hash(&password).unwrap(), first);
        assert!(!verify("not a hash", "correct horse battery"));
    }
}
