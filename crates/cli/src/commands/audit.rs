//! `careloop audit ...`: the audit log.

use careloop_domain::OrgId;
use careloop_domain::audit::{self, GENESIS};
use clap::Subcommand;

use crate::config::Config;
use crate::open;

/// Entries read at a time.
const PAGE: i64 = 1_000;

#[derive(Subcommand)]
pub enum AuditCommand {
    /// Check the audit log's hash chain from its first entry to its last; names the
    /// first entry that was changed or removed after it was written.
    Verify,
}

pub async fn run(config: Config, command: AuditCommand) -> anyhow::Result<()> {
    let store = open::data(&config).await?;
    let org = OrgId::default_org();
    match command {
        AuditCommand::Verify => {
            let (mut previous, mut next) = (GENESIS, 1);
            loop {
                let page = store.audit_page(&org, next - 1, PAGE).await?;
                (previous, next) = audit::verify(&page, previous, next)?;
                if i64::try_from(page.len()).unwrap_or(i64::MAX) < PAGE {
                    break;
                }
            }
            println!(
                "careloop: the audit log holds: {} entries, each linked to the one before",
                next - 1
            );
        }
    }
    Ok(())
}
