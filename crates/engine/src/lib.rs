//! careloop's engine: the durable loops. It turns domain events into journey
//! enrollments, wakes enrollments when their time comes, turns their steps into outbox
//! messages, and sends those through the channels' transports, recording every outcome.
//!
//! Every loop reads and writes through the store only, so any number of engines can run
//! against one PostgreSQL database, and an engine killed at any point loses nothing when
//! it starts again. Time comes from the store's clock: tests move a manual clock and call
//! [`Engine::run_until_idle`].

mod bookings;
mod compose;
mod consent;
pub mod conversations;
mod dispatch;
pub mod escalation;
pub mod figures;
mod gates;
mod handoff;
pub mod inbound;
mod journeys;
pub mod library;
pub mod outcome;
pub mod patient_panel;
pub mod playbook;
mod request;
pub mod settings;
pub mod staff_reply;
mod subject;
pub mod tasks;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::time::Duration;

use careloop_channels::Transport;
use careloop_channels::sandbox::Sandbox;
use careloop_domain::OrgId;
use careloop_domain::journey::Channel;
use careloop_store::{Store, StoreError};
use tokio::sync::Notify;

pub use inbound::{Inbound, Received, SimulateError};
pub use library::{Library, LibraryError};
pub use outcome::Outcome;
pub use settings::{Clinic, Settings};
pub use staff_reply::{Replied, ReplyRefused, StaffReply};

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A stored record careloop wrote does not read back: a bug or tampering.
    #[error("{0} could not be read")]
    Corrupt(&'static str),
    /// The FHIR layer refused a change careloop made for a patient (its HTTP status):
    /// the database failed (5xx), or the resource no longer validates.
    #[error("a change to a FHIR resource was refused ({0})")]
    Fhir(u16),
    /// A record kept changing under the engine; the work is retried next round.
    #[error("the work was changed concurrently too often; it will be retried")]
    Busy,
}

/// The transport of each channel.
#[derive(Clone)]
pub struct Transports {
    pub sms: Arc<dyn Transport>,
    pub email: Arc<dyn Transport>,
}

impl Transports {
    /// Every channel in the sandbox: messages are kept and marked delivered.
    pub fn sandbox() -> Self {
        Self {
            sms: Arc::new(Sandbox),
            email: Arc::new(Sandbox),
        }
    }

    pub fn for_channel(&self, channel: Channel) -> &dyn Transport {
        match channel {
            Channel::Sms => self.sms.as_ref(),
            Channel::Email => self.email.as_ref(),
        }
    }
}

/// A handle on the engine; cheap to clone.
#[derive(Clone)]
pub struct Engine {
    store: Store,
    org: OrgId,
    library: Arc<Library>,
    settings: Arc<Settings>,
    transports: Transports,
    wake: Arc<Wakers>,
    /// Messages planned and claimed in one go, waiting for a sender.
    handoff: Arc<handoff::Handoff>,
    /// When (by the store's clock, in microseconds) the senders last looked for lapsed
    /// claims.
    swept_us: Arc<AtomicI64>,
    /// The clinic's triage rules and FAQ answers as last checked.
    playbooks: Arc<playbook::Cache>,
}

/// The engine's stages: planning (events and timers into messages) and sending. In
/// [`Engine::run_until`] they run side by side, so the database plans the next batch
/// while the transports wait on the last one.
#[derive(Clone, Copy)]
enum Stage {
    /// Events, then timers.
    Plan,
    /// Timers only: more lanes of them hold disjoint enrollments (each round leases its
    /// own), where a second lane of events would handle the same events again.
    Timers,
    Send,
}

/// What wakes each stage before its idle poll ends.
#[derive(Default)]
struct Wakers {
    plan: Notify,
    send: Notify,
}

impl Wakers {
    fn of(&self, stage: Stage) -> &Notify {
        match stage {
            Stage::Plan | Stage::Timers => &self.plan,
            Stage::Send => &self.send,
        }
    }
}

/// How long the loop sleeps when there is nothing to do, unless woken.
const IDLE_POLL: Duration = Duration::from_millis(250);
/// How long the loop waits after a failed round before the next.
const ERROR_PAUSE: Duration = Duration::from_secs(2);

impl Engine {
    pub fn new(store: Store, library: Library, settings: Settings, transports: Transports) -> Self {
        Self {
            store,
            org: OrgId::default_org(),
            library: Arc::new(library),
            settings: Arc::new(settings),
            transports,
            wake: Arc::new(Wakers::default()),
            handoff: Arc::default(),
            swept_us: Arc::new(AtomicI64::new(i64::MIN)),
            playbooks: Arc::default(),
        }
    }

