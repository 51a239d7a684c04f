//! The FHIR interactions (read, create, update, delete, search), each one atomic, on top
//! of the store. HTTP handlers parse headers and call these; nothing here knows HTTP.

use std::collections::{HashMap, HashSet};

use careloop_domain::{Appointment, AppointmentEvent, OrgId, ResourceId, appointment_events};
use careloop_store::crypto::new_resource_id;
use careloop_store::work::OutboxQuery;
use careloop_store::{Change, Committed, Expect, NewVersion, Search, Store, StoreError, Stored};
use jiff::Timestamp;
use serde_json::Value;

use crate::bundle::{SearchPage, searchset};
use crate::outcome::{FhirError, IssueCode};
use crate::resource::{Context, ResourceType, index};
use crate::search;
use crate::{appointment, communication, meta};

/// The rows that name a patient and go when the patient is erased, even when sealed
/// under someone else's key (an appointment of a parent and child).
pub const ERASED_WITH_PATIENT: &[(&str, &str)] = &[
    ("Appointment", crate::appointment::PATIENT),
    ("Communication", crate::appointment::PATIENT),
    ("Task", crate::appointment::PATIENT),
    ("Consent", crate::appointment::PATIENT),
];

/// What a conditional create's condition finds.
pub(crate) enum Existing {
    Found(Versioned),
    /// Nothing: the create goes ahead, guarded by this search.
    None(Search),
}

/// A stored resource as a client reads it.
struct Shown {
    resource: Value,
    version: u32,
    last_updated: Timestamp,
}

/// A resource as the client gets it back, with its version.
pub struct Versioned {
    pub resource: Value,
    pub resource_type: ResourceType,
    pub id: ResourceId,
    pub version: u32,
    pub last_updated: Timestamp,
    /// The request created it (201) rather than finding or updating it (200).
    pub created: bool,
}

/// The resource is health data: only what identifies the version is printed.
impl std::fmt::Debug for Versioned {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Versioned({})", self.location())
    }
}

impl Versioned {
    /// `Patient/1/_history/2`, for the `Location` header.
    pub fn location(&self) -> String {
        format!(
            "{}/{}/_history/{}",
            self.resource_type.as_str(),
            self.id,
            self.version
        )
    }
}

#[derive(Clone)]
pub struct FhirService {
    pub(crate) store: Store,
    pub(crate) context: Context,
    base: String,
}

