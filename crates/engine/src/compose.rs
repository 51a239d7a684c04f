//! A journey's effects as writes: a message becomes a Communication (the sealed record
//! of what is said to whom) and an outbox row (its delivery state); a task becomes a
//! FHIR Task. The outbox row's idempotency key is the enrollment and the effect's
//! number, so a step carried out twice queues one message.

use std::collections::HashMap;

use careloop_domain::ResourceId;
use careloop_domain::delivery::DeliveryStatus;
use careloop_domain::journey::run::Effect;
use careloop_domain::journey::{Channel, ChannelChoice, Journey, Purpose, Sending};
use careloop_domain::phi::PhiLevel;
use careloop_fhir::communication::{self, Delivery, NewOutbound};
use careloop_fhir::task::{self, NewTask};
use careloop_store::crypto::new_resource_id;
use careloop_store::work::OutboxRow;
use careloop_store::{Change, Expect, NewVersion, Protection, micros};
use serde_json::Value;

use crate::subject::Subject;
use crate::{Engine, EngineError};

/// Planned writes, with the Communications among them as composed: a message handed
/// over to a sender needs its record as a value, and reading back what was just
/// serialized cost as much as composing it.
#[derive(Default)]
pub(crate) struct Writes {
    pub changes: Vec<Change>,
    /// The body of each Communication put, by id.
    pub drafts: HashMap<String, Value>,
}

impl Writes {
    pub fn push(&mut self, change: Change) {
        self.changes.push(change);
    }

    pub fn extend(&mut self, other: Writes) {
        self.changes.extend(other.changes);
        self.drafts.extend(other.drafts);
    }
}

impl From<Vec<Change>> for Writes {
    fn from(changes: Vec<Change>) -> Self {
        Self {
            changes,
            drafts: HashMap::new(),
        }
    }
}

pub(crate) fn compose(
    engine: &Engine,
    journey: &Journey,
    subject: &Subject,
    appointment: &ResourceId,
    effect: &Effect,
    key: String,
) -> Result<Writes, EngineError> {
    // Nobody to write to, and no key to seal a record under.
    if subject.patient.is_none() {
        return Ok(Writes::default());
    }
    match effect {
        Effect::Send {
            step,
            template,
            channel,
            purpose,
        } => message(
            engine,
            journey,
            subject,
            appointment,
            step,
            template,
            channel,
            *purpose,
            key,
        ),
        Effect::Task { step, title } => {
            let id = new_resource_id();
            let body = task::new(&NewTask {
                id: &id,
                patient: &subject.patient_id,
                appointment: Some(appointment),
                description: title,
                origin: &format!("{}/{step}", journey.name),
                authored: engine.store.now(),
            });
            Ok(vec![put(
                "Task",
                &id,
                &body,
                task::terms(&body),
                &subject.patient_id,
            )?]
            .into())
        }
    }
}

