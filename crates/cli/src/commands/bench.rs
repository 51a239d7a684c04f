//! `careloop bench`: books N appointments in a database of its own, lets their day-before
//! reminders fall due, and sends them through the real Twilio transport to a fake Twilio
//! on this machine; prints messages per second, due-to-sent latency and peak memory.
//! It doubles as a correctness check: a message lost, refused or received twice fails it.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use careloop_channels::twilio::Sender;
use careloop_domain::quiet_hours::QuietHours;
use careloop_engine::Engine;
use careloop_store::MasterKey;
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use secrecy::SecretString;

use crate::bench::fake_twilio::{self, Counts, FakeTwilio, Tally};
use crate::bench::report::{self, Latency, Outcome, seconds};
use crate::bench::scratch::Scratch;
use crate::bench::seed::{self, Schedule};
use crate::bench::workers::{self, Goal};
use crate::clock::OffsetClock;
use crate::commands::serve::shutdown;
use crate::config::{Config, Database, Twilio};
use crate::open;

/// Appointments start two days after booking: the three-day email reminder is then
/// already past (skipped, as for any late booking) and the day-before one is the only
/// message left to fall due, a day after booking.
const LEAD: SignedDuration = SignedDuration::from_hours(48);
/// When the day-before reminder falls due, before the start.
const REMINDER: SignedDuration = SignedDuration::from_hours(24);
/// How often the statistics are brought up to date while the confirmations go out.
const ANALYZE_EVERY: Duration = Duration::from_secs(10);
/// The clinic's sending number; never dialled, the fake takes everything.
const FROM: &str = "+16175550100";

#[derive(clap::Args)]
pub struct BenchArgs {
    /// `sqlite` (a new file in a temporary folder) or a PostgreSQL URL (a new schema in
    /// that database); removed at the end either way.
    #[arg(long, default_value = "sqlite", value_name = "sqlite|URL")]
    database: String,
    /// Patients to book, one appointment and one reminder each.
    #[arg(long, default_value_t = 10_000, value_name = "N",
          value_parser = clap::value_parser!(u64).range(1..=seed::MAX_PATIENTS))]
    appointments: u64,
    /// Engines sending side by side in this process, each with its own connections
    /// (default: 1 on SQLite, which has one sender by design; 2 on PostgreSQL).
    #[arg(long, value_name = "W", value_parser = clap::value_parser!(u32).range(1..=64))]
    workers: Option<u32>,
    /// Reminders fall due at R a second, spread over time; without it they all fall due
    /// at once, which measures the most careloop can send.
    #[arg(long, value_name = "R", value_parser = clap::value_parser!(u32).range(1..))]
    rate: Option<u32>,
}

pub async fn run(config: Config, args: BenchArgs) -> anyhow::Result<()> {
    let sqlite = args.database == "sqlite";
    let workers = args.workers.unwrap_or(if sqlite { 1 } else { 2 });
    if sqlite && workers > 1 {
        anyhow::bail!("--workers: SQLite has one sender by design; use PostgreSQL for more");
    }
    let (scratch, database) = Scratch::create(&args.database).await?;
    let kind = scratch.kind();
    // Ctrl-C ends the bench early, but its database is removed all the same.
    let result = tokio::select! {
        result = measure(config, database, &scratch, kind, &args, workers) => result,
        () = shutdown() => Err(anyhow::anyhow!("interrupted")),
    };
    let removed = scratch.remove().await;
    let outcome = result?;
    removed?;
    println!("{outcome}");
    Ok(())
}

async fn measure(
    mut config: Config,
    database: Database,
    scratch: &Scratch,
    kind: &'static str,
    args: &BenchArgs,
    workers: u32,
) -> anyhow::Result<Outcome> {
    let patients = args.appointments;
    let fake =
        FakeTwilio::start(usize::try_from(patients).context("--appointments: too many")?).await?;
    let clock = Arc::new(OffsetClock::default());
    let booked_at = clock.wall().round(jiff::Unit::Second)?;
    let schedule = Schedule {
        first_start: booked_at.checked_add(LEAD)?,
        rate: args.rate,
    };
    let first_due = schedule.first_start.checked_sub(REMINDER)?;
    configure(&mut config, database, &fake.base, first_due)?;
    let engines = engines(&config, &clock, workers).await?;

    println!(
        "bench: booking {patients} appointments on {kind} with {workers} worker(s); the fake Twilio is {}",
        fake.base
    );
    let started = std::time::Instant::now();
    let services: Vec<_> = engines
        .iter()
        .map(|engine| open::fhir(&config, engine.store().clone()))
        .collect();
    tokio::select! {
        booked = seed::book(&services, patients, schedule) => booked?,
        () = keep_analyzed(scratch) => {}
    }
    scratch.analyze().await?;
    let booked = started.elapsed();
    let goal = Goal {
        what: "booking confirmations",
        count: |c| c.confirmations,
        target: patients,
    };
    tokio::select! {
        sent = workers::run_until(&engines, &fake.tally, &goal) => sent?,
        () = keep_analyzed(scratch) => {}
    }
    check(&fake.tally.counts())?;
    println!(
        "bench: seeded in {}: booked in {}, {patients} booking confirmations sent in {} (not measured)",
        seconds(started.elapsed()),
        seconds(booked),
        seconds(started.elapsed().saturating_sub(booked)),
    );

    if let Some(pace) = scratch.yardstick().await? {
        println!(
            "bench: the machine's pace at bare queue work: {pace:.0} rows/s \
             (2 connections claiming and deleting 100 no-op rows at a time, FOR UPDATE SKIP LOCKED)"
        );
    }
    scratch.analyze().await?;
    if let Some(load) = report::load_average() {
        println!(
            "bench: load average {load:.2} on {} cores as the reminders fall due",
            std::thread::available_parallelism().map_or(0, usize::from)
        );
    }
    let peak_seeding = report::peak_memory();
    let sending_apart = report::reset_peak_memory();
    let cpu_before = report::cpu_time();
    fake.tally.start_measuring();
    // The jump: from this instant on, the clock reads the first reminder's due time.
    let due = fake.tally.epoch.elapsed();
    clock.set(first_due, clock.wall());
    tracing::info!(patients, "bench: the reminders fall due");
    let goal = Goal {
        what: "reminders",
        count: |c| c.reminders,
        target: patients,
    };
    workers::run_until(&engines, &fake.tally, &goal).await?;
    let peak_now = report::peak_memory();
    let cpu_sending = report::cpu_time()
        .zip(cpu_before)
        .map(|(after, before)| after.saturating_sub(before));
    tracing::info!(patients, "bench: every reminder arrived");
    check(&fake.tally.counts())?;
    let (elapsed, latency) = latencies(&fake.tally, patients, schedule, due)?;
    let (peak_sending, peak_overall) = if sending_apart {
        (peak_now, peak_now.max(peak_seeding))
    } else {
        (None, peak_now)
    };
    Ok(Outcome {
        database: kind,
        workers,
        appointments: patients,
        rate: args.rate,
        messages: fake.tally.counts().reminders,
        elapsed,
        latency,
        peak_sending,
        peak_overall,
        cpu_sending,
    })
}

