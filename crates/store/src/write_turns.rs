//! Turns at writing, for a database that lets one writer in at a time.
//!
//! SQLite answers a second writer "busy", and its busy handler sleeps before trying
//! again (a millisecond, then more): with the engine's stages writing side by side,
//! those sleeps were most of a write's wait. Writers of one process queue here instead
//! and each goes the moment the one before it is done.

use tokio::sync::{Mutex, MutexGuard};

/// `None` for a database whose writers do not wait on each other (PostgreSQL).
#[derive(Default)]
pub struct WriteTurns(Option<Mutex<()>>);

impl WriteTurns {
    /// Writers of this process take turns.
    pub fn one_at_a_time() -> Self {
        Self(Some(Mutex::new(())))
    }

    /// Waits for this writer's turn, which lasts as long as the guard.
    pub async fn take(&self) -> Option<MutexGuard<'_, ()>> {
        match &self.0 {
            Some(turn) => Some(turn.lock().await),
            None => None,
        }
    }
}
