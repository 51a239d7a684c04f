//! What every handler can reach, and how it is put together.

use std::sync::Arc;

use careloop_domain::{Clock, OrgId, Region};
use careloop_fhir::{Context, FhirService};
use careloop_store::Store;
use jiff::Timestamp;

use crate::auth::ApiToken;
use crate::metrics::Metrics;

#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub fhir: FhirService,
    pub token: Arc<ApiToken>,
    pub metrics: Arc<Metrics>,
    pub started: Timestamp,
}

impl AppState {
    /// `public_url` is where clients reach careloop (no trailing slash); `api_token`
    /// acts for the default organization.
    pub fn new(
        store: Store,
        clock: &dyn Clock,
        public_url: &str,
        api_token: &str,
        region: Region,
    ) -> Self {
        let fhir = FhirService::new(
            store.clone(),
            Context { region },
            format!("{public_url}/fhir"),
        );
        Self {
            store,
            fhir,
            token: Arc::new(ApiToken::new(api_token, OrgId::default_org())),
            metrics: Arc::new(Metrics::new()),
            started: clock.now(),
        }
    }
}