#[expect(
    clippy::too_many_arguments,
    reason = "one message's parts, each needed once"
)]
fn message(
    engine: &Engine,
    journey: &Journey,
    subject: &Subject,
    appointment: &ResourceId,
    step: &str,
    template: &str,
    choice: &ChannelChoice,
    purpose: Purpose,
    key: String,
) -> Result<Writes, EngineError> {
    let channel = match choice {
        ChannelChoice::Preferred => subject.preferred_channel(),
        ChannelChoice::InOrder(channels) => channels
            .iter()
            .copied()
            .find(|c| subject.address(*c).is_some()),
    };
    let address = channel.and_then(|c| subject.address(c));
    let channel = channel.unwrap_or(match choice {
        ChannelChoice::InOrder(channels) => channels.first().copied().unwrap_or(Channel::Sms),
        ChannelChoice::Preferred => Channel::Sms,
    });
    // What stops a message is recorded on it, where staff will see it; it never stops
    // the engine.
    let texts = match subject.facts(&engine.settings) {
        Some(facts) => engine
            .library
            .templates
            .render(template, subject.language(), &facts)
            .and_then(|texts| match channel {
                Channel::Sms => texts.fit_sms(template).map(|()| texts),
                Channel::Email => Ok(texts),
            })
            .map_err(|error| error.to_string()),
        None => Err("the appointment has no start time".to_owned()),
    };
    let (text, subject_line) = match (&texts, channel) {
        (Ok(t), Channel::Sms) => (t.sms.clone(), None),
        (Ok(t), Channel::Email) => (t.email_text.clone(), Some(t.email_subject.clone())),
        (Err(_), _) => (String::new(), None),
    };
    let blocked = match (&address, &texts) {
        (None, _) => Some("the patient has no contact point for this channel"),
        (_, Err(reason)) => Some(reason.as_str()),
        _ => None,
    };
    Outgoing {
        message: NewOutbound {
            patient: &subject.patient_id,
            about: std::slice::from_ref(appointment),
            channel,
            address: address.as_deref().unwrap_or_default(),
            text: &text,
            subject: subject_line.as_deref(),
            journey_step: &format!("{}/{step}", journey.name),
            sending: Sending::Automated(purpose),
            // The built-in templates carry a time, a place and the clinic.
            phi: PhiLevel::Limited,
            based_on: None,
            to_patient: true,
        },
        blocked,
        not_before: None,
    }
    .writes(engine, key)
}

/// One message to queue: its Communication and its outbox row.
pub struct Outgoing<'a> {
    /// What the Communication says of it.
    pub message: NewOutbound<'a>,
    /// Why it cannot go, when that is known already: it is recorded as blocked.
    pub blocked: Option<&'a str>,
    /// Not to be sent before this time; `None` is now.
    pub not_before: Option<jiff::Timestamp>,
}

impl Outgoing<'_> {
    /// The writes that queue the message; `key` makes queuing it twice fail.
    pub fn changes(&self, engine: &Engine, key: String) -> Result<Vec<Change>, EngineError> {
        Ok(self.writes(engine, key)?.changes)
    }

    /// [`Self::changes`], with the Communication as composed.
    pub(crate) fn writes(&self, engine: &Engine, key: String) -> Result<Writes, EngineError> {
        let id = new_resource_id();
        let message = &self.message;
        let mut body = communication::outbound(&id, message);
        let now = micros(engine.store.now());
        let due = self.not_before.map_or(now, |at| micros(at).max(now));
        let status = if self.blocked.is_some() {
            DeliveryStatus::Blocked
        } else {
            DeliveryStatus::Queued
        };
        if let Some(reason) = self.blocked {
            communication::record_delivery(
                &mut body,
                &Delivery {
                    status,
                    provider_id: None,
                    error_code: None,
                    reason: Some(reason),
                    at: engine.store.now(),
                },
            );
        }
        let index = communication::sent_index(&body);
        let row = OutboxRow {
            status: status.name().to_owned(),
            about_id: index.about,
            reason: self.blocked.map(str::to_owned),
            ..OutboxRow::queued(
                id.as_str(),
                key,
                message.patient.as_str(),
                message.channel.name(),
                message.sending.counted().map(Purpose::code),
                due,
                now,
            )
        };
        let changes = vec![
            put("Communication", &id, &body, index.terms, message.patient)?,
            Change::Enqueue(row),
        ];
        Ok(Writes {
            changes,
            drafts: HashMap::from([(id.as_str().to_owned(), body)]),
        })
    }
}

/// A new resource sealed under its patient's key.
pub fn put(
    resource_type: &'static str,
    id: &ResourceId,
    body: &Value,
    terms: Vec<careloop_store::model::Term>,
    patient: &ResourceId,
) -> Result<Change, EngineError> {
    Ok(Change::Put {
        version: NewVersion {
            resource_type,
            id: id.clone(),
            body: serde_json::to_vec(body).map_err(|_| EngineError::Corrupt("a new resource"))?,
            terms,
            start: None,
            end: None,
            protection: Protection::OwnedBy(patient.clone()),
            events: Vec::new(),
        },
        expect: Expect::Absent,
    })
}
