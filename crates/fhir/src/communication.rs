//! FHIR Communication: careloop's record of every message it sends or receives. The
//! engine writes them; clients read and search them. The delivery state careloop tracks
//! beyond FHIR's status rides in extensions.
//!
//! A message careloop sends has one record of its delivery: its outbox row. Its
//! Communication is written once, as it is queued, with its text, address and what it is
//! about; its delivery (the FHIR status, the delivery status within it, the provider's
//! id, the time sent, the reason) is shown from the row each time it is read
//! ([`show_delivery`]), and it is searched by the row's patient, channel and status
//! ([`sent_filter`]) rather than by terms of its own. A send accepted and each report of
//! the provider so write one row, not the row and a sealed copy of the whole message.

use careloop_domain::ResourceId;
use careloop_domain::delivery::DeliveryStatus;
use careloop_domain::journey::{Channel, Sending};
use careloop_domain::phi::PhiLevel;
use careloop_domain::red_flags::Found;
use careloop_store::from_micros;
use careloop_store::model::{OutboxColumn, SentFilter, Term};
use careloop_store::work::OutboxRow;
use jiff::Timestamp;
use serde_json::{Value, json};

use crate::appointment::{PATIENT, STATUS};
use crate::meta::instant;
use crate::reference::{code_term, reference_term};

pub(crate) const EXTENSION_BASE: &str = "https://careloop.org/fhir/StructureDefinition/";
pub const DELIVERY_STATUS: &str = "delivery-status";
pub const ADDRESS: &str = "address";
pub const PROVIDER_ID: &str = "provider-id";
pub const ERROR_CODE: &str = "error-code";
pub const JOURNEY_STEP: &str = "journey-step";
pub const EMAIL_SUBJECT: &str = "email-subject";
pub const REPLY_INTENT: &str = "reply-intent";
pub const PURPOSE: &str = "message-purpose";
pub const PHI_LEVEL: &str = "phi-level";
pub const RED_FLAG: &str = "red-flag";

const MEDIUM: &str = "medium";
const ABOUT: &str = "about";
const BASED_ON: &str = "based-on";
const PARTICIPATION_MODE: &str = "http://terminology.hl7.org/CodeSystem/v3-ParticipationMode";

/// A message careloop is about to send.
pub struct NewOutbound<'a> {
    pub patient: &'a ResourceId,
    /// The appointments it is about: one for a reminder, several for "which one?".
    pub about: &'a [ResourceId],
    pub channel: Channel,
    /// The phone number or email it goes to.
    pub address: &'a str,
    pub text: &'a str,
    pub subject: Option<&'a str>,
    /// `journey/step`, naming what sent it.
    pub journey_step: &'a str,
    /// What it is, as the gates before sending weigh it.
    pub sending: Sending,
    /// The most sensitive health information the text carries.
    pub phi: PhiLevel,
    /// The CommunicationRequest it fulfils, if a client asked for it.
    pub based_on: Option<&'a ResourceId>,
    /// Whether it goes to the patient; `false` for a note to staff about them (an
    /// on-call contact told that their conversation waits), whose subject they stay.
    pub to_patient: bool,
}

pub(crate) fn extension(name: &str, value_key: &str, value: &str) -> Value {
    json!({"url": format!("{EXTENSION_BASE}{name}"), value_key: value})
}

/// Where a message went or came from, as a ContactPoint (system `sms` or `email`).
fn address(channel: Channel, address: &str) -> Value {
    json!({
        "url": format!("{EXTENSION_BASE}{ADDRESS}"),
        "valueContactPoint": {"system": channel.name(), "value": address},
    })
}

/// A channel's HL7 ParticipationMode code (written SMS, email) and its display.
fn medium_code(channel: Channel) -> (&'static str, &'static str) {
    match channel {
        Channel::Sms => ("SMSWRIT", "SMS message"),
        Channel::Email => ("EMAILWRIT", "email"),
    }
}

/// The HL7 participation mode of a channel, as a Communication's `medium`.
fn medium(channel: Channel) -> Value {
    let (code, display) = medium_code(channel);
    json!([{"coding": [{"system": PARTICIPATION_MODE, "code": code, "display": display}]}])
}

