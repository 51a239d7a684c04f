//! The dispatcher: claims due messages from the outbox, runs the gates, hands each to its
//! transport and records the outcome. Many dispatchers may share one PostgreSQL database:
//! a claim is a row lock taken with SKIP LOCKED and a lease, so no message is handed to
//! two of them.

use careloop_channels::{Outbound, SendError};
use careloop_domain::delivery::{DeliveryStatus, retry_delay};
use careloop_domain::journey::Channel;
use careloop_fhir::communication;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use careloop_store::micros;
use careloop_store::model::{Search, Sort};
use careloop_store::work::OutboxRow;
use jiff::Timestamp;
use serde_json::Value;
use tokio::task::JoinSet;

use crate::gates::BatchFacts;
use crate::handoff::Handed;
use crate::outcome::Outcome;
use crate::subject::stored_id;
use crate::{Engine, EngineError};

/// How often, in microseconds of the clock, senders look for lapsed claims.
const SWEEP_EVERY_US: i64 = 1_000_000;

/// A claimed message and what came of it.
pub(crate) struct Tried {
    pub row: OutboxRow,
    pub outcome: Outcome,
}

/// A message's Communication as read (or composed) for its send: what to send, and to
/// whom.
pub(crate) struct Record {
    pub body: Value,
}

impl Engine {
    /// Sends what is due, one batch: what planning handed over claimed, else a batch
    /// claimed from the outbox. Returns how many messages it handled.
    ///
    /// The batch's Communications are read in one query and its outcomes recorded in
    /// one transaction, so a busy outbox costs a few statements per message, not a
    /// round of reads and a commit each.
    pub async fn dispatch(&self) -> Result<usize, EngineError> {
        let batch = usize::try_from(self.settings.batch).unwrap_or(usize::MAX);
        let handed = self.handoff.take(batch);
        if !handed.is_empty() {
            return self.send_handed(handed).await;
        }
        if self.sweep_due() {
            self.store
                .sweep_outbox(&self.org, self.settings.unknown_grace)
                .await?;
        }
        let claimed = self
            .store
            .claim_outbox(&self.org, self.settings.lease, self.settings.batch)
            .await?;
        if claimed.is_empty() {
            return Ok(0);
        }
        let records = self.records(&claimed).await?;
        let facts = self.facts_of(&claimed, &records).await?;
        self.send_claimed(claimed, records, facts).await
    }

    /// Whether it is time to look for lapsed claims again: at most once a second of the
    /// clock, since a claim lapses minutes after it was made. A sender that finds
    /// nothing handed over looks for work in the outbox, and between the batches of a
    /// busy engine that was several times a second.
    fn sweep_due(&self) -> bool {
        let now = micros(self.store.now());
        let last = self.swept_us.load(Ordering::SeqCst);
        let due = !(last..last.saturating_add(SWEEP_EVERY_US)).contains(&now);
        due && self
            .swept_us
            .compare_exchange(last, now, Ordering::SeqCst, Ordering::SeqCst)
            .is_ok()
    }

    /// Sends messages handed over by planning, with the facts it read for them; those it
    /// handed without are read here.
    async fn send_handed(&self, handed: Vec<Handed>) -> Result<usize, EngineError> {
        let mut claimed = Vec::with_capacity(handed.len());
        let mut records = HashMap::with_capacity(handed.len());
        let mut facts = HashMap::with_capacity(handed.len());
        let mut unread = Vec::new();
        for Handed {
            row,
            record,
            facts: known,
        } in handed
        {
            match known {
                Some(known) => {
                    facts.insert(row.id.clone(), known);
                }
                None => unread.push(row.clone()),
            }
            records.insert(row.id.clone(), record);
            claimed.push(row);
        }
        if !unread.is_empty() {
            facts.extend(self.facts_of(&unread, &records).await?);
        }
        self.send_claimed(claimed, records, facts).await
    }

