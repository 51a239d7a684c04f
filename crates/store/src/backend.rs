//! The seam between the store and a database. A backend stores and finds rows of
//! ciphertext, hashes and integers; it never sees a key or a plaintext.

use async_trait::async_trait;

use crate::work::{
    EnrollmentQuery, EnrollmentRow, OutboxQuery, OutboxRow, RateTake, SentCounts, SentQuery,
};

/// A stored row, as the database has it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Row {
    pub resource_type: String,
    pub id: String,
    pub version: i64,
    pub created_us: i64,
    pub last_updated_us: i64,
    pub deleted: bool,
    pub key_id: Option<String>,
    pub body: Vec<u8>,
    pub start_us: Option<i64>,
    pub end_us: Option<i64>,
}

/// Just enough of a row to plan a write.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Head {
    pub version: i64,
    pub deleted: bool,
    pub key_id: Option<String>,
    pub created_us: i64,
    pub last_updated_us: i64,
}

/// A blind-index entry of a row.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct HashedTerm {
    pub param: &'static str,
    pub hash: Vec<u8>,
}

/// One write of an atomic batch.
#[derive(Clone, Debug)]
pub enum WriteOp {
    /// Records a domain event about a row written in the same batch.
    AppendEvent {
        name: &'static str,
        resource_type: String,
        resource_id: String,
        version: i64,
        created_us: i64,
    },
    /// Fails the batch with a conflict if anything matches (a conditional create).
    RequireNone(HashedSearch),
    /// Creates the organization unless it exists.
    EnsureOrg {
        name: String,
        created_us: i64,
    },
    InsertKey {
        key_id: String,
        wrapped: Vec<u8>,
        created_us: i64,
    },
    /// Fails with [`BackendError::Conflict`] if the row exists.
    Insert {
        row: Row,
        terms: Vec<HashedTerm>,
    },
    /// Fails with [`BackendError::Conflict`] unless the row is at `prev_version`.
    Update {
        row: Row,
        prev_version: i64,
        terms: Vec<HashedTerm>,
    },
    /// Erases a patient: every row that refers to them by one of `references`, every row
    /// sealed under their key (with the terms of both), their journey enrollments and
    /// outbox rows, and the key.
    ErasePatient {
        patient_id: String,
        key_id: String,
        references: Vec<Reference>,
    },
    /// Enrolls, unless the same event already enrolled the patient in the same journey.
    InsertEnrollment(EnrollmentRow),
    /// Fails with [`BackendError::Conflict`] unless the enrollment is at `prev_version`.
    UpdateEnrollment {
        row: EnrollmentRow,
        prev_version: i64,
    },
    /// Fails with [`BackendError::Conflict`] if the idempotency key was used.
    InsertOutbox(OutboxRow),
    /// Fails with [`BackendError::Conflict`] unless the row is at `prev_version`.
    UpdateOutbox {
        row: OutboxRow,
        prev_version: i64,
    },
    /// Marks domain events handled.
    MarkEventsHandled {
        seqs: Vec<i64>,
        handled_us: i64,
    },
    /// Inserts a conversation (`prev_version` `None`), or updates it if it is still at
    /// `prev_version`; fails with [`BackendError::Conflict`] otherwise.
    SaveConversation {
        row: crate::conversations::ConversationRow,
        prev_version: Option<i64>,
    },
    InsertConversationEvent(crate::conversations::ConversationEventRow),
    InsertWords {
        patient_id: String,
        hashes: Vec<Vec<u8>>,
    },
    AddPlaybookEntry(crate::playbook::PlaybookRow),
    /// Fails with [`BackendError::Conflict`] when the entry is not there.
    ChangePlaybookEntry(crate::playbook::PlaybookChange),
    /// Fails with [`BackendError::Conflict`] when the entry is not there.
    RemovePlaybookEntry {
        book: &'static str,
        id: String,
    },
}

/// Rows of `resource_type` whose term `param` has this hash.
#[derive(Clone, Debug)]
pub struct Reference {
    pub resource_type: &'static str,
    pub param: &'static str,
    pub hash: Vec<u8>,
}

/// One filter of a [`HashedSearch`].
#[derive(Clone, Debug, Default)]
pub struct HashedFilter {
    pub any_of: Vec<(&'static str, Vec<u8>)>,
    pub or_sent: Option<crate::model::SentFilter>,
}

/// A search in hashed form.
#[derive(Clone, Debug)]
pub struct HashedSearch {
    pub resource_type: &'static str,
    /// Each filter: rows with any of these `(param, hash)` terms, or whose outbox row
    /// has any of the filter's values.
    pub terms: Vec<HashedFilter>,
    /// Only these ids, when not empty.
    pub ids: Vec<String>,
    pub start_from_us: Option<i64>,
    pub start_before_us: Option<i64>,
    pub sort: crate::Sort,
    pub limit: i64,
    pub offset: i64,
}

/// An event as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventRow {
    pub seq: i64,
    pub name: String,
    pub resource_type: String,
    pub resource_id: String,
    pub version: i64,
    pub created_us: i64,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PoolStats {
    pub size: u32,
    pub idle: u32,
    pub max: u32,
}

#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    /// A uniqueness or version check failed; nothing of the batch was written.
    #[error("conflicting write")]
    Conflict,
    #[error(transparent)]
    Database(Box<dyn std::error::Error + Send + Sync>),
}

