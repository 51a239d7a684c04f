//! Turning an outbound message into an email: multipart/alternative with the text and
//! an HTML rendering of it, UTF-8 throughout, and a Message-ID careloop chooses so the
//! message can be named later.

use lettre::message::header::ContentType;
use lettre::message::{Mailbox, MultiPart, SinglePart};
use lettre::{Address, Message};

use crate::transport::Outbound;

/// The subject of an email whose message has none.
const DEFAULT_SUBJECT: &str = "A message from your clinic";

/// Who messages come from: an address, with a name if given
/// (`Clinic <noreply@clinic.example>`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FromAddress(Mailbox);

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("'{0}' is not an email address such as Clinic <noreply@clinic.example>")]
pub struct BadFromAddress(String);

impl FromAddress {
    pub fn parse(value: &str) -> Result<Self, BadFromAddress> {
        value
            .trim()
            .parse::<Mailbox>()
            .map(Self)
            .map_err(|_| BadFromAddress(value.to_owned()))
    }

    pub fn address(&self) -> &Address {
        &self.0.email
    }
}

impl std::str::FromStr for FromAddress {
    type Err = BadFromAddress;

    fn from_str(value: &str) -> Result<Self, BadFromAddress> {
        Self::parse(value)
    }
}

impl std::fmt::Display for FromAddress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// Why a message cannot become an email; sending again will not help.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Unsendable {
    /// The recipient's address does not parse.
    Recipient,
    /// lettre refused the headers (it needs exactly one From and a recipient).
    Message,
}

/// One email, ready for the wire.
pub(super) struct Composed {
    pub recipient: Address,
    /// `<{message id}@{sender's domain}>`, as in the header.
    pub message_id: String,
    /// The whole message, CRLF line endings, 7-bit: lettre encodes UTF-8 bodies as
    /// quoted-printable or base64 and UTF-8 headers as RFC 2047 words.
    pub bytes: Vec<u8>,
}

pub(super) fn compose(message: &Outbound, from: &FromAddress) -> Result<Composed, Unsendable> {
    let recipient: Address = message
        .to
        .trim()
        .parse()
        .map_err(|_| Unsendable::Recipient)?;
    let message_id = message_id(&message.id, from.address().domain());
    let html = match &message.html {
        Some(html) => html.clone(),
        None => text_to_html(&message.text),
    };
    let email = Message::builder()
        .from(from.0.clone())
        .to(Mailbox::new(None, recipient.clone()))
        .subject(message.subject.as_deref().unwrap_or(DEFAULT_SUBJECT))
        .message_id(Some(message_id.clone()))
        .multipart(
            MultiPart::alternative()
                .singlepart(
                    SinglePart::builder()
                        .header(ContentType::TEXT_PLAIN)
                        .body(message.text.clone()),
                )
                .singlepart(
                    SinglePart::builder()
                        .header(ContentType::TEXT_HTML)
                        .body(html),
                ),
        )
        .map_err(|_| Unsendable::Message)?;
    Ok(Composed {
        recipient,
        message_id,
        bytes: email.formatted(),
    })
}

/// A Message-ID from careloop's id of the message. Characters a Message-ID cannot hold
/// become `-` (careloop's ids are letters, digits, `-` and `.`).
pub(super) fn message_id(id: &str, domain: &str) -> String {
    let local: String = id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~.".contains(c) {
                c
            } else {
                '-'
            }
        })
        .collect();
    format!("<{local}@{domain}>")
}

/// The text as HTML: everything escaped (it may quote patient data), paragraphs split at
/// blank lines, line breaks kept.
pub fn text_to_html(text: &str) -> String {
    let mut html =
        String::from("<!DOCTYPE html>\n<html>\n<head><meta charset=\"utf-8\"></head>\n<body>\n");
    let mut paragraph: Vec<&str> = Vec::new();
    for line in text.lines().chain(std::iter::once("")) {
        if !line.trim().is_empty() {
            paragraph.push(line);
            continue;
        }
        if paragraph.is_empty() {
            continue;
        }
        html.push_str("<p>");
        for (i, line) in paragraph.drain(..).enumerate() {
            if i > 0 {
                html.push_str("<br>\n");
            }
            escape_into(&mut html, line);
        }
        html.push_str("</p>\n");
    }
    html.push_str("</body>\n</html>\n");
    html
}

fn escape_into(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(html: &str) -> &str {
        let start = html.find("<body>\n").unwrap() + "<body>\n".len();
        let end = html.find("</body>").unwrap();
        &html[start..end]
    }

    #[test]
    fn paragraphs_and_line_breaks() {
        let html = text_to_html("Hola Ana,\r\nmañana a las 9.\n\n\n  \nGracias\n");
        assert_eq!(
            body(&html),
            "<p>Hola Ana,<br>\nmañana a las 9.</p>\n<p>Gracias</p>\n"
        );
    }

    #[test]
    fn everything_is_escaped() {
        let html = text_to_html("<script>alert('x')</script> & \"y\"");
        assert_eq!(
            body(&html),
            "<p>&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;y&quot;</p>\n"
        );
    }

    #[test]
    fn message_ids_hold_only_what_they_may() {
        assert_eq!(
            message_id("c-1.2", "clinic.example"),
            "<c-1.2@clinic.example>"
        );
        assert_eq!(message_id("a b<c>@d", "x.example"), "<a-b-c--d@x.example>");
    }

    #[test]
    fn from_takes_a_name_or_a_bare_address() {
        let named = FromAddress::parse("Clínica Sol <citas@sol.example>").unwrap();
        assert_eq!(named.address().domain(), "sol.example");
        assert!(FromAddress::parse("citas@sol.example").is_ok());
        assert!(FromAddress::parse("not an address").is_err());
    }
}
