//! Conversations for an EHR or a script: the queue, one conversation with its events,
//! its messages, and what staff do on the inbox's screen (notes, assignment, state,
//! routing, tags, answers). Every read of a conversation and every change is audited
//! under the calling token's name.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use careloop_domain::ResourceId;
use careloop_domain::business_hours::Priority;
use careloop_domain::journey::Channel;
use careloop_domain::staff::DepartmentKey;
use careloop_engine::conversations::{ActError, Action, is_overdue};
use careloop_engine::{Replied, ReplyRefused, StaffReply};
use careloop_fhir::message_view::Message;
use careloop_store::conversations::{ConversationEvent, ConversationQuery, ConversationRecord};
use jiff::Timestamp;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{ApiError, Call, body};
use crate::routes::inbox::may_take;

const MOST: i64 = 200;
const STATES: [&str; 4] = ["open", "pending", "snoozed", "resolved"];

pub fn view(record: &ConversationRecord, now: Timestamp) -> Value {
    let c = &record.conversation;
    json!({
        "patient": format!("Patient/{}", record.patient),
        "state": c.state.name(),
        "snoozed_until": match &c.state {
            careloop_domain::conversation::State::Snoozed { until } => Some(until.to_string()),
            _ => None,
        },
        "assignee": c.assignee,
        "department": c.department.as_ref().map(DepartmentKey::as_str),
        "priority": c.priority.name(),
        "tags": c.tags,
        "waiting_since": c.waiting_since.map(|t| t.to_string()),
        "due": record.due.map(|t| t.to_string()),
        "overdue": is_overdue(record, now),
        "escalations": record.escalations,
        "last_channel": record.last_channel,
        "last_message_at": record.last_message_at.to_string(),
        "preview": {"from": record.preview.from.name(), "text": record.preview.text},
        "version": record.version,
    })
}

fn event_view(event: &ConversationEvent) -> Value {
    json!({
        "id": event.id,
        "at": event.at.to_string(),
        "actor": event.actor,
        "kind": event.kind,
        "detail": serde_json::from_str::<Value>(&event.detail).unwrap_or(Value::Null),
        "note": event.note,
    })
}

fn message_view(message: &Message) -> Value {
    json!({
        "id": message.id,
        "communication": format!("Communication/{}", message.id),
        "from_patient": message.from_patient,
        "channel": message.channel.map(Channel::name),
        "text": message.text,
        "at": message.at.map(|t| t.to_string()),
        "status": message.status.map(|s| s.name()),
        "reason": message.reason,
        "sent_by": message.step,
        "intent": message.intent,
        "red_flags": message.red_flags.iter().map(|(flag, words)| json!({"flag": flag, "words": words})).collect::<Vec<_>>(),
    })
}

fn patient_id(raw: &str) -> Result<ResourceId, ApiError> {
    ResourceId::parse(raw).map_err(|_| no_conversation())
}

fn no_conversation() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "there is no such conversation")
}

fn bad(message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, message)
}

impl Call {
    async fn record_of(&self, patient: &ResourceId) -> Result<ConversationRecord, ApiError> {
        self.state
            .store
            .conversation(&self.org, patient)
            .await
            .map_err(|e| ApiError::unavailable(&e))?
            .ok_or_else(no_conversation)
    }

    async fn audit_patient(&self, action: &str, patient: &ResourceId) -> Result<(), ApiError> {
        self.audit(action, &format!("Patient/{patient}")).await
    }

    /// Carries out `action` on the patient's conversation and answers with it.
    async fn carry_out(
        &self,
        patient: &ResourceId,
        action: Action,
        status: StatusCode,
    ) -> Result<Response, ApiError> {
        let record = match self
            .state
            .engine
            .act(patient, &self.caller.0, &action)
            .await
        {
            Ok(record) => record,
            Err(ActError::NoConversation) => return Err(no_conversation()),
            Err(ActError::Refused(refused)) => {
                return Err(ApiError::new(StatusCode::CONFLICT, refused.to_string()));
            }
            Err(refused @ ActError::BadNote) => {
                return Err(ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    refused.to_string(),
                ));
            }
            Err(ActError::Engine(error)) => return Err(ApiError::unavailable(&error)),
        };
        self.audit_patient(&format!("conversation.{}", action.kind()), patient)
            .await?;
        let now = self.state.store.now();
        Ok((status, Json(json!({"conversation": view(&record, now)}))).into_response())
    }
}

/// The states, comma-separated, or `any`.
fn states(value: &str) -> Result<Vec<&'static str>, ApiError> {
    if value == "any" {
        return Ok(Vec::new());
    }
    value
        .split(',')
        .map(|one| {
            STATES
                .into_iter()
                .find(|s| *s == one.trim())
                .ok_or_else(|| {
                    bad("state is any, or open, pending, snoozed or resolved, comma-separated")
                })
        })
        .collect()
}

