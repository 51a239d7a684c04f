//! Sending one email: connect (TLS from the first byte, or STARTTLS), log in, MAIL, RCPT,
//! DATA, QUIT, one connection per message. careloop walks the steps itself over lettre's
//! connection so it knows how far a failure got: before the message's last line left,
//! sending again is safe; after it, the relay may have the message.

use std::time::Duration;

use careloop_domain::delivery::DeliveryStatus;
use lettre::transport::smtp::authentication::Mechanism;
use lettre::transport::smtp::client::AsyncSmtpConnection;
use lettre::transport::smtp::commands::{Data, Mail, Rcpt};
use lettre::transport::smtp::extension::{ClientId, Extension, MailParameter};

use super::compose::{Composed, FromAddress, Unsendable, compose};
use super::relay::{Relay, Security};
use crate::transport::{Accepted, Outbound, SendError, Transport};

#[derive(Clone, Debug)]
pub struct SmtpConfig {
    pub relay: Relay,
    pub from: FromAddress,
    /// How long one send may take, from connecting to the relay's answer to the message.
    pub timeout: Duration,
}

pub struct SmtpEmail {
    config: SmtpConfig,
    /// The name careloop gives in EHLO: the URL's path, else the sender's domain.
    hello: ClientId,
}

/// How far a send got: what a failure means depends on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stage {
    /// Connecting, TLS, EHLO, logging in: nothing about the message was said yet.
    Connecting,
    /// MAIL FROM: a refusal is about the sender careloop is set up with, not the message.
    Sender,
    /// RCPT and DATA: the relay has not got the message.
    Envelope,
    /// The message is going out or has gone: the relay may have it.
    Content,
    /// The relay took the message.
    Accepted,
}

/// Replies about logging in, which may come at any step: the relay's settings are wrong,
/// not the message, so it waits for an operator.
const LOGIN_CODES: [&str; 4] = ["530", "534", "535", "538"];

/// PLAIN first, over TLS; LOGIN for the relays that offer nothing else.
const MECHANISMS: &[Mechanism] = &[Mechanism::Plain, Mechanism::Login];

/// How long QUIT may take once the relay has the message: its answer changes nothing.
const QUIT_GRACE: Duration = Duration::from_secs(2);

impl SmtpEmail {
    pub fn new(config: SmtpConfig) -> Self {
        let hello = ClientId::Domain(
            config
                .relay
                .hello_name
                .clone()
                .unwrap_or_else(|| config.from.address().domain().to_owned()),
        );
        Self { config, hello }
    }

    /// A connection ready for MAIL: encrypted as the URL says, and logged in.
    async fn connect(&self) -> Result<AsyncSmtpConnection, SendError> {
        let relay = &self.config.relay;
        let failed = |e: lettre::transport::smtp::Error| classify(&e, Stage::Connecting);
        let implicit = match relay.security {
            Security::Implicit => relay.tls.clone(),
            _ => None,
        };
        let mut connection = AsyncSmtpConnection::connect_tokio1(
            (relay.host.as_str(), relay.port),
            Some(self.config.timeout),
            &self.hello,
            implicit,
            None,
        )
        .await
        .map_err(failed)?;
        match (relay.security, &relay.tls) {
            (Security::StartTls | Security::Opportunistic, Some(tls))
                if connection.can_starttls() =>
            {
                connection
                    .starttls(tls.clone(), &self.hello)
                    .await
                    .map_err(failed)?;
            }
            (Security::StartTls, _) => return Err(transient("starttls-unavailable")),
            _ => {}
        }
        if let Some(credentials) = &relay.credentials {
            if connection
                .server_info()
                .get_auth_mechanism(MECHANISMS)
                .is_none()
            {
                return Err(transient("auth-unavailable"));
            }
            connection
                .auth(MECHANISMS, credentials)
                .await
                .map_err(failed)?;
        }
        Ok(connection)
    }

