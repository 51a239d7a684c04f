//! `PUT /fhir/{type}/{id}`: update, or create with the client's id; `If-Match` guards
//! against lost updates.

use axum::Extension;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use careloop_domain::OrgId;

use super::resource_type;
use crate::fhir_http::{FhirBody, FhirFailure, header_str, write_response};
use crate::state::AppState;

pub async fn put(
    State(state): State<AppState>,
    Extension(org): Extension<OrgId>,
    Path((type_name, id)): Path<(String, String)>,
    headers: HeaderMap,
    FhirBody(body): FhirBody,
) -> Result<Response, FhirFailure> {
    let resource_type = resource_type(&type_name)?;
    let if_match = header_str(&headers, "if-match");
    let written = state
        .fhir
        .update(&org, resource_type, &id, body, if_match)
        .await?;
    Ok(write_response(state.fhir.base(), &written, true, &headers))
}
