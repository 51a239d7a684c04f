//! Events and timers into journey steps. Each move of an enrollment, and everything it
//! does (messages queued, tasks created), is one transaction guarded by the
//! enrollment's version: a crash before it changes nothing, a crash after it loses
//! nothing, and two engines moving the same enrollment cannot both win.

use careloop_domain::journey::run::{
    Cursor, Ending, Input, Situation, advance, awaited_name, parse_awaited,
};
use careloop_domain::journey::{Journey, ReplyKind};
use careloop_domain::{AppointmentEvent, ResourceId};
use careloop_store::crypto::new_resource_id;
use careloop_store::work::{EnrollmentQuery, EnrollmentRow};
use careloop_store::{Change, Event, StoreError, from_micros, micros};

use crate::bookings::Bookings;
use crate::compose::{Writes, compose};
use crate::consent::ConsentBook;
use crate::gates::BatchFacts;
use careloop_fhir::communication;

use crate::inbound::REPLY_RECEIVED;
use crate::subject::{Subject, read_appointment, read_json, stored_id};
use crate::{Engine, EngineError};
use std::collections::HashMap;

/// Events read per round.
const EVENT_BATCH: u32 = 100;
/// Enrollments woken per round.
const TIMER_BATCH: u32 = 100;
/// Tries of a move that lost to a concurrent one, each on fresh state.
const MOVE_TRIES: usize = 4;

impl Engine {
    /// Handles the events recorded since the last round, in order. An event is marked
    /// handled only after everything it causes is committed; one that fails stops the
    /// events for this round (later ones about the same appointment must not overtake
    /// it) and is tried again next round.
    ///
    /// A run of new bookings is enrolled together ([`Self::enroll_bookings`]); when
    /// that fails, the rest of the round goes one event at a time.
    pub async fn handle_events(&self) -> Result<usize, EngineError> {
        let mut events = self.store.unhandled_events(&self.org, EVENT_BATCH).await?;
        let (mut done, mut elsewhere, mut together) = (0, 0, true);
        while let Some(event) = events.get(done) {
            if together {
                match self.enroll_bookings(&events[done..]).await? {
                    Bookings::Enrolled(n) => {
                        done += n;
                        continue;
                    }
                    Bookings::HandledElsewhere => {
                        // Counted as work, so the loop looks again at once instead of
                        // idling while bookings keep coming.
                        elsewhere += done + 1;
                        events = self.store.unhandled_events(&self.org, EVENT_BATCH).await?;
                        done = 0;
                        continue;
                    }
                    Bookings::NoRun => {}
                    Bookings::Failed => together = false,
                }
            }
            self.handle_event(event).await?;
            self.store
                .mark_handled(&self.org, std::slice::from_ref(event))
                .await?;
            done += 1;
        }
        Ok(elsewhere + done)
    }

    async fn handle_event(&self, event: &Event) -> Result<(), EngineError> {
        if event.resource_type == "Communication" && event.name == REPLY_RECEIVED {
            return self.hear_reply(event).await;
        }
        if event.resource_type != "Appointment" {
            return Ok(());
        }
        let Some(kind) = AppointmentEvent::parse(&event.name) else {
            return Ok(());
        };
        let existing = self
            .store
            .enrollments(
                &self.org,
                &EnrollmentQuery::OfAppointment(event.id.as_str().to_owned()),
            )
            .await?;
        let input = Input::Event(kind);
        for row in existing
            .iter()
            .filter(|r| r.is_active() && r.event_seq < event.seq)
        {
            self.move_enrollment(row.clone(), input, Some(event.seq))
                .await?;
        }
        // The patients to enroll: those of the appointment, or, when it was deleted,
        // those its earlier journeys were for.
        let appointment = read_appointment(&self.store, &self.org, &event.id).await?;
        let mut patients: Vec<ResourceId> = match appointment {
            Some(appointment) => appointment.patients().cloned().collect(),
            None => existing
                .iter()
                .filter_map(|r| ResourceId::parse(&r.patient_id).ok())
                .collect(),
        };
        patients.sort_by(|a, b| a.as_str().cmp(b.as_str()));
        patients.dedup();
        for journey in self.library.triggered_by(kind) {
            for patient in &patients {
                self.enroll(journey, event, patient).await?;
            }
        }
        Ok(())
    }

    async fn enroll(
        &self,
        journey: &Journey,
        event: &Event,
        patient: &ResourceId,
    ) -> Result<(), EngineError> {
        let row = self.new_enrollment(journey, event, patient);
        // The enrollment and its first steps are written together; the enrollment's
        // uniqueness (event, journey, patient) makes a second try (after a crash, or by
        // another engine) fail as a whole.
        let (first, effects) = self.plan_move(&row, Input::Enrolled, None).await?;
        let mut writes = Writes::from(vec![Change::Enroll(first)]);
        writes.extend(effects);
        match self.commit_handing_off(writes, None).await {
            // Enrolled already, or the patient or appointment is gone.
            Ok(_) | Err(StoreError::Conflict | StoreError::MissingOwner) => Ok(()),
            Err(other) => Err(other.into()),
        }
    }

