//! Who wrote, and about which appointment. A phone is often shared (a parent and their
//! children), so the sender is every patient with that number, and a reply is about the
//! appointment the latest reminder to that number asked about. When reminders about
//! several open appointments went out together, the reply is ambiguous and careloop asks.

use careloop_domain::delivery::DeliveryStatus;
use careloop_domain::journey::Channel;
use careloop_domain::{AppointmentStatus, ResourceId};
use careloop_fhir::communication;
use careloop_store::model::{Search, Sort, Term, TermFilter};
use careloop_store::work::OutboxQuery;
use careloop_store::{from_micros, micros};
use jiff::{SignedDuration, Timestamp};

use crate::subject::{read_appointment, read_json, stored_id};
use crate::{Engine, EngineError};

/// Messages to the number looked at to find what a reply answers.
const RECENT: i64 = 20;
/// Reminders sent this close together are equally likely to be what a reply answers.
const TOGETHER: SignedDuration = SignedDuration::from_mins(10);
/// The most appointments "which one?" offers: more would not fit two text segments.
const MOST_CHOICES: usize = 3;
/// The most patients one number is taken to be shared by.
const MOST_SHARING: u32 = 20;
/// Journey steps of answers to texts start so; they are not reminders.
pub const ANSWER_STEP: &str = "reply/";
/// The step of the question "which appointment?".
pub const WHICH_STEP: &str = "reply/which";

/// A message careloop sent to the number.
pub struct Sent {
    pub id: ResourceId,
    pub patient: ResourceId,
    pub about: Vec<ResourceId>,
    pub step: String,
    pub at: Timestamp,
}

/// An appointment a reply may be about, and the patient of the reminder.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Candidate {
    pub appointment: ResourceId,
    pub patient: ResourceId,
}

/// What a reply that needs an appointment is about.
pub enum Target {
    One(Candidate),
    /// Equally likely: ask which.
    Several(Vec<Candidate>),
    None,
}

impl Engine {
    /// The patients who have this phone number or email address (as its lookup key),
    /// oldest record first.
    pub(crate) async fn patients_with(
        &self,
        channel: Channel,
        lookup_key: &str,
    ) -> Result<Vec<ResourceId>, EngineError> {
        let param = match channel {
            Channel::Sms => careloop_fhir::patient::PHONE,
            Channel::Email => careloop_fhir::patient::EMAIL,
        };
        let page = self
            .store
            .search(
                &self.org,
                &Search {
                    resource_type: "Patient",
                    terms: vec![TermFilter::any_of(vec![Term {
                        param,
                        value: lookup_key.to_owned(),
                    }])],
                    ids: Vec::new(),
                    start_from: None,
                    start_before: None,
                    sort: Sort::Created,
                    count: MOST_SHARING,
                    offset: 0,
                },
            )
            .await?;
        Ok(page.resources.into_iter().map(|s| s.id).collect())
    }

    /// The latest messages careloop sent to `address` on `channel`, newest first.
    pub(crate) async fn sent_to(
        &self,
        patients: &[ResourceId],
        channel: Channel,
        address: &str,
    ) -> Result<Vec<Sent>, EngineError> {
        let rows = self
            .store
            .outbox(
                &self.org,
                &OutboxQuery::LatestOfPatients {
                    patients: patients.iter().map(|p| p.as_str().to_owned()).collect(),
                    channel: channel.name().to_owned(),
                    limit: RECENT,
                },
            )
            .await?;
        let mut sent = Vec::new();
        // Only what reached the provider: a reminder still queued, held for the night or
        // refused is not one the patient can be answering.
        for row in rows.into_iter().filter(|r| {
            DeliveryStatus::parse(&r.status).is_some_and(|s| {
                matches!(
                    s,
                    DeliveryStatus::Accepted
                        | DeliveryStatus::Sent
                        | DeliveryStatus::Delivered
                        | DeliveryStatus::Read
                )
            })
        }) {
            let id = stored_id(&row.id, "an outbox row")?;
            let Some(body) = read_json(&self.store, &self.org, "Communication", &id).await? else {
                continue;
            };
            let to_this_number =
                communication::sendable(&body).is_some_and(|s| s.address == address);
            let (Some(patient), true) = (communication::patient(&body), to_this_number) else {
                continue;
            };
            sent.push(Sent {
                id,
                patient,
                about: communication::about(&body),
                step: communication::journey_step(&body)
                    .unwrap_or_default()
                    .to_owned(),
                at: from_micros(row.created_us),
            });
        }
        Ok(sent)
    }

