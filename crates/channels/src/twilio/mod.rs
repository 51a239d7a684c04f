//! Twilio Programmable Messaging.

pub mod send;
pub mod signature;

pub use send::{Sender, TwilioConfig, TwilioSms};
