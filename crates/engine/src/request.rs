//! Messages clients ask for: a FHIR CommunicationRequest becomes a queued Communication
//! based on it, written in the same transaction as the request, which then passes the
//! same gates as every automated message (PHI level, consent, quiet hours, caps, rate).
//! What would make the message impossible to send is refused at once, with a FHIR
//! OperationOutcome naming the field: an unknown patient or appointment, no contact
//! point for the channel, a text too long for two segments.

use careloop_domain::journey::{Channel, Sending};
use careloop_domain::sms;
use careloop_domain::template::MAX_SMS_SEGMENTS;
use careloop_fhir::communication::NewOutbound;
use careloop_fhir::communication_request::{self, Requested};
use careloop_fhir::service::store_error;
use careloop_fhir::{FhirError, FhirService, IssueCode, ResourceType, Versioned};
use careloop_store::crypto::new_resource_id;
use serde_json::Value;

use crate::compose::Outgoing;
use crate::consent::ConsentBook;
use crate::subject::{Subject, read_appointment, read_patient};
use crate::{Engine, EngineError};

/// What names the sender of a requested message on its Communication.
const ORIGIN: &str = "communication-request";

fn refused(at: &str, diagnostics: impl Into<String>) -> FhirError {
    FhirError::unprocessable(IssueCode::Invalid, diagnostics)
        .at(format!("CommunicationRequest.{at}"))
}

fn engine_error(error: EngineError) -> FhirError {
    match error {
        EngineError::Store(error) => store_error(error, "CommunicationRequest"),
        _ => FhirError::internal(),
    }
}

impl Engine {
    /// Keeps the request and queues the message it asks for; with `If-None-Exist`, a
    /// matching request already kept is the answer and nothing is queued again.
    pub async fn request_message(
        &self,
        fhir: &FhirService,
        body: Value,
        if_none_exist: Option<&str>,
    ) -> Result<Versioned, FhirError> {
        careloop_fhir::resource::check_type(&body, ResourceType::CommunicationRequest)?;
        let requested = communication_request::read(&body)?;
        let subject = self.recipient(&requested).await?;
        let channel = requested
            .channel
            .or_else(|| subject.preferred_channel())
            .ok_or_else(|| refused("subject", "the patient has no phone or email to send to"))?;
        let address = subject.address(channel).ok_or_else(|| {
            refused(
                "medium[0]",
                match channel {
                    Channel::Sms => "the patient has no phone number that takes texts",
                    Channel::Email => "the patient has no email address",
                },
            )
        })?;
        let segments = sms::segments(&requested.text);
        if channel == Channel::Sms && segments.count > MAX_SMS_SEGMENTS {
            return Err(refused(
                "payload[0].contentString",
                format!(
                    "the text takes {} SMS segments; careloop sends at most {MAX_SMS_SEGMENTS}",
                    segments.count
                ),
            ));
        }
        let email_subject = format!("A message from {}", self.settings.clinic.name);
        let id = new_resource_id();
        let queued = Outgoing {
            message: NewOutbound {
                patient: &requested.patient,
                about: &requested.about,
                channel,
                address: &address,
                text: &requested.text,
                subject: (channel == Channel::Email).then_some(email_subject.as_str()),
                journey_step: ORIGIN,
                sending: Sending::Automated(requested.purpose),
                phi: requested.phi,
                based_on: Some(&id),
                to_patient: true,
            },
            blocked: None,
            not_before: requested.not_before,
        }
        .changes(self, format!("{ORIGIN}:{id}"))
        .map_err(engine_error)?;
        let created = fhir
            .create_fulfilled(
                &self.org,
                ResourceType::CommunicationRequest,
                body,
                if_none_exist,
                id,
                queued,
            )
            .await?;
        self.nudge();
        Ok(created)
    }

    /// The patient a request names, with the addresses that said stop, after checking
    /// that each appointment it is about is theirs.
    async fn recipient(&self, requested: &Requested) -> Result<Subject, FhirError> {
        let patient = read_patient(&self.store, &self.org, &self.settings, &requested.patient)
            .await
            .map_err(engine_error)?
            .ok_or_else(|| {
                refused(
                    "subject",
                    format!("Patient/{} does not exist", requested.patient),
                )
            })?;
        for (n, id) in requested.about.iter().enumerate() {
            let appointment = read_appointment(&self.store, &self.org, id)
                .await
                .map_err(engine_error)?;
            if !appointment.is_some_and(|a| a.patients().any(|p| *p == requested.patient)) {
                return Err(refused(
                    &format!("about[{n}]"),
                    format!("Appointment/{id} does not exist or is not the patient's"),
                ));
            }
        }
        let mut subject = Subject {
            patient_id: requested.patient.clone(),
            appointment: None,
            patient: Some(patient),
            place: None,
            withdrawn: Vec::new(),
        };
        subject.withdrawn = self
            .withdrawn_addresses(&subject, &ConsentBook::default())
            .await
            .map_err(engine_error)?;
        Ok(subject)
    }
}
