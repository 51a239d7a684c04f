//! The crash test: `careloop serve` killed with SIGKILL in the middle of sending 10,000
//! text messages and started again on the same database loses none and sends none twice,
//! except messages whose outcome was unknown and that no status callback confirmed: those
//! are sent again, and counted.
//!
//! Twilio is a fake in this process that speaks the Messages API's wire format and, as
//! Twilio does, posts a signed status callback shortly after it takes each message. A
//! callback that finds careloop dead is lost, as it would be with Twilio.

#![expect(
    clippy::unwrap_used,
    reason = "a failed step should fail the test loudly"
)]

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use base64::Engine as _;
use careloop_channels::twilio::signature;
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_careloop");
const MESSAGES: usize = 10_000;
/// Patients per transaction Bundle, each with an appointment: 200 entries.
const PER_BUNDLE: usize = 100;
/// How many requests the fake has taken when careloop is killed: early on, and again
/// past the middle, once the first crash's messages have been sent again.
const KILL_AT: [usize; 2] = [3_000, 6_500];
const API_TOKEN: &str = "crash-test-token-0123456789";
const ACCOUNT_SID: &str = "AC00000000000000000000000000000001";
const AUTH_TOKEN: &str = "crash-test-twilio-auth-token";
const FROM: &str = "+16175550000";
/// Short, so that the messages of the killed process are looked at again within seconds
/// rather than the production two minutes and ten minutes.
const LEASE: &str = "2s";
const GRACE: &str = "3s";
/// How long Twilio takes before it reports a message delivered.
const CALLBACK_DELAY: Duration = Duration::from_millis(20);
/// One request in this many is slow to answer.
const SLOW_EVERY: usize = 16;
/// How long the fake holds the request that triggers a kill, so that the kill lands while
/// careloop waits for Twilio's answer.
const HOLD: Duration = Duration::from_millis(500);
/// A bound on every wait, so that a lost message fails the test instead of hanging it.
const DEADLINE: Duration = Duration::from_secs(900);
/// How long nothing may reach the fake before the test stops waiting for the messages it
/// has not seen: many times the lease and the grace, and a restart.
const QUIET: Duration = Duration::from_secs(60);
const POSTGRES_URL: &str = "CARELOOP_TEST_POSTGRES_URL";
const REQUIRE_POSTGRES: &str = "CARELOOP_TEST_REQUIRE_POSTGRES";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_while_sending_loses_nothing_and_doubles_only_what_it_counts_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("careloop.db").display());
    crash_test(dir.path(), &url, "SQLite").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_while_sending_loses_nothing_and_doubles_only_what_it_counts_on_postgres() {
    #[expect(clippy::disallowed_methods, reason = "tests read their own switches")]
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let Some(base) = env(POSTGRES_URL) else {
        assert!(
            env(REQUIRE_POSTGRES).is_none(),
            "{REQUIRE_POSTGRES} is set but {POSTGRES_URL} is not"
        );
        return;
    };
    // A schema of its own, so that the test runs beside others on one database.
    // Named after this process, unique among those running; one left by a process of
    // an earlier run is stale.
    let schema = format!("careloop_test_crash_{}", std::process::id());
    careloop_store_postgres::PgBackend::drop_schema(&base, &schema)
        .await
        .unwrap();
    careloop_store_postgres::PgBackend::create_schema(&base, &schema)
        .await
        .unwrap();
    // What is killed is careloop, not PostgreSQL: a commit need not wait for the disk to
    // survive that, and waiting for it made the test twice as slow.
    let separator = if base.contains('?') { '&' } else { '?' };
    let url =
        format!("{base}{separator}options[search_path]={schema}&options[synchronous_commit]=off");
    let analyzing = tokio::spawn(analyze_while_running(base.clone(), schema.clone()));
    let dir = tempfile::tempdir().unwrap();
    crash_test(dir.path(), &url, "PostgreSQL").await;
    analyzing.abort();
    careloop_store_postgres::PgBackend::drop_schema(&base, &schema)
        .await
        .unwrap();
}

