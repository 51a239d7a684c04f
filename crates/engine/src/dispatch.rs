//! The dispatcher: claims due messages from the outbox, runs the gates, hands each to its
//! transport and records the outcome. Many dispatchers may share one PostgreSQL database:
//! a claim is a row lock taken with SKIP LOCKED and a lease, so no message is handed to
//! two of them.

use careloop_channels::{Outbound, SendError};
use careloop_domain::delivery::{DeliveryStatus, retry_delay};
use careloop_domain::journey::Channel;
use careloop_domain::{Patient, ResourceId};
use careloop_fhir::{Context, communication, patient};
use careloop_store::work::OutboxRow;
use tokio::task::JoinSet;

use crate::outcome::Outcome;
use crate::subject::read_json;
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
        let mut sends = JoinSet::new();
        for row in claimed {
            let engine = self.clone();
            sends.spawn(async move { engine.deliver(row).await });
        }
        while let Some(done) = sends.join_next().await {
            match done {
                Ok(result) => result?,
                Err(join) => {
                    tracing::error!(error = %join, "a send task failed");
                    return Err(EngineError::Busy);
                }
            }
        }
        Ok(count)
    }

    async fn deliver(&self, row: OutboxRow) -> Result<(), EngineError> {
        let outcome = self.attempt(&row).await?;
        if let Some(outcome) = outcome {
            self.settle(&row.id, &outcome).await?;
        }
        Ok(())
    }

    /// One try at one claimed message; `None` when the message is gone.
    async fn attempt(&self, row: &OutboxRow) -> Result<Option<Outcome>, EngineError> {
        let id = ResourceId::parse(&row.id).map_err(|_| EngineError::Corrupt("an outbox row"))?;
        let Some(body) = read_json(&self.store, &self.org, "Communication", &id).await? else {
            return Ok(None);
        };
        let blocked = |reason: &str| {
            Ok(Some(Outcome::Final {
                status: DeliveryStatus::Blocked,
                code: None,
                reason: reason.to_owned(),
            }))
        };
        let Some(sendable) = communication::sendable(&body) else {
            return blocked("the message has no address or text");
        };
        let channel = match row.channel.as_str() {
            "sms" => Channel::Sms,
            "email" => Channel::Email,
            _ => return blocked("the message's channel is not one careloop sends on"),
        };
        let now = self.store.now();
        if channel == Channel::Sms {
            let zone = self
                .patient(&row.patient_id)
                .await?
                .and_then(|p| p.zone.map(|z| z.time_zone().clone()))
                .unwrap_or_else(|| self.settings.clinic.zone.clone());
            if let Some(until) = self.settings.quiet_hours.defer(now, &zone) {
                return Ok(Some(Outcome::Deferred {
                    reason: format!("quiet hours ({})", self.settings.quiet_hours),
                    until,
                }));
            }
        }
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
        let now = self.store.now();
        let attempts = u32::try_from(row.attempts).unwrap_or(u32::MAX);
        Ok(Some(match result {
            Ok(accepted) => Outcome::Accepted {
                provider_id: accepted.provider_id,
                status: accepted.status,
            },
            Err(SendError::Permanent { code }) => Outcome::Final {
                status: DeliveryStatus::Failed,
                reason: format!("{} refused the message ({code})", transport.name()),
                code: Some(code),
            },
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
                    at: now.checked_add(delay).unwrap_or(now),
                }
            }
            Err(SendError::Unknown) => Outcome::Unknown {
                until: now.checked_add(self.settings.unknown_grace).unwrap_or(now),
            },
        }))
    }

    async fn patient(&self, id: &str) -> Result<Option<Patient>, EngineError> {
        let id = ResourceId::parse(id).map_err(|_| EngineError::Corrupt("an outbox row"))?;
        let Some(body) = read_json(&self.store, &self.org, "Patient", &id).await? else {
            return Ok(None);
        };
        let context = Context {
            region: self.settings.region,
        };
        patient::from_fhir(&body, &context)
            .map(Some)
            .map_err(|_| EngineError::Corrupt("a patient"))
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
