//! [`Store`]: the storage API. It plans each batch of changes (versions, keys, hashes),
//! seals bodies, and hands the backend one atomic list of writes.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, OnceLock};

use tokio::sync::broadcast;

use careloop_domain::audit::{AuditEntry, AuditLink};
use careloop_domain::{Clock, OrgId, ResourceId};
use jiff::{SignedDuration, Timestamp};

use crate::backend::{
    Backend, HashedFilter, HashedSearch, HashedTerm, Head, PoolStats, Reference, Row, WriteOp,
};
use crate::conversations::{seal_conversation, seal_event};
use crate::crypto::{DataKey, MasterKey, Vault, new_key_id};
use crate::error::StoreError;
use crate::key_cache::KeyCache;
use crate::model::{
    Change, Committed, Event, Expect, NewVersion, Page, Protection, Search, Stored,
};
use crate::work::{
    EnrollmentQuery, EnrollmentRow, OutboxQuery, OutboxRow, RateTake, SentCounts, SentQuery,
};

/// The resource type whose rows own data keys.
const PATIENT: &str = "Patient";
const DEFAULT_ORG_NAME: &str = "Default organization";
/// A data key that wraps nothing, kept to tell at start-up whether the configured master
/// key is the one the database was created with.
const MASTER_KEY_CHECK: &str = "master-key-check";

/// A handle on the database; cheap to clone.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

struct Inner {
    backend: Arc<dyn Backend>,
    vault: Vault,
    clock: Arc<dyn Clock>,
    /// Data keys unwrapped recently, shared by every call.
    unwrapped: KeyCache,
    /// Patients whose conversation changed, for live views.
    changes: broadcast::Sender<String>,
    /// Whether the backend tells of changes itself (set when first watched).
    watching: OnceLock<bool>,
}

/// Changes a slow live view may fall behind by before it is told it missed some.
const CHANGES_BUFFERED: usize = 1024;

/// The heads read ahead for a batch, by type and id: `None` for a row that does not
/// exist.
type KnownHeads = HashMap<(String, String), Option<Head>>;
/// Ids per query when reading heads ahead.
const HEADS_PER_QUERY: usize = 500;
/// How many times an audit entry is written again after another writer took its place:
/// far more than writers racing at one instant.
const AUDIT_TRIES: usize = 50;

/// Data keys unwrapped or created during one call, by key id.
type CallKeys = HashMap<String, Arc<DataKey>>;

impl Store {
    pub fn new(backend: Arc<dyn Backend>, master: &MasterKey, clock: Arc<dyn Clock>) -> Self {
        Self {
            inner: Arc::new(Inner {
                backend,
                vault: Vault::new(master),
                clock,
                unwrapped: KeyCache::default(),
                changes: broadcast::channel(CHANGES_BUFFERED).0,
                watching: OnceLock::new(),
            }),
        }
    }

    pub async fn ping(&self) -> Result<(), StoreError> {
        Ok(self.inner.backend.ping().await?)
    }

    /// Readies a migrated database: creates the default organization on first start,
    /// and checks that the master key opens this database's keys (recording, on first
    /// start, that it does). A wrong key would otherwise show up as every read failing.
    pub async fn init(&self) -> Result<(), StoreError> {
        let org = OrgId::default_org();
        let create = WriteOp::EnsureOrg {
            name: DEFAULT_ORG_NAME.to_owned(),
            created_us: micros(self.inner.clock.now()),
        };
        self.inner.backend.apply(org.as_str(), &[create]).await?;
        self.verify_master_key(&org).await
    }

    async fn verify_master_key(&self, org: &OrgId) -> Result<(), StoreError> {
        let backend = &self.inner.backend;
        if let Some(wrapped) = backend.wrapped_key(org.as_str(), MASTER_KEY_CHECK).await? {
            return match self.inner.vault.unwrap_data_key(MASTER_KEY_CHECK, &wrapped) {
                Ok(_) => Ok(()),
                Err(_) => Err(StoreError::WrongMasterKey),
            };
        }
        let (_, wrapped) = self.inner.vault.new_data_key(MASTER_KEY_CHECK);
        let insert = WriteOp::InsertKey {
            key_id: MASTER_KEY_CHECK.to_owned(),
            wrapped,
            created_us: micros(self.inner.clock.now()),
        };
        match backend.apply(org.as_str(), &[insert]).await {
            // Another process recorded it first; check against theirs.
            Err(crate::BackendError::Conflict) => Box::pin(self.verify_master_key(org)).await,
            other => Ok(other?),
        }
    }