/// Autovacuum may be off on a test cluster (it is on CI's): the tables of a new schema
/// are then never analyzed, and the planner, taking them for empty, looks search terms up
/// resource by resource, which grows with the square of the patients. This does what
/// autovacuum would: it analyzes the tables as they grow.
async fn analyze_while_running(url: String, schema: String) {
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .connect(&url)
        .await
        .unwrap();
    loop {
        tokio::time::sleep(Duration::from_secs(3)).await;
        let tables: Vec<String> =
            sqlx::query_scalar("SELECT tablename::text FROM pg_tables WHERE schemaname = $1")
                .bind(&schema)
                .fetch_all(&pool)
                .await
                .unwrap_or_default();
        for table in tables {
            let _ = sqlx::query(&format!("ANALYZE \"{schema}\".\"{table}\""))
                .execute(&pool)
                .await;
        }
    }
}

/// What the fake saw at a kill.
struct Kill {
    taken: usize,
    /// Requests the fake was still answering.
    open: usize,
}

async fn crash_test(dir: &Path, database_url: &str, database: &str) {
    let started = Instant::now();
    let bin = own_binary(dir);
    let twilio = FakeTwilio::start().await;
    let address = format!("http://127.0.0.1:{}", free_port());
    let env = server_env(database_url, &address, &twilio.base);
    let start = || tokio::task::block_in_place(|| Server::start(&bin, dir, &env));
    let mut server = start();
    let booked = Arc::new(AtomicUsize::new(0));
    let booking = tokio::spawn(book_everything(address.clone(), booked.clone()));
    let progress = tokio::spawn(report_progress(
        started,
        booked,
        twilio.shared.requests.clone(),
    ));
    let mut kills = Vec::new();
    for at in KILL_AT {
        wait_until(|| twilio.taken() >= at, "the fake to take its share").await;
        // The fake holds request number `at` for a while: careloop dies waiting for it.
        kills.push(Kill {
            taken: twilio.taken(),
            open: twilio.open(),
        });
        server.kill();
        server = start();
    }
    booking.await.unwrap();
    settle(&twilio, &address, &server).await;
    let elapsed = started.elapsed();
    progress.abort();
    let figures = check(&twilio, &address).await;
    eprintln!(
        "crash test on {database}: {MESSAGES} messages in {elapsed:.0?}; killed at {}; {figures}",
        kills
            .iter()
            .map(|k| format!("{} taken ({} being answered)", k.taken, k.open))
            .collect::<Vec<_>>()
            .join(" and "),
    );
}

/// Progress every half minute, for the output of a failed or slow run.
async fn report_progress(started: Instant, booked: Arc<AtomicUsize>, taken: Arc<AtomicUsize>) {
    loop {
        tokio::time::sleep(Duration::from_secs(30)).await;
        eprintln!(
            "{:>4.0?}: {} booked, {} taken",
            started.elapsed(),
            booked.load(Ordering::SeqCst),
            taken.load(Ordering::SeqCst)
        );
    }
}

/// Waits until every message arrived and nothing waits to be sent, or until nothing has
/// arrived for a while: the checks then say what is wrong.
async fn settle(twilio: &FakeTwilio, address: &str, server: &Server) {
    let client = reqwest::Client::new();
    let deadline = Instant::now() + DEADLINE;
    let mut last = (twilio.taken(), Instant::now());
    loop {
        let waiting = outbox(&client, address, "status=queued,sending,unknown").await;
        if last.0 != twilio.taken() {
            last = (twilio.taken(), Instant::now());
        }
        if (waiting.is_empty() && twilio.distinct() >= MESSAGES) || last.1.elapsed() > QUIET {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "not settled: the fake has {} of {MESSAGES} messages, {} wait; {}",
            twilio.distinct(),
            waiting.len(),
            server.log()
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    // The last callbacks land.
    tokio::time::sleep(CALLBACK_DELAY * 10).await;
}

/// What the crash cost, as the test reports it.
struct Figures {
    /// Messages the killed processes had claimed and not settled: each was sent again
    /// after an unknown outcome.
    in_flight: usize,
    /// Messages that reached the provider more than once.
    doubled: usize,
    /// Resends after an unknown outcome, as the outbox counts them.
    resent: i64,
    callbacks_refused: usize,
    callbacks_failed: usize,
    /// Messages the provider took whose delivery report was lost.
    unconfirmed: usize,
}

impl std::fmt::Display for Figures {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} in flight at the kills (claimed, not settled), {} received twice, \
             {} resent after unknown; {} callbacks found careloop down, {} were answered \
             with an error, {}{} messages left accepted without one",
            self.in_flight,
            self.doubled,
            self.resent,
            self.callbacks_refused,
            self.callbacks_failed,
            self.unconfirmed,
            if self.unconfirmed >= LIST_LIMIT {
                "+"
            } else {
                ""
            }
        )
    }
}

