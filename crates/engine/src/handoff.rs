//! Messages handed from planning to sending in memory. A journey step that queues a
//! message due now writes its outbox row already claimed (status `sending`, a lease),
//! and once that is committed this engine's senders take it from here instead of
//! claiming it from the outbox and reading its Communication back: two statements and a
//! decryption a message fewer.
//!
//! Nothing is less durable for it: the row is claimed in the same transaction that
//! queues it, so a crash before it goes is a crash after a claim. Its lease lapses, the
//! sweep takes it back, and it waits for a callback that never comes before it is sent.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};

use careloop_store::work::OutboxRow;
use careloop_store::{Change, Committed, StoreError};

use crate::Engine;
use crate::compose::Writes;
use crate::dispatch::Record;
use crate::gates::BatchFacts;

/// Messages waiting in memory at most: about two rounds of sending for every lane.
/// Beyond it the planner queues messages in the outbox as unclaimed rows, for any
/// sender to claim, so a slow transport cannot leave leases lapsing in here.
const CAPACITY: usize = 400;

/// A message claimed as it was queued, with its Communication as written and, when
/// its planning read them, the consent records and patient its gates need.
pub(crate) struct Handed {
    pub row: OutboxRow,
    pub record: Record,
    pub facts: Option<Arc<BatchFacts>>,
}

#[derive(Default)]
pub(crate) struct Handoff {
    queue: Mutex<VecDeque<Handed>>,
}

impl Handoff {
    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<Handed>> {
        // A sender that panicked holding the lock left the queue whole: take it on.
        self.queue
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }

    /// Up to `limit` messages, oldest first.
    pub fn take(&self, limit: usize) -> Vec<Handed> {
        let mut queue = self.lock();
        let n = limit.min(queue.len());
        queue.drain(..n).collect()
    }

    fn room(&self) -> usize {
        CAPACITY.saturating_sub(self.lock().len())
    }

    fn push(&self, handed: Vec<Handed>) {
        self.lock().extend(handed);
    }
}

impl Engine {
    /// Commits `changes`, the messages among them that are due now written as claimed
    /// by this engine and handed to its senders once the commit holds.
    ///
    /// `facts` are what the changes were planned with, read moments ago: the senders
    /// gate the messages with them instead of reading them again. A stop that lands in
    /// between is no later for it than one that lands while the request is on its way.
    pub(crate) async fn commit_handing_off(
        &self,
        writes: Writes,
        facts: Option<BatchFacts>,
    ) -> Result<Vec<Committed>, StoreError> {
        let Writes {
            mut changes,
            drafts,
        } = writes;
        let (now_us, lease_us) = self.store.lease_from_now(self.settings.lease);
        let claimed = claim_due(&mut changes, drafts, now_us, lease_us, self.handoff.room());
        let committed = self.store.commit(&self.org, &changes).await?;
        let handed = committed_only(claimed, &committed, facts.map(Arc::new));
        // One sender woken per batch handed over: woken once, only one of them would
        // send while the others slept out their idle poll.
        let batch = usize::try_from(self.settings.batch)
            .unwrap_or(usize::MAX)
            .max(1);
        let batches = handed.len().div_ceil(batch);
        self.handoff.push(handed);
        for _ in 0..batches {
            self.wake.send.notify_one();
        }
        Ok(committed)
    }
}

/// Marks at most `room` of the queued messages in `changes` that are due by `now_us`
/// as claimed until `lease_us`, as a claim from the outbox would, and returns them with
/// their Communications as composed (`drafts`). A message without a draft is left
/// queued for a claim from the outbox.
fn claim_due(
    changes: &mut [Change],
    mut drafts: HashMap<String, serde_json::Value>,
    now_us: i64,
    lease_us: i64,
    room: usize,
) -> Vec<(OutboxRow, serde_json::Value)> {
    let mut claimed = Vec::new();
    for change in changes.iter_mut() {
        if claimed.len() == room {
            break;
        }
        let Change::Enqueue(row) = change else {
            continue;
        };
        if !row.is_due(now_us) {
            continue;
        }
        let Some(body) = drafts.remove(&row.id) else {
            continue;
        };
        // The row alone says it is being sent: its Communication is written as composed
        // and shows the row's state when read.
        *row = row.claimed(now_us, lease_us);
        claimed.push((row.clone(), body));
    }
    claimed
}

