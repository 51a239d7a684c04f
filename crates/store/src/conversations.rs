//! Conversations as the store keeps them: one row per patient that the queue sorts and
//! filters by, and the events staff and triage add to it. The preview of the last
//! message and every internal note are sealed under the patient's data key, so erasing
//! the patient makes them unreadable with the rest of the record.

use std::collections::BTreeSet;

use careloop_domain::business_hours::Priority;
use careloop_domain::conversation::{Conversation, State};
use careloop_domain::staff::DepartmentKey;
use careloop_domain::{OrgId, ResourceId};
use jiff::Timestamp;

use crate::crypto::DataKey;
use crate::{Store, StoreError, from_micros, micros};

/// Who wrote the last message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Author {
    Patient,
    Staff,
    /// An automated message: a reminder, an answer careloop gave itself.
    Careloop,
}

impl Author {
    pub fn name(self) -> &'static str {
        match self {
            Self::Patient => "patient",
            Self::Staff => "staff",
            Self::Careloop => "careloop",
        }
    }

    fn parse(name: &str) -> Option<Self> {
        [Self::Patient, Self::Staff, Self::Careloop]
            .into_iter()
            .find(|a| a.name() == name)
    }
}

/// The last message, as the queue shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct Preview {
    pub from: Author,
    /// At most [`PREVIEW_CHARS`] characters.
    pub text: String,
}

/// The words are health data: never printed.
impl std::fmt::Debug for Preview {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Preview")
            .field("from", &self.from)
            .finish_non_exhaustive()
    }
}

/// How much of the last message the queue keeps.
pub const PREVIEW_CHARS: usize = 160;

impl Preview {
    pub fn new(from: Author, text: &str) -> Self {
        Self {
            from,
            text: text.chars().take(PREVIEW_CHARS).collect(),
        }
    }

    fn to_bytes(&self) -> Vec<u8> {
        format!("{}\n{}", self.from.name(), self.text).into_bytes()
    }

    fn from_bytes(bytes: &[u8]) -> Option<Self> {
        let text = std::str::from_utf8(bytes).ok()?;
        let (from, text) = text.split_once('\n')?;
        Some(Self {
            from: Author::parse(from)?,
            text: text.to_owned(),
        })
    }
}

/// A patient's conversation, its preview opened.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConversationRecord {
    pub patient: ResourceId,
    pub conversation: Conversation,
    /// When the first-response target passes, while a patient waits.
    pub due: Option<Timestamp>,
    /// How many on-call levels were told the answer is late.
    pub escalations: i64,
    pub last_channel: Option<String>,
    pub last_message_at: Timestamp,
    pub preview: Preview,
    /// 0 for a conversation not stored yet; saving it fails with a conflict if another
    /// write got there first.
    pub version: i64,
}

impl ConversationRecord {
    /// The conversation a patient's first message starts.
    pub fn new(patient: ResourceId, at: Timestamp, preview: Preview) -> Self {
        Self {
            patient,
            conversation: Conversation::new(),
            due: None,
            escalations: 0,
            last_channel: None,
            last_message_at: at,
            preview,
            version: 0,
        }
    }
}

/// Something that happened to a conversation, besides its messages.
#[derive(Clone, PartialEq, Eq)]
pub struct ConversationEvent {
    pub id: String,
    pub patient: ResourceId,
    pub at: Timestamp,
    /// A staff account's id, or [`CARELOOP`].
    pub actor: String,
    /// `note`, `assign`, `state`, `route`, `tag`, `reply`, `triage`, `escalate`.
    pub kind: String,
    /// JSON of what changed; never a name, an address or a message's words.
    pub detail: String,
    /// An internal note's words, for staff only.
    pub note: Option<String>,
}

/// A note is health data: never printed.
impl std::fmt::Debug for ConversationEvent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConversationEvent")
            .field("id", &self.id)
            .field("patient", &self.patient)
            .field("kind", &self.kind)
            .field("detail", &self.detail)
            .finish_non_exhaustive()
    }
}

/// The actor of what careloop decided itself.
pub const CARELOOP: &str = "careloop";

/// Which conversations a queue shows.
#[derive(Clone, Debug, Default)]
pub struct ConversationQuery {
    /// Only in these states; any state when empty.
    pub states: Vec<&'static str>,
    /// Only of these departments (and, with `unrouted`, of none); any when `None`.
    pub departments: Option<Vec<String>>,
    pub unrouted: bool,
    /// `Some(Some(id))`: assigned to this account; `Some(None)`: to nobody.
    pub assignee: Option<Option<String>>,
    pub priority: Option<Priority>,
    pub channel: Option<String>,
    /// Only these patients' (a search's result).
    pub patients: Option<Vec<String>>,
    /// Only those whose first answer is due by then.
    pub due_by: Option<Timestamp>,
    pub limit: i64,
    pub offset: i64,
}

