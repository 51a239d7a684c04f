//! Staff's to-dos (FHIR Tasks a journey or a patient's message made: "asks to
//! reschedule"), as the inbox and the API list them and staff close them.

use careloop_domain::ResourceId;
use careloop_fhir::resource::ResourceType;
use careloop_fhir::task;
use careloop_store::model::Expect;
use careloop_store::{Change, StoreError};

use crate::compose::put;
use serde_json::Value;

use crate::{Engine, EngineError};

/// The most tasks one listing returns.
pub const MOST_TASKS: u32 = 200;

/// The states staff move a task to (FHIR `Task.status`).
pub const STATUSES: [&str; 5] = [
    "requested",
    "accepted",
    "in-progress",
    "completed",
    "cancelled",
];

/// A task as staff read it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StaffTask {
    pub id: String,
    pub patient: Option<String>,
    pub appointment: Option<String>,
    pub status: String,
    pub description: String,
    pub authored: Option<String>,
    pub version: u32,
}

#[derive(Debug, thiserror::Error)]
pub enum TaskError {
    #[error("there is no such task")]
    NotFound,
    #[error("a task's status is one of requested, accepted, in-progress, completed or cancelled")]
    BadStatus,
    #[error("the task changed meanwhile; read it again")]
    Changed,
    #[error(transparent)]
    Engine(#[from] EngineError),
}

fn bare(reference: &Value, prefix: &str) -> Option<String> {
    reference["reference"]
        .as_str()?
        .strip_prefix(prefix)
        .map(str::to_owned)
}

fn task_from(resource: &Value, version: u32) -> Option<StaffTask> {
    Some(StaffTask {
        id: resource["id"].as_str()?.to_owned(),
        patient: bare(&resource["for"], "Patient/"),
        appointment: bare(&resource["focus"], "Appointment/"),
        status: resource["status"].as_str()?.to_owned(),
        description: resource["description"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
        authored: resource["authoredOn"].as_str().map(str::to_owned),
        version,
    })
}

impl Engine {
    /// Tasks, newest first: of one patient and in these states when given.
    pub async fn tasks(
        &self,
        patient: Option<&ResourceId>,
        statuses: &[&str],
    ) -> Result<Vec<StaffTask>, EngineError> {
        let mut params = Vec::new();
        if let Some(patient) = patient {
            params.push(("patient".to_owned(), patient.as_str().to_owned()));
        }
        if !statuses.is_empty() {
            params.push(("status".to_owned(), statuses.join(",")));
        }
        let found = self
            .fhir()
            .newest(&self.org, ResourceType::Task, &params, MOST_TASKS)
            .await
            .map_err(|error| EngineError::Fhir(error.status))?;
        Ok(found
            .iter()
            .filter_map(|resource| {
                let version = resource["meta"]["versionId"].as_str()?.parse().ok()?;
                task_from(resource, version)
            })
            .collect())
    }

    /// Moves a task to `status`, pinned to the version read: a change meanwhile is
    /// refused, not overwritten.
    pub async fn set_task_status(&self, id: &str, status: &str) -> Result<StaffTask, TaskError> {
        if !STATUSES.contains(&status) {
            return Err(TaskError::BadStatus);
        }
        let fhir = self.fhir();
        let read = match fhir.read(&self.org, ResourceType::Task, id).await {
            Ok(read) => read,
            Err(error) if matches!(error.status, 400 | 404 | 410) => {
                return Err(TaskError::NotFound);
            }
            Err(error) => return Err(EngineError::Fhir(error.status).into()),
        };
        let mut resource = read.resource;
        resource["status"] = Value::from(status);
        // Clients may not write a Task over /fhir: careloop writes it, as staff asked,
        // pinned to the version read.
        let patient = bare(&resource["for"], "Patient/")
            .and_then(|p| ResourceId::parse(&p).ok())
            .ok_or(EngineError::Corrupt("a task"))?;
        let mut change = put(
            "Task",
            &read.id,
            &resource,
            task::terms(&resource),
            &patient,
        )?;
        if let Change::Put { expect, .. } = &mut change {
            *expect = Expect::Version(read.version);
        }
        let written = match self.store.commit(&self.org, &[change]).await {
            Ok(committed) => committed,
            Err(StoreError::Conflict | StoreError::VersionMismatch { .. }) => {
                return Err(TaskError::Changed);
            }
            Err(other) => return Err(EngineError::from(other).into()),
        };
        let version = written.first().map_or(read.version + 1, |c| c.version);
        task_from(&resource, version).ok_or(TaskError::Engine(EngineError::Corrupt("a task")))
    }
}
