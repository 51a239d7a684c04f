//! Staff accounts and departments, as the store keeps them.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use careloop_domain::OrgId;
use careloop_domain::staff::{self, DepartmentKey, NewPassword, Role};
use jiff::{SignedDuration, Timestamp};
use sha2::{Digest, Sha256};

use crate::crypto::{new_resource_id, random_bytes};
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
    SavedReply(#[from] careloop_domain::saved_reply::SavedReplyError),
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

    /// Adds a saved reply, checked; its department must exist.
    pub async fn add_saved_reply(
        &self,
        org: &OrgId,
        department: Option<&DepartmentKey>,
        title: &str,
        body: &str,
    ) -> Result<SavedReplyRow, StaffStoreError> {
        careloop_domain::saved_reply::check(title, body)?;
        let row = SavedReplyRow {
            id: new_resource_id().as_str().to_owned(),
            department: department.map(|d| d.as_str().to_owned()),
            title: title.trim().to_owned(),
            body: body.trim().to_owned(),
            created_us: micros(self.now()),
        };
        match self.backend().add_saved_reply(org.as_str(), &row).await {
            Ok(()) => Ok(row),
            Err(crate::BackendError::Conflict) => Err(StaffStoreError::NoDepartment(
                row.department.unwrap_or_default(),
            )),
            Err(other) => Err(StoreError::from(other).into()),
        }
    }

    /// Every saved reply, by title.
    pub async fn saved_replies(&self, org: &OrgId) -> Result<Vec<SavedReplyRow>, StoreError> {
        Ok(self.backend().saved_replies(org.as_str()).await?)
    }

    /// Every account, by email, with its departments.
    pub async fn all_staff(&self, org: &OrgId) -> Result<Vec<StaffRow>, StoreError> {
        Ok(self.backend().all_staff(org.as_str()).await?)
    }

    pub async fn staff_by_id(&self, org: &OrgId, id: &str) -> Result<Option<StaffRow>, StoreError> {
        Ok(self.backend().staff_by_id(org.as_str(), id).await?)
    }

    /// Counts one more failed login of `account` as read, now; returns until when the
    /// failures lock it, if they do.
    pub async fn login_failed(
        &self,
        org: &OrgId,
        account: &StaffRow,
    ) -> Result<Option<Timestamp>, StoreError> {
        let now = self.now();
        let failures = account.failed_logins.saturating_add(1);
        let locked_until = staff::locked_until(u32::try_from(failures).unwrap_or(u32::MAX), now);
        self.backend()
            .set_login_failures(
                org.as_str(),
                &account.id,
                failures,
                locked_until.map(micros),
                micros(now),
            )
            .await?;
        Ok(locked_until)
    }

    /// Starts a session of `account` for `life`, its failed logins forgotten; returns
    /// the token for its cookie (shown to nobody else, kept only as a hash).
    pub async fn start_session(
        &self,
        org: &OrgId,
        account: &StaffRow,
        life: SignedDuration,
    ) -> Result<(String, SessionRow), StoreError> {
        let now = self.now();
        if account.failed_logins != 0 || account.locked_until_us.is_some() {
            self.backend()
                .set_login_failures(org.as_str(), &account.id, 0, None, micros(now))
                .await?;
        }
        let token = random_token();
        let row = SessionRow {
            token_hash: token_hash(&token),
            staff_id: account.id.clone(),
            csrf: random_token(),
            created_us: micros(now),
            expires_us: micros(now.checked_add(life).unwrap_or(now)),
        };
        self.backend().insert_session(org.as_str(), &row).await?;
        Ok((token, row))
    }

    /// The live session of a cookie's token, with its account.
    pub async fn session(
        &self,
        org: &OrgId,
        token: &str,
    ) -> Result<Option<(SessionRow, StaffRow)>, StoreError> {
        let now = micros(self.now());
        let Some(session) = self
            .backend()
            .session(org.as_str(), &token_hash(token), now)
            .await?
        else {
            return Ok(None);
        };
        Ok(self
            .staff_by_id(org, &session.staff_id)
            .await?
            .map(|account| (session, account)))
    }

    /// Ends the session of a cookie's token (and sweeps out expired ones).
    pub async fn end_session(&self, org: &OrgId, token: &str) -> Result<(), StoreError> {
        Ok(self
            .backend()
            .delete_session(org.as_str(), &token_hash(token), micros(self.now()))
            .await?)
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

/// A saved reply as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SavedReplyRow {
    pub id: String,
    /// `None`: for every department.
    pub department: Option<String>,
    pub title: String,
    /// With its `{variables}` ([`careloop_domain::saved_reply`]).
    pub body: String,
    pub created_us: i64,
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

/// A signed-in session as stored: the hash of its cookie's token, never the token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionRow {
    pub token_hash: Vec<u8>,
    pub staff_id: String,
    /// What every form the session posts must carry.
    pub csrf: String,
    pub created_us: i64,
    pub expires_us: i64,
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

/// What the store keeps of a secret token (a session's, an API token): its SHA-256,
/// enough for 256 random bits.
pub(crate) fn token_hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

/// 256 random bits, URL-safe: a session's token, a form's token.
pub fn random_token() -> String {
    URL_SAFE_NO_PAD.encode(random_bytes::<32>())
}