/// `GET /api/v1/conversations?state=open,pending&department=nursing&assignee=none&priority=urgent&channel=sms&overdue=true&limit=50&offset=0`:
/// most urgent first, then the longest waiting, as the inbox's queue.
pub async fn list(
    call: Call,
    Query(params): Query<Vec<(String, String)>>,
) -> Result<Response, ApiError> {
    let mut query = ConversationQuery {
        states: vec!["open", "pending", "snoozed"],
        departments: None,
        unrouted: false,
        assignee: None,
        priority: None,
        channel: None,
        patients: None,
        due_by: None,
        limit: 50,
        offset: 0,
    };
    for (name, value) in &params {
        let value = value.trim();
        match name.as_str() {
            "state" => query.states = states(value)?,
            "department" if value == "none" => {
                query.departments = Some(Vec::new());
                query.unrouted = true;
            }
            "department" => {
                let key = DepartmentKey::parse(value)
                    .map_err(|_| bad("department is a department's key, or none"))?;
                query.departments = Some(vec![key.as_str().to_owned()]);
            }
            "assignee" if value == "none" => query.assignee = Some(None),
            "assignee" => query.assignee = Some(Some(value.to_owned())),
            "priority" => {
                query.priority = Some(
                    Priority::parse(value)
                        .ok_or_else(|| bad("priority is urgent, high, normal or low"))?,
                );
            }
            "channel" => {
                let channel =
                    Channel::parse(value).ok_or_else(|| bad("channel is sms or email"))?;
                query.channel = Some(channel.name().to_owned());
            }
            "overdue" if value == "true" => query.due_by = Some(call.state.store.now()),
            "overdue" if value == "false" => {}
            "overdue" => return Err(bad("overdue is true or false")),
            "limit" => {
                query.limit = value
                    .parse::<i64>()
                    .ok()
                    .filter(|n| (1..=MOST).contains(n))
                    .ok_or_else(|| bad(format!("limit is 1 to {MOST}")))?;
            }
            "offset" => {
                query.offset = value
                    .parse::<i64>()
                    .ok()
                    .filter(|n| (0..=1_000_000).contains(n))
                    .ok_or_else(|| bad("offset is 0 to 1000000"))?;
            }
            other => return Err(bad(format!("unknown parameter '{other}'"))),
        }
    }
    let store = &call.state.store;
    let (found, total) = tokio::try_join!(
        store.conversations(&call.org, &query),
        store.count_conversations(&call.org, &query),
    )
    .map_err(|e| ApiError::unavailable(&e))?;
    call.audit("conversation.list", "Conversation").await?;
    let now = store.now();
    Ok(Json(json!({
        "total": total,
        "conversations": found.iter().map(|r| view(r, now)).collect::<Vec<_>>(),
    }))
    .into_response())
}

/// `GET /api/v1/conversations/{patient}`: the conversation and its events, internal
/// notes among them.
pub async fn read(call: Call, Path(patient): Path<String>) -> Result<Response, ApiError> {
    let patient = patient_id(&patient)?;
    let record = call.record_of(&patient).await?;
    let events = call
        .state
        .store
        .conversation_events(&call.org, &patient)
        .await
        .map_err(|e| ApiError::unavailable(&e))?;
    call.audit_patient("conversation.read", &patient).await?;
    Ok(Json(json!({
        "conversation": view(&record, call.state.store.now()),
        "events": events.iter().map(event_view).collect::<Vec<_>>(),
    }))
    .into_response())
}

