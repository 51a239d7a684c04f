//! Recording what happened to a message: the sender's result, a gate's decision, a
//! provider's callback. The outbox row is the one record of a message's delivery (its
//! Communication shows it when read), guarded by its version; when a callback and the
//! sender's own result race, each is applied to the other's result, and a state only
//! ever moves forward.

use careloop_domain::delivery::DeliveryStatus;
use careloop_store::work::{OutboxQuery, OutboxRow};
use careloop_store::{Change, StoreError, micros};
use jiff::Timestamp;

use crate::dispatch::Tried;
use crate::{Engine, EngineError};

const SETTLE_TRIES: usize = 5;
/// The reason a requeued dead letter shows.
const REQUEUED: &str = "sent again by an operator";

/// What happened to a message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The sender handed it over; the provider reported `status`.
    Accepted {
        provider_id: String,
        status: DeliveryStatus,
    },
    /// The provider reported `status` later (a callback).
    Reported {
        status: DeliveryStatus,
        provider_id: Option<String>,
        error_code: Option<String>,
    },
    /// The sender failed for now: back to the queue until `at`.
    Retry { code: String, at: Timestamp },
    /// A gate holds it until `until`; the claim does not count as a try.
    Deferred { reason: String, until: Timestamp },
    /// Final failure: `Failed` (the provider refused), `Dead` (out of tries) or
    /// `Blocked` (a gate refused).
    Final {
        status: DeliveryStatus,
        code: Option<String>,
        reason: String,
    },
    /// The request left and no answer came: wait for a callback until `until`.
    Unknown { until: Timestamp },
    /// An operator sends a dead letter again: back to the queue with fresh tries.
    Requeued,
}

/// How a report names a message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MessageRef {
    /// careloop's own id (carried in the provider's callback URL).
    Own(String),
    /// The provider's id (a Twilio MessageSid).
    Provider(String),
}

/// What recording an outcome did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Settled {
    /// No such message (never, or erased since).
    Missing,
    /// The outcome no longer applied: the message is as it was.
    Unchanged(OutboxRow),
    Changed(OutboxRow),
}

/// The row after `outcome`, or `None` when the outcome no longer applies. `claim` is
/// the lease of the sender's claim for an outcome of the sender's, `None` for the
/// provider's or an operator's.
fn apply(
    row: &OutboxRow,
    outcome: &Outcome,
    now: Timestamp,
    claim: Option<i64>,
) -> Option<OutboxRow> {
    let current = DeliveryStatus::parse(&row.status)?;
    let still_held = current == DeliveryStatus::Sending && row.lease_us == claim;
    if claim.is_some() && !still_held {
        // The claim lapsed (the row waits for a callback, or another sender has it) or a
        // callback got there first. Only news that moves the message forward counts: a
        // late "accepted" saves a resend.
        return match outcome {
            Outcome::Accepted {
                provider_id,
                status,
            } => apply(
                row,
                &Outcome::Reported {
                    status: *status,
                    provider_id: Some(provider_id.clone()),
                    error_code: None,
                },
                now,
                None,
            )
            .or_else(|| {
                row.provider_id.is_none().then(|| {
                    let mut next = row.clone();
                    next.provider_id = Some(provider_id.clone());
                    next
                })
            }),
            _ => None,
        };
    }
    if *outcome == Outcome::Requeued && current != DeliveryStatus::Dead {
        return None;
    }
    let mut next = row.clone();
    next.lease_us = None;
    match outcome {
        Outcome::Requeued => {
            next.status = DeliveryStatus::Queued.name().to_owned();
            next.due_us = micros(now);
            next.attempts = 0;
            next.reason = Some(REQUEUED.to_owned());
        }
        Outcome::Accepted {
            provider_id,
            status,
        } => {
            next.status = status.name().to_owned();
            next.provider_id = Some(provider_id.clone());
            next.reason = None;
            next.error_code = None;
        }
        Outcome::Reported {
            status,
            provider_id,
            error_code,
        } => {
            if !current.moves_to(*status) {
                return None;
            }
            next.status = status.name().to_owned();
            if next.provider_id.is_none() {
                next.provider_id.clone_from(provider_id);
            }
            next.error_code.clone_from(error_code);
            next.reason = None;
        }
        Outcome::Retry { code, at } => {
            next.status = DeliveryStatus::Queued.name().to_owned();
            next.due_us = micros(*at);
            next.error_code = Some(code.clone());
            next.reason = None;
        }
        Outcome::Deferred { reason, until } => {
            next.status = DeliveryStatus::Queued.name().to_owned();
            next.due_us = micros(*until);
            next.attempts = (next.attempts - 1).max(0);
            next.reason = Some(reason.clone());
        }
        Outcome::Final {
            status,
            code,
            reason,
        } => {
            next.status = status.name().to_owned();
            next.error_code.clone_from(code);
            next.reason = Some(reason.clone());
        }
        Outcome::Unknown { until } => {
            next.status = DeliveryStatus::Unknown.name().to_owned();
            next.due_us = micros(*until);
            next.reason = Some("no answer from the provider".to_owned());
        }
    }
    next.version = row.version + 1;
    next.updated_us = micros(now);
    Some(next)
}

