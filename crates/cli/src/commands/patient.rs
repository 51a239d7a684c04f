//! `careloop patient ...`: operations on one patient's record.

use std::sync::Arc;

use careloop_domain::OrgId;
use careloop_fhir::{Context, FhirService, ResourceType};
use clap::Subcommand;

use crate::clock::SystemClock;
use crate::config::Config;
use crate::{data_dir, open};

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
    data_dir::ensure(&config)?;
    let master = data_dir::master_key(&config)?;
    let store = open::store(&config, &master, Arc::new(SystemClock)).await?;
    let fhir = FhirService::new(
        store,
        Context {
            region: config.default_region,
        },
        format!("{}/fhir", config.public_url),
    );
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
