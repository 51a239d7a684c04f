//! Playing the patient: with a channel in the sandbox, a person answers a message as
//! the patient would, and careloop handles the answer exactly as it handles one that a
//! provider's webhook brings.

use careloop_domain::journey::Channel;
use careloop_store::crypto::new_resource_id;

use super::{Inbound, Received};
use crate::{Engine, EngineError};

#[derive(Debug, thiserror::Error)]
pub enum SimulateError {
    /// Real messages go out on a channel here: the patients are real, and a made-up
    /// answer would act on their appointments and consent.
    #[error(
        "{0} messages go to a real provider here; answers can be simulated only on the sandbox, with every channel there"
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
        if let Some(real) = [Channel::Sms, Channel::Email]
            .into_iter()
            .find(|c| !self.is_sandbox(*c))
        {
            return Err(SimulateError::NotSandbox(real.name()));
        }
        let id = new_resource_id();
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