impl FhirService {
    /// `base` is the FHIR base URL clients reach (`https://clinic.example/fhir`).
    pub fn new(store: Store, context: Context, base: String) -> Self {
        Self {
            store,
            context,
            base,
        }
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    pub async fn read(
        &self,
        org: &OrgId,
        resource_type: ResourceType,
        id: &str,
    ) -> Result<Versioned, FhirError> {
        let id = path_id(resource_type, id)?;
        let stored = self
            .store
            .read(org, resource_type.as_str(), &id)
            .await
            .map_err(|e| store_error(e, &format!("{}/{}", resource_type.as_str(), id)))?
            .ok_or_else(|| not_known(resource_type, &id))?;
        if stored.deleted {
            return Err(FhirError::gone(format!(
                "{}/{id} was deleted",
                resource_type.as_str()
            )));
        }
        let Some(Shown {
            resource,
            version,
            last_updated,
        }) = self.shown(org, resource_type, vec![stored]).await?.pop()
        else {
            return Err(FhirError::internal());
        };
        Ok(Versioned {
            resource,
            resource_type,
            id,
            version,
            last_updated,
            created: false,
        })
    }

    /// Stored resources as the client gets them, stamped with their meta. Messages show
    /// their delivery as their outbox rows record it (see [`communication`]), read for
    /// all of them in one query.
    async fn shown(
        &self,
        org: &OrgId,
        resource_type: ResourceType,
        stored: Vec<Stored>,
    ) -> Result<Vec<Shown>, FhirError> {
        let mut rows = HashMap::new();
        if resource_type == ResourceType::Communication && !stored.is_empty() {
            let ids = stored.iter().map(|s| s.id.as_str().to_owned()).collect();
            rows = self
                .store
                .outbox(org, &OutboxQuery::ByIds(ids))
                .await
                .map_err(|e| store_error(e, resource_type.as_str()))?
                .into_iter()
                .map(|row| (row.id.clone(), row))
                .collect();
        }
        stored
            .into_iter()
            .map(|stored| {
                let mut resource: Value =
                    serde_json::from_slice(&stored.body).map_err(|_| FhirError::internal())?;
                let (version, last_updated) = match rows.get(stored.id.as_str()) {
                    Some(row) => communication::show_delivery(
                        &mut resource,
                        row,
                        stored.version,
                        stored.last_updated,
                    ),
                    None => (stored.version, stored.last_updated),
                };
                meta::stamp(&mut resource, version, last_updated);
                Ok(Shown {
                    resource,
                    version,
                    last_updated,
                })
            })
            .collect()
    }

    /// `POST [type]`, with `If-None-Exist` when given.
    pub async fn create(
        &self,
        org: &OrgId,
        resource_type: ResourceType,
        body: Value,
        if_none_exist: Option<&str>,
    ) -> Result<Versioned, FhirError> {
        resource_type.ensure_writable()?;
        let id = new_resource_id();
        self.create_fulfilled(org, resource_type, body, if_none_exist, id, Vec::new())
            .await
    }

    /// Creates a resource with `id` together with `also`, all or nothing: careloop's
    /// writes that fulfil it (the message a CommunicationRequest asks for). With
    /// `If-None-Exist`, a match already there is the answer and nothing is written.
    pub async fn create_fulfilled(
        &self,
        org: &OrgId,
        resource_type: ResourceType,
        body: Value,
        if_none_exist: Option<&str>,
        id: ResourceId,
        also: Vec<Change>,
    ) -> Result<Versioned, FhirError> {
        crate::resource::check_type(&body, resource_type)?;
        let guard = match if_none_exist {
            Some(query) => match self.find_existing(org, resource_type, query).await? {
                Existing::Found(existing) => return Ok(existing),
                Existing::None(condition) => Some(condition),
            },
            None => None,
        };
        let (version, expect) = self
            .prepare(
                org,
                resource_type,
                body,
                &id,
                &HashSet::new(),
                Expect::Absent,
            )
            .await?;
        match (
            self.commit_one(org, version, expect, guard, also).await,
            if_none_exist,
        ) {
            // Another request created a match since the look-up: that one is the answer.
            (Err(error), Some(query)) if error.status == 409 => {
                match self.find_existing(org, resource_type, query).await? {
                    Existing::Found(existing) => Ok(existing),
                    Existing::None(_) => Err(error),
                }
            }
            (other, _) => other,
        }
    }

    /// What an `If-None-Exist` query finds: the one match, or the search to guard the
    /// create with. Several matches are an error (412).
    pub(crate) async fn find_existing(
        &self,
        org: &OrgId,
        resource_type: ResourceType,
        query: &str,
    ) -> Result<Existing, FhirError> {
        let params: Vec<(String, String)> =
            form_urlencoded::parse(query.trim_start_matches('?').as_bytes())
                .into_owned()
                .collect();
        if params.is_empty() {
            return Err(FhirError::bad_request(
                IssueCode::Invalid,
                "If-None-Exist must hold search parameters, as identifier=system|value",
            ));
        }
        let mut request = search::parse(resource_type, &params, &self.context, true)?;
        request.search.count = 2;
        request.search.offset = 0;
        let page = self
            .store
            .search(org, &request.search)
            .await
            .map_err(|e| store_error(e, resource_type.as_str()))?;
        match page.resources.as_slice() {
            [] => Ok(Existing::None(request.search)),
            [one] => self
                .read(org, resource_type, one.id.as_str())
                .await
                .map(Existing::Found),
            _ => Err(FhirError::precondition_failed(format!(
                "If-None-Exist matched {} resources; it must match at most one",
                page.total
            ))),
        }
    }

    /// `PUT [type]/[id]`: update, or create with the client's id.
    pub async fn update(
        &self,
        org: &OrgId,
        resource_type: ResourceType,
        id: &str,
        body: Value,
        if_match: Option<&str>,
    ) -> Result<Versioned, FhirError> {
        resource_type.ensure_writable()?;
        let id = path_id(resource_type, id)?;
        crate::resource::check_type(&body, resource_type)?;
        check_body_id(&body, &id)?;
        let (version, expect) = self
            .prepare(
                org,
                resource_type,
                body,
                &id,
                &HashSet::new(),
                expectation(if_match)?,
            )
            .await?;
        self.commit_one(org, version, expect, None, Vec::new())
            .await
    }

    /// `DELETE [type]/[id]`; with `erase`, a patient is removed for good with their key.
    pub async fn delete(
        &self,
        org: &OrgId,
        resource_type: ResourceType,
        id: &str,
        erase: bool,
        if_match: Option<&str>,
    ) -> Result<(), FhirError> {
        resource_type.ensure_writable()?;
        let id = path_id(resource_type, id)?;
        let expect = expectation(if_match)?;
        let change = match (erase, resource_type) {
            (true, ResourceType::Patient) => Change::ErasePatient {
                id: id.clone(),
                // An appointment that names the patient goes too, even when it is sealed
                // under another participant's key.
                referenced_by: ERASED_WITH_PATIENT,
            },
            (true, _) => {
                return Err(FhirError::bad_request(
                    IssueCode::NotSupported,
                    "_erase applies to Patient only",
                ));
            }
            (false, _) => Change::Delete {
                resource_type: resource_type.as_str(),
                id: id.clone(),
                expect,
                events: self.removal_events(org, resource_type, &id).await?,
            },
        };
        self.store
            .commit(org, &[change])
            .await
            .map(|_| ())
            .map_err(|e| write_error(e, &format!("{}/{}", resource_type.as_str(), id), expect))
    }

    /// The events of deleting a resource: a booked appointment removed is cancelled.
    pub(crate) async fn removal_events(
        &self,
        org: &OrgId,
        resource_type: ResourceType,
        id: &ResourceId,
    ) -> Result<Vec<&'static str>, FhirError> {
        if resource_type != ResourceType::Appointment {
            return Ok(Vec::new());
        }
        let subject = format!("Appointment/{id}");
        let current = self
            .store
            .read(org, resource_type.as_str(), id)
            .await
            .map_err(|e| store_error(e, &subject))?;
        let Some(stored) = current.filter(|stored| !stored.deleted) else {
            return Ok(Vec::new());
        };
        let body: Value =
            serde_json::from_slice(&stored.body).map_err(|_| FhirError::internal())?;
        let previous = appointment::from_fhir(&body)?.model;
        Ok(appointment_events::removal(&previous)
            .into_iter()
            .map(AppointmentEvent::name)
            .collect())
    }

