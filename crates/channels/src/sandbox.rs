//! The sandbox transport, used where no provider is configured: the message is kept (as
//! careloop keeps every message) and marked delivered at once, and nothing leaves the
//! machine. Replies are simulated with `careloop simulate reply`.

use careloop_domain::delivery::DeliveryStatus;

use crate::transport::{Accepted, Outbound, SendError, Transport};

#[derive(Clone, Copy, Debug, Default)]
pub struct Sandbox;

#[async_trait::async_trait]
impl Transport for Sandbox {
    async fn send(&self, message: &Outbound) -> Result<Accepted, SendError> {
        Ok(Accepted {
            provider_id: format!("sandbox-{}", message.id),
            status: DeliveryStatus::Delivered,
        })
    }

    fn name(&self) -> &'static str {
        "sandbox"
    }
}
