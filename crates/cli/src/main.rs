//! `careloop`: the one binary. Commands parse their arguments, open what they need, and
//! hand over to the library crates; any failure ends in one readable line on stderr.

mod bench;
mod clock;
mod commands;
mod config;
mod data_dir;
mod logging;
mod open;

use std::path::PathBuf;

/// mimalloc rather than the system allocator: the engine allocates and frees many small
/// buffers per message (rows, JSON, HTTP frames) from several threads, where glibc's
/// allocator spent a fifth of the process's time.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// careloop: patient engagement for clinics, fed by FHIR.
#[derive(Parser)]
#[command(name = "careloop", version, about, long_about = None)]
struct Cli {
    /// A TOML file with settings (the same keys as the CARELOOP_* variables, in lower case
    /// without the prefix); environment variables win over it.
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,

    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the HTTP API (FHIR under /fhir), creating the data directory and database on
    /// first start.
    Serve,
    /// Run the engine (journeys, timers, sending) without the HTTP server; on
    /// PostgreSQL, workers and servers share the work.
    Worker,
    /// Try careloop with nothing to set up: a demo clinic on the sandbox channels, with
    /// messages falling due within a minute and the patient's answers typed here.
    Demo,
    /// Measure sending: book N appointments in a database of the bench's own, let their
    /// reminders fall due, and send them to a fake Twilio on this machine; prints
    /// messages per second, due-to-sent latency and peak memory.
    Bench(commands::bench::BenchArgs),
    /// Measure the inbox: N conversations in a database of the bench's own, and the
    /// server time of the queue pages staff open most.
    BenchInbox(commands::bench_inbox::BenchInboxArgs),
    /// Create or update the database schema, then exit.
    Migrate,
    /// Work with patient records.
    #[command(subcommand)]
    Patient(commands::patient::PatientCommand),
    /// Manage staff accounts.
    #[command(subcommand)]
    User(commands::staff::UserCommand),
    /// Manage the departments staff work in.
    #[command(subcommand)]
    Department(commands::staff::DepartmentCommand),
    /// Manage the saved replies staff insert into their answers.
    #[command(subcommand)]
    SavedReply(commands::staff::SavedReplyCommand),
    /// Manage the triage rules that route patients' messages.
    #[command(subcommand)]
    TriageRule(commands::playbook::TriageRuleCommand),
    /// Manage the answers of the FAQ assistant.
    #[command(subcommand)]
    Faq(commands::playbook::FaqCommand),
    /// Manage API tokens.
    #[command(subcommand)]
    Token(commands::token::TokenCommand),
    /// Check the audit log.
    #[command(subcommand)]
    Audit(commands::audit::AuditCommand),
    /// Play the patient on the sandbox channels.
    #[command(subcommand)]
    Simulate(commands::simulate::SimulateCommand),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let config = match config::load(cli.config.as_deref()) {
        Ok(config) => config,
        Err(error) => return fail(&error.to_string()),
    };
    logging::init(config.log_format);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => return fail(&format!("cannot start the async runtime: {error}")),
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Serve => commands::serve::run(config).await,
            Command::Worker => commands::worker::run(config).await,
            Command::Demo => commands::demo::run(config).await,
            Command::Bench(args) => commands::bench::run(config, args).await,
            Command::BenchInbox(args) => commands::bench_inbox::run(config, args).await,
            Command::Migrate => commands::migrate::run(config).await,
            Command::Patient(command) => commands::patient::run(config, command).await,
            Command::Simulate(command) => commands::simulate::run(config, command).await,
            Command::Audit(command) => commands::audit::run(config, command).await,
            Command::Token(command) => commands::token::run(config, command).await,
            Command::User(command) => commands::staff::user(config, command).await,
            Command::Department(command) => commands::staff::department(config, command).await,
            Command::SavedReply(command) => commands::staff::saved_reply(config, command).await,
            Command::TriageRule(command) => commands::playbook::triage_rule(config, command).await,
            Command::Faq(command) => commands::playbook::faq(config, command).await,
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => fail(&format!("{error:#}")),
    }
}

fn fail(message: &str) -> ExitCode {
    eprintln!("careloop: {message}");
    ExitCode::FAILURE
}
