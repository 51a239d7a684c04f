//! A patient's one conversation: what their messages do to it (triage, the first-response
//! clock) and what staff do to it (assign, move it between states, notes). Every change
//! is written with the event that tells of it, pinned to the version read, so two people
//! acting at once never undo each other silently.

use std::collections::HashMap;

use careloop_domain::appointment::AppointmentStatus;
use careloop_domain::business_hours::Priority;
use careloop_domain::conversation::{self, Event, Refused, State};
use careloop_domain::journey::Channel;
use careloop_domain::red_flags::Found;
use careloop_domain::saved_reply;
use careloop_domain::staff::DepartmentKey;
use careloop_domain::triage::{self, Facts, Rule, RuleDefinition};
use careloop_domain::{Patient, ResourceId};
use careloop_fhir::message_view::{self, Message};
use careloop_fhir::resource::ResourceType;
use careloop_store::conversations::{
    Author, CARELOOP, ConversationEvent, ConversationRecord, Preview,
};
use careloop_store::crypto::new_resource_id;
use careloop_store::{Change, StoreError};
use jiff::Timestamp;
use serde_json::json;

pub use crate::subject::addresses_of;
use crate::subject::read_patients;
use crate::{Engine, EngineError};

/// The most messages a conversation shows at once.
const MESSAGES_SHOWN: u32 = 500;
/// The most patients a search in the inbox looks at.
const PATIENTS_FOUND: u32 = 200;
/// Tries of a staff action whose conversation changed while it was being written.
const TRIES: usize = 3;

/// What triage decided about a patient's message, and the rules that decided it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Triage {
    pub department: Option<DepartmentKey>,
    /// None keeps the conversation's priority.
    pub priority: Option<Priority>,
    pub tags: Vec<String>,
    /// The rules, as staff read them on the message.
    pub rule: String,
}

/// A message a patient wrote, as the conversation hears of it.
pub(crate) struct Written<'a> {
    pub channel: Channel,
    pub text: &'a str,
    /// Whether it asks something of staff: careloop carried out what it asked in full
    /// (a confirmation, STOP, an answer of the FAQ assistant) when it does not.
    pub wants_staff: bool,
    pub flags: &'a [Found],
    /// The patient, if on record, for the rules that look at who wrote.
    pub patient: Option<&'a Patient>,
    /// The FAQ answer the assistant gave, by title.
    pub answered: Option<&'a str>,
}
/// What a person does to a conversation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    Assign(Option<String>),
    Pend,
    Snooze(Timestamp),
    Resolve,
    Reopen,
    Route {
        department: Option<DepartmentKey>,
        priority: Priority,
    },
    Tag(String),
    Untag(String),
    /// An internal note: staff see it, the patient never does.
    Note(String),
}

