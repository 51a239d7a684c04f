//! Configuration: defaults, then an optional TOML file, then `CARELOOP_*` environment
//! variables, each layer overriding the one before. Every value is checked here, at
//! start-up, and a bad one stops careloop with one line that names the variable.
//!
//! This is the only module that reads the environment.

mod file;
mod gates;
mod values;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use careloop_domain::Region;
use careloop_domain::quiet_hours::QuietHours;
use careloop_engine::Clinic;
use careloop_store::MasterKey;
use jiff::SignedDuration;
use secrecy::SecretString;

pub use gates::Gates;
pub use values::Database;

/// A bad setting: which one, and what is wrong with it. Never echoes a secret.
#[derive(Debug, thiserror::Error)]
#[error("{setting}: {problem}")]
pub struct ConfigError {
    pub setting: String,
    pub problem: String,
}

impl ConfigError {
    pub fn new(setting: &str, problem: impl Into<String>) -> Self {
        Self {
            setting: setting.to_owned(),
            problem: problem.into(),
        }
    }
}

/// The checked configuration.
#[derive(Debug)]
pub struct Config {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    pub database: Database,
    /// The URL the outside world reaches careloop at, without a trailing slash.
    pub public_url: String,
    pub api_token: Option<SecretString>,
    pub master_key: Option<MasterKey>,
    pub default_region: Region,
    pub log_format: LogFormat,
    /// Who messages come from, and the zone of patients whose record gives none.
    pub clinic: Clinic,
    pub quiet_hours: QuietHours,
    /// How long a sender holds a claimed message before it counts as lost; `None` keeps
    /// the engine's default.
    pub outbox_lease: Option<SignedDuration>,
    /// How long a message whose send outcome is unknown waits for the provider's status
    /// callback before it is sent again; `None` keeps the engine's default.
    pub unknown_grace: Option<SignedDuration>,
    /// Text messages go through Twilio when set, else stay in the sandbox.
    pub twilio: Option<Twilio>,
    /// Emails go through an SMTP relay when set, else stay in the sandbox.
    pub smtp: Option<Smtp>,
    /// The password inbound-mail services post patients' email with; inbound email is
    /// refused when unset.
    pub email_inbound_secret: Option<SecretString>,
    pub gates: Gates,
}

/// The SMTP relay and the sender, checked. The relay's password is never printed.
#[derive(Clone, Debug)]
pub struct Smtp {
    pub relay: careloop_channels::smtp::Relay,
    pub from: careloop_channels::smtp::FromAddress,
}

/// Twilio's settings, checked.
#[derive(Clone)]
pub struct Twilio {
    pub account_sid: String,
    pub auth_token: SecretString,
    pub sender: careloop_channels::twilio::Sender,
    pub api_base: String,
}

