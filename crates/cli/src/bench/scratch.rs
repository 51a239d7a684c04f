//! A database of the bench's own, so that a bench never reads or changes existing data:
//! SQLite in a new temporary folder, PostgreSQL in a new schema of the given database.
//! Both are removed at the end, whatever the outcome.

use std::time::{Duration, Instant};

use anyhow::Context as _;
use careloop_store_postgres::{PgBackend, Yardstick};

use crate::config::Database;

/// How long the yardstick claims rows, and how many it has to claim (more than the
/// fastest machine takes in that time).
const YARDSTICK_TIME: Duration = Duration::from_secs(3);
const YARDSTICK_ROWS: i64 = 1_000_000;

pub enum Scratch {
    /// The folder (and the database file in it) goes when this is dropped.
    Sqlite {
        folder: tempfile::TempDir,
    },
    Postgres {
        url: String,
        schema: String,
    },
}

impl Scratch {
    /// Makes the scratch database `--database` names (`sqlite`, or a PostgreSQL URL), and
    /// returns the database setting that reaches it.
    pub async fn create(database: &str) -> anyhow::Result<(Self, Database)> {
        if database == "sqlite" {
            let folder = tempfile::Builder::new()
                .prefix("careloop-bench-")
                .tempdir()
                .context("cannot create a temporary folder for the bench's database")?;
            let url = format!("sqlite://{}/careloop.db", folder.path().display());
            return Ok((Self::Sqlite { folder }, Database::Sqlite(url)));
        }
        if !(database.starts_with("postgres://") || database.starts_with("postgresql://")) {
            anyhow::bail!("--database: expected sqlite or postgres://user@host/database");
        }
        let mut url = url::Url::parse(database)
            .map_err(|e| anyhow::anyhow!("--database: not a valid PostgreSQL URL: {e}"))?;
        let schema = format!("careloop_bench_{}", random_hex()?);
        PgBackend::create_schema(url.as_str(), &schema)
            .await
            .context("--database: cannot create the bench's schema in PostgreSQL")?;
        // Every connection of the bench looks up its tables in the new schema first, so
        // the migrations create them there and nothing outside it is touched.
        url.query_pairs_mut()
            .append_pair("options[search_path]", &schema);
        let scratch = Self::Postgres {
            url: database.to_owned(),
            schema,
        };
        Ok((scratch, Database::Postgres(url.into())))
    }

    /// `sqlite` or `postgres`.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Sqlite { .. } => "sqlite",
            Self::Postgres { .. } => "postgres",
        }
    }

    /// Brings the planner's statistics up to date, as a database in service has them
    /// (PostgreSQL's autovacuum may be off where the bench runs).
    pub async fn analyze(&self) -> anyhow::Result<()> {
        match self {
            Self::Sqlite { .. } => Ok(()),
            Self::Postgres { url, schema } => PgBackend::analyze_schema(url, schema)
                .await
                .with_context(|| format!("cannot analyze the bench's schema {schema}")),
        }
    }

    /// The machine's pace at bare queue work, in rows a second (see
    /// [`careloop_store_postgres::Yardstick`]): two connections claiming and deleting
    /// no-op rows 100 at a time for [`YARDSTICK_TIME`]. `None` on SQLite, which has no
    /// queue of that kind.
    pub async fn yardstick(&self) -> anyhow::Result<Option<f64>> {
        let Self::Postgres { url, schema } = self else {
            return Ok(None);
        };
        let yardstick = Yardstick::prepare(url, schema, 2, YARDSTICK_ROWS)
            .await
            .context("cannot prepare the yardstick's table")?;
        let started = Instant::now();
        let take = || async {
            let mut taken = 0u64;
            while started.elapsed() < YARDSTICK_TIME {
                match yardstick.take().await {
                    Ok(0) => break,
                    Ok(n) => taken += n,
                    Err(error) => return Err(error),
                }
            }
            Ok(taken)
        };
        let (one, two) = tokio::join!(take(), take());
        let elapsed = started.elapsed().as_secs_f64();
        let removed = yardstick.remove().await;
        let taken = one.and_then(|one| Ok(one + two?));
        let taken = taken.context("the yardstick's claims failed")?;
        removed.context("cannot drop the yardstick's table")?;
        #[expect(clippy::cast_precision_loss, reason = "a rate, printed rounded")]
        Ok(Some(taken as f64 / elapsed))
    }

    /// Removes the database and everything in it.
    pub async fn remove(self) -> anyhow::Result<()> {
        match self {
            Self::Sqlite { folder } => folder
                .close()
                .context("cannot remove the bench's temporary folder"),
            Self::Postgres { url, schema } => PgBackend::drop_schema(&url, &schema)
                .await
                .with_context(|| format!("cannot drop the bench's schema {schema}")),
        }
    }
}

/// Sixteen hex digits: enough that two benches on one database never pick one schema.
fn random_hex() -> anyhow::Result<String> {
    let mut bytes = [0u8; 8];
    getrandom::getrandom(&mut bytes).context("no randomness for the schema's name")?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}