/// A conversation as stored: its preview sealed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConversationRow {
    pub patient_id: String,
    pub state: String,
    pub snoozed_until_us: Option<i64>,
    pub assignee: Option<String>,
    pub department: Option<String>,
    pub priority: i64,
    pub tags: String,
    pub waiting_since_us: Option<i64>,
    pub opened_us: Option<i64>,
    pub due_us: Option<i64>,
    pub escalations: i64,
    pub last_channel: Option<String>,
    pub last_message_us: i64,
    /// The order within a priority ([`queue_us`]).
    pub queue_us: i64,
    pub key_id: String,
    pub preview: Vec<u8>,
    pub version: i64,
    pub created_us: i64,
    pub updated_us: i64,
}

/// How many conversations of a department (`None`: the general queue) and priority
/// rank are still open, and how many of them overdue.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpenCount {
    pub department: Option<String>,
    pub priority: i64,
    pub open: i64,
    pub overdue: i64,
}

/// An event as stored: its note sealed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConversationEventRow {
    pub id: String,
    pub patient_id: String,
    pub at_us: i64,
    pub actor: String,
    pub kind: String,
    pub detail: String,
    pub key_id: Option<String>,
    pub note: Option<Vec<u8>>,
}

/// Past every instant a patient may have waited since: conversations no one waits on
/// come after those someone does.
const NOT_WAITING: i64 = 1 << 62;

/// A conversation's place within its priority: the instant its patient waits since
/// (the longest wait first), else after every waiting one, the latest message first.
pub fn queue_us(waiting_since_us: Option<i64>, last_message_us: i64) -> i64 {
    waiting_since_us.unwrap_or_else(|| NOT_WAITING.saturating_sub(last_message_us))
}

fn preview_aad(org: &OrgId, patient: &str, version: i64) -> Vec<u8> {
    format!("{}/conversation/{patient}/{version}", org.as_str()).into_bytes()
}

fn note_aad(org: &OrgId, id: &str) -> Vec<u8> {
    format!("{}/conversation-event/{id}", org.as_str()).into_bytes()
}

/// The row of `record` at its next version, sealed under `key`.
pub(crate) fn seal_conversation(
    org: &OrgId,
    record: &ConversationRecord,
    key_id: &str,
    key: &DataKey,
    now: Timestamp,
) -> ConversationRow {
    let c = &record.conversation;
    let version = record.version + 1;
    let (state, snoozed_until_us) = match &c.state {
        State::Snoozed { until } => ("snoozed", Some(micros(*until))),
        other => (other.name(), None),
    };
    ConversationRow {
        patient_id: record.patient.as_str().to_owned(),
        state: state.to_owned(),
        snoozed_until_us,
        assignee: c.assignee.clone(),
        department: c.department.as_ref().map(|d| d.as_str().to_owned()),
        priority: c.priority.rank(),
        tags: c.tags.iter().cloned().collect::<Vec<_>>().join(","),
        waiting_since_us: c.waiting_since.map(micros),
        opened_us: c.opened_at.map(micros),
        due_us: record.due.map(micros),
        escalations: record.escalations,
        last_channel: record.last_channel.clone(),
        last_message_us: micros(record.last_message_at),
        queue_us: queue_us(c.waiting_since.map(micros), micros(record.last_message_at)),
        key_id: key_id.to_owned(),
        preview: key.seal(
            &preview_aad(org, record.patient.as_str(), version),
            &record.preview.to_bytes(),
        ),
        version,
        created_us: micros(now),
        updated_us: micros(now),
    }
}

pub(crate) fn seal_event(
    org: &OrgId,
    event: &ConversationEvent,
    key: Option<(&str, &DataKey)>,
) -> ConversationEventRow {
    let (key_id, note) = match (key, &event.note) {
        (Some((key_id, key)), Some(note)) => (
            Some(key_id.to_owned()),
            Some(key.seal(&note_aad(org, &event.id), note.as_bytes())),
        ),
        _ => (None, None),
    };
    ConversationEventRow {
        id: event.id.clone(),
        patient_id: event.patient.as_str().to_owned(),
        at_us: micros(event.at),
        actor: event.actor.clone(),
        kind: event.kind.clone(),
        detail: event.detail.clone(),
        key_id,
        note,
    }
}

fn open_conversation(
    org: &OrgId,
    row: ConversationRow,
    key: &DataKey,
) -> Result<ConversationRecord, StoreError> {
    let corrupt = || StoreError::Decrypt;
    let preview = key
        .open(
            &preview_aad(org, &row.patient_id, row.version),
            &row.preview,
        )
        .ok()
        .and_then(|bytes| Preview::from_bytes(&bytes))
        .ok_or_else(corrupt)?;
    let state = match row.state.as_str() {
        "open" => State::Open,
        "pending" => State::Pending,
        "resolved" => State::Resolved,
        "snoozed" => State::Snoozed {
            until: from_micros(row.snoozed_until_us.ok_or_else(corrupt)?),
        },
        _ => return Err(corrupt()),
    };
    let tags: BTreeSet<String> = row
        .tags
        .split(',')
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
        .collect();
    Ok(ConversationRecord {
        patient: ResourceId::parse(&row.patient_id).map_err(|_| corrupt())?,
        conversation: Conversation {
            state,
            assignee: row.assignee,
            department: row
                .department
                .map(|d| DepartmentKey::parse(&d))
                .transpose()
                .map_err(|_| corrupt())?,
            priority: Priority::from_rank(row.priority).ok_or_else(corrupt)?,
            tags,
            waiting_since: row.waiting_since_us.map(from_micros),
            opened_at: row.opened_us.map(from_micros),
        },
        due: row.due_us.map(from_micros),
        escalations: row.escalations,
        last_channel: row.last_channel,
        last_message_at: from_micros(row.last_message_us),
        preview,
        version: row.version,
    })
}