#[async_trait]
pub trait Backend: Send + Sync + 'static {
    /// Whether the database answers.
    async fn ping(&self) -> Result<(), BackendError>;

    /// The heads of those of `ids` that exist, deleted or not, by id.
    async fn heads(
        &self,
        org: &str,
        resource_type: &str,
        ids: &[String],
    ) -> Result<Vec<(String, Head)>, BackendError>;

    async fn head(
        &self,
        org: &str,
        resource_type: &str,
        id: &str,
    ) -> Result<Option<Head>, BackendError> {
        let mut found = self.heads(org, resource_type, &[id.to_owned()]).await?;
        Ok(found.pop().map(|(_, head)| head))
    }

    async fn fetch(
        &self,
        org: &str,
        resource_type: &str,
        id: &str,
    ) -> Result<Option<Row>, BackendError>;

    /// The wrapped data keys of these ids that exist, each with its id: one query for a
    /// page of rows sealed under many patients' keys.
    async fn wrapped_keys(
        &self,
        org: &str,
        key_ids: &[String],
    ) -> Result<Vec<(String, Vec<u8>)>, BackendError>;

    async fn wrapped_key(&self, org: &str, key_id: &str) -> Result<Option<Vec<u8>>, BackendError> {
        let mut found = self.wrapped_keys(org, &[key_id.to_owned()]).await?;
        Ok(found.pop().map(|(_, wrapped)| wrapped))
    }

    /// One page of matching rows, and how many match in all.
    async fn search(
        &self,
        org: &str,
        search: &HashedSearch,
    ) -> Result<(Vec<Row>, u64), BackendError>;

    /// The oldest events not yet handled, in the order they were written.
    async fn unhandled_events(&self, org: &str, limit: i64) -> Result<Vec<EventRow>, BackendError>;

    /// Marks events handled, so they are not handed out again.
    async fn mark_events_handled(
        &self,
        org: &str,
        seqs: &[i64],
        handled_us: i64,
    ) -> Result<(), BackendError>;

    async fn enrollments(
        &self,
        org: &str,
        query: &EnrollmentQuery,
    ) -> Result<Vec<EnrollmentRow>, BackendError>;

    async fn outbox(&self, org: &str, query: &OutboxQuery) -> Result<Vec<OutboxRow>, BackendError>;

    /// Holds up to `limit` due active enrollments until `lease_us`; rows other rounds
    /// hold, or are taking at the same moment, are skipped.
    async fn claim_due_enrollments(
        &self,
        org: &str,
        now_us: i64,
        lease_us: i64,
        limit: i64,
    ) -> Result<Vec<EnrollmentRow>, BackendError>;

    /// Claims up to `limit` due queued messages until `lease_us`; rows other senders are
    /// claiming at the same moment are skipped.
    async fn claim_outbox(
        &self,
        org: &str,
        now_us: i64,
        lease_us: i64,
        limit: i64,
    ) -> Result<Vec<OutboxRow>, BackendError>;

    /// In one transaction: requeues unknown outcomes whose wait is over, and turns
    /// lapsed claims into unknown outcomes that wait for a callback until
    /// `wait_until_us`. Returns how many rows moved.
    async fn sweep_outbox(
        &self,
        org: &str,
        now_us: i64,
        wait_until_us: i64,
    ) -> Result<u64, BackendError>;

    /// What a frequency cap counts against a message.
    async fn sent_counts(&self, org: &str, query: &SentQuery) -> Result<SentCounts, BackendError>;

    /// Takes up to `take.wanted` messages' worth from a sender's rate bucket at
    /// `now_us`; returns how many it granted.
    async fn take_send_rate(
        &self,
        org: &str,
        take: &RateTake,
        now_us: i64,
    ) -> Result<i64, BackendError>;

    /// Appends `entry` to the audit log after its last entry, in one transaction; fails
    /// as a conflict when another writer appended first.
    async fn append_audit(
        &self,
        org: &str,
        entry: careloop_domain::audit::AuditEntry,
    ) -> Result<careloop_domain::audit::AuditLink, BackendError>;

    /// Up to `limit` audit entries after `after_seq`, in order.
    async fn audit_page(
        &self,
        org: &str,
        after_seq: i64,
        limit: i64,
    ) -> Result<Vec<careloop_domain::audit::AuditLink>, BackendError>;

    /// Fails as a conflict when the key is taken.
    async fn add_department(
        &self,
        org: &str,
        row: &crate::staff::DepartmentRow,
    ) -> Result<(), BackendError>;

    /// Every department, by key.
    async fn departments(
        &self,
        org: &str,
    ) -> Result<Vec<crate::staff::DepartmentRow>, BackendError>;

    /// The account and its memberships, or nothing; fails as a conflict when the email is
    /// taken or a department is not there.
    async fn add_staff(&self, org: &str, row: &crate::staff::StaffRow) -> Result<(), BackendError>;

    /// The account with this (lower-cased) email, with its departments.
    async fn staff_by_email(
        &self,
        org: &str,
        email: &str,
    ) -> Result<Option<crate::staff::StaffRow>, BackendError>;

    /// The account with this id, with its departments.
    /// Fails with a conflict when its department is not there.
    async fn add_saved_reply(
        &self,
        org: &str,
        row: &crate::staff::SavedReplyRow,
    ) -> Result<(), BackendError>;

    async fn saved_replies(
        &self,
        org: &str,
    ) -> Result<Vec<crate::staff::SavedReplyRow>, BackendError>;

    /// The patients who wrote every one of these words (blind indexes).
    async fn writers(
        &self,
        org: &str,
        hashes: &[Vec<u8>],
        limit: i64,
    ) -> Result<Vec<String>, BackendError>;

    /// The ids of a search's page, without their rows.
    async fn search_ids(
        &self,
        org: &str,
        search: &HashedSearch,
    ) -> Result<Vec<String>, BackendError>;

    /// A book of the playbook, by position.
    async fn playbook(
        &self,
        org: &str,
        book: &str,
    ) -> Result<Vec<crate::playbook::PlaybookRow>, BackendError>;

    /// Every account, with its departments.
    async fn all_staff(&self, org: &str) -> Result<Vec<crate::staff::StaffRow>, BackendError>;

    async fn staff_by_id(
        &self,
        org: &str,
        id: &str,
    ) -> Result<Option<crate::staff::StaffRow>, BackendError>;

    /// Records an account's failed logins in a row and until when they lock it.
    async fn set_login_failures(
        &self,
        org: &str,
        staff_id: &str,
        failures: i64,
        locked_until_us: Option<i64>,
        now_us: i64,
    ) -> Result<(), BackendError>;

    async fn insert_session(
        &self,
        org: &str,
        row: &crate::staff::SessionRow,
    ) -> Result<(), BackendError>;

    /// The session of this token hash, unless it expired by `now_us`.
    async fn session(
        &self,
        org: &str,
        token_hash: &[u8],
        now_us: i64,
    ) -> Result<Option<crate::staff::SessionRow>, BackendError>;

    /// Ends a session, and every one expired by `now_us`.
    async fn delete_session(
        &self,
        org: &str,
        token_hash: &[u8],
        now_us: i64,
    ) -> Result<(), BackendError>;

    /// Fails as a conflict when the name is taken.
    async fn insert_api_token(
        &self,
        org: &str,
        name: &str,
        token_hash: &[u8],
        now_us: i64,
    ) -> Result<(), BackendError>;

    /// The live token of this hash, in any organization.
    async fn api_token(
        &self,
        token_hash: &[u8],
    ) -> Result<Option<crate::tokens::TokenRow>, BackendError>;

    async fn api_tokens(&self, org: &str) -> Result<Vec<crate::tokens::TokenRow>, BackendError>;

    /// Fails as a conflict when no live token has the name.
    async fn revoke_api_token(
        &self,
        org: &str,
        name: &str,
        now_us: i64,
    ) -> Result<(), BackendError>;

    /// Applies every write or none.
    async fn conversation(
        &self,
        org: &str,
        patient_id: &str,
    ) -> Result<Option<crate::conversations::ConversationRow>, BackendError>;

    async fn conversations(
        &self,
        org: &str,
        query: &crate::conversations::ConversationQuery,
    ) -> Result<Vec<crate::conversations::ConversationRow>, BackendError>;

    async fn count_conversations(
        &self,
        org: &str,
        query: &crate::conversations::ConversationQuery,
    ) -> Result<i64, BackendError>;

    /// The conversations still open, by department and priority, with how many are
    /// overdue at `now_us`.
    async fn open_conversation_counts(
        &self,
        org: &str,
        now_us: i64,
    ) -> Result<Vec<crate::conversations::OpenCount>, BackendError>;

    /// The details of the events of `kind` since `since_us`, newest first.
    async fn event_details_since(
        &self,
        org: &str,
        kind: &str,
        since_us: i64,
        limit: i64,
    ) -> Result<Vec<String>, BackendError>;

    /// A patient's conversation events, oldest first.
    async fn conversation_events(
        &self,
        org: &str,
        patient_id: &str,
    ) -> Result<Vec<crate::conversations::ConversationEventRow>, BackendError>;

    async fn apply(&self, org: &str, ops: &[WriteOp]) -> Result<(), BackendError>;

    /// Starts telling `changes` of every conversation any process saves (the patient's
    /// id), where the database can tell (PostgreSQL's `LISTEN`); `false` where it cannot,
    /// and the store tells of its own writes.
    fn watch_conversations(&self, changes: crate::ConversationChanges) -> bool;

    /// Makes deleted data unrecoverable from the database files as far as the database
    /// allows (after an erasure).
    async fn scrub(&self) -> Result<(), BackendError>;

    fn pool_stats(&self) -> PoolStats;

    /// `sqlite` or `postgres`, for logs and metrics.
    fn kind(&self) -> &'static str;
}
