//! The binary as a newcomer meets it: a zero-configuration start in an empty folder, and
//! one readable line for each bad setting.

#![expect(
    clippy::unwrap_used,
    reason = "a failed step should fail the test loudly"
)]

use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_careloop");

fn careloop(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut command = Command::new(BIN);
    command.current_dir(dir).args(args).env_remove("RUST_LOG");
    for (name, _) in std::env::vars().filter(|(k, _)| k.starts_with("CARELOOP_")) {
        command.env_remove(name);
    }
    command.envs(env.iter().copied());
    command
}

/// Starts `careloop serve` and returns it with the address it printed.
fn serve(dir: &Path, env: &[(&str, &str)]) -> (Child, String, Vec<String>) {
    let mut env = env.to_vec();
    env.push(("CARELOOP_LISTEN", "127.0.0.1:0"));
    let mut child = careloop(dir, &["serve"], &env)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut printed = Vec::new();
    let address = loop {
        let line = lines.next().unwrap().unwrap();
        printed.push(line.clone());
        if let Some(rest) = line.split("listening on ").nth(1) {
            break rest.to_owned();
        }
    };
    // Up to the last line of the banner: the reader closing earlier would break the
    // server's stdout.
    loop {
        let line = lines.next().unwrap().unwrap();
        let last = line.starts_with("  email:");
        printed.push(line);
        if last {
            break;
        }
    }
    (child, address, printed)
}

struct Stop(Child);

impl Drop for Stop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn serve_starts_with_no_configuration() {
    let dir = tempfile::tempdir().unwrap();
    let (child, address, printed) = serve(dir.path(), &[]);
    let _stop = Stop(child);
    let data = dir.path().join("careloop-data");
    for (file, mode) in [("api-token", 0o600), ("master.key", 0o600)] {
        let meta = std::fs::metadata(data.join(file)).unwrap();
        assert_eq!(meta.permissions().mode() & 0o777, mode, "{file}");
    }
    assert!(data.join("careloop.db").exists());
    assert!(
        printed
            .iter()
            .any(|l| l.contains("API token:  in ./careloop-data/api-token")),
        "{printed:?}"
    );
    let token = std::fs::read_to_string(data.join("api-token")).unwrap();
    let client = reqwest::Client::new();
    let health = client
        .get(format!("{address}/readyz"))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    let patients = client
        .get(format!("{address}/fhir/Patient"))
        .bearer_auth(token.trim())
        .send()
        .await
        .unwrap();
    assert_eq!(patients.status(), 200);
}

/// Runs a command that must succeed, and returns its stdout.
fn success(dir: &Path, args: &[&str]) -> String {
    let output = careloop(dir, args, &[]).output().unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// The API token a server started in `dir` wrote.
fn token_in(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("careloop-data/api-token"))
        .unwrap()
        .trim()
        .to_owned()
}

/// Creates a patient through the server's FHIR API.
async fn put_patient(address: &str, token: &str, id: &str, body: &str) {
    let created = reqwest::Client::new()
        .put(format!("{address}/fhir/Patient/{id}"))
        .bearer_auth(token)
        .header("content-type", "application/fhir+json")
        .body(body.to_owned())
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
}

/// Runs a command that must fail, and returns its stderr.
fn failure(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> String {
    let output = careloop(dir, args, env).output().unwrap();
    assert!(!output.status.success());
    String::from_utf8(output.stderr).unwrap()
}

#[test]
fn a_bad_setting_stops_start_up_with_one_line_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            "CARELOOP_LISTEN",
            "nowhere",
            "CARELOOP_LISTEN: 'nowhere' is not an address",
        ),
        (
            "CARELOOP_MASTER_KEY",
            "dG9vIHNob3J0",
            "CARELOOP_MASTER_KEY: expected 32 bytes once decoded, got 9",
        ),
        (
            "CARELOOP_DATABASE_URL",
            "mysql://db/careloop",
            "CARELOOP_DATABASE_URL: expected sqlite://",
        ),
        (
            "CARELOOP_PUBLIC_URL",
            "clinic.example",
            "CARELOOP_PUBLIC_URL: 'clinic.example' is not a URL",
        ),
        (
            "CARELOOP_DEFAULT_REGION",
            "XX",
            "CARELOOP_DEFAULT_REGION: 'XX'",
        ),
    ];
    for (variable, value, expected) in cases {
        let stderr = failure(dir.path(), &["serve"], &[(variable, value)]);
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(stderr.contains(expected), "{stderr}");
        assert!(
            !stderr.contains("panicked") && !stderr.contains("backtrace"),
            "{stderr}"
        );
    }
    assert!(
        !dir.path().join("careloop-data").exists(),
        "a refused start writes nothing"
    );
}

