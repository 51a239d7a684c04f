//! Saved replies over the API: the clinic's answers staff insert, listed and added.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Extension, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use careloop_domain::OrgId;
use careloop_domain::staff::DepartmentKey;
use careloop_store::from_micros;
use careloop_store::staff::{SavedReplyRow, StaffStoreError};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{body, problem, unavailable};
use crate::auth::Caller;
use crate::state::AppState;

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
pub async fn list(State(state): State<AppState>, Extension(org): Extension<OrgId>) -> Response {
    match state.store.saved_replies(&org).await {
        Ok(rows) => Json(json!({"saved_replies": rows.iter().map(view).collect::<Vec<_>>()}))
            .into_response(),
        Err(error) => unavailable(&error),
    }
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
pub async fn add(
    State(state): State<AppState>,
    Extension(org): Extension<OrgId>,
    Extension(caller): Extension<Caller>,
    bytes: Bytes,
) -> Response {
    let new = match body::<NewSavedReply>(&bytes) {
        Ok(new) => new,
        Err(refused) => return refused.into_response(),
    };
    let department = match new
        .department
        .as_deref()
        .map(DepartmentKey::parse)
        .transpose()
    {
        Ok(department) => department,
        Err(error) => return problem(StatusCode::UNPROCESSABLE_ENTITY, error.to_string()),
    };
    match state
        .store
        .add_saved_reply(&org, department.as_ref(), &new.title, &new.body)
        .await
    {
        Ok(row) => {
            if let Err(error) = state
                .store
                .audit(
                    &org,
                    &caller.0,
                    "saved-reply.add",
                    &format!("SavedReply/{}", row.id),
                )
                .await
            {
                return unavailable(&error);
            }
            (StatusCode::CREATED, Json(view(&row))).into_response()
        }
        Err(StaffStoreError::Store(error)) => unavailable(&error),
        Err(refused) => problem(StatusCode::UNPROCESSABLE_ENTITY, refused.to_string()),
    }
}