    pub async fn search(
        &self,
        org: &OrgId,
        resource_type: ResourceType,
        params: &[(String, String)],
        strict: bool,
    ) -> Result<Value, FhirError> {
        let request = search::parse(resource_type, params, &self.context, strict)?;
        let (resources, page) = self.found(org, resource_type, &request.search).await?;
        Ok(searchset(SearchPage {
            base: &self.base,
            resource_type: resource_type.as_str(),
            resources,
            total: page.total,
            used: &request.used,
            ignored: &request.ignored,
            count: request.search.count,
            offset: request.search.offset,
        }))
    }

    /// The newest `count` resources a search finds, as clients read them, newest first:
    /// the latest messages of a long conversation.
    pub async fn newest(
        &self,
        org: &OrgId,
        resource_type: ResourceType,
        params: &[(String, String)],
        count: u32,
    ) -> Result<Vec<Value>, FhirError> {
        let mut request = search::parse(resource_type, params, &self.context, true)?;
        request.search.sort = careloop_store::Sort::Newest;
        request.search.count = count.min(search::MAX_COUNT);
        request.search.offset = 0;
        Ok(self.found(org, resource_type, &request.search).await?.0)
    }

    /// The ids of the newest `count` resources a search finds, newest first, without
    /// reading them: who matches an inbox search, before a page of them is read.
    pub async fn newest_ids(
        &self,
        org: &OrgId,
        resource_type: ResourceType,
        params: &[(String, String)],
        count: u32,
    ) -> Result<Vec<ResourceId>, FhirError> {
        let mut request = search::parse(resource_type, params, &self.context, true)?;
        request.search.sort = careloop_store::Sort::Newest;
        request.search.count = count.min(search::MAX_COUNT);
        request.search.offset = 0;
        self.store
            .search_ids(org, &request.search)
            .await
            .map_err(|e| store_error(e, resource_type.as_str()))
    }

    /// What a search finds, as clients read it, and the page's count of all.
    async fn found(
        &self,
        org: &OrgId,
        resource_type: ResourceType,
        search: &careloop_store::Search,
    ) -> Result<(Vec<Value>, careloop_store::Page), FhirError> {
        let mut page = self
            .store
            .search(org, search)
            .await
            .map_err(|e| store_error(e, resource_type.as_str()))?;
        let stored = std::mem::take(&mut page.resources);
        let resources = self
            .shown(org, resource_type, stored)
            .await?
            .into_iter()
            .map(|shown| shown.resource)
            .collect();
        Ok((resources, page))
    }

