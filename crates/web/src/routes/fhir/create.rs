//! `POST /fhir/{type}`, conditional with `If-None-Exist`. A CommunicationRequest goes to
//! the engine, which queues the message it asks for.

use axum::Extension;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use careloop_domain::OrgId;
use careloop_fhir::ResourceType;

use super::resource_type;
use crate::fhir_http::{FhirBody, FhirFailure, header_str, write_response};
use crate::state::AppState;

pub async fn post(
    State(state): State<AppState>,
    Extension(org): Extension<OrgId>,
    Path(type_name): Path<String>,
    headers: HeaderMap,
    FhirBody(body): FhirBody,
) -> Result<Response, FhirFailure> {
    let resource_type = resource_type(&type_name)?;
    let if_none_exist = header_str(&headers, "if-none-exist");
    let written = if resource_type == ResourceType::CommunicationRequest {
        // The engine keeps the request and queues the message it asks for, together.
        state
            .engine
            .request_message(&state.fhir, body, if_none_exist)
            .await?
    } else {
        state
            .fhir
            .create(&org, resource_type, body, if_none_exist)
            .await?
    };
    Ok(write_response(
        state.fhir.base(),
        &written,
        written.created,
        &headers,
    ))
}
