//! What a clinic sets about its messages.

use careloop_domain::Region;
use careloop_domain::business_hours::{BusinessHours, ResponseTargets};
use careloop_domain::frequency::FrequencyCap;
use careloop_domain::journey::Channel;
use careloop_domain::phi::PhiPolicy;
use careloop_domain::quiet_hours::QuietHours;
use careloop_domain::send_rate::SendRate;
use careloop_domain::staff::DepartmentKey;
use jiff::SignedDuration;
use jiff::tz::TimeZone;

/// Who the messages come from.
#[derive(Clone, Debug)]
pub struct Clinic {
    pub name: String,
    pub phone: String,
    /// The zone for patients whose record gives none.
    pub zone: TimeZone,
}

#[derive(Clone, Debug)]
pub struct Settings {
    pub clinic: Clinic,
    /// The numbering plan of phone numbers written without a country code.
    pub region: Region,
    /// When texts (and later calls) are held until morning, in the patient's zone.
    pub quiet_hours: QuietHours,
    /// How long a sender holds a claimed message before others may treat it as lost.
    pub lease: SignedDuration,
    /// How long a message whose send outcome is unknown waits for the provider's
    /// callback before it is sent again.
    pub unknown_grace: SignedDuration,
    /// Tries before a message is dead-lettered.
    pub max_attempts: u32,
    pub retry_base: SignedDuration,
    pub retry_cap: SignedDuration,
    /// Messages claimed at once by one sender.
    pub batch: u32,
    /// Rounds of timers one engine plans side by side (the first also handles events).
    pub plan_lanes: u32,
    /// Claimed batches one engine sends side by side.
    pub send_lanes: u32,
    /// The most health information each channel may carry.
    pub phi: PhiPolicy,
    /// Automated messages per patient per day and week, on each channel.
    pub caps: PerChannel<FrequencyCap>,
    /// Each sender's rate limit; `None` sends as fast as the provider takes them.
    pub rates: PerChannel<Option<SendRate>>,
    /// The TCPA healthcare exemption's conditions on automated texts: one a day, three
    /// a week (on top of `caps`), at most 160 characters, naming the clinic and its
    /// number.
    pub tcpa_healthcare: bool,
    /// When the clinic is open: the clock of every target but the urgent one runs only
    /// then.
    pub business_hours: BusinessHours,
    /// How soon each priority must have a first answer from staff.
    pub response_targets: ResponseTargets,
    /// Where the built-in red flags send a message, when the department exists.
    pub urgent_department: DepartmentKey,
    /// Where staff reach careloop (no trailing slash), for the links careloop sends them.
    pub public_url: String,
}

/// A setting for each channel.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PerChannel<T> {
    pub sms: T,
    pub email: T,
}

impl<T: Copy> PerChannel<T> {
    pub fn get(&self, channel: Channel) -> T {
        match channel {
            Channel::Sms => self.sms,
            Channel::Email => self.email,
        }
    }
}

impl Settings {
    pub fn new(clinic: Clinic, region: Region) -> Self {
        let clinic_zone = clinic.zone.clone();
        Self {
            clinic,
            region,
            quiet_hours: QuietHours::TEXTS_AND_CALLS,
            lease: SignedDuration::from_secs(120),
            unknown_grace: SignedDuration::from_mins(10),
            max_attempts: 8,
            retry_base: SignedDuration::from_secs(30),
            retry_cap: SignedDuration::from_hours(1),
            batch: 50,
            plan_lanes: 2,
            send_lanes: 3,
            phi: PhiPolicy::default(),
            caps: PerChannel::default(),
            rates: PerChannel::default(),
            tcpa_healthcare: false,
            business_hours: BusinessHours::weekdays(clinic_zone),
            response_targets: ResponseTargets::default(),
            urgent_department: DepartmentKey::nursing(),
            public_url: "http://127.0.0.1:8080".to_owned(),
        }
    }

    /// The cap on automated messages to one patient on `channel`: the clinic's, made
    /// stricter for texts by the TCPA preset.
    pub fn cap(&self, channel: Channel) -> FrequencyCap {
        let cap = self.caps.get(channel);
        match channel {
            Channel::Sms if self.tcpa_healthcare => cap.and(FrequencyCap::TCPA_HEALTHCARE),
            _ => cap,
        }
    }
}
