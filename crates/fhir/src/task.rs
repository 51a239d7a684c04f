//! FHIR Task: a to-do for staff that a journey created ("patient asks to reschedule").

use careloop_domain::ResourceId;
use careloop_store::model::Term;
use jiff::Timestamp;
use serde_json::{Value, json};

use crate::appointment::{PATIENT, STATUS};
use crate::meta::instant;

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

/// Search terms: patient, status, focus.
pub fn terms(resource: &Value) -> Vec<Term> {
    let mut terms = Vec::new();
    if let Some(patient) = resource
        .pointer("/for/reference")
        .and_then(Value::as_str)
        .and_then(|r| r.strip_prefix("Patient/"))
    {
        terms.push(Term {
            param: PATIENT,
            value: patient.to_owned(),
        });
    }
    if let Some(status) = resource.get("status").and_then(Value::as_str) {
        terms.push(Term {
            param: STATUS,
            value: status.to_owned(),
        });
    }
    if let Some(focus) = resource.pointer("/focus/reference").and_then(Value::as_str) {
        terms.push(Term {
            param: FOCUS,
            value: focus.to_owned(),
        });
    }
    terms
}

pub fn search_param(name: &str) -> Option<&'static str> {
    match name {
        "patient" | "subject" => Some(PATIENT),
        "status" => Some(STATUS),
        "focus" => Some(FOCUS),
        _ => None,
    }
}
