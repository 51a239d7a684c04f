//! The gates' settings: the PHI level each channel may carry, frequency caps, senders'
//! rate limits and the TCPA healthcare preset.

use std::fmt::Display;
use std::str::FromStr;

use careloop_domain::frequency::FrequencyCap;
use careloop_domain::phi::{PhiLevel, PhiPolicy};
use careloop_domain::send_rate::SendRate;
use careloop_engine::settings::PerChannel;

use super::{
    ConfigError, EMAIL_FREQUENCY_CAP, EMAIL_PHI_LEVEL, EMAIL_RATE_LIMIT, Raw, SMS_FREQUENCY_CAP,
    SMS_PHI_LEVEL, SMS_RATE_LIMIT, Setting, TCPA_HEALTHCARE,
};

/// What the gates before every send enforce.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Gates {
    pub phi: PhiPolicy,
    pub caps: PerChannel<FrequencyCap>,
    pub rates: PerChannel<Option<SendRate>>,
    pub tcpa_healthcare: bool,
}

pub fn check(raw: &dyn Fn(&Setting) -> Option<Raw>) -> Result<Gates, ConfigError> {
    let defaults = PhiPolicy::default();
    Ok(Gates {
        phi: PhiPolicy {
            sms: parsed::<PhiLevel>(raw, &SMS_PHI_LEVEL)?.unwrap_or(defaults.sms),
            email: parsed::<PhiLevel>(raw, &EMAIL_PHI_LEVEL)?.unwrap_or(defaults.email),
        },
        caps: PerChannel {
            sms: parsed(raw, &SMS_FREQUENCY_CAP)?.unwrap_or_default(),
            email: parsed(raw, &EMAIL_FREQUENCY_CAP)?.unwrap_or_default(),
        },
        rates: PerChannel {
            sms: rate(raw, &SMS_RATE_LIMIT)?,
            email: rate(raw, &EMAIL_RATE_LIMIT)?,
        },
        tcpa_healthcare: match raw(&TCPA_HEALTHCARE) {
            None => false,
            Some(r) => match r.value.trim().to_ascii_lowercase().as_str() {
                "on" | "true" | "yes" => true,
                "off" | "false" | "no" => false,
                other => {
                    return Err(ConfigError::new(
                        &r.source,
                        format!("'{other}' is not on or off"),
                    ));
                }
            },
        },
    })
}

/// A setting read with its type's own parser, whose error names the bad value.
fn parsed<T>(
    raw: &dyn Fn(&Setting) -> Option<Raw>,
    setting: &Setting,
) -> Result<Option<T>, ConfigError>
where
    T: FromStr,
    T::Err: Display,
{
    raw(setting)
        .map(|r| {
            r.value
                .parse::<T>()
                .map_err(|error| ConfigError::new(&r.source, error.to_string()))
        })
        .transpose()
}

/// A rate limit, or `off` for none.
fn rate(
    raw: &dyn Fn(&Setting) -> Option<Raw>,
    setting: &Setting,
) -> Result<Option<SendRate>, ConfigError> {
    match raw(setting) {
        Some(r) if r.value.trim().eq_ignore_ascii_case("off") => Ok(None),
        _ => parsed(raw, setting),
    }
}
