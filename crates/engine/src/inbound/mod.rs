//! What a patient writes. The message is kept on the patient's record, and what it asks
//! is carried out in the same transaction: a confirmation or cancellation of the
//! appointment it answers, a task for staff, a change of consent, an answer. A provider's
//! retry of the same message conflicts with the first and changes nothing.

mod attribution;
mod sandbox;

use careloop_domain::answers::{self, Choice, Sender};
use careloop_domain::consent::{Decision, Source};
use careloop_domain::conversation::State;
use careloop_domain::faq::{self, FaqDefinition, Verdict};
use careloop_domain::journey::{Channel, Purpose, Sending};
use careloop_domain::phi::PhiLevel;
use careloop_domain::red_flags;
use careloop_domain::reply::{self, Intent};
use careloop_domain::template::{Language, when};
use careloop_domain::{EmailAddress, PhoneNumber, ResourceId};
use careloop_fhir::communication::{self, NewInbound, NewOutbound};
use careloop_fhir::resource::ResourceType;
use careloop_fhir::task::{self, NewTask};
use careloop_fhir::{Context, FhirService, appointment as fhir_appointment};
use careloop_store::crypto::new_resource_id;
use careloop_store::{Change, StoreError};
use jiff::SignedDuration;

pub use attribution::{ANSWER_STEP, WHICH_STEP};
use attribution::{Candidate, Sent, Target};
pub use sandbox::SimulateError;

use crate::compose::{Outgoing, put};
use crate::conversations::Written;
use crate::subject::{Subject, language_of, read_json, read_patient};
use crate::{Engine, EngineError};
use careloop_fhir::consent::ConsentChange;

/// What sent the FAQ assistant's answers, as their Communications record it.
pub const FAQ_STEP: &str = "reply/faq";

/// The event a kept reply records, for the patient's journeys to hear of it.
pub const REPLY_RECEIVED: &str = "reply.received";
/// A message for staff is acknowledged at most once in this long.
const ACKNOWLEDGE_EVERY: SignedDuration = SignedDuration::from_hours(4);
/// Tries of a reply whose appointment changed while it was being carried out.
const TRIES: usize = 3;

/// A message a patient sent, as the provider's webhook gave it.
#[derive(Clone)]
pub struct Inbound {
    pub channel: Channel,
    /// The sender's number or email address as the provider wrote it.
    pub from: String,
    pub text: String,
    /// The provider's id of the message (Twilio's MessageSid).
    pub provider_id: String,
}

/// The text and number are health data: never printed.
impl std::fmt::Debug for Inbound {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Inbound")
            .field("channel", &self.channel)
            .field("provider_id", &self.provider_id)
            .finish_non_exhaustive()
    }
}

/// What became of an inbound message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Received {
    /// Kept on the patient's record as this Communication, and carried out.
    Kept {
        id: ResourceId,
        intent: &'static str,
    },
    /// The provider sent it before; it was handled then.
    Duplicate,
    /// No patient has this number: nothing is kept.
    UnknownSender,
}

/// What the reply asks, once its appointment is known.
struct Plan {
    intent: Intent,
    /// The appointment it is about, and whose.
    target: Option<Candidate>,
    /// Appointments to ask about ("which one?").
    ask: Vec<Candidate>,
}

impl Engine {
    /// Keeps and carries out one inbound message.
    pub async fn receive(&self, message: &Inbound) -> Result<Received, EngineError> {
        let Some(address) = self.lookup_key(message.channel, &message.from) else {
            return Ok(Received::UnknownSender);
        };
        let id = ResourceId::from_random(self.store.stable_id_bytes(&[
            "inbound",
            message.channel.name(),
            &message.provider_id,
        ]));
        for _ in 0..TRIES {
            if read_json(&self.store, &self.org, "Communication", &id)
                .await?
                .is_some()
            {
                return Ok(Received::Duplicate);
            }
            // Read afresh on each try: a patient may have been added or erased meanwhile.
            let patients = self.patients_with(message.channel, &address).await?;
            if patients.is_empty() {
                return Ok(Received::UnknownSender);
            }
            let planned = self.plan_inbound(message, &id, &address, &patients).await;
            let committed = match planned {
                Ok((changes, intent)) => self
                    .store
                    .commit(&self.org, &changes)
                    .await
                    .map(|_| intent)
                    .map_err(EngineError::from),
                Err(error) => Err(error),
            };
            match committed {
                Ok(intent) => {
                    self.nudge();
                    return Ok(Received::Kept { id, intent });
                }
                // The same message handled meanwhile, or its appointment changed or went:
                // look again.
                Err(EngineError::Store(
                    StoreError::Conflict
                    | StoreError::VersionMismatch { .. }
                    | StoreError::NotFound
                    | StoreError::MissingOwner,
                )) => continue,
                Err(other) => return Err(other),
            }
        }
        Err(EngineError::Busy)
    }

