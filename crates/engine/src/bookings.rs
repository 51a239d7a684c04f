//! New bookings enrolled a batch at a time. An EHR that books a day's schedule at once
//! records thousands of `appointment.booked` events; handled one by one, each cost a
//! round of reads and a commit, and confirmations went out a hundred or so a second.
//! Here a run of them is read a query per resource type and enrolled, with every
//! confirmation it queues and the events marked handled, in one transaction.

use std::collections::HashSet;

use careloop_domain::journey::run::Input;
use careloop_domain::{AppointmentEvent, ResourceId};
use careloop_fhir::appointment;
use careloop_store::work::{EnrollmentQuery, EnrollmentRow};
use careloop_store::{Change, Event, StoreError};

use crate::compose::Writes;
use crate::gates::BatchFacts;
use crate::subject::read_many;
use crate::{Engine, EngineError};

/// What became of the run of bookings at the head of a batch of events.
pub(crate) enum Bookings {
    /// The first `n` events were handled together.
    Enrolled(usize),
    /// Another engine handled them meanwhile: the round should read the events again.
    HandledElsewhere,
    /// No run of two or more: the first event goes on its own.
    NoRun,
    /// Writing the run together failed (one of them enrolled already, a patient gone):
    /// the rest of the round goes one at a time, where each finds out on its own.
    Failed,
}

impl Engine {
    /// Enrolls, in one transaction, the leading run of `events` that are bookings of
    /// appointments no journey knows yet, each appointment once. The run ends at the
    /// first event of another kind, about an appointment seen earlier in the run, or
    /// about one with enrollments: those go one at a time, in order, as before, so no
    /// event overtakes an earlier one about the same appointment.
    pub(crate) async fn enroll_bookings(&self, events: &[Event]) -> Result<Bookings, EngineError> {
        let mut seen = HashSet::new();
        let run: Vec<&Event> = events
            .iter()
            .take_while(|e| {
                e.resource_type == "Appointment"
                    && AppointmentEvent::parse(&e.name) == Some(AppointmentEvent::Booked)
                    && seen.insert(e.id.clone())
            })
            .collect();
        if run.len() < 2 {
            return Ok(Bookings::NoRun);
        }
        let ids: Vec<String> = run.iter().map(|e| e.id.as_str().to_owned()).collect();
        let known: HashSet<String> = self
            .store
            .enrollments(&self.org, &EnrollmentQuery::OfAppointments(ids))
            .await?
            .into_iter()
            .map(|row| row.appointment_id)
            .collect();
        let run: Vec<&Event> = run
            .into_iter()
            .take_while(|e| !known.contains(e.id.as_str()))
            .collect();
        if run.len() < 2 {
            return Ok(Bookings::NoRun);
        }
        let rows = self.new_enrollments(&run).await?;
        let Some((mut writes, facts)) = self.first_moves(&rows).await? else {
            return Ok(Bookings::Failed);
        };
        writes.push(Change::MarkHandled(run.iter().map(|e| e.seq).collect()));
        match self.commit_handing_off(writes, Some(facts)).await {
            Ok(_) => Ok(Bookings::Enrolled(run.len())),
            Err(StoreError::Conflict | StoreError::MissingOwner) => {
                let first = run[0].seq;
                let unhandled = self
                    .store
                    .unhandled_events(&self.org, 1)
                    .await?
                    .first()
                    .is_some_and(|e| e.seq <= first);
                Ok(if unhandled {
                    Bookings::Failed
                } else {
                    Bookings::HandledElsewhere
                })
            }
            Err(other) => Err(other.into()),
        }
    }

    /// The enrollments the run's bookings start: each patient of each appointment in
    /// each journey a booking triggers. A booking whose appointment is gone starts none.
    async fn new_enrollments(&self, run: &[&Event]) -> Result<Vec<EnrollmentRow>, EngineError> {
        let bodies = read_many(
            &self.store,
            &self.org,
            "Appointment",
            run.iter().map(|e| &e.id),
        )
        .await?;
        let mut rows = Vec::new();
        for event in run {
            let Some(body) = bodies.get(&event.id) else {
                continue;
            };
            let booked = appointment::from_fhir(body)
                .map_err(|_| EngineError::Corrupt("an appointment"))?
                .model;
            let mut patients: Vec<ResourceId> = booked.patients().cloned().collect();
            patients.sort_by(|a, b| a.as_str().cmp(b.as_str()));
            patients.dedup();
            for journey in self.library.triggered_by(AppointmentEvent::Booked) {
                for patient in &patients {
                    rows.push(self.new_enrollment(journey, event, patient));
                }
            }
        }
        Ok(rows)
    }

    /// Every enrollment of `rows` with its first move and what that does, and what the
    /// moves were planned with; `None` when one cannot move, which the one-at-a-time
    /// path then reports.
    async fn first_moves(
        &self,
        rows: &[EnrollmentRow],
    ) -> Result<Option<(Writes, BatchFacts)>, EngineError> {
        let (subjects, book) = self.subjects(rows).await?;
        let mut writes = Writes::default();
        for row in rows {
            let Ok((first, effects)) =
                self.plan_with(row, Input::Enrolled, None, subjects.get(&row.id))
            else {
                return Ok(None);
            };
            writes.push(Change::Enroll(first));
            writes.extend(effects);
        }
        Ok(Some((
            writes,
            BatchFacts::planned(book, subjects.into_values()),
        )))
    }
}
