//! `/webhooks/...`: what providers tell careloop. Each is verified before anything is
//! read from it; an unverified request gets 403 and changes nothing.

mod email;
mod twilio;

use axum::Router;
use axum::routing::post;

use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/twilio/status", post(twilio::status))
        .route("/twilio/sms", post(twilio::sms))
        .route("/email/inbound", post(email::inbound))
}