    async fn plan_inbound(
        &self,
        message: &Inbound,
        id: &ResourceId,
        address: &str,
        patients: &[ResourceId],
    ) -> Result<(Vec<Change>, &'static str), EngineError> {
        let sent = self.sent_to(patients, message.channel, address).await?;
        let plan = self.understand(&message.text, patients, &sent).await?;
        // The reply is kept on the record of the patient it is about, else of the first
        // patient with the number.
        let owner = match plan.target.as_ref().or(plan.ask.first()) {
            Some(candidate) => candidate.patient.clone(),
            None => patients
                .first()
                .cloned()
                .ok_or(EngineError::Corrupt("a sender"))?,
        };
        let patient = read_patient(&self.store, &self.org, &self.settings, &owner).await?;
        let language = language_of(patient.as_ref());
        let from = Sender {
            clinic: &self.settings.clinic.name,
            phone: &self.settings.clinic.phone,
        };
        let mut changes = Vec::new();
        // Each answer with the purpose its gate weighs: the answers that carriers require to a
        // keyword (HELP, the confirmations of STOP and START) go whatever the consent; the
        // others, like every message, not to a number that said stop.
        let mut answers: Vec<(String, &'static str, Vec<ResourceId>, Sending)> = Vec::new();
        let about: Vec<ResourceId> = plan.target.iter().map(|c| c.appointment.clone()).collect();
        if !plan.ask.is_empty() {
            let mut choices = Vec::new();
            for candidate in &plan.ask {
                choices.push(self.choice(candidate, language).await?);
            }
            let text = answers::which(language, from, &plan.intent, &choices);
            let asked = plan.ask.iter().map(|c| c.appointment.clone()).collect();
            answers.push((
                text,
                WHICH_STEP,
                asked,
                Sending::Automated(Purpose::Transactional),
            ));
        }
        // Only a message that is no command is read for red flags: "C" is never urgent.
        let flags = if matches!(plan.intent, Intent::Other) {
            red_flags::find(&message.text)
        } else {
            Vec::new()
        };
        let mut answered = None;
        let intent_code = match (&plan.intent, &plan.target) {
            (Intent::Confirm, Some(target)) => {
                let when = self.when(target, language).await?;
                if let Some(change) = self.confirm(target).await? {
                    changes.push(change);
                }
                answers.push((
                    answers::confirmed(language, from, &when),
                    "reply/confirmed",
                    about.clone(),
                    Sending::Automated(Purpose::Transactional),
                ));
                "confirm"
            }
            (Intent::Decline, Some(target)) => {
                // The cancellation journey tells the patient which appointment went.
                if let Some(change) = self.cancel(target).await? {
                    changes.push(change);
                }
                "decline"
            }
            (Intent::Reschedule, Some(target)) => {
                let when = self.when(target, language).await?;
                changes.push(self.reschedule_task(target, id)?);
                answers.push((
                    answers::reschedule_asked(language, from, &when),
                    "reply/reschedule",
                    about.clone(),
                    Sending::Automated(Purpose::Transactional),
                ));
                "reschedule"
            }
            (Intent::Confirm | Intent::Decline | Intent::Reschedule, None) => {
                if plan.ask.is_empty() {
                    answers.push((
                        answers::no_appointment(language, from),
                        "reply/no-appointment",
                        Vec::new(),
                        Sending::Automated(Purpose::Transactional),
                    ));
                }
                "unattributed"
            }
            (Intent::OptOut { trigger, free_text }, _) => {
                let free_text = *free_text;
                let opted_out_already = self
                    .consent_gate(message.channel, address, Purpose::Transactional)
                    .await?
                    .is_err();
                changes.extend(self.record_consent(
                    patients,
                    &ConsentChange {
                        channel: message.channel,
                        address,
                        decision: Decision::Deny,
                        purpose: None,
                        source: if free_text {
                            Source::FreeText
                        } else {
                            Source::Keyword
                        },
                        trigger: Some(trigger),
                        message: Some(id),
                    },
                )?);
                // Carriers confirm their own keywords; words of the patient's own are
                // confirmed by careloop, once.
                if free_text && !opted_out_already {
                    answers.push((
                        answers::opted_out(language, from),
                        "reply/opted-out",
                        Vec::new(),
                        Sending::Required,
                    ));
                }
                "opt-out"
            }
            (Intent::OptIn, _) => {
                changes.extend(self.record_consent(
                    patients,
                    &ConsentChange {
                        channel: message.channel,
                        address,
                        decision: Decision::Permit,
                        purpose: Some(Purpose::Transactional),
                        source: Source::Keyword,
                        trigger: None,
                        message: Some(id),
                    },
                )?);
                answers.push((
                    answers::opted_in(language, from),
                    "reply/opted-in",
                    Vec::new(),
                    Sending::Required,
                ));
                "opt-in"
            }
            (Intent::Help, _) => {
                answers.push((
                    answers::help(language, from),
                    "reply/help",
                    Vec::new(),
                    Sending::Required,
                ));
                "help"
            }
            // A message that may tell of an emergency is answered at once, every time.
            (Intent::Other, _) if !flags.is_empty() => {
                answers.push((
                    answers::urgent(language, from),
                    "reply/urgent",
                    Vec::new(),
                    Sending::Required,
                ));
                "other"
            }
            (Intent::Other, _)
                if let Some((title, text)) = self
                    .faq_answer(&owner, message.channel, &message.text, language)
                    .await? =>
            {
                answers.push((text, FAQ_STEP, Vec::new(), Sending::Assistant));
                answered = Some(title);
                "other"
            }
            (Intent::Other, _) => {
                let now = self.store.now();
                let acknowledged_lately = sent.iter().any(|m| {
                    m.step == "reply/received" && now.duration_since(m.at) < ACKNOWLEDGE_EVERY
                });
                if !acknowledged_lately {
                    answers.push((
                        answers::received(language, from),
                        "reply/received",
                        Vec::new(),
                        Sending::Automated(Purpose::Transactional),
                    ));
                }
                "other"
            }
        };
        let body = communication::inbound(&NewInbound {
            id,
            patient: &owner,
            appointment: about.first(),
            in_response_to: sent.first().map(|m| m.id.as_str()),
            channel: message.channel,
            address,
            text: &message.text,
            provider_id: &message.provider_id,
            intent: intent_code,
            received: self.store.now(),
            red_flags: &flags,
        });
        let mut kept = put(
            "Communication",
            id,
            &body,
            communication::terms(&body),
            &owner,
        )?;
        if let Change::Put { version, .. } = &mut kept {
            version.events.push(REPLY_RECEIVED);
        }
        let mut all = vec![kept];
        all.extend(changes);
        // What careloop carried out in full (a confirmation, STOP) asks nothing of staff.
        let wants_staff = matches!(intent_code, "other" | "reschedule") && answered.is_none();
        let written = Written {
            channel: message.channel,
            text: &message.text,
            wants_staff,
            flags: &flags,
            patient: patient.as_ref(),
            answered: answered.as_deref(),
        };
        all.extend(self.patient_wrote(&owner, &written).await?);
        for (n, (text, step, about, purpose)) in answers.iter().enumerate() {
            all.extend(
                Outgoing {
                    message: NewOutbound {
                        patient: &owner,
                        about,
                        channel: message.channel,
                        address,
                        text,
                        subject: None,
                        journey_step: step,
                        sending: *purpose,
                        // Answers name at most an appointment's time and place.
                        phi: PhiLevel::Limited,
                        based_on: None,
                        to_patient: true,
                    },
                    blocked: None,
                    not_before: None,
                }
                .changes(self, format!("inbound:{id}:{n}"))?,
            );
        }
        Ok((all, intent_code))
    }

    /// Reads the text and finds what it is about.
    async fn understand(
        &self,
        text: &str,
        patients: &[ResourceId],
        sent: &[Sent],
    ) -> Result<Plan, EngineError> {
        if let Some((intent, n)) = reply::numbered(text)
            && let Some(target) = self.chosen(patients, sent, n).await?
        {
            return Ok(Plan {
                intent,
                target: Some(target),
                ask: Vec::new(),
            });
        }
        let intent = reply::classify(text);
        if !matches!(
            intent,
            Intent::Confirm | Intent::Decline | Intent::Reschedule
        ) {
            return Ok(Plan {
                intent,
                target: None,
                ask: Vec::new(),
            });
        }
        Ok(match self.target(patients, sent).await? {
            Target::One(target) => Plan {
                intent,
                target: Some(target),
                ask: Vec::new(),
            },
            Target::Several(ask) => Plan {
                intent,
                target: None,
                ask,
            },
            Target::None => Plan {
                intent,
                target: None,
                ask: Vec::new(),
            },
        })
    }

    /// The address as patients' records are searched by: E.164, a lower-case email.
    fn lookup_key(&self, channel: Channel, raw: &str) -> Option<String> {
        match channel {
            Channel::Sms => PhoneNumber::parse(raw, self.settings.region)
                .ok()
                .map(|n| n.lookup_key().to_owned()),
            Channel::Email => EmailAddress::parse(raw).ok().map(|e| e.as_str().to_owned()),
        }
    }

    pub(crate) fn fhir(&self) -> FhirService {
        FhirService::new(
            self.store.clone(),
            Context {
                region: self.settings.region,
            },
            String::new(),
        )
    }

    /// The write that marks the patient's participation accepted; `None` if it was.
    async fn confirm(&self, target: &Candidate) -> Result<Option<Change>, EngineError> {
        self.change_appointment(&target.appointment, |body| {
            fhir_appointment::accept(body, &target.patient)
        })
        .await
    }

    async fn cancel(&self, target: &Candidate) -> Result<Option<Change>, EngineError> {
        self.change_appointment(&target.appointment, |body| {
            fhir_appointment::cancel_by_patient(body);
            true
        })
        .await
    }

    /// A new version of an appointment, written as the FHIR API would write it (so its
    /// events are recorded), pinned to the version read.
    async fn change_appointment(
        &self,
        id: &ResourceId,
        change: impl FnOnce(&mut serde_json::Value) -> bool,
    ) -> Result<Option<Change>, EngineError> {
        let Some(stored) = self.store.read(&self.org, "Appointment", id).await? else {
            return Ok(None);
        };
        if stored.deleted {
            return Ok(None);
        }
        let mut body: serde_json::Value = serde_json::from_slice(&stored.body)
            .map_err(|_| EngineError::Corrupt("an appointment"))?;
        if !change(&mut body) {
            return Ok(None);
        }
        self.fhir()
            .update_change(
                &self.org,
                ResourceType::Appointment,
                id,
                body,
                stored.version,
            )
            .await
            .map(Some)
            .map_err(|error| match error.status {
                // Changed since it was read: the reply is looked at again.
                409 | 412 => EngineError::Store(StoreError::Conflict),
                status => EngineError::Fhir(status),
            })
    }

    fn reschedule_task(
        &self,
        target: &Candidate,
        message: &ResourceId,
    ) -> Result<Change, EngineError> {
        let id = new_resource_id();
        let body = task::new(&NewTask {
            id: &id,
            patient: &target.patient,
            appointment: Some(&target.appointment),
            description: "Patient asks to reschedule",
            origin: &format!("the patient's text Communication/{message}"),
            authored: self.store.now(),
        });
        put("Task", &id, &body, task::terms(&body), &target.patient)
    }

    /// The FAQ assistant's answer to a message that asks staff something, when it is
    /// sure of one and no one is already talking with the patient: a conversation open
    /// with staff is theirs to answer.
    /// Returns the answer's title and the text that goes. An answer a text message may
    /// not carry under the TCPA healthcare preset is left to staff, not held back.
    async fn faq_answer(
        &self,
        patient: &ResourceId,
        channel: Channel,
        text: &str,
        language: Language,
    ) -> Result<Option<(String, String)>, EngineError> {
        let busy = self
            .store
            .conversation(&self.org, patient)
            .await?
            .is_some_and(|c| c.conversation.state != State::Resolved);
        if busy {
            return Ok(None);
        }
        let faqs = self.in_use::<FaqDefinition>().await?;
        let Verdict::Answer(found) = faq::consider(&faqs, text) else {
            return Ok(None);
        };
        let clinic = &self.settings.clinic;
        let answer = faq::reply(found, language, &clinic.name, &clinic.phone);
        let carried = channel != Channel::Sms
            || !self.settings.tcpa_healthcare
            || careloop_domain::tcpa::check_text(&answer, &clinic.name, &clinic.phone).is_ok();
        Ok(carried.then(|| (found.title.clone(), answer)))
    }

    /// The appointment's time as its patient reads it (in their zone), in `language`.
    async fn when(&self, target: &Candidate, language: Language) -> Result<String, EngineError> {
        let subject = self.subject_of(target).await?;
        Ok(subject
            .appointment
            .as_ref()
            .and_then(|a| a.start)
            .map(|start| when::format(start, &subject.zone(&self.settings), language))
            .unwrap_or_default())
    }

    /// One appointment offered in "which appointment?", in the asker's language.
    async fn choice(
        &self,
        candidate: &Candidate,
        language: Language,
    ) -> Result<Choice, EngineError> {
        let subject = self.subject_of(candidate).await?;
        Ok(Choice {
            first_name: subject
                .patient
                .as_ref()
                .and_then(|p| p.first_name())
                .unwrap_or_default()
                .to_owned(),
            when: self.when(candidate, language).await?,
        })
    }

    async fn subject_of(&self, candidate: &Candidate) -> Result<Subject, EngineError> {
        Subject::load(
            &self.store,
            &self.org,
            &self.settings,
            &candidate.appointment,
            &candidate.patient,
        )
        .await
    }
}
