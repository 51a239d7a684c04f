//! The clinic's triage rules and FAQ answers over the API: one set of handlers for
//! both books, as an admin's script edits them.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Extension, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use careloop_domain::OrgId;
use careloop_domain::journey::Channel;
use careloop_domain::red_flags;
use careloop_domain::staff::DepartmentKey;
use careloop_domain::triage::Facts;
use careloop_engine::playbook::{Definition, Entry, PlaybookError};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{ApiError, body, problem, unavailable};
use crate::auth::Caller;
use crate::state::AppState;

fn view<D: Definition>(entry: &Entry<D>) -> Value {
    json!({
        "id": entry.id,
        "position": entry.position,
        "updated": entry.updated.to_string(),
        "definition": entry.definition,
    })
}

fn refused(error: PlaybookError) -> Response {
    match error {
        PlaybookError::Invalid(_) | PlaybookError::NoDepartment(_) | PlaybookError::Full => {
            problem(StatusCode::UNPROCESSABLE_ENTITY, error.to_string())
        }
        PlaybookError::NotFound => problem(StatusCode::NOT_FOUND, error.to_string()),
        PlaybookError::Engine(error) => unavailable(&error),
    }
}

async fn audit<D: Definition>(
    state: &AppState,
    org: &OrgId,
    caller: &Caller,
    verb: &str,
    id: &str,
) -> Result<(), ApiError> {
    let book = D::BOOK;
    state
        .store
        .audit(
            org,
            &caller.0,
            &format!("{}.{verb}", book.noun()),
            &format!("Playbook/{}/{id}", book.name()),
        )
        .await
        .map(|_| ())
        .map_err(|error| ApiError::unavailable(&error))
}

/// `GET`: the book's entries, in order.
pub async fn list<D: Definition + 'static>(State(state): State<AppState>) -> Response {
    match state.engine.entries::<D>().await {
        Ok(entries) => {
            Json(json!({"entries": entries.iter().map(view).collect::<Vec<_>>()})).into_response()
        }
        Err(error) => unavailable(&error),
    }
}

/// `POST` a definition: added at the end, 201.
pub async fn add<D: Definition + 'static>(
    State(state): State<AppState>,
    Extension(org): Extension<OrgId>,
    Extension(caller): Extension<Caller>,
    bytes: Bytes,
) -> Response {
    let definition = match body::<D>(&bytes) {
        Ok(definition) => definition,
        Err(refused) => return refused.into_response(),
    };
    match state.engine.add_entry(&definition).await {
        Ok(entry) => match audit::<D>(&state, &org, &caller, "add", &entry.id).await {
            Ok(()) => (StatusCode::CREATED, Json(view(&entry))).into_response(),
            Err(refused) => refused.into_response(),
        },
        Err(error) => refused(error),
    }
}

/// `PUT {id}` a definition: rewritten in its place.
pub async fn replace<D: Definition + 'static>(
    State(state): State<AppState>,
    Extension(org): Extension<OrgId>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    bytes: Bytes,
) -> Response {
    let definition = match body::<D>(&bytes) {
        Ok(definition) => definition,
        Err(refused) => return refused.into_response(),
    };
    match state.engine.replace_entry(&id, &definition).await {
        Ok(entry) => match audit::<D>(&state, &org, &caller, "change", &id).await {
            Ok(()) => Json(view(&entry)).into_response(),
            Err(refused) => refused.into_response(),
        },
        Err(error) => refused(error),
    }
}

/// `DELETE {id}`: 204.
pub async fn remove<D: Definition + 'static>(
    State(state): State<AppState>,
    Extension(org): Extension<OrgId>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> Response {
    match state.engine.remove_entry::<D>(&id).await {
        Ok(()) => match audit::<D>(&state, &org, &caller, "remove", &id).await {
            Ok(()) => StatusCode::NO_CONTENT.into_response(),
            Err(refused) => refused.into_response(),
        },
        Err(error) => refused(error),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MoveBody {
    position: usize,
}

/// `POST {id}/move` `{"position": 1}`: the book in its new order.
pub async fn move_to<D: Definition + 'static>(
    State(state): State<AppState>,
    Extension(org): Extension<OrgId>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    bytes: Bytes,
) -> Response {
    let wanted = match body::<MoveBody>(&bytes) {
        Ok(wanted) if wanted.position >= 1 => wanted,
        Ok(_) => return problem(StatusCode::BAD_REQUEST, "position counts from 1"),
        Err(refused) => return refused.into_response(),
    };
    match state.engine.move_entry::<D>(&id, wanted.position).await {
        Ok(entries) => match audit::<D>(&state, &org, &caller, "move", &id).await {
            Ok(()) => Json(json!({"entries": entries.iter().map(view).collect::<Vec<_>>()}))
                .into_response(),
            Err(refused) => refused.into_response(),
        },
        Err(error) => refused(error),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TryBody {
    text: String,
    #[serde(default)]
    channel: Option<String>,
    #[serde(default)]
    language: Option<String>,
    #[serde(default)]
    age: Option<u16>,
}

/// `POST /api/v1/triage-rules/test` `{"text": "...", "channel": "sms"}`: what triage
/// would decide of a message, sending and storing nothing.
pub async fn try_rules(State(state): State<AppState>, bytes: Bytes) -> Response {
    let wanted = match body::<TryBody>(&bytes) {
        Ok(wanted) => wanted,
        Err(refused) => return refused.into_response(),
    };
    let Some(channel) = Channel::parse(wanted.channel.as_deref().unwrap_or("sms")) else {
        return problem(StatusCode::BAD_REQUEST, "channel is sms or email");
    };
    let facts = Facts {
        text: &wanted.text,
        channel,
        language: wanted.language.as_deref(),
        age: wanted.age,
    };
    let flags = red_flags::find(&wanted.text);
    match state.engine.triage(&facts, &flags).await {
        Ok(decided) => Json(json!({
            "matched": decided.is_some(),
            "rule": decided.as_ref().map(|d| d.rule.clone()),
            "department": decided.as_ref().and_then(|d| d.department.as_ref().map(DepartmentKey::as_str)),
            "priority": decided.as_ref().and_then(|d| d.priority.map(|p| p.name())),
            "tags": decided.map(|d| d.tags).unwrap_or_default(),
        }))
        .into_response(),
        Err(error) => unavailable(&error),
    }
}
