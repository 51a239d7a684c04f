//! Which mail relay to hand messages to, and how, from one URL:
//! `smtp://user:pass@host:587?tls=required` (STARTTLS), `smtps://user:pass@host:465`
//! (TLS from the first byte), `smtp://127.0.0.1:2525` (plain text, for a relay on the same
//! machine). The password never appears in an error or in `Debug`.

use std::net::IpAddr;

use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::TlsParameters;
use lettre::transport::smtp::{SMTP_PORT, SUBMISSION_PORT, SUBMISSIONS_PORT};

/// How the connection to the relay is protected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Security {
    /// Plain text (`tls=none`): the default, and only sensible, for a relay on this
    /// machine.
    None,
    /// STARTTLS when the relay offers it, plain text otherwise (`tls=opportunistic`).
    Opportunistic,
    /// STARTTLS or no send (`tls=required`): the default for any other host.
    StartTls,
    /// TLS from the first byte (`smtps://`).
    Implicit,
}

/// A relay URL that careloop cannot use. Says what is wrong without repeating the URL,
/// which may hold a password.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BadRelay {
    #[error("not a URL such as smtp://user:password@mail.example:587 ({0})")]
    NotAUrl(url::ParseError),
    #[error("the scheme must be smtp or smtps, not '{0}'")]
    Scheme(String),
    #[error("the URL names no host")]
    NoHost,
    #[error("tls must be none, opportunistic or required, not '{0}'")]
    Tls(String),
    #[error("smtps:// is TLS from the first byte: tls={0} contradicts it")]
    ImplicitTls(String),
    #[error("unknown parameter '{0}': the only one is tls")]
    Parameter(String),
    #[error("the path may only name the client for EHLO (smtp://host/client.example)")]
    Path,
    #[error("the user name and password must be percent-encoded UTF-8")]
    Encoding,
    #[error("a user name needs a password")]
    NoPassword,
    #[error("a password would cross the network unencrypted: use tls=required or smtps://")]
    PlainPassword,
    #[error("cannot set up TLS for this host")]
    TlsSetup,
}

/// A checked relay: where to connect, how, and as whom.
#[derive(Clone)]
pub struct Relay {
    pub(super) host: String,
    pub(super) port: u16,
    pub(super) security: Security,
    /// Built once: it holds the root certificates.
    pub(super) tls: Option<TlsParameters>,
    pub(super) credentials: Option<Credentials>,
    /// The name careloop gives in EHLO; `None` uses the sender's domain.
    pub(super) hello_name: Option<String>,
}

/// The credentials are secret: never printed.
impl std::fmt::Debug for Relay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Relay")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("security", &self.security)
            .field("authenticated", &self.credentials.is_some())
            .finish_non_exhaustive()
    }
}

impl std::str::FromStr for Relay {
    type Err = BadRelay;

    fn from_str(value: &str) -> Result<Self, BadRelay> {
        Relay::parse(value)
    }
}

impl Relay {
    pub fn parse(value: &str) -> Result<Self, BadRelay> {
        let url = url::Url::parse(value.trim()).map_err(BadRelay::NotAUrl)?;
        if !matches!(url.scheme(), "smtp" | "smtps") {
            return Err(BadRelay::Scheme(url.scheme().to_owned()));
        }
        let host = match url.host() {
            Some(url::Host::Domain(name)) if !name.is_empty() => name.to_owned(),
            Some(url::Host::Ipv4(ip)) => ip.to_string(),
            Some(url::Host::Ipv6(ip)) => ip.to_string(),
            _ => return Err(BadRelay::NoHost),
        };
        let security = security(&url, is_loopback(&host))?;
        let port = url.port().unwrap_or(match security {
            Security::None => SMTP_PORT,
            Security::Opportunistic | Security::StartTls => SUBMISSION_PORT,
            Security::Implicit => SUBMISSIONS_PORT,
        });
        let credentials = credentials(&url)?;
        if credentials.is_some()
            && matches!(security, Security::None | Security::Opportunistic)
            && !is_loopback(&host)
        {
            // Opportunistic STARTTLS is dropped by anyone in the middle who strips the
            // offer, and the password with it.
            return Err(BadRelay::PlainPassword);
        }
        let tls = match security {
            Security::None => None,
            _ => Some(TlsParameters::new(host.clone()).map_err(|_| BadRelay::TlsSetup)?),
        };
        Ok(Self {
            host,
            port,
            security,
            tls,
            credentials,
            hello_name: hello_name(&url)?,
        })
    }

