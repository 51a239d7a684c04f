//! What a journey step needs to know about its appointment and patient, read from the
//! store and decrypted for the length of one step.

use careloop_domain::journey::Channel;
use careloop_domain::template::{Facts, Language};
use careloop_domain::{
    Appointment, ContactAddress, ContactChannel, ContactPoint, OrgId, ParticipationStatus, Patient,
    ResourceId,
};
use careloop_fhir::{Context, appointment, patient};
use careloop_store::Store;
use careloop_store::model::{Search, Sort};
use jiff::tz::TimeZone;
use serde_json::Value;
use std::collections::HashMap;

use crate::EngineError;
use crate::settings::Settings;

/// An appointment and its patient, as one step sees them.
pub struct Subject {
    pub patient_id: ResourceId,
    /// `None` when the appointment was deleted.
    pub appointment: Option<Appointment>,
    /// `None` when the patient was deleted.
    pub patient: Option<Patient>,
    /// The location's name, if the appointment names one that careloop knows.
    pub place: Option<String>,
    /// Addresses that said stop: passed over when another reaches the patient.
    pub withdrawn: Vec<(Channel, String)>,
}

impl Subject {
    pub async fn load(
        store: &Store,
        org: &OrgId,
        settings: &Settings,
        appointment_id: &ResourceId,
        patient_id: &ResourceId,
    ) -> Result<Self, EngineError> {
        let pair = [(appointment_id.clone(), patient_id.clone())];
        Self::load_many(store, org, settings, &pair)
            .await?
            .pop()
            .ok_or(EngineError::Corrupt("a subject"))
    }

    /// The subjects of many (appointment, patient) pairs, in their order, read a query
    /// per resource type: what a batch of journey steps needs.
    pub async fn load_many(
        store: &Store,
        org: &OrgId,
        settings: &Settings,
        pairs: &[(ResourceId, ResourceId)],
    ) -> Result<Vec<Self>, EngineError> {
        let appointments = read_many(store, org, "Appointment", pairs.iter().map(|p| &p.0)).await?;
        let patients = read_patients(store, org, settings, pairs.iter().map(|p| &p.1)).await?;
        let appointments = appointments
            .into_iter()
            .map(|(id, body)| {
                appointment::from_fhir(&body)
                    .map(|a| (id, a.model))
                    .map_err(|_| EngineError::Corrupt("an appointment"))
            })
            .collect::<Result<HashMap<_, _>, _>>()?;
        let locations = appointments.values().filter_map(location_of);
        let places = read_many(store, org, "Location", locations).await?;
        Ok(pairs
            .iter()
            .map(|(appointment_id, patient_id)| {
                let appointment = appointments.get(appointment_id).cloned();
                let place = appointment
                    .as_ref()
                    .and_then(location_of)
                    .and_then(|l| places.get(l))
                    .and_then(|body| body.get("name"))
                    .and_then(Value::as_str)
                    .map(str::to_owned);
                Self {
                    patient_id: patient_id.clone(),
                    appointment,
                    patient: patients.get(patient_id).cloned(),
                    place,
                    withdrawn: Vec::new(),
                }
            })
            .collect())
    }

    /// The patient's zone, else the clinic's.
    pub fn zone(&self, settings: &Settings) -> TimeZone {
        zone_of(self.patient.as_ref(), settings)
    }

    pub fn language(&self) -> Language {
        language_of(self.patient.as_ref())
    }

    /// Whether the patient accepted the appointment.
    pub fn confirmed(&self) -> bool {
        self.appointment.as_ref().is_some_and(|a| {
            a.participants.iter().any(|p| {
                p.actor
                    .as_ref()
                    .is_some_and(|actor| actor.is_patient() && actor.id == self.patient_id)
                    && p.status == ParticipationStatus::Accepted
            })
        })
    }

    /// The facts a template may use.
    pub fn facts(&self, settings: &Settings) -> Option<Facts> {
        let appointment = self.appointment.as_ref()?;
        Some(Facts {
            clinic: settings.clinic.name.clone(),
            clinic_phone: settings.clinic.phone.clone(),
            start: appointment.start?,
            zone: self.zone(settings),
            place: self
                .place
                .clone()
                .unwrap_or_else(|| settings.clinic.name.clone()),
            first_name: self
                .patient
                .as_ref()
                .and_then(|p| p.first_name())
                .unwrap_or_default()
                .to_owned(),
        })
    }

    /// The patient's address on `channel`: their most preferred contact point that
    /// reaches them there. One that said stop is chosen only when no other reaches them
    /// there, so that the send gate records why the message did not go.
    pub fn address(&self, channel: Channel) -> Option<String> {
        self.first_consenting(self.addresses().into_iter().filter(|(c, _)| *c == channel))
            .map(|(_, address)| address)
    }

    /// The channel of the patient's most preferred contact point that careloop can
    /// send on and that did not say stop (else of the most preferred one at all).
    pub fn preferred_channel(&self) -> Option<Channel> {
        self.first_consenting(self.addresses().into_iter())
            .map(|(channel, _)| channel)
    }

    fn first_consenting(
        &self,
        candidates: impl Iterator<Item = (Channel, String)>,
    ) -> Option<(Channel, String)> {
        let candidates: Vec<(Channel, String)> = candidates.collect();
        let consenting = candidates
            .iter()
            .position(|(c, a)| !self.is_withdrawn(*c, a))
            .unwrap_or(0);
        candidates.into_iter().nth(consenting)
    }

    fn is_withdrawn(&self, channel: Channel, address: &str) -> bool {
        self.withdrawn
            .iter()
            .any(|(c, a)| *c == channel && a == address)
    }

