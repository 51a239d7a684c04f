//! The shapes that cross the storage API: versions to write, rows read back, searches.
//!
//! Bodies are opaque bytes here (the FHIR layer puts JSON in them); the store decides how
//! they are protected from [`Protection`] and never looks inside.

use careloop_domain::ResourceId;
use jiff::Timestamp;

use crate::work::{EnrollmentRow, OutboxRow};

/// How a version's body is protected at rest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Protection {
    /// The body is a patient's own record: sealed under that patient's data key, created
    /// with the patient.
    PatientRecord,
    /// The body belongs to a patient (an appointment): sealed under that patient's key.
    OwnedBy(ResourceId),
    /// Not health data about a patient (a practitioner, a location): stored as is.
    Clear,
    /// An update sealed as the version it replaces was, under the same key (or none):
    /// a delivery report on a message, whose owner cannot change. It spares reading the
    /// owner to find their key; an erasure that races it deletes the new version too,
    /// since it is sealed under the same key.
    Kept,
}

/// What the caller knows about the current version before a write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expect {
    /// Create: fail with a conflict if the resource exists (and is not deleted).
    Absent,
    /// Update: fail unless this is the current version (`If-Match`).
    Version(u32),
    /// Create or update, whatever is there.
    Any,
}

/// A searchable value of a resource: `("identifier", "urn:oid:1.2|12345")`. Only its
/// blind-index hash is stored.
#[derive(Clone, PartialEq, Eq)]
pub struct Term {
    pub param: &'static str,
    pub value: String,
}

/// The value may be a phone number or an email: never printed.
impl std::fmt::Debug for Term {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Term({}, <redacted>)", self.param)
    }
}

/// One new version of a resource.
#[derive(Clone)]
pub struct NewVersion {
    pub resource_type: &'static str,
    pub id: ResourceId,
    pub body: Vec<u8>,
    pub terms: Vec<Term>,
    /// When it starts, for date searches (appointments).
    pub start: Option<Timestamp>,
    pub end: Option<Timestamp>,
    pub protection: Protection,
    /// Domain events this version causes (`appointment.booked`), recorded with it.
    pub events: Vec<&'static str>,
}

/// The body is health data: only its size is printed.
impl std::fmt::Debug for NewVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewVersion")
            .field("resource_type", &self.resource_type)
            .field("id", &self.id)
            .field("body_bytes", &self.body.len())
            .field("terms", &self.terms)
            .field("protection", &self.protection)
            .finish_non_exhaustive()
    }
}

/// One write in an atomic batch.
#[derive(Clone, Debug)]
pub enum Change {
    Put {
        version: NewVersion,
        expect: Expect,
    },
    /// Marks the resource deleted; reads then answer "gone".
    Delete {
        resource_type: &'static str,
        id: ResourceId,
        expect: Expect,
        /// Domain events the deletion causes, recorded with it.
        events: Vec<&'static str>,
    },
    /// Fails the batch with [`crate::StoreError::Conflict`] if any resource matches, checked
    /// inside the batch's transaction: the guard of a conditional create.
    RequireNone(Search),
    /// Removes a patient, every row sealed under their key, every row whose term
    /// `(resource type, param)` in `referenced_by` names them, and their key.
    ErasePatient {
        id: ResourceId,
        referenced_by: &'static [(&'static str, &'static str)],
    },
    /// Enrolls a patient in a journey; nothing happens if the same event already did.
    Enroll(EnrollmentRow),
    /// Fails the batch with a conflict unless the enrollment is at `prev_version`.
    UpdateEnrollment {
        row: EnrollmentRow,
        prev_version: i64,
    },
    /// Queues a message; fails the batch with a conflict if its idempotency key was used.
    Enqueue(OutboxRow),
    /// Fails the batch with a conflict unless the message is at `prev_version`.
    UpdateOutbox {
        row: OutboxRow,
        prev_version: i64,
    },
    /// Marks domain events handled by these sequence numbers, with what they caused.
    MarkHandled(Vec<i64>),
    /// Writes a patient's conversation at its next version; fails the batch with a
    /// conflict if it is new and exists, or is not at its version any more.
    SaveConversation(crate::conversations::ConversationRecord),
    AddConversationEvent(crate::conversations::ConversationEvent),
    /// Records that a patient wrote these words, for the inbox's search: only keyed
    /// hashes of them are stored.
    IndexWords {
        patient: ResourceId,
        words: Vec<String>,
    },
    /// Adds an entry to the clinic's playbook.
    AddPlaybookEntry(crate::playbook::PlaybookRow),
    /// Rewrites an entry's place or definition; fails the batch with a conflict when the
    /// entry is not there.
    ChangePlaybookEntry(crate::playbook::PlaybookChange),
    /// Fails the batch with a conflict when the entry is not there.
    RemovePlaybookEntry {
        book: crate::playbook::Book,
        id: String,
    },
}

/// What a write produced.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Committed {
    pub resource_type: &'static str,
    pub id: ResourceId,
    pub version: u32,
    pub last_updated: Timestamp,
    /// False when the write recreated or created the resource.
    pub existed: bool,
}

/// A resource as read back, decrypted.
#[derive(Clone)]
pub struct Stored {
    pub resource_type: String,
    pub id: ResourceId,
    pub version: u32,
    pub last_updated: Timestamp,
    pub deleted: bool,
    /// Empty when deleted.
    pub body: Vec<u8>,
}

impl std::fmt::Debug for Stored {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stored")
            .field("resource_type", &self.resource_type)
            .field("id", &self.id)
            .field("version", &self.version)
            .field("deleted", &self.deleted)
            .finish_non_exhaustive()
    }
}

/// Resources that have any of these terms, or (for messages careloop sends, which are
/// searched by their outbox rows) whose outbox row has any of these values.
#[derive(Clone, Debug)]
pub struct TermFilter {
    pub any_of: Vec<Term>,
    pub or_sent: Option<SentFilter>,
}

impl TermFilter {
    /// Resources that have any of these terms.
    pub fn any_of(terms: Vec<Term>) -> Self {
        Self {
            any_of: terms,
            or_sent: None,
        }
    }
}

/// Messages whose outbox row has any of these values in one column.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SentFilter {
    pub column: OutboxColumn,
    pub any_of: Vec<String>,
}

/// An outbox column a message is searched by: what its Communication would otherwise
/// keep as a term, written once with every message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutboxColumn {
    Patient,
    Channel,
    /// The delivery status (`delivered`, `failed`, …).
    Status,
    /// The one appointment it is about.
    About,
}

impl OutboxColumn {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Patient => "patient_id",
            Self::Channel => "channel",
            Self::Status => "status",
            Self::About => "about_id",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sort {
    /// Oldest first: a stable order for paging.
    Created,
    /// Newest first.
    Newest,
    /// Earliest start first (appointments).
    Start,
}

/// A search: all filters must hold.
#[derive(Clone, Debug)]
pub struct Search {
    pub resource_type: &'static str,
    pub terms: Vec<TermFilter>,
    /// Only these ids, when not empty.
    pub ids: Vec<ResourceId>,
    /// `start >= start_from`.
    pub start_from: Option<Timestamp>,
    /// `start < start_before`.
    pub start_before: Option<Timestamp>,
    pub sort: Sort,
    pub count: u32,
    pub offset: u32,
}

#[derive(Debug)]
pub struct Page {
    pub resources: Vec<Stored>,
    /// How many match in all.
    pub total: u64,
}

/// A domain event: what happened to which version of which resource.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    pub seq: i64,
    pub name: String,
    pub resource_type: String,
    pub id: ResourceId,
    pub version: u32,
    pub at: Timestamp,
}
