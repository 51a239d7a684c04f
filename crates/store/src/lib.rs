//! The storage layer as the rest of careloop sees it.
//!
//! [`Store`] is the one entry point: it encrypts protected health information on the way
//! in, decrypts it on the way out, turns searchable values into blind-index hashes, and
//! hands plain rows and atomic batches of writes to a [`Backend`] (SQLite or PostgreSQL,
//! each in its own crate). A backend sees ciphertext, hashes and timestamps only.

pub mod backend;
pub mod conversations;
pub mod crypto;
pub mod error;
mod key_cache;
pub mod model;
pub mod password;
pub mod playbook;
pub mod sql;
pub mod sql_audit;
pub mod sql_batch;
pub mod sql_conversations;
pub mod sql_playbook;
pub mod sql_staff;
pub mod sql_work;
mod sqlx_backend;
pub mod staff;
mod store;
pub mod tokens;
pub mod work;
mod write_turns;

pub use backend::{Backend, BackendError, PoolStats};
/// The audit log's entries, as the backends read and write them.
pub use careloop_domain::audit;
pub use crypto::{MasterKey, MasterKeyError};
pub use error::StoreError;
pub use model::{
    Change, Committed, Event, Expect, NewVersion, OutboxColumn, Page, Protection, Search,
    SentFilter, Sort, Stored, TermFilter,
};
pub use store::{Store, from_micros, micros};
pub use write_turns::WriteTurns;

/// Where a backend tells of the conversations saved (the patients' ids).
pub type ConversationChanges = tokio::sync::broadcast::Sender<String>;
