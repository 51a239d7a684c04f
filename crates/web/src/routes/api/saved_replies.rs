//! Saved replies over the API: the clinic's answers staff insert, listed and added.

use axum::Json;
use axum::body::Bytes;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use careloop_domain::staff::DepartmentKey;
use careloop_store::from_micros;
use careloop_store::staff::{SavedReplyRow, StaffStoreError};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{ApiError, Call, body};

fn view(row: &SavedReplyRow) -> Value {
    json!({
        "id": row.id,
        "title": row.title,
        "body": row.body,
        "department": row.department,
        "created": from_micros(row.created_us).to_string(),
    })
}

/// `GET /api/v1/saved-replies`: by title.
pub async fn list(call: Call) -> Result<Response, ApiError> {
    let rows = call
        .state
        .store
        .saved_replies(&call.org)
        .await
        .map_err(|e| ApiError::unavailable(&e))?;
    Ok(Json(json!({"saved_replies": rows.iter().map(view).collect::<Vec<_>>()})).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewSavedReply {
    title: String,
    body: String,
    #[serde(default)]
    department: Option<String>,
}

/// `POST /api/v1/saved-replies` `{"title": "Parking", "body": "Hi {first_name}, …", "department": "front-desk"}`.
pub async fn add(call: Call, bytes: Bytes) -> Result<Response, ApiError> {
    let new = body::<NewSavedReply>(&bytes)?;
    let unprocessable = |message: String| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, message);
    let department = new
        .department
        .as_deref()
        .map(DepartmentKey::parse)
        .transpose()
        .map_err(|e| unprocessable(e.to_string()))?;
    let row = match call
        .state
        .store
        .add_saved_reply(&call.org, department.as_ref(), &new.title, &new.body)
        .await
    {
        Ok(row) => row,
        Err(StaffStoreError::Store(error)) => return Err(ApiError::unavailable(&error)),
        Err(refused) => return Err(unprocessable(refused.to_string())),
    };
    call.audit("saved-reply.add", &format!("SavedReply/{}", row.id))
        .await?;
    Ok((StatusCode::CREATED, Json(view(&row))).into_response())
}