impl Engine {
    /// Records a provider's report about a message, however it names it.
    pub async fn report(
        &self,
        message: MessageRef,
        outcome: &Outcome,
    ) -> Result<Settled, EngineError> {
        let id = match message {
            MessageRef::Own(id) => id,
            MessageRef::Provider(provider_id) => {
                let found = self
                    .store
                    .outbox(&self.org, &OutboxQuery::ByProviderId(provider_id))
                    .await?
                    .pop();
                match found {
                    Some(row) => row.id,
                    None => return Ok(Settled::Missing),
                }
            }
        };
        self.settle(&id, outcome).await
    }

    /// Records the provider's or an operator's `outcome` for the message `id`.
    pub async fn settle(&self, id: &str, outcome: &Outcome) -> Result<Settled, EngineError> {
        self.record(id, outcome, None).await
    }

    /// Records a sender's `outcome` for the message it `claimed`: it applies only while
    /// that claim holds.
    pub(crate) async fn settle_claim(
        &self,
        claimed: &OutboxRow,
        outcome: &Outcome,
    ) -> Result<Settled, EngineError> {
        // A claimed row always has a lease; `Some` marks the outcome as the sender's.
        let claim = Some(claimed.lease_us.unwrap_or(i64::MIN));
        self.record(&claimed.id, outcome, claim).await
    }

    async fn record(
        &self,
        id: &str,
        outcome: &Outcome,
        claim: Option<i64>,
    ) -> Result<Settled, EngineError> {
        for _ in 0..SETTLE_TRIES {
            let Some(row) = self
                .store
                .outbox(&self.org, &OutboxQuery::ById(id.to_owned()))
                .await?
                .pop()
            else {
                return Ok(Settled::Missing);
            };
            let now = self.store.now();
            let Some(mut next) = apply(&row, outcome, now, claim) else {
                return Ok(Settled::Unchanged(row));
            };
            next.version = row.version + 1;
            let changes = [Change::UpdateOutbox {
                row: next.clone(),
                prev_version: row.version,
            }];
            match self.store.commit(&self.org, &changes).await {
                Ok(_) => return Ok(Settled::Changed(next)),
                // Another outcome of the same message (a callback racing its sender) was
                // recorded first: read the row again and apply this outcome to that one.
                Err(StoreError::Conflict | StoreError::VersionMismatch { .. }) => continue,
                // The patient was erased meanwhile: the row went with them.
                Err(StoreError::MissingOwner | StoreError::KeyDestroyed) => {
                    return Ok(Settled::Missing);
                }
                Err(other) => return Err(other.into()),
            }
        }
        Err(EngineError::Busy)
    }

