//! A person's answer to a patient, in the channel the patient last wrote from or another
//! the patient can be reached on. It meets the gates an automated message meets before it
//! is queued, so the person learns at once why it cannot go: the patient said stop on
//! that channel, the channel may not carry what it says, or (unless the conversation is
//! urgent) it is quiet hours where the patient lives and the text waits for the morning.

use careloop_domain::ResourceId;
use careloop_domain::business_hours::Priority;
use careloop_domain::conversation::{self, Event};
use careloop_domain::journey::{Channel, Purpose, Sending};
use careloop_domain::phi::PhiLevel;
use careloop_fhir::communication::NewOutbound;
use careloop_store::conversations::{Author, ConversationRecord, Preview};
use careloop_store::{Change, StoreError};
use jiff::Timestamp;
use serde_json::json;

use crate::compose::Outgoing;
use crate::subject::{addresses_of, read_patient, zone_of};
use crate::{Engine, EngineError};

/// What sent a person's answer, as its Communication records it.
pub const REPLY_STEP: &str = "inbox/reply";
/// The longest answer: an email's worth; a text splits into segments.
const REPLY_CHARS: usize = 4000;

/// A person's answer.
pub struct StaffReply<'a> {
    pub patient: &'a ResourceId,
    /// The staff account's id.
    pub actor: &'a str,
    /// `None`: the channel the patient last wrote from, else their preferred one.
    pub channel: Option<Channel>,
    pub text: &'a str,
}

/// What became of an answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Replied {
    /// Queued to go now, as this Communication.
    Queued { id: ResourceId, channel: Channel },
    /// Queued to go at `until`, for `reason`.
    Deferred {
        id: ResourceId,
        channel: Channel,
        until: Timestamp,
        reason: String,
    },
}

/// Why an answer was not queued; nothing was written.
#[derive(Debug, thiserror::Error)]
pub enum ReplyRefused {
    #[error("an answer is 1 to 4000 characters")]
    BadText,
    #[error("the patient cannot be reached by {0}")]
    NoAddress(&'static str),
    #[error("the patient is not on record")]
    NoPatient,
    /// A gate holds it back, for this reason.
    #[error("{0}")]
    Held(String),
    #[error(transparent)]
    Engine(#[from] EngineError),
}

impl From<StoreError> for ReplyRefused {
    fn from(error: StoreError) -> Self {
        Self::Engine(error.into())
    }
}

/// Tries of an answer whose conversation changed while it was being written.
const TRIES: usize = 3;

fn what(channel: Channel) -> &'static str {
    match channel {
        Channel::Sms => "text message",
        Channel::Email => "email",
    }
}

impl Engine {
    /// Queues a person's answer, after the gates, and stops the first-response clock.
    pub async fn reply(&self, reply: &StaffReply<'_>) -> Result<Replied, ReplyRefused> {
        let text = reply.text.trim();
        if text.is_empty() || text.chars().count() > REPLY_CHARS {
            return Err(ReplyRefused::BadText);
        }
        let patient = read_patient(&self.store, &self.org, &self.settings, reply.patient)
            .await?
            .ok_or(ReplyRefused::NoPatient)?;
        for _ in 0..TRIES {
            let now = self.store.now();
            let stored = self.store.conversation(&self.org, reply.patient).await?;
            let addresses = addresses_of(&patient);
            let channel = reply
                .channel
                .or_else(|| {
                    stored
                        .as_ref()
                        .and_then(|r| r.last_channel.as_deref())
                        .and_then(Channel::parse)
                })
                .or_else(|| addresses.first().map(|(c, _)| *c))
                .unwrap_or(Channel::Sms);
            let address = addresses
                .iter()
                .find(|(c, _)| *c == channel)
                .map(|(_, a)| a.clone())
                .ok_or(ReplyRefused::NoAddress(what(channel)))?;
            // A person's answer says what they write: it may carry what a text may not.
            let phi = PhiLevel::Limited;
            if let Err(held) = self.settings.phi.check(channel, phi) {
                return Err(ReplyRefused::Held(held.to_string()));
            }
            if let Err(held) = self
                .consent_gate(channel, &address, Purpose::Transactional)
                .await?
            {
                return Err(ReplyRefused::Held(held.to_string()));
            }
            let mut record = stored.unwrap_or_else(|| {
                ConversationRecord::new(
                    reply.patient.clone(),
                    now,
                    Preview::new(Author::Staff, text),
                )
            });
            let urgent = record.conversation.priority == Priority::Urgent;
            let zone = zone_of(Some(&patient), &self.settings);
            let deferred = (channel == Channel::Sms && !urgent)
                .then(|| self.settings.quiet_hours.defer(now, &zone))
                .flatten();
            let subject = format!("A message from {}", self.settings.clinic.name);
            let step = REPLY_STEP;
            let writes = Outgoing {
                message: NewOutbound {
                    patient: reply.patient,
                    about: &[],
                    channel,
                    address: &address,
                    text,
                    subject: (channel == Channel::Email).then_some(subject.as_str()),
                    journey_step: step,
                    // Checked above, and again by the dispatcher as it goes.
                    sending: Sending::Person,
                    phi,
                    based_on: None,
                    to_patient: true,
                },
                blocked: None,
                not_before: deferred,
            }
            .changes(
                self,
                format!("reply:{}", careloop_store::crypto::new_resource_id()),
            )?;
            let id = writes
                .iter()
                .find_map(|change| match change {
                    Change::Put { version, .. } => Some(version.id.clone()),
                    _ => None,
                })
                .ok_or(EngineError::Corrupt("an answer"))?;
            // The first answer to a waiting patient stops the clock: its time is a figure.
            let mut detail = json!({"message": id.as_str(), "channel": channel.name()});
            if let Some(since) = record.conversation.waiting_since {
                crate::figures::measured(
                    &mut detail,
                    "first_response_s",
                    &record.conversation,
                    since,
                    now,
                );
            }
            record.conversation =
                conversation::apply(&record.conversation, &Event::StaffReplied, now)
                    .map_err(|_| EngineError::Corrupt("a conversation"))?;
            record.due = None;
            record.escalations = 0;
            record.last_channel = Some(channel.name().to_owned());
            record.last_message_at = now;
            record.preview = Preview::new(Author::Staff, text);
            let event = self.event(reply.patient, reply.actor, "reply", detail, None);
            let mut changes = writes;
            changes.push(Change::SaveConversation(record));
            changes.push(Change::AddConversationEvent(event));
            match self.store.commit(&self.org, &changes).await {
                Ok(_) => {
                    self.nudge();
                    return Ok(match deferred {
                        Some(until) => Replied::Deferred {
                            id,
                            channel,
                            until,
                            reason: format!("quiet hours ({})", self.settings.quiet_hours),
                        },
                        None => Replied::Queued { id, channel },
                    });
                }
                Err(StoreError::Conflict) => continue,
                Err(other) => return Err(other.into()),
            }
        }
        Err(EngineError::Busy.into())
    }
}
