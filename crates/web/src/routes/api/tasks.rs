//! Staff's tasks over the API: listed by patient and state, and moved to another state.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use careloop_domain::ResourceId;
use careloop_engine::tasks::{STATUSES, StaffTask, TaskError};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{ApiError, Call, body};

fn view(task: &StaffTask) -> Value {
    json!({
        "id": task.id,
        "task": format!("Task/{}", task.id),
        "patient": task.patient.as_ref().map(|p| format!("Patient/{p}")),
        "appointment": task.appointment.as_ref().map(|a| format!("Appointment/{a}")),
        "status": task.status,
        "description": task.description,
        "authored": task.authored,
        "version": task.version,
    })
}

/// `GET /api/v1/tasks?status=requested,in-progress&patient=ID`: newest first; `status`
/// defaults to the open ones (requested, accepted, in-progress).
pub async fn list(
    call: Call,
    Query(params): Query<Vec<(String, String)>>,
) -> Result<Response, ApiError> {
    let bad = |message: String| ApiError::new(StatusCode::BAD_REQUEST, message);
    let mut statuses: Vec<&str> = vec!["requested", "accepted", "in-progress"];
    let mut patient = None;
    for (name, value) in &params {
        match name.as_str() {
            "status" => {
                statuses = value
                    .split(',')
                    .map(|one| {
                        STATUSES
                            .into_iter()
                            .find(|s| *s == one.trim())
                            .ok_or_else(|| {
                                bad(format!(
                                    "status is one of {}, comma-separated",
                                    STATUSES.join(", ")
                                ))
                            })
                    })
                    .collect::<Result<_, _>>()?;
            }
            "patient" => {
                patient = Some(
                    ResourceId::parse(value.trim())
                        .map_err(|_| bad("patient is a patient's id".to_owned()))?,
                );
            }
            other => return Err(bad(format!("unknown parameter '{other}'"))),
        }
    }
    let tasks = call
        .state
        .engine
        .tasks(patient.as_ref(), &statuses)
        .await
        .map_err(|e| ApiError::unavailable(&e))?;
    call.audit("task.list", "Task").await?;
    Ok(Json(json!({"tasks": tasks.iter().map(view).collect::<Vec<_>>()})).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatusBody {
    status: String,
}

/// `PUT /api/v1/tasks/{id}/status` `{"status": "completed"}`.
pub async fn set_status(
    call: Call,
    Path(id): Path<String>,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    let wanted = body::<StatusBody>(&bytes)?;
    let task = match call.state.engine.set_task_status(&id, &wanted.status).await {
        Ok(task) => task,
        Err(TaskError::Engine(error)) => return Err(ApiError::unavailable(&error)),
        Err(refused) => {
            let status = match refused {
                TaskError::NotFound => StatusCode::NOT_FOUND,
                TaskError::Changed => StatusCode::CONFLICT,
                _ => StatusCode::BAD_REQUEST,
            };
            return Err(ApiError::new(status, refused.to_string()));
        }
    };
    call.audit("task.status", &format!("Task/{}", task.id))
        .await?;
    Ok(Json(view(&task)).into_response())
}
