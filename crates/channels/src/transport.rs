//! What every transport does: hand one message to a provider and say how that went.

use careloop_domain::delivery::DeliveryStatus;
use careloop_domain::journey::Channel;
use jiff::SignedDuration;

/// One message to send. The text and address are health data: never logged.
#[derive(Clone)]
pub struct Outbound {
    /// careloop's id of the message (its Communication id), given to the provider so
    /// its callbacks can name it.
    pub id: String,
    pub channel: Channel,
    /// An E.164 phone number or an email address.
    pub to: String,
    pub text: String,
    /// Email only.
    pub subject: Option<String>,
    /// Email only: the HTML alternative of `text`.
    pub html: Option<String>,
}

impl std::fmt::Debug for Outbound {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Outbound")
            .field("id", &self.id)
            .field("channel", &self.channel)
            .finish_non_exhaustive()
    }
}

/// The provider took the message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Accepted {
    /// The provider's id for it (a Twilio MessageSid, an email's Message-ID).
    pub provider_id: String,
    pub status: DeliveryStatus,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// Worth trying again later: a timeout before the request left, a refused
    /// connection, a 5xx, a 429.
    #[error("the provider failed for now ({code})")]
    Transient {
        code: String,
        retry_after: Option<SignedDuration>,
    },
    /// Will fail again: an invalid number, an unsubscribed recipient, bad credentials.
    #[error("the provider refused the message ({code})")]
    Permanent { code: String },
    /// Refused because the recipient unsubscribed from this sender (texted STOP to it):
    /// final, and a withdrawal of consent careloop records.
    #[error("the recipient unsubscribed ({code})")]
    Unsubscribed { code: String },
    /// The request left but no answer came: the provider may have the message.
    #[error("the outcome of the send is unknown")]
    Unknown,
}

#[async_trait::async_trait]
pub trait Transport: Send + Sync {
    async fn send(&self, message: &Outbound) -> Result<Accepted, SendError>;

    /// `twilio`, `smtp`, `sandbox`: for logs and metrics.
    fn name(&self) -> &'static str;
}