impl Store {
    /// The conversations still open, by department and priority, with how many of
    /// them are overdue now.
    pub async fn open_conversation_counts(
        &self,
        org: &OrgId,
    ) -> Result<Vec<OpenCount>, StoreError> {
        Ok(self
            .backend()
            .open_conversation_counts(org.as_str(), micros(self.now()))
            .await?)
    }

    /// The details (JSON) of the conversation events of `kind` since `since`, newest
    /// first, at most `limit`: what the inbox's figures are made of.
    pub async fn event_details_since(
        &self,
        org: &OrgId,
        kind: &str,
        since: Timestamp,
        limit: i64,
    ) -> Result<Vec<String>, StoreError> {
        Ok(self
            .backend()
            .event_details_since(org.as_str(), kind, micros(since), limit)
            .await?)
    }

    /// A patient's conversation, if they ever wrote or were written to by staff.
    pub async fn conversation(
        &self,
        org: &OrgId,
        patient: &ResourceId,
    ) -> Result<Option<ConversationRecord>, StoreError> {
        let Some(row) = self
            .backend()
            .conversation(org.as_str(), patient.as_str())
            .await?
        else {
            return Ok(None);
        };
        Ok(self.open_conversations(org, vec![row]).await?.pop())
    }

    /// A page of a queue: most urgent first, then the longest waiting, then the latest.
    pub async fn conversations(
        &self,
        org: &OrgId,
        query: &ConversationQuery,
    ) -> Result<Vec<ConversationRecord>, StoreError> {
        let rows = self.backend().conversations(org.as_str(), query).await?;
        self.open_conversations(org, rows).await
    }

    /// How many conversations a query matches, all pages together.
    pub async fn count_conversations(
        &self,
        org: &OrgId,
        query: &ConversationQuery,
    ) -> Result<i64, StoreError> {
        Ok(self
            .backend()
            .count_conversations(org.as_str(), query)
            .await?)
    }

    async fn open_conversations(
        &self,
        org: &OrgId,
        rows: Vec<ConversationRow>,
    ) -> Result<Vec<ConversationRecord>, StoreError> {
        let keys = self
            .call_keys(org, rows.iter().map(|r| r.key_id.as_str()))
            .await?;
        rows.into_iter()
            .map(|row| {
                let key = keys.get(&row.key_id).ok_or(StoreError::KeyDestroyed)?;
                open_conversation(org, row, key)
            })
            .collect()
    }

    /// What happened to a patient's conversation besides messages, oldest first.
    pub async fn conversation_events(
        &self,
        org: &OrgId,
        patient: &ResourceId,
    ) -> Result<Vec<ConversationEvent>, StoreError> {
        let rows = self
            .backend()
            .conversation_events(org.as_str(), patient.as_str())
            .await?;
        let keys = self
            .call_keys(org, rows.iter().filter_map(|r| r.key_id.as_deref()))
            .await?;
        rows.into_iter()
            .map(|row| {
                let note = match (&row.key_id, &row.note) {
                    (Some(key_id), Some(sealed)) => {
                        let key = keys.get(key_id).ok_or(StoreError::KeyDestroyed)?;
                        let bytes = key
                            .open(&note_aad(org, &row.id), sealed)
                            .map_err(|_| StoreError::Decrypt)?;
                        Some(String::from_utf8(bytes).map_err(|_| StoreError::Decrypt)?)
                    }
                    _ => None,
                };
                Ok(ConversationEvent {
                    patient: ResourceId::parse(&row.patient_id).map_err(|_| StoreError::Decrypt)?,
                    id: row.id,
                    at: from_micros(row.at_us),
                    actor: row.actor,
                    kind: row.kind,
                    detail: row.detail,
                    note,
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_longest_waiting_come_first_then_the_latest_message() {
        let waited_long = queue_us(Some(1_000), 5_000);
        let waited_less = queue_us(Some(2_000), 2_000);
        let answered_lately = queue_us(None, 1_800_000_000_000_000);
        let answered_long_ago = queue_us(None, 1_000);
        assert!(waited_long < waited_less);
        assert!(waited_less < answered_lately);
        assert!(answered_lately < answered_long_ago);
    }

    #[test]
    fn a_preview_reads_back_and_is_cut_to_its_length() {
        let long = "x".repeat(PREVIEW_CHARS + 10);
        let preview = Preview::new(Author::Staff, &long);
        assert_eq!(preview.text.chars().count(), PREVIEW_CHARS);
        assert_eq!(Preview::from_bytes(&preview.to_bytes()), Some(preview));
        assert_eq!(Preview::from_bytes(b"nobody\nhi"), None);
    }
}
