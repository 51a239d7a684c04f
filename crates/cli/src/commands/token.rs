//! `careloop token ...`: API tokens for the EHR, scripts and integrations.

use careloop_domain::OrgId;
use careloop_store::from_micros;
use clap::Subcommand;

use crate::config::Config;
use crate::open;

#[derive(Subcommand)]
pub enum TokenCommand {
    /// Make a token for `Authorization: Bearer`; it is printed this once, and careloop
    /// keeps only its hash.
    Create {
        /// What the token is for (`epic-prod`, `reporting`): shown in listings, and the
        /// way to revoke it.
        #[arg(long)]
        name: String,
    },
    /// List the tokens, live and revoked (never the tokens themselves).
    List,
    /// Revoke a token: requests that present it are refused from now on.
    Revoke {
        #[arg(long)]
        name: String,
    },
}

pub async fn run(config: Config, command: TokenCommand) -> anyhow::Result<()> {
    let store = open::data(&config).await?;
    let org = OrgId::default_org();
    match command {
        TokenCommand::Create { name } => {
            let token = store.create_api_token(&org, &name).await?;
            store
                .audit(&org, "cli", "token.create", &format!("Token/{name}"))
                .await?;
            println!("careloop: made token {name}; it is shown this once:");
            println!("{token}");
        }
        TokenCommand::List => {
            for token in store.api_tokens(&org).await? {
                let state = match token.revoked_us {
                    Some(at) => format!("revoked {}", from_micros(at)),
                    None => "live".to_owned(),
                };
                println!(
                    "{}\tmade {}\t{state}",
                    token.name,
                    from_micros(token.created_us)
                );
            }
        }
        TokenCommand::Revoke { name } => {
            store.revoke_api_token(&org, &name).await?;
            store
                .audit(&org, "cli", "token.revoke", &format!("Token/{name}"))
                .await?;
            println!("careloop: revoked token {name}");
        }
    }
    Ok(())
}
