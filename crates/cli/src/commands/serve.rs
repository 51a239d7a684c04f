//! `careloop serve`: the HTTP server.

use std::sync::Arc;

use anyhow::Context as _;
use careloop_engine::Engine;
use careloop_web::{AppState, router};
use secrecy::ExposeSecret;

use crate::clock::SystemClock;
use crate::config::{Config, LISTEN};
use crate::data_dir::{self, TokenSource};
use crate::open;

pub async fn run(config: Config) -> anyhow::Result<()> {
    data_dir::ensure(&config)?;
    let master = data_dir::master_key(&config)?;
    let (token, token_source) = data_dir::api_token(&config)?;
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("{}: cannot listen on {}", LISTEN.env, config.listen))?;
    let clock = Arc::new(SystemClock);
    let store = open::store(&config, &master, clock.clone()).await?;
    let engine = open::engine(&config, store.clone())?;
    let bound = listener.local_addr().unwrap_or(config.listen);
    println!(
        "careloop {} listening on http://{bound}",
        env!("CARGO_PKG_VERSION")
    );
    println!("  FHIR base:  {}/fhir", config.public_url);
    println!("  database:   {}", store.backend_kind());
    match token_source {
        TokenSource::File(path) => println!(
            "  API token:  in {} (send it as 'Authorization: Bearer <token>')",
            path.display()
        ),
        TokenSource::Environment => println!("  API token:  from CARELOOP_API_TOKEN"),
    }
    match &config.twilio {
        Some(twilio) => println!("  texts:      Twilio ({})", twilio.api_base),
        None => println!(
            "  texts:      sandbox (kept, not sent; set CARELOOP_TWILIO_ACCOUNT_SID to send)"
        ),
    }
    match &config.smtp {
        Some(smtp) => println!(
            "  email:      SMTP ({}:{})",
            smtp.relay.host(),
            smtp.relay.port()
        ),
        None => println!("  email:      sandbox (kept, not sent; set CARELOOP_SMTP_URL to send)"),
    }
    tracing::info!(listen = %bound, database = store.backend_kind(), "careloop started");
    serve(listener, &config, engine, token.expose_secret()).await
}

/// Serves the HTTP API and runs the engine until Ctrl-C or SIGTERM; requests under way
/// and the engine's round under way finish first.
pub async fn serve(
    listener: tokio::net::TcpListener,
    config: &Config,
    engine: Engine,
    token: &str,
) -> anyhow::Result<()> {
    let mut state = AppState::new(engine.clone(), &SystemClock, &config.public_url, token);
    if let Some(twilio) = &config.twilio {
        state = state.with_twilio(twilio.auth_token.expose_secret());
    }
    if let Some(secret) = &config.email_inbound_secret {
        state = state.with_email_inbound(secret.expose_secret());
    }
    // One signal stops both, and a server that fails stops the engine too.
    let (stop, stopping) = tokio::sync::watch::channel(false);
    let stop = Arc::new(stop);
    let on_signal = stop.clone();
    tokio::spawn(async move {
        shutdown().await;
        on_signal.send_replace(true);
    });
    let engine = tokio::spawn(engine.run_until(stopped(stopping.clone())));
    let served = axum::serve(listener, router(state))
        .with_graceful_shutdown(stopped(stopping))
        .await;
    stop.send_replace(true);
    if let Err(error) = engine.await {
        tracing::error!(error = %error, "the engine failed");
    }
    served.context("the HTTP server failed")?;
    tracing::info!("careloop stopped");
    Ok(())
}

/// Resolves once `stopping` says so (or its sender is gone).
async fn stopped(mut stopping: tokio::sync::watch::Receiver<bool>) {
    let _ = stopping.wait_for(|stop| *stop).await;
}

/// Resolves on Ctrl-C or SIGTERM, so in-flight requests finish before exit.
pub async fn shutdown() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}
