//! Twilio Programmable Messaging.

pub mod signature;
