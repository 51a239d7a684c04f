//! Consent records as the engine reads and writes them: the gate before a send reads the
//! records of the address; a STOP or START writes one for every patient who shares it.

use std::collections::{HashMap, HashSet};

use careloop_domain::ResourceId;
use careloop_domain::consent::{self, Decision, Held, Record, Source};
use careloop_domain::journey::{Channel, Purpose};
use careloop_fhir::consent as fhir_consent;
use careloop_fhir::consent::{ConsentChange, address_term};
use careloop_store::Change;
use careloop_store::crypto::new_resource_id;
use careloop_store::model::{Search, Sort, Term, TermFilter};
use serde_json::Value;

use crate::compose::put;
use crate::subject::Subject;
use crate::{Engine, EngineError};

/// The most consent records read for one address or patient: far more than anyone leaves.
const MOST_RECORDS: u32 = 200;

/// The consent records of a batch's addresses, newest first, by address term.
#[derive(Default)]
pub(crate) struct ConsentBook {
    records: HashMap<String, Vec<Value>>,
    /// The address terms the book was read for: of any other address it knows nothing,
    /// not that it has no records.
    asked: HashSet<String>,
    /// Whether every record of every address asked for is here.
    complete: bool,
}

/// The Consents with any of `terms`, newest first: the latest speak, and older ones
/// beyond `most` no longer matter.
fn consent_search(terms: Vec<Term>, most: u32) -> Search {
    Search {
        resource_type: "Consent",
        terms: vec![TermFilter::any_of(terms)],
        ids: Vec::new(),
        start_from: None,
        start_before: None,
        sort: Sort::Newest,
        count: most,
        offset: 0,
    }
}

/// The gate over an address's records, newest first. A record careloop wrote that no
/// longer reads may be a stop: the message waits for it rather than risk going against
/// the patient's word.
fn gate_records(records: &[Value], purpose: Purpose) -> Result<(), Held> {
    let Some(records) = records
        .iter()
        .map(fhir_consent::record)
        .collect::<Option<Vec<Record>>>()
    else {
        return Err(Held::Unreadable);
    };
    consent::gate(&records, purpose)
}

impl Engine {
    /// Records what the provider says: this number unsubscribed, whatever careloop
    /// heard. A failure is logged; the send's own outcome is recorded regardless.
    pub(crate) async fn note_unsubscribed(&self, phone: &str) {
        let recorded = async {
            // Said already: a record for every refused send would only pile up.
            if self
                .consent_gate(Channel::Sms, phone, Purpose::Transactional)
                .await?
                .is_err()
            {
                return Ok(());
            }
            let patients = self.patients_with(Channel::Sms, phone).await?;
            let changes = self.record_consent(
                &patients,
                &ConsentChange {
                    channel: Channel::Sms,
                    address: phone,
                    decision: Decision::Deny,
                    purpose: None,
                    source: Source::Provider,
                    trigger: None,
                    message: None,
                },
            )?;
            if !changes.is_empty() {
                self.store.commit(&self.org, &changes).await?;
            }
            Ok::<(), EngineError>(())
        };
        if let Err(error) = recorded.await {
            tracing::warn!(error = %error, "could not record an unsubscribed number");
        }
    }

    async fn consents(&self, term: Term) -> Result<Vec<Value>, EngineError> {
        let page = self
            .store
            .search(&self.org, &consent_search(vec![term], MOST_RECORDS))
            .await?;
        page.resources
            .iter()
            .map(|stored| {
                serde_json::from_slice(&stored.body)
                    .map_err(|_| EngineError::Corrupt("a consent record"))
            })
            .collect()
    }

    /// The consent gate for one message to `address` on `channel`.
    pub(crate) async fn consent_gate(
        &self,
        channel: Channel,
        address: &str,
        purpose: Purpose,
    ) -> Result<Result<(), Held>, EngineError> {
        let records = self.consents(address_term(channel, address)).await?;
        Ok(gate_records(&records, purpose))
    }

    /// The consent records of many addresses, read in one query: what a batch of
    /// messages needs, instead of a query per message.
    pub(crate) async fn consent_book(
        &self,
        addresses: impl IntoIterator<Item = (Channel, String)>,
    ) -> Result<ConsentBook, EngineError> {
        let mut terms: Vec<Term> = addresses
            .into_iter()
            .map(|(channel, address)| address_term(channel, &address))
            .collect();
        terms.sort_by(|a, b| a.value.cmp(&b.value));
        terms.dedup_by(|a, b| a.value == b.value);
        if terms.is_empty() {
            return Ok(ConsentBook::default());
        }
        let most = MOST_RECORDS.saturating_mul(u32::try_from(terms.len()).unwrap_or(u32::MAX));
        let asked = terms.iter().map(|t| t.value.clone()).collect();
        let page = self
            .store
            .search(&self.org, &consent_search(terms, most))
            .await?;
        let mut book = ConsentBook {
            records: HashMap::new(),
            asked,
            // Past the limit some address may have lost its latest records: such a book
            // sends every question to the per-address read.
            complete: page.total <= u64::from(most),
        };
        for stored in &page.resources {
            let body: Value = serde_json::from_slice(&stored.body)
                .map_err(|_| EngineError::Corrupt("a consent record"))?;
            let Some(term) = fhir_consent::address_term_of(&body) else {
                continue;
            };
            book.records.entry(term.value).or_default().push(body);
        }
        Ok(book)
    }

    /// The consent gate, from `book` when it holds the address.
    pub(crate) async fn consent_gate_in(
        &self,
        book: &ConsentBook,
        channel: Channel,
        address: &str,
        purpose: Purpose,
    ) -> Result<Result<(), Held>, EngineError> {
        let term = address_term(channel, address);
        if !book.complete || !book.asked.contains(&term.value) {
            return self.consent_gate(channel, address, purpose).await;
        }
        let records = book.records.get(&term.value).map_or(&[][..], Vec::as_slice);
        Ok(gate_records(records, purpose))
    }

    /// The addresses of a subject that refuse care messages, by the same records and
    /// the same gate as each send: found by address, so a stop said by anyone who shares
    /// a number counts.
    pub(crate) async fn withdrawn_addresses(
        &self,
        subject: &Subject,
        book: &ConsentBook,
    ) -> Result<Vec<(Channel, String)>, EngineError> {
        let mut withdrawn = Vec::new();
        for (channel, address) in subject.addresses() {
            if self
                .consent_gate_in(book, channel, &address, Purpose::Transactional)
                .await?
                .is_err()
            {
                withdrawn.push((channel, address));
            }
        }
        Ok(withdrawn)
    }

    /// The writes that record `change` for each of `patients` (everyone who shares the
    /// address).
    pub(crate) fn record_consent(
        &self,
        patients: &[ResourceId],
        change: &ConsentChange<'_>,
    ) -> Result<Vec<Change>, EngineError> {
        patients
            .iter()
            .map(|patient| {
                let id = new_resource_id();
                let body = fhir_consent::new(&id, patient, change, self.store.now());
                put("Consent", &id, &body, fhir_consent::terms(&body), patient)
            })
            .collect()
    }
}
