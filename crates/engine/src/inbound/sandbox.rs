//! Playing the patient: with a channel in the sandbox, a person answers a message as
//! the patient would, and careloop handles the answer exactly as it handles one that a
//! provider's webhook brings.

use careloop_domain::ResourceId;
use careloop_domain::journey::Channel;
use careloop_store::crypto::random_id_bytes;

use super::{Inbound, Received};
use crate::{Engine, EngineError};

#[derive(Debug, thiserror::Error)]
pub enum SimulateError {
    /// Real messages go out on this channel: a made-up answer would act on real
    /// patients' appointments.
    #[error(
        "{0} messages go to a real provider here; answers can be simulated only on the sandbox"
    )]
    NotSandbox(&'static str),
    #[error(transparent)]
    Engine(#[from] EngineError),
}

impl Engine {
    /// Handles `text` as the answer of the patient at `to` (the phone number or email
    /// address careloop's message went to).
    pub async fn simulate_reply(&self, to: &str, text: &str) -> Result<Received, SimulateError> {
        let channel = if to.contains('@') {
            Channel::Email
        } else {
            Channel::Sms
        };
        if !self.is_sandbox(channel) {
            return Err(SimulateError::NotSandbox(channel.name()));
        }
        let id = ResourceId::from_random(random_id_bytes());
        Ok(self
            .receive(&Inbound {
                channel,
                from: to.to_owned(),
                text: text.to_owned(),
                provider_id: format!("sandbox-{id}"),
            })
            .await?)
    }
}
