//! Opening the database the configuration names, migrated and checked against the master
//! key, as a [`Store`].

use std::sync::Arc;

use anyhow::Context as _;
use careloop_channels::smtp::{SmtpConfig, SmtpEmail};
use careloop_channels::twilio::{TwilioConfig, TwilioSms};
use careloop_domain::Clock;
use careloop_engine::{Engine, Library, Settings, Transports};
use careloop_store::{Backend, MasterKey, Store, StoreError};
use careloop_store_postgres::PgBackend;
use careloop_store_sqlite::SqliteBackend;
use secrecy::ExposeSecret;

use crate::config::{Config, DATABASE_URL, Database, MASTER_KEY};

/// How long a send to Twilio may take before its outcome counts as unknown.
const TWILIO_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(15);
/// How long one email may take, connecting to the relay included: relays answer more
/// slowly than an API, and the outbox's default two-minute lease leaves room.
const SMTP_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// Connects and brings the schema up to date.
pub async fn backend(config: &Config) -> anyhow::Result<Arc<dyn Backend>> {
    let variable = DATABASE_URL.env;
    Ok(match &config.database {
        Database::Sqlite(url) => {
            let backend = SqliteBackend::connect(url)
                .await
                .with_context(|| format!("{variable}: cannot open the SQLite database"))?;
            backend
                .migrate()
                .await
                .with_context(|| format!("{variable}: cannot migrate the SQLite database"))?;
            Arc::new(backend)
        }
        Database::Postgres(url) => {
            let backend = PgBackend::connect(url)
                .await
                .with_context(|| format!("{variable}: cannot connect to PostgreSQL"))?;
            backend
                .migrate()
                .await
                .with_context(|| format!("{variable}: cannot migrate the PostgreSQL database"))?;
            Arc::new(backend)
        }
    })
}

pub async fn store(
    config: &Config,
    master: &MasterKey,
    clock: Arc<dyn Clock>,
) -> anyhow::Result<Store> {
    let store = Store::new(backend(config).await?, master, clock);
    match store.init().await {
        Ok(()) => Ok(store),
        Err(StoreError::WrongMasterKey) => Err(anyhow::anyhow!(
            "{}: this is not the master key the database was created with; nothing can be decrypted with it",
            MASTER_KEY.env
        )),
        Err(error) => Err(error).context("cannot check the master key against the database"),
    }
}

/// The data directory made ready, and the store over the configured database with the
/// wall clock: what every command that works on the data opens first.
pub async fn data(config: &Config) -> anyhow::Result<Store> {
    crate::data_dir::ensure(config)?;
    let master = crate::data_dir::master_key(config)?;
    store(config, &master, Arc::new(crate::clock::SystemClock)).await
}

/// The FHIR interactions over `store`, as the API serves them.
pub fn fhir(config: &Config, store: Store) -> careloop_fhir::FhirService {
    careloop_fhir::FhirService::new(
        store,
        careloop_fhir::Context {
            region: config.default_region,
        },
        format!("{}/fhir", config.public_url),
    )
}

/// The engine over `store`, with the clinic's settings and the transports configured
/// (the sandbox for a channel with no provider).
pub fn engine(config: &Config, store: Store) -> anyhow::Result<Engine> {
    let library = Library::builtin().context("the built-in journeys do not load")?;
    let mut settings = Settings::new(config.clinic.clone(), config.default_region);
    settings.public_url.clone_from(&config.public_url);
    settings.quiet_hours = config.quiet_hours;
    settings.phi = config.gates.phi;
    settings.caps = config.gates.caps;
    settings.rates = config.gates.rates;
    settings.tcpa_healthcare = config.gates.tcpa_healthcare;
    if let Some(lease) = config.outbox_lease {
        settings.lease = lease;
    }
    if let Some(grace) = config.unknown_grace {
        settings.unknown_grace = grace;
    }
    let mut transports = Transports::sandbox();
    if let Some(twilio) = &config.twilio {
        let sms = TwilioSms::new(TwilioConfig {
            api_base: twilio.api_base.clone(),
            account_sid: twilio.account_sid.clone(),
            auth_token: twilio.auth_token.expose_secret().to_owned(),
            sender: twilio.sender.clone(),
            status_callback: Some(format!("{}/webhooks/twilio/status", config.public_url)),
            timeout: TWILIO_TIMEOUT,
        })
        .context("cannot set up the Twilio client")?;
        transports.sms = Arc::new(sms);
    }
    if let Some(smtp) = &config.smtp {
        transports.email = Arc::new(SmtpEmail::new(SmtpConfig {
            relay: smtp.relay.clone(),
            from: smtp.from.clone(),
            timeout: SMTP_TIMEOUT,
        }));
    }
    Ok(Engine::new(store, library, settings, transports))
}
