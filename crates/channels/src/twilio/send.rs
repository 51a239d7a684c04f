//! Sending text messages through Twilio's Messaging REST API:
//! `POST {base}/2010-04-01/Accounts/{AccountSid}/Messages.json`, form-encoded, with HTTP
//! basic auth. The base URL is configurable so tests can point it at a local fake.

use std::time::Duration;

use careloop_domain::delivery::DeliveryStatus;
use jiff::SignedDuration;
use serde::Deserialize;

use crate::transport::{Accepted, Outbound, SendError, Transport};

/// Who a message is sent from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Sender {
    /// A phone number (`From`).
    Number(String),
    /// A Messaging Service (`MessagingServiceSid`), which picks the number.
    MessagingService(String),
}

#[derive(Clone)]
pub struct TwilioConfig {
    /// `https://api.twilio.com` in production.
    pub api_base: String,
    pub account_sid: String,
    pub auth_token: String,
    pub sender: Sender,
    /// Where Twilio reports delivery (`{public url}/webhooks/twilio/status`); careloop
    /// adds the message's own id, so a report names it even when the send's answer was
    /// lost.
    pub status_callback: Option<String>,
    /// How long a send may take before its outcome counts as unknown.
    pub timeout: Duration,
}

/// The token is a secret: never printed.
impl std::fmt::Debug for TwilioConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TwilioConfig")
            .field("api_base", &self.api_base)
            .field("account_sid", &self.account_sid)
            .finish_non_exhaustive()
    }
}

pub struct TwilioSms {
    config: TwilioConfig,
    client: reqwest::Client,
}

/// The fields of Twilio's answer careloop reads.
#[derive(Deserialize)]
struct Created {
    sid: String,
    status: Option<String>,
}

#[derive(Deserialize)]
struct TwilioError {
    code: Option<i64>,
}

/// How long to wait for a connection: a refused or unreachable host fails fast, and
/// nothing was sent.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

impl TwilioSms {
    pub fn new(config: TwilioConfig) -> Result<Self, reqwest::Error> {
        let client = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(config.timeout)
            .build()?;
        Ok(Self { config, client })
    }

    fn url(&self) -> String {
        format!(
            "{}/2010-04-01/Accounts/{}/Messages.json",
            self.config.api_base.trim_end_matches('/'),
            self.config.account_sid
        )
    }

    fn form(&self, message: &Outbound) -> String {
        let mut form = form_urlencoded::Serializer::new(String::new());
        form.append_pair("To", &message.to);
        match &self.config.sender {
            Sender::Number(number) => form.append_pair("From", number),
            Sender::MessagingService(sid) => form.append_pair("MessagingServiceSid", sid),
        };
        form.append_pair("Body", &message.text);
        if let Some(callback) = &self.config.status_callback {
            let separator = if callback.contains('?') { '&' } else { '?' };
            form.append_pair(
                "StatusCallback",
                &format!("{callback}{separator}m={}", message.id),
            );
        }
        form.finish()
    }
}

/// A Twilio message status as careloop's delivery state.
pub fn delivery_status(status: &str) -> Option<DeliveryStatus> {
    Some(match status {
        "accepted" | "scheduled" | "queued" | "sending" => DeliveryStatus::Accepted,
        "sent" => DeliveryStatus::Sent,
        "delivered" | "partially_delivered" => DeliveryStatus::Delivered,
        "read" => DeliveryStatus::Read,
        "undelivered" => DeliveryStatus::Undelivered,
        "failed" | "canceled" => DeliveryStatus::Failed,
        _ => return None,
    })
}

/// `Retry-After` in seconds, as Twilio sends it.
fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<SignedDuration> {
    let seconds: i64 = headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()?;
    Some(SignedDuration::from_secs(seconds.max(0)))
}

/// Twilio's error for a recipient who unsubscribed from the sender.
const UNSUBSCRIBED: &str = "21610";

#[async_trait::async_trait]
impl Transport for TwilioSms {
    async fn send(&self, message: &Outbound) -> Result<Accepted, SendError> {
        let response = self
            .client
            .post(self.url())
            .basic_auth(&self.config.account_sid, Some(&self.config.auth_token))
            .header(reqwest::header::ACCEPT, "application/json")
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .body(self.form(message))
            .send()
            .await;
        let response = match response {
            Ok(response) => response,
            // Never connected, or never built: nothing left, so trying again is safe.
            Err(error) if error.is_connect() || error.is_builder() => {
                return Err(SendError::Transient {
                    code: "connect".to_owned(),
                    retry_after: None,
                });
            }
            // The request may have reached Twilio: its callback will tell.
            Err(_) => return Err(SendError::Unknown),
        };
        let status = response.status();
        let wait = retry_after(response.headers());
        let body = match response.bytes().await {
            Ok(body) => body,
            Err(_) if status.is_success() => return Err(SendError::Unknown),
            Err(_) => Default::default(),
        };
        if status.is_success() {
            let created: Created = serde_json::from_slice(&body).map_err(|_| SendError::Unknown)?;
            return Ok(Accepted {
                provider_id: created.sid,
                status: created
                    .status
                    .as_deref()
                    .and_then(delivery_status)
                    .unwrap_or(DeliveryStatus::Accepted),
            });
        }
        let code = serde_json::from_slice::<TwilioError>(&body)
            .ok()
            .and_then(|e| e.code)
            .map_or_else(|| status.as_u16().to_string(), |c| c.to_string());
        Err(match status.as_u16() {
            // Throttled, failing, or misconfigured (credentials, account): an operator or
            // time fixes these, so the message waits and tries again.
            401 | 403 | 404 | 408 | 429 | 500.. => SendError::Transient {
                code,
                retry_after: wait,
            },
            // The recipient texted STOP to this sender.
            _ if code == UNSUBSCRIBED => SendError::Unsubscribed { code },
            // The request itself is refused (an invalid number, say).
            _ => SendError::Permanent { code },
        })
    }

    fn name(&self) -> &'static str {
        "twilio"
    }
}