/// The claimed messages whose Communications were committed.
fn committed_only(
    claimed: Vec<(OutboxRow, serde_json::Value)>,
    committed: &[Committed],
    facts: Option<Arc<BatchFacts>>,
) -> Vec<Handed> {
    let written: HashSet<&str> = committed
        .iter()
        .filter(|c| c.resource_type == "Communication")
        .map(|c| c.id.as_str())
        .collect();
    claimed
        .into_iter()
        .filter(|(row, _)| written.contains(row.id.as_str()))
        .map(|(row, body)| Handed {
            row,
            record: Record { body },
            facts: facts.clone(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use careloop_domain::ResourceId;
    use careloop_store::{Expect, NewVersion, Protection};

    fn message(n: u8, due_us: i64) -> [Change; 2] {
        let id = ResourceId::from_random([n; 16]);
        let put = Change::Put {
            version: NewVersion {
                resource_type: "Communication",
                id: id.clone(),
                body: br#"{"resourceType":"Communication"}"#.to_vec(),
                terms: Vec::new(),
                start: None,
                end: None,
                protection: Protection::Clear,
                events: Vec::new(),
            },
            expect: Expect::Absent,
        };
        let row = OutboxRow::queued(
            id.as_str(),
            format!("k{n}"),
            "p",
            "sms",
            Some("transactional"),
            due_us,
            0,
        );
        [put, Change::Enqueue(row)]
    }

    /// The Communications of `changes` as composed, as `Outgoing::writes` gives them.
    fn drafts(changes: &[Change]) -> HashMap<String, serde_json::Value> {
        changes
            .iter()
            .filter_map(|c| match c {
                Change::Put { version, .. } => Some((
                    version.id.as_str().to_owned(),
                    serde_json::from_slice(&version.body).unwrap(),
                )),
                _ => None,
            })
            .collect()
    }

    fn enqueued(changes: &[Change]) -> Vec<&OutboxRow> {
        changes
            .iter()
            .filter_map(|c| match c {
                Change::Enqueue(row) => Some(row),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn messages_due_now_are_written_claimed_and_handed_over_up_to_the_room() {
        let mut changes: Vec<Change> = [message(1, 10), message(2, 99), message(3, 5)]
            .into_iter()
            .flatten()
            .chain(message(4, 0))
            .collect();
        let drafts = drafts(&changes);
        let claimed = claim_due(&mut changes, drafts, 10, 70, 2);
        let ids: Vec<&str> = claimed.iter().map(|(row, _)| row.id.as_str()).collect();
        let rows = enqueued(&changes);
        // The first two due (not the one due later, not the one past the room).
        assert_eq!(ids, [rows[0].id.as_str(), rows[2].id.as_str()]);
        for row in [rows[0], rows[2]] {
            assert_eq!(row.status, "sending");
            assert_eq!(row.lease_us, Some(70));
            assert_eq!(row.attempts, 1);
            assert_eq!(row.version, 2);
            assert_eq!(row.sent_us, Some(10));
        }
        for row in [rows[1], rows[3]] {
            assert_eq!(row.status, "queued");
            assert_eq!(row.lease_us, None);
        }
        assert_eq!(claimed[0].1["resourceType"], "Communication");
        // Their Communications are written as composed: the row alone records the claim.
        for change in &changes {
            if let Change::Put { version, .. } = change {
                let written: serde_json::Value = serde_json::from_slice(&version.body).unwrap();
                assert_eq!(
                    written,
                    serde_json::json!({"resourceType": "Communication"})
                );
            }
        }
        // One the commit does not name is not handed over.
        let first = ids[0].to_owned();
        let committed = Committed {
            resource_type: "Communication",
            id: ResourceId::parse(&first).unwrap(),
            version: 1,
            last_updated: jiff::Timestamp::UNIX_EPOCH,
            existed: false,
        };
        let handed = committed_only(claimed, &[committed], None);
        assert_eq!(handed.len(), 1);
        assert_eq!(handed[0].row.id, first);
    }

    #[test]
    fn a_blocked_message_is_not_handed_over() {
        let mut changes: Vec<Change> = message(1, 0).into();
        if let Change::Enqueue(row) = &mut changes[1] {
            row.status = "blocked".into();
        }
        let drafts = drafts(&changes);
        assert!(claim_due(&mut changes, drafts, 10, 70, 5).is_empty());
        assert_eq!(enqueued(&changes)[0].status, "blocked");
    }

    #[test]
    fn a_message_without_its_draft_is_left_for_the_outbox() {
        let mut changes: Vec<Change> = message(1, 0).into();
        assert!(claim_due(&mut changes, HashMap::new(), 10, 70, 5).is_empty());
        assert_eq!(enqueued(&changes)[0].status, "queued");
    }

    #[test]
    fn a_message_composed_as_a_draft_is_handed_over_as_composed_not_read_back() {
        let mut changes: Vec<Change> = message(1, 0).into();
        let id = enqueued(&changes)[0].id.clone();
        let draft = serde_json::json!({"resourceType": "Communication", "language": "es"});
        let claimed = claim_due(&mut changes, HashMap::from([(id, draft)]), 10, 70, 5);
        assert_eq!(claimed.len(), 1);
        assert_eq!(claimed[0].1["language"], "es");
    }
}
