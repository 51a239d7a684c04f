//! `/fhir`: FHIR R4 over JSON. Every route but `/metadata` needs the bearer token.

mod create;
mod delete;
mod metadata;
mod read;
mod search;
mod transaction;
mod update;

use axum::Router;
use axum::middleware::from_fn_with_state;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use careloop_fhir::{FhirError, ResourceType};

use crate::auth::require_token;
use crate::fhir_http::FhirFailure;
use crate::state::AppState;

pub fn router(state: AppState) -> Router<AppState> {
    let protected = Router::new()
        .route("/", post(transaction::post))
        .route("/{resource_type}", get(search::get).post(create::post))
        .route("/{resource_type}/_search", post(search::post))
        .route(
            "/{resource_type}/{id}",
            get(read::get).put(update::put).delete(delete::delete),
        )
        .route_layer(from_fn_with_state(state, require_token));
    Router::new()
        .route("/metadata", get(metadata::get))
        .merge(protected)
        .fallback(not_supported)
        .method_not_allowed_fallback(method_not_allowed)
}

/// The resource type named in a path, or a 404 saying what is supported.
fn resource_type(name: &str) -> Result<ResourceType, FhirFailure> {
    ResourceType::parse(name).ok_or_else(|| {
        let supported: Vec<&str> = ResourceType::ALL.iter().map(|t| t.as_str()).collect();
        FhirFailure(FhirError::not_found(format!(
            "resource type '{name}' is not supported; this server serves {}",
            supported.join(", ")
        )))
    })
}

async fn method_not_allowed() -> Response {
    FhirFailure(FhirError::new(
        405,
        careloop_fhir::IssueCode::NotSupported,
        "this method is not supported here; see /fhir/metadata for the supported interactions",
    ))
    .into_response()
}

async fn not_supported() -> Response {
    FhirFailure(FhirError::not_found(
        "no such FHIR interaction; see /fhir/metadata for what is supported",
    ))
    .into_response()
}