#[test]
fn email_settings_are_checked_at_start_up() {
    let dir = tempfile::tempdir().unwrap();
    let from = ("CARELOOP_EMAIL_FROM", "Clinic <noreply@clinic.example>");
    let cases: [(&[(&str, &str)], &str); 6] = [
        (
            &[("CARELOOP_SMTP_URL", "smtp://127.0.0.1:2525")],
            "CARELOOP_EMAIL_FROM: is required with CARELOOP_SMTP_URL",
        ),
        (
            &[from],
            "CARELOOP_EMAIL_FROM: is set but CARELOOP_SMTP_URL is not",
        ),
        (
            &[("CARELOOP_SMTP_URL", "mail.example"), from],
            "CARELOOP_SMTP_URL: not a URL",
        ),
        (
            &[
                ("CARELOOP_SMTP_URL", "pop3://careloop:hunter2@mail.example"),
                from,
            ],
            "CARELOOP_SMTP_URL: the scheme must be smtp or smtps, not 'pop3'",
        ),
        (
            &[
                (
                    "CARELOOP_SMTP_URL",
                    "smtp://careloop:hunter2@mail.example?tls=none",
                ),
                from,
            ],
            "CARELOOP_SMTP_URL: a password would cross the network unencrypted",
        ),
        (
            &[
                ("CARELOOP_SMTP_URL", "smtps://careloop:hunter2@mail.example"),
                ("CARELOOP_EMAIL_FROM", "the clinic"),
            ],
            "CARELOOP_EMAIL_FROM: 'the clinic' is not an email address",
        ),
    ];
    for (env, expected) in cases {
        let stderr = failure(dir.path(), &["serve"], env);
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(stderr.contains(expected), "{stderr}");
        assert!(!stderr.contains("hunter2"), "{stderr}");
    }
    assert!(
        !dir.path().join("careloop-data").exists(),
        "a refused start writes nothing"
    );
}

#[test]
fn a_port_in_use_is_one_line_too() {
    let dir = tempfile::tempdir().unwrap();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = taken.local_addr().unwrap().to_string();
    let stderr = failure(dir.path(), &["serve"], &[("CARELOOP_LISTEN", &address)]);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains(&format!("CARELOOP_LISTEN: cannot listen on {address}")),
        "{stderr}"
    );
}

#[test]
fn another_master_key_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let migrate = careloop(dir.path(), &["migrate"], &[]).output().unwrap();
    assert!(migrate.status.success());
    let (child, _, _) = serve(dir.path(), &[]);
    drop(Stop(child));
    let other = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
    let stderr = failure(
        dir.path(),
        &["serve"],
        &[
            ("CARELOOP_MASTER_KEY", other),
            ("CARELOOP_LISTEN", "127.0.0.1:0"),
        ],
    );
    assert!(
        stderr.contains(
            "CARELOOP_MASTER_KEY: this is not the master key the database was created with"
        ),
        "{stderr}"
    );
}

#[test]
fn version_and_help() {
    let version = careloop(Path::new("."), &["--version"], &[])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8(version.stdout).unwrap().trim(),
        format!("careloop {}", env!("CARGO_PKG_VERSION"))
    );
    for command in ["serve", "migrate", "patient"] {
        let help = careloop(Path::new("."), &[command, "--help"], &[])
            .output()
            .unwrap();
        assert!(help.status.success(), "{command}");
        assert!(
            String::from_utf8(help.stdout)
                .unwrap()
                .contains("Usage: careloop"),
            "{command}"
        );
    }
}

