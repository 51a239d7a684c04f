//! Conversations for an EHR or a script: the queue, one conversation with its events,
//! its messages, and what staff do on the inbox's screen (notes, assignment, state,
//! routing, tags, answers). Every read of a conversation and every change is audited
//! under the calling token's name.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Extension, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use careloop_domain::business_hours::Priority;
use careloop_domain::journey::Channel;
use careloop_domain::staff::DepartmentKey;
use careloop_domain::{OrgId, ResourceId};
use careloop_engine::conversations::{ActError, Action, is_overdue};
use careloop_engine::{Replied, ReplyRefused, StaffReply};
use careloop_fhir::message_view::Message;
use careloop_store::conversations::{ConversationEvent, ConversationQuery, ConversationRecord};
use jiff::Timestamp;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{ApiError, body, problem, unavailable};
use crate::auth::Caller;
use crate::routes::inbox::may_take;
use crate::state::AppState;

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
    ResourceId::parse(raw)
        .map_err(|_| ApiError::new(StatusCode::NOT_FOUND, "there is no such conversation"))
}

async fn audit(
    state: &AppState,
    org: &OrgId,
    caller: &Caller,
    action: &str,
    patient: &ResourceId,
) -> Result<(), ApiError> {
    state
        .store
        .audit(org, &caller.0, action, &format!("Patient/{patient}"))
        .await
        .map(|_| ())
        .map_err(|error| ApiError::unavailable(&error))
}

async fn record_of(
    state: &AppState,
    org: &OrgId,
    patient: &ResourceId,
) -> Result<ConversationRecord, ApiError> {
    match state.store.conversation(org, patient).await {
        Ok(Some(record)) => Ok(record),
        Ok(None) => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "there is no such conversation",
        )),
        Err(error) => Err(ApiError::unavailable(&error)),
    }
}

/// `GET /api/v1/conversations?state=open,pending&department=nursing&assignee=none&priority=urgent&channel=sms&overdue=true&limit=50&offset=0`:
/// most urgent first, then the longest waiting, as the inbox's queue.
pub async fn list(
    State(state): State<AppState>,
    Extension(org): Extension<OrgId>,
    Query(params): Query<Vec<(String, String)>>,
) -> Response {
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
            "state" if value == "any" => query.states = Vec::new(),
            "state" => {
                let mut states = Vec::new();
                for one in value.split(',').map(str::trim) {
                    match STATES.into_iter().find(|s| *s == one) {
                        Some(known) => states.push(known),
                        None => {
                            return problem(
                                StatusCode::BAD_REQUEST,
                                "state is any, or open, pending, snoozed or resolved, comma-separated",
                            );
                        }
                    }
                }
                query.states = states;
            }
            "department" if value == "none" => {
                query.departments = Some(Vec::new());
                query.unrouted = true;
            }
            "department" => match DepartmentKey::parse(value) {
                Ok(key) => query.departments = Some(vec![key.as_str().to_owned()]),
                Err(_) => {
                    return problem(
                        StatusCode::BAD_REQUEST,
                        "department is a department's key, or none",
                    );
                }
            },
            "assignee" if value == "none" => query.assignee = Some(None),
            "assignee" => query.assignee = Some(Some(value.to_owned())),
            "priority" => match Priority::parse(value) {
                Some(priority) => query.priority = Some(priority),
                None => {
                    return problem(
                        StatusCode::BAD_REQUEST,
                        "priority is urgent, high, normal or low",
                    );
                }
            },
            "channel" => match Channel::parse(value) {
                Some(channel) => query.channel = Some(channel.name().to_owned()),
                None => return problem(StatusCode::BAD_REQUEST, "channel is sms or email"),
            },
            "overdue" if value == "true" => query.due_by = Some(state.store.now()),
            "overdue" if value == "false" => {}
            "limit" => match value.parse::<i64>() {
                Ok(n) if (1..=MOST).contains(&n) => query.limit = n,
                _ => return problem(StatusCode::BAD_REQUEST, format!("limit is 1 to {MOST}")),
            },
            "offset" => match value.parse::<i64>() {
                Ok(n) if (0..=1_000_000).contains(&n) => query.offset = n,
                _ => return problem(StatusCode::BAD_REQUEST, "offset is 0 to 1000000"),
            },
            other => {
                return problem(
                    StatusCode::BAD_REQUEST,
                    format!("unknown parameter '{other}'"),
                );
            }
        }
    }
    let (found, total) = match tokio::try_join!(
        state.store.conversations(&org, &query),
        state.store.count_conversations(&org, &query),
    ) {
        Ok(both) => both,
        Err(error) => return unavailable(&error),
    };
    let now = state.store.now();
    Json(json!({
        "total": total,
        "conversations": found.iter().map(|r| view(r, now)).collect::<Vec<_>>(),
    }))
    .into_response()
}

