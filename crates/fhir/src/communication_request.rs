//! FHIR CommunicationRequest: an EHR or a script asks careloop to send a patient one
//! message now or at a time. careloop keeps the request (sealed under the patient's key)
//! and queues the message as a Communication based on it, which then passes the same
//! gates as every automated message.
//!
//! What careloop reads from a request:
//! - `status` must be `active`; `subject` a `Patient/id`;
//! - `payload[0].contentString`: the text (one payload);
//! - `medium[0]`: `SMSWRIT` or `EMAILWRIT` (HL7 ParticipationMode); none means the
//!   patient's preferred channel;
//! - `about`: the appointments it concerns (`Appointment/id`);
//! - `occurrenceDateTime`: not before this time;
//! - `meta.security`: an HL7 v3 Confidentiality code (`U`, `L`, `M`, `N`, `R`, `V`) for
//!   the PHI level of the text; without one the text counts as `limited`;
//! - careloop's `message-purpose` extension: `transactional` (the default) or
//!   `marketing`, which needs the patient's opt-in.

use careloop_domain::ResourceId;
use careloop_domain::journey::{Channel, Purpose};
use careloop_domain::phi::PhiLevel;
use careloop_store::model::Term;
use jiff::Timestamp;
use serde_json::Value;

use crate::appointment::{PATIENT, STATUS};
use crate::communication::{PURPOSE, extension_value};
use crate::identifier;
use crate::json::Obj;
use crate::outcome::{FhirError, IssueCode};
use crate::reference::{code_term, reference_term};

const CONFIDENTIALITY: &str = "http://terminology.hl7.org/CodeSystem/v3-Confidentiality";

/// The message a request asks for, checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Requested {
    pub patient: ResourceId,
    pub text: String,
    /// `None`: the patient's preferred channel.
    pub channel: Option<Channel>,
    pub about: Vec<ResourceId>,
    pub purpose: Purpose,
    pub phi: PhiLevel,
    pub not_before: Option<Timestamp>,
}

fn invalid(at: &str, diagnostics: impl Into<String>) -> FhirError {
    FhirError::unprocessable(IssueCode::Invalid, diagnostics)
        .at(format!("CommunicationRequest.{at}"))
}

fn required(at: &str, diagnostics: impl Into<String>) -> FhirError {
    FhirError::unprocessable(IssueCode::Required, diagnostics)
        .at(format!("CommunicationRequest.{at}"))
}

/// Reads and checks what careloop needs from a request.
pub fn read(body: &Value) -> Result<Requested, FhirError> {
    match body.get("status").and_then(Value::as_str) {
        Some("active") => {}
        Some(other) => {
            return Err(invalid(
                "status",
                format!("only an active request is sent; this one is {other}"),
            ));
        }
        None => return Err(required("status", "a request needs a status (active)")),
    }
    let patient = body
        .pointer("/subject/reference")
        .and_then(Value::as_str)
        .ok_or_else(|| required("subject", "a request needs a subject: Patient/id"))?;
    let patient = patient
        .strip_prefix("Patient/")
        .and_then(|id| ResourceId::parse(id).ok())
        .ok_or_else(|| invalid("subject", "the subject must be a Patient: Patient/id"))?;
    let payloads = body
        .get("payload")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    let text = match payloads {
        [one] => one
            .get("contentString")
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|text| !text.is_empty())
            .ok_or_else(|| {
                required(
                    "payload[0].contentString",
                    "the payload must be a text (contentString) that is not empty",
                )
            })?,
        [] => {
            return Err(required(
                "payload",
                "a request needs a payload: the text to send",
            ));
        }
        _ => return Err(invalid("payload", "careloop sends one payload per request")),
    };
    let channel = match body
        .pointer("/medium/0/coding/0/code")
        .and_then(Value::as_str)
    {
        None => None,
        Some("SMSWRIT") => Some(Channel::Sms),
        Some("EMAILWRIT") => Some(Channel::Email),
        Some(other) => {
            return Err(invalid(
                "medium[0]",
                format!("careloop sends SMSWRIT (text) or EMAILWRIT (email), not {other}"),
            ));
        }
    };
    let mut about = Vec::new();
    for (n, item) in body
        .get("about")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .enumerate()
    {
        let id = item
            .get("reference")
            .and_then(Value::as_str)
            .and_then(|r| r.strip_prefix("Appointment/"))
            .and_then(|id| ResourceId::parse(id).ok())
            .ok_or_else(|| {
                invalid(
                    &format!("about[{n}]"),
                    "careloop keeps what a message is about as Appointment/id",
                )
            })?;
        about.push(id);
    }
    let purpose = match extension_value(body, PURPOSE)
        .and_then(|e| e.get("valueCode"))
        .and_then(Value::as_str)
    {
        None => Purpose::Transactional,
        Some(code) => Purpose::parse(code).ok_or_else(|| {
            invalid(
                "extension",
                format!("message-purpose is transactional or marketing, not {code}"),
            )
        })?,
    };
    let phi = phi_level(body)?;
    let not_before = match body.get("occurrenceDateTime") {
        None => None,
        Some(value) => Some(
            value
                .as_str()
                .and_then(|at| at.parse::<Timestamp>().ok())
                .ok_or_else(|| {
                    invalid(
                        "occurrenceDateTime",
                        "occurrenceDateTime must be a date and time with a zone, as 2026-03-02T15:00:00Z",
                    )
                })?,
        ),
    };
    Ok(Requested {
        patient,
        text: text.to_owned(),
        channel,
        about,
        purpose,
        phi,
        not_before,
    })
}

