//! `/api/v1`: what FHIR does not cover. Every route needs the bearer token.

mod outbox;
mod sandbox;

use axum::Router;
use axum::middleware::from_fn_with_state;
use axum::routing::{get, post};

use crate::auth::require_token;
use crate::state::AppState;

pub fn router(state: AppState) -> Router<AppState> {
    Router::new()
        .route("/outbox", get(outbox::list))
        .route("/outbox/{id}/retry", post(outbox::retry))
        .route("/sandbox/replies", post(sandbox::reply))
        .route_layer(from_fn_with_state(state, require_token))
}
