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
    let store = open::data(&config).await?;
    let fhir = open::fhir(&config, store.clone());
    let org = OrgId::default_org();
    match command {
        PatientCommand::Erase { id } => {
            fhir.delete(&org, ResourceType::Patient, &id, true, None)
                .await
                .map_err(|e| anyhow::anyhow!("{}", e.diagnostics))?;
            // The record is gone; that it was erased, by whom and when, stays.
            store
                .audit(&org, "cli", "patient.erase", &format!("Patient/{id}"))
                .await?;
            println!("careloop: erased Patient/{id}, its appointments and its data key");
        }
    }
    Ok(())
}
