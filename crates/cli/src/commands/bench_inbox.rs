//! `careloop bench-inbox`: fills a database of its own with N patients, each with a
//! conversation (states, priorities, departments and waits spread as a busy clinic's
//! are), serves the inbox on this machine, signs a person in, and times the queue pages
//! staff open most: every open conversation, the urgent ones, an agent's departments,
//! the unassigned, and a search by name. It prints each page's server time (request to
//! last byte, on localhost) as percentiles.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use careloop_domain::business_hours::Priority;
use careloop_domain::conversation::State;
use careloop_domain::staff::{DepartmentKey, NewPassword, Role};
use careloop_domain::{OrgId, ResourceId};
use careloop_store::conversations::{Author, ConversationRecord, Preview};
use careloop_store::staff::NewStaff;
use careloop_store::{Change, MasterKey};
use careloop_web::{AppState, router};
use jiff::{SignedDuration, Timestamp};
use serde_json::json;

use crate::bench::report::{Latency, seconds};
use crate::bench::scratch::Scratch;
use crate::bench::seed::phone;
use crate::clock::SystemClock;
use crate::commands::serve::shutdown;
use crate::config::Config;
use crate::open;

/// Patients a transaction bundle writes, and conversations a commit.
const PATIENTS_PER_BUNDLE: u64 = 200;
const CONVERSATIONS_PER_COMMIT: usize = 500;
/// Requests timed for each page, after a few that warm the caches.
const WARM_UP: usize = 5;
/// Patients written between two refreshes of the planner's statistics.
const ANALYZE_EVERY: u64 = 10_000;
const PASSWORD: &str = "bench password, long enough";
const DEPARTMENTS: [(&str, &str); 3] = [
    ("front-desk", "Front desk"),
    ("nursing", "Nursing"),
    ("billing", "Billing"),
];
const GIVEN: [&str; 10] = [
    "Ana", "Ben", "Chloé", "David", "Elena", "Farid", "Grace", "Hugo", "Ines", "José",
];
const FAMILY: [&str; 20] = [
    "Garcia", "Smith", "Nguyen", "Müller", "Okafor", "Rossi", "Kim", "Silva", "Cohen", "Dubois",
    "Patel", "Ivanova", "Khan", "Lopez", "Tanaka", "Brown", "Haddad", "Novak", "Reyes", "Wong",
];

#[derive(clap::Args)]
pub struct BenchInboxArgs {
    /// `sqlite` (a new file in a temporary folder) or a PostgreSQL URL (a new schema in
    /// that database); removed at the end either way.
    #[arg(long, default_value = "sqlite", value_name = "sqlite|URL")]
    database: String,
    /// Patients, one conversation each.
    #[arg(long, default_value_t = 100_000, value_name = "N",
          value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    conversations: u64,
    /// Requests timed for each page.
    #[arg(long, default_value_t = 50, value_name = "R",
          value_parser = clap::value_parser!(u64).range(1..=10_000))]
    requests: u64,
}

pub async fn run(config: Config, args: BenchInboxArgs) -> anyhow::Result<()> {
    let (scratch, database) = Scratch::create(&args.database).await?;
    let result = tokio::select! {
        result = measure(config, database, &scratch, &args) => result,
        () = shutdown() => Err(anyhow::anyhow!("interrupted")),
    };
    let removed = scratch.remove().await;
    result?;
    removed
}

async fn measure(
    mut config: Config,
    database: crate::config::Database,
    scratch: &Scratch,
    args: &BenchInboxArgs,
) -> anyhow::Result<()> {
    config.database = database;
    config.twilio = None;
    config.smtp = None;
    let master = MasterKey::generate().context("no random numbers for a master key")?;
    let store = open::store(&config, &master, Arc::new(SystemClock)).await?;
    let engine = open::engine(&config, store.clone())?;
    let org = OrgId::default_org();
    let n = args.conversations;
    println!(
        "bench-inbox: writing {n} patients and their conversations on {}",
        scratch.kind()
    );
    let started = Instant::now();
    for (key, name) in DEPARTMENTS {
        store
            .add_department(&org, &DepartmentKey::parse(key)?, name, None)
            .await?;
    }
    let password = NewPassword::parse(PASSWORD.to_owned())?;
    for (email, role, departments) in [
        ("admin@bench.example", Role::Admin, Vec::new()),
        (
            "agent@bench.example",
            Role::Agent,
            vec![DepartmentKey::parse("front-desk")?],
        ),
    ] {
        store
            .add_staff(
                &org,
                &NewStaff {
                    email,
                    role,
                    departments: &departments,
                    password: &password,
                },
            )
            .await?;
    }
    let fhir = open::fhir(&config, store.clone());
    let mut first = 0;
    while first < n {
        let count = PATIENTS_PER_BUNDLE.min(n - first);
        fhir.transaction(&org, patients(first, count))
            .await
            .map_err(|e| anyhow::anyhow!("a bench patient was refused: {}", e.diagnostics))?;
        first += count;
        // As autovacuum would: a growing table the planner thinks empty is read whole.
        if first.is_multiple_of(ANALYZE_EVERY) {
            scratch.analyze().await?;
        }
    }
    scratch.analyze().await?;
    let now = store.now();
    let ids: Vec<u64> = (0..n).collect();
    for (batch, chunk) in ids.chunks(CONVERSATIONS_PER_COMMIT).enumerate() {
        let changes = chunk
            .iter()
            .map(|i| conversation(*i, now))
            .collect::<anyhow::Result<Vec<_>>>()?;
        store.commit(&org, &changes).await?;
        if batch % 20 == 19 {
            scratch.analyze().await?;
        }
    }
    scratch.analyze().await?;
    println!("bench-inbox: seeded in {}", seconds(started.elapsed()));

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let state = AppState::new(engine, &SystemClock, &base, "bench-api-token-not-used");
    let server = tokio::spawn(async move { axum::serve(listener, router(state)).await });
    let admin = sign_in(&base, "admin@bench.example").await?;
    let agent = sign_in(&base, "agent@bench.example").await?;
    let pages: [(&str, &str, &str); 6] = [
        ("every open conversation (admin)", "/inbox", &admin),
        ("urgent, open (admin)", "/inbox?view=urgent", &admin),
        ("an agent's departments, open", "/inbox", &agent),
        ("unassigned, open (admin)", "/inbox?view=unassigned", &admin),
        (
            "nursing, any state (admin)",
            "/inbox?state=any&department=nursing",
            &admin,
        ),
        (
            "search by name: garcia (admin)",
            "/inbox?q=garcia&state=any",
            &admin,
        ),
    ];
    let client = reqwest::Client::new();
    for (label, path, cookie) in pages {
        let mut samples = Vec::new();
        let total = WARM_UP + usize::try_from(args.requests).unwrap_or(usize::MAX);
        let mut rows = 0;
        for round in 0..total {
            let sent = Instant::now();
            let response = client
                .get(format!("{base}{path}"))
                .header("cookie", cookie)
                .send()
                .await?;
            anyhow::ensure!(response.status() == 200, "{path}: {}", response.status());
            let html = response.text().await?;
            let took = sent.elapsed();
            if round >= WARM_UP {
                samples.push(took);
            }
            rows = html.matches("<tr class=\"priority-").count();
        }
        let latency = Latency::of(&mut samples).context("no samples")?;
        println!(
            "bench-inbox: {label}: {rows} {}; p50 {} ms, p90 {} ms, p99 {} ms, max {} ms over {} requests",
            if rows == 1 { "row" } else { "rows" },
            ms(latency.p50),
            ms(latency.p90),
            ms(latency.p99),
            ms(latency.max),
            samples.len()
        );
    }
    server.abort();
    Ok(())
}

