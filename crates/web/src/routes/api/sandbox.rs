//! `POST /api/v1/sandbox/replies`: answer a sandbox message as the patient would.

use axum::Json;
use axum::extract::State;
use axum::extract::rejection::JsonRejection;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use careloop_engine::{Received, SimulateError};
use serde::Deserialize;
use serde_json::json;

use super::{problem, unavailable};
use crate::state::AppState;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reply {
    /// The phone number or email address the patient's message went to.
    to: String,
    text: String,
}

pub async fn reply(
    State(state): State<AppState>,
    body: Result<Json<Reply>, JsonRejection>,
) -> Response {
    let Json(reply) = match body {
        Ok(body) => body,
        // The rejection's own text may quote the body (a phone number): not repeated.
        Err(_) => {
            return problem(
                StatusCode::BAD_REQUEST,
                "the body must be JSON with two strings, as {\"to\": \"+16175550101\", \"text\": \"C\"}",
            );
        }
    };
    match state.engine.simulate_reply(&reply.to, &reply.text).await {
        Ok(Received::Kept { id, intent }) => (
            StatusCode::CREATED,
            Json(json!({"communication": format!("Communication/{id}"), "intent": intent})),
        )
            .into_response(),
        Ok(Received::UnknownSender) => problem(
            StatusCode::NOT_FOUND,
            "no patient has this phone number or email address",
        ),
        Ok(Received::Duplicate) => problem(StatusCode::CONFLICT, "this answer was handled before"),
        Err(refused @ SimulateError::NotSandbox(_)) => {
            problem(StatusCode::CONFLICT, refused.to_string())
        }
        Err(SimulateError::Engine(error)) => unavailable(&error),
    }
}
