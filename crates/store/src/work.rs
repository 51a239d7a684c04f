//! The engine's durable state: journey enrollments and the outbox. Rows hold ids,
//! states and times only; a message's text and address live in its sealed
//! Communication resource.

/// Where a patient is in a journey.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EnrollmentRow {
    pub id: String,
    pub journey: String,
    pub appointment_id: String,
    pub patient_id: String,
    /// The event that enrolled the patient.
    pub trigger_seq: i64,
    /// The last event applied to this enrollment.
    pub event_seq: i64,
    /// The index of the step the enrollment is at.
    pub step: i64,
    /// When the engine next looks at it; `None` waits for a reply or an event only.
    pub wake_us: Option<i64>,
    /// What a `wait_for` step waits for (`reply:confirm`, `event:appointment.confirmed`).
    pub waiting: Option<String>,
    /// The kind of the patient's last reply.
    pub last_reply: Option<String>,
    /// Why it ended (`completed`, `appointment.cancelled`); `None` while active.
    pub ended: Option<String>,
    pub version: i64,
    pub created_us: i64,
    pub updated_us: i64,
    /// Until when a timer round holds it (see [`crate::Store::claim_due_enrollments`]);
    /// a move lets go of it.
    pub lease_us: Option<i64>,
}

impl EnrollmentRow {
    pub fn is_active(&self) -> bool {
        self.ended.is_none()
    }
}

/// Which enrollments to read.
#[derive(Clone, Debug)]
pub enum EnrollmentQuery {
    /// Every one about this appointment, oldest first.
    OfAppointment(String),
    /// Every one about any of these appointments, oldest first.
    OfAppointments(Vec<String>),
    /// Active ones of this patient, oldest first.
    ActiveOfPatient(String),
    ById(String),
}

/// The delivery state of one outbound message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutboxRow {
    /// The id of its Communication resource.
    pub id: String,
    pub idempotency_key: String,
    pub patient_id: String,
    pub channel: String,
    pub status: String,
    /// When it may be sent (or, while its outcome is unknown, when the wait for the
    /// provider's callback ends).
    pub due_us: i64,
    pub attempts: i64,
    /// While being sent: when the sender's claim lapses.
    pub lease_us: Option<i64>,
    /// The provider's id (a Twilio MessageSid, an email Message-ID).
    pub provider_id: Option<String>,
    /// The provider's error code of the last failure.
    pub error_code: Option<String>,
    /// Why a gate held it back or refused it, or why it failed.
    pub reason: Option<String>,
    /// How many times it was sent again after an unknown outcome no callback settled.
    pub unknown_resends: i64,
    pub version: i64,
    pub created_us: i64,
    pub updated_us: i64,
    /// Why it is sent (`transactional`, `marketing`); `None` for an answer to the
    /// patient's own text, which frequency caps neither count nor hold.
    pub purpose: Option<String>,
    /// When it was last handed to a sender.
    pub sent_us: Option<i64>,
    /// The appointment it is about, when it is about one (its Communication is searched
    /// by it).
    pub about_id: Option<String>,
}

impl OutboxRow {
    /// A message queued at `now_us` to go from `due_us`: not tried yet, nothing known of
    /// it from a provider, version 1.
    pub fn queued(
        id: &str,
        idempotency_key: String,
        patient_id: &str,
        channel: &str,
        purpose: Option<&str>,
        due_us: i64,
        now_us: i64,
    ) -> Self {
        Self {
            id: id.to_owned(),
            idempotency_key,
            patient_id: patient_id.to_owned(),
            channel: channel.to_owned(),
            status: crate::sql_work::QUEUED.to_owned(),
            due_us,
            attempts: 0,
            lease_us: None,
            provider_id: None,
            error_code: None,
            reason: None,
            unknown_resends: 0,
            version: 1,
            created_us: now_us,
            updated_us: now_us,
            purpose: purpose.map(str::to_owned),
            sent_us: None,
            about_id: None,
        }
    }

    /// Whether a sender may claim it at `now_us`.
    pub fn is_due(&self, now_us: i64) -> bool {
        self.status == crate::sql_work::QUEUED && self.due_us <= now_us
    }

    /// The row as a claim at `now_us` until `lease_us` leaves it: what
    /// [`crate::Store::claim_outbox`] writes in SQL, for a row claimed as it is queued.
    pub fn claimed(&self, now_us: i64, lease_us: i64) -> Self {
        Self {
            status: crate::sql_work::SENDING.to_owned(),
            lease_us: Some(lease_us),
            attempts: self.attempts + 1,
            version: self.version + 1,
            updated_us: now_us,
            sent_us: Some(now_us),
            ..self.clone()
        }
    }
}

/// Which messages a frequency cap counts: the automated ones to one patient on one
/// channel handed to a sender since `week_start_us`, before the message being checked
/// (claimed earlier, or in the same claim and due earlier, or due at the same moment
/// with a smaller id), that went out or may have.
#[derive(Clone, Debug)]
pub struct SentQuery {
    pub patient_id: String,
    pub channel: String,
    pub day_start_us: i64,
    pub week_start_us: i64,
    pub before_us: i64,
    pub before_due_us: i64,
    pub before_id: String,
}

/// Messages counted by a [`SentQuery`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SentCounts {
    pub today: i64,
    pub this_week: i64,
}

/// A take from a sender's rate bucket: `wanted` messages at `interval_us` of send time
/// each, the bucket holding at most `burst_us`.
#[derive(Clone, Debug)]
pub struct RateTake {
    pub sender: String,
    pub wanted: i64,
    pub interval_us: i64,
    pub burst_us: i64,
}

/// Which outbox rows to read.
#[derive(Clone, Debug)]
pub enum OutboxQuery {
    ById(String),
    ByProviderId(String),
    /// The rows of these ids that exist, in no particular order.
    ByIds(Vec<String>),
    /// Rows in any of these states, oldest first; with `resent_only`, only those sent
    /// again after an unknown outcome (which a patient may have received twice).
    InStatus {
        statuses: Vec<String>,
        resent_only: bool,
        limit: i64,
    },
    /// The latest messages of these patients on one channel, newest first.
    LatestOfPatients {
        patients: Vec<String>,
        channel: String,
        limit: i64,
    },
}