/// FHIR's coarse status for careloop's delivery state.
fn fhir_status(status: DeliveryStatus) -> &'static str {
    match status {
        DeliveryStatus::Queued => "preparation",
        DeliveryStatus::Sending
        | DeliveryStatus::Unknown
        | DeliveryStatus::Accepted
        | DeliveryStatus::Sent => "in-progress",
        DeliveryStatus::Delivered | DeliveryStatus::Read => "completed",
        DeliveryStatus::Undelivered
        | DeliveryStatus::Failed
        | DeliveryStatus::Dead
        | DeliveryStatus::Blocked => "not-done",
    }
}

/// The Communication of a message to send, queued.
pub fn outbound(id: &ResourceId, message: &NewOutbound<'_>) -> Value {
    let patient = format!("Patient/{}", message.patient);
    let mut extensions = vec![
        extension(DELIVERY_STATUS, "valueCode", DeliveryStatus::Queued.name()),
        address(message.channel, message.address),
        extension(JOURNEY_STEP, "valueString", message.journey_step),
        extension(PURPOSE, "valueCode", message.sending.code()),
        extension(PHI_LEVEL, "valueCode", message.phi.code()),
    ];
    if let Some(subject) = message.subject {
        extensions.push(extension(EMAIL_SUBJECT, "valueString", subject));
    }
    let mut resource = json!({
        "resourceType": "Communication",
        "id": id.as_str(),
        "extension": extensions,
        "status": fhir_status(DeliveryStatus::Queued),
        "category": [{"coding": [{
            "system": "http://terminology.hl7.org/CodeSystem/communication-category",
            "code": "reminder"
        }]}],
        "medium": medium(message.channel),
        "subject": {"reference": patient},
        "payload": [{"contentString": message.text}],
    });
    if message.to_patient {
        resource["recipient"] = json!([{"reference": patient}]);
    }
    if let Some(request) = message.based_on {
        resource["basedOn"] = json!([{"reference": format!("CommunicationRequest/{request}")}]);
    }
    if !message.about.is_empty() {
        resource["about"] = Value::Array(
            message
                .about
                .iter()
                .map(|a| json!({"reference": format!("Appointment/{a}")}))
                .collect(),
        );
    }
    resource
}

/// The most sensitive health information a message carries. Records written before the
/// level was kept carry what appointment messages carry: limited.
pub fn phi_level(resource: &Value) -> PhiLevel {
    extension_value(resource, PHI_LEVEL)
        .and_then(|e| e.get("valueCode"))
        .and_then(Value::as_str)
        .and_then(|code| code.parse().ok())
        .unwrap_or(PhiLevel::Limited)
}

/// What a message is, as the gates weigh it. Records written before it was kept are
/// transactional.
pub fn sending(resource: &Value) -> Sending {
    Sending::parse(
        extension_value(resource, PURPOSE)
            .and_then(|e| e.get("valueCode"))
            .and_then(Value::as_str),
    )
}

/// The appointments a message is about, in order.
pub fn about(resource: &Value) -> Vec<ResourceId> {
    resource
        .get("about")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|a| a.get("reference")?.as_str()?.strip_prefix("Appointment/"))
        .filter_map(|id| ResourceId::parse(id).ok())
        .collect()
}

/// What sent a message: `journey/step`, or `reply/...` for an answer to a text.
pub fn journey_step(resource: &Value) -> Option<&str> {
    extension_value(resource, JOURNEY_STEP)?
        .get("valueString")?
        .as_str()
}

/// What careloop read in a message the patient sent (`confirm`, `opt-out`).
pub fn reply_intent(resource: &Value) -> Option<&str> {
    extension_value(resource, REPLY_INTENT)?
        .get("valueCode")?
        .as_str()
}

/// The patient a message went to or came from.
pub fn patient(resource: &Value) -> Option<ResourceId> {
    let reference = resource.pointer("/subject/reference")?.as_str()?;
    ResourceId::parse(reference.strip_prefix("Patient/")?).ok()
}

/// A message the patient sent.
pub struct NewInbound<'a> {
    pub id: &'a ResourceId,
    pub patient: &'a ResourceId,
    pub appointment: Option<&'a ResourceId>,
    /// The message it answers, when careloop could tell.
    pub in_response_to: Option<&'a str>,
    pub channel: Channel,
    pub address: &'a str,
    pub text: &'a str,
    pub provider_id: &'a str,
    /// What careloop read in it (`confirm`, `opt-out`).
    pub intent: &'a str,
    pub received: Timestamp,
    /// The red flags found in it: each makes it urgent, and is shown with the words
    /// that raised it.
    pub red_flags: &'a [Found],
}

