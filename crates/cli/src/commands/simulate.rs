//! `careloop simulate reply`: answer a sandbox message as the patient would, to try
//! journeys without a phone.

use std::sync::Arc;

use careloop_engine::Received;
use clap::Subcommand;

use crate::clock::SystemClock;
use crate::config::Config;
use crate::{data_dir, open};

#[derive(Subcommand)]
pub enum SimulateCommand {
    /// Answer as the patient at a phone number or email address ("C" confirms, "N"
    /// cancels, "R" asks to reschedule, "STOP", "HELP", or any text for staff). A
    /// running `careloop serve` or `careloop worker` sends careloop's answer.
    Reply {
        /// The phone number or email address careloop's message went to.
        #[arg(long, value_name = "PHONE_OR_EMAIL")]
        to: String,
        /// What the patient writes.
        #[arg(long)]
        text: String,
    },
}

pub async fn run(config: Config, command: SimulateCommand) -> anyhow::Result<()> {
    data_dir::ensure(&config)?;
    let master = data_dir::master_key(&config)?;
    let store = open::store(&config, &master, Arc::new(SystemClock)).await?;
    let engine = open::engine(&config, store)?;
    match command {
        SimulateCommand::Reply { to, text } => match engine.simulate_reply(&to, &text).await? {
            Received::Kept { id, intent } => {
                println!("careloop: kept as Communication/{id}, read as '{intent}'");
            }
            Received::UnknownSender => {
                anyhow::bail!("no patient has this phone number or email address")
            }
            Received::Duplicate => anyhow::bail!("this answer was handled before"),
        },
    }
    Ok(())
}