#[tokio::test]
async fn patient_erase_removes_a_patient_for_good() {
    let dir = tempfile::tempdir().unwrap();
    let (child, address, _) = serve(dir.path(), &[]);
    let stop = Stop(child);
    let patient = r#"{"resourceType": "Patient", "id": "p-7", "name": [{"family": "Lindqvist"}]}"#;
    put_patient(&address, &token_in(dir.path()), "p-7", patient).await;
    drop(stop);
    assert!(success(dir.path(), &["patient", "erase", "p-7"]).contains("erased Patient/p-7"));
    let stderr = failure(dir.path(), &["patient", "erase", "p-7"], &[]);
    assert_eq!(stderr.trim(), "careloop: Patient/p-7 is not known");
    // The erasure is in the audit log, once, and the chain holds.
    assert_eq!(
        success(dir.path(), &["audit", "verify"]).trim(),
        "careloop: the audit log holds: 1 entries, each linked to the one before"
    );
    // Changed behind the database's guard, the entry is named.
    let url = format!(
        "sqlite://{}",
        dir.path().join("careloop-data/careloop.db").display()
    );
    let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
    let (actor, action, subject): (String, String, String) =
        sqlx::query_as("SELECT actor, action, subject FROM audit_log WHERE seq = 1")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!((actor.as_str(), action.as_str()), ("cli", "patient.erase"));
    assert_eq!(subject, "Patient/p-7");
    for sql in [
        "DROP TRIGGER audit_log_no_update",
        "UPDATE audit_log SET actor = 'staff:someone' WHERE seq = 1",
    ] {
        sqlx::query(sql).execute(&pool).await.unwrap();
    }
    pool.close().await;
    let stderr = failure(dir.path(), &["audit", "verify"], &[]);
    assert_eq!(
        stderr.trim(),
        "careloop: audit entry 1 does not match its hash: it was changed after it was written"
    );
}

/// The lines a child prints, read on a thread so a test can wait with a deadline.
fn lines_of(stdout: std::process::ChildStdout) -> std::sync::mpsc::Receiver<String> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

/// Waits for a line containing `text`, returning every line read on the way.
fn wait_for(lines: &std::sync::mpsc::Receiver<String>, text: &str) -> Vec<String> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let mut seen = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        match lines.recv_timeout(left) {
            Ok(line) => {
                let found = line.contains(text);
                seen.push(line);
                if found {
                    return seen;
                }
            }
            Err(_) => panic!("no line with {text:?}; printed:\n{}", seen.join("\n")),
        }
    }
}

