//! `/api/v1`: what FHIR does not cover. Every route needs the bearer token, except the
//! OpenAPI document that describes them.

mod conversations;
mod openapi;
mod outbox;
mod playbook;
mod sandbox;
mod saved_replies;
mod tasks;

use axum::Json;
use axum::Router;
use axum::http::StatusCode;
use axum::middleware::from_fn_with_state;
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodFilter, MethodRouter, get, on};
use careloop_domain::faq::FaqDefinition;
use careloop_domain::triage::RuleDefinition;
use serde::de::DeserializeOwned;
use serde_json::json;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use careloop_domain::OrgId;

use crate::auth::{Caller, require_token};
use crate::state::AppState;

/// An error as every `/api/v1` route answers it: `{"error": "..."}`.
fn problem(status: StatusCode, message: impl Into<String>) -> Response {
    (status, Json(json!({"error": message.into()}))).into_response()
}

/// The database failed: logged with its cause, told to the client plainly.
fn unavailable(error: &dyn std::fmt::Display) -> Response {
    ApiError::unavailable(error).into_response()
}

/// A refusal of an API request: its status and the one line that says why.
#[derive(Debug)]
pub(crate) struct ApiError(StatusCode, String);

impl ApiError {
    fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self(status, message.into())
    }

    /// The database failed: logged here with its cause, told to the client plainly.
    fn unavailable(error: &dyn std::fmt::Display) -> Self {
        tracing::error!(error = %error, "an API request failed in the database");
        Self::new(StatusCode::SERVICE_UNAVAILABLE, "the database failed")
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        problem(self.0, self.1)
    }
}

/// Who calls, for which organization, as the bearer token said: what every audited
/// route needs.
pub(crate) struct Call {
    pub state: AppState,
    pub org: OrgId,
    pub caller: Caller,
}

impl FromRequestParts<AppState> for Call {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        // `require_token` puts both there before any route runs.
        match (
            parts.extensions.get::<OrgId>(),
            parts.extensions.get::<Caller>(),
        ) {
            (Some(org), Some(caller)) => Ok(Self {
                state: state.clone(),
                org: org.clone(),
                caller: caller.clone(),
            }),
            _ => Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "a bearer token is needed",
            )),
        }
    }
}

impl Call {
    /// Writes `action` on `subject` to the audit log, under the token's name.
    async fn audit(&self, action: &str, subject: &str) -> Result<(), ApiError> {
        self.state
            .store
            .audit(&self.org, &self.caller.0, action, subject)
            .await
            .map(|_| ())
            .map_err(|error| ApiError::unavailable(&error))
    }
}

/// A request's JSON body. A body that does not read is refused with where it went
/// wrong and, for a missing or unknown field, which; never with a value from it, which
/// may be a patient's words.
fn body<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(bytes).map_err(|error| {
        let message = error.to_string();
        let says_field =
            message.starts_with("missing field") || message.starts_with("unknown field");
        let what = if says_field {
            message
                .split(" at line")
                .next()
                .unwrap_or_default()
                .to_owned()
        } else {
            match error.classify() {
                serde_json::error::Category::Data => {
                    "a value has the wrong type or form".to_owned()
                }
                serde_json::error::Category::Eof => "it ends before the JSON does".to_owned(),
                _ => "it is not JSON".to_owned(),
            }
        };
        ApiError::new(
            StatusCode::BAD_REQUEST,
            format!(
                "the body is not what this route takes: {what} (line {}, column {})",
                error.line(),
                error.column()
            ),
        )
    })
}

/// One route of the table: its method, its path and its handler.
macro_rules! route {
    ($method:ident $path:literal => $handler:expr) => {
        (
            stringify!($method),
            $path,
            on(MethodFilter::$method, $handler),
        )
    };
}

/// Every route of the API behind the token. The router is built from this table, and
/// the OpenAPI document is checked against it.
pub(crate) fn table() -> Vec<(&'static str, &'static str, MethodRouter<AppState>)> {
    vec![
        route!(GET "/outbox" => outbox::list),
        route!(POST "/outbox/{id}/retry" => outbox::retry),
        route!(POST "/sandbox/replies" => sandbox::reply),
        route!(GET "/conversations" => conversations::list),
        route!(GET "/conversations/{patient}" => conversations::read),
        route!(GET "/conversations/{patient}/messages" => conversations::messages),
        route!(POST "/conversations/{patient}/notes" => conversations::note),
        route!(PUT "/conversations/{patient}/assignee" => conversations::assign),
        route!(PUT "/conversations/{patient}/state" => conversations::set_state),
        route!(PUT "/conversations/{patient}/route" => conversations::route),
        route!(POST "/conversations/{patient}/tags" => conversations::tag),
        route!(DELETE "/conversations/{patient}/tags/{tag}" => conversations::untag),
        route!(POST "/conversations/{patient}/replies" => conversations::reply),
        route!(GET "/saved-replies" => saved_replies::list),
        route!(POST "/saved-replies" => saved_replies::add),
        route!(GET "/triage-rules" => playbook::list::<RuleDefinition>),
        route!(POST "/triage-rules" => playbook::add::<RuleDefinition>),
        route!(POST "/triage-rules/test" => playbook::try_rules),
        route!(PUT "/triage-rules/{id}" => playbook::replace::<RuleDefinition>),
        route!(DELETE "/triage-rules/{id}" => playbook::remove::<RuleDefinition>),
        route!(POST "/triage-rules/{id}/move" => playbook::move_to::<RuleDefinition>),
        route!(GET "/faq-answers" => playbook::list::<FaqDefinition>),
        route!(POST "/faq-answers" => playbook::add::<FaqDefinition>),
        route!(PUT "/faq-answers/{id}" => playbook::replace::<FaqDefinition>),
        route!(DELETE "/faq-answers/{id}" => playbook::remove::<FaqDefinition>),
        route!(POST "/faq-answers/{id}/move" => playbook::move_to::<FaqDefinition>),
        route!(GET "/tasks" => tasks::list),
        route!(PUT "/tasks/{id}/status" => tasks::set_status),
    ]
}

pub fn router(state: AppState) -> Router<AppState> {
    let mut paths: Vec<(&str, MethodRouter<AppState>)> = Vec::new();
    for (_, path, handler) in table() {
        match paths.iter_mut().find(|(p, _)| *p == path) {
            Some((_, methods)) => *methods = std::mem::take(methods).merge(handler),
            None => paths.push((path, handler)),
        }
    }
    let guarded = paths
        .into_iter()
        .fold(Router::new(), |router, (path, methods)| {
            router.route(path, methods)
        })
        .route_layer(from_fn_with_state(state, require_token));
    guarded.route("/openapi.json", get(openapi::document))
}