pub fn inbound(message: &NewInbound<'_>) -> Value {
    let patient = format!("Patient/{}", message.patient);
    let mut resource = json!({
        "resourceType": "Communication",
        "id": message.id.as_str(),
        "extension": [
            extension(DELIVERY_STATUS, "valueCode", DeliveryStatus::Delivered.name()),
            extension(PROVIDER_ID, "valueString", message.provider_id),
            extension(REPLY_INTENT, "valueCode", message.intent),
            address(message.channel, message.address),
        ],
        "status": "completed",
        "medium": medium(message.channel),
        "subject": {"reference": &patient},
        "sender": {"reference": &patient},
        "received": instant(message.received),
        "payload": [{"contentString": message.text}],
    });
    if let Some(appointment) = message.appointment {
        resource["about"] = json!([{"reference": format!("Appointment/{appointment}")}]);
    }
    if let Some(original) = message.in_response_to {
        resource["inResponseTo"] = json!([{"reference": format!("Communication/{original}")}]);
    }
    if !message.red_flags.is_empty() {
        resource["priority"] = json!("urgent");
        if let Some(list) = resource["extension"].as_array_mut() {
            list.extend(message.red_flags.iter().map(red_flag));
        }
    }
    resource
}

/// A red flag as an extension: what it may be, and the words that raised it.
fn red_flag(found: &Found) -> Value {
    json!({
        "url": format!("{EXTENSION_BASE}{RED_FLAG}"),
        "extension": [
            {"url": "flag", "valueString": found.flag.name()},
            {"url": "words", "valueString": found.because.join(", ")},
        ],
    })
}

/// What a delivery report changes on a Communication.
pub struct Delivery<'a> {
    pub status: DeliveryStatus,
    pub provider_id: Option<&'a str>,
    pub error_code: Option<&'a str>,
    /// Why it did not go (a gate's reason, an error), for `statusReason`.
    pub reason: Option<&'a str>,
    pub at: Timestamp,
}

/// A message's delivery as its outbox row records it; `None` for a status careloop does
/// not know (a row it did not write). The time sent is when the row was last handed to a
/// sender.
pub fn delivery_of(row: &OutboxRow) -> Option<Delivery<'_>> {
    Some(Delivery {
        status: DeliveryStatus::parse(&row.status)?,
        provider_id: row.provider_id.as_deref(),
        error_code: row.error_code.as_deref(),
        reason: row.reason.as_deref(),
        at: from_micros(row.sent_us.unwrap_or(row.updated_us)),
    })
}

/// A message as a client reads it: its Communication showing the delivery its outbox
/// row records, and a version and time that move whenever either of the two changed.
pub fn show_delivery(
    resource: &mut Value,
    row: &OutboxRow,
    version: u32,
    last_updated: Timestamp,
) -> (u32, Timestamp) {
    if let Some(delivery) = delivery_of(row) {
        record_delivery(resource, &delivery);
    }
    // Both counters only grow, and every rewrite of the Communication moves the row too.
    let row_version = u32::try_from(row.version).unwrap_or(u32::MAX);
    (
        version.saturating_add(row_version),
        last_updated.max(from_micros(row.updated_us)),
    )
}

/// Records a delivery report on a Communication.
pub fn record_delivery(resource: &mut Value, delivery: &Delivery<'_>) {
    set_extension(
        resource,
        DELIVERY_STATUS,
        "valueCode",
        Some(delivery.status.name()),
    );
    if delivery.provider_id.is_some() {
        set_extension(resource, PROVIDER_ID, "valueString", delivery.provider_id);
    }
    set_extension(resource, ERROR_CODE, "valueString", delivery.error_code);
    resource["status"] = json!(fhir_status(delivery.status));
    match delivery.status {
        DeliveryStatus::Accepted | DeliveryStatus::Sent | DeliveryStatus::Delivered
            if resource.get("sent").is_none() =>
        {
            resource["sent"] = json!(instant(delivery.at));
        }
        _ => {}
    }
    match (
        delivery.status.is_failure() || delivery.status == DeliveryStatus::Queued,
        delivery.reason,
    ) {
        (true, Some(reason)) => resource["statusReason"] = json!({"text": reason}),
        _ => {
            if let Some(map) = resource.as_object_mut() {
                map.remove("statusReason");
            }
        }
    }
}

