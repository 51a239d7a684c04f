//! Staff's tasks over the API: listed by patient and state, and moved to another state.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Extension, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use careloop_domain::{OrgId, ResourceId};
use careloop_engine::tasks::{STATUSES, StaffTask, TaskError};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{body, problem, unavailable};
use crate::auth::Caller;
use crate::state::AppState;

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
    State(state): State<AppState>,
    Query(params): Query<Vec<(String, String)>>,
) -> Response {
    let mut statuses: Vec<&str> = vec!["requested", "accepted", "in-progress"];
    let mut patient = None;
    for (name, value) in &params {
        match name.as_str() {
            "status" => {
                let mut chosen = Vec::new();
                for one in value.split(',').map(str::trim) {
                    match STATUSES.into_iter().find(|s| *s == one) {
                        Some(known) => chosen.push(known),
                        None => {
                            return problem(
                                StatusCode::BAD_REQUEST,
                                format!(
                                    "status is one of {}, comma-separated",
                                    STATUSES.join(", ")
                                ),
                            );
                        }
                    }
                }
                statuses = chosen;
            }
            "patient" => match ResourceId::parse(value.trim()) {
                Ok(id) => patient = Some(id),
                Err(_) => return problem(StatusCode::BAD_REQUEST, "patient is a patient's id"),
            },
            other => {
                return problem(
                    StatusCode::BAD_REQUEST,
                    format!("unknown parameter '{other}'"),
                );
            }
        }
    }
    match state.engine.tasks(patient.as_ref(), &statuses).await {
        Ok(tasks) => {
            Json(json!({"tasks": tasks.iter().map(view).collect::<Vec<_>>()})).into_response()
        }
        Err(error) => unavailable(&error),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatusBody {
    status: String,
}

/// `PUT /api/v1/tasks/{id}/status` `{"status": "completed"}`.
pub async fn set_status(
    State(state): State<AppState>,
    Extension(org): Extension<OrgId>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    bytes: Bytes,
) -> Response {
    let wanted = match body::<StatusBody>(&bytes) {
        Ok(wanted) => wanted,
        Err(refused) => return refused.into_response(),
    };
    match state.engine.set_task_status(&id, &wanted.status).await {
        Ok(task) => {
            if let Err(error) = state
                .store
                .audit(&org, &caller.0, "task.status", &format!("Task/{}", task.id))
                .await
            {
                return unavailable(&error);
            }
            Json(view(&task)).into_response()
        }
        Err(TaskError::NotFound) => problem(StatusCode::NOT_FOUND, TaskError::NotFound.to_string()),
        Err(TaskError::BadStatus) => {
            problem(StatusCode::BAD_REQUEST, TaskError::BadStatus.to_string())
        }
        Err(TaskError::Changed) => problem(StatusCode::CONFLICT, TaskError::Changed.to_string()),
        Err(TaskError::Engine(error)) => unavailable(&error),
    }
}
