//! Email over SMTP: a relay (the clinic's mail server, or a provider's SMTP endpoint) takes
//! each message. Configured by one URL and a sender address.

mod compose;
pub mod relay;
mod send;

pub use compose::{BadFromAddress, FromAddress, text_to_html};
pub use relay::{BadRelay, Relay, Security};
pub use send::{SmtpConfig, SmtpEmail};
