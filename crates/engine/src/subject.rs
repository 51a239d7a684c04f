//! What a journey step needs to know about its appointment and patient, read from the
//! store and decrypted for the length of one step.

use careloop_domain::journey::Channel;
use careloop_domain::template::{Facts, Language};
use careloop_domain::{
    Appointment, ContactAddress, ContactChannel, OrgId, ParticipationStatus, Patient, ResourceId,
};
use careloop_fhir::{Context, appointment, patient};
use careloop_store::Store;
use jiff::tz::TimeZone;
use serde_json::Value;

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
}

impl Subject {
    pub async fn load(
        store: &Store,
        org: &OrgId,
        settings: &Settings,
        appointment_id: &ResourceId,
        patient_id: &ResourceId,
    ) -> Result<Self, EngineError> {
        let appointment = match read_json(store, org, "Appointment", appointment_id).await? {
            Some(body) => Some(
                appointment::from_fhir(&body)
                    .map_err(|_| EngineError::Corrupt("an appointment"))?
                    .model,
            ),
            None => None,
        };
        let context = Context {
            region: settings.region,
        };
        let patient = match read_json(store, org, "Patient", patient_id).await? {
            Some(body) => Some(
                patient::from_fhir(&body, &context)
                    .map_err(|_| EngineError::Corrupt("a patient"))?,
            ),
            None => None,
        };
        let mut place = None;
        let location = appointment.as_ref().and_then(|a| {
            a.participants
                .iter()
                .filter_map(|p| p.actor.as_ref())
                .find(|actor| actor.resource_type == "Location")
                .map(|actor| actor.id.clone())
        });
        if let Some(location) = location
            && let Some(body) = read_json(store, org, "Location", &location).await?
        {
            place = body.get("name").and_then(Value::as_str).map(str::to_owned);
        }
        Ok(Self {
            patient_id: patient_id.clone(),
            appointment,
            patient,
            place,
        })
    }

    /// The patient's zone, else the clinic's.
    pub fn zone(&self, settings: &Settings) -> TimeZone {
        self.patient
            .as_ref()
            .and_then(|p| p.zone.as_ref())
            .map_or_else(|| settings.clinic.zone.clone(), |z| z.time_zone().clone())
    }

    pub fn language(&self) -> Language {
        self.patient
            .as_ref()
            .and_then(|p| p.language.as_ref())
            .map_or(Language::English, |l| Language::from_code(l.language()))
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

    /// The patient's address on `channel`, most preferred first; texts go to phones
    /// the EHR did not mark as work numbers.
    pub fn address(&self, channel: Channel) -> Option<String> {
        let patient = self.patient.as_ref()?;
        patient
            .reachable_contacts()
            .into_iter()
            .find_map(|contact| match (&contact.address, channel) {
                (ContactAddress::Phone(number), Channel::Sms)
                    if contact.channel == ContactChannel::Sms
                        || contact.usage.as_deref() != Some("work") =>
                {
                    number.e164().map(|n| n.as_str().to_owned())
                }
                (ContactAddress::Email(email), Channel::Email) => Some(email.as_str().to_owned()),
                _ => None,
            })
    }

    /// The channel of the patient's most preferred contact point that careloop can
    /// send on.
    pub fn preferred_channel(&self) -> Option<Channel> {
        let patient = self.patient.as_ref()?;
        patient
            .reachable_contacts()
            .into_iter()
            .find_map(|contact| match &contact.address {
                ContactAddress::Phone(_) if self.address(Channel::Sms).is_some() => {
                    Some(Channel::Sms)
                }
                ContactAddress::Email(_) => Some(Channel::Email),
                ContactAddress::Phone(_) => None,
            })
    }
}

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
