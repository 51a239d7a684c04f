//! The SMTP transport against a local sink over real sockets: what arrives, and what each
//! failure becomes. Every test has its own sink on 127.0.0.1:0.

#![expect(
    clippy::unwrap_used,
    reason = "a failed step should fail the test loudly"
)]

mod smtp_sink;

use std::time::Duration;

use base64::Engine as _;
use careloop_channels::smtp::{FromAddress, Relay, SmtpConfig, SmtpEmail};
use careloop_channels::{Accepted, Outbound, SendError, Transport};
use careloop_domain::delivery::DeliveryStatus;
use careloop_domain::journey::Channel;
use smtp_sink::{Answer, Script, Sink};

const FROM: &str = "Clínica Sol <citas@clinica.example>";
const TO: &str = "ana@example.org";
const TEXT: &str =
    "Hola José: su cita es mañana a las 9:00.\n\n¿Necesita cambiarla?\nResponda «sí».";
const SUBJECT: &str = "Recordatorio de cita — mañana";

fn transport(url: &str, timeout: Duration) -> SmtpEmail {
    SmtpEmail::new(SmtpConfig {
        relay: Relay::parse(url).unwrap(),
        from: FromAddress::parse(FROM).unwrap(),
        timeout,
    })
}

fn message(to: &str, text: &str, html: Option<&str>) -> Outbound {
    Outbound {
        id: "comm-42".to_owned(),
        channel: Channel::Email,
        to: to.to_owned(),
        text: text.to_owned(),
        subject: Some(SUBJECT.to_owned()),
        html: html.map(str::to_owned),
    }
}

/// Sends one message through a sink that answers as `script` says.
async fn send(script: Script, outbound: &Outbound) -> (Result<Accepted, SendError>, Sink) {
    let sink = Sink::start(script).await;
    let email = transport(&sink.url(""), Duration::from_secs(5));
    (email.send(outbound).await, sink)
}

fn transient(code: &str) -> SendError {
    SendError::Transient {
        code: code.to_owned(),
        retry_after: None,
    }
}

fn permanent(code: &str) -> SendError {
    SendError::Permanent {
        code: code.to_owned(),
    }
}

/// Headers (unfolded) and body of a message or a MIME part.
struct Entity {
    headers: Vec<(String, String)>,
    body: String,
}

impl Entity {
    fn parse(raw: &str) -> Entity {
        let (head, body) = raw.split_once("\r\n\r\n").unwrap();
        let mut headers: Vec<(String, String)> = Vec::new();
        for line in head.split("\r\n") {
            if line.starts_with([' ', '\t']) {
                headers.last_mut().unwrap().1.push_str(line);
            } else {
                let (name, value) = line.split_once(':').unwrap();
                headers.push((name.to_ascii_lowercase(), value.trim().to_owned()));
            }
        }
        Entity {
            headers,
            body: body.to_owned(),
        }
    }

    fn header(&self, name: &str) -> &str {
        let name = name.to_ascii_lowercase();
        let found = self.headers.iter().find(|(n, _)| *n == name);
        &found.unwrap_or_else(|| panic!("no {name} header")).1
    }

    /// The parts of a multipart entity.
    fn parts(&self) -> Vec<Entity> {
        let content_type = self.header("content-type");
        let boundary = content_type.split("boundary=\"").nth(1).unwrap();
        let boundary = format!("--{}", &boundary[..boundary.find('"').unwrap()]);
        let end = self.body.find(&format!("{boundary}--")).unwrap();
        self.body[..end]
            .split(&boundary)
            .skip(1)
            .map(|part| Entity::parse(part.strip_prefix("\r\n").unwrap()))
            .collect()
    }

    /// The body, its transfer encoding undone, as UTF-8 with LF line endings.
    fn text(&self) -> String {
        let encoding = self
            .header("content-transfer-encoding")
            .to_ascii_lowercase();
        let bytes = match encoding.as_str() {
            "7bit" | "8bit" => self.body.clone().into_bytes(),
            "quoted-printable" => quoted_printable(&self.body),
            "base64" => base64::engine::general_purpose::STANDARD
                .decode(self.body.split_whitespace().collect::<String>())
                .unwrap(),
            other => panic!("unexpected encoding {other}"),
        };
        String::from_utf8(bytes)
            .unwrap()
            .trim_end_matches("\r\n")
            .replace("\r\n", "\n")
    }
}

