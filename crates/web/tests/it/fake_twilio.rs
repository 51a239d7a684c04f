//! A local Twilio that speaks the Messaging API's wire format: it checks basic auth and
//! the form fields, answers 201 with a message resource, or with a scripted fault, and
//! can send status callbacks signed with X-Twilio-Signature, as Twilio does.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use base64::Engine as _;
use careloop_channels::twilio::signature;
use serde_json::json;

use crate::harness::TWILIO_AUTH_TOKEN;

pub const ACCOUNT_SID: &str = "AC00000000000000000000000000000001";

#[derive(Clone, Debug)]
pub enum Fault {
    /// Answer with this status, `Retry-After` and Twilio error code.
    Status(u16, Option<u64>, i64),
    /// Take the message and never answer.
    Hold,
}

/// A form as received: its fields in order.
type Form = Vec<(String, String)>;

#[derive(Clone, Default)]
struct Shared {
    received: Arc<Mutex<Vec<Form>>>,
    faults: Arc<Mutex<VecDeque<Fault>>>,
    counter: Arc<Mutex<u64>>,
}

pub struct FakeTwilio {
    pub base: String,
    shared: Shared,
    server: tokio::task::JoinHandle<()>,
}

/// What Twilio knows of a message it took.
#[derive(Clone, Debug)]
pub struct Received {
    pub form: Vec<(String, String)>,
}

impl Received {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.form
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

impl FakeTwilio {
    pub async fn start() -> Self {
        let shared = Shared::default();
        let app = Router::new()
            .route(
                "/2010-04-01/Accounts/{account}/Messages.json",
                post(create_message),
            )
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let server = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Self {
            base,
            shared,
            server,
        }
    }

    pub fn fail_next(&self, fault: Fault) {
        self.shared.faults.lock().unwrap().push_back(fault);
    }

    pub fn received(&self) -> Vec<Received> {
        self.shared
            .received
            .lock()
            .unwrap()
            .iter()
            .map(|form| Received { form: form.clone() })
            .collect()
    }
}

impl Drop for FakeTwilio {
    fn drop(&mut self) {
        self.server.abort();
    }
}

fn sid(n: u64) -> String {
    format!("SM{n:032x}")
}

async fn create_message(
    State(shared): State<Shared>,
    Path(account): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let expected = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD
            .encode(format!("{ACCOUNT_SID}:{TWILIO_AUTH_TOKEN}"))
    );
    let authorized =
        headers.get("authorization").and_then(|v| v.to_str().ok()) == Some(expected.as_str());
    if !authorized || account != ACCOUNT_SID {
        return error(401, None, 20003, "Authenticate");
    }
    if headers.get("content-type").and_then(|v| v.to_str().ok())
        != Some("application/x-www-form-urlencoded")
    {
        return error(400, None, 20001, "Invalid content type");
    }
    let form: Vec<(String, String)> = form_urlencoded::parse(&body)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let has = |name: &str| form.iter().any(|(k, v)| k == name && !v.is_empty());
    if !has("To") || !has("Body") || has("From") == has("MessagingServiceSid") {
        return error(
            400,
            None,
            21619,
            "A text message body or media url must be specified",
        );
    }
    let fault = shared.faults.lock().unwrap().pop_front();
    match fault {
        Some(Fault::Status(status, retry_after, code)) => {
            return error(status, retry_after, code, "scripted fault");
        }
        Some(Fault::Hold) => {
            shared.received.lock().unwrap().push(form.clone());
            std::future::pending::<()>().await;
        }
        None => shared.received.lock().unwrap().push(form.clone()),
    }
    let n = {
        let mut counter = shared.counter.lock().unwrap();
        *counter += 1;
        *counter
    };
    let value = |name: &str| form.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    (
        StatusCode::CREATED,
        axum::Json(json!({
            "sid": sid(n),
            "account_sid": ACCOUNT_SID,
            "to": value("To"),
            "from": value("From"),
            "messaging_service_sid": value("MessagingServiceSid"),
            "body": value("Body"),
            "status": "queued",
            "num_segments": "1",
            "num_media": "0",
            "direction": "outbound-api",
            "api_version": "2010-04-01",
            "error_code": null,
            "error_message": null,
            "uri": format!("/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/{}.json", sid(n)),
        })),
    )
        .into_response()
}

fn error(status: u16, retry_after: Option<u64>, code: i64, message: &str) -> Response {
    let status = StatusCode::from_u16(status).unwrap();
    let mut response = (
        status,
        axum::Json(json!({
            "code": code,
            "message": message,
            "more_info": format!("https://www.twilio.com/docs/errors/{code}"),
            "status": status.as_u16(),
        })),
    )
        .into_response();
    if let Some(seconds) = retry_after {
        response
            .headers_mut()
            .insert("retry-after", seconds.to_string().parse().unwrap());
    }
    response
}

/// Posts a status callback for `message` to its StatusCallback URL, signed as Twilio
/// signs; returns the HTTP status careloop answered.
pub async fn callback(
    message: &Received,
    sid: &str,
    status: &str,
    error_code: Option<&str>,
    signing_token: &str,
) -> StatusCode {
    let url = message.get("StatusCallback").unwrap().to_owned();
    let mut params = vec![
        ("MessageSid".to_owned(), sid.to_owned()),
        ("SmsSid".to_owned(), sid.to_owned()),
        ("MessageStatus".to_owned(), status.to_owned()),
        ("SmsStatus".to_owned(), status.to_owned()),
        ("AccountSid".to_owned(), ACCOUNT_SID.to_owned()),
        ("To".to_owned(), message.get("To").unwrap().to_owned()),
        ("ApiVersion".to_owned(), "2010-04-01".to_owned()),
    ];
    if let Some(code) = error_code {
        params.push(("ErrorCode".to_owned(), code.to_owned()));
    }
    post_signed(&url, &params, signing_token).await
}

pub async fn post_signed(url: &str, params: &[(String, String)], token: &str) -> StatusCode {
    let signature = signature::sign(token, url, params);
    let body = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params)
        .finish();
    reqwest::Client::new()
        .post(url)
        .header("content-type", "application/x-www-form-urlencoded")
        .header("x-twilio-signature", signature)
        .body(body)
        .send()
        .await
        .unwrap()
        .status()
}

/// The SID the fake gave its `n`th accepted message (from 1).
pub fn nth_sid(n: u64) -> String {
    sid(n)
}
