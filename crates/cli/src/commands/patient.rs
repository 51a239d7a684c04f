//! `careloop patient ...`: operations on one patient's record.

use careloop_domain::OrgId;
use careloop_fhir::ResourceType;
use clap::Subcommand;

use crate::config::Config;
use crate::open;

#[derive(Subcommand)]
pub enum PatientCommand {
    /// Erase a patient for good: their record, their appointments, and the key that
    /// encrypted them (so backups cannot be read for them either once rotated out).
    Erase {
        /// The patient's FHIR id.
        id: String,
    },
}

pub async fn run(config: Config, command: PatientCommand) -> anyhow::Result<()> {
    let fhir = open::fhir(&config, open::data(&config).await?);
    match command {
        PatientCommand::Erase { id } => {
            fhir.delete(
                &OrgId::default_org(),
                ResourceType::Patient,
                &id,
                true,
                None,
            )
            .await
            .map_err(|e| anyhow::anyhow!("{}", e.diagnostics))?;
            println!("careloop: erased Patient/{id}, its appointments and its data key");
        }
    }
    Ok(())
}
