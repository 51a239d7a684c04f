//! `DELETE /fhir/{type}/{id}`; `?_erase=true` on a Patient erases them for good.

use axum::Extension;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use careloop_domain::OrgId;
use careloop_fhir::{FhirError, IssueCode};

use super::resource_type;
use crate::fhir_http::{FhirFailure, header_str};
use crate::state::AppState;

pub async fn delete(
    State(state): State<AppState>,
    Extension(org): Extension<OrgId>,
    Path((type_name, id)): Path<(String, String)>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<StatusCode, FhirFailure> {
    let resource_type = resource_type(&type_name)?;
    let erase = erase_requested(query.as_deref())?;
    let if_match = header_str(&headers, "if-match");
    state
        .fhir
        .delete(&org, resource_type, &id, erase, if_match)
        .await?;
    if erase {
        tracing::info!(resource_type = resource_type.as_str(), "patient erased");
    }
    Ok(StatusCode::NO_CONTENT)
}

fn erase_requested(query: Option<&str>) -> Result<bool, FhirError> {
    let mut erase = false;
    for (name, value) in form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
        match (name.as_ref(), value.as_ref()) {
            ("_erase", "true") => erase = true,
            ("_erase", "false") => erase = false,
            ("_erase", other) => {
                return Err(FhirError::bad_request(
                    IssueCode::Value,
                    format!("_erase must be true or false, got '{other}'"),
                ));
            }
            (other, _) => {
                return Err(FhirError::bad_request(
                    IssueCode::NotSupported,
                    format!("'{other}' is not a parameter of delete"),
                ));
            }
        }
    }
    Ok(erase)
}