    /// Records the senders' outcomes of one claimed batch in one transaction. When one
    /// of them no longer applies as read (a callback moved its message meanwhile), each
    /// is recorded on its own against the rows as they are now.
    pub(crate) async fn settle_claims(&self, tried: Vec<Tried>) -> Result<(), EngineError> {
        let now = self.store.now();
        let mut changes = Vec::with_capacity(tried.len());
        for one in &tried {
            // A claimed row always has a lease; `Some` marks the outcome as the sender's.
            let claim = Some(one.row.lease_us.unwrap_or(i64::MIN));
            let Some(mut next) = apply(&one.row, &one.outcome, now, claim) else {
                continue;
            };
            next.version = one.row.version + 1;
            changes.push(Change::UpdateOutbox {
                row: next,
                prev_version: one.row.version,
            });
        }
        if changes.is_empty() {
            return Ok(());
        }
        match self.store.commit(&self.org, &changes).await {
            Ok(_) => Ok(()),
            // A callback moved a message since the claim, or its patient was erased:
            // each outcome on its own, against what is there.
            Err(
                StoreError::Conflict
                | StoreError::VersionMismatch { .. }
                | StoreError::MissingOwner
                | StoreError::KeyDestroyed,
            ) => {
                let mut failed = None;
                for one in &tried {
                    if let Err(error) = self.settle_claim(&one.row, &one.outcome).await {
                        failed.get_or_insert(error);
                    }
                }
                failed.map_or(Ok(()), Err)
            }
            Err(other) => Err(other.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The lease of the claim `row` was made under.
    const CLAIM: Option<i64> = Some(5);

    fn row(status: DeliveryStatus) -> OutboxRow {
        // Queued, claimed once (until CLAIM), and moved on once more since.
        OutboxRow {
            status: status.name().into(),
            version: 3,
            ..OutboxRow::queued("m", "k".into(), "p", "sms", Some("transactional"), 0, 0)
                .claimed(0, 5)
        }
    }

    fn reported(status: DeliveryStatus) -> Outcome {
        Outcome::Reported {
            status,
            provider_id: Some("SM1".into()),
            error_code: None,
        }
    }

    #[test]
    fn callbacks_move_forward_only() {
        let now = Timestamp::UNIX_EPOCH;
        let sent = apply(
            &row(DeliveryStatus::Accepted),
            &reported(DeliveryStatus::Sent),
            now,
            None,
        )
        .unwrap();
        assert_eq!(sent.status, "sent");
        let delivered = apply(&sent, &reported(DeliveryStatus::Delivered), now, None).unwrap();
        assert_eq!(delivered.status, "delivered");
        assert_eq!(
            apply(&delivered, &reported(DeliveryStatus::Sent), now, None),
            None
        );
        assert_eq!(
            apply(&delivered, &reported(DeliveryStatus::Delivered), now, None),
            None
        );
    }

    #[test]
    fn a_sender_result_after_a_callback_keeps_the_callbacks_news() {
        let now = Timestamp::UNIX_EPOCH;
        let mut delivered = row(DeliveryStatus::Delivered);
        delivered.provider_id = None;
        let accepted = Outcome::Accepted {
            provider_id: "SM9".into(),
            status: DeliveryStatus::Accepted,
        };
        let next = apply(&delivered, &accepted, now, CLAIM).unwrap();
        assert_eq!(next.status, "delivered");
        assert_eq!(next.provider_id.as_deref(), Some("SM9"));
        let retry = Outcome::Retry {
            code: "500".into(),
            at: now,
        };
        assert_eq!(apply(&delivered, &retry, now, CLAIM), None);
    }

    #[test]
    fn a_late_acceptance_after_the_claim_lapsed_saves_a_resend() {
        let now = Timestamp::UNIX_EPOCH;
        // The sweep took the lapsed claim for an unknown outcome.
        let mut lapsed = row(DeliveryStatus::Unknown);
        lapsed.lease_us = None;
        let accepted = Outcome::Accepted {
            provider_id: "SM7".into(),
            status: DeliveryStatus::Accepted,
        };
        let next = apply(&lapsed, &accepted, now, CLAIM).unwrap();
        assert_eq!(next.status, "accepted");
        assert_eq!(next.provider_id.as_deref(), Some("SM7"));
        // A failure reported under a lapsed claim, or under another sender's, is not
        // applied to the row.
        let retry = Outcome::Retry {
            code: "500".into(),
            at: now,
        };
        assert_eq!(apply(&lapsed, &retry, now, CLAIM), None);
        let mut reclaimed = row(DeliveryStatus::Sending);
        reclaimed.lease_us = Some(99);
        assert_eq!(apply(&reclaimed, &retry, now, CLAIM), None);
    }

    #[test]
    fn only_a_dead_letter_can_be_requeued() {
        let now = Timestamp::UNIX_EPOCH;
        let mut dead = row(DeliveryStatus::Dead);
        dead.attempts = 8;
        let next = apply(&dead, &Outcome::Requeued, now, None).unwrap();
        assert_eq!((next.status.as_str(), next.attempts), ("queued", 0));
        for status in [
            DeliveryStatus::Failed,
            DeliveryStatus::Delivered,
            DeliveryStatus::Queued,
        ] {
            assert_eq!(apply(&row(status), &Outcome::Requeued, now, None), None);
        }
    }

    #[test]
    fn a_deferral_does_not_count_as_a_try() {
        let now = Timestamp::UNIX_EPOCH;
        let deferred = Outcome::Deferred {
            reason: "quiet hours".into(),
            until: now,
        };
        let next = apply(&row(DeliveryStatus::Sending), &deferred, now, CLAIM).unwrap();
        assert_eq!(next.status, "queued");
        assert_eq!(next.attempts, 0);
        assert_eq!(next.lease_us, None);
    }
}
