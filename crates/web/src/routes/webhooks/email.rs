//! `POST /webhooks/email/inbound`: email a patient sent, as an inbound-mail service
//! forwards it: Postmark's inbound JSON (`application/json`), or the raw RFC 5322
//! message (`message/rfc822`, or `text/plain`). The service proves itself with HTTP
//! basic auth whose password is `CARELOOP_EMAIL_INBOUND_SECRET` (Postmark puts it in
//! the webhook URL: `https://inbound:SECRET@careloop.example/webhooks/email/inbound`).
//!
//! The message is threaded to the patient by address and read like a text: a reply
//! "C" confirms, "STOP" withdraws consent to email, anything else is kept for staff.
//! The same Message-ID twice is handled once.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use careloop_channels::email_inbound::{self, InboundEmail};
use careloop_domain::journey::Channel;
use careloop_engine::{Inbound, Received};
use subtle::ConstantTimeEq;

use crate::state::AppState;

pub async fn inbound(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let Some(secret) = state.email_inbound_secret.as_deref() else {
        return (StatusCode::NOT_FOUND, "inbound email is not configured\n").into_response();
    };
    if !authorized(&headers, secret) {
        tracing::warn!(
            webhook = "email",
            reason = "no or wrong credentials",
            "request refused"
        );
        return (
            StatusCode::UNAUTHORIZED,
            [(
                header::WWW_AUTHENTICATE,
                "Basic realm=\"careloop inbound email\"",
            )],
            "the credentials do not match\n",
        )
            .into_response();
    }
    let kind = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase())
        .unwrap_or_default();
    let parsed = match kind.as_str() {
        "application/json" => email_inbound::from_postmark(&body),
        "message/rfc822" | "text/plain" => email_inbound::from_rfc5322(&body),
        _ => {
            return (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "send Postmark's inbound JSON (application/json) or the raw message (message/rfc822)\n",
            )
                .into_response();
        }
    };
    let mail: InboundEmail = match parsed {
        Ok(mail) => mail,
        Err(error) => {
            tracing::warn!(webhook = "email", error = %error, "a malformed inbound email");
            return (StatusCode::BAD_REQUEST, format!("{error}\n")).into_response();
        }
    };
    let message = Inbound {
        channel: Channel::Email,
        from: mail.from,
        text: mail.text,
        provider_id: mail.message_id,
    };
    match state.engine.receive(&message).await {
        Ok(Received::Kept { intent, .. }) => {
            tracing::info!(webhook = "email", intent, "kept a patient's email");
            StatusCode::OK.into_response()
        }
        Ok(Received::Duplicate) => {
            tracing::info!(webhook = "email", "an email handled before");
            StatusCode::OK.into_response()
        }
        Ok(Received::UnknownSender) => {
            tracing::info!(webhook = "email", "an email from an address no patient has");
            StatusCode::OK.into_response()
        }
        Err(error) => {
            tracing::error!(error = %error, "could not keep a patient's email");
            // Inbound-mail services retry on a 5xx.
            StatusCode::SERVICE_UNAVAILABLE.into_response()
        }
    }
}

/// Whether the request carries basic auth with the secret as its password (any user
/// name), compared in constant time.
fn authorized(headers: &HeaderMap, secret: &str) -> bool {
    let Some(encoded) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
    else {
        return false;
    };
    let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(encoded.trim()) else {
        return false;
    };
    let password = decoded
        .iter()
        .position(|b| *b == b':')
        .map_or(&[][..], |colon| &decoded[colon + 1..]);
    !secret.is_empty() && bool::from(password.ct_eq(secret.as_bytes()))
}
