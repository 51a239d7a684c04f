//! Operations endpoints: liveness, readiness, metrics, and the answers of last resort.

use std::any::Any;

use axum::body::Body;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::metrics::Inbox;
use crate::state::AppState;

/// `GET /healthz`: the process is up.
pub async fn healthz() -> impl IntoResponse {
    axum::Json(json!({"status": "ok"}))
}

/// `GET /readyz`: the database answers.
pub async fn readyz(State(state): State<AppState>) -> Response {
    match state.store.ping().await {
        Ok(()) => axum::Json(json!({"status": "ready", "database": state.store.backend_kind()}))
            .into_response(),
        Err(error) => {
            tracing::warn!(error = %error, "readiness check failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                axum::Json(
                    json!({"status": "unavailable", "database": state.store.backend_kind()}),
                ),
            )
                .into_response()
        }
    }
}

/// The days the inbox's times in /metrics cover.
const METRICS_DAYS: i64 = 7;

/// `GET /metrics`: Prometheus text exposition.
pub async fn metrics(State(state): State<AppState>) -> Response {
    // The database may be down: the request figures still answer, the inbox's do not.
    // They are read at most every few seconds, however often /metrics is asked.
    let figures = if state.metrics.inbox_due(state.store.now()) {
        Some(state.engine.figures(METRICS_DAYS).await)
    } else {
        None
    };
    let inbox = match &figures {
        Some(Ok(figures)) => Inbox::Read(figures),
        Some(Err(error)) => {
            tracing::warn!(error = %error, "the inbox's figures could not be read for /metrics");
            Inbox::Failed
        }
        None => Inbox::Kept,
    };
    let body = state.metrics.render(state.store.pool_stats(), inbox);
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        body,
    )
        .into_response()
}

pub async fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        axum::Json(json!({"error": "not_found"})),
    )
        .into_response()
}

/// A handler that panicked: answered with a 500, logged without the payload's text
/// (which could hold anything).
pub fn panicked(_payload: Box<dyn Any + Send + 'static>) -> Response<Body> {
    tracing::error!("a request handler panicked");
    let outcome = careloop_fhir::FhirError::internal().to_outcome();
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        [(header::CONTENT_TYPE, crate::fhir_http::FHIR_JSON)],
        outcome.to_string(),
    )
        .into_response()
}
