//! `careloop triage-rule …` and `careloop faq …`: the clinic's triage rules and the FAQ
//! assistant's answers, as an admin edits them from a terminal.

use careloop_domain::OrgId;
use careloop_domain::faq::FaqDefinition;
use careloop_domain::journey::Channel;
use careloop_domain::triage::{Facts, RuleDefinition, Then, When};
use careloop_engine::Engine;
use careloop_engine::playbook::{Definition, Entry};
use clap::Subcommand;

use crate::config::Config;
use crate::open;

#[derive(Subcommand)]
pub enum TriageRuleCommand {
    /// Add a rule at the end of the order. Every condition given must hold; the first
    /// rule that matches a message decides.
    Add {
        #[arg(long)]
        name: String,
        /// A word or phrase that matches (any one of them), repeatable.
        #[arg(long = "phrase")]
        phrases: Vec<String>,
        /// A regular expression, without case, on the text as written.
        #[arg(long)]
        pattern: Option<String>,
        /// Only messages on this channel (sms, email), repeatable.
        #[arg(long = "channel")]
        channels: Vec<String>,
        /// Only patients who prefer this language (en, es), repeatable.
        #[arg(long = "language")]
        languages: Vec<String>,
        #[arg(long)]
        min_age: Option<u16>,
        #[arg(long)]
        max_age: Option<u16>,
        /// The department it routes to (its key).
        #[arg(long)]
        department: Option<String>,
        /// urgent, high, normal or low.
        #[arg(long)]
        priority: Option<String>,
        /// A tag it adds, repeatable.
        #[arg(long = "tag")]
        tags: Vec<String>,
        /// Add it turned off.
        #[arg(long)]
        disabled: bool,
    },
    /// List the rules in their order, after the built-in red flags.
    List,
    /// Remove a rule.
    Remove { id: String },
    /// Move a rule to a place in the order (1 is first).
    Move {
        id: String,
        #[arg(long)]
        to: usize,
    },
    /// Show which rule would decide a message, without sending or storing anything.
    Test {
        text: String,
        #[arg(long, default_value = "sms")]
        channel: String,
        #[arg(long)]
        language: Option<String>,
        #[arg(long)]
        age: Option<u16>,
    },
}

#[derive(Subcommand)]
pub enum FaqCommand {
    /// Add an answer for the FAQ assistant.
    Add {
        /// What staff call it (`Opening hours`).
        #[arg(long)]
        title: String,
        /// A word or phrase that asks it, repeatable (`opening hours`, `horario`).
        #[arg(long = "question", required = true)]
        questions: Vec<String>,
        #[arg(long)]
        answer: String,
        /// The answer for patients who prefer Spanish.
        #[arg(long)]
        answer_es: Option<String>,
    },
    /// List the answers.
    List,
    /// Remove an answer.
    Remove { id: String },
}

pub async fn triage_rule(config: Config, command: TriageRuleCommand) -> anyhow::Result<()> {
    let engine = engine(&config).await?;
    match command {
        TriageRuleCommand::Add {
            name,
            phrases,
            pattern,
            channels,
            languages,
            min_age,
            max_age,
            department,
            priority,
            tags,
            disabled,
        } => {
            let definition = RuleDefinition {
                name,
                enabled: !disabled,
                when: When {
                    phrases,
                    pattern,
                    channels,
                    languages,
                    min_age,
                    max_age,
                },
                then: Then {
                    department,
                    priority,
                    tags,
                },
            };
            let entry = engine.add_entry(&definition).await?;
            audit::<RuleDefinition>(&engine, "add", &entry.id).await?;
            println!(
                "careloop: added triage rule {} at {} ({})",
                entry.definition.name, entry.position, entry.id
            );
        }
        TriageRuleCommand::List => {
            println!("0\tbuilt-in\tred flags: urgent, for the urgent department (always first)");
            for entry in engine.entries::<RuleDefinition>().await? {
                println!(
                    "{}\t{}\t{}{}\t{}",
                    entry.position,
                    entry.id,
                    entry.definition.name,
                    if entry.definition.enabled {
                        ""
                    } else {
                        " (off)"
                    },
                    serde_json::to_string(&entry.definition)?
                );
            }
        }
        TriageRuleCommand::Remove { id } => {
            engine.remove_entry::<RuleDefinition>(&id).await?;
            audit::<RuleDefinition>(&engine, "remove", &id).await?;
            println!("careloop: removed triage rule {id}");
        }
        TriageRuleCommand::Move { id, to } => {
            let entries = engine.move_entry::<RuleDefinition>(&id, to).await?;
            audit::<RuleDefinition>(&engine, "move", &id).await?;
            let place = entries
                .iter()
                .find(|e| e.id == id)
                .map_or(to, |e| e.position);
            println!("careloop: moved triage rule {id} to {place}");
        }
        TriageRuleCommand::Test {
            text,
            channel,
            language,
            age,
        } => {
            let channel = Channel::parse(&channel)
                .ok_or_else(|| anyhow::anyhow!("--channel: '{channel}' is not sms or email"))?;
            let facts = Facts {
                text: &text,
                channel,
                language: language.as_deref(),
                age,
            };
            let flags = careloop_domain::red_flags::find(&text);
            match engine.triage(&facts, &flags).await? {
                Some(decided) => println!(
                    "{}\tdepartment {}\tpriority {}\ttags {}",
                    decided.rule,
                    decided
                        .department
                        .as_ref()
                        .map_or("unchanged", |d| d.as_str()),
                    decided.priority.map_or("unchanged", |p| p.name()),
                    if decided.tags.is_empty() {
                        "none".to_owned()
                    } else {
                        decided.tags.join(",")
                    }
                ),
                None => println!(
                    "no rule matches: the message keeps its conversation's department and priority"
                ),
            }
        }
    }
    Ok(())
}

pub async fn faq(config: Config, command: FaqCommand) -> anyhow::Result<()> {
    let engine = engine(&config).await?;
    match command {
        FaqCommand::Add {
            title,
            questions,
            answer,
            answer_es,
        } => {
            let definition = FaqDefinition {
                title,
                enabled: true,
                questions,
                answer,
                answer_es,
            };
            let entry: Entry<FaqDefinition> = engine.add_entry(&definition).await?;
            audit::<FaqDefinition>(&engine, "add", &entry.id).await?;
            println!(
                "careloop: added FAQ answer {} ({})",
                entry.definition.title, entry.id
            );
        }
        FaqCommand::List => {
            for entry in engine.entries::<FaqDefinition>().await? {
                println!(
                    "{}\t{}\t{}\t{}",
                    entry.id,
                    entry.definition.title,
                    entry.definition.questions.join(", "),
                    entry.definition.answer
                );
            }
        }
        FaqCommand::Remove { id } => {
            engine.remove_entry::<FaqDefinition>(&id).await?;
            audit::<FaqDefinition>(&engine, "remove", &id).await?;
            println!("careloop: removed FAQ answer {id}");
        }
    }
    Ok(())
}

async fn engine(config: &Config) -> anyhow::Result<Engine> {
    let store = open::data(config).await?;
    open::engine(config, store)
}

async fn audit<D: Definition>(engine: &Engine, verb: &str, id: &str) -> anyhow::Result<()> {
    let book = D::BOOK;
    engine
        .store()
        .audit(
            &OrgId::default_org(),
            "cli",
            &format!("{}.{verb}", book.noun()),
            &format!("Playbook/{}/{id}", book.name()),
        )
        .await?;
    Ok(())
}
