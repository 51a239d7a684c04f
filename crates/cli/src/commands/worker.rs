//! `careloop worker`: the engine without the HTTP server. On PostgreSQL any number of
//! workers and servers share the work: each message is claimed by one of them.

use crate::commands::serve::shutdown;
use crate::config::Config;
use crate::open;

pub async fn run(config: Config) -> anyhow::Result<()> {
    let store = open::data(&config).await?;
    let engine = open::engine(&config, store.clone())?;
    println!(
        "careloop {} worker on {}: sending what falls due; Ctrl-C stops after the round under way",
        env!("CARGO_PKG_VERSION"),
        store.backend_kind()
    );
    tracing::info!(database = store.backend_kind(), "careloop worker started");
    engine.run_until(shutdown()).await;
    tracing::info!("careloop worker stopped");
    Ok(())
}
