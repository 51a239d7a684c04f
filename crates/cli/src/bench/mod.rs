//! The parts of `careloop bench`: a database of its own, the patients it books, a fake
//! Twilio that notes when each message arrives, the engines that send, and the report.

pub mod fake_twilio;
pub mod report;
pub mod scratch;
pub mod seed;
pub mod workers;
