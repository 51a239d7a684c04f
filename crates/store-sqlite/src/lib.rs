//! The SQLite backend: the default, one file under the data directory, in WAL mode so that
//! readers never wait for the writer.

use std::str::FromStr;
use std::time::Duration;

use careloop_store::WriteTurns;
use careloop_store::sql::Dialect;
use sqlx::SqlitePool;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

const DIALECT: Dialect = Dialect::Sqlite;
/// How long a writer waits for another to finish before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// Readers run in parallel under WAL; writes take turns whatever the pool size.
const MAX_CONNECTIONS: u32 = 8;
/// Each connection's page cache: negative is KiB.
const CACHE_KIB: &str = "-8192";
/// Log pages between automatic checkpoints (4 KiB each).
const CHECKPOINT_PAGES: &str = "8000";

pub struct SqliteBackend {
    pool: SqlitePool,
    /// The one connection that writes: its page cache stays warm across its own
    /// commits, where a write on any pooled connection emptied every other's.
    writer: SqlitePool,
    /// SQLite lets one writer in at a time; this process's writers queue for it.
    writes: WriteTurns,
}

impl SqliteBackend {
    /// Opens (creating if missing) the database at `url` (`sqlite://path/to/file.db`).
    pub async fn connect(url: &str) -> Result<Self, sqlx::Error> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            // Deleted content is overwritten, so an erased patient leaves no bytes behind.
            .pragma("secure_delete", "on")
            // A multi-row statement keeps a journal to undo itself on failure; in memory
            // it costs no file writes.
            .pragma("temp_store", "memory")
            // Room for a batch of a few hundred rows without spilling to the log mid-way.
            .pragma("cache_size", CACHE_KIB)
            // Fewer, larger checkpoints: a page written by many batches is copied back
            // to the database once per checkpoint, not once per batch or two.
            .pragma("wal_autocheckpoint", CHECKPOINT_PAGES)
            .busy_timeout(BUSY_TIMEOUT);
        // A file does not break under a connection as a socket does: no ping before use.
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .test_before_acquire(false)
            .connect_with(options.clone())
            .await?;
        let pool = SqlitePoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            .test_before_acquire(false)
            .connect_with(options)
            .await?;
        Ok(Self {
            pool,
            writer,
            writes: WriteTurns::one_at_a_time(),
        })
    }

    /// Brings the schema up to date.
    pub async fn migrate(&self) -> Result<(), sqlx::migrate::MigrateError> {
        sqlx::migrate!("./migrations").run(&self.writer).await
    }
}

careloop_store::sqlx_backend! {
    backend: SqliteBackend,
    database: sqlx::Sqlite,
    arguments: sqlx::sqlite::SqliteArguments<'q>,
    row: sqlx::sqlite::SqliteRow,
    dialect: DIALECT,
    // IMMEDIATE takes the write lock up front, so a batch never fails half-way on a lock
    // upgrade.
    begin: "BEGIN IMMEDIATE",
    kind: "sqlite",
    // With secure_delete on, erased rows are zeroed in the pages; truncating the WAL drops
    // the older copies of those pages.
    scrub: Some("PRAGMA wal_checkpoint(TRUNCATE)"),
    max_connections: MAX_CONNECTIONS,
    bind_column: no_arrays,
    watch: one_process,
}

/// SQLite has no arrays; its dialect writes a list of placeholders instead.
fn no_arrays<'q>(
    _query: sqlx::query::Query<'q, sqlx::Sqlite, sqlx::sqlite::SqliteArguments<'q>>,
    _column: &'q careloop_store::sql::Column,
) -> Result<
    sqlx::query::Query<'q, sqlx::Sqlite, sqlx::sqlite::SqliteArguments<'q>>,
    careloop_store::BackendError,
> {
    Err(careloop_store::BackendError::Database(
        "an array bound on SQLite, which has none".into(),
    ))
}

/// One process writes a SQLite database: the store tells of its own writes.
fn one_process(_: &sqlx::SqlitePool, _: careloop_store::ConversationChanges) -> bool {
    false
}
