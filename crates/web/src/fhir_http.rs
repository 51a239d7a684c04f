//! FHIR over HTTP: the `application/fhir+json` body extractor, the error response (an
//! OperationOutcome with the right status), and the headers a version carries.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use careloop_fhir::meta::{etag, http_date};
use careloop_fhir::{FhirError, IssueCode, Versioned};
use serde_json::Value;

pub const FHIR_JSON: &str = "application/fhir+json; charset=utf-8";

/// Any FHIR error, answered as an OperationOutcome.
#[derive(Debug)]
pub struct FhirFailure(pub FhirError);

impl From<FhirError> for FhirFailure {
    fn from(error: FhirError) -> Self {
        Self(error)
    }
}

impl IntoResponse for FhirFailure {
    fn into_response(self) -> Response {
        let status =
            StatusCode::from_u16(self.0.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = fhir_json(status, &self.0.to_outcome());
        if status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

/// A JSON response with the FHIR media type.
pub fn fhir_json(status: StatusCode, body: &Value) -> Response {
    let bytes = serde_json::to_vec(body).unwrap_or_default();
    (status, [(header::CONTENT_TYPE, FHIR_JSON)], bytes).into_response()
}

/// A request body that must be FHIR JSON.
pub struct FhirBody(pub Value);

impl<S: Send + Sync> FromRequest<S> for FhirBody {
    type Rejection = FhirFailure;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let content_type = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.split(';').next().unwrap_or(v).trim().to_ascii_lowercase());
        if let Some(content_type) = &content_type
            && !matches!(
                content_type.as_str(),
                "application/fhir+json" | "application/json" | "application/json+fhir"
            )
        {
            return Err(FhirFailure(FhirError::new(
                415,
                IssueCode::NotSupported,
                format!("Content-Type {content_type} is not supported; send application/fhir+json"),
            )));
        }
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(|rejection| {
                FhirFailure(FhirError::new(
                    rejection.status().as_u16(),
                    IssueCode::Structure,
                    format!(
                        "the request body could not be read: {}",
                        rejection.body_text()
                    ),
                ))
            })?;
        serde_json::from_slice(&bytes).map(Self).map_err(|e| {
            FhirFailure(FhirError::bad_request(
                IssueCode::Structure,
                format!(
                    "the body is not valid JSON: {} at line {} column {}",
                    describe(&e),
                    e.line(),
                    e.column()
                ),
            ))
        })
    }
}

/// The kind of JSON error, without serde's echo of the input (which may hold PHI).
fn describe(error: &serde_json::Error) -> &'static str {
    match error.classify() {
        serde_json::error::Category::Eof => "it ends too early",
        serde_json::error::Category::Syntax => "syntax error",
        serde_json::error::Category::Data => "unexpected data",
        serde_json::error::Category::Io => "read error",
    }
}

/// What the client asked to get back (`Prefer: return=...`).
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Return {
    Representation,
    Minimal,
    OperationOutcome,
}

pub fn prefer_return(headers: &HeaderMap) -> Return {
    let prefer = prefer_values(headers);
    if prefer.iter().any(|p| p == "return=minimal") {
        Return::Minimal
    } else if prefer.iter().any(|p| p == "return=operationoutcome") {
        Return::OperationOutcome
    } else {
        Return::Representation
    }
}

/// `Prefer: handling=strict`: refuse unknown search parameters instead of ignoring them.
pub fn strict_handling(headers: &HeaderMap) -> bool {
    prefer_values(headers)
        .iter()
        .any(|p| p == "handling=strict")
}

fn prefer_values(headers: &HeaderMap) -> Vec<String> {
    headers
        .get_all("prefer")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split([',', ';']))
        .map(|p| p.trim().replace(' ', "").to_ascii_lowercase())
        .collect()
}

pub fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// The response to a read or a write: the resource with `ETag`, `Last-Modified`, and
/// `Location` after a write.
pub fn versioned_response(
    base: &str,
    status: StatusCode,
    written: &Versioned,
    wrote: bool,
    returning: Return,
) -> Response {
    let mut response = match returning {
        Return::Representation => fhir_json(status, &written.resource),
        Return::Minimal => status.into_response(),
        Return::OperationOutcome => fhir_json(
            status,
            &careloop_fhir::outcome::information(&format!(
                "{}/{} is at version {}",
                written.resource_type.as_str(),
                written.id,
                written.version
            )),
        ),
    };
    let headers = response.headers_mut();
    let mut set = |name, value: String| {
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(name, value);
        }
    };
    set(header::ETAG, etag(written.version));
    set(header::LAST_MODIFIED, http_date(written.last_updated));
    if wrote {
        set(header::LOCATION, format!("{base}/{}", written.location()));
    }
    response
}

/// The answer to a create or an update: 201 when it created the resource, else 200, shaped
/// by the client's `Prefer`.
pub fn write_response(
    base: &str,
    written: &Versioned,
    location: bool,
    headers: &HeaderMap,
) -> Response {
    let status = if written.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    versioned_response(base, status, written, location, prefer_return(headers))
}