fn quoted_printable(body: &str) -> Vec<u8> {
    let body = body.replace("=\r\n", "");
    let bytes = body.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'=' {
            out.push(u8::from_str_radix(&body[i + 1..i + 3], 16).unwrap());
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    out
}

/// A header value with its RFC 2047 encoded words decoded: white space between two
/// encoded words goes, any other stays.
fn decode_words(value: &str) -> String {
    let mut out = String::new();
    let mut last_encoded = false;
    for (i, word) in value.split_whitespace().enumerate() {
        let encoded = word.strip_prefix("=?").and_then(|w| w.strip_suffix("?="));
        if i > 0 && !(last_encoded && encoded.is_some()) {
            out.push(' ');
        }
        last_encoded = encoded.is_some();
        let Some(inner) = encoded else {
            out.push_str(word);
            continue;
        };
        let mut pieces = inner.splitn(3, '?');
        let (charset, encoding, text) = (
            pieces.next().unwrap(),
            pieces.next().unwrap(),
            pieces.next().unwrap(),
        );
        assert!(charset.eq_ignore_ascii_case("utf-8"), "{charset}");
        let bytes = if encoding.eq_ignore_ascii_case("b") {
            base64::engine::general_purpose::STANDARD
                .decode(text)
                .unwrap()
        } else {
            quoted_printable(&text.replace('_', " "))
        };
        out.push_str(&String::from_utf8(bytes).unwrap());
    }
    out
}

#[tokio::test]
async fn a_message_arrives_whole() {
    let (sent, sink) = send(Script::default(), &message(TO, TEXT, None)).await;
    let accepted = sent.unwrap();
    assert_eq!(accepted.status, DeliveryStatus::Sent);
    assert_eq!(accepted.provider_id, "<comm-42@clinica.example>");

    let log = sink.log();
    assert_eq!(log.messages.len(), 1);
    let raw = &log.messages[0];
    assert!(raw.is_ascii(), "the message is 7-bit clean");
    let email = Entity::parse(raw);
    assert_eq!(email.header("message-id"), accepted.provider_id);
    assert!(email.header("from").contains("<citas@clinica.example>"));
    assert_eq!(decode_words(email.header("from")), FROM);
    assert_eq!(email.header("to"), TO);
    assert_eq!(decode_words(email.header("subject")), SUBJECT);
    assert!(!email.header("date").is_empty());
    assert!(
        email
            .header("content-type")
            .starts_with("multipart/alternative")
    );

    let parts = email.parts();
    assert_eq!(parts.len(), 2);
    assert!(
        parts[0]
            .header("content-type")
            .starts_with("text/plain; charset=utf-8")
    );
    assert_eq!(parts[0].text(), TEXT);
    assert!(
        parts[1]
            .header("content-type")
            .starts_with("text/html; charset=utf-8")
    );
    let html = parts[1].text();
    assert!(
        html.contains(
            "<p>Hola José: su cita es mañana a las 9:00.</p>\n<p>¿Necesita cambiarla?<br>\nResponda «sí».</p>"
        ),
        "{html}"
    );

    assert!(log.commands.contains(&"EHLO clinica.example".to_owned()));
    assert!(
        log.commands
            .contains(&"MAIL FROM:<citas@clinica.example>".to_owned())
    );
    assert!(log.commands.contains(&format!("RCPT TO:<{TO}>")));
    assert_eq!(log.commands.last().unwrap(), "QUIT");
}

#[tokio::test]
async fn text_is_escaped_in_the_html_part_and_given_html_is_kept() {
    let text = "<script>alert('x')</script> & <b>más</b>";
    let (sent, sink) = send(Script::default(), &message(TO, text, None)).await;
    sent.unwrap();
    let html = Entity::parse(&sink.log().messages[0]).parts()[1].text();
    assert!(
        html.contains(
            "<p>&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &lt;b&gt;más&lt;/b&gt;</p>"
        ),
        "{html}"
    );
    assert!(
        !html.contains("<script>") && !html.contains("<b>"),
        "{html}"
    );

    let given = "<p>Hola <b>José</b></p>";
    let (sent, sink) = send(Script::default(), &message(TO, "Hola José", Some(given))).await;
    sent.unwrap();
    let parts = Entity::parse(&sink.log().messages[0]).parts();
    assert_eq!(parts[0].text(), "Hola José");
    assert_eq!(parts[1].text(), given);
}

#[tokio::test]
async fn a_message_without_a_subject_gets_a_generic_one() {
    let mut outbound = message(TO, "Hola", None);
    outbound.subject = None;
    let (sent, sink) = send(Script::default(), &outbound).await;
    sent.unwrap();
    let email = Entity::parse(&sink.log().messages[0]);
    assert_eq!(email.header("subject"), "A message from your clinic");
}

#[tokio::test]
async fn refusals_of_the_message_are_permanent() {
    let cases = [
        (
            Script {
                rcpt: Answer::Reply("550 5.1.1 no such mailbox"),
                ..Script::default()
            },
            "smtp-550",
        ),
        (
            Script {
                rcpt: Answer::Reply("553 5.1.3 bad address syntax"),
                ..Script::default()
            },
            "smtp-553",
        ),
        (
            Script {
                end_of_data: Answer::Reply("554 5.7.1 message refused"),
                ..Script::default()
            },
            "smtp-554",
        ),
    ];
    for (script, code) in cases {
        let (sent, _sink) = send(script, &message(TO, TEXT, None)).await;
        assert_eq!(sent, Err(permanent(code)));
    }
}

#[tokio::test]
async fn temporary_replies_are_transient() {
    let cases = [
        (
            Script {
                mail: Answer::Reply("421 4.3.2 shutting down"),
                ..Script::default()
            },
            "smtp-421",
        ),
        (
            Script {
                rcpt: Answer::Reply("450 4.2.0 greylisted, try later"),
                ..Script::default()
            },
            "smtp-450",
        ),
        (
            Script {
                end_of_data: Answer::Reply("451 4.3.0 local error"),
                ..Script::default()
            },
            "smtp-451",
        ),
        // A relay refusing service is for an operator, not the message.
        (
            Script {
                greeting: Answer::Reply("554 5.3.2 no service"),
                ..Script::default()
            },
            "smtp-554",
        ),
        // So is a relay refusing the sender careloop is set up with: every email would
        // fail alike until the setting is mended.
        (
            Script {
                mail: Answer::Reply("550 5.7.1 sender not allowed"),
                ..Script::default()
            },
            "smtp-550",
        ),
        (
            Script {
                mail: Answer::Close,
                ..Script::default()
            },
            "connection-lost",
        ),
    ];
    for (script, code) in cases {
        let (sent, _sink) = send(script, &message(TO, TEXT, None)).await;
        assert_eq!(sent, Err(transient(code)), "{code}");
    }
}

#[tokio::test]
async fn a_refused_connection_is_transient() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    drop(listener);
    let email = transport(&format!("smtp://{address}"), Duration::from_secs(5));
    let sent = email.send(&message(TO, TEXT, None)).await;
    assert_eq!(sent, Err(transient("connect")));
}

