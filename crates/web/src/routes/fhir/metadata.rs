//! `GET /fhir/metadata`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;

use crate::fhir_http::fhir_json;
use crate::state::AppState;

pub async fn get(State(state): State<AppState>) -> Response {
    let statement = careloop_fhir::capability::statement(
        state.fhir.base(),
        env!("CARGO_PKG_VERSION"),
        state.started,
    );
    fhir_json(StatusCode::OK, &statement)
}
