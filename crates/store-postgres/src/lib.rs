//! The PostgreSQL backend: for production, and for several `careloop` processes sharing
//! one database.

mod yardstick;

use std::str::FromStr;

use careloop_store::BackendError;
use careloop_store::WriteTurns;
use careloop_store::sql::{Column, Dialect};
use sqlx::PgPool;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

pub use yardstick::Yardstick;

const DIALECT: Dialect = Dialect::Postgres;
/// Enough for the HTTP handlers and the background loops of one process; PostgreSQL's
/// default limit of 100 connections leaves room for several processes.
const MAX_CONNECTIONS: u32 = 10;

pub struct PgBackend {
    pool: PgPool,
    /// The same pool: PostgreSQL's writers need no connection of their own.
    writer: PgPool,
    /// PostgreSQL's writers lock rows, not the database: no turns.
    writes: WriteTurns,
}

impl PgBackend {
    /// Connects to `url` (`postgres://user@host/db`).
    pub async fn connect(url: &str) -> Result<Self, sqlx::Error> {
        Self::connect_with(PgConnectOptions::from_str(url)?).await
    }

    /// Connects with every table looked up in `schema` first, so that separate test runs
    /// (or separate deployments) can share one database.
    pub async fn connect_in_schema(url: &str, schema: &str) -> Result<Self, sqlx::Error> {
        let options = PgConnectOptions::from_str(url)?.options([("search_path", schema)]);
        Self::connect_with(options).await
    }

    async fn connect_with(options: PgConnectOptions) -> Result<Self, sqlx::Error> {
        let pool = PgPoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            // No ping before every use: it was a round trip per statement, a tenth of
            // careloop's CPU when busy. A connection that broke meanwhile fails its
            // statement instead and the pool drops it (its ping on release fails too).
            // After a database restart the engine's next rounds fail once per stale
            // connection, are logged and retried; HTTP requests tried then went through.
            .test_before_acquire(false)
            .connect_with(options)
            .await?;
        Ok(Self {
            writer: pool.clone(),
            pool,
            writes: WriteTurns::default(),
        })
    }

    /// Brings the schema up to date.
    pub async fn migrate(&self) -> Result<(), sqlx::migrate::MigrateError> {
        sqlx::migrate!("./migrations").run(&self.pool).await
    }

    /// Creates a schema (for tests that each want their own).
    pub async fn create_schema(url: &str, schema: &str) -> Result<(), sqlx::Error> {
        on_schema(url, "CREATE SCHEMA IF NOT EXISTS", schema, "").await
    }

    /// Gathers the planner's statistics on every table of a schema, as autovacuum does
    /// on its own when it is on (a new schema's tables otherwise look empty to the
    /// planner, whatever they hold).
    pub async fn analyze_schema(url: &str, schema: &str) -> Result<(), sqlx::Error> {
        let pool = PgPoolOptions::new().max_connections(1).connect(url).await?;
        let analyzed = async {
            let tables: Vec<String> =
                sqlx::query_scalar("SELECT tablename::text FROM pg_tables WHERE schemaname = $1")
                    .bind(schema)
                    .fetch_all(&pool)
                    .await?;
            let quoted = schema.replace('"', "\"\"");
            for table in tables {
                let table = table.replace('"', "\"\"");
                sqlx::query(&format!("ANALYZE \"{quoted}\".\"{table}\""))
                    .execute(&pool)
                    .await?;
            }
            Ok(())
        }
        .await;
        pool.close().await;
        analyzed
    }

    /// Drops a schema and everything in it.
    pub async fn drop_schema(url: &str, schema: &str) -> Result<(), sqlx::Error> {
        on_schema(url, "DROP SCHEMA IF EXISTS", schema, "CASCADE").await
    }
}

/// Runs `{verb} "schema" {suffix}` on a connection of its own.
async fn on_schema(url: &str, verb: &str, schema: &str, suffix: &str) -> Result<(), sqlx::Error> {
    let pool = PgPoolOptions::new().max_connections(1).connect(url).await?;
    let quoted = schema.replace('"', "\"\"");
    let result = sqlx::query(&format!("{verb} \"{quoted}\" {suffix}"))
        .execute(&pool)
        .await;
    pool.close().await;
    result.map(|_| ())
}

careloop_store::sqlx_backend! {
    backend: PgBackend,
    database: sqlx::Postgres,
    arguments: sqlx::postgres::PgArguments,
    row: sqlx::postgres::PgRow,
    dialect: DIALECT,
    begin: "BEGIN",
    kind: "postgres",
    // PostgreSQL reclaims dead rows with (auto)vacuum; nothing to do inside a session.
    scrub: None,
    max_connections: MAX_CONNECTIONS,
    bind_column: bind_column,
    watch: listen_for_conversations,
}

/// Listens for the conversations every process saves (their batches `NOTIFY` on
/// commit) and tells `changes`, on a connection of its own, until the pool closes. A
/// dropped connection is opened again; what was said meanwhile is missed, and live
/// views catch up on their next change.
fn listen_for_conversations(pool: &PgPool, changes: careloop_store::ConversationChanges) -> bool {
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        return false;
    };
    let pool = pool.clone();
    runtime.spawn(async move {
        while !pool.is_closed() {
            if let Err(error) = listen(&pool, &changes).await {
                if pool.is_closed() {
                    break;
                }
                tracing::warn!(error = %error, "listening for conversations failed; listening again");
                tokio::time::sleep(std::time::Duration::from_secs(1)).await;
            }
        }
    });
    true
}

async fn listen(
    pool: &PgPool,
    changes: &careloop_store::ConversationChanges,
) -> Result<(), sqlx::Error> {
    let schema: String = sqlx::query_scalar("SELECT current_schema()::text")
        .fetch_one(pool)
        .await?;
    let mut listener = sqlx::postgres::PgListener::connect_with(pool).await?;
    listener
        .listen(&format!(
            "{}{schema}",
            careloop_store::sql_conversations::INBOX_CHANNEL
        ))
        .await?;
    loop {
        let notification = listener.recv().await?;
        // Nobody may be watching just now: that is no error.
        let _ = changes.send(notification.payload().to_owned());
    }
}

/// A column of values as one array.
fn bind_column<'q>(
    query: sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments>,
    column: &'q Column,
) -> Result<sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments>, BackendError> {
    Ok(match column {
        Column::Text(v) => query.bind(v.as_slice()),
        Column::OptText(v) => query.bind(v.as_slice()),
        Column::Bytes(v) => query.bind(v.as_slice()),
        Column::Int(v) => query.bind(v.as_slice()),
        Column::OptInt(v) => query.bind(v.as_slice()),
        Column::Bool(v) => query.bind(v.as_slice()),
    })
}
