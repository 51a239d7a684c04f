//! FHIR Task: a to-do for staff that a journey created ("patient asks to reschedule").

use careloop_domain::ResourceId;
use careloop_store::model::Term;
use jiff::Timestamp;
use serde_json::{Value, json};

use crate::appointment::{PATIENT, STATUS};
use crate::meta::instant;
use crate::reference::{code_term, reference_term};

const FOCUS: &str = "focus";

pub struct NewTask<'a> {
    pub id: &'a ResourceId,
    pub patient: &'a ResourceId,
    pub appointment: Option<&'a ResourceId>,
    pub description: &'a str,
    /// `journey/step`, or what else created it.
    pub origin: &'a str,
    pub authored: Timestamp,
}

pub fn new(task: &NewTask<'_>) -> Value {
    let mut resource = json!({
        "resourceType": "Task",
        "id": task.id.as_str(),
        "status": "requested",
        "intent": "order",
        "priority": "routine",
        "description": task.description,
        "for": {"reference": format!("Patient/{}", task.patient)},
        "authoredOn": instant(task.authored),
        "note": [{"text": format!("Created by {}", task.origin)}],
    });
    if let Some(appointment) = task.appointment {
        resource["focus"] = json!({"reference": format!("Appointment/{appointment}")});
    }
    resource
}

/// Search terms: patient, status, focus (each reference as a bare id).
pub fn terms(resource: &Value) -> Vec<Term> {
    [
        reference_term(resource, "/for/reference", "Patient", PATIENT),
        code_term(resource, "/status", STATUS),
        reference_term(resource, "/focus/reference", "Appointment", FOCUS),
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// The term a Task search parameter looks up, and the type its value refers to when it
/// is a reference.
pub fn search_param(name: &str) -> Option<(&'static str, Option<&'static str>)> {
    match name {
        "patient" | "subject" => Some((PATIENT, Some("Patient"))),
        "status" => Some((STATUS, None)),
        "focus" => Some((FOCUS, Some("Appointment"))),
        _ => None,
    }
}