    /// The gates' facts for `rows`, read for all of them at once, by row id.
    async fn facts_of(
        &self,
        rows: &[OutboxRow],
        records: &HashMap<String, Record>,
    ) -> Result<HashMap<String, Arc<BatchFacts>>, EngineError> {
        let facts = Arc::new(
            self.batch_facts(
                rows.iter()
                    .map(|row| (row, records.get(&row.id).map(|r| &r.body))),
            )
            .await?,
        );
        Ok(rows
            .iter()
            .map(|row| (row.id.clone(), facts.clone()))
            .collect())
    }

    /// Runs the gates on a claimed batch, sends what may go and records every outcome.
    /// `facts` holds what the gates need for each row, by its id.
    async fn send_claimed(
        &self,
        claimed: Vec<OutboxRow>,
        mut records: HashMap<String, Record>,
        mut facts: HashMap<String, Arc<BatchFacts>>,
    ) -> Result<usize, EngineError> {
        let count = claimed.len();
        let (claimed, later) = self.pace(claimed).await?;
        let mut tried: Vec<Tried> = later
            .into_iter()
            .map(|(row, outcome)| Tried { row, outcome })
            .collect();
        let mut sends = JoinSet::new();
        for row in claimed {
            let engine = self.clone();
            let record = records.remove(&row.id);
            let facts = facts.remove(&row.id);
            sends.spawn(async move {
                let outcome = match facts {
                    Some(facts) => engine.attempt(&row, record.as_ref(), &facts).await,
                    None => Err(EngineError::Corrupt("a claimed message without its facts")),
                };
                (row, outcome)
            });
        }
        // Every send is waited for, even after one fails: dropping the set would abort
        // sends whose requests may already have left.
        let mut failed = None;
        while let Some(done) = sends.join_next().await {
            match done {
                Ok((row, Ok(outcome))) => tried.push(Tried { row, outcome }),
                // The message stays claimed; its lease lapses and it is looked at again.
                Ok((_, Err(error))) => {
                    failed.get_or_insert(error);
                }
                Err(join) => {
                    tracing::error!(error = %join, "a send task failed");
                    failed.get_or_insert(EngineError::Busy);
                }
            }
        }
        self.settle_claims(tried).await?;
        failed.map_or(Ok(count), Err)
    }

    /// The Communications of `rows` by id, read in one query.
    async fn records(&self, rows: &[OutboxRow]) -> Result<HashMap<String, Record>, EngineError> {
        let ids = rows
            .iter()
            .map(|row| stored_id(&row.id, "an outbox row"))
            .collect::<Result<Vec<_>, _>>()?;
        let page = self
            .store
            .search(
                &self.org,
                &Search {
                    resource_type: "Communication",
                    terms: Vec::new(),
                    count: u32::try_from(ids.len()).unwrap_or(u32::MAX),
                    ids,
                    start_from: None,
                    start_before: None,
                    sort: Sort::Created,
                    offset: 0,
                },
            )
            .await?;
        page.resources
            .into_iter()
            .map(|stored| {
                let body = serde_json::from_slice(&stored.body)
                    .map_err(|_| EngineError::Corrupt("a Communication"))?;
                Ok((stored.id.as_str().to_owned(), Record { body }))
            })
            .collect()
    }

    /// One try at one claimed message.
    async fn attempt(
        &self,
        row: &OutboxRow,
        record: Option<&Record>,
        facts: &BatchFacts,
    ) -> Result<Outcome, EngineError> {
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
        let Some(Record { body }) = record else {
            return blocked("the message's record is gone");
        };
        let Some(sendable) = communication::sendable(body) else {
            return blocked("the message has no address or text");
        };
        let Some(channel) = Channel::parse(&row.channel) else {
            return blocked("the message's channel is not one careloop sends on");
        };
        if let Some(held) = self.gate(row, body, channel, &sendable, facts).await? {
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