    /// The same engine sending through other transports.
    pub fn with_transports(&self, transports: Transports) -> Self {
        Self {
            transports,
            ..self.clone()
        }
    }

    /// The same engine with other settings.
    pub fn with_settings(&self, settings: Settings) -> Self {
        Self {
            settings: Arc::new(settings),
            ..self.clone()
        }
    }

    /// Whether `channel` goes to the sandbox, where a person may play the patient.
    pub fn is_sandbox(&self, channel: Channel) -> bool {
        self.transports.for_channel(channel).name() == Sandbox.name()
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn org(&self) -> OrgId {
        self.org.clone()
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Asks the loop to look for work now (after a write that recorded an event).
    pub fn nudge(&self) {
        self.wake.plan.notify_one();
        self.wake.send.notify_one();
    }

    /// One round of every loop: events, timers, sends. Returns how much it did. Each
    /// loop runs even when an earlier one failed (a failing event must not stop the
    /// sending); the first error is returned after all three.
    pub async fn run_once(&self) -> Result<usize, EngineError> {
        let planned = self.round(Stage::Plan).await;
        let sent = self.round(Stage::Send).await;
        Ok(planned? + sent?)
    }

    /// Rounds until one finds nothing to do: everything due at the clock's current time
    /// is done.
    pub async fn run_until_idle(&self) -> Result<(), EngineError> {
        while self.run_once().await? > 0 {}
        Ok(())
    }

    /// Runs the loops until the process ends; errors are logged and retried.
    pub async fn run_forever(self) {
        self.run_until(std::future::pending()).await;
    }

    /// Runs the loops until `stop` completes, then returns after the round under way:
    /// a round is never cut short, since a send cut short would leave its outcome
    /// unknown.
    pub async fn run_until(self, stop: impl Future<Output = ()> + Send + 'static) {
        let stopping = Arc::new(AtomicBool::new(false));
        let (flag, engine) = (stopping.clone(), self.clone());
        tokio::spawn(async move {
            stop.await;
            flag.store(true, Ordering::SeqCst);
            engine.nudge();
        });
        // Each stage is its own task, so that one's work in this process (composing,
        // sealing, parsing) runs on another core than the other's.
        let lanes = |n: u32| usize::try_from(n).unwrap_or(1);
        let lanes = std::iter::once(Stage::Plan)
            .chain(std::iter::repeat_n(
                Stage::Timers,
                lanes(self.settings.plan_lanes).saturating_sub(1),
            ))
            .chain(std::iter::repeat_n(
                Stage::Send,
                lanes(self.settings.send_lanes).max(1),
            ));
        let stages: Vec<_> = lanes
            .map(|stage| {
                let (engine, stopping) = (self.clone(), stopping.clone());
                tokio::spawn(async move { engine.run_stage(stage, &stopping).await })
            })
            .collect();
        for stage in stages {
            if let Err(error) = stage.await {
                tracing::error!(error = %error, "an engine stage stopped");
            }
        }
    }

    async fn run_stage(&self, stage: Stage, stopping: &AtomicBool) {
        let wake = self.wake.of(stage);
        // Senders finish what was handed to them before they stop: those messages are
        // claimed already, and would otherwise wait out their lease.
        let handed = || matches!(stage, Stage::Send) && !self.handoff.is_empty();
        while !stopping.load(Ordering::SeqCst) || handed() {
            match self.round(stage).await {
                Ok(0) => {
                    let _ = tokio::time::timeout(IDLE_POLL, wake.notified()).await;
                }
                Ok(_) => {
                    if let Stage::Plan | Stage::Timers = stage {
                        // It may have queued messages.
                        self.wake.send.notify_one();
                    }
                }
                Err(error) => {
                    tracing::error!(error = %error, "an engine round failed; retrying");
                    let _ = tokio::time::timeout(ERROR_PAUSE, wake.notified()).await;
                }
            }
        }
    }

    /// One round of a stage; see [`Self::run_once`] for why every loop runs even after
    /// one failed.
    async fn round(&self, stage: Stage) -> Result<usize, EngineError> {
        match stage {
            Stage::Plan => {
                let events = self.handle_events().await;
                let timers = self.run_timers().await;
                let escalated = self.escalate_overdue().await;
                Ok(events? + timers? + escalated?)
            }
            Stage::Timers => self.run_timers().await,
            Stage::Send => self.dispatch().await,
        }
    }
}
