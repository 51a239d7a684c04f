//! `GET /fhir/{type}/{id}`.

use axum::Extension;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use careloop_domain::OrgId;

use super::resource_type;
use crate::fhir_http::{FhirFailure, Return, versioned_response};
use crate::state::AppState;

pub async fn get(
    State(state): State<AppState>,
    Extension(org): Extension<OrgId>,
    Path((type_name, id)): Path<(String, String)>,
) -> Result<Response, FhirFailure> {
    let resource_type = resource_type(&type_name)?;
    let found = state.fhir.read(&org, resource_type, &id).await?;
    Ok(versioned_response(
        state.fhir.base(),
        StatusCode::OK,
        &found,
        false,
        Return::Representation,
    ))
}
