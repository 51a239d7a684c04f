//! `POST /fhir` with a transaction Bundle.

use axum::Extension;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use careloop_domain::OrgId;

use crate::fhir_http::{FhirBody, FhirFailure, fhir_json};
use crate::state::AppState;

pub async fn post(
    State(state): State<AppState>,
    Extension(org): Extension<OrgId>,
    FhirBody(bundle): FhirBody,
) -> Result<Response, FhirFailure> {
    let response = state.fhir.transaction(&org, bundle).await?;
    Ok(fhir_json(StatusCode::OK, &response))
}