    pub fn host(&self) -> &str {
        &self.host
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn security(&self) -> Security {
        self.security
    }
}

/// The scheme and `tls` parameter together. With no `tls`, a relay on this machine is
/// spoken to in plain text and any other requires STARTTLS: messages hold health data.
fn security(url: &url::Url, loopback: bool) -> Result<Security, BadRelay> {
    let mut tls = None;
    for (key, value) in url.query_pairs() {
        match key.as_ref() {
            "tls" => tls = Some(value.into_owned()),
            _ => return Err(BadRelay::Parameter(key.into_owned())),
        }
    }
    match (url.scheme(), tls.as_deref()) {
        ("smtps", None | Some("required")) => Ok(Security::Implicit),
        ("smtps", Some(other)) => Err(BadRelay::ImplicitTls(other.to_owned())),
        ("smtp", None) if loopback => Ok(Security::None),
        ("smtp", None | Some("required")) => Ok(Security::StartTls),
        ("smtp", Some("opportunistic")) => Ok(Security::Opportunistic),
        ("smtp", Some("none")) => Ok(Security::None),
        ("smtp", Some(other)) => Err(BadRelay::Tls(other.to_owned())),
        (scheme, _) => Err(BadRelay::Scheme(scheme.to_owned())),
    }
}

fn credentials(url: &url::Url) -> Result<Option<Credentials>, BadRelay> {
    let user = percent_decode(url.username())?;
    match url.password() {
        Some(password) => Ok(Some(Credentials::new(user, percent_decode(password)?))),
        None if user.is_empty() => Ok(None),
        None => Err(BadRelay::NoPassword),
    }
}

fn hello_name(url: &url::Url) -> Result<Option<String>, BadRelay> {
    if url.fragment().is_some() {
        return Err(BadRelay::Path);
    }
    let name = url.path().trim_matches('/');
    if name.is_empty() {
        return Ok(None);
    }
    if name.contains('/') || !name.is_ascii() {
        return Err(BadRelay::Path);
    }
    Ok(Some(name.to_owned()))
}

fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// `%XX` escapes as the URL carries them; anything else is taken as it is.
fn percent_decode(value: &str) -> Result<String, BadRelay> {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let byte = value
                .get(i + 1..i + 3)
                .and_then(|hex| u8::from_str_radix(hex, 16).ok())
                .ok_or(BadRelay::Encoding)?;
            out.push(byte);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| BadRelay::Encoding)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_three_kinds_of_relay() {
        let starttls = Relay::parse("smtp://user:pa%40ss@mail.example:587?tls=required").unwrap();
        assert_eq!(
            (starttls.host(), starttls.port(), starttls.security()),
            ("mail.example", 587, Security::StartTls)
        );
        assert!(starttls.credentials.is_some());
        let implicit = Relay::parse("smtps://user:secret@mail.example").unwrap();
        assert_eq!(
            (implicit.port(), implicit.security()),
            (465, Security::Implicit)
        );
        let local = Relay::parse("smtp://127.0.0.1:2525").unwrap();
        assert_eq!(
            (local.host(), local.port(), local.security()),
            ("127.0.0.1", 2525, Security::None)
        );
        assert!(local.tls.is_none() && local.credentials.is_none());
    }

    #[test]
    fn a_remote_relay_needs_tls_unless_told_otherwise() {
        let remote = Relay::parse("smtp://mail.example").unwrap();
        assert_eq!(
            (remote.port(), remote.security()),
            (587, Security::StartTls)
        );
        let plain = Relay::parse("smtp://mail.example?tls=none").unwrap();
        assert_eq!((plain.port(), plain.security()), (25, Security::None));
        let maybe = Relay::parse("smtp://mail.example?tls=opportunistic").unwrap();
        assert_eq!(maybe.security(), Security::Opportunistic);
        let v6 = Relay::parse("smtp://[::1]:2525/careloop.example").unwrap();
        assert_eq!((v6.host(), v6.security()), ("::1", Security::None));
        assert_eq!(v6.hello_name.as_deref(), Some("careloop.example"));
    }

    #[test]
    fn what_is_refused() {
        let cases = [
            ("mail.example", "not a URL"),
            ("https://mail.example", "scheme"),
            (
                "mail.example:587",
                "scheme must be smtp or smtps, not 'mail.example'",
            ),
            ("smtp://mail.example?tls=maybe", "tls must be"),
            ("smtps://mail.example?tls=none", "contradicts"),
            (
                "smtp://mail.example?tsl=required",
                "unknown parameter 'tsl'",
            ),
            ("smtp://user@mail.example", "needs a password"),
            ("smtp://user:hunter2@mail.example?tls=none", "unencrypted"),
            (
                "smtp://user:hunter2@mail.example?tls=opportunistic",
                "unencrypted",
            ),
            ("smtp://user:hunter2%ZZ@mail.example", "percent-encoded"),
            ("smtp://mail.example/a/b", "path"),
        ];
        for (url, expected) in cases {
            let error = Relay::parse(url).unwrap_err().to_string();
            assert!(error.contains(expected), "{url}: {error}");
            assert!(!error.contains("hunter2"), "{error}");
        }
    }

    #[test]
    fn debug_hides_the_password() {
        let relay = Relay::parse("smtps://user:hunter2@mail.example").unwrap();
        assert!(!format!("{relay:?}").contains("hunter2"));
    }
}
