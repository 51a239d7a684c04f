//! The routes, by area: `/fhir` for the EHR, and the operations endpoints.

mod api;
mod fhir;
mod inbox;
mod ops;
mod webhooks;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::middleware::{from_fn, from_fn_with_state};
use axum::routing::get;
use tower_http::catch_panic::CatchPanicLayer;

use crate::observe::{observe, run_to_completion};
use crate::state::AppState;

/// The largest request body accepted: a transaction of a few thousand resources.
const MAX_BODY_BYTES: usize = 16 * 1024 * 1024;

pub fn router(state: AppState) -> Router {
    Router::new()
        .nest("/fhir", fhir::router(state.clone()))
        .nest("/webhooks", webhooks::router())
        .nest("/api/v1", api::router(state.clone()))
        .nest("/inbox", inbox::router())
        .route("/healthz", get(ops::healthz))
        .route("/readyz", get(ops::readyz))
        .route("/metrics", get(ops::metrics))
        .fallback(ops::not_found)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        // Inside the observer, so a handler that panics is still logged with its request
        // id and counted.
        .layer(CatchPanicLayer::custom(ops::panicked))
        .layer(from_fn(run_to_completion))
        .layer(from_fn_with_state(state.clone(), observe))
        .with_state(state)
}
