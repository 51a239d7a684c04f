//! Bearer-token authentication for the API: the token careloop was started with (kept
//! only as its SHA-256 digest and compared in constant time, so neither memory dumps nor
//! timing reveal it), or one made by `careloop token create` (looked up by its SHA-256,
//! which is all the database keeps of it).

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use careloop_domain::OrgId;
use careloop_fhir::FhirError;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::fhir_http::FhirFailure;
use crate::state::AppState;

/// An API token and the organization it acts for.
pub struct ApiToken {
    digest: [u8; 32],
    org: OrgId,
}

impl ApiToken {
    pub fn new(token: &str, org: OrgId) -> Self {
        Self {
            digest: Sha256::digest(token.as_bytes()).into(),
            org,
        }
    }

    fn check(&self, presented: &str) -> Option<&OrgId> {
        let digest: [u8; 32] = Sha256::digest(presented.as_bytes()).into();
        bool::from(digest.ct_eq(&self.digest)).then_some(&self.org)
    }
}

/// Who made an API request, as the audit log and a conversation's events name it: the
/// token careloop was started with, or a made token by its name.
#[derive(Clone, Debug)]
pub struct Caller(pub String);

/// Lets a request through only with a valid `Authorization: Bearer` token, and tells the
/// handlers which organization it acts for.
pub async fn require_token(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let presented = request
        .headers()
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim);
    let mut org = presented
        .and_then(|token| state.token.check(token).cloned())
        .map(|org| (org, Caller("token:startup".to_owned())));
    if org.is_none()
        && let Some(token) = presented
    {
        match state.store.api_token(token).await {
            Ok(found) => {
                org = found.map(|row| {
                    (
                        OrgId::new(row.org_id),
                        Caller(format!("token:{}", row.name)),
                    )
                });
            }
            Err(error) => {
                tracing::error!(error = %error, "the API tokens could not be read");
                return FhirFailure(FhirError::unavailable()).into_response();
            }
        }
    }
    match org {
        Some((org, caller)) => {
            request.extensions_mut().insert(org);
            request.extensions_mut().insert(caller);
            next.run(request).await
        }
        None => {
            tracing::warn!(
                reason = if presented.is_some() {
                    "wrong token"
                } else {
                    "no token"
                },
                "request refused"
            );
            FhirFailure(FhirError::unauthorized()).into_response()
        }
    }
}