fn set_extension(resource: &mut Value, name: &str, value_key: &str, value: Option<&str>) {
    let Some(map) = resource.as_object_mut() else {
        return;
    };
    let list = map.entry("extension").or_insert_with(|| json!([]));
    let Some(list) = list.as_array_mut() else {
        return;
    };
    list.retain(|e| !is_extension(e, name));
    if let Some(value) = value {
        list.push(extension(name, value_key, value));
    }
}

pub(crate) fn extension_value<'a>(resource: &'a Value, name: &str) -> Option<&'a Value> {
    resource
        .get("extension")?
        .as_array()?
        .iter()
        .find(|e| is_extension(e, name))
}

/// Whether `extension` is careloop's extension `name` (compared without building its
/// URL: a message's extensions are looked up several times on each send).
fn is_extension(extension: &Value, name: &str) -> bool {
    extension
        .get("url")
        .and_then(Value::as_str)
        .and_then(|url| url.strip_prefix(EXTENSION_BASE))
        == Some(name)
}

/// What a transport needs from a Communication careloop wrote.
pub struct Sendable {
    pub address: String,
    pub text: String,
    pub subject: Option<String>,
}

pub fn sendable(resource: &Value) -> Option<Sendable> {
    let address = extension_value(resource, ADDRESS)?
        .get("valueContactPoint")?
        .get("value")?
        .as_str()?
        .to_owned();
    let text = resource
        .get("payload")?
        .get(0)?
        .get("contentString")?
        .as_str()?
        .to_owned();
    let subject = extension_value(resource, EMAIL_SUBJECT)
        .and_then(|e| e.get("valueString"))
        .and_then(Value::as_str)
        .map(str::to_owned);
    Some(Sendable {
        address,
        text,
        subject,
    })
}

/// The delivery state recorded on a Communication.
pub fn delivery_status(resource: &Value) -> Option<DeliveryStatus> {
    extension_value(resource, DELIVERY_STATUS)?
        .get("valueCode")?
        .as_str()
        .and_then(DeliveryStatus::parse)
}

/// Search terms: patient, status, medium, about, based-on (each reference as a bare id).
pub fn terms(resource: &Value) -> Vec<Term> {
    let mut terms: Vec<Term> = [
        reference_term(resource, "/subject/reference", "Patient", PATIENT),
        code_term(resource, "/status", STATUS),
    ]
    .into_iter()
    .flatten()
    .collect();
    terms.extend(
        list(resource, "medium")
            .iter()
            .filter_map(|m| code_term(m, "/coding/0/code", MEDIUM)),
    );
    terms.extend(about_terms(resource));
    terms.extend(based_on_terms(resource));
    terms
}

fn about_terms(resource: &Value) -> impl Iterator<Item = Term> + '_ {
    list(resource, "about")
        .iter()
        .filter_map(|a| reference_term(a, "/reference", "Appointment", ABOUT))
}

fn based_on_terms(resource: &Value) -> impl Iterator<Item = Term> + '_ {
    list(resource, "basedOn")
        .iter()
        .filter_map(|b| reference_term(b, "/reference", "CommunicationRequest", BASED_ON))
}

/// What a message careloop sends is searched by beside its outbox row's patient,
/// medium and status (which move with every report, and so are no terms of its).
#[derive(Debug, PartialEq, Eq)]
pub struct SentIndex {
    /// The appointment it is about, when it is about one: a column of its row.
    pub about: Option<String>,
    /// The appointments it is about when several (a "which one?"), and the request it
    /// is based on.
    pub terms: Vec<Term>,
}

pub fn sent_index(resource: &Value) -> SentIndex {
    let mut about: Vec<Term> = about_terms(resource).collect();
    let one = if about.len() == 1 { about.pop() } else { None };
    SentIndex {
        about: one.map(|term| term.value),
        terms: about.into_iter().chain(based_on_terms(resource)).collect(),
    }
}

fn list<'a>(resource: &'a Value, key: &str) -> &'a [Value] {
    resource
        .get(key)
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

/// The outbox values that match a search for `param` = any of `values` among the
/// messages careloop sends; `None` for a parameter they keep as a term alone.
pub fn sent_filter(param: &str, values: &[&str]) -> Option<SentFilter> {
    let same = || values.iter().map(|v| (*v).to_owned()).collect();
    let (column, any_of) = match param {
        PATIENT => (OutboxColumn::Patient, same()),
        ABOUT => (OutboxColumn::About, same()),
        MEDIUM => (
            OutboxColumn::Channel,
            values
                .iter()
                .filter_map(|code| channel_of_medium(code))
                .map(|channel| channel.name().to_owned())
                .collect(),
        ),
        STATUS => (
            OutboxColumn::Status,
            DeliveryStatus::ALL
                .into_iter()
                .filter(|s| values.contains(&fhir_status(*s)))
                .map(|s| s.name().to_owned())
                .collect(),
        ),
        _ => return None,
    };
    Some(SentFilter { column, any_of })
}

