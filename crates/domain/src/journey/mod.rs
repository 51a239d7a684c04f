//! Journeys: what careloop does, step by step, after something happens to an
//! appointment. A definition is data (a TOML file a clinic can edit); this module holds
//! its model and reads it, naming the file, the step and the field of every mistake.

pub mod builtin;
mod parse;
pub mod run;

use jiff::SignedDuration;
use jiff::civil::Time;

use crate::appointment_events::AppointmentEvent;

pub use parse::{DefinitionError, parse};

/// A journey definition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Journey {
    /// Its name, unique among the clinic's journeys.
    pub name: String,
    /// The event that enrolls the patient.
    pub trigger: AppointmentEvent,
    /// Events that end an enrollment early (a cancellation ends the reminders).
    pub ends_on: Vec<AppointmentEvent>,
    pub steps: Vec<Step>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Step {
    /// Given in the file, or `step-N` (from 1).
    pub id: String,
    pub action: Action,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    Send {
        template: String,
        channel: ChannelChoice,
        purpose: Purpose,
    },
    Wait(Wait),
    /// Waits for a reply or an event, up to `timeout`; then goes on to `on_timeout` (or
    /// the next step).
    WaitFor {
        awaited: Awaited,
        timeout: SignedDuration,
        on_timeout: Option<String>,
    },
    /// Goes to `then` when `condition` holds, else to `otherwise` (or the next step).
    Branch {
        condition: Condition,
        then: String,
        otherwise: Option<String>,
    },
    /// A to-do for staff.
    Task {
        title: String,
    },
    End,
}

/// How long a `wait` step waits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Wait {
    /// This long from when the step is reached.
    For(SignedDuration),
    /// Until this offset from the appointment's start (negative: before it).
    FromStart(SignedDuration),
    /// Until the next time the patient's clock shows this time of day.
    LocalTime(Time),
}

/// Which channel a message goes on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChannelChoice {
    /// The patient's first reachable contact point.
    Preferred,
    /// These channels in order: the next when one cannot be used or fails.
    InOrder(Vec<Channel>),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Channel {
    Sms,
    Email,
}

impl Channel {
    pub const ALL: [Self; 2] = [Self::Sms, Self::Email];

    pub fn name(self) -> &'static str {
        match self {
            Self::Sms => "sms",
            Self::Email => "email",
        }
    }

    /// The channel [`Channel::name`] names.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|channel| channel.name() == name)
    }
}

/// Why a message is sent: consent rules differ.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Purpose {
    /// About the patient's own care (reminders): needs no marketing consent.
    Transactional,
    Marketing,
}

impl Purpose {
    pub fn code(self) -> &'static str {
        match self {
            Self::Transactional => "transactional",
            Self::Marketing => "marketing",
        }
    }

    pub fn parse(code: &str) -> Option<Self> {
        [Self::Transactional, Self::Marketing]
            .into_iter()
            .find(|p| p.code() == code)
    }
}

/// What a message is, as the gates before sending weigh it, and whether it counts
/// toward a patient's caps on automated messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sending {
    /// careloop's own message for this purpose (a reminder, careloop's answer to a
    /// reply): every gate, and it counts toward the caps.
    Automated(Purpose),
    /// The FAQ assistant's answer to what the patient just asked: consent, quiet hours
    /// and the TCPA preset's wording, but no cap; it counts toward none.
    Assistant,
    /// A person's words to the patient: consent again as it goes, and nothing else (its
    /// time was chosen when it was queued); it counts toward no cap.
    Person,
    /// What goes whatever the consent: a carrier's keyword answer (HELP, the
    /// confirmations of STOP and START), an alert to staff.
    Required,
}

impl Sending {
    pub fn code(self) -> &'static str {
        match self {
            Self::Automated(purpose) => purpose.code(),
            Self::Assistant => "assistant",
            Self::Person => "person",
            // The code records written before the others were kept carry.
            Self::Required => "answer",
        }
    }

    /// What a code names; records written before the code was kept are transactional.
    pub fn parse(code: Option<&str>) -> Self {
        match code {
            Some("assistant") => Self::Assistant,
            Some("person") => Self::Person,
            Some("answer") => Self::Required,
            code => Self::Automated(
                code.and_then(Purpose::parse)
                    .unwrap_or(Purpose::Transactional),
            ),
        }
    }

    /// The consent it needs: `None` when it goes whatever the consent.
    pub fn consent(self) -> Option<Purpose> {
        match self {
            Self::Automated(purpose) => Some(purpose),
            Self::Assistant | Self::Person => Some(Purpose::Transactional),
            Self::Required => None,
        }
    }

    /// The purpose it counts under toward the caps; `None` when it counts toward none.
    pub fn counted(self) -> Option<Purpose> {
        match self {
            Self::Automated(purpose) => Some(purpose),
            Self::Assistant | Self::Person | Self::Required => None,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Awaited {
    Reply(ReplyKind),
    Event(AppointmentEvent),
}

/// The replies a journey can wait for or branch on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReplyKind {
    Confirm,
    Decline,
    Reschedule,
    /// Any reply at all.
    Any,
}

impl ReplyKind {
    pub fn name(self) -> &'static str {
        match self {
            Self::Confirm => "confirm",
            Self::Decline => "decline",
            Self::Reschedule => "reschedule",
            Self::Any => "any",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        [Self::Confirm, Self::Decline, Self::Reschedule, Self::Any]
            .into_iter()
            .find(|k| k.name() == name)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Condition {
    /// The appointment is confirmed by the patient.
    Confirmed,
    /// The patient's last reply was of this kind.
    LastReply(ReplyKind),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_of_sending_reads_back_and_weighs_as_it_says() {
        let all = [
            Sending::Automated(Purpose::Transactional),
            Sending::Automated(Purpose::Marketing),
            Sending::Assistant,
            Sending::Person,
            Sending::Required,
        ];
        for sending in all {
            assert_eq!(Sending::parse(Some(sending.code())), sending);
        }
        // Records from before the code was kept.
        assert_eq!(
            Sending::parse(None),
            Sending::Automated(Purpose::Transactional)
        );
        assert_eq!(Sending::parse(Some("answer")), Sending::Required);
        // Only careloop's own messages count toward a patient's caps.
        let counted: Vec<_> = all.iter().filter_map(|s| s.counted()).collect();
        assert_eq!(counted, [Purpose::Transactional, Purpose::Marketing]);
        // A person's words and the assistant's answers meet consent; what carriers
        // require goes whatever it says.
        assert_eq!(Sending::Person.consent(), Some(Purpose::Transactional));
        assert_eq!(Sending::Assistant.consent(), Some(Purpose::Transactional));
        assert_eq!(Sending::Required.consent(), None);
    }
}
