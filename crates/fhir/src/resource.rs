//! The resource types careloop serves, and the one place that says how each is indexed
//! and protected.

use careloop_domain::{Appointment, Region, ResourceId};
use careloop_store::{Protection, model::Term};
use jiff::Timestamp;
use serde_json::Value;

use crate::outcome::{FhirError, IssueCode};
use crate::{appointment, communication_request, directory, patient};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ResourceType {
    Patient,
    Appointment,
    Practitioner,
    Location,
    /// Messages careloop sent or received: written by careloop only.
    Communication,
    /// To-dos for staff: written by careloop only.
    Task,
    /// Patients' yes or no to messages: written by careloop only.
    Consent,
    /// A client's request to send a patient a message: created through careloop only
    /// (which queues the message with it), then read-only.
    CommunicationRequest,
}

impl ResourceType {
    pub const ALL: [Self; 8] = [
        Self::Patient,
        Self::Appointment,
        Self::Practitioner,
        Self::Location,
        Self::Communication,
        Self::Task,
        Self::Consent,
        Self::CommunicationRequest,
    ];

    /// Whether clients may create, update and delete it; careloop alone writes the
    /// record of its messages and tasks.
    pub fn client_writable(self) -> bool {
        !matches!(
            self,
            Self::Communication | Self::Task | Self::Consent | Self::CommunicationRequest
        )
    }

    /// Whether clients may create it (and only create it): a request careloop acts on.
    pub fn client_creatable(self) -> bool {
        self.client_writable() || self == Self::CommunicationRequest
    }

    /// Refuses (405) a client's write to a type careloop alone writes. Every write
    /// path calls it first: create, update, delete and each transaction entry.
    pub fn ensure_writable(self) -> Result<(), FhirError> {
        if self.client_writable() {
            return Ok(());
        }
        if self == Self::CommunicationRequest {
            return Err(FhirError::new(
                405,
                IssueCode::NotSupported,
                "a CommunicationRequest is created with POST /fhir/CommunicationRequest and then read; it cannot be changed, deleted or sent in a transaction",
            ));
        }
        Err(FhirError::new(
            405,
            IssueCode::NotSupported,
            format!(
                "{} resources are written by careloop; clients can read and search them",
                self.as_str()
            ),
        ))
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == name)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Patient => "Patient",
            Self::Appointment => "Appointment",
            Self::Practitioner => "Practitioner",
            Self::Location => "Location",
            Self::Communication => "Communication",
            Self::Task => "Task",
            Self::Consent => "Consent",
            Self::CommunicationRequest => "CommunicationRequest",
        }
    }
}

/// What reading a resource needs to know about the deployment.
#[derive(Clone, Debug)]
pub struct Context {
    /// The numbering plan for phone numbers written without a country code.
    pub region: Region,
}

/// What the store needs to keep a valid resource: its search terms, its period, how to
/// protect it, and the patients it refers to (which must exist).
#[derive(Debug)]
pub struct Indexed {
    pub terms: Vec<Term>,
    pub start: Option<Timestamp>,
    pub end: Option<Timestamp>,
    pub protection: Protection,
    pub patient_refs: Vec<ResourceId>,
    /// The appointment read from the resource, when it is one.
    pub appointment: Option<Appointment>,
}

/// Checks that `body` is a JSON object of the expected type.
pub fn check_type(body: &Value, expected: ResourceType) -> Result<(), FhirError> {
    let Value::Object(map) = body else {
        return Err(FhirError::bad_request(
            IssueCode::Structure,
            "the body must be a JSON object (a FHIR resource)",
        ));
    };
    match map.get("resourceType") {
        None => Err(FhirError::bad_request(
            IssueCode::Required,
            "the resource has no resourceType",
        )),
        Some(Value::String(found)) if found == expected.as_str() => Ok(()),
        Some(found) => Err(FhirError::unprocessable(
            IssueCode::Invalid,
            format!(
                "resourceType must be {}, got {}",
                expected.as_str(),
                found.as_str().unwrap_or("a non-string")
            ),
        )
        .at("resourceType")),
    }
}

/// Validates a resource and works out how to store it.
pub fn index(
    resource_type: ResourceType,
    body: &Value,
    context: &Context,
) -> Result<Indexed, FhirError> {
    check_type(body, resource_type)?;
    match resource_type {
        ResourceType::Patient => {
            let patient = patient::from_fhir(body, context)?;
            Ok(Indexed {
                terms: patient::terms(&patient),
                start: None,
                end: None,
                protection: Protection::PatientRecord,
                patient_refs: Vec::new(),
                appointment: None,
            })
        }
        ResourceType::Appointment => {
            let parsed = appointment::from_fhir(body)?;
            let patients: Vec<ResourceId> = parsed.model.patients().cloned().collect();
            let owner = patients.first().cloned().ok_or_else(|| {
                FhirError::unprocessable(
                    IssueCode::Required,
                    "careloop keeps appointments of patients: add a participant whose actor is a Patient",
                )
                .at("Appointment.participant")
            })?;
            Ok(Indexed {
                terms: appointment::terms(&parsed),
                start: parsed.model.start,
                end: parsed.model.end,
                protection: Protection::OwnedBy(owner),
                patient_refs: patients,
                appointment: Some(parsed.model),
            })
        }
        ResourceType::CommunicationRequest => {
            let requested = communication_request::read(body)?;
            Ok(Indexed {
                terms: communication_request::terms(body)?,
                start: None,
                end: None,
                protection: Protection::OwnedBy(requested.patient.clone()),
                patient_refs: vec![requested.patient],
                appointment: None,
            })
        }
        ResourceType::Communication | ResourceType::Task | ResourceType::Consent => {
            resource_type.ensure_writable()?;
            Err(FhirError::internal())
        }
        ResourceType::Practitioner | ResourceType::Location => Ok(Indexed {
            terms: directory::terms(body, resource_type.as_str())?,
            start: None,
            end: None,
            protection: Protection::Clear,
            patient_refs: Vec::new(),
            appointment: None,
        }),
    }
}