    /// The write of a new version of a resource careloop changes on a patient's behalf
    /// (an appointment confirmed by a text), validated and with its events, pinned to
    /// `version`: the commit fails with a conflict if it changed since.
    pub async fn update_change(
        &self,
        org: &OrgId,
        resource_type: ResourceType,
        id: &ResourceId,
        body: Value,
        version: u32,
    ) -> Result<Change, FhirError> {
        let (version, expect) = self
            .prepare(
                org,
                resource_type,
                body,
                id,
                &HashSet::new(),
                Expect::Version(version),
            )
            .await?;
        Ok(Change::Put { version, expect })
    }

    /// Validates a resource and makes the version to store. `pending` are patients created
    /// in the same transaction, which references may point at.
    ///
    /// Returns the expectation to write it with: an appointment's events are read against
    /// its current version, so the write must find that version still current.
    pub(crate) async fn prepare(
        &self,
        org: &OrgId,
        resource_type: ResourceType,
        mut body: Value,
        id: &ResourceId,
        pending: &HashSet<ResourceId>,
        expect: Expect,
    ) -> Result<(NewVersion, Expect), FhirError> {
        meta::prepare(&mut body, id);
        let indexed = index(resource_type, &body, &self.context)?;
        for patient in &indexed.patient_refs {
            if pending.contains(patient) {
                continue;
            }
            let exists = self
                .store
                .exists(org, "Patient", patient)
                .await
                .map_err(|e| store_error(e, &format!("{}/{}", resource_type.as_str(), id)))?;
            if !exists {
                return Err(FhirError::unprocessable(
                    IssueCode::NotFound,
                    format!(
                        "the participant Patient/{patient} does not exist; create the patient first"
                    ),
                )
                .at("Appointment.participant.actor"));
            }
        }
        let (events, expect) = match &indexed.appointment {
            Some(next) => self.appointment_events(org, next, expect).await?,
            None => (Vec::new(), expect),
        };
        let version = NewVersion {
            resource_type: resource_type.as_str(),
            id: id.clone(),
            body: serde_json::to_vec(&body).map_err(|_| FhirError::internal())?,
            terms: indexed.terms,
            start: indexed.start,
            end: indexed.end,
            protection: indexed.protection,
            events,
        };
        Ok((version, expect))
    }

    /// The events that writing `next` causes, judged against the current version, and the
    /// expectation that pins that version.
    async fn appointment_events(
        &self,
        org: &OrgId,
        next: &Appointment,
        expect: Expect,
    ) -> Result<(Vec<&'static str>, Expect), FhirError> {
        let subject = format!("Appointment/{}", next.id);
        let current = self
            .store
            .read(org, ResourceType::Appointment.as_str(), &next.id)
            .await
            .map_err(|e| store_error(e, &subject))?
            .filter(|stored| !stored.deleted);
        let previous = match &current {
            Some(stored) => {
                let body: Value =
                    serde_json::from_slice(&stored.body).map_err(|_| FhirError::internal())?;
                Some(appointment::from_fhir(&body)?.model)
            }
            None => None,
        };
        let events = appointment_events::changes(previous.as_ref(), next)
            .into_iter()
            .map(AppointmentEvent::name)
            .collect();
        let pinned = match (expect, &current) {
            (Expect::Any, Some(stored)) => Expect::Version(stored.version),
            (Expect::Any, None) => Expect::Absent,
            (other, _) => other,
        };
        Ok((events, pinned))
    }

    /// Writes one version, after checking `require_none` finds nothing when given.
    async fn commit_one(
        &self,
        org: &OrgId,
        version: NewVersion,
        expect: Expect,
        require_none: Option<Search>,
        also: Vec<Change>,
    ) -> Result<Versioned, FhirError> {
        let resource_type =
            ResourceType::parse(version.resource_type).ok_or_else(FhirError::internal)?;
        let id = version.id.clone();
        let body = version.body.clone();
        let mut changes: Vec<Change> = require_none.into_iter().map(Change::RequireNone).collect();
        changes.push(Change::Put { version, expect });
        changes.extend(also);
        let committed =
            self.store.commit(org, &changes).await.map_err(|e| {
                write_error(e, &format!("{}/{}", resource_type.as_str(), id), expect)
            })?;
        let first = committed
            .into_iter()
            .next()
            .ok_or_else(FhirError::internal)?;
        versioned(resource_type, &body, first)
    }
}