/// The most sensitive Confidentiality label in `meta.security`, else `limited`.
fn phi_level(body: &Value) -> Result<PhiLevel, FhirError> {
    let labels = body
        .pointer("/meta/security")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    let mut level = None;
    for label in labels {
        if label.get("system").and_then(Value::as_str) != Some(CONFIDENTIALITY) {
            continue;
        }
        let code = label
            .get("code")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let read = PhiLevel::from_confidentiality(code).ok_or_else(|| {
            invalid(
                "meta.security",
                format!("'{code}' is not a Confidentiality code (U, L, M, N, R, V)"),
            )
        })?;
        level = level.max(Some(read));
    }
    Ok(level.unwrap_or(PhiLevel::Limited))
}

/// Search terms: identifier (so that `If-None-Exist: identifier=…` makes a retried
/// request idempotent), patient, status.
pub fn terms(resource: &Value) -> Result<Vec<Term>, FhirError> {
    let identifiers = identifier::parse(&Obj::new(resource, "CommunicationRequest")?)?;
    let mut terms = identifier::terms(&identifiers);
    terms.extend(
        [
            reference_term(resource, "/subject/reference", "Patient", PATIENT),
            code_term(resource, "/status", STATUS),
        ]
        .into_iter()
        .flatten(),
    );
    Ok(terms)
}

/// The term a search parameter looks up, and the type its value refers to when it is a
/// reference.
pub fn search_param(name: &str) -> Option<(&'static str, Option<&'static str>)> {
    match name {
        "patient" | "subject" => Some((PATIENT, Some("Patient"))),
        "status" => Some((STATUS, None)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn request() -> Value {
        json!({
            "resourceType": "CommunicationRequest",
            "status": "active",
            "subject": {"reference": "Patient/pat-1"},
            "payload": [{"contentString": "  Please bring your insurance card.  "}],
        })
    }

    #[test]
    fn the_least_a_request_needs_reads_with_defaults() {
        let read = read(&request()).unwrap();
        assert_eq!(read.patient.as_str(), "pat-1");
        assert_eq!(read.text, "Please bring your insurance card.");
        assert_eq!(read.channel, None);
        assert_eq!(read.purpose, Purpose::Transactional);
        assert_eq!(read.phi, PhiLevel::Limited);
        assert_eq!(read.not_before, None);
        assert!(read.about.is_empty());
    }

    #[test]
    fn every_field_careloop_reads() {
        let mut body = request();
        body["medium"] = json!([{"coding": [{"code": "EMAILWRIT"}]}]);
        body["about"] = json!([{"reference": "Appointment/a-1"}]);
        body["occurrenceDateTime"] = json!("2026-03-02T15:00:00Z");
        body["meta"] = json!({"security": [
            {"system": CONFIDENTIALITY, "code": "L"},
            {"system": CONFIDENTIALITY, "code": "R"},
            {"system": "http://example.org/other", "code": "X"}
        ]});
        body["extension"] = json!([{
            "url": "https://careloop.org/fhir/StructureDefinition/message-purpose",
            "valueCode": "marketing"
        }]);
        let read = read(&body).unwrap();
        assert_eq!(read.channel, Some(Channel::Email));
        assert_eq!(read.about.len(), 1);
        assert_eq!(
            read.not_before,
            Some("2026-03-02T15:00:00Z".parse().unwrap())
        );
        assert_eq!(read.phi, PhiLevel::Clinical);
        assert_eq!(read.purpose, Purpose::Marketing);
    }

    #[test]
    fn each_fault_names_its_field() {
        let cases: [(&str, Value, &str); 10] = [
            ("status", json!("draft"), "CommunicationRequest.status"),
            ("status", Value::Null, "CommunicationRequest.status"),
            (
                "subject",
                json!({"reference": "Group/g"}),
                "CommunicationRequest.subject",
            ),
            ("payload", json!([]), "CommunicationRequest.payload"),
            (
                "payload",
                json!([{"contentString": "  "}]),
                "CommunicationRequest.payload[0].contentString",
            ),
            (
                "payload",
                json!([{"contentString": "a"}, {"contentString": "b"}]),
                "CommunicationRequest.payload",
            ),
            (
                "medium",
                json!([{"coding": [{"code": "FAXWRIT"}]}]),
                "CommunicationRequest.medium[0]",
            ),
            (
                "about",
                json!([{"reference": "Encounter/e"}]),
                "CommunicationRequest.about[0]",
            ),
            (
                "occurrenceDateTime",
                json!("tomorrow"),
                "CommunicationRequest.occurrenceDateTime",
            ),
            (
                "meta",
                json!({"security": [{"system": CONFIDENTIALITY, "code": "Q"}]}),
                "CommunicationRequest.meta.security",
            ),
        ];
        for (field, value, expression) in cases {
            let mut body = request();
            if value.is_null() {
                body.as_object_mut().unwrap().remove(field);
            } else {
                body[field] = value;
            }
            let error = read(&body).unwrap_err();
            assert_eq!(error.status, 422, "{field}");
            assert_eq!(error.expression.as_deref(), Some(expression), "{field}");
        }
    }
}