/// The configuration every engine of the bench shares: the product's own, with the
/// scratch database, Twilio at the fake, no email relay, and quiet hours out of the way.
fn configure(
    config: &mut Config,
    database: Database,
    fake: &str,
    first_due: Timestamp,
) -> anyhow::Result<()> {
    config.database = database;
    config.smtp = None;
    config.twilio = Some(Twilio {
        account_sid: fake_twilio::ACCOUNT_SID.to_owned(),
        auth_token: SecretString::from(fake_twilio::AUTH_TOKEN),
        sender: Sender::Number(FROM.to_owned()),
        api_base: fake.to_owned(),
    });
    // Status callbacks are not part of the bench: the fake never calls back.
    config.public_url = "http://127.0.0.1".to_owned();
    config.quiet_hours = quiet_minute(first_due, &config.clinic.zone)?;
    Ok(())
}

/// Quiet hours that the bench never meets: one minute, twelve hours away from when the
/// reminders fall due (there is no "off"; a clinic always has a night).
fn quiet_minute(first_due: Timestamp, zone: &TimeZone) -> anyhow::Result<QuietHours> {
    let start = first_due
        .checked_add(SignedDuration::from_hours(12))?
        .to_zoned(zone.clone())
        .time();
    let end = start.wrapping_add(SignedDuration::from_mins(1));
    QuietHours::new(start, end).context("the bench's quiet hours")
}

/// One engine per worker, each with connections of its own, all on one clock.
async fn engines(
    config: &Config,
    clock: &Arc<OffsetClock>,
    workers: u32,
) -> anyhow::Result<Vec<Engine>> {
    let master = MasterKey::generate().context("no randomness for the bench's master key")?;
    let mut engines = Vec::new();
    for _ in 0..workers {
        let store = open::store(config, &master, clock.clone()).await?;
        engines.push(open::engine(config, store)?);
    }
    Ok(engines)
}

/// A message refused, to a stranger or received twice fails the bench.
fn check(counts: &Counts) -> anyhow::Result<()> {
    if counts.duplicates > 0 {
        anyhow::bail!(
            "{} messages reached the fake Twilio twice",
            counts.duplicates
        );
    }
    if counts.strangers > 0 {
        anyhow::bail!(
            "{} messages went to numbers no bench patient has",
            counts.strangers
        );
    }
    if counts.refused > 0 {
        anyhow::bail!(
            "the fake Twilio refused {} requests (credentials, account or form)",
            counts.refused
        );
    }
    Ok(())
}

/// The time from the first reminder falling due to the last one arriving, and each
/// reminder's due-to-sent latency, summarized. `due` is when the first fell due, after
/// the fake's epoch.
fn latencies(
    tally: &Tally,
    patients: u64,
    schedule: Schedule,
    due: Duration,
) -> anyhow::Result<(Duration, Latency)> {
    let mut samples = Vec::with_capacity(usize::try_from(patients).unwrap_or(0));
    let mut last = due;
    for index in 0..patients {
        let arrived = usize::try_from(index)
            .ok()
            .and_then(|i| tally.reminded_at(i))
            .with_context(|| format!("the reminder of patient {index} never arrived"))?;
        let offset = Duration::try_from(schedule.offset(index)).unwrap_or_default();
        samples.push(arrived.saturating_sub(due + offset));
        last = last.max(arrived);
    }
    let latency = Latency::of(&mut samples).context("no reminder arrived")?;
    Ok((last - due, latency))
}

/// Brings the statistics up to date every few seconds, for ever. The bookings, and then
/// the confirmations, fill the tables from nothing: as autovacuum would, the statistics
/// follow them, or the planner goes on planning for empty tables and seeding 100,000
/// slows down by the square.
async fn keep_analyzed(scratch: &Scratch) {
    loop {
        tokio::time::sleep(ANALYZE_EVERY).await;
        if let Err(error) = scratch.analyze().await {
            tracing::warn!(error = %error, "bench: the statistics could not be updated");
        }
    }
}
