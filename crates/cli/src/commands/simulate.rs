//! `careloop simulate reply`: answer a sandbox message as the patient would, to try
//! journeys without a phone.

use careloop_engine::Received;
use clap::Subcommand;

use crate::config::{Config, DATA_DIR};
use crate::open;

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
    // Answers go to an existing clinic's data: a new, empty one would only say that
    // nobody has the address, and leave a key behind.
    if !config.data_dir.exists() && config.master_key.is_none() {
        anyhow::bail!(
            "{}: there is no careloop data in {}; run this where careloop serve runs, or set it",
            DATA_DIR.env,
            config.data_dir.display()
        );
    }
    let engine = open::engine(&config, open::data(&config).await?)?;
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
