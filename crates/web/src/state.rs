//! What every handler can reach, and how it is put together.

use std::sync::Arc;

use careloop_domain::{Clock, OrgId};
use careloop_engine::Engine;
use careloop_fhir::{Context, FhirService};
use careloop_store::Store;
use jiff::Timestamp;

use crate::auth::ApiToken;
use crate::metrics::Metrics;

#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub fhir: FhirService,
    pub engine: Engine,
    /// Where the outside world reaches careloop, without a trailing slash: webhook
    /// signatures cover it.
    pub public_url: Arc<str>,
    /// Verifies Twilio's webhooks; `None` when Twilio is not configured.
    pub twilio_auth_token: Option<Arc<str>>,
    /// The password inbound-mail services post with; `None` when inbound email is not
    /// configured.
    pub email_inbound_secret: Option<Arc<str>>,
    pub token: Arc<ApiToken>,
    pub metrics: Arc<Metrics>,
    pub started: Timestamp,
}

impl AppState {
    /// `public_url` is where clients reach careloop (no trailing slash); `api_token`
    /// acts for the default organization.
    pub fn new(engine: Engine, clock: &dyn Clock, public_url: &str, api_token: &str) -> Self {
        let store = engine.store().clone();
        let fhir = FhirService::new(
            store.clone(),
            Context {
                region: engine.settings().region,
            },
            format!("{public_url}/fhir"),
        );
        Self {
            store,
            fhir,
            engine,
            public_url: Arc::from(public_url),
            twilio_auth_token: None,
            email_inbound_secret: None,
            token: Arc::new(ApiToken::new(api_token, OrgId::default_org())),
            metrics: Arc::new(Metrics::new()),
            started: clock.now(),
        }
    }

    /// Takes inbound email posted with this secret.
    pub fn with_email_inbound(mut self, secret: &str) -> Self {
        self.email_inbound_secret = Some(Arc::from(secret));
        self
    }

    /// Verifies Twilio's webhooks with this auth token.
    pub fn with_twilio(mut self, auth_token: &str) -> Self {
        self.twilio_auth_token = Some(Arc::from(auth_token));
        self
    }
}
