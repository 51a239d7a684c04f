//! FHIR Consent: careloop's record of a patient's yes or no to messages on one channel
//! and address (STOP, START, "stop texting me"), with where it came from and the words
//! that said it. careloop writes them; clients read and search them; the send gate
//! reads them back as [`Record`]s.

use careloop_domain::ResourceId;
use careloop_domain::consent::{Decision, Record, Source};
use careloop_domain::journey::{Channel, Purpose};
use careloop_store::model::Term;
use jiff::Timestamp;
use serde_json::{Value, json};

use crate::appointment::{PATIENT, STATUS};
use crate::communication::{EXTENSION_BASE, extension, extension_value};
use crate::meta::instant;
use crate::reference::{code_term, reference_term};

/// The blind-indexed term of the address a consent speaks for: `sms|+15551234567`.
pub const ADDRESS: &str = "consent-address";
const SOURCE: &str = "consent-source";
const TRIGGER: &str = "consent-trigger";
const PURPOSE_SYSTEM: &str = "https://careloop.org/fhir/CodeSystem/message-purpose";
const ACT_CODE: &str = "http://terminology.hl7.org/CodeSystem/v3-ActCode";

/// What a patient said about being reached on one address, as careloop records it.
pub struct ConsentChange<'a> {
    pub channel: Channel,
    /// The phone number (E.164) or email address.
    pub address: &'a str,
    pub decision: Decision,
    pub purpose: Option<Purpose>,
    pub source: Source,
    /// The words that said it, for the record.
    pub trigger: Option<&'a str>,
    /// The message that said it.
    pub message: Option<&'a ResourceId>,
}

/// The term that finds the consents of one address on one channel.
pub fn address_term(channel: Channel, address: &str) -> Term {
    Term {
        param: ADDRESS,
        value: format!("{}|{address}", channel.name()),
    }
}

/// The Consent `id` that records `consent` for `patient`, made at `at`.
pub fn new(
    id: &ResourceId,
    patient: &ResourceId,
    consent: &ConsentChange<'_>,
    at: Timestamp,
) -> Value {
    let mut extensions = vec![
        json!({
            "url": format!("{EXTENSION_BASE}{ADDRESS}"),
            "valueContactPoint": {"system": consent.channel.name(), "value": consent.address},
        }),
        extension(SOURCE, "valueCode", consent.source.code()),
    ];
    if let Some(trigger) = consent.trigger {
        extensions.push(extension(TRIGGER, "valueString", trigger));
    }
    let rule = match consent.decision {
        Decision::Permit => "OPTIN",
        Decision::Deny => "OPTOUT",
    };
    let mut provision = json!({"type": consent.decision.code()});
    if let Some(purpose) = consent.purpose {
        provision["purpose"] = json!([{"system": PURPOSE_SYSTEM, "code": purpose.code()}]);
    }
    let mut resource = json!({
        "resourceType": "Consent",
        "id": id.as_str(),
        "extension": extensions,
        "status": "active",
        "scope": {"coding": [{
            "system": "http://terminology.hl7.org/CodeSystem/consentscope",
            "code": "patient-privacy"
        }]},
        "category": [{"coding": [{"system": ACT_CODE, "code": "INFA", "display": "information access"}]}],
        "patient": {"reference": format!("Patient/{patient}")},
        "dateTime": instant(at),
        "policyRule": {"coding": [{"system": ACT_CODE, "code": rule}]},
        "provision": provision,
    });
    if let Some(message) = consent.message {
        resource["sourceReference"] = json!({"reference": format!("Communication/{message}")});
    }
    resource
}

/// The search terms: patient, status, and the address (blind-indexed like every term).
pub fn terms(resource: &Value) -> Vec<Term> {
    let mut terms: Vec<Term> = [
        reference_term(resource, "/patient/reference", "Patient", PATIENT),
        code_term(resource, "/status", STATUS),
    ]
    .into_iter()
    .flatten()
    .collect();
    if let Some(term) = address_term_of(resource) {
        terms.push(term);
    }
    terms
}

/// The address term of a stored Consent: the same as [`address_term`] of its address.
pub fn address_term_of(resource: &Value) -> Option<Term> {
    let (system, value) = address(resource)?;
    Some(Term {
        param: ADDRESS,
        value: format!("{system}|{value}"),
    })
}

/// The record the send gate weighs; `None` for a Consent careloop did not write.
pub fn record(resource: &Value) -> Option<Record> {
    if resource.get("status").and_then(Value::as_str) != Some("active") {
        return None;
    }
    let provision = resource.get("provision")?;
    let decision = Decision::parse(provision.get("type")?.as_str()?)?;
    let purpose = match provision.pointer("/purpose/0/code").and_then(Value::as_str) {
        None => None,
        Some(code) => Some(Purpose::parse(code)?),
    };
    let at = resource.get("dateTime")?.as_str()?.parse().ok()?;
    let source = extension_value(resource, SOURCE)
        .and_then(|e| e.get("valueCode"))
        .and_then(Value::as_str)
        .and_then(Source::parse)?;
    Some(Record {
        decision,
        purpose,
        at,
        source,
    })
}

/// The channel and address a consent speaks for: (`sms`, `+15551234567`).
pub fn address(resource: &Value) -> Option<(&str, &str)> {
    let point = extension_value(resource, ADDRESS)?.get("valueContactPoint")?;
    Some((
        point.get("system")?.as_str()?,
        point.get("value")?.as_str()?,
    ))
}

/// The term a Consent search parameter looks up, and the type its value refers to when
/// it is a reference.
pub fn search_param(name: &str) -> Option<(&'static str, Option<&'static str>)> {
    match name {
        "patient" => Some((PATIENT, Some("Patient"))),
        "status" => Some((STATUS, None)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_consent_reads_back_as_the_record_it_states() {
        let (id, patient, message) = (
            ResourceId::from_random([1; 16]),
            ResourceId::from_random([2; 16]),
            ResourceId::from_random([3; 16]),
        );
        let at: Timestamp = "2026-03-10T14:05:00Z".parse().unwrap();
        let change = ConsentChange {
            channel: Channel::Sms,
            address: "+16175550100",
            decision: Decision::Deny,
            purpose: None,
            source: Source::FreeText,
            trigger: Some("stop texting"),
            message: Some(&message),
        };
        let resource = new(&id, &patient, &change, at);
        assert_eq!(
            record(&resource),
            Some(Record {
                decision: Decision::Deny,
                purpose: None,
                at,
                source: Source::FreeText
            })
        );
        assert_eq!(resource["policyRule"]["coding"][0]["code"], "OPTOUT");
        let terms = terms(&resource);
        assert!(terms.contains(&address_term(Channel::Sms, "+16175550100")));
        assert!(terms.iter().any(|t| t.param == PATIENT));
    }
}
