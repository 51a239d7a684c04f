//! Checking each raw setting into its typed value.

use std::net::SocketAddr;
use std::path::PathBuf;

use careloop_domain::Region;
use careloop_store::{MasterKey, MasterKeyError};
use secrecy::SecretString;

use careloop_domain::IanaZone;
use careloop_domain::quiet_hours::QuietHours;
use careloop_engine::Clinic;
use jiff::SignedDuration;

use super::{
    API_TOKEN, CLINIC_NAME, CLINIC_PHONE, CLINIC_TIMEZONE, Config, ConfigError, DATA_DIR,
    DATABASE_URL, DEFAULT_REGION, EMAIL_FROM, EMAIL_INBOUND_SECRET, LISTEN, LOG_FORMAT, LogFormat,
    MASTER_KEY, OUTBOX_LEASE, PUBLIC_URL, QUIET_HOURS, Raw, SMTP_URL, Setting, Smtp,
    TWILIO_ACCOUNT_SID, TWILIO_API_BASE, TWILIO_AUTH_TOKEN, TWILIO_FROM,
    TWILIO_MESSAGING_SERVICE_SID, Twilio, UNKNOWN_GRACE,
};

const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
/// What messages are signed with until the clinic says its name.
const DEFAULT_CLINIC_NAME: &str = "Your clinic";
/// Reads well in "Questions? Call the clinic." until a number is set.
const DEFAULT_CLINIC_PHONE: &str = "the clinic";
/// The longest clinic name: every text message starts with it.
const MAX_CLINIC_NAME: usize = 40;
const DEFAULT_DATA_DIR: &str = "./careloop-data";
/// API tokens shorter than this are guessable.
const MIN_TOKEN_LEN: usize = 16;

/// Which database, by URL.
#[derive(Clone, PartialEq, Eq)]
pub enum Database {
    Sqlite(String),
    Postgres(String),
}

/// A PostgreSQL URL may carry a password: only the kind is printed.
impl std::fmt::Debug for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Sqlite(url) => write!(f, "Sqlite({url})"),
            Self::Postgres(_) => f.write_str("Postgres(<url>)"),
        }
    }
}

pub fn check(raw: &dyn Fn(&Setting) -> Option<Raw>) -> Result<Config, ConfigError> {
    let listen = match raw(&LISTEN) {
        Some(r) => r.value.parse::<SocketAddr>().map_err(|_| {
            ConfigError::new(
                &r.source,
                format!(
                    "'{}' is not an address and port such as 127.0.0.1:8080",
                    r.value
                ),
            )
        })?,
        None => DEFAULT_LISTEN
            .parse()
            .map_err(|_| ConfigError::new(LISTEN.env, "bad default"))?,
    };
    let data_dir = PathBuf::from(raw(&DATA_DIR).map_or(DEFAULT_DATA_DIR.to_owned(), |r| r.value));
    let database = match raw(&DATABASE_URL) {
        Some(r) => database(&r)?,
        None => Database::Sqlite(format!(
            "sqlite://{}",
            data_dir.join("careloop.db").display()
        )),
    };
    let public_url = match raw(&PUBLIC_URL) {
        Some(r) => public_url(&r)?,
        None => format!("http://{listen}"),
    };
    let api_token = raw(&API_TOKEN).map(secret).transpose()?;
    let email_inbound_secret = raw(&EMAIL_INBOUND_SECRET).map(secret).transpose()?;
    let master_key = raw(&MASTER_KEY)
        .map(|r| {
            MasterKey::from_base64(&r.value).map_err(|e| {
                let problem = match e {
                    MasterKeyError::NotBase64 => {
                        "expected base64 of 32 random bytes (openssl rand -base64 32)".to_owned()
                    }
                    MasterKeyError::WrongLength(n) => {
                        format!("expected 32 bytes once decoded, got {n}")
                    }
                };
                ConfigError::new(&r.source, problem)
            })
        })
        .transpose()?;
    let default_region = match raw(&DEFAULT_REGION) {
        Some(r) => r
            .value
            .parse::<Region>()
            .map_err(|e| ConfigError::new(&r.source, format!("'{}': {e}", r.value)))?,
        None => Region::default(),
    };
    let log_format = match raw(&LOG_FORMAT).as_ref().map(|r| (r.value.as_str(), r)) {
        None | Some(("text", _)) => LogFormat::Text,
        Some(("json", _)) => LogFormat::Json,
        Some((other, r)) => {
            return Err(ConfigError::new(
                &r.source,
                format!("'{other}' is not text or json"),
            ));
        }
    };
    let clinic = clinic(raw)?;
    let twilio = twilio(raw)?;
    let smtp = smtp(raw)?;
    let quiet_hours = match raw(&QUIET_HOURS) {
        Some(r) => r.value.parse::<QuietHours>().map_err(|_| {
            ConfigError::new(
                &r.source,
                format!("'{}' is not a window such as 21:00-08:00", r.value),
            )
        })?,
        None => QuietHours::TEXTS_AND_CALLS,
    };
    let outbox_lease = raw(&OUTBOX_LEASE).map(|r| duration(&r)).transpose()?;
    let unknown_grace = raw(&UNKNOWN_GRACE).map(|r| duration(&r)).transpose()?;
    let gates = super::gates::check(raw)?;
    Ok(Config {
        gates,
        outbox_lease,
        unknown_grace,
        twilio,
        smtp,
        email_inbound_secret,
        clinic,
        quiet_hours,
        listen,
        data_dir,
        database,
        public_url,
        api_token,
        master_key,
        default_region,
        log_format,
    })
}

