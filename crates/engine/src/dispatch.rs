//! The dispatcher: claims due messages from the outbox, runs the gates, hands each to its
//! transport and records the outcome. Many dispatchers may share one PostgreSQL database:
//! a claim is a row lock taken with SKIP LOCKED and a lease, so no message is handed to
//! two of them.

use careloop_channels::{Outbound, SendError};
use careloop_domain::delivery::{DeliveryStatus, retry_delay};
use careloop_domain::journey::Channel;
use careloop_fhir::communication;
use careloop_store::work::OutboxRow;
use jiff::Timestamp;
use tokio::task::JoinSet;

use crate::outcome::Outcome;
use crate::subject::{read_json, stored_id};
use crate::{Engine, EngineError};

impl Engine {
    /// Sends what is due, one claimed batch. Returns how many messages it handled.
    pub async fn dispatch(&self) -> Result<usize, EngineError> {
        self.store
            .sweep_outbox(&self.org, self.settings.unknown_grace)
            .await?;
        let claimed = self
            .store
            .claim_outbox(&self.org, self.settings.lease, self.settings.batch)
            .await?;
        let count = claimed.len();
        let (claimed, later) = self.pace(claimed).await?;
        for (row, outcome) in later {
            self.settle_claim(&row, &outcome).await?;
        }
        let mut sends = JoinSet::new();
        for row in claimed {
            let engine = self.clone();
            sends.spawn(async move { engine.deliver(row).await });
        }
        // Every send is waited for, even after one fails: dropping the set would abort
        // sends whose requests may already have left.
        let mut failed = None;
        while let Some(done) = sends.join_next().await {
            let error = match done {
                Ok(Ok(())) => continue,
                Ok(Err(error)) => error,
                Err(join) => {
                    tracing::error!(error = %join, "a send task failed");
                    EngineError::Busy
                }
            };
            failed.get_or_insert(error);
        }
        failed.map_or(Ok(count), Err)
    }

    async fn deliver(&self, row: OutboxRow) -> Result<(), EngineError> {
        let outcome = self.attempt(&row).await?;
        self.settle_claim(&row, &outcome).await?;
        Ok(())
    }

    /// One try at one claimed message.
    async fn attempt(&self, row: &OutboxRow) -> Result<Outcome, EngineError> {
        let blocked = |reason: &str| {
            Ok(Outcome::Final {
                status: DeliveryStatus::Blocked,
                code: None,
                reason: reason.to_owned(),
            })
        };
        let attempts = u32::try_from(row.attempts).unwrap_or(u32::MAX);
        if attempts > self.settings.max_attempts {
            // Each send whose outcome stayed unknown counts as a try too: a provider that
            // never answers cannot have a message sent again and again.
            return Ok(Outcome::Final {
                status: DeliveryStatus::Dead,
                code: row.error_code.clone(),
                reason: format!(
                    "{} tries without a known outcome or success",
                    self.settings.max_attempts
                ),
            });
        }
        let id = stored_id(&row.id, "an outbox row")?;
        let Some(body) = read_json(&self.store, &self.org, "Communication", &id).await? else {
            return blocked("the message's record is gone");
        };
        let Some(sendable) = communication::sendable(&body) else {
            return blocked("the message has no address or text");
        };
        let Some(channel) = Channel::parse(&row.channel) else {
            return blocked("the message's channel is not one careloop sends on");
        };
        if let Some(held) = self.gate(row, &body, channel, &sendable).await? {
            return Ok(held);
        }
        let address = sendable.address.clone();
        let message = Outbound {
            id: row.id.clone(),
            channel,
            to: sendable.address,
            text: sendable.text,
            subject: sendable.subject,
            html: None,
        };
        let transport = self.transports.for_channel(channel);
        let result = transport.send(&message).await;
        if channel == Channel::Sms && matches!(&result, Err(SendError::Unsubscribed { .. })) {
            self.note_unsubscribed(&address).await;
        }
        let now = self.store.now();
        Ok(match result {
            Ok(accepted) => Outcome::Accepted {
                provider_id: accepted.provider_id,
                status: accepted.status,
            },
            Err(SendError::Permanent { code } | SendError::Unsubscribed { code }) => {
                Outcome::Final {
                    status: DeliveryStatus::Failed,
                    reason: format!("{} refused the message ({code})", transport.name()),
                    code: Some(code),
                }
            }
            Err(SendError::Transient { code, .. }) if attempts >= self.settings.max_attempts => {
                Outcome::Final {
                    status: DeliveryStatus::Dead,
                    reason: format!("{attempts} tries failed; the last: {code}"),
                    code: Some(code),
                }
            }
            Err(SendError::Transient { code, retry_after }) => {
                let delay = retry_delay(
                    attempts,
                    self.settings.retry_base,
                    self.settings.retry_cap,
                    retry_after,
                    random_u32(),
                );
                Outcome::Retry {
                    code,
                    at: now.checked_add(delay).unwrap_or(Timestamp::MAX),
                }
            }
            Err(SendError::Unknown) => Outcome::Unknown {
                until: now.checked_add(self.settings.unknown_grace).unwrap_or(now),
            },
        })
    }
}

fn random_u32() -> u32 {
    let mut bytes = [0u8; 4];
    // Jitter needs no strong randomness; without any it is simply the midpoint.
    if getrandom::getrandom(&mut bytes).is_err() {
        return u32::MAX / 2;
    }
    u32::from_le_bytes(bytes)
}
