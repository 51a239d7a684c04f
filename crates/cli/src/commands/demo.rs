//! `careloop demo`: the whole loop on this machine, with nothing to set up. A server on
//! the sandbox channels over a fresh database in a temporary folder, a demo clinic with
//! two patients booked so that their messages fall due within a minute, every message
//! shown here as it goes out, and the patient's answers typed at the prompt.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context as _;
use careloop_channels::sandbox::Sandbox;
use careloop_channels::{Accepted, Outbound, SendError, Transport};
use careloop_domain::OrgId;
use careloop_domain::quiet_hours::QuietHours;
use careloop_engine::{Engine, Received, Transports};
use careloop_fhir::{FhirService, ResourceType};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use secrecy::ExposeSecret;
use serde_json::{Value, json};

use crate::commands::serve::serve;
use crate::config::{Config, Database};
use crate::{data_dir, open};

/// Ana's phone: the demo's answers at the prompt come from it.
const ANA_PHONE: &str = "+16175550101";
const LUIS_PHONE: &str = "+16175550102";
/// Zones where the demo patients may live: the first where it is daytime now is used,
/// so that quiet hours do not hold the demo's texts until morning.
const ZONES: &[&str] = &[
    "America/New_York",
    "America/Chicago",
    "America/Los_Angeles",
    "Pacific/Honolulu",
    "Pacific/Auckland",
    "Australia/Sydney",
    "Asia/Tokyo",
    "Asia/Kolkata",
    "Europe/Madrid",
    "Atlantic/Azores",
];

/// Shows each message as the patient would get it, then hands it to the sandbox.
struct Shown;

#[async_trait::async_trait]
impl Transport for Shown {
    async fn send(&self, message: &Outbound) -> Result<Accepted, SendError> {
        let what = match &message.subject {
            Some(subject) => format!("email to {} — {subject}", message.to),
            None => format!("text to {}", message.to),
        };
        println!(
            "\n  ▶ {what}\n    {}\n",
            message.text.replace('\n', "\n    ")
        );
        Sandbox.send(message).await
    }

    fn name(&self) -> &'static str {
        Sandbox.name()
    }
}

pub async fn run(mut config: Config) -> anyhow::Result<()> {
    // A new folder of the person's own (created exclusively, 0700), kept after the demo.
    let folder = tempfile::Builder::new()
        .prefix("careloop-demo-")
        .tempdir()
        .context("cannot create a folder for the demo's data")?
        .keep();
    config.database = Database::Sqlite(format!("sqlite://{}/careloop.db", folder.display()));
    config.data_dir = folder;
    config.api_token = None;
    config.master_key = None;
    config.twilio = None;
    config.smtp = None;
    config.clinic.name = "Riverside Demo Clinic".to_owned();
    config.clinic.phone = "+1 555 0100".to_owned();
    // The default quiet hours, which the choice of the patients' zone allows for.
    config.quiet_hours = QuietHours::TEXTS_AND_CALLS;
    // The banner shows the token: the demo listens on this machine only.
    config.listen = SocketAddr::from(([127, 0, 0, 1], config.listen.port()));
    let listener = match tokio::net::TcpListener::bind(config.listen).await {
        Ok(listener) => listener,
        // The usual port is taken (a careloop serve, say): any free one will do.
        Err(_) => tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
            .await
            .context("cannot listen on any local port")?,
    };
    let bound = listener
        .local_addr()
        .context("cannot read the local port")?;
    config.public_url = format!("http://{bound}");
    let store = open::data(&config).await?;
    let (token, _) = data_dir::api_token(&config)?;
    let engine = open::engine(&config, store.clone())?.with_transports(Transports {
        sms: Arc::new(Shown),
        email: Arc::new(Shown),
    });
    let zone = daytime_zone(store.now());
    book(&config, &store, &zone).await?;
    println!(
        "careloop demo on {url} — a demo clinic, on the sandbox: nothing leaves this machine.

  Ana (English) is booked for tomorrow, a little over 24 hours from now: she gets a
  booking confirmation now and, in about 20 seconds, the day-before reminder that asks
  her to answer C, N or R.
  Luis (Spanish) is booked two hours from now: his confirmation now, his last reminder
  in about 40 seconds.
  Both live in {zone} (where it is daytime, so quiet hours hold nothing back).

  Answer as Ana: type C (confirm), N (cancel), R (reschedule), HELP, STOP, START or any
  text, and press Enter. Or from another terminal:
    curl -s -X POST {url}/api/v1/sandbox/replies -H 'Authorization: Bearer {token}' \\
         -H 'content-type: application/json' -d '{{\"to\": \"{LUIS_PHONE}\", \"text\": \"C\"}}'
  Look at what careloop keeps:
    curl -s {url}/fhir/Communication -H 'Authorization: Bearer {token}'
    curl -s {url}/fhir/Appointment -H 'Authorization: Bearer {token}'
  Data: {folder} (deleted by nothing; remove it when done). Ctrl-C stops.",
        url = config.public_url,
        zone = zone.iana_name().unwrap_or("UTC"),
        token = token.expose_secret(),
        folder = config.data_dir.display(),
    );
    tokio::spawn(answers_from_the_prompt(engine.clone()));
    serve(listener, &config, engine, token.expose_secret()).await
}

