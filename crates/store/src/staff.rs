//! Staff accounts and departments, as the store keeps them.

use careloop_domain::OrgId;
use careloop_domain::staff::{DepartmentKey, NewPassword, Role};

use crate::crypto::new_resource_id;
use crate::password::{self, PasswordError};
use crate::{Store, StoreError, micros};

/// What adding a department or an account can run into.
#[derive(Debug, thiserror::Error)]
pub enum StaffStoreError {
    #[error("a department '{0}' exists already")]
    DepartmentTaken(String),
    #[error("there is no department '{0}'")]
    NoDepartment(String),
    #[error("an account with this email exists already")]
    EmailTaken,
    #[error(transparent)]
    Password(#[from] PasswordError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A new account.
pub struct NewStaff<'a> {
    /// Lower-cased by the store.
    pub email: &'a str,
    pub role: Role,
    pub departments: &'a [DepartmentKey],
    pub password: &'a NewPassword,
}

impl Store {
    pub async fn add_department(
        &self,
        org: &OrgId,
        key: &DepartmentKey,
        name: &str,
        on_call: Option<&str>,
    ) -> Result<DepartmentRow, StaffStoreError> {
        let row = DepartmentRow {
            id: key.as_str().to_owned(),
            name: name.to_owned(),
            on_call: on_call.map(str::to_owned),
            created_us: micros(self.now()),
        };
        match self.backend().add_department(org.as_str(), &row).await {
            Ok(()) => Ok(row),
            Err(crate::BackendError::Conflict) => Err(StaffStoreError::DepartmentTaken(row.id)),
            Err(other) => Err(StoreError::from(other).into()),
        }
    }

    /// Every department, by key.
    pub async fn departments(&self, org: &OrgId) -> Result<Vec<DepartmentRow>, StoreError> {
        Ok(self.backend().departments(org.as_str()).await?)
    }

    /// Adds an account, its password hashed; its departments must exist.
    pub async fn add_staff(
        &self,
        org: &OrgId,
        new: &NewStaff<'_>,
    ) -> Result<StaffRow, StaffStoreError> {
        let known = self.departments(org).await?;
        if let Some(missing) = new
            .departments
            .iter()
            .find(|d| !known.iter().any(|k| k.id == d.as_str()))
        {
            return Err(StaffStoreError::NoDepartment(missing.to_string()));
        }
        let now = micros(self.now());
        let mut departments: Vec<String> = new
            .departments
            .iter()
            .map(|d| d.as_str().to_owned())
            .collect();
        departments.sort();
        departments.dedup();
        let row = StaffRow {
            id: new_resource_id().as_str().to_owned(),
            email: new.email.trim().to_lowercase(),
            role: new.role.name().to_owned(),
            password_hash: password::hash(new.password)?,
            failed_logins: 0,
            locked_until_us: None,
            created_us: now,
            updated_us: now,
            departments,
        };
        match self.backend().add_staff(org.as_str(), &row).await {
            Ok(()) => Ok(row),
            // The departments were there a moment ago: the email is what clashed.
            Err(crate::BackendError::Conflict) => Err(StaffStoreError::EmailTaken),
            Err(other) => Err(StoreError::from(other).into()),
        }
    }

    /// The account with this email (in any case), with its departments.
    pub async fn staff_by_email(
        &self,
        org: &OrgId,
        email: &str,
    ) -> Result<Option<StaffRow>, StoreError> {
        Ok(self
            .backend()
            .staff_by_email(org.as_str(), &email.trim().to_lowercase())
            .await?)
    }
}

/// A department as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DepartmentRow {
    /// Its key (`front-desk`).
    pub id: String,
    pub name: String,
    /// A phone number or email to tell when an urgent message waits too long.
    pub on_call: Option<String>,
    pub created_us: i64,
}

/// A staff account as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StaffRow {
    pub id: String,
    /// Lower-cased.
    pub email: String,
    pub role: String,
    /// An argon2id PHC string ([`crate::password`]).
    pub password_hash: String,
    /// Failed logins since the last good one.
    pub failed_logins: i64,
    pub locked_until_us: Option<i64>,
    pub created_us: i64,
    pub updated_us: i64,
    /// The keys of the departments they belong to, in order.
    pub departments: Vec<String>,
}
