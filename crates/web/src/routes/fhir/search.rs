//! `GET /fhir/{type}?...` and `POST /fhir/{type}/_search` (form-encoded).

use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use careloop_domain::OrgId;

use super::resource_type;
use crate::fhir_http::{FhirFailure, fhir_json, strict_handling};
use crate::state::AppState;

fn pairs(raw: &[u8]) -> Vec<(String, String)> {
    form_urlencoded::parse(raw).into_owned().collect()
}

pub async fn get(
    State(state): State<AppState>,
    Extension(org): Extension<OrgId>,
    Path(type_name): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, FhirFailure> {
    let params = pairs(query.unwrap_or_default().as_bytes());
    run(&state, &org, &type_name, &params, &headers).await
}

pub async fn post(
    State(state): State<AppState>,
    Extension(org): Extension<OrgId>,
    Path(type_name): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, FhirFailure> {
    let mut params = pairs(query.unwrap_or_default().as_bytes());
    params.extend(pairs(&body));
    run(&state, &org, &type_name, &params, &headers).await
}

async fn run(
    state: &AppState,
    org: &OrgId,
    type_name: &str,
    params: &[(String, String)],
    headers: &HeaderMap,
) -> Result<Response, FhirFailure> {
    let resource_type = resource_type(type_name)?;
    let bundle = state
        .fhir
        .search(org, resource_type, params, strict_handling(headers))
        .await?;
    Ok(fhir_json(StatusCode::OK, &bundle))
}
