//! A yardstick of the machine's speed at plain queue work, so that figures a bench
//! takes at different times can be read side by side: on a shared machine the same run
//! can take twice as long from one hour to the next. It claims and deletes no-op rows a
//! hundred at a time with `FOR UPDATE SKIP LOCKED`, the work every PostgreSQL job queue
//! does and nothing else careloop does.

use std::str::FromStr;

use sqlx::PgPool;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

/// The table, in the schema it is made in.
const TABLE: &str = "queue_yardstick";

/// A table of no-op rows to claim, on a pool of `connections`.
pub struct Yardstick {
    pool: PgPool,
}

impl Yardstick {
    /// Makes the table in `schema` (a scratch schema: the table is dropped by
    /// [`Self::remove`]) and fills it with `rows` rows.
    pub async fn prepare(
        url: &str,
        schema: &str,
        connections: u32,
        rows: i64,
    ) -> Result<Self, sqlx::Error> {
        let options = PgConnectOptions::from_str(url)?.options([("search_path", schema)]);
        let pool = PgPoolOptions::new()
            .max_connections(connections)
            .connect_with(options)
            .await?;
        let made = async {
            sqlx::query(&format!(
                "CREATE TABLE {TABLE} (id BIGSERIAL PRIMARY KEY, payload TEXT NOT NULL)"
            ))
            .execute(&pool)
            .await?;
            sqlx::query(&format!(
                "INSERT INTO {TABLE} (payload) SELECT '{{}}' FROM generate_series(1, $1)"
            ))
            .bind(rows)
            .execute(&pool)
            .await?;
            sqlx::query(&format!("ANALYZE {TABLE}"))
                .execute(&pool)
                .await
        }
        .await;
        match made {
            Ok(_) => Ok(Self { pool }),
            Err(error) => {
                pool.close().await;
                Err(error)
            }
        }
    }

    /// Claims up to 100 rows and deletes them, in one statement; returns how many.
    pub async fn take(&self) -> Result<u64, sqlx::Error> {
        let done = sqlx::query(&format!(
            "WITH claimed AS (SELECT id FROM {TABLE} ORDER BY id LIMIT 100 FOR UPDATE SKIP LOCKED) \
             DELETE FROM {TABLE} USING claimed WHERE {TABLE}.id = claimed.id"
        ))
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected())
    }

    /// Drops the table.
    pub async fn remove(self) -> Result<(), sqlx::Error> {
        let dropped = sqlx::query(&format!("DROP TABLE {TABLE}"))
            .execute(&self.pool)
            .await;
        self.pool.close().await;
        dropped.map(|_| ())
    }
}