    /// A new enrollment of `patient` in `journey`, started by `event`, before its first
    /// move.
    pub(crate) fn new_enrollment(
        &self,
        journey: &Journey,
        event: &Event,
        patient: &ResourceId,
    ) -> EnrollmentRow {
        let now = micros(self.store.now());
        EnrollmentRow {
            id: new_resource_id().as_str().to_owned(),
            journey: journey.name.clone(),
            appointment_id: event.id.as_str().to_owned(),
            patient_id: patient.as_str().to_owned(),
            trigger_seq: event.seq,
            event_seq: event.seq,
            step: 0,
            wake_us: None,
            waiting: None,
            last_reply: None,
            ended: None,
            version: 0,
            created_us: now,
            updated_us: now,
            lease_us: None,
        }
    }

    /// Wakes the enrollments whose time has come: the whole batch is read a query per
    /// resource type and written in one transaction. When one of its moves loses to a
    /// concurrent one, each move goes again on its own.
    pub async fn run_timers(&self) -> Result<usize, EngineError> {
        let due = self
            .store
            .claim_due_enrollments(&self.org, self.settings.lease, TIMER_BATCH)
            .await?;
        if due.is_empty() {
            return Ok(0);
        }
        let (subjects, book) = self.subjects(&due).await?;
        // One enrollment that cannot move (a corrupt record) is logged and left due; the
        // others go on. Only the moves that happened count as work done.
        let mut writes = Writes::default();
        let mut planned = Vec::new();
        for row in &due {
            match self.plan_with(row, Input::Timer, None, subjects.get(&row.id)) {
                Ok((next, effects)) => {
                    writes.push(Change::UpdateEnrollment {
                        row: next,
                        prev_version: row.version,
                    });
                    writes.extend(effects);
                    planned.push(row);
                }
                Err(error) => {
                    tracing::error!(enrollment = %row.id, error = %error, "an enrollment could not move");
                }
            }
        }
        if planned.is_empty() {
            return Ok(0);
        }
        let facts = BatchFacts::planned(book, subjects.into_values());
        match self.commit_handing_off(writes, Some(facts)).await {
            Ok(_) => return Ok(planned.len()),
            Err(
                StoreError::Conflict
                | StoreError::MissingOwner
                | StoreError::NotFound
                | StoreError::VersionMismatch { .. },
            ) => {}
            Err(other) => return Err(other.into()),
        }
        let mut moved = 0;
        for row in planned {
            match self.move_enrollment(row.clone(), Input::Timer, None).await {
                Ok(()) => moved += 1,
                Err(error) => {
                    tracing::error!(enrollment = %row.id, error = %error, "an enrollment could not move");
                }
            }
        }
        Ok(moved)
    }

    /// What the steps of `rows` need to know, by enrollment id, read a query per
    /// resource type, and the consent records of every address they have. A row whose
    /// ids do not parse has none.
    pub(crate) async fn subjects(
        &self,
        rows: &[EnrollmentRow],
    ) -> Result<(HashMap<String, Subject>, ConsentBook), EngineError> {
        let rows: Vec<(&EnrollmentRow, (ResourceId, ResourceId))> = rows
            .iter()
            .filter(|row| self.library.get(&row.journey).is_some())
            .filter_map(|row| {
                let appointment = stored_id(&row.appointment_id, "an enrollment").ok()?;
                let patient = stored_id(&row.patient_id, "an enrollment").ok()?;
                Some((row, (appointment, patient)))
            })
            .collect();
        let pairs: Vec<(ResourceId, ResourceId)> =
            rows.iter().map(|(_, pair)| pair.clone()).collect();
        let mut subjects =
            Subject::load_many(&self.store, &self.org, &self.settings, &pairs).await?;
        let book = self
            .consent_book(subjects.iter().flat_map(Subject::addresses))
            .await?;
        for subject in &mut subjects {
            subject.withdrawn = self.withdrawn_addresses(subject, &book).await?;
        }
        let subjects = rows
            .into_iter()
            .map(|(row, _)| row.id.clone())
            .zip(subjects)
            .collect();
        Ok((subjects, book))
    }

    /// Tells the journeys of a patient's appointment that the patient replied. The
    /// reply was kept with an event, so a crash before this is done loses nothing, and
    /// the event's number keeps a journey from hearing it twice.
    async fn hear_reply(&self, event: &Event) -> Result<(), EngineError> {
        let Some(message) = read_json(&self.store, &self.org, "Communication", &event.id).await?
        else {
            return Ok(());
        };
        let kind = match communication::reply_intent(&message) {
            Some("confirm") => ReplyKind::Confirm,
            Some("decline") => ReplyKind::Decline,
            Some("reschedule") => ReplyKind::Reschedule,
            Some("other") => ReplyKind::Any,
            // Keywords about consent or help are not answers a journey waits for.
            _ => return Ok(()),
        };
        let Some(patient) = communication::patient(&message) else {
            return Ok(());
        };
        // A reply about one appointment moves its journeys; one about none (a question
        // for staff) moves every journey of the patient that waits for any reply.
        let appointment = communication::about(&message).into_iter().next();
        let active = self
            .store
            .enrollments(
                &self.org,
                &EnrollmentQuery::ActiveOfPatient(patient.as_str().to_owned()),
            )
            .await?;
        for row in active.into_iter().filter(|r| {
            appointment
                .as_ref()
                .is_none_or(|a| r.appointment_id == a.as_str())
                && r.event_seq < event.seq
        }) {
            self.move_enrollment(row, Input::Reply(kind), Some(event.seq))
                .await?;
        }
        Ok(())
    }

