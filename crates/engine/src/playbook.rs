//! The clinic's playbook as admins edit it and the engine uses it: triage rules and the
//! FAQ assistant's answers, each an ordered book. An entry is checked before it is
//! written, so every stored entry runs; one that no longer reads (written by a newer
//! careloop, say) is left out of use and logged by id, never guessed at.

use careloop_domain::faq::{Faq, FaqDefinition, FaqError};
use careloop_domain::staff::DepartmentKey;
use careloop_domain::triage::{Rule, RuleDefinition, RuleError};
use careloop_store::playbook::{Book, PlaybookRow};
use careloop_store::{Change, StoreError, from_micros, micros};
use jiff::Timestamp;
use serde::Serialize;
use serde::de::DeserializeOwned;

use careloop_store::crypto::new_resource_id;

use crate::{Engine, EngineError};

/// The most entries a book holds: every inbound message reads its book.
pub const MOST_ENTRIES: usize = 500;

/// What a book's entries are.
pub trait Definition: Serialize + DeserializeOwned + Clone {
    const BOOK: Book;
    type Checked;
    type Error: std::fmt::Display;
    fn check(&self) -> Result<Self::Checked, Self::Error>;
    fn enabled(&self) -> bool;
    /// The department it names, which must exist.
    fn department(_checked: &Self::Checked) -> Option<&DepartmentKey> {
        None
    }
}

impl Definition for RuleDefinition {
    const BOOK: Book = Book::Triage;
    type Checked = Rule;
    type Error = RuleError;
    fn check(&self) -> Result<Rule, RuleError> {
        RuleDefinition::check(self)
    }
    fn enabled(&self) -> bool {
        self.enabled
    }
    fn department(checked: &Rule) -> Option<&DepartmentKey> {
        checked.outcome.department.as_ref()
    }
}

impl Definition for FaqDefinition {
    const BOOK: Book = Book::Faq;
    type Checked = Faq;
    type Error = FaqError;
    fn check(&self) -> Result<Faq, FaqError> {
        FaqDefinition::check(self)
    }
    fn enabled(&self) -> bool {
        self.enabled
    }
}

/// An entry as an admin sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry<D> {
    pub id: String,
    /// Its place in the book, from 1.
    pub position: usize,
    pub definition: D,
    pub updated: Timestamp,
}

#[derive(Debug, thiserror::Error)]
pub enum PlaybookError {
    /// The definition does not check; the text says why.
    #[error("{0}")]
    Invalid(String),
    #[error("there is no department '{0}'")]
    NoDepartment(String),
    #[error("there is no such entry")]
    NotFound,
    #[error("a book holds at most {MOST_ENTRIES} entries")]
    Full,
    #[error(transparent)]
    Engine(#[from] EngineError),
}

impl From<StoreError> for PlaybookError {
    fn from(error: StoreError) -> Self {
        Self::Engine(error.into())
    }
}

impl Engine {
    /// A book's entries, in order.
    pub async fn entries<D: Definition>(&self) -> Result<Vec<Entry<D>>, EngineError> {
        let rows = self.store.playbook(&self.org, D::BOOK).await?;
        Ok(rows
            .into_iter()
            .enumerate()
            .filter_map(|(n, row)| {
                let definition = read::<D>(&row)?;
                Some(Entry {
                    id: row.id,
                    position: n + 1,
                    definition,
                    updated: from_micros(row.updated_us),
                })
            })
            .collect())
    }

    /// The book's enabled entries, checked, in order: what the engine runs.
    pub(crate) async fn in_use<D: Definition>(&self) -> Result<Vec<D::Checked>, EngineError> {
        Ok(self
            .entries::<D>()
            .await?
            .into_iter()
            .filter(|e| e.definition.enabled())
            .filter_map(|e| match e.definition.check() {
                Ok(checked) => Some(checked),
                Err(_) => {
                    tracing::warn!(book = D::BOOK.name(), entry = %e.id, "a stored entry does not check; left out");
                    None
                }
            })
            .collect())
    }

