//! When a patient waits past the first-response target, careloop tells the department's
//! on-call contact (a phone gets a text, an email address an email), then, one target
//! later and still unanswered, the next contact on the department's list. The message
//! names no patient and says nothing of what they wrote: only that a conversation of
//! that priority waits, and where to open it. An answer stops the clock and with it the
//! escalation. Each step is pinned to the conversation's version and keyed by its
//! level, so two workers never tell the same contact twice.

use careloop_domain::journey::{Channel, Sending};
use careloop_domain::phi::PhiLevel;
use careloop_domain::{EmailAddress, PhoneNumber};
use careloop_fhir::communication::NewOutbound;
use careloop_store::conversations::{CARELOOP, ConversationQuery, ConversationRecord};
use careloop_store::{Change, StoreError};
use serde_json::json;

use crate::compose::Outgoing;
use crate::{Engine, EngineError};

/// What sent a message to an on-call contact, as its Communication records it.
pub const ESCALATION_STEP: &str = "inbox/escalation";
/// Overdue conversations looked at in one round.
const BATCH: i64 = 50;

impl Engine {
    /// Tells the on-call contacts of every conversation whose answer is overdue; returns
    /// how many conversations it moved on.
    pub(crate) async fn escalate_overdue(&self) -> Result<usize, EngineError> {
        let now = self.store.now();
        let overdue = self
            .store
            .conversations(
                &self.org,
                &ConversationQuery {
                    due_by: Some(now),
                    limit: BATCH,
                    ..ConversationQuery::default()
                },
            )
            .await?;
        let mut moved = 0;
        for record in overdue {
            match self.escalate(record).await {
                Ok(()) => moved += 1,
                // Answered, or escalated by another worker, meanwhile.
                Err(EngineError::Store(StoreError::Conflict)) => {}
                Err(error) => return Err(error),
            }
        }
        if moved > 0 {
            self.nudge();
        }
        Ok(moved)
    }

    async fn escalate(&self, mut record: ConversationRecord) -> Result<(), EngineError> {
        let now = self.store.now();
        let department = record.conversation.department.clone();
        let departments = self.store.departments(&self.org).await?;
        let row = department
            .as_ref()
            .and_then(|key| departments.iter().find(|d| d.id == key.as_str()));
        let contacts: Vec<&str> = row
            .and_then(|d| d.on_call.as_deref())
            .map(|list| {
                list.split(',')
                    .map(str::trim)
                    .filter(|c| !c.is_empty())
                    .collect()
            })
            .unwrap_or_default();
        let level = usize::try_from(record.escalations).unwrap_or(usize::MAX);
        let mut changes = Vec::new();
        let detail = match contacts.get(level) {
            Some(contact) => {
                let (channel, address) = self.on_call_address(contact)?;
                let waited = record
                    .conversation
                    .waiting_since
                    .map_or(0, |since| now.duration_since(since).as_mins().max(0));
                let place = row.map_or("the general queue", |d| d.name.as_str());
                let text = format!(
                    "{}: a message in {place} marked {} has waited {waited} min for a first answer. Open it: {}/inbox/c/{}",
                    self.settings.clinic.name,
                    record.conversation.priority.name(),
                    self.settings.public_url,
                    record.patient,
                );
                let subject = format!("Waiting for an answer: {place}");
                let key = format!(
                    "escalation:{}:{}:{level}",
                    record.patient,
                    record
                        .conversation
                        .waiting_since
                        .map(|w| w.as_microsecond())
                        .unwrap_or_default()
                );
                changes.extend(
                    Outgoing {
                        message: NewOutbound {
                            patient: &record.patient,
                            about: &[],
                            channel,
                            address: &address,
                            text: &text,
                            subject: (channel == Channel::Email).then_some(subject.as_str()),
                            journey_step: ESCALATION_STEP,
                            // To staff, not the patient: the patient's consent does not
                            // bear on it, and it carries nothing about them.
                            sending: Sending::Required,
                            phi: PhiLevel::None,
                            based_on: None,
                            to_patient: false,
                        },
                        blocked: None,
                        not_before: None,
                    }
                    .changes(self, key)?,
                );
                record.escalations += 1;
                // The next contact is told one target later, if still no one answers.
                record.due = self.settings.response_targets.due(
                    record.conversation.priority,
                    now,
                    &self.settings.business_hours,
                );
                if contacts.get(level + 1).is_none() {
                    record.due = None;
                }
                json!({"level": level + 1, "by": channel.name()})
            }
            None => {
                tracing::warn!(
                    department = department.as_ref().map_or("none", |d| d.as_str()),
                    "an overdue conversation has no on-call contact to tell"
                );
                record.due = None;
                json!({"level": level + 1, "by": null})
            }
        };
        let event = self.event(&record.patient, CARELOOP, "escalate", detail, None);
        changes.push(Change::SaveConversation(record));
        changes.push(Change::AddConversationEvent(event));
        self.store.commit(&self.org, &changes).await?;
        Ok(())
    }

    /// Where an on-call contact is reached: an email, else a phone number by text.
    fn on_call_address(&self, contact: &str) -> Result<(Channel, String), EngineError> {
        if contact.contains('@') {
            let email = EmailAddress::parse(contact)
                .map_err(|_| EngineError::Corrupt("a department's on-call contact"))?;
            return Ok((Channel::Email, email.as_str().to_owned()));
        }
        let phone = PhoneNumber::parse(contact, self.settings.region)
            .map_err(|_| EngineError::Corrupt("a department's on-call contact"))?;
        Ok((Channel::Sms, phone.lookup_key().to_owned()))
    }
}

/// Whether a message went to an on-call contact rather than to the patient.
pub fn is_escalation(step: Option<&str>) -> bool {
    step == Some(ESCALATION_STEP)
}
