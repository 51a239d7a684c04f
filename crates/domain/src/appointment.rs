//! An appointment as the EHR booked it: when, with whom, and how far each participant has
//! agreed. careloop never books; it reads these and reacts to their changes.

use std::fmt;
use std::str::FromStr;

use jiff::Timestamp;

use crate::ids::ResourceId;

/// FHIR R4 `AppointmentStatus`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AppointmentStatus {
    Proposed,
    Pending,
    Booked,
    Arrived,
    Fulfilled,
    Cancelled,
    Noshow,
    EnteredInError,
    CheckedIn,
    Waitlist,
}

/// FHIR R4 `ParticipationStatus`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ParticipationStatus {
    Accepted,
    Declined,
    Tentative,
    NeedsAction,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("unknown code '{0}'")]
pub struct UnknownCode(pub String);

macro_rules! fhir_codes {
    ($ty:ty { $($variant:ident => $code:literal),+ $(,)? }) => {
        impl $ty {
            pub const CODES: &'static [&'static str] = &[$($code),+];

            pub fn code(self) -> &'static str {
                match self { $(Self::$variant => $code),+ }
            }
        }

        impl FromStr for $ty {
            type Err = UnknownCode;

            fn from_str(code: &str) -> Result<Self, Self::Err> {
                match code {
                    $($code => Ok(Self::$variant),)+
                    other => Err(UnknownCode(other.to_owned())),
                }
            }
        }

        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.code())
            }
        }
    };
}

fhir_codes!(AppointmentStatus {
    Proposed => "proposed",
    Pending => "pending",
    Booked => "booked",
    Arrived => "arrived",
    Fulfilled => "fulfilled",
    Cancelled => "cancelled",
    Noshow => "noshow",
    EnteredInError => "entered-in-error",
    CheckedIn => "checked-in",
    Waitlist => "waitlist",
});

fhir_codes!(ParticipationStatus {
    Accepted => "accepted",
    Declined => "declined",
    Tentative => "tentative",
    NeedsAction => "needs-action",
});

impl AppointmentStatus {
    /// FHIR invariant app-3: only proposed, cancelled and waitlisted appointments may lack
    /// a start and an end.
    pub fn needs_times(self) -> bool {
        !matches!(self, Self::Proposed | Self::Cancelled | Self::Waitlist)
    }
}

/// Who takes part: a patient, a practitioner, a location, ...
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Participant {
    pub actor: Option<ActorRef>,
    pub status: ParticipationStatus,
}

/// A local reference such as `Patient/123`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ActorRef {
    pub resource_type: String,
    pub id: ResourceId,
}

impl ActorRef {
    pub fn is_patient(&self) -> bool {
        self.resource_type == "Patient"
    }
}

impl fmt::Display for ActorRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.resource_type, self.id)
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Appointment {
    pub id: ResourceId,
    pub status: AppointmentStatus,
    pub start: Option<Timestamp>,
    pub end: Option<Timestamp>,
    pub participants: Vec<Participant>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AppointmentError {
    #[error("an appointment with status '{0}' needs both a start and an end")]
    MissingTimes(AppointmentStatus),
    #[error("start and end go together: give both or neither")]
    HalfTimes,
    #[error("the end ({end}) is before the start ({start})")]
    EndBeforeStart { start: Timestamp, end: Timestamp },
    #[error("an appointment needs at least one participant")]
    NoParticipants,
}

impl Appointment {
    pub fn new(
        id: ResourceId,
        status: AppointmentStatus,
        start: Option<Timestamp>,
        end: Option<Timestamp>,
        participants: Vec<Participant>,
    ) -> Result<Self, AppointmentError> {
        match (start, end) {
            (Some(start), Some(end)) if end < start => {
                return Err(AppointmentError::EndBeforeStart { start, end });
            }
            (Some(_), None) | (None, Some(_)) => return Err(AppointmentError::HalfTimes),
            (None, None) if status.needs_times() => {
                return Err(AppointmentError::MissingTimes(status));
            }
            _ => {}
        }
        if participants.is_empty() {
            return Err(AppointmentError::NoParticipants);
        }
        Ok(Self {
            id,
            status,
            start,
            end,
            participants,
        })
    }

    /// The patients taking part, in the order the EHR listed them.
    pub fn patients(&self) -> impl Iterator<Item = &ResourceId> {
        self.participants
            .iter()
            .filter_map(|p| p.actor.as_ref())
            .filter(|a| a.is_patient())
            .map(|a| &a.id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> Option<Timestamp> {
        Some(s.parse().unwrap())
    }

    fn patient_participant() -> Vec<Participant> {
        vec![Participant {
            actor: Some(ActorRef {
                resource_type: "Patient".into(),
                id: ResourceId::parse("p1").unwrap(),
            }),
            status: ParticipationStatus::NeedsAction,
        }]
    }

    fn new(
        status: AppointmentStatus,
        start: Option<Timestamp>,
        end: Option<Timestamp>,
    ) -> Result<Appointment, AppointmentError> {
        Appointment::new(
            ResourceId::parse("a1").unwrap(),
            status,
            start,
            end,
            patient_participant(),
        )
    }

    #[test]
    fn a_booked_appointment_needs_times_in_order() {
        assert!(
            new(
                AppointmentStatus::Booked,
                at("2026-01-01T09:00:00Z"),
                at("2026-01-01T09:30:00Z")
            )
            .is_ok()
        );
        assert_eq!(
            new(AppointmentStatus::Booked, None, None),
            Err(AppointmentError::MissingTimes(AppointmentStatus::Booked))
        );
        assert!(matches!(
            new(
                AppointmentStatus::Booked,
                at("2026-01-01T09:30:00Z"),
                at("2026-01-01T09:00:00Z")
            ),
            Err(AppointmentError::EndBeforeStart { .. })
        ));
        assert_eq!(
            new(
                AppointmentStatus::Proposed,
                at("2026-01-01T09:30:00Z"),
                None
            ),
            Err(AppointmentError::HalfTimes)
        );
    }

    #[test]
    fn proposed_and_cancelled_may_have_no_times() {
        assert!(new(AppointmentStatus::Proposed, None, None).is_ok());
        assert!(new(AppointmentStatus::Cancelled, None, None).is_ok());
    }

    #[test]
    fn codes_round_trip() {
        for code in AppointmentStatus::CODES {
            assert_eq!(code.parse::<AppointmentStatus>().unwrap().code(), *code);
        }
        for code in ParticipationStatus::CODES {
            assert_eq!(code.parse::<ParticipationStatus>().unwrap().code(), *code);
        }
        assert!("done".parse::<AppointmentStatus>().is_err());
    }
}
