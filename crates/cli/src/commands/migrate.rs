//! `careloop migrate`: bring the schema up to date and exit.

use crate::config::Config;
use crate::{data_dir, open};

pub async fn run(config: Config) -> anyhow::Result<()> {
    if matches!(config.database, crate::config::Database::Sqlite(_)) {
        data_dir::ensure(&config)?;
    }
    let backend = open::backend(&config).await?;
    println!(
        "careloop: the {} database schema is up to date",
        backend.kind()
    );
    Ok(())
}
