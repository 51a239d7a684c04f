//! What staff see of a patient beside their conversation: whether each address may be
//! written to, the appointments ahead, the open tasks, and the journeys under way.

use careloop_domain::Patient;
use careloop_domain::appointment::AppointmentStatus;
use careloop_domain::journey::{Channel, Purpose};
use careloop_fhir::resource::ResourceType;
use careloop_store::from_micros;
use careloop_store::work::EnrollmentQuery;
use jiff::Timestamp;

use crate::subject::{addresses_of, language_of, zone_of};
use crate::tasks::StaffTask;
use crate::{Engine, EngineError};

/// How many appointments ahead the panel shows.
const AHEAD: usize = 5;

/// One of the patient's addresses, and whether careloop may write to it.
#[derive(Clone, Debug)]
pub struct Reach {
    pub channel: Channel,
    pub address: String,
    /// Why not, when it may not (an opt-out, with when and how).
    pub held: Option<String>,
}

#[derive(Clone, Debug)]
pub struct Upcoming {
    pub id: String,
    pub start: Timestamp,
    /// As the patient reads it: in their zone and language.
    pub when: String,
    pub status: &'static str,
}

#[derive(Clone, Debug)]
pub struct JourneyUnderWay {
    pub journey: String,
    pub step: i64,
    /// What it waits for (`reply:confirm`), if anything.
    pub waiting: Option<String>,
    pub next: Option<Timestamp>,
}

#[derive(Clone, Debug)]
pub struct Panel {
    pub reach: Vec<Reach>,
    pub upcoming: Vec<Upcoming>,
    pub tasks: Vec<StaffTask>,
    pub journeys: Vec<JourneyUnderWay>,
}

impl Engine {
    pub async fn panel(&self, patient: &Patient) -> Result<Panel, EngineError> {
        let mut reach = Vec::new();
        for (channel, address) in addresses_of(patient) {
            let held = self
                .consent_gate(channel, &address, Purpose::Transactional)
                .await?
                .err()
                .map(|held| held.to_string());
            reach.push(Reach {
                channel,
                address,
                held,
            });
        }
        let upcoming = self.appointments_ahead(patient).await?;
        let tasks = self
            .tasks(Some(&patient.id), &["requested", "accepted", "in-progress"])
            .await?;
        let journeys = self
            .store
            .enrollments(
                &self.org,
                &EnrollmentQuery::ActiveOfPatient(patient.id.as_str().to_owned()),
            )
            .await?
            .into_iter()
            .map(|row| JourneyUnderWay {
                journey: row.journey,
                step: row.step,
                waiting: row.waiting,
                next: row.wake_us.map(from_micros),
            })
            .collect();
        Ok(Panel {
            reach,
            upcoming,
            tasks,
            journeys,
        })
    }

    /// The patient's booked or proposed appointments from now on, soonest first.
    pub async fn appointments_ahead(
        &self,
        patient: &Patient,
    ) -> Result<Vec<Upcoming>, EngineError> {
        let params = [("patient".to_owned(), patient.id.as_str().to_owned())];
        let found = self
            .fhir()
            .newest(&self.org, ResourceType::Appointment, &params, 100)
            .await
            .map_err(|error| EngineError::Fhir(error.status))?;
        let now = self.store.now();
        let zone = zone_of(Some(patient), &self.settings);
        let language = language_of(Some(patient));
        let mut ahead: Vec<Upcoming> = found
            .iter()
            .filter_map(|body| careloop_fhir::appointment::from_fhir(body).ok())
            .map(|parsed| parsed.model)
            .filter(|a| {
                matches!(
                    a.status,
                    AppointmentStatus::Booked
                        | AppointmentStatus::Proposed
                        | AppointmentStatus::Pending
                )
            })
            .filter_map(|a| {
                let start = a.start.filter(|start| *start > now)?;
                Some(Upcoming {
                    id: a.id.as_str().to_owned(),
                    start,
                    when: careloop_domain::template::when::format(start, &zone, language),
                    status: a.status.code(),
                })
            })
            .collect();
        ahead.sort_by_key(|a| a.start);
        ahead.truncate(AHEAD);
        Ok(ahead)
    }
}