/// The auth token is a secret: never printed.
impl std::fmt::Debug for Twilio {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Twilio")
            .field("account_sid", &self.account_sid)
            .field("api_base", &self.api_base)
            .finish_non_exhaustive()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

/// One setting: its environment variable and its key in the TOML file.
pub struct Setting {
    pub env: &'static str,
    pub key: &'static str,
}

pub const LISTEN: Setting = Setting {
    env: "CARELOOP_LISTEN",
    key: "listen",
};
pub const DATA_DIR: Setting = Setting {
    env: "CARELOOP_DATA_DIR",
    key: "data_dir",
};
pub const DATABASE_URL: Setting = Setting {
    env: "CARELOOP_DATABASE_URL",
    key: "database_url",
};
pub const PUBLIC_URL: Setting = Setting {
    env: "CARELOOP_PUBLIC_URL",
    key: "public_url",
};
pub const API_TOKEN: Setting = Setting {
    env: "CARELOOP_API_TOKEN",
    key: "api_token",
};
pub const MASTER_KEY: Setting = Setting {
    env: "CARELOOP_MASTER_KEY",
    key: "master_key",
};
pub const DEFAULT_REGION: Setting = Setting {
    env: "CARELOOP_DEFAULT_REGION",
    key: "default_region",
};
pub const LOG_FORMAT: Setting = Setting {
    env: "CARELOOP_LOG_FORMAT",
    key: "log_format",
};

pub const CLINIC_NAME: Setting = Setting {
    env: "CARELOOP_CLINIC_NAME",
    key: "clinic_name",
};
pub const CLINIC_PHONE: Setting = Setting {
    env: "CARELOOP_CLINIC_PHONE",
    key: "clinic_phone",
};
pub const CLINIC_TIMEZONE: Setting = Setting {
    env: "CARELOOP_CLINIC_TIMEZONE",
    key: "clinic_timezone",
};
pub const QUIET_HOURS: Setting = Setting {
    env: "CARELOOP_QUIET_HOURS",
    key: "quiet_hours",
};

pub const OUTBOX_LEASE: Setting = Setting {
    env: "CARELOOP_OUTBOX_LEASE",
    key: "outbox_lease",
};
pub const UNKNOWN_GRACE: Setting = Setting {
    env: "CARELOOP_UNKNOWN_GRACE",
    key: "unknown_grace",
};

pub const TWILIO_ACCOUNT_SID: Setting = Setting {
    env: "CARELOOP_TWILIO_ACCOUNT_SID",
    key: "twilio_account_sid",
};
pub const TWILIO_AUTH_TOKEN: Setting = Setting {
    env: "CARELOOP_TWILIO_AUTH_TOKEN",
    key: "twilio_auth_token",
};
pub const TWILIO_FROM: Setting = Setting {
    env: "CARELOOP_TWILIO_FROM",
    key: "twilio_from",
};
pub const TWILIO_MESSAGING_SERVICE_SID: Setting = Setting {
    env: "CARELOOP_TWILIO_MESSAGING_SERVICE_SID",
    key: "twilio_messaging_service_sid",
};
pub const TWILIO_API_BASE: Setting = Setting {
    env: "CARELOOP_TWILIO_API_BASE",
    key: "twilio_api_base",
};

pub const SMTP_URL: Setting = Setting {
    env: "CARELOOP_SMTP_URL",
    key: "smtp_url",
};
pub const EMAIL_FROM: Setting = Setting {
    env: "CARELOOP_EMAIL_FROM",
    key: "email_from",
};

pub const EMAIL_INBOUND_SECRET: Setting = Setting {
    env: "CARELOOP_EMAIL_INBOUND_SECRET",
    key: "email_inbound_secret",
};

pub const SMS_PHI_LEVEL: Setting = Setting {
    env: "CARELOOP_SMS_PHI_LEVEL",
    key: "sms_phi_level",
};
pub const EMAIL_PHI_LEVEL: Setting = Setting {
    env: "CARELOOP_EMAIL_PHI_LEVEL",
    key: "email_phi_level",
};
pub const SMS_FREQUENCY_CAP: Setting = Setting {
    env: "CARELOOP_SMS_FREQUENCY_CAP",
    key: "sms_frequency_cap",
};
pub const EMAIL_FREQUENCY_CAP: Setting = Setting {
    env: "CARELOOP_EMAIL_FREQUENCY_CAP",
    key: "email_frequency_cap",
};
pub const SMS_RATE_LIMIT: Setting = Setting {
    env: "CARELOOP_SMS_RATE_LIMIT",
    key: "sms_rate_limit",
};
pub const EMAIL_RATE_LIMIT: Setting = Setting {
    env: "CARELOOP_EMAIL_RATE_LIMIT",
    key: "email_rate_limit",
};
pub const TCPA_HEALTHCARE: Setting = Setting {
    env: "CARELOOP_TCPA_HEALTHCARE",
    key: "tcpa_healthcare",
};

pub const ALL: [&Setting; 29] = [
    &LISTEN,
    &DATA_DIR,
    &DATABASE_URL,
    &PUBLIC_URL,
    &API_TOKEN,
    &MASTER_KEY,
    &DEFAULT_REGION,
    &LOG_FORMAT,
    &CLINIC_NAME,
    &CLINIC_PHONE,
    &CLINIC_TIMEZONE,
    &QUIET_HOURS,
    &OUTBOX_LEASE,
    &UNKNOWN_GRACE,
    &TWILIO_ACCOUNT_SID,
    &TWILIO_AUTH_TOKEN,
    &TWILIO_FROM,
    &TWILIO_MESSAGING_SERVICE_SID,
    &TWILIO_API_BASE,
    &SMTP_URL,
    &EMAIL_FROM,
    &EMAIL_INBOUND_SECRET,
    &SMS_PHI_LEVEL,
    &EMAIL_PHI_LEVEL,
    &SMS_FREQUENCY_CAP,
    &EMAIL_FREQUENCY_CAP,
    &SMS_RATE_LIMIT,
    &EMAIL_RATE_LIMIT,
    &TCPA_HEALTHCARE,
];

/// Where a raw value came from, for error messages.
pub struct Raw {
    pub value: String,
    pub source: String,
}

/// Reads the layers and checks every value.
pub fn load(file: Option<&Path>) -> Result<Config, ConfigError> {
    let from_file = match file {
        Some(path) => file::read(path)?,
        None => Default::default(),
    };
    let raw = |setting: &Setting| -> Option<Raw> {
        #[expect(
            clippy::disallowed_methods,
            reason = "this module is where configuration is read"
        )]
        let env = std::env::var(setting.env).ok().filter(|v| !v.is_empty());
        match env {
            Some(value) => Some(Raw {
                value,
                source: setting.env.to_owned(),
            }),
            // An empty value in the file is no value, as in the environment.
            None => from_file
                .get(setting.key)
                .filter(|value| !value.trim().is_empty())
                .map(|value| Raw {
                    value: value.clone(),
                    source: match file {
                        Some(path) => format!("{} in {}", setting.key, path.display()),
                        None => setting.key.to_owned(),
                    },
                }),
        }
    };
    values::check(&raw)
}
