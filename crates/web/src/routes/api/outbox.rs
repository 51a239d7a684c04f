//! The outbox as operators see it: messages by delivery state (the dead letters above
//! all), and sending a dead letter again. Rows hold states, times and codes only; the
//! text and the address stay in the sealed Communication.

use axum::Json;
use axum::extract::{Extension, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use careloop_domain::OrgId;
use careloop_domain::delivery::DeliveryStatus;
use careloop_engine::Outcome;
use careloop_engine::outcome::Settled;
use careloop_store::from_micros;
use careloop_store::work::{OutboxQuery, OutboxRow};
use serde_json::{Value, json};

use super::{problem, unavailable};
use crate::state::AppState;

/// The most rows one listing returns.
const MAX_LIMIT: i64 = 1000;
const DEFAULT_LIMIT: i64 = 100;

fn view(row: &OutboxRow) -> Value {
    json!({
        "id": row.id,
        "communication": format!("Communication/{}", row.id),
        "patient": format!("Patient/{}", row.patient_id),
        "channel": row.channel,
        "status": row.status,
        "attempts": row.attempts,
        "error_code": row.error_code,
        "reason": row.reason,
        "provider_id": row.provider_id,
        "resent_after_unknown_outcome": row.unknown_resends,
        "due": from_micros(row.due_us).to_string(),
        "created": from_micros(row.created_us).to_string(),
        "updated": from_micros(row.updated_us).to_string(),
    })
}

/// `GET /api/v1/outbox?status=dead,failed&limit=100`: oldest first; `status` defaults to
/// `dead`. `resent=true` keeps the messages sent again after an unknown outcome (a patient
/// may have had them twice), in any state unless `status` says which.
pub async fn list(
    State(state): State<AppState>,
    Extension(org): Extension<OrgId>,
    Query(params): Query<Vec<(String, String)>>,
) -> Response {
    let mut statuses = Vec::new();
    let mut limit = DEFAULT_LIMIT;
    let mut resent_only = false;
    for (name, value) in &params {
        match name.as_str() {
            // Repeated or comma-separated: any of them.
            "status" => {
                for status in value.split(',') {
                    let Some(known) = DeliveryStatus::parse(status.trim()) else {
                        let names: Vec<&str> =
                            DeliveryStatus::ALL.iter().map(|s| s.name()).collect();
                        return problem(
                            StatusCode::BAD_REQUEST,
                            format!("status '{status}' is not one of {}", names.join(", ")),
                        );
                    };
                    statuses.push(known.name().to_owned());
                }
            }
            "limit" => match value.parse::<i64>() {
                Ok(n) if n > 0 => limit = n.min(MAX_LIMIT),
                _ => {
                    return problem(
                        StatusCode::BAD_REQUEST,
                        "limit must be a positive whole number",
                    );
                }
            },
            "resent" => match value.as_str() {
                "true" => resent_only = true,
                "false" => resent_only = false,
                _ => return problem(StatusCode::BAD_REQUEST, "resent must be true or false"),
            },
            other => {
                return problem(
                    StatusCode::BAD_REQUEST,
                    format!("unknown parameter '{other}'; use status, resent and limit"),
                );
            }
        }
    }
    if statuses.is_empty() {
        if resent_only {
            statuses.extend(DeliveryStatus::ALL.iter().map(|s| s.name().to_owned()));
        } else {
            statuses.push(DeliveryStatus::Dead.name().to_owned());
        }
    }
    let query = OutboxQuery::InStatus {
        statuses,
        resent_only,
        limit,
    };
    match state.store.outbox(&org, &query).await {
        Ok(rows) => {
            Json(json!({"messages": rows.iter().map(view).collect::<Vec<_>>()})).into_response()
        }
        Err(error) => unavailable(&error),
    }
}

/// `POST /api/v1/outbox/{id}/retry`: sends a dead letter again, with fresh tries.
pub async fn retry(State(state): State<AppState>, Path(id): Path<String>) -> Response {
    match state.engine.settle(&id, &Outcome::Requeued).await {
        Ok(Settled::Missing) => problem(StatusCode::NOT_FOUND, "no such message"),
        Ok(Settled::Changed(row)) => {
            state.engine.nudge();
            Json(view(&row)).into_response()
        }
        Ok(Settled::Unchanged(row)) => problem(
            StatusCode::CONFLICT,
            format!(
                "only dead letters are sent again; this message is {}",
                row.status
            ),
        ),
        Err(error) => unavailable(&error),
    }
}
