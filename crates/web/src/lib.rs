//! careloop's HTTP face. Handlers are thin: they read the request, call the FHIR service
//! or the store, and shape the response. Everything crosses one middleware stack that
//! gives each request an id, logs it without health data, and counts it.

mod auth;
mod fhir_http;
mod metrics;
mod observe;
mod routes;
mod state;

pub use auth::ApiToken;
pub use metrics::Metrics;
pub use routes::router;
pub use state::AppState;