fn ms(duration: Duration) -> String {
    format!("{:.1}", duration.as_secs_f64() * 1000.0)
}

/// A transaction bundle writing patients `first..first + count`, each under a known id.
fn patients(first: u64, count: u64) -> serde_json::Value {
    let entries: Vec<_> = (first..first + count)
        .map(|i| {
            let given = GIVEN[usize::try_from(i).unwrap_or(0) % GIVEN.len()];
            let family = FAMILY[usize::try_from(i / 7).unwrap_or(0) % FAMILY.len()];
            json!({
                "resource": {
                    "resourceType": "Patient",
                    "id": format!("bench-{i}"),
                    "name": [{"given": [given], "family": family}],
                    "telecom": [{"system": "sms", "value": phone(i), "use": "mobile"}]
                },
                "request": {"method": "PUT", "url": format!("Patient/bench-{i}")}
            })
        })
        .collect();
    json!({"resourceType": "Bundle", "type": "transaction", "entry": entries})
}

/// Patient `i`'s conversation: mostly resolved, a third open, a few pending or snoozed;
/// one in fifty urgent; spread over the departments and the general queue, waits of up
/// to two days.
fn conversation(i: u64, now: Timestamp) -> anyhow::Result<Change> {
    let patient = ResourceId::parse(&format!("bench-{i}"))?;
    let mix = i.wrapping_mul(2_654_435_761) % 100;
    let waited = SignedDuration::from_mins(i64::try_from(i % 2880).unwrap_or(0));
    let at = now.checked_sub(waited)?;
    let mut record = ConversationRecord::new(
        patient,
        at,
        Preview::new(
            Author::Patient,
            "Can I move my appointment to next week, please?",
        ),
    );
    let c = &mut record.conversation;
    c.state = match mix {
        0..=59 => State::Resolved,
        60..=64 => State::Pending,
        65..=66 => State::Snoozed {
            until: now.checked_add(SignedDuration::from_hours(4))?,
        },
        _ => State::Open,
    };
    if matches!(c.state, State::Open) {
        c.waiting_since = Some(at);
    }
    c.priority = match i % 50 {
        7 => Priority::Urgent,
        0..=5 => Priority::High,
        6..=45 => Priority::Normal,
        _ => Priority::Low,
    };
    c.department = match i % 4 {
        0 => None,
        d => Some(DepartmentKey::parse(
            DEPARTMENTS[usize::try_from(d - 1).unwrap_or(0)].0,
        )?),
    };
    record.last_channel = Some(if i.is_multiple_of(3) { "email" } else { "sms" }.to_owned());
    Ok(Change::SaveConversation(record))
}

/// Signs `email` in through the form, as a browser would; returns the session cookie.
async fn sign_in(base: &str, email: &str) -> anyhow::Result<String> {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let form = client.get(format!("{base}/inbox/login")).send().await?;
    let login = cookie(&form, "careloop_login").context("no login cookie")?;
    let signed = client
        .post(format!("{base}/inbox/login"))
        .header("cookie", format!("careloop_login={login}"))
        .form(&[("email", email), ("password", PASSWORD), ("csrf", &login)])
        .send()
        .await?;
    let session = cookie(&signed, "careloop_session").context("the bench could not sign in")?;
    Ok(format!("careloop_session={session}"))
}

fn cookie(response: &reqwest::Response, name: &str) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| v.strip_prefix(&format!("{name}="))?.split(';').next())
        .map(str::to_owned)
}
