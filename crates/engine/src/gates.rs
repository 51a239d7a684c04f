//! The gates a message passes just before it is sent, each recording its reason when it
//! holds the message back: the PHI level the channel may carry, the patient's consent
//! for the channel and purpose, the TCPA healthcare preset's conditions on content,
//! quiet hours in the patient's zone (deferred to the morning, never dropped) and the
//! frequency caps per patient and channel. The sender's rate limit is paced for a
//! whole claimed batch at once ([`Engine::pace`]).
//!
//! An answer to the patient's own text (HELP, START, "which appointment?") passes all
//! but the PHI level: the patient just wrote.

use std::collections::HashMap;

use careloop_domain::delivery::DeliveryStatus;
use careloop_domain::frequency::{self, SentCount};
use careloop_domain::journey::{Channel, Sending};
use careloop_domain::send_rate::SendRate;
use careloop_domain::tcpa;
use careloop_domain::{Patient, ResourceId};
use careloop_fhir::communication::{self, Sendable};
use careloop_store::micros;
use careloop_store::work::{OutboxRow, RateTake, SentQuery};
use jiff::{SignedDuration, Timestamp};
use serde_json::Value;

use crate::consent::ConsentBook;
use crate::outcome::Outcome;
use crate::subject::{Subject, read_patients, stored_id, zone_of};
use crate::{Engine, EngineError};

/// Refused for good, with the reason recorded on the message.
fn blocked(reason: String) -> Option<Outcome> {
    Some(Outcome::Final {
        status: DeliveryStatus::Blocked,
        code: None,
        reason,
    })
}

/// What the gates need to know about a claimed batch, read for all of it at once.
pub(crate) struct BatchFacts {
    consents: ConsentBook,
    patients: HashMap<ResourceId, Patient>,
}

impl BatchFacts {
    /// The facts a round of planning read already: the consent records of its subjects'
    /// addresses, and its subjects' patients.
    pub(crate) fn planned(
        consents: ConsentBook,
        subjects: impl IntoIterator<Item = Subject>,
    ) -> Self {
        let patients = subjects
            .into_iter()
            .filter_map(|s| Some((s.patient_id, s.patient?)))
            .collect();
        Self { consents, patients }
    }
}

