//! The clinic's playbook as the store keeps it: ordered books of entries an admin
//! wrote (triage rules, FAQ answers), each as the JSON of its definition. What an entry
//! means, and whether it is well formed, the engine decides before it is written.

use careloop_domain::OrgId;

use crate::{Store, StoreError};

/// A book of the playbook.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Book {
    Triage,
    Faq,
}

impl Book {
    pub fn name(self) -> &'static str {
        match self {
            Self::Triage => "triage",
            Self::Faq => "faq",
        }
    }

    /// What one entry is called, as the audit log names what was done to it.
    pub fn noun(self) -> &'static str {
        match self {
            Self::Triage => "triage-rule",
            Self::Faq => "faq",
        }
    }
}

/// One entry as stored. Entries are read by `position`, then `id`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlaybookRow {
    pub book: String,
    pub id: String,
    pub position: i64,
    pub definition: String,
    pub updated_us: i64,
}

/// A change to an entry that is there: a new place, a new definition, or both.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlaybookChange {
    pub book: &'static str,
    pub id: String,
    pub position: Option<i64>,
    pub definition: Option<String>,
    pub updated_us: i64,
}

impl Store {
    /// A book's entries, in order.
    pub async fn playbook(&self, org: &OrgId, book: Book) -> Result<Vec<PlaybookRow>, StoreError> {
        Ok(self.backend().playbook(org.as_str(), book.name()).await?)
    }
}
