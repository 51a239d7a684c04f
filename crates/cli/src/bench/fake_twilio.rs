//! A local Twilio for `careloop bench`: it speaks the Messaging API's wire format
//! (`POST /2010-04-01/Accounts/{sid}/Messages.json`, basic auth, form fields; 201 with
//! a message resource) and notes, for each bench patient, when their message arrived.
//!
//! It must cost next to nothing next to careloop, so that the figures are careloop's:
//! one slot per patient allocated up front, atomics only, no lock, no per-request
//! bookkeeping beyond the answer itself.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use base64::Engine as _;

use super::seed;

/// Twilio account SIDs are `AC` and 32 hex digits.
pub const ACCOUNT_SID: &str = "AC0000000000000000000000000000be01";
/// Checked on every request as Twilio checks it; known to nobody but the bench.
pub const AUTH_TOKEN: &str = "bench-auth-token-0000000000000000";

/// What the fake saw. Slots are indexed by the patient's number in the bench.
pub struct Tally {
    /// What arrival times are measured from.
    pub epoch: Instant,
    /// Set once every booking confirmation is in: messages after it are reminders.
    measuring: AtomicBool,
    confirmed: Vec<AtomicBool>,
    /// Microseconds after `epoch` at which the reminder arrived, plus one; 0 = not yet.
    reminded: Vec<AtomicU64>,
    confirmations: AtomicU64,
    reminders: AtomicU64,
    /// A second message to a patient in the same phase.
    duplicates: AtomicU64,
    /// A message to a number that is no bench patient's.
    strangers: AtomicU64,
    /// Requests refused: wrong credentials, account or form.
    refused: AtomicU64,
    /// Numbers the message SIDs.
    created: AtomicU64,
    authorization: String,
}

/// Counts at one moment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Counts {
    pub confirmations: u64,
    pub reminders: u64,
    pub duplicates: u64,
    pub strangers: u64,
    pub refused: u64,
}

impl Tally {
    fn new(patients: usize) -> Self {
        let credentials = format!("{ACCOUNT_SID}:{AUTH_TOKEN}");
        Self {
            epoch: Instant::now(),
            measuring: AtomicBool::new(false),
            confirmed: (0..patients).map(|_| AtomicBool::new(false)).collect(),
            reminded: (0..patients).map(|_| AtomicU64::new(0)).collect(),
            confirmations: AtomicU64::new(0),
            reminders: AtomicU64::new(0),
            duplicates: AtomicU64::new(0),
            strangers: AtomicU64::new(0),
            refused: AtomicU64::new(0),
            created: AtomicU64::new(0),
            authorization: format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(credentials)
            ),
        }
    }

    /// From now on, a message to a patient is their reminder.
    pub fn start_measuring(&self) {
        self.measuring.store(true, Ordering::SeqCst);
    }

    pub fn counts(&self) -> Counts {
        Counts {
            confirmations: self.confirmations.load(Ordering::SeqCst),
            reminders: self.reminders.load(Ordering::SeqCst),
            duplicates: self.duplicates.load(Ordering::SeqCst),
            strangers: self.strangers.load(Ordering::SeqCst),
            refused: self.refused.load(Ordering::SeqCst),
        }
    }

    /// When patient `index`'s reminder arrived, after `epoch`.
    pub fn reminded_at(&self, index: usize) -> Option<Duration> {
        let micros = self.reminded.get(index)?.load(Ordering::SeqCst);
        (micros > 0).then(|| Duration::from_micros(micros - 1))
    }

    /// Notes a message to patient `index`; false if they had one already in this phase.
    fn note(&self, index: usize) -> bool {
        if self.measuring.load(Ordering::SeqCst) {
            let micros = u64::try_from(self.epoch.elapsed().as_micros()).unwrap_or(u64::MAX);
            let Some(slot) = self.reminded.get(index) else {
                return false;
            };
            let first = slot
                .compare_exchange(
                    0,
                    micros.saturating_add(1),
                    Ordering::SeqCst,
                    Ordering::SeqCst,
                )
                .is_ok();
            if first {
                self.reminders.fetch_add(1, Ordering::SeqCst);
            }
            first
        } else {
            let Some(slot) = self.confirmed.get(index) else {
                return false;
            };
            let first = !slot.swap(true, Ordering::SeqCst);
            if first {
                self.confirmations.fetch_add(1, Ordering::SeqCst);
            }
            first
        }
    }
}

pub struct FakeTwilio {
    pub base: String,
    pub tally: Arc<Tally>,
    server: tokio::task::JoinHandle<()>,
}