    pub fn pool_stats(&self) -> PoolStats {
        self.inner.backend.pool_stats()
    }

    pub fn backend_kind(&self) -> &'static str {
        self.inner.backend.kind()
    }

    /// 16 bytes that are the same for the same `parts` and reveal nothing of them: the
    /// id of a record whose uniqueness comes from outside (a provider's message id), so
    /// that writing it twice conflicts.
    pub fn stable_id_bytes(&self, parts: &[&str]) -> [u8; 16] {
        let hash = self.inner.vault.blind_index(parts);
        let mut bytes = [0u8; 16];
        for (to, from) in bytes.iter_mut().zip(hash) {
            *to = from;
        }
        bytes
    }

    /// The backend, for the store's other modules.
    pub(crate) fn backend(&self) -> &dyn Backend {
        self.inner.backend.as_ref()
    }

    pub fn now(&self) -> Timestamp {
        self.inner.clock.now()
    }

    /// The current version of a resource, deleted or not; `None` if it never existed.
    pub async fn read(
        &self,
        org: &OrgId,
        resource_type: &str,
        id: &ResourceId,
    ) -> Result<Option<Stored>, StoreError> {
        let row = self
            .inner
            .backend
            .fetch(org.as_str(), resource_type, id.as_str())
            .await?;
        match row {
            Some(row) => Ok(Some(self.open(org, row, &mut CallKeys::new()).await?)),
            None => Ok(None),
        }
    }

    /// Whether a resource exists and is not deleted.
    pub async fn exists(
        &self,
        org: &OrgId,
        resource_type: &str,
        id: &ResourceId,
    ) -> Result<bool, StoreError> {
        let head = self
            .inner
            .backend
            .head(org.as_str(), resource_type, id.as_str())
            .await?;
        Ok(head.is_some_and(|h| !h.deleted))
    }

    /// Writes to the audit log that `actor` did `action` to `subject` (`Patient/123`),
    /// now. Appends racing on PostgreSQL take turns: the one that lost its place goes
    /// again after the other's entry.
    pub async fn audit(
        &self,
        org: &OrgId,
        actor: &str,
        action: &str,
        subject: &str,
    ) -> Result<AuditLink, StoreError> {
        let entry = AuditEntry {
            at_us: micros(self.now()),
            actor: actor.to_owned(),
            action: action.to_owned(),
            subject: subject.to_owned(),
        };
        let mut tries = 0;
        loop {
            match self
                .inner
                .backend
                .append_audit(org.as_str(), entry.clone())
                .await
            {
                Err(crate::BackendError::Conflict) if tries < AUDIT_TRIES => tries += 1,
                done => return Ok(done?),
            }
        }
    }

    /// Up to `limit` audit log entries after `after_seq`, in order.
    pub async fn audit_page(
        &self,
        org: &OrgId,
        after_seq: i64,
        limit: i64,
    ) -> Result<Vec<AuditLink>, StoreError> {
        Ok(self
            .inner
            .backend
            .audit_page(org.as_str(), after_seq, limit)
            .await?)
    }

    /// The raw row of a resource, ciphertext and all, as a backup would hold it.
    pub async fn raw_row(
        &self,
        org: &OrgId,
        resource_type: &str,
        id: &ResourceId,
    ) -> Result<Option<Row>, StoreError> {
        Ok(self
            .inner
            .backend
            .fetch(org.as_str(), resource_type, id.as_str())
            .await?)
    }

    /// Writes a raw row as it is, as a new resource without search terms: what a write
    /// prepared before an erasure and sent after it would write.
    pub async fn insert_raw(&self, org: &OrgId, row: Row) -> Result<(), StoreError> {
        let insert = WriteOp::Insert {
            row,
            terms: Vec::new(),
        };
        Ok(self.inner.backend.apply(org.as_str(), &[insert]).await?)
    }

    /// Decrypts a raw row with the keys the database holds now.
    pub async fn open_raw(&self, org: &OrgId, row: Row) -> Result<Stored, StoreError> {
        self.open(org, row, &mut CallKeys::new()).await
    }

    pub async fn search(&self, org: &OrgId, search: &Search) -> Result<Page, StoreError> {
        let hashed = self.hash_search(org, search);
        let (rows, total) = self.inner.backend.search(org.as_str(), &hashed).await?;
        let mut keys = CallKeys::new();
        self.fetch_keys(
            org,
            rows.iter().filter_map(|row| row.key_id.as_deref()),
            &mut keys,
        )
        .await?;
        let mut resources = Vec::with_capacity(rows.len());
        for row in rows {
            resources.push(self.open(org, row, &mut keys).await?);
        }
        Ok(Page { resources, total })
    }

    /// The ids a search finds on its page, in its order, without reading the
    /// resources: no row is fetched whole or opened, and nothing is counted.
    pub async fn search_ids(
        &self,
        org: &OrgId,
        search: &Search,
    ) -> Result<Vec<ResourceId>, StoreError> {
        let hashed = self.hash_search(org, search);
        let ids = self.inner.backend.search_ids(org.as_str(), &hashed).await?;
        ids.iter()
            .map(|id| ResourceId::parse(id).map_err(|_| StoreError::Decrypt))
            .collect()
    }

    /// The oldest domain events not yet handled, at most `limit`. An event stays here
    /// until [`Store::mark_handled`], so a crash between reading and acting loses nothing.
    pub async fn unhandled_events(
        &self,
        org: &OrgId,
        limit: u32,
    ) -> Result<Vec<Event>, StoreError> {
        let rows = self
            .inner
            .backend
            .unhandled_events(org.as_str(), i64::from(limit))
            .await?;
        rows.into_iter()
            .map(|row| {
                Ok(Event {
                    seq: row.seq,
                    id: ResourceId::parse(&row.resource_id).map_err(|_| StoreError::Decrypt)?,
                    name: row.name,
                    resource_type: row.resource_type,
                    version: u32::try_from(row.version).unwrap_or(u32::MAX),
                    at: from_micros(row.created_us),
                })
            })
            .collect()
    }

    pub async fn mark_handled(&self, org: &OrgId, events: &[Event]) -> Result<(), StoreError> {
        let seqs: Vec<i64> = events.iter().map(|e| e.seq).collect();
        let now = micros(self.inner.clock.now());
        Ok(self
            .inner
            .backend
            .mark_events_handled(org.as_str(), &seqs, now)
            .await?)
    }

    pub async fn enrollments(
        &self,
        org: &OrgId,
        query: &EnrollmentQuery,
    ) -> Result<Vec<EnrollmentRow>, StoreError> {
        Ok(self.inner.backend.enrollments(org.as_str(), query).await?)
    }

    pub async fn outbox(
        &self,
        org: &OrgId,
        query: &OutboxQuery,
    ) -> Result<Vec<OutboxRow>, StoreError> {
        Ok(self.inner.backend.outbox(org.as_str(), query).await?)
    }

    /// Holds up to `limit` enrollments whose wake time has come, for `lease`: another
    /// timer round sees them again only when this one moved them or went silent past
    /// the lease.
    pub async fn claim_due_enrollments(
        &self,
        org: &OrgId,
        lease: SignedDuration,
        limit: u32,
    ) -> Result<Vec<EnrollmentRow>, StoreError> {
        let (now_us, until_us) = self.lease_from_now(lease);
        Ok(self
            .inner
            .backend
            .claim_due_enrollments(org.as_str(), now_us, until_us, i64::from(limit))
            .await?)
    }

    /// Claims up to `limit` messages that are due now, for `lease`: another sender sees
    /// them again only if this one goes silent past the lease.
    pub async fn claim_outbox(
        &self,
        org: &OrgId,
        lease: SignedDuration,
        limit: u32,
    ) -> Result<Vec<OutboxRow>, StoreError> {
        let (now_us, until_us) = self.lease_from_now(lease);
        Ok(self
            .inner
            .backend
            .claim_outbox(org.as_str(), now_us, until_us, i64::from(limit))
            .await?)
    }

    /// Now, and the end of a lease taken now, in microseconds.
    pub fn lease_from_now(&self, lease: SignedDuration) -> (i64, i64) {
        let now = self.inner.clock.now();
        (micros(now), micros(now.checked_add(lease).unwrap_or(now)))
    }

    /// Moves messages whose sender went silent: see [`Backend::sweep_outbox`]. A lapsed
    /// claim waits `grace` from now for the provider's callback.
    pub async fn sweep_outbox(
        &self,
        org: &OrgId,
        grace: SignedDuration,
    ) -> Result<u64, StoreError> {
        let now = self.inner.clock.now();
        let wait_until = now.checked_add(grace).unwrap_or(Timestamp::MAX);
        Ok(self
            .inner
            .backend
            .sweep_outbox(org.as_str(), micros(now), micros(wait_until))
            .await?)
    }

    /// The automated messages to a patient on a channel that a frequency cap counts
    /// against the message in `query`.
    pub async fn sent_counts(
        &self,
        org: &OrgId,
        query: &SentQuery,
    ) -> Result<SentCounts, StoreError> {
        Ok(self.inner.backend.sent_counts(org.as_str(), query).await?)
    }

    /// Takes up to `take.wanted` messages' worth from a sender's rate bucket now;
    /// returns how many may go. Every sender process shares the bucket.
    pub async fn take_send_rate(&self, org: &OrgId, take: &RateTake) -> Result<i64, StoreError> {
        let now = micros(self.inner.clock.now());
        Ok(self
            .inner
            .backend
            .take_send_rate(org.as_str(), take, now)
            .await?)
    }

    /// The patients whose conversation changes from now on, in this process or (on
    /// PostgreSQL) any other on the same database.
    pub fn watch_conversations(&self) -> broadcast::Receiver<String> {
        let receiver = self.inner.changes.subscribe();
        self.inner.watching.get_or_init(|| {
            self.inner
                .backend
                .watch_conversations(self.inner.changes.clone())
        });
        receiver
    }

    /// Applies every change or none.
    pub async fn commit(
        &self,
        org: &OrgId,
        changes: &[Change],
    ) -> Result<Vec<Committed>, StoreError> {
        let mut plan = Plan {
            store: self,
            org,
            now: self.inner.clock.now(),
            ops: Vec::new(),
            committed: Vec::new(),
            keys: CallKeys::new(),
            batch_patient_keys: HashMap::new(),
            known_heads: self.prefetch_heads(org, changes).await?,
        };
        for change in changes {
            plan.add(change).await?;
        }
        let Plan { ops, committed, .. } = plan;
        self.inner.backend.apply(org.as_str(), &ops).await?;
        if self.inner.watching.get() != Some(&true) {
            for op in &ops {
                if let WriteOp::SaveConversation { row, .. } = op {
                    // Nobody may be watching: that is no error.
                    let _ = self.inner.changes.send(row.patient_id.clone());
                }
            }
        }
        let mut erased = false;
        for op in &ops {
            if let WriteOp::ErasePatient { key_id, .. } = op {
                self.inner.unwrapped.forget(key_id);
                erased = true;
            }
        }
        if erased {
            // The erasure is committed either way; a failed scrub is worth a warning.
            if let Err(error) = self.inner.backend.scrub().await {
                tracing::warn!(error = %error, "could not scrub the database after an erasure");
            }
        }
        Ok(committed)
    }

    /// The heads a batch of several changes will look at, read a query per resource
    /// type rather than one a row. A single change reads its own as it goes.
    async fn prefetch_heads(
        &self,
        org: &OrgId,
        changes: &[Change],
    ) -> Result<KnownHeads, StoreError> {
        let mut wanted: HashMap<&'static str, Vec<String>> = HashMap::new();
        if changes.len() > 1 {
            for change in changes {
                let (resource_type, id, owner) = match change {
                    Change::Put { version, .. } => (
                        version.resource_type,
                        &version.id,
                        match &version.protection {
                            Protection::OwnedBy(patient) => Some(patient),
                            _ => None,
                        },
                    ),
                    Change::Delete {
                        resource_type, id, ..
                    } => (*resource_type, id, None),
                    _ => continue,
                };
                wanted
                    .entry(resource_type)
                    .or_default()
                    .push(id.as_str().to_owned());
                if let Some(patient) = owner {
                    wanted
                        .entry(PATIENT)
                        .or_default()
                        .push(patient.as_str().to_owned());
                }
            }
        }
        let mut known = KnownHeads::new();
        for (resource_type, mut ids) in wanted {
            ids.sort_unstable();
            ids.dedup();
            for chunk in ids.chunks(HEADS_PER_QUERY) {
                let found = self
                    .inner
                    .backend
                    .heads(org.as_str(), resource_type, chunk)
                    .await?;
                let mut found: HashMap<String, Head> = found.into_iter().collect();
                for id in chunk {
                    known.insert((resource_type.to_owned(), id.clone()), found.remove(id));
                }
            }
        }
        Ok(known)
    }

    fn hash_search(&self, org: &OrgId, search: &Search) -> HashedSearch {
        HashedSearch {
            resource_type: search.resource_type,
            terms: search
                .terms
                .iter()
                .map(|filter| HashedFilter {
                    any_of: filter
                        .any_of
                        .iter()
                        .map(|term| {
                            let hash =
                                self.term_hash(org, search.resource_type, term.param, &term.value);
                            (term.param, hash)
                        })
                        .collect(),
                    or_sent: filter.or_sent.clone(),
                })
                .collect(),
            ids: search.ids.iter().map(|id| id.as_str().to_owned()).collect(),
            start_from_us: search.start_from.map(micros),
            start_before_us: search.start_before.map(micros),
            sort: search.sort,
            limit: i64::from(search.count),
            offset: i64::from(search.offset),
        }
    }

    /// The blind index of a word a patient wrote.
    fn word_hash(&self, org: &OrgId, word: &str) -> Vec<u8> {
        self.inner
            .vault
            .blind_index(&[org.as_str(), "message-word", word])
    }

    /// The patients who wrote every one of `words` (as [`careloop_domain::words`]
    /// reads them), at most `limit`.
    pub async fn writers_of(
        &self,
        org: &OrgId,
        words: &[String],
        limit: i64,
    ) -> Result<Vec<ResourceId>, StoreError> {
        if words.is_empty() {
            return Ok(Vec::new());
        }
        let hashes: Vec<Vec<u8>> = words.iter().map(|w| self.word_hash(org, w)).collect();
        let ids = self
            .inner
            .backend
            .writers(org.as_str(), &hashes, limit)
            .await?;
        ids.iter()
            .map(|id| ResourceId::parse(id).map_err(|_| StoreError::Decrypt))
            .collect()
    }

    fn term_hash(&self, org: &OrgId, resource_type: &str, param: &str, value: &str) -> Vec<u8> {
        self.inner
            .vault
            .blind_index(&[org.as_str(), resource_type, param, value])
    }

    /// Puts in `keys` every key of `key_ids`, unwrapping those not cached after one
    /// query for all of them: a page of rows is usually sealed under as many patients'
    /// keys as it has rows, and a reminder is read long after its key left the cache.
    /// A key that is gone is left out; opening its row then says so.
    async fn fetch_keys<'k>(
        &self,
        org: &OrgId,
        key_ids: impl Iterator<Item = &'k str>,
        keys: &mut CallKeys,
    ) -> Result<(), StoreError> {
        let mut missing: Vec<String> = Vec::new();
        let mut seen = HashSet::new();
        for key_id in key_ids {
            if keys.contains_key(key_id) || !seen.insert(key_id) {
                continue;
            }
            match self.inner.unwrapped.get(key_id) {
                Some(key) => {
                    keys.insert(key_id.to_owned(), key);
                }
                None => missing.push(key_id.to_owned()),
            }
        }
        if missing.is_empty() {
            return Ok(());
        }
        for (key_id, wrapped) in self
            .inner
            .backend
            .wrapped_keys(org.as_str(), &missing)
            .await?
        {
            let key = Arc::new(
                self.inner
                    .vault
                    .unwrap_data_key(&key_id, &wrapped)
                    .map_err(|_| StoreError::Decrypt)?,
            );
            self.inner.unwrapped.insert(&key_id, key.clone());
            keys.insert(key_id, key);
        }
        Ok(())
    }

    /// The keys of `key_ids` for one call, through [`Self::fetch_keys`].
    pub(crate) async fn call_keys<'k>(
        &self,
        org: &OrgId,
        key_ids: impl Iterator<Item = &'k str>,
    ) -> Result<CallKeys, StoreError> {
        let mut keys = CallKeys::new();
        self.fetch_keys(org, key_ids, &mut keys).await?;
        Ok(keys)
    }

    /// One key, through [`Self::fetch_keys`]: [`StoreError::KeyDestroyed`] when it is
    /// gone (the patient was erased).
    async fn data_key(
        &self,
        org: &OrgId,
        key_id: &str,
        keys: &mut CallKeys,
    ) -> Result<Arc<DataKey>, StoreError> {
        self.fetch_keys(org, std::iter::once(key_id), keys).await?;
        keys.get(key_id).cloned().ok_or(StoreError::KeyDestroyed)
    }

    async fn open(&self, org: &OrgId, row: Row, keys: &mut CallKeys) -> Result<Stored, StoreError> {
        let body = match (&row.key_id, row.deleted) {
            (_, true) => Vec::new(),
            (None, false) => row.body,
            (Some(key_id), false) => {
                let key = self.data_key(org, key_id, keys).await?;
                key.open(
                    &row_aad(org, &row.resource_type, &row.id, row.version),
                    &row.body,
                )
                .map_err(|_| StoreError::Decrypt)?
            }
        };
        Ok(Stored {
            id: ResourceId::parse(&row.id).map_err(|_| StoreError::Decrypt)?,
            resource_type: row.resource_type,
            version: u32::try_from(row.version).unwrap_or(u32::MAX),
            last_updated: from_micros(row.last_updated_us),
            deleted: row.deleted,
            body,
        })
    }
}