/// `GET /api/v1/conversations/{patient}`: the conversation and its events, internal
/// notes among them.
pub async fn read(
    State(state): State<AppState>,
    Extension(org): Extension<OrgId>,
    Extension(caller): Extension<Caller>,
    Path(patient): Path<String>,
) -> Response {
    let result = async {
        let patient = patient_id(&patient)?;
        let record = record_of(&state, &org, &patient).await?;
        let events = state
            .store
            .conversation_events(&org, &patient)
            .await
            .map_err(|e| ApiError::unavailable(&e))?;
        audit(&state, &org, &caller, "conversation.read", &patient).await?;
        Ok::<_, ApiError>(Json(json!({
            "conversation": view(&record, state.store.now()),
            "events": events.iter().map(event_view).collect::<Vec<_>>(),
        })))
    };
    result.await.into_response()
}

/// `GET /api/v1/conversations/{patient}/messages`: every channel, oldest first.
pub async fn messages(
    State(state): State<AppState>,
    Extension(org): Extension<OrgId>,
    Extension(caller): Extension<Caller>,
    Path(patient): Path<String>,
) -> Response {
    let result = async {
        let patient = patient_id(&patient)?;
        record_of(&state, &org, &patient).await?;
        let messages = state
            .engine
            .messages_of(&patient)
            .await
            .map_err(|e| ApiError::unavailable(&e))?;
        audit(&state, &org, &caller, "conversation.read", &patient).await?;
        Ok::<_, ApiError>(Json(json!({
            "messages": messages.iter().map(message_view).collect::<Vec<_>>(),
        })))
    };
    result.await.into_response()
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

/// Carries out `action` on the patient's conversation and answers with it.
async fn carry_out(
    state: &AppState,
    org: &OrgId,
    caller: &Caller,
    patient: &ResourceId,
    action: Action,
    created: bool,
) -> Response {
    match state.engine.act(patient, &caller.0, &action).await {
        Ok(record) => {
            if let Err(response) = audit(
                state,
                org,
                caller,
                &format!("conversation.{}", action.kind()),
                patient,
            )
            .await
            {
                return response.into_response();
            }
            let status = if created {
                StatusCode::CREATED
            } else {
                StatusCode::OK
            };
            (
                status,
                Json(json!({"conversation": view(&record, state.store.now())})),
            )
                .into_response()
        }
        Err(ActError::NoConversation) => {
            problem(StatusCode::NOT_FOUND, "there is no such conversation")
        }
        Err(ActError::Refused(refused)) => problem(StatusCode::CONFLICT, refused.to_string()),
        Err(ActError::BadNote) => problem(
            StatusCode::UNPROCESSABLE_ENTITY,
            ActError::BadNote.to_string(),
        ),
        Err(ActError::Engine(error)) => unavailable(&error),
    }
}

/// `POST /api/v1/conversations/{patient}/notes` `{"text": "..."}`: an internal note.
pub async fn note(
    State(state): State<AppState>,
    Extension(org): Extension<OrgId>,
    Extension(caller): Extension<Caller>,
    Path(patient): Path<String>,
    bytes: Bytes,
) -> Response {
    let (patient, note) = match (patient_id(&patient), body::<NoteBody>(&bytes)) {
        (Ok(patient), Ok(note)) => (patient, note),
        (Err(refused), _) | (_, Err(refused)) => return refused.into_response(),
    };
    carry_out(
        &state,
        &org,
        &caller,
        &patient,
        Action::Note(note.text),
        true,
    )
    .await
}

/// `PUT /api/v1/conversations/{patient}/assignee` `{"assignee": "staff id" | null}`.
pub async fn assign(
    State(state): State<AppState>,
    Extension(org): Extension<OrgId>,
    Extension(caller): Extension<Caller>,
    Path(patient): Path<String>,
    bytes: Bytes,
) -> Response {
    let (patient, wanted) = match (patient_id(&patient), body::<AssigneeBody>(&bytes)) {
        (Ok(patient), Ok(wanted)) => (patient, wanted),
        (Err(refused), _) | (_, Err(refused)) => return refused.into_response(),
    };
    if let Some(who) = &wanted.assignee {
        let record = match record_of(&state, &org, &patient).await {
            Ok(record) => record,
            Err(refused) => return refused.into_response(),
        };
        if !may_take(&state, who, &record).await {
            return problem(
                StatusCode::UNPROCESSABLE_ENTITY,
                "the assignee is no account that sees this conversation's department",
            );
        }
    }
    carry_out(
        &state,
        &org,
        &caller,
        &patient,
        Action::Assign(wanted.assignee),
        false,
    )
    .await
}

/// `PUT /api/v1/conversations/{patient}/state` `{"state": "resolved"}`, or
/// `{"state": "snoozed", "until": "2026-03-03T14:00:00Z"}`.
pub async fn set_state(
    State(state): State<AppState>,
    Extension(org): Extension<OrgId>,
    Extension(caller): Extension<Caller>,
    Path(patient): Path<String>,
    bytes: Bytes,
) -> Response {
    let (patient, wanted) = match (patient_id(&patient), body::<StateBody>(&bytes)) {
        (Ok(patient), Ok(wanted)) => (patient, wanted),
        (Err(refused), _) | (_, Err(refused)) => return refused.into_response(),
    };
    let action = match (wanted.state.as_str(), wanted.until.as_deref()) {
        ("open", None) => Action::Reopen,
        ("pending", None) => Action::Pend,
        ("resolved", None) => Action::Resolve,
        ("snoozed", Some(until)) => match until.parse::<Timestamp>() {
            Ok(until) => Action::Snooze(until),
            Err(_) => {
                return problem(
                    StatusCode::BAD_REQUEST,
                    "until is an instant such as 2026-03-03T14:00:00Z",
                );
            }
        },
        ("snoozed", None) => {
            return problem(
                StatusCode::BAD_REQUEST,
                "a snoozed conversation needs until",
            );
        }
        (_, Some(_)) => {
            return problem(
                StatusCode::BAD_REQUEST,
                "only a snoozed conversation has until",
            );
        }
        _ => {
            return problem(
                StatusCode::BAD_REQUEST,
                "state is open, pending, snoozed or resolved",
            );
        }
    };
    carry_out(&state, &org, &caller, &patient, action, false).await
}

/// `PUT /api/v1/conversations/{patient}/route` `{"department": "nursing" | null, "priority": "high"}`.
pub async fn route(
    State(state): State<AppState>,
    Extension(org): Extension<OrgId>,
    Extension(caller): Extension<Caller>,
    Path(patient): Path<String>,
    bytes: Bytes,
) -> Response {
    let (patient, wanted) = match (patient_id(&patient), body::<RouteBody>(&bytes)) {
        (Ok(patient), Ok(wanted)) => (patient, wanted),
        (Err(refused), _) | (_, Err(refused)) => return refused.into_response(),
    };
    let Some(priority) = Priority::parse(&wanted.priority) else {
        return problem(
            StatusCode::BAD_REQUEST,
            "priority is urgent, high, normal or low",
        );
    };
    let department = match wanted
        .department
        .as_deref()
        .map(DepartmentKey::parse)
        .transpose()
    {
        Ok(department) => department,
        Err(_) => {
            return problem(
                StatusCode::BAD_REQUEST,
                "department is a department's key, or null",
            );
        }
    };
    if let Some(key) = &department {
        match state.store.departments(&org).await {
            Ok(known) if known.iter().any(|d| d.id == key.as_str()) => {}
            Ok(_) => {
                return problem(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    format!("there is no department '{key}'"),
                );
            }
            Err(error) => return unavailable(&error),
        }
    }
    carry_out(
        &state,
        &org,
        &caller,
        &patient,
        Action::Route {
            department,
            priority,
        },
        false,
    )
    .await
}

/// `POST /api/v1/conversations/{patient}/tags` `{"tag": "billing"}`.
pub async fn tag(
    State(state): State<AppState>,
    Extension(org): Extension<OrgId>,
    Extension(caller): Extension<Caller>,
    Path(patient): Path<String>,
    bytes: Bytes,
) -> Response {
    let (patient, wanted) = match (patient_id(&patient), body::<TagBody>(&bytes)) {
        (Ok(patient), Ok(wanted)) => (patient, wanted),
        (Err(refused), _) | (_, Err(refused)) => return refused.into_response(),
    };
    carry_out(
        &state,
        &org,
        &caller,
        &patient,
        Action::Tag(wanted.tag),
        false,
    )
    .await
}

/// `DELETE /api/v1/conversations/{patient}/tags/{tag}`.
pub async fn untag(
    State(state): State<AppState>,
    Extension(org): Extension<OrgId>,
    Extension(caller): Extension<Caller>,
    Path((patient, tag)): Path<(String, String)>,
) -> Response {
    let patient = match patient_id(&patient) {
        Ok(patient) => patient,
        Err(refused) => return refused.into_response(),
    };
    carry_out(&state, &org, &caller, &patient, Action::Untag(tag), false).await
}

/// `POST /api/v1/conversations/{patient}/replies` `{"text": "...", "channel": "sms"}`:
/// an answer to the patient, through the same gates as the inbox's. 202 when queued
/// (or deferred, with when and why); 409 with the reason when a gate holds it back.
pub async fn reply(
    State(state): State<AppState>,
    Extension(org): Extension<OrgId>,
    Extension(caller): Extension<Caller>,
    Path(patient): Path<String>,
    bytes: Bytes,
) -> Response {
    let (patient, wanted) = match (patient_id(&patient), body::<ReplyBody>(&bytes)) {
        (Ok(patient), Ok(wanted)) => (patient, wanted),
        (Err(refused), _) | (_, Err(refused)) => return refused.into_response(),
    };
    let channel = match wanted
        .channel
        .as_deref()
        .map(|c| Channel::parse(c).ok_or(()))
        .transpose()
    {
        Ok(channel) => channel,
        Err(()) => return problem(StatusCode::BAD_REQUEST, "channel is sms or email"),
    };
    if let Err(refused) = record_of(&state, &org, &patient).await {
        return refused.into_response();
    }
    let answer = StaffReply {
        patient: &patient,
        actor: &caller.0,
        channel,
        text: &wanted.text,
    };
    let queued = match state.engine.reply(&answer).await {
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
        Err(ReplyRefused::BadText) => {
            return problem(
                StatusCode::UNPROCESSABLE_ENTITY,
                ReplyRefused::BadText.to_string(),
            );
        }
        Err(refused @ ReplyRefused::NoAddress(_)) => {
            return problem(StatusCode::UNPROCESSABLE_ENTITY, refused.to_string());
        }
        Err(ReplyRefused::NoPatient) => {
            return problem(StatusCode::NOT_FOUND, ReplyRefused::NoPatient.to_string());
        }
        Err(ReplyRefused::Held(reason)) => return problem(StatusCode::CONFLICT, reason),
        Err(ReplyRefused::Engine(error)) => return unavailable(&error),
    };
    if let Err(refused) = audit(&state, &org, &caller, "conversation.reply", &patient).await {
        return refused.into_response();
    }
    (StatusCode::ACCEPTED, Json(queued)).into_response()
}