impl FakeTwilio {
    /// Listens on a free loopback port, with a slot for each of `patients`.
    pub async fn start(patients: usize) -> anyhow::Result<Self> {
        let tally = Arc::new(Tally::new(patients));
        let app = Router::new()
            .route(
                &format!("/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"),
                post(create_message),
            )
            .fallback(refuse)
            .with_state(tally.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .context("the fake Twilio cannot listen on a local port")?;
        let base = format!(
            "http://{}",
            listener
                .local_addr()
                .context("the fake Twilio's port is unknown")?
        );
        let server = tokio::spawn(async move {
            if let Err(error) = axum::serve(listener, app).await {
                tracing::error!(error = %error, "the fake Twilio stopped");
            }
        });
        Ok(Self {
            base,
            tally,
            server,
        })
    }
}

impl Drop for FakeTwilio {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// Another account or path: Twilio would not know it either.
async fn refuse(State(tally): State<Arc<Tally>>) -> Response {
    tally.refused.fetch_add(1, Ordering::SeqCst);
    error(
        StatusCode::NOT_FOUND,
        20404,
        "The requested resource was not found",
    )
}

async fn create_message(
    State(tally): State<Arc<Tally>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let authorized = headers
        .get(header::AUTHORIZATION)
        .is_some_and(|value| value.as_bytes() == tally.authorization.as_bytes());
    if !authorized {
        tally.refused.fetch_add(1, Ordering::SeqCst);
        return error(StatusCode::UNAUTHORIZED, 20003, "Authenticate");
    }
    let (mut to, mut text) = (None, false);
    for (key, value) in form_urlencoded::parse(&body) {
        match key.as_ref() {
            "To" => to = Some(value),
            "Body" => text = !value.is_empty(),
            _ => {}
        }
    }
    let Some(to) = to.filter(|_| text) else {
        tally.refused.fetch_add(1, Ordering::SeqCst);
        return error(
            StatusCode::BAD_REQUEST,
            21619,
            "A text message body or media url must be specified",
        );
    };
    match seed::index_of_phone(&to) {
        Some(index) if index < tally.reminded.len() => {
            if !tally.note(index) {
                tally.duplicates.fetch_add(1, Ordering::SeqCst);
            }
        }
        _ => {
            tally.strangers.fetch_add(1, Ordering::SeqCst);
        }
    }
    let n = tally.created.fetch_add(1, Ordering::Relaxed) + 1;
    let body = format!(
        r#"{{"sid":"SM{n:032x}","account_sid":"{ACCOUNT_SID}","status":"queued","direction":"outbound-api","api_version":"2010-04-01","num_segments":"1","error_code":null,"error_message":null}}"#
    );
    (
        StatusCode::CREATED,
        [(header::CONTENT_TYPE, "application/json")],
        body,
    )
        .into_response()
}

fn error(status: StatusCode, code: u32, message: &str) -> Response {
    let body = format!(
        r#"{{"code":{code},"message":"{message}","more_info":"https://www.twilio.com/docs/errors/{code}","status":{}}}"#,
        status.as_u16()
    );
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn post(fake: &FakeTwilio, auth: (&str, &str), to: &str) -> u16 {
        reqwest::Client::new()
            .post(format!(
                "{}/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json",
                fake.base
            ))
            .basic_auth(auth.0, Some(auth.1))
            .form(&[("To", to), ("From", "+16175550100"), ("Body", "Hello")])
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    }

    #[tokio::test]
    async fn the_fake_counts_each_patient_once_per_phase_and_refuses_bad_credentials() {
        let fake = FakeTwilio::start(3).await.unwrap();
        let auth = (ACCOUNT_SID, AUTH_TOKEN);
        assert_eq!(post(&fake, auth, &seed::phone(0)).await, 201);
        assert_eq!(post(&fake, auth, &seed::phone(0)).await, 201);
        fake.tally.start_measuring();
        assert_eq!(post(&fake, auth, &seed::phone(0)).await, 201);
        assert_eq!(post(&fake, auth, &seed::phone(2)).await, 201);
        assert_eq!(post(&fake, auth, &seed::phone(3)).await, 201);
        assert_eq!(
            post(&fake, (ACCOUNT_SID, "wrong"), &seed::phone(1)).await,
            401
        );
        assert_eq!(
            fake.tally.counts(),
            Counts {
                confirmations: 1,
                reminders: 2,
                duplicates: 1,
                strangers: 1,
                refused: 1,
            }
        );
        assert!(fake.tally.reminded_at(2).is_some());
        assert!(fake.tally.reminded_at(1).is_none());
    }
}
