//! API tokens: made once, shown once, kept as a hash, revoked by name.

use careloop_domain::OrgId;

use crate::sql::{Bind, Check, Dialect, Step};
use crate::sql_work::step;
use crate::staff::{random_token, token_hash};
use crate::{Store, StoreError, micros};

/// What every token starts with, so that one pasted somewhere it should not be is
/// recognised as careloop's (secret scanners look for such prefixes).
pub const PREFIX: &str = "clt_";

/// A token as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenRow {
    pub org_id: String,
    pub name: String,
    pub created_us: i64,
    pub revoked_us: Option<i64>,
}

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("a token named '{0}' exists already; revoke it or choose another name")]
    NameTaken(String),
    #[error("no live token is named '{0}'")]
    NotFound(String),
    #[error("a token's name is 1 to 64 letters, digits, dots, dashes or underscores (got '{0}')")]
    BadName(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

pub const TOKEN_COLUMNS: &str = "org_id, name, created_us, revoked_us";

pub fn insert(dialect: Dialect, org: &str, name: &str, hash: &[u8], now_us: i64) -> Step {
    step(
        dialect,
        "INSERT INTO api_tokens (org_id, name, token_hash, created_us) VALUES (?, ?, ?, ?)",
        vec![
            Bind::Text(org.to_owned()),
            Bind::Text(name.to_owned()),
            Bind::Bytes(hash.to_vec()),
            Bind::Int(now_us),
        ],
        Check::ChangesOne,
    )
}

/// The live token of this hash, in any organization.
pub fn by_hash(dialect: Dialect, hash: &[u8]) -> Step {
    step(
        dialect,
        &format!(
            "SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE token_hash = ? AND revoked_us IS NULL"
        ),
        vec![Bind::Bytes(hash.to_vec())],
        Check::Nothing,
    )
}

pub fn list(dialect: Dialect, org: &str) -> Step {
    step(
        dialect,
        &format!("SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE org_id = ? ORDER BY name"),
        vec![Bind::Text(org.to_owned())],
        Check::Nothing,
    )
}

pub fn revoke(dialect: Dialect, org: &str, name: &str, now_us: i64) -> Step {
    step(
        dialect,
        "UPDATE api_tokens SET revoked_us = ? WHERE org_id = ? AND name = ? AND revoked_us IS NULL",
        vec![
            Bind::Int(now_us),
            Bind::Text(org.to_owned()),
            Bind::Text(name.to_owned()),
        ],
        Check::ChangesOne,
    )
}

fn check_name(name: &str) -> Result<(), TokenError> {
    let fine = (1..=64).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'));
    if fine {
        Ok(())
    } else {
        Err(TokenError::BadName(name.to_owned()))
    }
}

impl Store {
    /// Makes a token named `name`; returns it, to be shown this once.
    pub async fn create_api_token(&self, org: &OrgId, name: &str) -> Result<String, TokenError> {
        check_name(name)?;
        let token = format!("{PREFIX}{}", random_token());
        match self
            .backend()
            .insert_api_token(org.as_str(), name, &token_hash(&token), micros(self.now()))
            .await
        {
            Ok(()) => Ok(token),
            Err(crate::BackendError::Conflict) => Err(TokenError::NameTaken(name.to_owned())),
            Err(other) => Err(StoreError::from(other).into()),
        }
    }

    /// The live token a request presented, if it is one.
    pub async fn api_token(&self, presented: &str) -> Result<Option<TokenRow>, StoreError> {
        if !presented.starts_with(PREFIX) {
            return Ok(None);
        }
        Ok(self.backend().api_token(&token_hash(presented)).await?)
    }

    /// Every token of the organization, live or revoked, by name.
    pub async fn api_tokens(&self, org: &OrgId) -> Result<Vec<TokenRow>, StoreError> {
        Ok(self.backend().api_tokens(org.as_str()).await?)
    }

    pub async fn revoke_api_token(&self, org: &OrgId, name: &str) -> Result<(), TokenError> {
        match self
            .backend()
            .revoke_api_token(org.as_str(), name, micros(self.now()))
            .await
        {
            Ok(()) => Ok(()),
            Err(crate::BackendError::Conflict) => Err(TokenError::NotFound(name.to_owned())),
            Err(other) => Err(StoreError::from(other).into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_short_and_plain() {
        for good in ["ehr", "epic-prod_2", "a.b"] {
            assert!(check_name(good).is_ok(), "{good}");
        }
        for bad in ["", "has space", "<b>", &"x".repeat(65)] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn binds_match_placeholders() {
        for dialect in [Dialect::Sqlite, Dialect::Postgres] {
            for step in [
                insert(dialect, "o", "n", &[1], 1),
                by_hash(dialect, &[1]),
                list(dialect, "o"),
                revoke(dialect, "o", "n", 1),
            ] {
                crate::sql::assert_binds_match(&step);
            }
        }
    }
}