/// `GET /api/v1/conversations/{patient}/messages`: every channel, oldest first.
pub async fn messages(call: Call, Path(patient): Path<String>) -> Result<Response, ApiError> {
    let patient = patient_id(&patient)?;
    call.record_of(&patient).await?;
    let messages = call
        .state
        .engine
        .messages_of(&patient)
        .await
        .map_err(|e| ApiError::unavailable(&e))?;
    call.audit_patient("conversation.read", &patient).await?;
    Ok(Json(json!({
        "messages": messages.iter().map(message_view).collect::<Vec<_>>(),
    }))
    .into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoteBody {
    text: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssigneeBody {
    assignee: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StateBody {
    state: String,
    #[serde(default)]
    until: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteBody {
    department: Option<String>,
    priority: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TagBody {
    tag: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReplyBody {
    text: String,
    #[serde(default)]
    channel: Option<String>,
}

/// `POST /api/v1/conversations/{patient}/notes` `{"text": "..."}`: an internal note.
pub async fn note(
    call: Call,
    Path(patient): Path<String>,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    let (patient, note) = (patient_id(&patient)?, body::<NoteBody>(&bytes)?);
    call.carry_out(&patient, Action::Note(note.text), StatusCode::CREATED)
        .await
}

/// `PUT /api/v1/conversations/{patient}/assignee` `{"assignee": "staff id" | null}`.
pub async fn assign(
    call: Call,
    Path(patient): Path<String>,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    let (patient, wanted) = (patient_id(&patient)?, body::<AssigneeBody>(&bytes)?);
    if let Some(who) = &wanted.assignee {
        let record = call.record_of(&patient).await?;
        if !may_take(&call.state, who, &record).await {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "the assignee is no account that sees this conversation's department",
            ));
        }
    }
    call.carry_out(&patient, Action::Assign(wanted.assignee), StatusCode::OK)
        .await
}

/// `PUT /api/v1/conversations/{patient}/state` `{"state": "resolved"}`, or
/// `{"state": "snoozed", "until": "2026-03-03T14:00:00Z"}`.
pub async fn set_state(
    call: Call,
    Path(patient): Path<String>,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    let (patient, wanted) = (patient_id(&patient)?, body::<StateBody>(&bytes)?);
    let action = match (wanted.state.as_str(), wanted.until.as_deref()) {
        ("open", None) => Action::Reopen,
        ("pending", None) => Action::Pend,
        ("resolved", None) => Action::Resolve,
        ("snoozed", Some(until)) => Action::Snooze(
            until
                .parse::<Timestamp>()
                .map_err(|_| bad("until is an instant such as 2026-03-03T14:00:00Z"))?,
        ),
        ("snoozed", None) => return Err(bad("a snoozed conversation needs until")),
        (_, Some(_)) => return Err(bad("only a snoozed conversation has until")),
        _ => return Err(bad("state is open, pending, snoozed or resolved")),
    };
    call.carry_out(&patient, action, StatusCode::OK).await
}

/// `PUT /api/v1/conversations/{patient}/route` `{"department": "nursing" | null, "priority": "high"}`.
pub async fn route(
    call: Call,
    Path(patient): Path<String>,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    let (patient, wanted) = (patient_id(&patient)?, body::<RouteBody>(&bytes)?);
    let priority = Priority::parse(&wanted.priority)
        .ok_or_else(|| bad("priority is urgent, high, normal or low"))?;
    let department = wanted
        .department
        .as_deref()
        .map(DepartmentKey::parse)
        .transpose()
        .map_err(|_| bad("department is a department's key, or null"))?;
    if let Some(key) = &department {
        let known = call
            .state
            .store
            .departments(&call.org)
            .await
            .map_err(|e| ApiError::unavailable(&e))?;
        if !known.iter().any(|d| d.id == key.as_str()) {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                format!("there is no department '{key}'"),
            ));
        }
    }
    call.carry_out(
        &patient,
        Action::Route {
            department,
            priority,
        },
        StatusCode::OK,
    )
    .await
}

/// `POST /api/v1/conversations/{patient}/tags` `{"tag": "billing"}`.
pub async fn tag(
    call: Call,
    Path(patient): Path<String>,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    let (patient, wanted) = (patient_id(&patient)?, body::<TagBody>(&bytes)?);
    call.carry_out(&patient, Action::Tag(wanted.tag), StatusCode::OK)
        .await
}

/// `DELETE /api/v1/conversations/{patient}/tags/{tag}`.
pub async fn untag(
    call: Call,
    Path((patient, tag)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let patient = patient_id(&patient)?;
    call.carry_out(&patient, Action::Untag(tag), StatusCode::OK)
        .await
}

/// `POST /api/v1/conversations/{patient}/replies` `{"text": "...", "channel": "sms"}`:
/// an answer to the patient, through the same gates as the inbox's. 202 when queued
/// (or deferred, with when and why); 409 with the reason when a gate holds it back.
pub async fn reply(
    call: Call,
    Path(patient): Path<String>,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    let (patient, wanted) = (patient_id(&patient)?, body::<ReplyBody>(&bytes)?);
    let channel = wanted
        .channel
        .as_deref()
        .map(|c| Channel::parse(c).ok_or_else(|| bad("channel is sms or email")))
        .transpose()?;
    call.record_of(&patient).await?;
    // Audited before it is queued: a client that retries after a failure here has
    // sent nothing twice.
    call.audit_patient("conversation.reply", &patient).await?;
    let answer = StaffReply {
        patient: &patient,
        actor: &call.caller.0,
        channel,
        text: &wanted.text,
    };
    let queued = match call.state.engine.reply(&answer).await {
        Ok(Replied::Queued { id, channel }) => json!({
            "communication": format!("Communication/{id}"),
            "channel": channel.name(),
            "status": "queued",
        }),
        Ok(Replied::Deferred {
            id,
            channel,
            until,
            reason,
        }) => json!({
            "communication": format!("Communication/{id}"),
            "channel": channel.name(),
            "status": "deferred",
            "until": until.to_string(),
            "reason": reason,
        }),
        Err(refused @ (ReplyRefused::BadText | ReplyRefused::NoAddress(_))) => {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                refused.to_string(),
            ));
        }
        Err(refused @ ReplyRefused::NoPatient) => {
            return Err(ApiError::new(StatusCode::NOT_FOUND, refused.to_string()));
        }
        Err(ReplyRefused::Held(reason)) => return Err(ApiError::new(StatusCode::CONFLICT, reason)),
        Err(ReplyRefused::Engine(error)) => return Err(ApiError::unavailable(&error)),
    };
    Ok((StatusCode::ACCEPTED, Json(queued)).into_response())
}