/// The client's view of a version just written.
pub(crate) fn versioned(
    resource_type: ResourceType,
    body: &[u8],
    committed: Committed,
) -> Result<Versioned, FhirError> {
    let mut resource: Value = serde_json::from_slice(body).map_err(|_| FhirError::internal())?;
    meta::stamp(&mut resource, committed.version, committed.last_updated);
    Ok(Versioned {
        resource,
        resource_type,
        id: committed.id,
        version: committed.version,
        last_updated: committed.last_updated,
        created: !committed.existed,
    })
}

/// What an `If-Match` header (`W/"3"`) asks of the current version.
pub(crate) fn expectation(if_match: Option<&str>) -> Result<Expect, FhirError> {
    match if_match {
        Some(raw) => meta::parse_etag(raw).map(Expect::Version).ok_or_else(|| {
            FhirError::bad_request(
                IssueCode::Invalid,
                format!("If-Match '{raw}' is not a version ETag such as W/\"3\""),
            )
        }),
        None => Ok(Expect::Any),
    }
}

/// A failed write: a guarded write that lost a race to another writer failed its
/// precondition (412), an unguarded one conflicted (409).
pub(crate) fn write_error(error: StoreError, subject: &str, expect: Expect) -> FhirError {
    match (error, expect) {
        (StoreError::Conflict, Expect::Version(version)) => {
            FhirError::precondition_failed(format!(
                "{subject} changed after version {version}; read it again and reapply your change"
            ))
        }
        (error, _) => store_error(error, subject),
    }
}

pub(crate) fn path_id(resource_type: ResourceType, raw: &str) -> Result<ResourceId, FhirError> {
    ResourceId::parse(raw).map_err(|e| {
        FhirError::bad_request(
            IssueCode::Value,
            format!("'{raw}' is not a valid {} id: {e}", resource_type.as_str()),
        )
    })
}

pub(crate) fn check_body_id(body: &Value, id: &ResourceId) -> Result<(), FhirError> {
    match body.get("id").and_then(Value::as_str) {
        Some(body_id) if body_id == id.as_str() => Ok(()),
        Some(body_id) => Err(FhirError::bad_request(
            IssueCode::Invalid,
            format!("the id in the body ({body_id}) must match the id in the URL ({id})"),
        )
        .at("id")),
        None => Err(FhirError::bad_request(
            IssueCode::Required,
            format!("an update needs the id in the body too: add \"id\": \"{id}\""),
        )
        .at("id")),
    }
}

fn not_known(resource_type: ResourceType, id: &ResourceId) -> FhirError {
    FhirError::not_found(format!("{}/{id} is not known", resource_type.as_str()))
}

/// Maps a storage failure to what the client is told; failures of the server are logged
/// here with their cause and reach the client only as a generic 500 or 503.
/// `subject` names what the request was about: `Patient/1`, or `Patient` for a search.
pub fn store_error(error: StoreError, subject: &str) -> FhirError {
    let resource_type = subject.split('/').next().unwrap_or(subject);
    match error {
        StoreError::Conflict => FhirError::conflict(format!(
            "{subject} already exists or was changed by another request at the same time; read it and try again"
        )),
        StoreError::VersionMismatch { expected, current } => {
            FhirError::precondition_failed(format!(
                "If-Match names version {expected} of {subject}, but the current version is {current}; read it again and reapply your change"
            ))
        }
        StoreError::NotFound => FhirError::not_found(format!("{subject} is not known")),
        StoreError::KeyDestroyed => {
            FhirError::gone(format!("{subject} belonged to a patient who was erased"))
        }
        StoreError::MissingOwner => FhirError::unprocessable(
            IssueCode::NotFound,
            "the patient this resource belongs to does not exist",
        ),
        error @ (StoreError::Decrypt | StoreError::WrongMasterKey) => {
            tracing::error!(error = %error, resource_type, "stored record does not decrypt");
            FhirError::internal()
        }
        StoreError::Backend(error) => {
            tracing::error!(error = %error, resource_type, "database failure");
            FhirError::unavailable()
        }
    }
}
