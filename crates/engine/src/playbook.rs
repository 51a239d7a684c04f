//! The clinic's playbook as admins edit it and the engine uses it: triage rules and the
//! FAQ assistant's answers, each an ordered book. An entry is checked before it is
//! written, so every stored entry runs; one that no longer reads (written by a newer
//! careloop, say) is left out of use and logged by id, never guessed at.

use careloop_domain::faq::{Faq, FaqDefinition, FaqError};
use careloop_domain::staff::DepartmentKey;
use careloop_domain::triage::{Rule, RuleDefinition, RuleError};
use std::sync::{Arc, Mutex};

use careloop_store::playbook::{Book, PlaybookChange, PlaybookRow};
use careloop_store::{Change, StoreError, from_micros, micros};
use jiff::Timestamp;
use serde::Serialize;
use serde::de::DeserializeOwned;

use careloop_store::crypto::new_resource_id;

use crate::{Engine, EngineError};

/// The most entries a book holds: every inbound message reads its book.
pub const MOST_ENTRIES: usize = 500;

/// A book's entries as last checked, and what they were checked from: an inbound
/// message reads its book's rows, and compiles them (expressions and all) only when
/// they changed.
pub struct Compiled<T> {
    /// Each row's id, place and definition.
    from: Vec<(String, i64, String)>,
    checked: Arc<Vec<T>>,
}

/// The checked books, shared by every clone of an engine.
#[derive(Default)]
pub struct Cache {
    rules: Mutex<Option<Compiled<Rule>>>,
    faqs: Mutex<Option<Compiled<Faq>>>,
}

/// What a book's entries are.
pub trait Definition: Serialize + DeserializeOwned + Clone {
    const BOOK: Book;
    type Checked: Send + Sync + 'static;
    type Error: std::fmt::Display;
    fn check(&self) -> Result<Self::Checked, Self::Error>;
    fn enabled(&self) -> bool;
    /// Where the engine keeps the book as last checked.
    fn slot(cache: &Cache) -> &Mutex<Option<Compiled<Self::Checked>>>;
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
    fn slot(cache: &Cache) -> &Mutex<Option<Compiled<Rule>>> {
        &cache.rules
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
    fn slot(cache: &Cache) -> &Mutex<Option<Compiled<Faq>>> {
        &cache.faqs
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

    /// The book's enabled entries, checked, in order: what the engine runs. They are
    /// checked again only when a row changed.
    pub(crate) async fn in_use<D: Definition>(&self) -> Result<Arc<Vec<D::Checked>>, EngineError> {
        let rows = self.store.playbook(&self.org, D::BOOK).await?;
        let from: Vec<(String, i64, String)> = rows
            .iter()
            .map(|row| (row.id.clone(), row.position, row.definition.clone()))
            .collect();
        let slot = D::slot(&self.playbooks);
        if let Ok(cached) = slot.lock()
            && let Some(compiled) = cached.as_ref()
            && compiled.from == from
        {
            return Ok(Arc::clone(&compiled.checked));
        }
        let checked: Arc<Vec<D::Checked>> = Arc::new(
            rows.iter()
                .filter_map(read::<D>)
                .filter(D::enabled)
                .filter_map(|definition| match definition.check() {
                    Ok(checked) => Some(checked),
                    Err(_) => {
                        tracing::warn!(
                            book = D::BOOK.name(),
                            "a stored entry does not check; left out"
                        );
                        None
                    }
                })
                .collect(),
        );
        if let Ok(mut cached) = slot.lock() {
            *cached = Some(Compiled {
                from,
                checked: Arc::clone(&checked),
            });
        }
        Ok(checked)
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
        let id = new_resource_id().as_str().to_owned();
        let row = PlaybookRow {
            book: D::BOOK.name().to_owned(),
            id: id.clone(),
            position: rows.last().map_or(1, |row| row.position + 1),
            definition: text_of(definition)?,
            updated_us: micros(self.store.now()),
        };
        self.store
            .commit(&self.org, &[Change::AddPlaybookEntry(row)])
            .await?;
        Ok(Entry {
            id,
            position: rows.len() + 1,
            definition: definition.clone(),
            updated: self.store.now(),
        })
    }

    /// Rewrites an entry in its place; one removed meanwhile stays removed.
    pub async fn replace_entry<D: Definition>(
        &self,
        id: &str,
        definition: &D,
    ) -> Result<Entry<D>, PlaybookError> {
        self.checked(definition).await?;
        let rows = self.store.playbook(&self.org, D::BOOK).await?;
        let n = rows
            .iter()
            .position(|row| row.id == id)
            .ok_or(PlaybookError::NotFound)?;
        let change = PlaybookChange {
            book: D::BOOK.name(),
            id: id.to_owned(),
            position: None,
            definition: Some(text_of(definition)?),
            updated_us: micros(self.store.now()),
        };
        self.change(vec![change]).await?;
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
        // Only places change: a definition rewritten meanwhile keeps its new words.
        let changes: Vec<PlaybookChange> = rows
            .into_iter()
            .zip(1..)
            .map(|(row, position)| PlaybookChange {
                book: D::BOOK.name(),
                id: row.id,
                position: Some(position),
                definition: None,
                updated_us: now,
            })
            .collect();
        self.change(changes).await?;
        Ok(self.entries::<D>().await?)
    }

    /// Writes changes to entries that are there; one removed meanwhile is not found.
    async fn change(&self, changes: Vec<PlaybookChange>) -> Result<(), PlaybookError> {
        let changes: Vec<Change> = changes
            .into_iter()
            .map(Change::ChangePlaybookEntry)
            .collect();
        match self.store.commit(&self.org, &changes).await {
            Ok(_) => Ok(()),
            Err(StoreError::Conflict) => Err(PlaybookError::NotFound),
            Err(other) => Err(other.into()),
        }
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
}

fn text_of<D: Definition>(definition: &D) -> Result<String, PlaybookError> {
    serde_json::to_string(definition)
        .map_err(|_| PlaybookError::Engine(EngineError::Corrupt("a playbook entry")))
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
