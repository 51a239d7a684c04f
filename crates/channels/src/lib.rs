//! careloop's transports: one module per provider. A transport turns an outbound message
//! into a provider call and a provider webhook into an inbound event or a status update,
//! and verifies that webhooks come from the provider. It knows nothing of journeys.

pub mod email_inbound;
pub mod sandbox;
pub mod smtp;
pub mod transport;
pub mod twilio;

pub use transport::{Accepted, Outbound, SendError, Transport};
