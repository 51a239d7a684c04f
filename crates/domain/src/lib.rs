//! The careloop model: the values every other layer passes around, each of which is valid
//! by construction ("parse, don't validate"), and the pure rules over them.
//!
//! Nothing here touches a database, the network or the system clock; the time comes in
//! through [`clock::Clock`].

pub mod answers;
pub mod appointment;
pub mod appointment_events;
pub mod audit;
pub mod business_hours;
pub mod clock;
pub mod consent;
pub mod contact;
pub mod conversation;
pub mod delivery;
pub mod duration;
pub mod faq;
pub mod frequency;
pub mod ids;
pub mod journey;
pub mod locale;
pub mod patient;
pub mod phi;
pub mod quiet_hours;
pub mod red_flags;
pub mod redact;
pub mod reply;
pub mod saved_reply;
pub mod send_rate;
pub mod sms;
pub mod staff;
pub mod tcpa;
pub mod template;
pub mod triage;
pub mod words;
pub mod zone;

pub use appointment::{
    ActorRef, Appointment, AppointmentError, AppointmentStatus, Participant, ParticipationStatus,
};
pub use appointment_events::AppointmentEvent;
pub use clock::{Clock, ManualClock};
pub use contact::{
    ContactAddress, ContactChannel, ContactPoint, EmailAddress, PhoneE164, PhoneError, PhoneNumber,
    Region,
};
pub use ids::{OrgId, ResourceId, ResourceIdError};
pub use locale::Locale;
pub use patient::{Identifier, PartialDate, Patient, PersonName};
pub use zone::IanaZone;