/// None lost: every patient got their message, made once. None twice, but those sent
/// again after an unknown outcome, at most once more for each time.
async fn check(twilio: &FakeTwilio, address: &str) -> Figures {
    let client = reqwest::Client::new();
    for (states, what) in [
        ("queued,sending,unknown", "still waiting to be sent"),
        ("failed,dead,blocked", "never delivered"),
    ] {
        let rows = outbox(&client, address, &format!("status={states}")).await;
        let first: Vec<String> = rows.iter().take(3).map(|m| m.to_string()).collect();
        assert!(
            rows.is_empty(),
            "{} messages {what}, as {first:?}",
            rows.len()
        );
    }
    let resends: HashMap<String, i64> = outbox(&client, address, "resent=true")
        .await
        .iter()
        .map(|m| {
            let count = m["resent_after_unknown_outcome"].as_i64().unwrap();
            (m["id"].as_str().unwrap().to_owned(), count)
        })
        .collect();
    assert!(
        resends.len() < LIST_LIMIT,
        "more resent messages than one listing shows"
    );
    let taken = twilio.by_message();
    let phones: HashSet<&str> = taken.values().map(|(to, _)| to.as_str()).collect();
    assert_eq!(taken.len(), MESSAGES, "messages the fake took");
    assert_eq!(phones.len(), MESSAGES, "patients who got a message");
    let mut doubled = 0;
    for (id, (_, times)) in taken.iter().filter(|(_, (_, times))| *times > 1) {
        let again = resends.get(id).copied().unwrap_or(0);
        assert!(
            i64::from(*times) <= 1 + again,
            "message {id} reached the provider {times} times but was counted resent {again} times"
        );
        doubled += 1;
    }
    let resent: i64 = resends.values().sum();
    assert!(usize::try_from(resent).unwrap() >= doubled);
    Figures {
        in_flight: resends.len(),
        doubled,
        resent,
        callbacks_refused: twilio.shared.callbacks_refused.load(Ordering::SeqCst),
        callbacks_failed: twilio.shared.callbacks_failed.load(Ordering::SeqCst),
        unconfirmed: outbox(&client, address, "status=accepted,sent").await.len(),
    }
}

fn server_env(database_url: &str, address: &str, twilio: &str) -> Vec<(String, String)> {
    // Texts are held at night: the quiet hours are set to an hour half a day away.
    #[expect(
        clippy::disallowed_methods,
        reason = "the test sets the server's quiet hours from the wall clock"
    )]
    let now = std::time::SystemTime::now();
    let seconds = now.duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    let hour = (seconds / 3600 + 12) % 24;
    let quiet = format!("{hour:02}:00-{:02}:00", (hour + 1) % 24);
    [
        ("CARELOOP_DATABASE_URL", database_url),
        ("CARELOOP_LISTEN", address.trim_start_matches("http://")),
        ("CARELOOP_PUBLIC_URL", address),
        ("CARELOOP_API_TOKEN", API_TOKEN),
        ("CARELOOP_TWILIO_ACCOUNT_SID", ACCOUNT_SID),
        ("CARELOOP_TWILIO_AUTH_TOKEN", AUTH_TOKEN),
        ("CARELOOP_TWILIO_FROM", FROM),
        ("CARELOOP_TWILIO_API_BASE", twilio),
        ("CARELOOP_OUTBOX_LEASE", LEASE),
        ("CARELOOP_UNKNOWN_GRACE", GRACE),
        ("CARELOOP_QUIET_HOURS", &quiet),
        ("RUST_LOG", "warn"),
    ]
    .iter()
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect()
}