/// The first of [`ZONES`] where it is between 9:00 and 19:00 now.
fn daytime_zone(now: Timestamp) -> TimeZone {
    ZONES
        .iter()
        .filter_map(|name| TimeZone::get(name).ok())
        .find(|zone| (9..19).contains(&now.to_zoned(zone.clone()).hour()))
        .unwrap_or(TimeZone::UTC)
}

/// Creates the two patients and their appointments through the FHIR API, as an EHR
/// would: the bookings set the journeys going.
async fn book(
    config: &Config,
    store: &careloop_store::Store,
    zone: &TimeZone,
) -> anyhow::Result<()> {
    let fhir = open::fhir(config, store.clone());
    let zone = zone.iana_name().unwrap_or("UTC");
    let now = store.now();
    let bookings = [
        (
            "ana",
            "Ana",
            "Ruiz",
            "en",
            ANA_PHONE,
            SignedDuration::from_secs(24 * 3600 + 20),
        ),
        (
            "luis",
            "Luis",
            "Garcia",
            "es",
            LUIS_PHONE,
            SignedDuration::from_secs(2 * 3600 + 40),
        ),
    ];
    for (id, given, family, language, phone, after) in bookings {
        let patient = json!({
            "resourceType": "Patient", "id": id,
            "extension": [{"url": "http://hl7.org/fhir/StructureDefinition/tz-code", "valueCode": zone}],
            "name": [{"given": [given], "family": family}],
            "telecom": [
                {"system": "phone", "value": phone, "use": "mobile", "rank": 1},
                {"system": "email", "value": format!("{id}@example.org"), "rank": 2}
            ],
            "communication": [{"language": {"coding": [{"code": language}]}, "preferred": true}]
        });
        put(&fhir, ResourceType::Patient, id, patient).await?;
        let start = now
            .checked_add(after)
            .context("the clock is out of range")?;
        let end = start
            .checked_add(SignedDuration::from_mins(30))
            .context("the clock is out of range")?;
        let appointment = json!({
            "resourceType": "Appointment", "id": format!("{id}-visit"), "status": "booked",
            "start": start.round(jiff::Unit::Second)?.to_string(),
            "end": end.round(jiff::Unit::Second)?.to_string(),
            "participant": [{"actor": {"reference": format!("Patient/{id}")}, "status": "needs-action"}]
        });
        put(
            &fhir,
            ResourceType::Appointment,
            &format!("{id}-visit"),
            appointment,
        )
        .await?;
    }
    Ok(())
}

async fn put(fhir: &FhirService, kind: ResourceType, id: &str, body: Value) -> anyhow::Result<()> {
    fhir.update(&OrgId::default_org(), kind, id, body, None)
        .await
        .map(|_| ())
        .map_err(|e| anyhow::anyhow!("the demo data was refused: {}", e.diagnostics))
}

/// Each line typed is Ana's answer. The prompt is read on a thread of its own: a read
/// of the terminal cannot be cut short, and Ctrl-C must not wait for the next Enter.
async fn answers_from_the_prompt(engine: Engine) {
    let (typed, mut lines) = tokio::sync::mpsc::unbounded_channel();
    std::thread::spawn(move || {
        for line in std::io::stdin().lines() {
            let Ok(line) = line else { break };
            if typed.send(line).is_err() {
                break;
            }
        }
    });
    while let Some(line) = lines.recv().await {
        if line.trim().is_empty() {
            continue;
        }
        match engine.simulate_reply(ANA_PHONE, &line).await {
            Ok(Received::Kept { intent, .. }) => {
                println!("  ◀ Ana wrote \"{}\" (read as {intent})", line.trim());
                engine.nudge();
            }
            Ok(other) => println!("  ◀ not kept: {other:?}"),
            Err(error) => println!("  ◀ not kept: {error}"),
        }
    }
}