#[test]
fn demo_runs_with_nothing_set_up_and_takes_answers_at_the_prompt() {
    use std::io::Write as _;
    let dir = tempfile::tempdir().unwrap();
    let tmp = dir.path().to_str().unwrap().to_owned();
    let mut child = careloop(
        dir.path(),
        &["demo"],
        &[("CARELOOP_LISTEN", "127.0.0.1:0"), ("TMPDIR", &tmp)],
    )
    .stdin(Stdio::piped())
    .stdout(Stdio::piped())
    .stderr(Stdio::null())
    .spawn()
    .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let lines = lines_of(child.stdout.take().unwrap());
    let stop = Stop(child);
    let banner = wait_for(&lines, "Ctrl-C stops").join("\n");
    assert!(
        banner.contains("careloop demo on http://127.0.0.1:"),
        "{banner}"
    );
    assert!(banner.contains("/api/v1/sandbox/replies"), "{banner}");
    // Both bookings are confirmed at once, Luis's in Spanish.
    let shown = wait_for(&lines, "su cita queda reservada").join("\n");
    assert!(shown.contains("▶ text to +16175550102"), "{shown}");
    writeln!(stdin, "C").unwrap();
    let answered = wait_for(&lines, "is confirmed").join("\n");
    assert!(
        answered.contains("Ana wrote \"C\" (read as confirm)"),
        "{answered}"
    );
    // Ctrl-C stops it, though the prompt is still open.
    let mut stop = stop;
    let interrupted = Command::new("kill")
        .args(["-INT", &stop.0.id().to_string()])
        .status()
        .unwrap();
    assert!(interrupted.success());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let exited = loop {
        if let Some(status) = stop.0.try_wait().unwrap() {
            break Some(status);
        }
        if std::time::Instant::now() > deadline {
            break None;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    assert!(exited.is_some_and(|s| s.success()), "{exited:?}");
    drop(stdin);
}

#[tokio::test]
async fn simulate_reply_answers_as_the_patient() {
    let dir = tempfile::tempdir().unwrap();
    // Where no careloop runs, nothing is created.
    let stderr = failure(
        dir.path(),
        &["simulate", "reply", "--to", "+16175550101", "--text", "C"],
        &[],
    );
    assert!(stderr.contains("there is no careloop data in"), "{stderr}");
    assert!(!dir.path().join("careloop-data").exists());
    success(dir.path(), &["migrate"]);
    let stderr = failure(
        dir.path(),
        &["simulate", "reply", "--to", "+16175550101", "--text", "C"],
        &[],
    );
    assert_eq!(
        stderr.trim(),
        "careloop: no patient has this phone number or email address"
    );
    let (child, address, _) = serve(dir.path(), &[]);
    let stop = Stop(child);
    let token = token_in(dir.path());
    let patient = r#"{"resourceType": "Patient", "id": "p-1", "telecom": [{"system": "phone", "value": "+1 617 555 0101"}]}"#;
    put_patient(&address, &token, "p-1", patient).await;
    let client = reqwest::Client::new();
    let answered = success(
        dir.path(),
        &[
            "simulate",
            "reply",
            "--to",
            "+16175550101",
            "--text",
            "HELP",
        ],
    );
    assert!(answered.contains("read as 'help'"), "{answered}");
    // The running server sends careloop's answer.
    let mut delivered = false;
    for _ in 0..100 {
        let bundle: serde_json::Value = client
            .get(format!("{address}/fhir/Communication?patient=p-1"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        delivered = bundle["entry"].as_array().into_iter().flatten().any(|e| {
            e["resource"]["payload"][0]["contentString"]
                .as_str()
                .is_some_and(|t| t.contains("Msg & data rates may apply"))
                && e["resource"]["status"] == "completed"
        });
        if delivered {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(delivered, "the answer to HELP was not delivered");
    drop(stop);
    // With texts going to Twilio, a made-up answer is refused.
    let stderr = failure(
        dir.path(),
        &["simulate", "reply", "--to", "+16175550101", "--text", "C"],
        &[
            (
                "CARELOOP_TWILIO_ACCOUNT_SID",
                "AC00000000000000000000000000000001",
            ),
            ("CARELOOP_TWILIO_AUTH_TOKEN", "secret"),
            ("CARELOOP_TWILIO_FROM", "+16175550000"),
        ],
    );
    assert!(stderr.contains("only on the sandbox"), "{stderr}");
}

/// Runs `careloop bench` with `args` (its temporary files in `dir`) and returns the
/// result line.
fn bench(dir: &Path, args: &[&str]) -> String {
    let stdout = bench_output(dir, args);
    let result: Vec<&str> = stdout.lines().filter(|l| l.contains(" msg/s")).collect();
    assert_eq!(result.len(), 1, "{stdout}");
    result[0].to_owned()
}

/// Runs `careloop bench` with `args` and returns all it printed.
fn bench_output(dir: &Path, args: &[&str]) -> String {
    let args = [&["bench"], args].concat();
    let output = careloop(dir, &args, &[("TMPDIR", dir.to_str().unwrap())])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// The number `text` prints between `before` and `after`.
fn figure(text: &str, before: &str, after: &str) -> f64 {
    text.split(before)
        .nth(1)
        .and_then(|rest| rest.split(after).next())
        .and_then(|number| number.parse().ok())
        .unwrap_or_else(|| panic!("no figure after {before:?} in {text}"))
}

#[test]
fn bench_sends_every_reminder_once_and_reports_the_figures() {
    let dir = tempfile::tempdir().unwrap();
    let line = bench(dir.path(), &["--appointments", "20"]);
    assert!(
        line.starts_with(
            "bench: sqlite, 1 worker, 20 appointments all due at once: 20 messages in "
        ),
        "{line}"
    );
    assert!(figure(&line, " = ", " msg/s") > 0.0, "{line}");
    assert!(
        line.contains("due-to-sent p50 ") && line.contains(", p99 "),
        "{line}"
    );
    if cfg!(target_os = "linux") {
        assert!(
            line.contains(" MiB sending, ") && !line.contains("unavailable"),
            "{line}"
        );
    }
    let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert!(left.is_empty(), "the bench's database is removed: {left:?}");

    let spread = bench(dir.path(), &["--appointments", "20", "--rate", "200"]);
    assert!(
        spread.contains("20 appointments due at 200/s: 20 messages in "),
        "{spread}"
    );
}

#[test]
fn bench_inbox_times_every_queue_page_and_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let output = careloop(
        dir.path(),
        &["bench-inbox", "--conversations", "120", "--requests", "2"],
        &[
            ("TMPDIR", dir.path().to_str().unwrap()),
            ("RUST_LOG", "warn"),
        ],
    )
    .output()
    .unwrap();
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(output.status.success(), "{stdout}");
    let pages: Vec<&str> = stdout.lines().filter(|l| l.contains("; p50 ")).collect();
    assert_eq!(pages.len(), 6, "{stdout}");
    // Every page finds conversations: a page that found none would time nothing.
    assert!(pages.iter().all(|p| !p.contains(": 0 rows;")), "{stdout}");
    let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert!(left.is_empty(), "the bench's database is removed: {left:?}");
}

#[test]
fn bench_refuses_several_workers_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let stderr = failure(dir.path(), &["bench", "--workers", "2"], &[]);
    assert_eq!(
        stderr.trim(),
        "careloop: --workers: SQLite has one sender by design; use PostgreSQL for more"
    );
}

#[test]
fn bench_runs_on_postgres_in_a_schema_of_its_own() {
    #[expect(clippy::disallowed_methods, reason = "tests read their own switches")]
    let Ok(url) = std::env::var("CARELOOP_TEST_POSTGRES_URL") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let stdout = bench_output(
        dir.path(),
        &["--database", &url, "--appointments", "20", "--workers", "2"],
    );
    assert!(
        stdout.contains(
            "\nbench: postgres, 2 workers, 20 appointments all due at once: 20 messages in "
        ),
        "{stdout}"
    );
    // The machine's pace is measured too, as a yardstick for the figures.
    let pace = figure(
        &stdout,
        "the machine's pace at bare queue work: ",
        " rows/s",
    );
    assert!(pace > 0.0, "{stdout}");
}

#[tokio::test]
async fn staff_accounts_are_added_to_departments_that_exist() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path();
    assert_eq!(
        success(
            path,
            &[
                "department",
                "add",
                "Nursing",
                "--on-call",
                "+1 617 555 0199"
            ]
        )
        .trim(),
        "careloop: added department nursing"
    );
    success(
        path,
        &["department", "add", "front-desk", "--name", "Front desk"],
    );
    assert_eq!(
        success(path, &["department", "list"]),
        "front-desk\tFront desk\tno on-call contact\nnursing\tnursing\t+16175550199\n"
    );
    // A made password is printed once; a given one never.
    let made = success(
        path,
        &[
            "user",
            "add",
            "--email",
            "Ana@Clinic.example",
            "--role",
            "clinician",
            "--department",
            "nursing",
            "--department",
            "front-desk",
        ],
    );
    let mut lines = made.lines();
    assert_eq!(
        lines.next(),
        Some("careloop: added clinician ana@clinic.example (front-desk, nursing)")
    );
    let password = lines
        .next()
        .and_then(|l| l.strip_prefix("careloop: their password, shown this once: "))
        .unwrap();
    assert_eq!(password.len(), 20);
    let mut given = careloop(
        path,
        &[
            "user",
            "add",
            "--email",
            "bo@clinic.example",
            "--role",
            "admin",
            "--password-stdin",
        ],
        &[],
    )
    .stdin(std::process::Stdio::piped())
    .stdout(std::process::Stdio::piped())
    .spawn()
    .unwrap();
    use std::io::Write as _;
    given
        .stdin
        .take()
        .unwrap()
        .write_all(b"a phrase only bo knows\n")
        .unwrap();
    let output = given.wait_with_output().unwrap();
    assert!(output.status.success());
    assert_eq!(
        String::from_utf8(output.stdout).unwrap(),
        "careloop: added admin bo@clinic.example (every department)\n"
    );
    let db = std::fs::read(path.join("careloop-data/careloop.db")).unwrap();
    assert!(!db.windows(password.len()).any(|w| w == password.as_bytes()));
    assert!(!db.windows(11).any(|w| w == b"only bo kno"));

    // Each refusal is one line, and changes nothing.
    for (args, said) in [
        (
            "user add --email ANA@clinic.example --role agent --department nursing",
            "careloop: an account with this email exists already",
        ),
        (
            "user add --email cy@clinic.example --role agent --department billing",
            "careloop: there is no department 'billing'",
        ),
        (
            "user add --email cy@clinic.example --role root --department nursing",
            "careloop: unknown role 'root'; the roles are admin, agent and clinician",
        ),
        (
            "user add --email cy@clinic.example --role agent",
            "careloop: agents work in at least one department: add --department KEY",
        ),
        (
            "user add --email not-an-email --role agent --department nursing",
            "careloop: --email: not an email address of the form name@domain.tld",
        ),
        (
            "department add nursing",
            "careloop: a department 'nursing' exists already",
        ),
        (
            "department add on-call --on-call call-me",
            "careloop: --on-call: a phone number may contain only digits, spaces, '+', '-', '.', '/' and parentheses",
        ),
    ] {
        let args: Vec<&str> = args.split(' ').collect();
        assert_eq!(failure(path, &args, &[]).trim(), said, "{args:?}");
    }
    // Two departments, two accounts: four entries in the audit log, and it holds.
    assert_eq!(
        success(path, &["audit", "verify"]).trim(),
        "careloop: the audit log holds: 4 entries, each linked to the one before"
    );
}

#[test]
fn saved_replies_are_added_listed_and_checked() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path();
    success(path, &["department", "add", "front-desk"]);
    let added = success(
        path,
        &[
            "saved-reply",
            "add",
            "--title",
            "Parking",
            "--department",
            "front-desk",
            "--body",
            "Hi {first_name}, parking is free on Elm Street.",
        ],
    );
    assert_eq!(added.trim(), "careloop: added saved reply Parking");
    success(
        path,
        &[
            "saved-reply",
            "add",
            "--title",
            "Hours",
            "--body",
            "We are open {clinic_hours}.",
        ],
    );
    let listed = success(path, &["saved-reply", "list"]);
    assert_eq!(
        listed,
        "Hours\tevery department\tWe are open {clinic_hours}.\n\
         Parking\tfront-desk\tHi {first_name}, parking is free on Elm Street.\n"
    );
    for (args, said) in [
        (
            vec![
                "saved-reply",
                "add",
                "--title",
                "Oops",
                "--body",
                "Hi {name}",
            ],
            "careloop: {name} is not a variable; use {first_name}, {next_appointment}, {clinic_hours}, {clinic_name} or {clinic_phone}",
        ),
        (
            vec![
                "saved-reply",
                "add",
                "--title",
                "X",
                "--body",
                "Hi",
                "--department",
                "billing",
            ],
            "careloop: there is no department 'billing'",
        ),
    ] {
        assert_eq!(failure(path, &args, &[]).trim(), said, "{args:?}");
    }
    assert_eq!(success(path, &["saved-reply", "list"]).lines().count(), 2);
}

#[tokio::test]
async fn a_made_token_opens_the_api_until_it_is_revoked() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path();
    let made = success(path, &["token", "create", "--name", "reporting"]);
    let mut lines = made.lines();
    assert_eq!(
        lines.next(),
        Some("careloop: made token reporting; it is shown this once:")
    );
    let token = lines.next().unwrap().to_owned();
    assert!(token.starts_with("clt_"), "{token}");
    let (child, address, _) = serve(path, &[]);
    let _stop = Stop(child);
    let status = || async {
        reqwest::Client::new()
            .get(format!("{address}/api/v1/outbox"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .status()
    };
    assert_eq!(status().await, 200);
    let listed = success(path, &["token", "list"]);
    assert!(listed.starts_with("reporting\tmade 20"), "{listed}");
    assert!(listed.trim_end().ends_with("live"), "{listed}");
    assert_eq!(
        success(path, &["token", "revoke", "--name", "reporting"]).trim(),
        "careloop: revoked token reporting"
    );
    assert_eq!(status().await, 401);
    assert!(success(path, &["token", "list"]).contains("\trevoked 20"));
    assert_eq!(
        failure(path, &["token", "revoke", "--name", "reporting"], &[]).trim(),
        "careloop: no live token is named 'reporting'"
    );
    assert_eq!(
        failure(path, &["token", "create", "--name", "has space"], &[]).trim(),
        "careloop: a token's name is 1 to 64 letters, digits, dots, dashes or underscores (got 'has space')"
    );
}

#[test]
fn triage_rules_are_added_tried_ordered_and_removed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path();
    success(path, &["department", "add", "billing"]);
    success(path, &["department", "add", "pharmacy"]);
    let billing = success(
        path,
        &[
            "triage-rule",
            "add",
            "--name",
            "Billing",
            "--phrase",
            "bill",
            "--phrase",
            "factura",
            "--department",
            "billing",
            "--tag",
            "billing",
        ],
    );
    assert!(
        billing.starts_with("careloop: added triage rule Billing at 1 ("),
        "{billing}"
    );
    let billing_id = billing
        .trim()
        .rsplit('(')
        .next()
        .unwrap()
        .trim_end_matches(')')
        .to_owned();
    success(
        path,
        &[
            "triage-rule",
            "add",
            "--name",
            "Refills",
            "--pattern",
            r"\brefills?\b",
            "--department",
            "pharmacy",
            "--priority",
            "high",
        ],
    );
    let tried = success(path, &["triage-rule", "test", "Necesito pagar mi FACTURA"]);
    assert_eq!(
        tried.trim(),
        "rule 'Billing'\tdepartment billing\tpriority unchanged\ttags billing"
    );
    let tried = success(path, &["triage-rule", "test", "a refill and my bill"]);
    assert!(tried.starts_with("rule 'Billing'"), "{tried}");
    success(path, &["triage-rule", "move", &billing_id, "--to", "2"]);
    let tried = success(path, &["triage-rule", "test", "a refill and my bill"]);
    assert!(
        tried.starts_with("rule 'Refills'\tdepartment pharmacy\tpriority high"),
        "{tried}"
    );
    let tried = success(
        path,
        &["triage-rule", "test", "chest pain since the refill"],
    );
    assert!(
        tried.starts_with("built-in red flag: chest pain; tags from rule 'Refills'\t"),
        "{tried}"
    );
    assert!(tried.contains("priority urgent"), "{tried}");
    let listed = success(path, &["triage-rule", "list"]);
    let names: Vec<&str> = listed
        .lines()
        .map(|l| l.split('\t').nth(2).unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "red flags: urgent, for the urgent department (always first)",
            "Refills",
            "Billing"
        ]
    );

    for (args, said) in [
        (
            vec![
                "triage-rule",
                "add",
                "--name",
                "X",
                "--pattern",
                "(open",
                "--tag",
                "x",
            ],
            "careloop: the pattern is not a regular expression careloop can run",
        ),
        (
            vec![
                "triage-rule",
                "add",
                "--name",
                "X",
                "--phrase",
                "x",
                "--department",
                "cardiology",
            ],
            "careloop: there is no department 'cardiology'",
        ),
        (
            vec!["triage-rule", "add", "--name", "X", "--tag", "x"],
            "careloop: a rule needs a condition",
        ),
        (
            vec!["triage-rule", "remove", "nope"],
            "careloop: there is no such entry",
        ),
    ] {
        let said_now = failure(path, &args, &[]);
        assert!(said_now.trim().starts_with(said), "{args:?}: {said_now}");
        assert_eq!(said_now.trim().lines().count(), 1, "{said_now}");
    }
    success(path, &["triage-rule", "remove", &billing_id]);
    assert_eq!(success(path, &["triage-rule", "list"]).lines().count(), 2);
}

#[test]
fn faq_answers_are_added_listed_and_removed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path();
    let added = success(
        path,
        &[
            "faq",
            "add",
            "--title",
            "Fax",
            "--question",
            "fax",
            "--answer",
            "Our fax is 617-555-0199.",
        ],
    );
    assert!(
        added.starts_with("careloop: added FAQ answer Fax ("),
        "{added}"
    );
    let id = added
        .trim()
        .rsplit('(')
        .next()
        .unwrap()
        .trim_end_matches(')')
        .to_owned();
    let listed = success(path, &["faq", "list"]);
    assert_eq!(
        listed,
        format!("{id}\tFax\tfax\tOur fax is 617-555-0199.\n")
    );
    let refused = failure(
        path,
        &[
            "faq",
            "add",
            "--title",
            "Dose",
            "--question",
            "what dose",
            "--answer",
            "Two.",
        ],
        &[],
    );
    assert_eq!(
        refused.trim(),
        "careloop: a question may not ask something clinical: 'what dose'"
    );
    success(path, &["faq", "remove", &id]);
    assert_eq!(success(path, &["faq", "list"]), "");
}