    /// Every address the patient can be reached at, on every channel.
    pub fn addresses(&self) -> Vec<(Channel, String)> {
        self.patient.as_ref().map(addresses_of).unwrap_or_default()
    }
}

/// Every address `patient` can be reached at, most preferred first, on every channel.
pub fn addresses_of(patient: &Patient) -> Vec<(Channel, String)> {
    patient
        .reachable_contacts()
        .into_iter()
        .flat_map(|contact| {
            [Channel::Sms, Channel::Email]
                .into_iter()
                .filter_map(|channel| contact_address(contact, channel).map(|a| (channel, a)))
        })
        .collect()
}

/// Where `contact` reaches the patient on `channel`, if it does: texts go to phones the
/// EHR did not mark as work numbers, emails to email addresses.
fn contact_address(contact: &ContactPoint, channel: Channel) -> Option<String> {
    match (&contact.address, channel) {
        (ContactAddress::Phone(number), Channel::Sms)
            if contact.channel == ContactChannel::Sms
                || contact.usage.as_deref() != Some("work") =>
        {
            number.e164().map(|n| n.as_str().to_owned())
        }
        (ContactAddress::Email(email), Channel::Email) => Some(email.as_str().to_owned()),
        _ => None,
    }
}

/// The patient's language, else English.
pub fn language_of(patient: Option<&Patient>) -> Language {
    patient
        .and_then(|p| p.language.as_ref())
        .map_or(Language::English, |l| Language::from_code(l.language()))
}

/// The patient's zone, else the clinic's.
pub fn zone_of(patient: Option<&Patient>, settings: &Settings) -> TimeZone {
    patient
        .and_then(|p| p.zone.as_ref())
        .map_or_else(|| settings.clinic.zone.clone(), |z| z.time_zone().clone())
}

/// An id careloop stored itself; one that does not parse is a corrupt `what`.
pub fn stored_id(raw: &str, what: &'static str) -> Result<ResourceId, EngineError> {
    ResourceId::parse(raw).map_err(|_| EngineError::Corrupt(what))
}

/// An appointment that exists and is not deleted.
pub async fn read_appointment(
    store: &Store,
    org: &OrgId,
    id: &ResourceId,
) -> Result<Option<Appointment>, EngineError> {
    match read_json(store, org, "Appointment", id).await? {
        Some(body) => Ok(Some(
            appointment::from_fhir(&body)
                .map_err(|_| EngineError::Corrupt("an appointment"))?
                .model,
        )),
        None => Ok(None),
    }
}

/// A patient that exists and is not deleted.
pub async fn read_patient(
    store: &Store,
    org: &OrgId,
    settings: &Settings,
    id: &ResourceId,
) -> Result<Option<Patient>, EngineError> {
    let context = Context {
        region: settings.region,
    };
    match read_json(store, org, "Patient", id).await? {
        Some(body) => Ok(Some(
            patient::from_fhir(&body, &context).map_err(|_| EngineError::Corrupt("a patient"))?,
        )),
        None => Ok(None),
    }
}

/// The location an appointment names, if any.
fn location_of(appointment: &Appointment) -> Option<&ResourceId> {
    appointment
        .participants
        .iter()
        .filter_map(|p| p.actor.as_ref())
        .find(|actor| actor.resource_type == "Location")
        .map(|actor| &actor.id)
}

/// The JSON of those of `ids` that exist and are not deleted, by id.
pub async fn read_many(
    store: &Store,
    org: &OrgId,
    resource_type: &'static str,
    ids: impl IntoIterator<Item = &ResourceId>,
) -> Result<HashMap<ResourceId, Value>, EngineError> {
    let mut ids: Vec<ResourceId> = ids.into_iter().cloned().collect();
    ids.sort_by(|a, b| a.as_str().cmp(b.as_str()));
    ids.dedup();
    let mut found = HashMap::with_capacity(ids.len());
    for chunk in ids.chunks(READ_MANY_CHUNK) {
        let page = store
            .search(
                org,
                &Search {
                    resource_type,
                    terms: Vec::new(),
                    ids: chunk.to_vec(),
                    start_from: None,
                    start_before: None,
                    sort: Sort::Created,
                    count: u32::try_from(chunk.len()).unwrap_or(u32::MAX),
                    offset: 0,
                },
            )
            .await?;
        for stored in page.resources {
            let body = serde_json::from_slice(&stored.body)
                .map_err(|_| EngineError::Corrupt("a stored resource"))?;
            found.insert(stored.id, body);
        }
    }
    Ok(found)
}

/// The patients of `ids` that exist and are not deleted, by id.
pub async fn read_patients(
    store: &Store,
    org: &OrgId,
    settings: &Settings,
    ids: impl IntoIterator<Item = &ResourceId>,
) -> Result<HashMap<ResourceId, Patient>, EngineError> {
    let context = Context {
        region: settings.region,
    };
    read_many(store, org, "Patient", ids)
        .await?
        .into_iter()
        .map(|(id, body)| {
            patient::from_fhir(&body, &context)
                .map(|p| (id, p))
                .map_err(|_| EngineError::Corrupt("a patient"))
        })
        .collect()
}

/// Ids per query in [`read_many`].
const READ_MANY_CHUNK: usize = 500;

/// The JSON of a resource that exists and is not deleted.
pub async fn read_json(
    store: &Store,
    org: &OrgId,
    resource_type: &str,
    id: &ResourceId,
) -> Result<Option<Value>, EngineError> {
    let Some(stored) = store.read(org, resource_type, id).await? else {
        return Ok(None);
    };
    if stored.deleted {
        return Ok(None);
    }
    serde_json::from_slice(&stored.body)
        .map(Some)
        .map_err(|_| EngineError::Corrupt("a stored resource"))
}