fn channel_of_medium(code: &str) -> Option<Channel> {
    Channel::ALL
        .into_iter()
        .find(|channel| medium_code(*channel).0 == code)
}

/// The term a Communication search parameter looks up, and the type its value refers
/// to when it is a reference.
pub fn search_param(name: &str) -> Option<(&'static str, Option<&'static str>)> {
    match name {
        "patient" | "subject" => Some((PATIENT, Some("Patient"))),
        "status" => Some((STATUS, None)),
        "medium" => Some((MEDIUM, None)),
        "about" => Some((ABOUT, Some("Appointment"))),
        "based-on" => Some((BASED_ON, Some("CommunicationRequest"))),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use careloop_domain::journey::Purpose;

    fn id(n: u8) -> ResourceId {
        ResourceId::from_random([n; 16])
    }

    /// A text "Hi" about nothing, queued.
    fn text_to(me: &ResourceId, patient: &ResourceId, sending: Sending, phi: PhiLevel) -> Value {
        outbound(
            me,
            &NewOutbound {
                patient,
                about: &[],
                channel: Channel::Sms,
                address: "+16175550101",
                text: "Hi",
                subject: None,
                journey_step: "reply/help",
                sending,
                phi,
                based_on: None,
                to_patient: true,
            },
        )
    }

    #[test]
    fn a_read_shows_the_delivery_its_outbox_row_records() {
        let (me, patient) = (id(1), id(2));
        let mut resource = text_to(
            &me,
            &patient,
            Sending::Automated(Purpose::Transactional),
            PhiLevel::Limited,
        );
        // Stored as it was queued; the row went on to be claimed and accepted.
        let sent_us = 1_700_000_000_000_000;
        let row = OutboxRow {
            status: DeliveryStatus::Accepted.name().into(),
            provider_id: Some("SM1".into()),
            version: 3,
            updated_us: sent_us + 5_000,
            ..OutboxRow::queued(me.as_str(), "k".into(), patient.as_str(), "sms", None, 0, 0)
                .claimed(sent_us, sent_us + 1)
        };
        assert_eq!(resource["status"], "preparation");
        let stored_at = from_micros(sent_us - 1_000_000);
        let (version, last_updated) = show_delivery(&mut resource, &row, 1, stored_at);
        assert_eq!((version, last_updated), (4, from_micros(sent_us + 5_000)));
        assert_eq!(delivery_status(&resource), Some(DeliveryStatus::Accepted));
        assert_eq!(resource["status"], "in-progress");
        assert_eq!(resource["sent"], instant(from_micros(sent_us)));
        assert_eq!(
            extension_value(&resource, PROVIDER_ID).unwrap()["valueString"],
            "SM1"
        );
        // A Communication stored later than its row's last change keeps its own time.
        let later = from_micros(sent_us + 9_000);
        assert_eq!(show_delivery(&mut resource, &row, 2, later), (5, later));
    }

    #[test]
    fn an_outbound_message_reads_back_and_records_its_delivery() {
        let (me, patient, appointment) = (id(1), id(2), id(3));
        let mut resource = outbound(
            &me,
            &NewOutbound {
                patient: &patient,
                about: std::slice::from_ref(&appointment),
                channel: Channel::Email,
                address: "pat@example.org",
                text: "See you soon",
                subject: Some("Reminder"),
                journey_step: "appointment-reminders/reminder-72h",
                sending: Sending::Automated(Purpose::Transactional),
                phi: PhiLevel::Clinical,
                based_on: None,
                to_patient: true,
            },
        );
        assert_eq!(about(&resource), std::slice::from_ref(&appointment));
        assert_eq!(phi_level(&resource), PhiLevel::Clinical);
        assert_eq!(
            sending(&resource),
            Sending::Automated(Purpose::Transactional)
        );
        // Each kind is written and read back, the answer to a text too.
        for given in [
            Sending::Automated(Purpose::Marketing),
            Sending::Assistant,
            Sending::Person,
            Sending::Required,
        ] {
            let written = text_to(&me, &patient, given, PhiLevel::None);
            assert_eq!(sending(&written), given);
            assert_eq!(phi_level(&written), PhiLevel::None);
        }
        assert_eq!(self::patient(&resource), Some(patient.clone()));
        let sendable = sendable(&resource).unwrap();
        assert_eq!(sendable.address, "pat@example.org");
        assert_eq!(sendable.text, "See you soon");
        assert_eq!(sendable.subject.as_deref(), Some("Reminder"));
        assert_eq!(delivery_status(&resource), Some(DeliveryStatus::Queued));
        assert_eq!(resource["status"], "preparation");
        // Searched by its row's patient, medium and status: only what it is about is
        // a term of a message careloop sends.
        let names: Vec<&str> = terms(&resource).iter().map(|t| t.param).collect();
        assert_eq!(names, ["patient", "status", "medium", "about"]);
        assert_eq!(
            sent_index(&resource),
            SentIndex {
                about: Some(appointment.as_str().to_owned()),
                terms: Vec::new(),
            }
        );
        record_delivery(
            &mut resource,
            &Delivery {
                status: DeliveryStatus::Delivered,
                provider_id: Some("SM123"),
                error_code: None,
                reason: None,
                at: Timestamp::UNIX_EPOCH,
            },
        );
        assert_eq!(resource["status"], "completed");
        assert_eq!(delivery_status(&resource), Some(DeliveryStatus::Delivered));
        assert!(resource.get("sent").is_some());
        record_delivery(
            &mut resource,
            &Delivery {
                status: DeliveryStatus::Failed,
                provider_id: None,
                error_code: Some("21610"),
                reason: Some("the recipient unsubscribed"),
                at: Timestamp::UNIX_EPOCH,
            },
        );
        assert_eq!(resource["status"], "not-done");
        assert_eq!(
            resource["statusReason"]["text"],
            "the recipient unsubscribed"
        );
        // The provider id stays when a later report has none.
        let ids = resource["extension"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["url"].as_str().unwrap().ends_with(PROVIDER_ID))
            .count();
        assert_eq!(ids, 1);
    }

    #[test]
    fn a_message_about_several_appointments_keeps_them_as_terms() {
        let (me, patient, request) = (id(1), id(2), id(9));
        let about = [id(3), id(4)];
        let resource = outbound(
            &me,
            &NewOutbound {
                patient: &patient,
                about: &about,
                channel: Channel::Sms,
                address: "+16175550101",
                text: "Which one?",
                subject: None,
                journey_step: "reply/which",
                sending: Sending::Required,
                phi: PhiLevel::Limited,
                based_on: Some(&request),
                to_patient: true,
            },
        );
        let index = sent_index(&resource);
        assert_eq!(index.about, None);
        let terms: Vec<(&str, &str)> = index
            .terms
            .iter()
            .map(|t| (t.param, t.value.as_str()))
            .collect();
        assert_eq!(
            terms,
            [
                (ABOUT, about[0].as_str()),
                (ABOUT, about[1].as_str()),
                (BASED_ON, request.as_str()),
            ]
        );
    }

    #[test]
    fn a_search_finds_sent_messages_by_their_rows() {
        let filter = |param, values: &[&str]| sent_filter(param, values).unwrap();
        assert_eq!(
            filter(PATIENT, &["p1", "p2"]),
            SentFilter {
                column: OutboxColumn::Patient,
                any_of: vec!["p1".into(), "p2".into()],
            }
        );
        assert_eq!(
            filter(MEDIUM, &["EMAILWRIT", "FAXWRIT"]).any_of,
            ["email"],
            "a medium careloop does not send on matches no row"
        );
        // Every delivery state shown as the FHIR status asked for, and only those.
        assert_eq!(
            filter(STATUS, &["in-progress"]).any_of,
            ["sending", "unknown", "accepted", "sent"]
        );
        assert_eq!(
            filter(STATUS, &["completed", "preparation"]).any_of,
            ["queued", "delivered", "read"]
        );
        for status in DeliveryStatus::ALL {
            let shown = fhir_status(status);
            assert!(
                filter(STATUS, &[shown])
                    .any_of
                    .contains(&status.name().to_owned())
            );
        }
        assert!(filter(STATUS, &["on-hold"]).any_of.is_empty());
        assert_eq!(filter(ABOUT, &["a1"]).column, OutboxColumn::About);
        assert_eq!(sent_filter(BASED_ON, &["r1"]), None);
    }
}