#[tokio::test]
async fn a_lost_answer_to_the_message_is_unknown() {
    let (sent, sink) = send(
        Script {
            end_of_data: Answer::Close,
            ..Script::default()
        },
        &message(TO, TEXT, None),
    )
    .await;
    assert_eq!(sent, Err(SendError::Unknown));
    assert_eq!(sink.log().messages.len(), 1);

    let sink = Sink::start(Script {
        end_of_data: Answer::Hang,
        ..Script::default()
    })
    .await;
    let email = transport(&sink.url(""), Duration::from_secs(3));
    assert_eq!(
        email.send(&message(TO, TEXT, None)).await,
        Err(SendError::Unknown)
    );
}

#[tokio::test]
async fn a_silent_relay_times_out_before_the_message_leaves() {
    let sink = Sink::start(Script {
        greeting: Answer::Hang,
        ..Script::default()
    })
    .await;
    let email = transport(&sink.url(""), Duration::from_secs(3));
    assert_eq!(
        email.send(&message(TO, TEXT, None)).await,
        Err(transient("timeout"))
    );
}

#[tokio::test]
async fn an_unparseable_address_is_permanent_and_never_sent() {
    let sink = Sink::start(Script::default()).await;
    let email = transport(&sink.url(""), Duration::from_secs(5));
    for to in [
        "not-an-address",
        "ana@",
        "ana@example.org>\r\nBcc: x@y.example",
    ] {
        let sent = email.send(&message(to, TEXT, None)).await;
        assert_eq!(sent, Err(permanent("invalid-address")), "{to:?}");
    }
    assert_eq!(sink.log().connections, 0);
}

#[tokio::test]
async fn required_tls_is_not_skipped_when_the_relay_offers_none() {
    let sink = Sink::start(Script::default()).await;
    let email = transport(&sink.url("?tls=required"), Duration::from_secs(5));
    let sent = email.send(&message(TO, TEXT, None)).await;
    assert_eq!(sent, Err(transient("starttls-unavailable")));
    assert!(sink.log().messages.is_empty());
}

#[tokio::test]
async fn credentials_in_the_url_log_in() {
    let sink = Sink::start(Script::default()).await;
    let url = format!("smtp://careloop:p%40ss@{}", sink.address);
    transport(&url, Duration::from_secs(5))
        .send(&message(TO, TEXT, None))
        .await
        .unwrap();
    let plain = base64::engine::general_purpose::STANDARD.encode("\0careloop\0p@ss");
    assert!(
        sink.log().commands.contains(&format!("AUTH PLAIN {plain}")),
        "{:?}",
        sink.log().commands
    );
}
