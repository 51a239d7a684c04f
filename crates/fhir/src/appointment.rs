//! FHIR `Appointment` to the careloop model, with FHIR's invariants checked (a booked
//! appointment has a start and an end, the end is not before the start).

use careloop_domain::appointment::{ActorRef, Participant};
use careloop_domain::{Appointment, AppointmentStatus, Identifier, ParticipationStatus};
use careloop_store::model::Term;
use jiff::Timestamp;
use serde_json::Value;

use crate::identifier;
use crate::json::Obj;
use crate::outcome::{FhirError, IssueCode};
use crate::patient::parse_id;
use crate::reference;

pub const PATIENT: &str = "patient";
pub const ACTOR: &str = "actor";
pub const PRACTITIONER: &str = "practitioner";
pub const LOCATION: &str = "location";
pub const STATUS: &str = "status";

/// An appointment and the identifiers the EHR gave it.
#[derive(Debug)]
pub struct ParsedAppointment {
    pub model: Appointment,
    pub identifiers: Vec<Identifier>,
}

fn required(path: String, what: &str) -> FhirError {
    FhirError::unprocessable(IssueCode::Required, format!("{path} is required: {what}")).at(path)
}

fn code<T: std::str::FromStr>(
    obj: &Obj<'_>,
    key: &str,
    codes: &[&str],
) -> Result<Option<T>, FhirError> {
    let Some(raw) = obj.str(key)? else {
        return Ok(None);
    };
    raw.parse().map(Some).map_err(|_| {
        let path = obj.path(key);
        FhirError::unprocessable(
            IssueCode::Value,
            format!("{path} '{raw}' is not one of {}", codes.join(", ")),
        )
        .at(path)
    })
}

fn instant(obj: &Obj<'_>, key: &str) -> Result<Option<Timestamp>, FhirError> {
    let Some(raw) = obj.str(key)? else {
        return Ok(None);
    };
    // FHIR `instant`: a full date and time with seconds and a zone offset.
    raw.parse::<Timestamp>().map(Some).map_err(|_| {
        let path = obj.path(key);
        FhirError::unprocessable(
            IssueCode::Value,
            format!("{path} '{raw}' is not an instant: give a date, a time and an offset, as 2026-03-01T09:30:00Z or 2026-03-01T09:30:00-05:00"),
        )
        .at(path)
    })
}

pub fn from_fhir(body: &Value) -> Result<ParsedAppointment, FhirError> {
    let resource = Obj::new(body, "Appointment")?;
    let status: AppointmentStatus = code(&resource, "status", AppointmentStatus::CODES)?
        .ok_or_else(|| {
            required(
                resource.path("status"),
                AppointmentStatus::CODES.join(", ").as_str(),
            )
        })?;
    let start = instant(&resource, "start")?;
    let end = instant(&resource, "end")?;
    let participants = participants(&resource)?;
    let model =
        Appointment::new(parse_id(&resource)?, status, start, end, participants).map_err(|e| {
            let path = match e {
                careloop_domain::AppointmentError::NoParticipants => "Appointment.participant",
                careloop_domain::AppointmentError::EndBeforeStart { .. } => "Appointment.end",
                _ => "Appointment.start",
            };
            FhirError::unprocessable(IssueCode::Invalid, e.to_string()).at(path)
        })?;
    Ok(ParsedAppointment {
        model,
        identifiers: identifier::parse(&resource)?,
    })
}

fn participants(resource: &Obj<'_>) -> Result<Vec<Participant>, FhirError> {
    let mut out = Vec::new();
    for (path, item) in resource.array("participant")? {
        let participant = Obj::new(item, &path)?;
        let status =
            code(&participant, "status", ParticipationStatus::CODES)?.ok_or_else(|| {
                required(
                    format!("{path}.status"),
                    ParticipationStatus::CODES.join(", ").as_str(),
                )
            })?;
        let actor = match participant.get("actor") {
            Some(actor) => {
                let actor_path = format!("{path}.actor");
                Obj::new(actor, &actor_path)?
                    .str("reference")?
                    .and_then(reference::parse_local)
            }
            None => None,
        };
        out.push(Participant { actor, status });
    }
    Ok(out)
}

pub fn terms(parsed: &ParsedAppointment) -> Vec<Term> {
    let mut terms = identifier::terms(&parsed.identifiers);
    terms.push(Term {
        param: STATUS,
        value: parsed.model.status.code().to_owned(),
    });
    for actor in parsed
        .model
        .participants
        .iter()
        .filter_map(|p| p.actor.as_ref())
    {
        terms.push(Term {
            param: ACTOR,
            value: actor.to_string(),
        });
        if let Some(param) = typed_param(actor) {
            terms.push(Term {
                param,
                value: actor.id.as_str().to_owned(),
            });
        }
    }
    terms
}

fn typed_param(actor: &ActorRef) -> Option<&'static str> {
    match actor.resource_type.as_str() {
        "Patient" => Some(PATIENT),
        "Practitioner" => Some(PRACTITIONER),
        "Location" => Some(LOCATION),
        _ => None,
    }
}

/// Marks `patient`'s participation accepted (their "C"). Returns false when nothing
/// changed: they had accepted already, or do not take part.
pub fn accept(body: &mut Value, patient: &careloop_domain::ResourceId) -> bool {
    let reference = format!("Patient/{patient}");
    let Some(participants) = body.get_mut("participant").and_then(Value::as_array_mut) else {
        return false;
    };
    let mut changed = false;
    for participant in participants {
        let names_patient = participant
            .pointer("/actor/reference")
            .and_then(Value::as_str)
            .is_some_and(|r| r == reference);
        if names_patient && participant.get("status").and_then(Value::as_str) != Some("accepted") {
            participant["status"] = Value::from("accepted");
            changed = true;
        }
    }
    changed
}

/// Cancels the appointment at the patient's request (their "N").
pub fn cancel_by_patient(body: &mut Value) {
    body["status"] = Value::from("cancelled");
    body["cancelationReason"] = serde_json::json!({"coding": [{
        "system": "http://terminology.hl7.org/CodeSystem/appointment-cancellation-reason",
        "code": "pat",
        "display": "Patient"
    }]});
}