/// A shared secret: long enough not to be guessed, and with no spaces to lose in a URL.
fn secret(r: Raw) -> Result<SecretString, ConfigError> {
    if r.value.len() < MIN_TOKEN_LEN || r.value.chars().any(char::is_whitespace) {
        Err(ConfigError::new(
            &r.source,
            format!("a token needs at least {MIN_TOKEN_LEN} characters and no spaces"),
        ))
    } else {
        Ok(SecretString::from(r.value))
    }
}

fn clinic(raw: &dyn Fn(&Setting) -> Option<Raw>) -> Result<Clinic, ConfigError> {
    let name = match raw(&CLINIC_NAME) {
        Some(r) => {
            let name = r.value.trim().to_owned();
            if name.chars().count() > MAX_CLINIC_NAME {
                return Err(ConfigError::new(
                    &r.source,
                    format!(
                        "at most {MAX_CLINIC_NAME} characters: every text message starts with it"
                    ),
                ));
            }
            name
        }
        None => DEFAULT_CLINIC_NAME.to_owned(),
    };
    let phone = raw(&CLINIC_PHONE).map_or(DEFAULT_CLINIC_PHONE.to_owned(), |r| {
        r.value.trim().to_owned()
    });
    let zone = match raw(&CLINIC_TIMEZONE) {
        Some(r) => IanaZone::parse(r.value.trim())
            .map_err(|_| {
                ConfigError::new(
                    &r.source,
                    format!(
                        "'{}' is not an IANA time zone such as America/New_York",
                        r.value
                    ),
                )
            })?
            .time_zone()
            .clone(),
        None => jiff::tz::TimeZone::UTC,
    };
    Ok(Clinic { name, phone, zone })
}

/// Twilio is configured by its account SID; the token and a sender must then be given.
fn twilio(raw: &dyn Fn(&Setting) -> Option<Raw>) -> Result<Option<Twilio>, ConfigError> {
    let Some(sid) = raw(&TWILIO_ACCOUNT_SID) else {
        for other in [
            &TWILIO_AUTH_TOKEN,
            &TWILIO_FROM,
            &TWILIO_MESSAGING_SERVICE_SID,
        ] {
            if let Some(r) = raw(other) {
                return Err(ConfigError::new(
                    &r.source,
                    format!("is set but {} is not", TWILIO_ACCOUNT_SID.env),
                ));
            }
        }
        return Ok(None);
    };
    let account_sid = sid.value.trim().to_owned();
    if !account_sid.starts_with("AC") || account_sid.len() != 34 {
        return Err(ConfigError::new(
            &sid.source,
            "an account SID is AC followed by 32 hexadecimal digits",
        ));
    }
    // Webhook signatures are keyed by the token: an empty one anybody could sign with.
    let auth_token = raw(&TWILIO_AUTH_TOKEN)
        .map(|r| r.value.trim().to_owned())
        .filter(|token| !token.is_empty())
        .map(SecretString::from)
        .ok_or_else(|| {
            ConfigError::new(
                TWILIO_AUTH_TOKEN.env,
                format!("is required with {}", TWILIO_ACCOUNT_SID.env),
            )
        })?;
    let sender = match (raw(&TWILIO_FROM), raw(&TWILIO_MESSAGING_SERVICE_SID)) {
        (Some(_), Some(service)) => {
            return Err(ConfigError::new(
                &service.source,
                format!("give either this or {}, not both", TWILIO_FROM.env),
            ));
        }
        (Some(from), None) => {
            careloop_channels::twilio::Sender::Number(from.value.trim().to_owned())
        }
        (None, Some(service)) => {
            careloop_channels::twilio::Sender::MessagingService(service.value.trim().to_owned())
        }
        (None, None) => {
            return Err(ConfigError::new(
                TWILIO_FROM.env,
                format!(
                    "is required with {} (or {})",
                    TWILIO_ACCOUNT_SID.env, TWILIO_MESSAGING_SERVICE_SID.env
                ),
            ));
        }
    };
    let api_base = match raw(&TWILIO_API_BASE) {
        Some(r) => public_url(&r)?,
        None => "https://api.twilio.com".to_owned(),
    };
    Ok(Some(Twilio {
        account_sid,
        auth_token,
        sender,
        api_base,
    }))
}