impl Engine {
    /// The consent records of every address a batch goes to, and its patients.
    pub(crate) async fn batch_facts<'a>(
        &self,
        rows: impl Iterator<Item = (&'a OutboxRow, Option<&'a Value>)>,
    ) -> Result<BatchFacts, EngineError> {
        let mut addresses = Vec::new();
        let mut patients = Vec::new();
        for (row, body) in rows {
            if let Ok(patient) = ResourceId::parse(&row.patient_id) {
                patients.push(patient);
            }
            if let (Some(channel), Some(sendable)) = (
                Channel::parse(&row.channel),
                body.and_then(communication::sendable),
            ) {
                addresses.push((channel, sendable.address));
            }
        }
        Ok(BatchFacts {
            consents: self.consent_book(addresses).await?,
            patients: read_patients(&self.store, &self.org, &self.settings, &patients).await?,
        })
    }

    /// What holds `row` back, if anything: `None` lets it go.
    pub(crate) async fn gate(
        &self,
        row: &OutboxRow,
        body: &Value,
        channel: Channel,
        message: &Sendable,
        facts: &BatchFacts,
    ) -> Result<Option<Outcome>, EngineError> {
        let settings = &self.settings;
        if let Err(held) = settings.phi.check(channel, communication::phi_level(body)) {
            return Ok(blocked(held.to_string()));
        }
        let sending = communication::sending(body);
        let Some(purpose) = sending.consent() else {
            return Ok(None);
        };
        if let Err(held) = self
            .consent_gate_in(&facts.consents, channel, &message.address, purpose)
            .await?
        {
            return Ok(blocked(held.to_string()));
        }
        // A person's answer meets consent again as it goes (a STOP may have come since it
        // was queued); its time was chosen when it was queued, and it is nobody's
        // automated message, so caps and the TCPA preset's wording are not its to meet.
        if sending == Sending::Person {
            return Ok(None);
        }
        if channel == Channel::Sms
            && settings.tcpa_healthcare
            && let Err(held) =
                tcpa::check_text(&message.text, &settings.clinic.name, &settings.clinic.phone)
        {
            return Ok(blocked(held.to_string()));
        }
        let cap = settings.cap(channel);
        // Only automated messages meet the caps: the FAQ assistant answers what the
        // patient just asked.
        let capped = !cap.is_off() && sending.counted().is_some();
        let quiet = channel == Channel::Sms;
        if !capped && !quiet {
            return Ok(None);
        }
        let patient_id = stored_id(&row.patient_id, "an outbox row")?;
        let zone = zone_of(facts.patients.get(&patient_id), settings);
        let now = self.store.now();
        if quiet && let Some(until) = settings.quiet_hours.defer(now, &zone) {
            return Ok(Some(Outcome::Deferred {
                reason: format!("quiet hours ({})", settings.quiet_hours),
                until,
            }));
        }
        if !capped {
            return Ok(None);
        }
        let sent = self
            .sent_before(row, &patient_id, channel, now, &zone)
            .await?;
        let unit = match channel {
            Channel::Sms => "text messages",
            Channel::Email => "emails",
        };
        Ok(cap.check(sent, unit).err().and_then(|held| {
            let preset = settings.tcpa_healthcare && channel == Channel::Sms;
            blocked(if preset {
                format!("{held} (TCPA healthcare preset)")
            } else {
                held.to_string()
            })
        }))
    }

    /// The automated messages on `channel` that went to the patient today and in the
    /// last seven days of their calendar, before `row`.
    async fn sent_before(
        &self,
        row: &OutboxRow,
        patient: &ResourceId,
        channel: Channel,
        now: Timestamp,
        zone: &jiff::tz::TimeZone,
    ) -> Result<SentCount, EngineError> {
        let windows = frequency::windows(now, zone);
        let counts = self
            .store
            .sent_counts(
                &self.org,
                &SentQuery {
                    patient_id: patient.as_str().to_owned(),
                    channel: channel.name().to_owned(),
                    day_start_us: micros(windows.day_start),
                    week_start_us: micros(windows.week_start),
                    before_us: row.sent_us.unwrap_or_else(|| micros(now)),
                    before_due_us: row.due_us,
                    before_id: row.id.clone(),
                },
            )
            .await?;
        let count = |n: i64| u32::try_from(n).unwrap_or(u32::MAX);
        Ok(SentCount {
            today: count(counts.today),
            this_week: count(counts.this_week),
        })
    }

    /// Splits a claimed batch by the senders' rate limits: the rows that may go now,
    /// and the others each with the moment its turn comes, spaced one interval apart.
    /// Every sender process takes from one bucket per channel in the database, so the
    /// limit holds however many run. A row a later gate holds back has used its turn.
    pub(crate) async fn pace(
        &self,
        claimed: Vec<OutboxRow>,
    ) -> Result<(Vec<OutboxRow>, Vec<(OutboxRow, Outcome)>), EngineError> {
        let mut go = Vec::with_capacity(claimed.len());
        let mut paced: Vec<(Channel, SendRate, Vec<OutboxRow>)> = Vec::new();
        for row in claimed {
            let rate = Channel::parse(&row.channel)
                .and_then(|channel| Some((channel, self.settings.rates.get(channel)?)));
            // Rows on a channel careloop does not send on go on, to be refused by name.
            let Some((channel, rate)) = rate else {
                go.push(row);
                continue;
            };
            match paced.iter_mut().find(|(c, ..)| *c == channel) {
                Some((.., rows)) => rows.push(row),
                None => paced.push((channel, rate, vec![row])),
            }
        }
        let mut wait = Vec::new();
        for (channel, rate, rows) in paced {
            let interval = rate.interval();
            let micros_of = |d: SignedDuration| i64::try_from(d.as_micros()).unwrap_or(i64::MAX);
            let granted = self
                .store
                .take_send_rate(
                    &self.org,
                    &RateTake {
                        sender: channel.name().to_owned(),
                        wanted: i64::try_from(rows.len()).unwrap_or(i64::MAX),
                        interval_us: micros_of(interval),
                        burst_us: micros_of(rate.burst()),
                    },
                )
                .await?;
            let granted = usize::try_from(granted).unwrap_or(0);
            let now = self.store.now();
            for (n, row) in rows.into_iter().enumerate() {
                let Some(turn) = n.checked_sub(granted) else {
                    go.push(row);
                    continue;
                };
                let turn = i32::try_from(turn + 1).unwrap_or(i32::MAX);
                let until = interval
                    .checked_mul(turn)
                    .and_then(|wait| now.checked_add(wait).ok())
                    .unwrap_or(Timestamp::MAX);
                let reason = format!("sender rate limit ({rate})");
                wait.push((row, Outcome::Deferred { reason, until }));
            }
        }
        Ok((go, wait))
    }
}