    /// Moves one enrollment on `input` and carries out what the move does, in one
    /// transaction; on losing to a concurrent move, looks again at the fresh state.
    async fn move_enrollment(
        &self,
        mut row: EnrollmentRow,
        input: Input,
        event_seq: Option<i64>,
    ) -> Result<(), EngineError> {
        for _ in 0..MOVE_TRIES {
            if !row.is_active() || event_seq.is_some_and(|seq| row.event_seq >= seq) {
                return Ok(());
            }
            let (next, effects) = self.plan_move(&row, input, event_seq).await?;
            let mut writes = Writes::from(vec![Change::UpdateEnrollment {
                row: next,
                prev_version: row.version,
            }]);
            writes.extend(effects);
            match self.commit_handing_off(writes, None).await {
                Ok(_) => return Ok(()),
                Err(StoreError::Conflict | StoreError::MissingOwner) => {
                    match self
                        .store
                        .enrollments(&self.org, &EnrollmentQuery::ById(row.id.clone()))
                        .await?
                        .pop()
                    {
                        Some(fresh) if fresh.version != row.version => row = fresh,
                        // Nothing moved it, yet the write failed: its messages exist
                        // already (an idempotency key) or its patient is gone.
                        _ => return Ok(()),
                    }
                }
                Err(other) => return Err(other.into()),
            }
        }
        tracing::warn!(enrollment = %row.id, "an enrollment kept changing under the engine; it will be retried");
        Ok(())
    }

    /// The enrollment after the move, and the writes of what the move does.
    async fn plan_move(
        &self,
        row: &EnrollmentRow,
        input: Input,
        event_seq: Option<i64>,
    ) -> Result<(EnrollmentRow, Writes), EngineError> {
        let (mut subjects, _) = self.subjects(std::slice::from_ref(row)).await?;
        self.plan_with(row, input, event_seq, subjects.remove(&row.id).as_ref())
    }

    /// [`Self::plan_move`] with what the step needs read already.
    pub(crate) fn plan_with(
        &self,
        row: &EnrollmentRow,
        input: Input,
        event_seq: Option<i64>,
        subject: Option<&Subject>,
    ) -> Result<(EnrollmentRow, Writes), EngineError> {
        let now = self.store.now();
        let mut next = row.clone();
        next.version = row.version + 1;
        next.updated_us = micros(now);
        next.lease_us = None;
        if let Some(seq) = event_seq {
            next.event_seq = seq;
        }
        let Some(journey) = self.library.get(&row.journey) else {
            // Its definition was removed: the enrollment ends where it is.
            next.wake_us = None;
            next.ended = Some("journey-removed".to_owned());
            return Ok((next, Writes::default()));
        };
        let appointment_id = stored_id(&row.appointment_id, "an enrollment")?;
        stored_id(&row.patient_id, "an enrollment")?;
        let subject = subject.ok_or(EngineError::Corrupt("an enrollment"))?;
        let situation = Situation {
            now,
            start: subject.appointment.as_ref().and_then(|a| a.start),
            zone: subject.zone(&self.settings),
            confirmed: subject.confirmed(),
        };
        let (cursor, effects) = advance(journey, &cursor_of(row), input, &situation);
        next.step = i64::try_from(cursor.step).unwrap_or(i64::MAX);
        next.wake_us = cursor.wake.map(micros);
        next.waiting = cursor.waiting.map(awaited_name);
        next.last_reply = cursor.last_reply.map(|k| k.name().to_owned());
        next.ended = cursor.ended.as_ref().map(|e| e.name().to_owned());
        // The version this move writes numbers its effects: unique per move, and the
        // same if the move is planned again after losing a race.
        let mut writes = Writes::default();
        for (n, effect) in effects.iter().enumerate() {
            let key = format!("{}:{}:{n}", row.id, next.version);
            writes.extend(compose(
                self,
                journey,
                subject,
                &appointment_id,
                effect,
                key,
            )?);
        }
        Ok((next, writes))
    }
}

fn cursor_of(row: &EnrollmentRow) -> Cursor {
    Cursor {
        step: usize::try_from(row.step).unwrap_or(usize::MAX),
        wake: row.wake_us.map(from_micros),
        waiting: row.waiting.as_deref().and_then(parse_awaited),
        last_reply: row.last_reply.as_deref().and_then(ReplyKind::parse),
        ended: row.ended.as_ref().map(|_| Ending::Completed),
    }
}
