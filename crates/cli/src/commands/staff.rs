//! `careloop user ...` and `careloop department ...`: the people who work the inbox.

use std::io::BufRead;

use careloop_domain::staff::{DepartmentKey, NewPassword, Role};
use careloop_domain::{EmailAddress, OrgId};
use careloop_store::staff::NewStaff;
use clap::Subcommand;

use crate::config::Config;
use crate::open;

#[derive(Subcommand)]
pub enum UserCommand {
    /// Add a staff account. Without --password-stdin careloop makes a strong password
    /// and prints it once.
    Add {
        #[arg(long)]
        email: String,
        /// admin, agent or clinician.
        #[arg(long)]
        role: String,
        /// A department the person works in (its key); repeat for several.
        #[arg(long = "department")]
        departments: Vec<String>,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
    },
}

#[derive(Subcommand)]
pub enum DepartmentCommand {
    /// Add a department.
    Add {
        /// Its key: lower-case letters, digits and dashes (`front-desk`).
        key: String,
        /// Its name as staff read it (`Front desk`); the key when not given.
        #[arg(long)]
        name: Option<String>,
        /// Who is told when a message waits past its target: a phone number or an
        /// email; repeat for the next levels, told one target later each.
        #[arg(long = "on-call")]
        on_call: Vec<String>,
    },
    /// List the departments.
    List,
}

pub async fn user(config: Config, command: UserCommand) -> anyhow::Result<()> {
    let UserCommand::Add {
        email,
        role,
        departments,
        password_stdin,
    } = command;
    let email = EmailAddress::parse(&email).map_err(|e| anyhow::anyhow!("--email: {e}"))?;
    let role = Role::parse(&role)?;
    let departments = departments
        .iter()
        .map(|d| DepartmentKey::parse(d))
        .collect::<Result<Vec<_>, _>>()?;
    if departments.is_empty() && role != Role::Admin {
        anyhow::bail!("{role}s work in at least one department: add --department KEY");
    }
    let (password, made) = if password_stdin {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        (
            NewPassword::parse(line.trim_end_matches(['\r', '\n']).to_owned())?,
            false,
        )
    } else {
        (NewPassword::parse(made_password()?)?, true)
    };
    let store = open::data(&config).await?;
    let org = OrgId::default_org();
    let row = store
        .add_staff(
            &org,
            &NewStaff {
                email: email.as_str(),
                role,
                departments: &departments,
                password: &password,
            },
        )
        .await?;
    store
        .audit(&org, "cli", "staff.add", &format!("Staff/{}", row.id))
        .await?;
    println!(
        "careloop: added {role} {} ({})",
        row.email,
        if row.departments.is_empty() {
            "every department".to_owned()
        } else {
            row.departments.join(", ")
        }
    );
    if made {
        println!(
            "careloop: their password, shown this once: {}",
            password.expose()
        );
    }
    Ok(())
}

pub async fn department(config: Config, command: DepartmentCommand) -> anyhow::Result<()> {
    let store = open::data(&config).await?;
    let org = OrgId::default_org();
    match command {
        DepartmentCommand::Add { key, name, on_call } => {
            let key = DepartmentKey::parse(&key)?;
            let on_call = on_call
                .iter()
                .map(|contact| on_call_contact(contact, &config))
                .collect::<anyhow::Result<Vec<_>>>()?;
            let on_call = (!on_call.is_empty()).then(|| on_call.join(","));
            let name = name.unwrap_or_else(|| key.to_string());
            if name.trim().is_empty() || name.chars().any(char::is_control) {
                anyhow::bail!("--name: a department's name is one line of text");
            }
            store
                .add_department(&org, &key, name.trim(), on_call.as_deref())
                .await?;
            store
                .audit(&org, "cli", "department.add", &format!("Department/{key}"))
                .await?;
            println!("careloop: added department {key}");
        }
        DepartmentCommand::List => {
            for department in store.departments(&org).await? {
                println!(
                    "{}\t{}\t{}",
                    department.id,
                    department.name,
                    department
                        .on_call
                        .as_deref()
                        .unwrap_or("no on-call contact")
                );
            }
        }
    }
    Ok(())
}

#[derive(Subcommand)]
pub enum SavedReplyCommand {
    /// Add a saved reply. Its words may use {first_name}, {next_appointment},
    /// {clinic_hours}, {clinic_name} and {clinic_phone}.
    Add {
        /// What staff pick it by (`Parking`).
        #[arg(long)]
        title: String,
        #[arg(long)]
        body: String,
        /// Only for this department (its key); for everyone when not given.
        #[arg(long)]
        department: Option<String>,
    },
    /// List the saved replies.
    List,
}

pub async fn saved_reply(config: Config, command: SavedReplyCommand) -> anyhow::Result<()> {
    let store = open::data(&config).await?;
    let org = OrgId::default_org();
    match command {
        SavedReplyCommand::Add {
            title,
            body,
            department,
        } => {
            let department = department.map(|d| DepartmentKey::parse(&d)).transpose()?;
            let row = store
                .add_saved_reply(&org, department.as_ref(), &title, &body)
                .await?;
            store
                .audit(
                    &org,
                    "cli",
                    "saved-reply.add",
                    &format!("SavedReply/{}", row.id),
                )
                .await?;
            println!("careloop: added saved reply {}", row.title);
        }
        SavedReplyCommand::List => {
            for reply in store.saved_replies(&org).await? {
                println!(
                    "{}\t{}\t{}",
                    reply.title,
                    reply.department.as_deref().unwrap_or("every department"),
                    reply.body.replace('\n', " ")
                );
            }
        }
    }
    Ok(())
}

/// An on-call contact as careloop will reach it: an email, or a phone number in E.164.
fn on_call_contact(contact: &str, config: &Config) -> anyhow::Result<String> {
    careloop_domain::staff::on_call_contact(contact, config.default_region)
        .map_err(|e| anyhow::anyhow!("--on-call: {e}"))
}

/// 20 random characters of an alphabet without look-alikes (56 letters and digits):
/// about 116 bits. Bytes past the last whole multiple of 56 are drawn again, so every
/// character is as likely as the next.
fn made_password() -> anyhow::Result<String> {
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    const LENGTH: usize = 20;
    let fair = u8::try_from(256 / ALPHABET.len() * ALPHABET.len()).unwrap_or(u8::MAX);
    let mut password = String::with_capacity(LENGTH);
    while password.len() < LENGTH {
        let mut bytes = [0u8; 32];
        getrandom::getrandom(&mut bytes).map_err(|_| anyhow::anyhow!("no random numbers"))?;
        for byte in bytes.into_iter().filter(|b| *b < fair) {
            if password.len() < LENGTH {
                password.push(char::from(ALPHABET[usize::from(byte) % ALPHABET.len()]));
            }
        }
    }
    Ok(password)
}