impl Action {
    /// What kind of event it makes, as the conversation and the audit log name it.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Assign(_) => "assign",
            Self::Pend | Self::Snooze(_) | Self::Resolve | Self::Reopen => "state",
            Self::Route { .. } => "route",
            Self::Tag(_) => "tag",
            Self::Untag(_) => "untag",
            Self::Note(_) => "note",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ActError {
    #[error("the patient has no conversation")]
    NoConversation,
    #[error(transparent)]
    Refused(#[from] Refused),
    #[error("a note is 1 to 4000 characters")]
    BadNote,
    #[error(transparent)]
    Engine(#[from] EngineError),
}

impl From<StoreError> for ActError {
    fn from(error: StoreError) -> Self {
        Self::Engine(error.into())
    }
}

/// The longest internal note.
const NOTE_CHARS: usize = 4000;

/// What triage decides of a message: the built-in red flags make it urgent, for the
/// urgent department; otherwise the first of the clinic's rules that matched decides.
/// The red flags are never overruled: a rule that matched too adds only its tags.
pub fn decide(
    flags: &[Found],
    urgent: Option<&DepartmentKey>,
    rule: Option<&Rule>,
) -> Option<Triage> {
    let ruled = rule.map(|r| format!("rule '{}'", r.name));
    let tags = rule.map(|r| r.outcome.tags.clone()).unwrap_or_default();
    if flags.is_empty() {
        let rule = rule?;
        return Some(Triage {
            department: rule.outcome.department.clone(),
            priority: rule.outcome.priority,
            tags,
            rule: ruled.unwrap_or_default(),
        });
    }
    let names: Vec<&str> = flags.iter().map(|f| f.flag.name()).collect();
    let label = if flags.len() > 1 {
        "red flags"
    } else {
        "red flag"
    };
    let mut decided = format!("built-in {label}: {}", names.join(", "));
    if let Some(ruled) = ruled {
        decided.push_str("; tags from ");
        decided.push_str(&ruled);
    }
    Some(Triage {
        department: urgent
            .cloned()
            .or_else(|| rule.and_then(|r| r.outcome.department.clone())),
        priority: Some(Priority::Urgent),
        tags,
        rule: decided,
    })
}

impl Engine {
    /// The writes that add a patient's message to their conversation: it opens again
    /// and starts the clock when it wants staff, triage routes it, and the queue's
    /// preview shows it. A message careloop answered in full (a confirmation, STOP)
    /// changes nothing for staff.
    pub(crate) async fn patient_wrote(
        &self,
        patient: &ResourceId,
        written: &Written<'_>,
    ) -> Result<Vec<Change>, EngineError> {
        let now = self.store.now();
        let preview = Preview::new(Author::Patient, written.text);
        let stored = self.store.conversation(&self.org, patient).await?;
        let is_new = stored.is_none();
        let mut record = stored
            .unwrap_or_else(|| ConversationRecord::new(patient.clone(), now, preview.clone()));
        if is_new && !written.wants_staff {
            record.conversation.state = State::Resolved;
        }
        let mut events = Vec::new();
        if let Some(title) = written.answered {
            events.push(self.event(patient, CARELOOP, "faq", json!({"answer": title}), None));
        }
        if written.wants_staff {
            // Priority only rises while the patient waits; a new wait starts afresh.
            let before_wait = record.conversation.clone();
            let before = record.conversation.state.clone();
            record.conversation =
                conversation::apply(&record.conversation, &Event::PatientWrote, now)
                    .map_err(|_| EngineError::Corrupt("a conversation"))?;
            if before == State::Resolved && !is_new {
                events.push(self.event(
                    patient,
                    CARELOOP,
                    "state",
                    json!({"state": "open", "because": "the patient wrote"}),
                    None,
                ));
            }
            let facts = self.facts(written);
            if let Some(triage) = self.triage(&facts, written.flags).await? {
                events.push(self.event(
                    patient,
                    CARELOOP,
                    "triage",
                    json!({
                        "rule": triage.rule,
                        "department": triage.department.as_ref().map(DepartmentKey::as_str),
                        "priority": triage.priority.map(Priority::name),
                        "tags": triage.tags,
                    }),
                    None,
                ));
                let priority = triage
                    .priority
                    .map_or(record.conversation.priority, |p| before_wait.escalated(p));
                let department = triage
                    .department
                    .or_else(|| record.conversation.department.clone());
                let mut steps = vec![Event::Route {
                    department,
                    priority,
                }];
                steps.extend(triage.tags.into_iter().map(Event::Tag));
                for step in &steps {
                    record.conversation = conversation::apply(&record.conversation, step, now)
                        .map_err(|_| EngineError::Corrupt("a conversation"))?;
                }
            }
        }
        self.set_due(&mut record);
        record.last_channel = Some(written.channel.name().to_owned());
        record.last_message_at = now;
        record.preview = preview;
        let words = careloop_domain::words::searchable(written.text);
        let mut changes = vec![Change::SaveConversation(record)];
        changes.extend(events.into_iter().map(Change::AddConversationEvent));
        if !words.is_empty() {
            changes.push(Change::IndexWords {
                patient: patient.clone(),
                words,
            });
        }
        Ok(changes)
    }

    /// What the red flags and the clinic's rules decide of a message: what the inbox
    /// records when it arrives, and what an admin trying a rule out is shown.
    pub async fn triage(
        &self,
        facts: &Facts<'_>,
        flags: &[Found],
    ) -> Result<Option<Triage>, EngineError> {
        let rules = self.in_use::<RuleDefinition>().await?;
        let rule = triage::first_match(&rules, facts);
        let urgent = if flags.is_empty() {
            None
        } else {
            self.existing_department(&self.settings.urgent_department)
                .await?
        };
        Ok(decide(flags, urgent.as_ref(), rule))
    }

    /// What the rules may look at of a message and its patient.
    fn facts<'a>(&self, written: &Written<'a>) -> Facts<'a> {
        let today = self
            .store
            .now()
            .to_zoned(self.settings.clinic.zone.clone())
            .date();
        Facts {
            text: written.text,
            channel: written.channel,
            language: written
                .patient
                .and_then(|p| p.language.as_ref())
                .map(|l| l.language()),
            age: written
                .patient
                .and_then(|p| p.birth_date)
                .and_then(|born| born.age_on(today)),
        }
    }

    /// The department, if the clinic has it.
    async fn existing_department(
        &self,
        key: &DepartmentKey,
    ) -> Result<Option<DepartmentKey>, EngineError> {
        let departments = self.store.departments(&self.org).await?;
        Ok(departments
            .iter()
            .any(|d| d.id == key.as_str())
            .then(|| key.clone()))
    }

    /// Sets when the first answer is due, from the clock and the priority; a new clock
    /// starts its escalations afresh.
    fn set_due(&self, record: &mut ConversationRecord) {
        let due = record.conversation.answer_due(
            &self.settings.response_targets,
            &self.settings.business_hours,
        );
        if due.is_none() || record.due.is_none() {
            record.escalations = 0;
        }
        record.due = due;
    }

    pub(crate) fn event(
        &self,
        patient: &ResourceId,
        actor: &str,
        kind: &str,
        detail: serde_json::Value,
        note: Option<String>,
    ) -> ConversationEvent {
        ConversationEvent {
            id: new_resource_id().as_str().to_owned(),
            patient: patient.clone(),
            at: self.store.now(),
            actor: actor.to_owned(),
            kind: kind.to_owned(),
            detail: detail.to_string(),
            note,
        }
    }

    /// The latest messages to and from a patient, on every channel, oldest first.
    pub async fn messages_of(&self, patient: &ResourceId) -> Result<Vec<Message>, EngineError> {
        let params = [("patient".to_owned(), patient.as_str().to_owned())];
        let resources = self
            .fhir()
            .newest(
                &self.org,
                ResourceType::Communication,
                &params,
                MESSAGES_SHOWN,
            )
            .await
            .map_err(|error| EngineError::Fhir(error.status))?;
        let mut messages: Vec<Message> =
            resources.iter().filter_map(message_view::message).collect();
        // At one instant, what the patient wrote comes before what answered it.
        messages
            .sort_by(|a, b| (a.at, !a.from_patient, &a.id).cmp(&(b.at, !b.from_patient, &b.id)));
        Ok(messages)
    }

    /// The patients a person's search names: by email with an `@`, by phone when it
    /// reads as a number, else by every word of a name. At most a page of them.
    pub async fn find_patients(&self, query: &str) -> Result<Vec<ResourceId>, EngineError> {
        let query = query.trim();
        if query.contains('@') {
            return self
                .matching(&[("email".to_owned(), query.to_owned())])
                .await;
        }
        if careloop_domain::PhoneNumber::parse(query, self.settings.region).is_ok()
            && query.chars().filter(char::is_ascii_digit).count() >= 7
        {
            return self
                .matching(&[("phone".to_owned(), query.to_owned())])
                .await;
        }
        // By name, then by what they wrote: each patient once, names first.
        let names: Vec<(String, String)> = careloop_domain::words::words(query)
            .into_iter()
            .map(|word| ("name".to_owned(), word))
            .collect();
        let mut found = self.matching(&names).await?;
        let writers = self
            .store
            .writers_of(
                &self.org,
                &careloop_domain::words::searchable(query),
                i64::from(PATIENTS_FOUND),
            )
            .await?;
        let most = usize::try_from(PATIENTS_FOUND).unwrap_or(usize::MAX);
        for writer in writers {
            if found.len() >= most {
                break;
            }
            if !found.contains(&writer) {
                found.push(writer);
            }
        }
        Ok(found)
    }

    /// The newest patients a FHIR search finds, by id.
    async fn matching(&self, params: &[(String, String)]) -> Result<Vec<ResourceId>, EngineError> {
        if params.is_empty() {
            return Ok(Vec::new());
        }
        match self
            .fhir()
            .newest_ids(&self.org, ResourceType::Patient, params, PATIENTS_FOUND)
            .await
        {
            Ok(found) => Ok(found),
            // Not an address or a name careloop can look for: nobody has it.
            Err(error) if error.status == 400 => Ok(Vec::new()),
            Err(error) => Err(EngineError::Fhir(error.status)),
        }
    }

    /// The patients of `ids` on record, by id.
    pub async fn patients(
        &self,
        ids: &[ResourceId],
    ) -> Result<HashMap<ResourceId, Patient>, EngineError> {
        read_patients(&self.store, &self.org, &self.settings, ids).await
    }

    /// Carries out what `actor` (a staff account's id) does to a patient's conversation.
    pub async fn act(
        &self,
        patient: &ResourceId,
        actor: &str,
        action: &Action,
    ) -> Result<ConversationRecord, ActError> {
        for _ in 0..TRIES {
            let mut record = self
                .store
                .conversation(&self.org, patient)
                .await?
                .ok_or(ActError::NoConversation)?;
            let now = self.store.now();
            let (event, detail, note) = match action {
                Action::Assign(who) => (
                    Some(Event::Assign(who.clone())),
                    json!({"assignee": who}),
                    None,
                ),
                Action::Pend => (Some(Event::Pend), json!({"state": "pending"}), None),
                Action::Snooze(until) => (
                    Some(Event::Snooze { until: *until }),
                    json!({"state": "snoozed", "until": until.to_string()}),
                    None,
                ),
                Action::Resolve => {
                    let mut detail = json!({"state": "resolved"});
                    let c = &record.conversation;
                    if c.state != State::Resolved
                        && let Some(opened) = c.opened_at
                    {
                        crate::figures::measured(&mut detail, "resolution_s", c, opened, now);
                    }
                    (Some(Event::Resolve), detail, None)
                }
                Action::Reopen => (Some(Event::Reopen), json!({"state": "open"}), None),
                Action::Route {
                    department,
                    priority,
                } => (
                    Some(Event::Route {
                        department: department.clone(),
                        priority: *priority,
                    }),
                    json!({
                        "department": department.as_ref().map(DepartmentKey::as_str),
                        "priority": priority.name(),
                    }),
                    None,
                ),
                Action::Tag(tag) => (
                    Some(Event::Tag(tag.clone())),
                    json!({"tag": tag.trim().to_lowercase()}),
                    None,
                ),
                Action::Untag(tag) => (
                    Some(Event::Untag(tag.clone())),
                    json!({"tag": tag.trim()}),
                    None,
                ),
                Action::Note(text) => {
                    let text = text.trim();
                    if text.is_empty() || text.chars().count() > NOTE_CHARS {
                        return Err(ActError::BadNote);
                    }
                    (None, json!({}), Some(text.to_owned()))
                }
            };
            if let Some(event) = &event {
                record.conversation = conversation::apply(&record.conversation, event, now)?;
            }
            self.set_due(&mut record);
            let saved = record.clone();
            let changes = vec![
                Change::SaveConversation(record),
                Change::AddConversationEvent(self.event(
                    patient,
                    actor,
                    action.kind(),
                    detail,
                    note,
                )),
            ];
            match self.store.commit(&self.org, &changes).await {
                Ok(_) => {
                    return Ok(ConversationRecord {
                        version: saved.version + 1,
                        ..saved
                    });
                }
                Err(StoreError::Conflict) => continue,
                Err(other) => return Err(other.into()),
            }
        }
        Err(EngineError::Busy.into())
    }
}

/// The conversation as the first-response clock reads it at `now`.
pub fn is_overdue(record: &ConversationRecord, now: Timestamp) -> bool {
    record.due.is_some_and(|due| due <= now)
}

/// The channels `patient` can be reached on, most preferred first.
pub fn channels_of(patient: &Patient) -> Vec<Channel> {
    let mut channels: Vec<Channel> = Vec::new();
    for (channel, _) in addresses_of(patient) {
        if !channels.contains(&channel) {
            channels.push(channel);
        }
    }
    channels
}

/// A saved reply as it reads for one patient.
pub struct FilledReply {
    pub id: String,
    pub title: String,
    pub text: String,
}

impl Engine {
    /// The saved replies of `department` and those for everyone, filled in for
    /// `patient`: their first name, their next booked appointment (in their zone and
    /// language), the clinic's hours, name and phone.
    pub async fn saved_replies_for(
        &self,
        patient: &Patient,
        department: Option<&DepartmentKey>,
    ) -> Result<Vec<FilledReply>, EngineError> {
        let replies: Vec<_> = self
            .store
            .saved_replies(&self.org)
            .await?
            .into_iter()
            .filter(|r| {
                r.department.is_none()
                    || r.department.as_deref() == department.map(DepartmentKey::as_str)
            })
            .collect();
        if replies.is_empty() {
            return Ok(Vec::new());
        }
        let next = self.next_appointment(patient).await?;
        let hours = self.settings.business_hours.describe();
        let vars = saved_reply::Vars {
            first_name: patient.first_name(),
            next_appointment: next.as_deref(),
            clinic_hours: &hours,
            clinic_name: &self.settings.clinic.name,
            clinic_phone: &self.settings.clinic.phone,
        };
        Ok(replies
            .into_iter()
            .map(|r| FilledReply {
                text: saved_reply::fill(&r.body, &vars),
                id: r.id,
                title: r.title,
            })
            .collect())
    }

    /// The patient's next booked appointment, as they read its time.
    async fn next_appointment(&self, patient: &Patient) -> Result<Option<String>, EngineError> {
        Ok(self
            .appointments_ahead(patient)
            .await?
            .into_iter()
            .find(|a| a.status == AppointmentStatus::Booked.code())
            .map(|a| a.when))
    }
}