/// Email goes over SMTP when both the relay and the sender are given; one alone is a
/// mistake. Errors about the URL never repeat it: it may hold a password.
fn smtp(raw: &dyn Fn(&Setting) -> Option<Raw>) -> Result<Option<Smtp>, ConfigError> {
    match (raw(&SMTP_URL), raw(&EMAIL_FROM)) {
        (None, None) => Ok(None),
        (None, Some(from)) => Err(ConfigError::new(
            &from.source,
            format!("is set but {} is not", SMTP_URL.env),
        )),
        (Some(_), None) => Err(ConfigError::new(
            EMAIL_FROM.env,
            format!("is required with {}", SMTP_URL.env),
        )),
        (Some(url), Some(from)) => {
            let relay = url
                .value
                .parse()
                .map_err(|e: careloop_channels::smtp::BadRelay| {
                    ConfigError::new(&url.source, e.to_string())
                })?;
            let from =
                from.value
                    .parse()
                    .map_err(|e: careloop_channels::smtp::BadFromAddress| {
                        ConfigError::new(&from.source, e.to_string())
                    })?;
            Ok(Some(Smtp { relay, from }))
        }
    }
}

/// A length of time written as `90s`, `10m`, `1h` or `1h30m`, longer than zero: a lease or
/// a wait of nothing would make every send look lost.
fn duration(r: &Raw) -> Result<SignedDuration, ConfigError> {
    let parsed = careloop_domain::duration::parse(&r.value).map_err(|_| {
        ConfigError::new(
            &r.source,
            format!("'{}' is not a duration such as 90s, 10m or 1h", r.value),
        )
    })?;
    if parsed.is_zero() {
        return Err(ConfigError::new(&r.source, "must be longer than zero"));
    }
    Ok(parsed)
}

fn database(r: &Raw) -> Result<Database, ConfigError> {
    let value = r.value.trim();
    if value.starts_with("sqlite:") {
        return Ok(Database::Sqlite(value.to_owned()));
    }
    if value.starts_with("postgres://") || value.starts_with("postgresql://") {
        url::Url::parse(value)
            .map_err(|e| ConfigError::new(&r.source, format!("not a valid PostgreSQL URL: {e}")))?;
        return Ok(Database::Postgres(value.to_owned()));
    }
    Err(ConfigError::new(
        &r.source,
        "expected sqlite://path/to/file.db or postgres://user@host/database",
    ))
}