    /// Adds an entry at the end of its book.
    pub async fn add_entry<D: Definition>(
        &self,
        definition: &D,
    ) -> Result<Entry<D>, PlaybookError> {
        self.checked(definition).await?;
        let rows = self.store.playbook(&self.org, D::BOOK).await?;
        if rows.len() >= MOST_ENTRIES {
            return Err(PlaybookError::Full);
        }
        let position = rows.last().map_or(1, |row| row.position + 1);
        let id = new_resource_id().as_str().to_owned();
        self.put(&id, position, definition).await?;
        Ok(Entry {
            id,
            position: rows.len() + 1,
            definition: definition.clone(),
            updated: self.store.now(),
        })
    }

    /// Rewrites an entry in its place.
    pub async fn replace_entry<D: Definition>(
        &self,
        id: &str,
        definition: &D,
    ) -> Result<Entry<D>, PlaybookError> {
        self.checked(definition).await?;
        let rows = self.store.playbook(&self.org, D::BOOK).await?;
        let (n, row) = rows
            .iter()
            .enumerate()
            .find(|(_, row)| row.id == id)
            .ok_or(PlaybookError::NotFound)?;
        self.put(id, row.position, definition).await?;
        Ok(Entry {
            id: id.to_owned(),
            position: n + 1,
            definition: definition.clone(),
            updated: self.store.now(),
        })
    }

    pub async fn remove_entry<D: Definition>(&self, id: &str) -> Result<(), PlaybookError> {
        let change = Change::RemovePlaybookEntry {
            book: D::BOOK,
            id: id.to_owned(),
        };
        match self.store.commit(&self.org, &[change]).await {
            Ok(_) => Ok(()),
            Err(StoreError::Conflict) => Err(PlaybookError::NotFound),
            Err(other) => Err(other.into()),
        }
    }

    /// Moves an entry to `position` (from 1; past the end is the end), the others
    /// keeping their order; the whole book is renumbered in one write.
    pub async fn move_entry<D: Definition>(
        &self,
        id: &str,
        position: usize,
    ) -> Result<Vec<Entry<D>>, PlaybookError> {
        let mut rows = self.store.playbook(&self.org, D::BOOK).await?;
        let from = rows
            .iter()
            .position(|row| row.id == id)
            .ok_or(PlaybookError::NotFound)?;
        let row = rows.remove(from);
        let to = position.saturating_sub(1).min(rows.len());
        rows.insert(to, row);
        let now = micros(self.store.now());
        let changes: Vec<Change> = rows
            .into_iter()
            .zip(1..)
            .map(|(row, position)| {
                Change::PutPlaybookEntry(PlaybookRow {
                    position,
                    updated_us: now,
                    ..row
                })
            })
            .collect();
        self.store.commit(&self.org, &changes).await?;
        Ok(self.entries::<D>().await?)
    }

    async fn checked<D: Definition>(&self, definition: &D) -> Result<(), PlaybookError> {
        let checked = definition
            .check()
            .map_err(|error| PlaybookError::Invalid(error.to_string()))?;
        if let Some(department) = D::department(&checked) {
            let known = self.store.departments(&self.org).await?;
            if !known.iter().any(|d| d.id == department.as_str()) {
                return Err(PlaybookError::NoDepartment(department.to_string()));
            }
        }
        Ok(())
    }

    async fn put<D: Definition>(
        &self,
        id: &str,
        position: i64,
        definition: &D,
    ) -> Result<(), PlaybookError> {
        let definition = serde_json::to_string(definition)
            .map_err(|_| EngineError::Corrupt("a playbook entry"))?;
        let row = PlaybookRow {
            book: D::BOOK.name().to_owned(),
            id: id.to_owned(),
            position,
            definition,
            updated_us: micros(self.store.now()),
        };
        self.store
            .commit(&self.org, &[Change::PutPlaybookEntry(row)])
            .await?;
        Ok(())
    }
}

fn read<D: Definition>(row: &PlaybookRow) -> Option<D> {
    match serde_json::from_str(&row.definition) {
        Ok(definition) => Some(definition),
        Err(_) => {
            tracing::warn!(book = %row.book, entry = %row.id, "a stored entry does not read; left out");
            None
        }
    }
}
