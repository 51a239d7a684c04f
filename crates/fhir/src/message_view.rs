//! A Communication as a conversation shows it: who wrote, on which channel, what, when,
//! how its delivery went and what sent it or what triage found in it.

use careloop_domain::delivery::DeliveryStatus;
use careloop_domain::journey::Channel;
use jiff::Timestamp;
use serde_json::Value;

use crate::communication::{
    self, ADDRESS, EXTENSION_BASE, RED_FLAG, extension_value, reply_intent,
};

/// One message of a conversation.
#[derive(Clone, PartialEq, Eq)]
pub struct Message {
    pub id: String,
    /// The patient wrote it; else it went to them.
    pub from_patient: bool,
    pub channel: Option<Channel>,
    pub text: String,
    /// When it was received or sent, else when it was last changed.
    pub at: Option<Timestamp>,
    pub status: Option<DeliveryStatus>,
    /// Why it did not go, or waits.
    pub reason: Option<String>,
    /// What sent it: `journey/step`, `reply/...`, `inbox/reply`.
    pub step: Option<String>,
    /// What careloop read in a patient's message (`confirm`, `other`).
    pub intent: Option<String>,
    /// Each red flag found in it, with the words that raised it.
    pub red_flags: Vec<(String, String)>,
}

/// The words are health data: never printed.
impl std::fmt::Debug for Message {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Message")
            .field("id", &self.id)
            .field("from_patient", &self.from_patient)
            .field("status", &self.status)
            .finish_non_exhaustive()
    }
}

/// The message a Communication careloop wrote or received holds; `None` for another
/// resource.
pub fn message(resource: &Value) -> Option<Message> {
    if resource.get("resourceType")?.as_str()? != "Communication" {
        return None;
    }
    let text = |path: &str| {
        resource
            .pointer(path)
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    let from_patient = resource.get("sender").is_some();
    let at = ["/received", "/sent", "/meta/lastUpdated"]
        .iter()
        .find_map(|path| text(path)?.parse().ok());
    let channel = extension_value(resource, ADDRESS)
        .and_then(|e| e.pointer("/valueContactPoint/system"))
        .and_then(Value::as_str)
        .and_then(Channel::parse);
    let red_flags = resource
        .get("extension")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|e| {
            e.get("url").and_then(Value::as_str) == Some(&format!("{EXTENSION_BASE}{RED_FLAG}"))
        })
        .map(|e| {
            let part = |name: &str| {
                e.get("extension")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .find(|p| p.get("url").and_then(Value::as_str) == Some(name))
                    .and_then(|p| p.get("valueString"))
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned()
            };
            (part("flag"), part("words"))
        })
        .collect();
    Some(Message {
        id: text("/id")?,
        from_patient,
        channel,
        text: text("/payload/0/contentString").unwrap_or_default(),
        at,
        status: communication::delivery_status(resource),
        reason: text("/statusReason/text"),
        step: communication::journey_step(resource).map(str::to_owned),
        intent: reply_intent(resource).map(str::to_owned),
        red_flags,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use careloop_domain::ResourceId;
    use careloop_domain::red_flags;
    use communication::NewInbound;

    #[test]
    fn an_inbound_message_shows_its_channel_words_and_red_flags() {
        let id = ResourceId::from_random([1; 16]);
        let patient = ResourceId::from_random([2; 16]);
        let flags = red_flags::find("still bleeding a lot after my surgery");
        let received: Timestamp = "2026-03-02T15:00:00Z".parse().unwrap();
        let resource = communication::inbound(&NewInbound {
            id: &id,
            patient: &patient,
            appointment: None,
            in_response_to: None,
            channel: Channel::Sms,
            address: "+16175550101",
            text: "still bleeding a lot after my surgery",
            provider_id: "SM1",
            intent: "other",
            received,
            red_flags: &flags,
        });
        let shown = message(&resource).unwrap();
        assert!(shown.from_patient);
        assert_eq!(shown.channel, Some(Channel::Sms));
        assert_eq!(shown.at, Some(received));
        assert_eq!(shown.intent.as_deref(), Some("other"));
        assert_eq!(shown.red_flags.len(), flags.len());
        assert_eq!(shown.red_flags[0].0, "bleeding that does not stop");
        assert!(!shown.red_flags[0].1.is_empty());
        assert_eq!(
            message(&serde_json::json!({"resourceType": "Patient"})),
            None
        );
    }
}