/// The associated data a body is sealed with: its address and version, so that neither
/// another row's ciphertext nor an older version of this one opens in its place.
fn row_aad(org: &OrgId, resource_type: &str, id: &str, version: i64) -> Vec<u8> {
    format!("{}/{resource_type}/{id}/{version}", org.as_str()).into_bytes()
}

pub fn micros(at: Timestamp) -> i64 {
    at.as_microsecond()
}

pub fn from_micros(us: i64) -> Timestamp {
    Timestamp::from_microsecond(us).unwrap_or(Timestamp::UNIX_EPOCH)
}

/// The writes of one batch being planned.
struct Plan<'a> {
    store: &'a Store,
    org: &'a OrgId,
    now: Timestamp,
    ops: Vec<WriteOp>,
    committed: Vec<Committed>,
    keys: CallKeys,
    /// Patients written earlier in this batch, with their keys: the backend may not have
    /// either yet.
    batch_patient_keys: HashMap<ResourceId, String>,
    known_heads: KnownHeads,
}

impl Plan<'_> {
    async fn add(&mut self, change: &Change) -> Result<(), StoreError> {
        match change {
            Change::Put { version, expect } => self.put(version, *expect).await,
            Change::Delete {
                resource_type,
                id,
                expect,
                events,
            } => self.delete(resource_type, id, *expect, events).await,
            Change::ErasePatient { id, referenced_by } => self.erase(id, referenced_by).await,
            Change::Enroll(row) => {
                self.ops.push(WriteOp::InsertEnrollment(row.clone()));
                Ok(())
            }
            Change::UpdateEnrollment { row, prev_version } => {
                self.ops.push(WriteOp::UpdateEnrollment {
                    row: row.clone(),
                    prev_version: *prev_version,
                });
                Ok(())
            }
            Change::Enqueue(row) => {
                self.ops.push(WriteOp::InsertOutbox(row.clone()));
                Ok(())
            }
            Change::UpdateOutbox { row, prev_version } => {
                self.ops.push(WriteOp::UpdateOutbox {
                    row: row.clone(),
                    prev_version: *prev_version,
                });
                Ok(())
            }
            Change::MarkHandled(seqs) => {
                self.ops.push(WriteOp::MarkEventsHandled {
                    seqs: seqs.clone(),
                    handled_us: micros(self.now),
                });
                Ok(())
            }
            Change::RequireNone(search) => {
                let hashed = self.store.hash_search(self.org, search);
                self.ops.push(WriteOp::RequireNone(hashed));
                Ok(())
            }
            Change::SaveConversation(record) => {
                let key_id = self.owner_key_id(&record.patient).await?;
                let key = self
                    .store
                    .data_key(self.org, &key_id, &mut self.keys)
                    .await?;
                let row = seal_conversation(self.org, record, &key_id, &key, self.now);
                self.ops.push(WriteOp::SaveConversation {
                    row,
                    prev_version: (record.version > 0).then_some(record.version),
                });
                Ok(())
            }
            Change::AddConversationEvent(event) => {
                let row = if event.note.is_some() {
                    let key_id = self.owner_key_id(&event.patient).await?;
                    let key = self
                        .store
                        .data_key(self.org, &key_id, &mut self.keys)
                        .await?;
                    seal_event(self.org, event, Some((&key_id, &key)))
                } else {
                    seal_event(self.org, event, None)
                };
                self.ops.push(WriteOp::InsertConversationEvent(row));
                Ok(())
            }
            Change::IndexWords { patient, words } => {
                let hashes = words
                    .iter()
                    .map(|word| self.store.word_hash(self.org, word))
                    .collect();
                self.ops.push(WriteOp::InsertWords {
                    patient_id: patient.as_str().to_owned(),
                    hashes,
                });
                Ok(())
            }
            Change::AddPlaybookEntry(row) => {
                self.ops.push(WriteOp::AddPlaybookEntry(row.clone()));
                Ok(())
            }
            Change::ChangePlaybookEntry(change) => {
                self.ops.push(WriteOp::ChangePlaybookEntry(change.clone()));
                Ok(())
            }
            Change::RemovePlaybookEntry { book, id } => {
                self.ops.push(WriteOp::RemovePlaybookEntry {
                    book: book.name(),
                    id: id.clone(),
                });
                Ok(())
            }
        }
    }

    /// The key a patient's own data is sealed under: one written earlier in the batch,
    /// else the stored patient's.
    async fn owner_key_id(&self, patient: &ResourceId) -> Result<String, StoreError> {
        if let Some(key_id) = self.batch_patient_keys.get(patient) {
            return Ok(key_id.clone());
        }
        match self.read_head(PATIENT, patient).await? {
            Some(Head {
                deleted: false,
                key_id: Some(key_id),
                ..
            }) => Ok(key_id),
            _ => Err(StoreError::MissingOwner),
        }
    }

    async fn head(&self, resource_type: &str, id: &ResourceId) -> Result<Option<Head>, StoreError> {
        if self
            .committed
            .iter()
            .any(|c| c.resource_type == resource_type && &c.id == id)
        {
            // One batch changes a resource at most once (FHIR transactions say so too).
            return Err(StoreError::Conflict);
        }
        self.read_head(resource_type, id).await
    }

    /// A head read ahead, else read now.
    async fn read_head(
        &self,
        resource_type: &str,
        id: &ResourceId,
    ) -> Result<Option<Head>, StoreError> {
        let key = (resource_type.to_owned(), id.as_str().to_owned());
        if let Some(known) = self.known_heads.get(&key) {
            return Ok(known.clone());
        }
        Ok(self
            .store
            .inner
            .backend
            .head(self.org.as_str(), resource_type, id.as_str())
            .await?)
    }

    async fn put(&mut self, version: &NewVersion, expect: Expect) -> Result<(), StoreError> {
        let head = self.head(version.resource_type, &version.id).await?;
        check_expectation(head.as_ref(), expect)?;
        let next_version = head.as_ref().map_or(1, |h| h.version + 1);
        let key_id = self.key_for(version, head.as_ref()).await?;
        let body = match &key_id {
            Some(key_id) => {
                let key = self
                    .store
                    .data_key(self.org, key_id, &mut self.keys)
                    .await?;
                key.seal(
                    &row_aad(
                        self.org,
                        version.resource_type,
                        version.id.as_str(),
                        next_version,
                    ),
                    &version.body,
                )
            }
            None => version.body.clone(),
        };
        let mut terms: Vec<HashedTerm> = version
            .terms
            .iter()
            .map(|term| HashedTerm {
                param: term.param,
                hash: self.store.term_hash(
                    self.org,
                    version.resource_type,
                    term.param,
                    &term.value,
                ),
            })
            .collect();
        terms.sort();
        terms.dedup();
        let row = Row {
            resource_type: version.resource_type.to_owned(),
            id: version.id.as_str().to_owned(),
            version: next_version,
            created_us: head.as_ref().map_or(micros(self.now), |h| h.created_us),
            last_updated_us: micros(self.now),
            deleted: false,
            key_id,
            body,
            start_us: version.start.map(micros),
            end_us: version.end.map(micros),
        };
        self.push(version.resource_type, &version.id, row, head, terms);
        self.append_events(
            version.resource_type,
            &version.id,
            next_version,
            &version.events,
        );
        Ok(())
    }

    fn append_events(
        &mut self,
        resource_type: &str,
        id: &ResourceId,
        version: i64,
        events: &[&'static str],
    ) {
        for name in events {
            self.ops.push(WriteOp::AppendEvent {
                name,
                resource_type: resource_type.to_owned(),
                resource_id: id.as_str().to_owned(),
                version,
                created_us: micros(self.now),
            });
        }
    }

    async fn delete(
        &mut self,
        resource_type: &'static str,
        id: &ResourceId,
        expect: Expect,
        events: &[&'static str],
    ) -> Result<(), StoreError> {
        let head = self.head(resource_type, id).await?;
        let current = match &head {
            None => return Err(StoreError::NotFound),
            // Deleting what is already deleted succeeds and changes nothing, as FHIR allows.
            Some(gone) if gone.deleted && expect == Expect::Any => {
                self.committed.push(Committed {
                    resource_type,
                    id: id.clone(),
                    version: u32::try_from(gone.version).unwrap_or(u32::MAX),
                    last_updated: from_micros(gone.last_updated_us),
                    existed: false,
                });
                return Ok(());
            }
            Some(gone) if gone.deleted => return Err(StoreError::NotFound),
            Some(current) => current,
        };
        check_expectation(Some(current), expect)?;
        let row = Row {
            resource_type: resource_type.to_owned(),
            id: id.as_str().to_owned(),
            version: current.version + 1,
            created_us: current.created_us,
            last_updated_us: micros(self.now),
            deleted: true,
            // Kept so that erasing the patient later still finds this row.
            key_id: current.key_id.clone(),
            body: Vec::new(),
            start_us: None,
            end_us: None,
        };
        let version = row.version;
        self.push(resource_type, id, row, head, Vec::new());
        self.append_events(resource_type, id, version, events);
        Ok(())
    }

    async fn erase(
        &mut self,
        id: &ResourceId,
        referenced_by: &[(&'static str, &'static str)],
    ) -> Result<(), StoreError> {
        let head = self.head(PATIENT, id).await?.ok_or(StoreError::NotFound)?;
        let key_id = head.key_id.ok_or(StoreError::KeyDestroyed)?;
        // An appointment sealed under another patient's key (a parent's, with a child
        // among its participants) names this patient too: it goes as well.
        let references = referenced_by
            .iter()
            .map(|(resource_type, param)| Reference {
                resource_type,
                param,
                hash: self
                    .store
                    .term_hash(self.org, resource_type, param, id.as_str()),
            })
            .collect();
        self.ops.push(WriteOp::ErasePatient {
            patient_id: id.as_str().to_owned(),
            key_id,
            references,
        });
        self.committed.push(Committed {
            resource_type: PATIENT,
            id: id.clone(),
            version: u32::try_from(head.version).unwrap_or(u32::MAX),
            last_updated: self.now,
            existed: true,
        });
        Ok(())
    }

    fn push(
        &mut self,
        resource_type: &'static str,
        id: &ResourceId,
        row: Row,
        head: Option<Head>,
        terms: Vec<HashedTerm>,
    ) {
        self.committed.push(Committed {
            resource_type,
            id: id.clone(),
            version: u32::try_from(row.version).unwrap_or(u32::MAX),
            last_updated: self.now,
            existed: head.as_ref().is_some_and(|h| !h.deleted),
        });
        self.ops.push(match head {
            Some(head) => WriteOp::Update {
                row,
                prev_version: head.version,
                terms,
            },
            None => WriteOp::Insert { row, terms },
        });
    }

    /// The data key a version is sealed under, creating a patient's key on first write.
    async fn key_for(
        &mut self,
        version: &NewVersion,
        head: Option<&Head>,
    ) -> Result<Option<String>, StoreError> {
        match &version.protection {
            Protection::Clear => Ok(None),
            Protection::Kept => match head {
                Some(head) if !head.deleted => Ok(head.key_id.clone()),
                _ => Err(StoreError::MissingOwner),
            },
            Protection::PatientRecord => {
                // A patient keeps their key across updates, deletion and re-creation.
                let key_id = match head.and_then(|h| h.key_id.clone()) {
                    Some(key_id) => key_id,
                    None => {
                        let key_id = new_key_id();
                        let (key, wrapped) = self.store.inner.vault.new_data_key(&key_id);
                        self.keys.insert(key_id.clone(), Arc::new(key));
                        self.ops.push(WriteOp::InsertKey {
                            key_id: key_id.clone(),
                            wrapped,
                            created_us: micros(self.now),
                        });
                        key_id
                    }
                };
                self.batch_patient_keys
                    .insert(version.id.clone(), key_id.clone());
                Ok(Some(key_id))
            }
            Protection::OwnedBy(patient) => self.owner_key_id(patient).await.map(Some),
        }
    }
}

fn check_expectation(head: Option<&Head>, expect: Expect) -> Result<(), StoreError> {
    let live = head.filter(|h| !h.deleted);
    match (expect, live) {
        (Expect::Absent, Some(_)) => Err(StoreError::Conflict),
        (Expect::Version(_), None) => Err(StoreError::NotFound),
        (Expect::Version(expected), Some(head)) if i64::from(expected) != head.version => {
            Err(StoreError::VersionMismatch {
                expected,
                current: u32::try_from(head.version).unwrap_or(u32::MAX),
            })
        }
        _ => Ok(()),
    }
}
