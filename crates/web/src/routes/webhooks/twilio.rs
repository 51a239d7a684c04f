//! Twilio's webhooks, form-encoded and signed with `X-Twilio-Signature`: an HMAC-SHA1,
//! keyed by the auth token, of the URL Twilio called (careloop's public URL, the path and
//! the query) followed by the sorted form parameters.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, OriginalUri, Request, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use careloop_channels::twilio::send::delivery_status;
use careloop_channels::twilio::signature;
use careloop_domain::journey::Channel;
use careloop_engine::outcome::{MessageRef, Settled};
use careloop_engine::{Inbound, Outcome, Received};

use crate::state::AppState;

const SIGNATURE: &str = "x-twilio-signature";

/// Why a webhook request is refused before it is read.
enum Refusal {
    NotConfigured,
    BadSignature,
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        match self {
            Self::NotConfigured => (StatusCode::NOT_FOUND, "Twilio is not configured\n"),
            Self::BadSignature => (
                StatusCode::FORBIDDEN,
                "the X-Twilio-Signature does not match\n",
            ),
        }
        .into_response()
    }
}

/// The form parameters of a request Twilio signed, taken only once the signature
/// matches: a handler that takes one never sees a forged request.
pub struct SignedForm {
    params: Vec<(String, String)>,
    /// The URL as Twilio called it, query and all.
    uri: Uri,
}

impl FromRequest<AppState> for SignedForm {
    type Rejection = Response;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let Some(token) = state.twilio_auth_token.as_deref() else {
            return Err(Refusal::NotConfigured.into_response());
        };
        let (mut parts, body) = request.into_parts();
        let OriginalUri(uri) = OriginalUri::from_request_parts(&mut parts, state)
            .await
            .unwrap_or_else(|never| match never {});
        let given = parts
            .headers
            .get(SIGNATURE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let body = Bytes::from_request(Request::from_parts(parts, body), state)
            .await
            .map_err(IntoResponse::into_response)?;
        let params: Vec<(String, String)> = form_urlencoded::parse(&body)
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        let url = format!(
            "{}{}",
            state.public_url,
            uri.path_and_query().map_or("", |pq| pq.as_str())
        );
        if given.is_empty() || !signature::verify(token, &url, &params, &given) {
            tracing::warn!(
                webhook = "twilio",
                "refused a request with a missing or wrong signature"
            );
            return Err(Refusal::BadSignature.into_response());
        }
        Ok(Self { params, uri })
    }
}

impl SignedForm {
    /// A form parameter, if given and not empty.
    fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    }

    /// A parameter of the URL's query (careloop's own, put there when it sent).
    fn query(&self, name: &str) -> Option<String> {
        self.uri.query().and_then(|q| {
            form_urlencoded::parse(q.as_bytes())
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.into_owned())
        })
    }
}

fn bad_request(what: &str) -> Response {
    (StatusCode::BAD_REQUEST, format!("{what}\n")).into_response()
}

/// `POST /webhooks/twilio/status`: a delivery report. Reports only move a message
/// forward, so a late or repeated one changes nothing.
pub async fn status(State(state): State<AppState>, form: SignedForm) -> Response {
    let Some(sid) = form.param("MessageSid") else {
        return bad_request("MessageSid is required");
    };
    let Some(reported) = form.param("MessageStatus").or(form.param("SmsStatus")) else {
        return bad_request("MessageStatus is required");
    };
    let Some(status) = delivery_status(reported) else {
        return bad_request("MessageStatus is not a Twilio message status");
    };
    // careloop's own id rides in the callback URL, so a report finds its message even
    // when the answer to the send (with the MessageSid) was lost.
    let own_id = form.query("m");
    let outcome = Outcome::Reported {
        status,
        provider_id: Some(sid.to_owned()),
        error_code: form.param("ErrorCode").map(str::to_owned),
    };
    let message = match own_id {
        Some(id) => MessageRef::Own(id),
        None => MessageRef::Provider(sid.to_owned()),
    };
    match state.engine.report(message, &outcome).await {
        Ok(Settled::Missing) => {
            // Not a message of careloop's (or one since erased): nothing to do, and
            // nothing for Twilio to retry.
            tracing::info!(webhook = "twilio", "a status report for an unknown message");
            StatusCode::NO_CONTENT.into_response()
        }
        Ok(_) => StatusCode::NO_CONTENT.into_response(),
        Err(error) => {
            tracing::error!(error = %error, "could not record a status report");
            // Twilio retries on a 5xx.
            StatusCode::SERVICE_UNAVAILABLE.into_response()
        }
    }
}

/// An empty TwiML answer: careloop answers through the API, where each answer is
/// recorded and passes the same gates as every message.
const EMPTY_TWIML: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response></Response>";

fn twiml() -> Response {
    (
        StatusCode::OK,
        [(axum::http::header::CONTENT_TYPE, "text/xml; charset=utf-8")],
        EMPTY_TWIML,
    )
        .into_response()
}

/// `POST /webhooks/twilio/sms`: a text from a patient. Twilio retries a message it got
/// no answer for; the same MessageSid is handled once.
pub async fn sms(State(state): State<AppState>, form: SignedForm) -> Response {
    let Some(sid) = form.param("MessageSid").or(form.param("SmsSid")) else {
        return bad_request("MessageSid is required");
    };
    let Some(from) = form.param("From") else {
        return bad_request("From is required");
    };
    let message = Inbound {
        channel: Channel::Sms,
        from: from.to_owned(),
        // A picture message may come without text.
        text: form.param("Body").unwrap_or_default().to_owned(),
        provider_id: sid.to_owned(),
    };
    match state.engine.receive(&message).await {
        Ok(Received::Kept { intent, .. }) => {
            tracing::info!(webhook = "twilio", intent, "kept a patient's text");
            twiml()
        }
        Ok(Received::Duplicate) => {
            tracing::info!(webhook = "twilio", "a text handled before");
            twiml()
        }
        Ok(Received::UnknownSender) => {
            tracing::info!(webhook = "twilio", "a text from a number no patient has");
            twiml()
        }
        Err(error) => {
            tracing::error!(error = %error, "could not keep a patient's text");
            // Twilio retries on a 5xx.
            StatusCode::SERVICE_UNAVAILABLE.into_response()
        }
    }
}