/// `bin` in `dir`, with none of this process's settings.
fn careloop(bin: &Path, dir: &Path) -> Command {
    let mut command = Command::new(bin);
    command.current_dir(dir).env_remove("RUST_LOG");
    for (name, _) in std::env::vars().filter(|(k, _)| k.starts_with("CARELOOP_")) {
        command.env_remove(name);
    }
    command
}

/// A copy of the binary under test, so that every start runs the same one even if it is
/// rebuilt meanwhile; checked to know the settings the test relies on.
fn own_binary(dir: &Path) -> PathBuf {
    let bin = dir.join("careloop");
    std::fs::copy(BIN, &bin).unwrap();
    let refused = careloop(&bin, dir)
        .arg("migrate")
        .env("CARELOOP_OUTBOX_LEASE", "soon")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("CARELOOP_OUTBOX_LEASE: 'soon'"),
        "{BIN} does not know CARELOOP_OUTBOX_LEASE: {stderr}"
    );
    bin
}

/// A port free now, for a server that must come back on the same address (the status
/// callbacks are addressed to it).
fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// `careloop serve`, killed with SIGKILL when dropped.
struct Server {
    child: Child,
    log: PathBuf,
}

impl Server {
    fn start(bin: &Path, dir: &Path, env: &[(String, String)]) -> Self {
        let log = dir.join("serve.log");
        let stderr = std::fs::File::options()
            .create(true)
            .append(true)
            .open(&log)
            .unwrap();
        let mut child = careloop(bin, dir)
            .arg("serve")
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let stdout = child.stdout.take().unwrap();
        // Read to the end, so that the server never writes into a closed pipe.
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let _ = tx.send(line);
            }
        });
        let server = Self { child, log };
        loop {
            match rx.recv_timeout(Duration::from_secs(60)) {
                Ok(line) if line.contains("listening on") => return server,
                Ok(_) => {}
                Err(_) => panic!("careloop serve did not start; {}", server.log()),
            }
        }
    }

    fn kill(&mut self) {
        // SIGKILL: no handler runs, nothing is flushed or finished.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    fn log(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let tail: Vec<&str> = text.lines().rev().take(20).collect();
        format!(
            "the server's last log lines:\n{}",
            tail.into_iter().rev().collect::<Vec<_>>().join("\n")
        )
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

async fn wait_until(done: impl Fn() -> bool, what: &str) {
    let deadline = Instant::now() + DEADLINE;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Books every appointment as an EHR would, a Bundle at a time, sending a Bundle again
/// when careloop died before answering: conditional creates make that safe.
async fn book_everything(address: String, booked: Arc<AtomicUsize>) {
    let client = reqwest::Client::new();
    let (start, end) = in_thirty_days();
    let deadline = Instant::now() + DEADLINE;
    for first in (0..MESSAGES).step_by(PER_BUNDLE) {
        let bundle = bundle(first, &start, &end);
        loop {
            let response = client
                .post(format!("{address}/fhir"))
                .bearer_auth(API_TOKEN)
                .header("content-type", "application/fhir+json")
                .json(&bundle)
                .send()
                .await;
            match response {
                Ok(r) if r.status() == StatusCode::OK => {
                    booked.fetch_add(PER_BUNDLE, Ordering::SeqCst);
                    break;
                }
                Ok(r) if !r.status().is_server_error() => {
                    panic!("bundle refused: {} {}", r.status(), r.text().await.unwrap())
                }
                // Down, or dying: try again once it is back.
                _ => {
                    assert!(Instant::now() < deadline, "bundles kept failing");
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            }
        }
    }
}

/// A half-hour visit far enough ahead that only the booking confirmation falls due now.
fn in_thirty_days() -> (String, String) {
    #[expect(
        clippy::disallowed_methods,
        reason = "the appointments are booked relative to the wall clock"
    )]
    let now = jiff::Timestamp::now().round(jiff::Unit::Second).unwrap();
    let start = now
        .checked_add(jiff::SignedDuration::from_hours(30 * 24))
        .unwrap();
    let end = start
        .checked_add(jiff::SignedDuration::from_mins(30))
        .unwrap();
    (start.to_string(), end.to_string())
}

const SYSTEM: &str = "urn:careloop:crash-test";

fn bundle(first: usize, start: &str, end: &str) -> Value {
    let mut entries = Vec::new();
    for n in first..first + PER_BUNDLE {
        let patient = format!("urn:uuid:00000000-0000-4000-8000-{:012x}", 2 * n);
        let appointment = format!("urn:uuid:00000000-0000-4000-8000-{:012x}", 2 * n + 1);
        entries.push(json!({
            "fullUrl": patient,
            "resource": {
                "resourceType": "Patient",
                "identifier": [{"system": SYSTEM, "value": format!("p-{n}")}],
                "name": [{"family": format!("Patient{n}")}],
                "telecom": [{"system": "sms", "value": phone(n)}]
            },
            "request": {"method": "POST", "url": "Patient", "ifNoneExist": format!("identifier={SYSTEM}|p-{n}")}
        }));
        entries.push(json!({
            "fullUrl": appointment,
            "resource": {
                "resourceType": "Appointment",
                "identifier": [{"system": SYSTEM, "value": format!("a-{n}")}],
                "status": "booked",
                "start": start,
                "end": end,
                "participant": [{"actor": {"reference": patient}, "status": "needs-action"}]
            },
            "request": {"method": "POST", "url": "Appointment", "ifNoneExist": format!("identifier={SYSTEM}|a-{n}")}
        }));
    }
    json!({"resourceType": "Bundle", "type": "transaction", "entry": entries})
}

/// A distinct, valid number for each patient.
fn phone(n: usize) -> String {
    format!("+1617555{n:04}")
}

/// The most rows the outbox API lists at once.
const LIST_LIMIT: usize = 1000;

/// The outbox rows the API lists for `query`, at most [`LIST_LIMIT`].
async fn outbox(client: &reqwest::Client, address: &str, query: &str) -> Vec<Value> {
    let listing: Value = client
        .get(format!(
            "{address}/api/v1/outbox?{query}&limit={LIST_LIMIT}"
        ))
        .bearer_auth(API_TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    listing["messages"].as_array().unwrap().clone()
}

/// A local Twilio: it takes messages as the Messages API does (basic auth, form fields,
/// 201 with a message resource), notes each by careloop's own id (from its
/// StatusCallback URL), and reports it delivered shortly after.
struct FakeTwilio {
    base: String,
    shared: Shared,
    server: tokio::task::JoinHandle<()>,
}

#[derive(Clone)]
struct Shared {
    /// careloop's message id: the number it went to, and how many times it came.
    taken: Arc<Mutex<HashMap<String, (String, u32)>>>,
    requests: Arc<AtomicUsize>,
    open: Arc<AtomicUsize>,
    /// Callbacks that found careloop down.
    callbacks_refused: Arc<AtomicUsize>,
    /// Callbacks careloop answered with an error.
    callbacks_failed: Arc<AtomicUsize>,
    client: reqwest::Client,
}

impl FakeTwilio {
    async fn start() -> Self {
        let shared = Shared {
            taken: Arc::default(),
            requests: Arc::default(),
            open: Arc::default(),
            callbacks_refused: Arc::default(),
            callbacks_failed: Arc::default(),
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .unwrap(),
        };
        let app = Router::new()
            .route(
                "/2010-04-01/Accounts/{account}/Messages.json",
                post(create_message),
            )
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let server = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Self {
            base,
            shared,
            server,
        }
    }

    /// Requests taken, duplicates included.
    fn taken(&self) -> usize {
        self.shared.requests.load(Ordering::SeqCst)
    }

    fn open(&self) -> usize {
        self.shared.open.load(Ordering::SeqCst)
    }

    fn distinct(&self) -> usize {
        self.shared.taken.lock().unwrap().len()
    }

    fn by_message(&self) -> HashMap<String, (String, u32)> {
        self.shared.taken.lock().unwrap().clone()
    }
}

impl Drop for FakeTwilio {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// Counts a request as being answered until it is answered or its client goes away.
struct Answering(Arc<AtomicUsize>);

impl Drop for Answering {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

async fn create_message(
    State(shared): State<Shared>,
    UrlPath(account): UrlPath<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let expected = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{ACCOUNT_SID}:{AUTH_TOKEN}"))
    );
    let authorized =
        headers.get("authorization").and_then(|v| v.to_str().ok()) == Some(expected.as_str());
    if !authorized || account != ACCOUNT_SID {
        return error(401, 20003, "Authenticate");
    }
    if headers.get("content-type").and_then(|v| v.to_str().ok())
        != Some("application/x-www-form-urlencoded")
    {
        return error(400, 20001, "Invalid content type");
    }
    let form: Vec<(String, String)> = url::form_urlencoded::parse(&body)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let value = |name: &str| {
        form.iter()
            .find(|(k, v)| k == name && !v.is_empty())
            .map(|(_, v)| v.clone())
    };
    let (Some(to), Some(_), Some(from), Some(callback)) = (
        value("To"),
        value("Body"),
        value("From"),
        value("StatusCallback"),
    ) else {
        return error(400, 21619, "To, Body, From and StatusCallback are expected");
    };
    let Some(id) = url::Url::parse(&callback).ok().and_then(|u| {
        u.query_pairs()
            .find(|(k, _)| k == "m")
            .map(|(_, v)| v.into_owned())
    }) else {
        return error(400, 21609, "the StatusCallback names no message");
    };
    shared.open.fetch_add(1, Ordering::SeqCst);
    let _answering = Answering(shared.open.clone());
    // Taken from here on: Twilio sends what it read, whether or not its answer arrives.
    let n = shared.requests.fetch_add(1, Ordering::SeqCst) + 1;
    shared
        .taken
        .lock()
        .unwrap()
        .entry(id)
        .or_insert_with(|| (to.clone(), 0))
        .1 += 1;
    let sid = format!("SM{n:032x}");
    tokio::spawn(report_delivered(
        shared.clone(),
        callback,
        sid.clone(),
        from,
        to.clone(),
    ));
    if KILL_AT.contains(&n) {
        tokio::time::sleep(HOLD).await;
    } else if n % SLOW_EVERY == 0 {
        tokio::time::sleep(Duration::from_millis(5 + (n % 11) as u64)).await;
    }
    (
        StatusCode::CREATED,
        axum::Json(json!({
            "sid": sid,
            "account_sid": ACCOUNT_SID,
            "to": to,
            "from": FROM,
            "messaging_service_sid": null,
            "status": "queued",
            "num_segments": "1",
            "num_media": "0",
            "direction": "outbound-api",
            "api_version": "2010-04-01",
            "error_code": null,
            "error_message": null,
            "uri": format!("/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/{sid}.json"),
        })),
    )
        .into_response()
}

/// Posts the signed `delivered` callback, once, as Twilio does.
async fn report_delivered(shared: Shared, url: String, sid: String, from: String, to: String) {
    tokio::time::sleep(CALLBACK_DELAY).await;
    let params: Vec<(String, String)> = [
        ("MessageSid", sid.as_str()),
        ("SmsSid", sid.as_str()),
        ("MessageStatus", "delivered"),
        ("SmsStatus", "delivered"),
        ("AccountSid", ACCOUNT_SID),
        ("From", from.as_str()),
        ("To", to.as_str()),
        ("ApiVersion", "2010-04-01"),
    ]
    .iter()
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect();
    let signature = signature::sign(AUTH_TOKEN, &url, &params);
    let body = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(&params)
        .finish();
    let answered = shared
        .client
        .post(&url)
        .header("content-type", "application/x-www-form-urlencoded")
        .header("x-twilio-signature", signature)
        .body(body)
        .send()
        .await;
    match answered {
        Ok(r) if r.status().is_success() => {}
        Ok(_) => {
            shared.callbacks_failed.fetch_add(1, Ordering::SeqCst);
        }
        Err(_) => {
            shared.callbacks_refused.fetch_add(1, Ordering::SeqCst);
        }
    }
}

fn error(status: u16, code: i64, message: &str) -> Response {
    let status = StatusCode::from_u16(status).unwrap();
    (
        status,
        axum::Json(json!({
            "code": code,
            "message": message,
            "more_info": format!("https://www.twilio.com/docs/errors/{code}"),
            "status": status.as_u16(),
        })),
    )
        .into_response()
}