    /// What a confirm, cancel or reschedule from this number is about.
    pub(crate) async fn target(
        &self,
        patients: &[ResourceId],
        sent: &[Sent],
    ) -> Result<Target, EngineError> {
        // The reminders about appointments still open, newest first, one per appointment.
        let mut reminded: Vec<(Candidate, Timestamp, Timestamp)> = Vec::new();
        for message in sent.iter().filter(|m| !m.step.starts_with(ANSWER_STEP)) {
            for appointment in &message.about {
                if reminded
                    .iter()
                    .any(|(c, _, _)| &c.appointment == appointment)
                {
                    continue;
                }
                let Some(start) = self.open_start(appointment).await? else {
                    continue;
                };
                let candidate = Candidate {
                    appointment: appointment.clone(),
                    patient: message.patient.clone(),
                };
                reminded.push((candidate, message.at, start));
            }
        }
        if let Some((_, latest, _)) = reminded.first() {
            let since = latest.checked_sub(TOGETHER).unwrap_or(*latest);
            let mut likely: Vec<(Candidate, Timestamp)> = reminded
                .iter()
                .filter(|(_, at, _)| *at >= since)
                .map(|(c, _, start)| (c.clone(), *start))
                .collect();
            // Offered in the order they come.
            likely.sort_by_key(|(_, start)| *start);
            let mut likely: Vec<Candidate> = likely
                .into_iter()
                .map(|(c, _)| c)
                .take(MOST_CHOICES)
                .collect();
            return Ok(match likely.len() {
                1 => Target::One(likely.remove(0)),
                _ => Target::Several(likely),
            });
        }
        // No reminder went to this number: the upcoming appointments of its patients.
        let mut upcoming = Vec::new();
        for patient in patients {
            for appointment in self.upcoming_of(patient).await? {
                if !upcoming
                    .iter()
                    .any(|c: &Candidate| c.appointment == appointment)
                {
                    upcoming.push(Candidate {
                        appointment,
                        patient: patient.clone(),
                    });
                }
            }
        }
        upcoming.truncate(MOST_CHOICES);
        Ok(match upcoming.len() {
            0 => Target::None,
            1 => Target::One(upcoming.remove(0)),
            _ => Target::Several(upcoming),
        })
    }

    /// The choice `n` (from 1) of the latest "which appointment?" to this number, if
    /// that appointment is still open: with the patient of the number who takes part in
    /// it (the question itself is kept on one patient's record only).
    pub(crate) async fn chosen(
        &self,
        patients: &[ResourceId],
        sent: &[Sent],
        n: usize,
    ) -> Result<Option<Candidate>, EngineError> {
        let Some(appointment) = sent
            .iter()
            .find(|m| m.step == WHICH_STEP)
            .and_then(|question| question.about.get(n.checked_sub(1)?))
        else {
            return Ok(None);
        };
        if self.open_start(appointment).await?.is_none() {
            return Ok(None);
        }
        let Some(booked) = read_appointment(&self.store, &self.org, appointment).await? else {
            return Ok(None);
        };
        Ok(booked
            .patients()
            .find(|p| patients.contains(p))
            .map(|patient| Candidate {
                appointment: appointment.clone(),
                patient: patient.clone(),
            }))
    }

    /// The start of an appointment that can still be confirmed or cancelled: not over,
    /// not cancelled, not yet begun.
    async fn open_start(&self, id: &ResourceId) -> Result<Option<Timestamp>, EngineError> {
        let Some(appointment) = read_appointment(&self.store, &self.org, id).await? else {
            return Ok(None);
        };
        let open = matches!(
            appointment.status,
            AppointmentStatus::Proposed
                | AppointmentStatus::Pending
                | AppointmentStatus::Booked
                | AppointmentStatus::Waitlist
        );
        Ok(appointment
            .start
            .filter(|start| open && *start > self.store.now()))
    }

    async fn upcoming_of(&self, patient: &ResourceId) -> Result<Vec<ResourceId>, EngineError> {
        let page = self
            .store
            .search(
                &self.org,
                &Search {
                    resource_type: "Appointment",
                    terms: vec![TermFilter::any_of(vec![Term {
                        param: careloop_fhir::appointment::PATIENT,
                        value: patient.as_str().to_owned(),
                    }])],
                    ids: Vec::new(),
                    start_from: Some(from_micros(micros(self.store.now()) + 1)),
                    start_before: None,
                    sort: Sort::Start,
                    count: 10,
                    offset: 0,
                },
            )
            .await?;
        let mut open = Vec::new();
        for stored in page.resources {
            if self.open_start(&stored.id).await?.is_some() {
                open.push(stored.id);
            }
        }
        Ok(open)
    }
}
