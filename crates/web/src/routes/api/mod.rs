//! `/api/v1`: what FHIR does not cover. Every route needs the bearer token.

mod outbox;
mod sandbox;

use axum::http::StatusCode;
use axum::middleware::from_fn_with_state;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::json;

use crate::auth::require_token;
use crate::state::AppState;

/// An error as every `/api/v1` route answers it: `{"error": "..."}`.
fn problem(status: StatusCode, message: impl Into<String>) -> Response {
    (status, Json(json!({"error": message.into()}))).into_response()
}

/// The database failed: logged here with its cause, told to the client plainly.
fn unavailable(error: &dyn std::fmt::Display) -> Response {
    tracing::error!(error = %error, "an API request failed in the database");
    problem(StatusCode::SERVICE_UNAVAILABLE, "the database failed")
}

pub fn router(state: AppState) -> Router<AppState> {
    Router::new()
        .route("/outbox", get(outbox::list))
        .route("/outbox/{id}/retry", post(outbox::retry))
        .route("/sandbox/replies", post(sandbox::reply))
        .route_layer(from_fn_with_state(state, require_token))
}