fn public_url(r: &Raw) -> Result<String, ConfigError> {
    let parsed = url::Url::parse(r.value.trim())
        .map_err(|e| ConfigError::new(&r.source, format!("'{}' is not a URL: {e}", r.value)))?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host().is_none() {
        return Err(ConfigError::new(
            &r.source,
            format!(
                "'{}' must be an http:// or https:// URL with a host",
                r.value
            ),
        ));
    }
    if parsed.query().is_some() || parsed.fragment().is_some() {
        return Err(ConfigError::new(
            &r.source,
            "must not have a query or a fragment",
        ));
    }
    Ok(parsed.as_str().trim_end_matches('/').to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn load(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<&str, &str> = pairs.iter().copied().collect();
        check(&|s: &Setting| {
            map.get(s.env).map(|v| Raw {
                value: (*v).to_owned(),
                source: s.env.to_owned(),
            })
        })
    }

    #[test]
    fn defaults_need_nothing() {
        let config = load(&[]).unwrap();
        assert_eq!(config.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(config.public_url, "http://127.0.0.1:8080");
        assert_eq!(
            config.database,
            Database::Sqlite("sqlite://./careloop-data/careloop.db".into())
        );
        assert!(config.api_token.is_none() && config.master_key.is_none());
    }

    #[test]
    fn each_bad_value_names_its_variable() {
        let cases = [
            ("CARELOOP_LISTEN", "localhost"),
            ("CARELOOP_DATABASE_URL", "mysql://x"),
            ("CARELOOP_PUBLIC_URL", "not a url"),
            ("CARELOOP_PUBLIC_URL", "ftp://example.org"),
            ("CARELOOP_API_TOKEN", "short"),
            ("CARELOOP_MASTER_KEY", "AAAA"),
            ("CARELOOP_MASTER_KEY", "!!!"),
            ("CARELOOP_DEFAULT_REGION", "Narnia"),
            ("CARELOOP_LOG_FORMAT", "xml"),
            ("CARELOOP_CLINIC_TIMEZONE", "Mars/Olympus"),
            ("CARELOOP_QUIET_HOURS", "late"),
            ("CARELOOP_OUTBOX_LEASE", "2 minutes"),
            ("CARELOOP_OUTBOX_LEASE", "0s"),
            ("CARELOOP_UNKNOWN_GRACE", "10"),
            ("CARELOOP_UNKNOWN_GRACE", "-5m"),
            ("CARELOOP_TWILIO_ACCOUNT_SID", "nope"),
            ("CARELOOP_TWILIO_FROM", "+15550100"),
            (
                "CARELOOP_CLINIC_NAME",
                "The Very Long Name Of A Clinic That Would Fill A Text",
            ),
            ("CARELOOP_SMS_PHI_LEVEL", "secret"),
            ("CARELOOP_EMAIL_PHI_LEVEL", "all"),
            ("CARELOOP_SMS_FREQUENCY_CAP", "1/month"),
            ("CARELOOP_EMAIL_FREQUENCY_CAP", "many"),
            ("CARELOOP_SMS_RATE_LIMIT", "0/s"),
            ("CARELOOP_EMAIL_RATE_LIMIT", "fast"),
            ("CARELOOP_TCPA_HEALTHCARE", "maybe"),
        ];
        for (variable, value) in cases {
            let error = load(&[(variable, value)]).unwrap_err().to_string();
            assert!(error.starts_with(&format!("{variable}: ")), "{error}");
        }
    }

    #[test]
    fn gates_default_to_limited_phi_and_no_caps_and_read_back() {
        let config = load(&[]).unwrap();
        assert_eq!(config.gates, super::super::Gates::default());
        assert!(!config.gates.tcpa_healthcare);
        let config = load(&[
            ("CARELOOP_EMAIL_PHI_LEVEL", "clinical"),
            ("CARELOOP_SMS_FREQUENCY_CAP", "2/day,5/week"),
            ("CARELOOP_SMS_RATE_LIMIT", "1/s"),
            ("CARELOOP_EMAIL_RATE_LIMIT", "off"),
            ("CARELOOP_TCPA_HEALTHCARE", "on"),
        ])
        .unwrap();
        let gates = config.gates;
        assert_eq!(gates.phi.email, careloop_domain::phi::PhiLevel::Clinical);
        assert_eq!(gates.caps.sms.to_string(), "2/day,5/week");
        assert_eq!(
            gates.rates.sms.map(|r| r.to_string()).as_deref(),
            Some("1/s")
        );
        assert_eq!(gates.rates.email, None);
        assert!(gates.tcpa_healthcare);
    }

    #[test]
    fn secrets_are_not_echoed() {
        let error = load(&[("CARELOOP_MASTER_KEY", "c2VjcmV0")])
            .unwrap_err()
            .to_string();
        assert!(!error.contains("c2VjcmV0"), "{error}");
        let error = load(&[("CARELOOP_API_TOKEN", "tiny secret")])
            .unwrap_err()
            .to_string();
        assert!(!error.contains("tiny secret"), "{error}");
    }

    #[test]
    fn twilio_needs_a_token_that_is_not_blank() {
        let sid = (
            "CARELOOP_TWILIO_ACCOUNT_SID",
            "AC00000000000000000000000000000001",
        );
        let from = ("CARELOOP_TWILIO_FROM", "+15550001111");
        for token in [None, Some("   ")] {
            let mut pairs = vec![sid, from];
            pairs.extend(token.map(|t| ("CARELOOP_TWILIO_AUTH_TOKEN", t)));
            let error = load(&pairs).unwrap_err().to_string();
            assert!(error.starts_with("CARELOOP_TWILIO_AUTH_TOKEN: "), "{error}");
        }
        let config = load(&[sid, from, ("CARELOOP_TWILIO_AUTH_TOKEN", "secret")]).unwrap();
        assert!(config.twilio.is_some());
    }

    #[test]
    fn smtp_needs_both_a_relay_and_a_sender() {
        let url = (
            "CARELOOP_SMTP_URL",
            "smtp://user:hunter2@mail.example:587?tls=required",
        );
        let from = ("CARELOOP_EMAIL_FROM", "Clinic <noreply@clinic.example>");
        let error = load(&[url]).unwrap_err().to_string();
        assert!(
            error.starts_with("CARELOOP_EMAIL_FROM: is required with CARELOOP_SMTP_URL"),
            "{error}"
        );
        let error = load(&[from]).unwrap_err().to_string();
        assert!(
            error.starts_with("CARELOOP_EMAIL_FROM: is set but CARELOOP_SMTP_URL is not"),
            "{error}"
        );
        let smtp = load(&[url, from]).unwrap().smtp.unwrap();
        assert_eq!(
            (smtp.relay.host(), smtp.relay.port()),
            ("mail.example", 587)
        );
        assert_eq!(smtp.from.address().domain(), "clinic.example");
        assert!(load(&[]).unwrap().smtp.is_none());
    }

    #[test]
    fn bad_smtp_settings_name_their_variable_and_hide_the_password() {
        let from = ("CARELOOP_EMAIL_FROM", "noreply@clinic.example");
        let cases = [
            ("CARELOOP_SMTP_URL", "mail.example:587"),
            ("CARELOOP_SMTP_URL", "imap://user:hunter2@mail.example"),
            (
                "CARELOOP_SMTP_URL",
                "smtp://user:hunter2@mail.example?tls=sometimes",
            ),
            (
                "CARELOOP_SMTP_URL",
                "smtp://user:hunter2@mail.example?tls=none",
            ),
            ("CARELOOP_SMTP_URL", "smtp://user:hunter2@[bad"),
        ];
        for (variable, value) in cases {
            let error = load(&[(variable, value), from]).unwrap_err().to_string();
            assert!(error.starts_with("CARELOOP_SMTP_URL: "), "{error}");
            assert!(!error.contains("hunter2"), "{error}");
        }
        let error = load(&[
            ("CARELOOP_SMTP_URL", "smtp://127.0.0.1:2525"),
            ("CARELOOP_EMAIL_FROM", "clinic"),
        ])
        .unwrap_err()
        .to_string();
        assert!(
            error.starts_with("CARELOOP_EMAIL_FROM: 'clinic' is not an email address"),
            "{error}"
        );
    }

    #[test]
    fn the_outbox_lease_and_the_unknown_grace_are_durations() {
        let config = load(&[]).unwrap();
        assert_eq!((config.outbox_lease, config.unknown_grace), (None, None));
        let config = load(&[
            ("CARELOOP_OUTBOX_LEASE", "90s"),
            ("CARELOOP_UNKNOWN_GRACE", "1h"),
        ])
        .unwrap();
        assert_eq!(config.outbox_lease, Some(SignedDuration::from_secs(90)));
        assert_eq!(config.unknown_grace, Some(SignedDuration::from_hours(1)));
        let config = load(&[("CARELOOP_UNKNOWN_GRACE", "10m")]).unwrap();
        assert_eq!(config.unknown_grace, Some(SignedDuration::from_mins(10)));
        let error = load(&[("CARELOOP_OUTBOX_LEASE", "2x")])
            .unwrap_err()
            .to_string();
        assert_eq!(
            error,
            "CARELOOP_OUTBOX_LEASE: '2x' is not a duration such as 90s, 10m or 1h"
        );
        let error = load(&[("CARELOOP_UNKNOWN_GRACE", "0m")])
            .unwrap_err()
            .to_string();
        assert_eq!(error, "CARELOOP_UNKNOWN_GRACE: must be longer than zero");
    }

    #[test]
    fn public_url_loses_its_trailing_slash() {
        let config = load(&[("CARELOOP_PUBLIC_URL", "https://clinic.example/careloop/")]).unwrap();
        assert_eq!(config.public_url, "https://clinic.example/careloop");
    }
}
