//! careloop's FHIR R4 face: how Patient, Appointment, Practitioner and Location resources
//! are validated, mapped to the careloop model, indexed, searched, and bundled; and the
//! interactions (read, create, update, delete, search, transaction) over the store.
//!
//! Resources are kept as the EHR sent them (extensions, narrative and all) so they
//! round-trip; the model is derived from them.

pub mod appointment;
pub mod bundle;
pub mod capability;
pub mod communication;
pub mod communication_request;
pub mod consent;
pub mod date_param;
pub mod directory;
pub mod identifier;
pub mod json;
pub mod message_view;
pub mod meta;
pub mod outcome;
pub mod patient;
pub mod reference;
pub mod resource;
pub mod search;
pub mod service;
pub mod task;
mod transaction;

pub use outcome::{FhirError, IssueCode};
pub use resource::{Context, ResourceType};
pub use service::{FhirService, Versioned};
