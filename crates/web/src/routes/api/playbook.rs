//! The clinic's triage rules and FAQ answers over the API: one set of handlers for
//! both books, as an admin's script edits them.

use axum::Json;
use axum::body::Bytes;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use careloop_domain::journey::Channel;
use careloop_domain::red_flags;
use careloop_domain::staff::DepartmentKey;
use careloop_domain::triage::Facts;
use careloop_engine::playbook::{Definition, Entry, PlaybookError};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{ApiError, Call, body};

fn view<D: Definition>(entry: &Entry<D>) -> Value {
    json!({
        "id": entry.id,
        "position": entry.position,
        "updated": entry.updated.to_string(),
        "definition": entry.definition,
    })
}

fn refused(error: PlaybookError) -> ApiError {
    match error {
        PlaybookError::Invalid(_) | PlaybookError::NoDepartment(_) | PlaybookError::Full => {
            ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, error.to_string())
        }
        PlaybookError::NotFound => ApiError::new(StatusCode::NOT_FOUND, error.to_string()),
        PlaybookError::Engine(error) => ApiError::unavailable(&error),
    }
}

impl Call {
    async fn audit_entry<D: Definition>(&self, verb: &str, id: &str) -> Result<(), ApiError> {
        let book = D::BOOK;
        self.audit(
            &format!("{}.{verb}", book.noun()),
            &format!("Playbook/{}/{id}", book.name()),
        )
        .await
    }
}

fn listed<D: Definition>(entries: &[Entry<D>]) -> Response {
    Json(json!({"entries": entries.iter().map(view).collect::<Vec<_>>()})).into_response()
}

/// `GET`: the book's entries, in order.
pub async fn list<D: Definition + 'static>(call: Call) -> Result<Response, ApiError> {
    let entries = call
        .state
        .engine
        .entries::<D>()
        .await
        .map_err(|e| ApiError::unavailable(&e))?;
    Ok(listed(&entries))
}

/// `POST` a definition: added at the end, 201.
pub async fn add<D: Definition + 'static>(call: Call, bytes: Bytes) -> Result<Response, ApiError> {
    let definition = body::<D>(&bytes)?;
    let entry = call
        .state
        .engine
        .add_entry(&definition)
        .await
        .map_err(refused)?;
    call.audit_entry::<D>("add", &entry.id).await?;
    Ok((StatusCode::CREATED, Json(view(&entry))).into_response())
}

/// `PUT {id}` a definition: rewritten in its place.
pub async fn replace<D: Definition + 'static>(
    call: Call,
    Path(id): Path<String>,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    let definition = body::<D>(&bytes)?;
    let entry = call
        .state
        .engine
        .replace_entry(&id, &definition)
        .await
        .map_err(refused)?;
    call.audit_entry::<D>("change", &id).await?;
    Ok(Json(view(&entry)).into_response())
}

/// `DELETE {id}`: 204.
pub async fn remove<D: Definition + 'static>(
    call: Call,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    call.state
        .engine
        .remove_entry::<D>(&id)
        .await
        .map_err(refused)?;
    call.audit_entry::<D>("remove", &id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MoveBody {
    position: usize,
}

/// `POST {id}/move` `{"position": 1}`: the book in its new order.
pub async fn move_to<D: Definition + 'static>(
    call: Call,
    Path(id): Path<String>,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    let wanted = body::<MoveBody>(&bytes)?;
    if wanted.position < 1 {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "position counts from 1",
        ));
    }
    let entries = call
        .state
        .engine
        .move_entry::<D>(&id, wanted.position)
        .await
        .map_err(refused)?;
    call.audit_entry::<D>("move", &id).await?;
    Ok(listed(&entries))
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
pub async fn try_rules(call: Call, bytes: Bytes) -> Result<Response, ApiError> {
    let wanted = body::<TryBody>(&bytes)?;
    let channel = Channel::parse(wanted.channel.as_deref().unwrap_or("sms"))
        .ok_or_else(|| ApiError::new(StatusCode::BAD_REQUEST, "channel is sms or email"))?;
    let facts = Facts {
        text: &wanted.text,
        channel,
        language: wanted.language.as_deref(),
        age: wanted.age,
    };
    let flags = red_flags::find(&wanted.text);
    let decided = call
        .state
        .engine
        .triage(&facts, &flags)
        .await
        .map_err(|e| ApiError::unavailable(&e))?;
    Ok(Json(json!({
        "matched": decided.is_some(),
        "rule": decided.as_ref().map(|d| d.rule.clone()),
        "department": decided.as_ref().and_then(|d| d.department.as_ref().map(DepartmentKey::as_str)),
        "priority": decided.as_ref().and_then(|d| d.priority.map(|p| p.name())),
        "tags": decided.map(|d| d.tags).unwrap_or_default(),
    }))
    .into_response())
}