    /// The whole conversation, with `stage` kept up to date for a timeout to read.
    async fn exchange(&self, email: &Composed, stage: &mut Stage) -> Result<(), SendError> {
        let mut connection = self.connect().await?;
        *stage = Stage::Sender;
        let from = self.config.from.address();
        let mut parameters = Vec::new();
        let ascii = |address: &lettre::Address| AsRef::<str>::as_ref(address).is_ascii();
        if !ascii(&email.recipient) || !ascii(from) {
            if !connection
                .server_info()
                .supports_feature(Extension::SmtpUtfEight)
            {
                let code = "smtputf8-unsupported".to_owned();
                // A sender address the relay cannot take is for an operator to fix.
                return Err(if ascii(from) {
                    SendError::Permanent { code }
                } else {
                    transient(&code)
                });
            }
            parameters.push(MailParameter::SmtpUtfEight);
        }
        connection
            .command(Mail::new(Some(from.clone()), parameters))
            .await
            .map_err(|e| classify(&e, Stage::Sender))?;
        *stage = Stage::Envelope;
        let refused = |e: lettre::transport::smtp::Error| classify(&e, Stage::Envelope);
        connection
            .command(Rcpt::new(email.recipient.clone(), Vec::new()))
            .await
            .map_err(refused)?;
        connection.command(Data).await.map_err(refused)?;
        *stage = Stage::Content;
        connection
            .message(&email.bytes)
            .await
            .map_err(|e| classify(&e, Stage::Content))?;
        *stage = Stage::Accepted;
        let _ = tokio::time::timeout(QUIT_GRACE, connection.quit()).await;
        Ok(())
    }
}

fn transient(code: &str) -> SendError {
    SendError::Transient {
        code: code.to_owned(),
        retry_after: None,
    }
}

/// A failure as the outbox understands it. An SMTP reply says it all (`smtp-550`);
/// otherwise the stage decides.
fn classify(error: &lettre::transport::smtp::Error, stage: Stage) -> SendError {
    if let Some(code) = error.status() {
        let code = code.to_string();
        // A 5xx to the message itself (no such mailbox, bad address, refused content) will
        // come again; one while connecting, to the sender or about logging in is for an
        // operator to fix, and the message waits for that.
        let refused = error.is_permanent()
            && !matches!(stage, Stage::Connecting | Stage::Sender)
            && !LOGIN_CODES.contains(&&*code);
        let code = format!("smtp-{code}");
        return if refused {
            SendError::Permanent { code }
        } else {
            SendError::Transient {
                code,
                retry_after: None,
            }
        };
    }
    if matches!(stage, Stage::Content | Stage::Accepted) {
        return SendError::Unknown;
    }
    transient(match stage {
        _ if error.is_timeout() => "timeout",
        Stage::Connecting if error.is_tls() => "tls",
        // Refused, unreachable, no such host, a failed handshake or a greeting cut short.
        Stage::Connecting => "connect",
        // The relay closed the connection or answered nonsense before the message left.
        _ => "connection-lost",
    })
}

#[async_trait::async_trait]
impl Transport for SmtpEmail {
    async fn send(&self, message: &Outbound) -> Result<Accepted, SendError> {
        let email = compose(message, &self.config.from).map_err(|e| SendError::Permanent {
            code: match e {
                Unsendable::Recipient => "invalid-address",
                Unsendable::Message => "invalid-message",
            }
            .to_owned(),
        })?;
        let mut stage = Stage::Connecting;
        let outcome =
            tokio::time::timeout(self.config.timeout, self.exchange(&email, &mut stage)).await;
        match (outcome, stage) {
            (Ok(Ok(())), _) | (Err(_), Stage::Accepted) => Ok(Accepted {
                provider_id: email.message_id,
                // Handed to the relay; nothing reports delivery back.
                status: DeliveryStatus::Sent,
            }),
            (Ok(Err(error)), _) => Err(error),
            (Err(_), Stage::Content) => Err(SendError::Unknown),
            (Err(_), Stage::Connecting | Stage::Sender | Stage::Envelope) => {
                Err(transient("timeout"))
            }
        }
    }

    fn name(&self) -> &'static str {
        "smtp"
    }
}
