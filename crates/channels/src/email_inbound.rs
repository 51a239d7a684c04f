//! Email a patient sends, as an inbound-mail service hands it over: Postmark's inbound
//! JSON, or the raw RFC 5322 message (as Mailgun, SendGrid or a local MTA's pipe give
//! it). Either way careloop keeps who sent it, its Message-ID (to handle a retry once)
//! and the text the patient wrote, without the quoted message they answered.

use base64::Engine as _;
use serde::Deserialize;

/// An email as careloop reads it.
#[derive(Clone, PartialEq, Eq)]
pub struct InboundEmail {
    /// The sender's address.
    pub from: String,
    pub message_id: String,
    pub subject: String,
    /// What the patient wrote, quoted text left out.
    pub text: String,
}

/// The address and text are health data: never printed.
impl std::fmt::Debug for InboundEmail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InboundEmail")
            .field("message_id", &self.message_id)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum BadEmail {
    #[error("the body is not Postmark's inbound JSON: {0}")]
    Json(String),
    #[error("the message has no {0} header")]
    Missing(&'static str),
    #[error("the message has no sender address")]
    NoSender,
    #[error("the message has no text part")]
    NoText,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Postmark {
    from: Option<String>,
    from_full: Option<PostmarkAddress>,
    #[serde(rename = "MessageID")]
    message_id: Option<String>,
    subject: Option<String>,
    text_body: Option<String>,
    stripped_text_reply: Option<String>,
    headers: Option<Vec<PostmarkHeader>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct PostmarkAddress {
    email: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct PostmarkHeader {
    name: String,
    value: String,
}

/// Postmark's inbound webhook body. Its `MessageID` is Postmark's own; the sender's
/// `Message-ID` header is preferred when the headers carry it.
pub fn from_postmark(body: &[u8]) -> Result<InboundEmail, BadEmail> {
    let mail: Postmark =
        serde_json::from_slice(body).map_err(|e| BadEmail::Json(where_wrong(&e)))?;
    let from = mail
        .from_full
        .map(|f| f.email)
        .or_else(|| mail.from.as_deref().and_then(address_in))
        .filter(|f| f.contains('@'))
        .ok_or(BadEmail::NoSender)?;
    let header_id = mail.headers.iter().flatten().find_map(|h| {
        h.name
            .eq_ignore_ascii_case("Message-ID")
            .then(|| h.value.trim().to_owned())
    });
    let message_id = header_id
        .or(mail.message_id)
        .filter(|id| !id.is_empty())
        .ok_or(BadEmail::Missing("MessageID"))?;
    let text = match mail.stripped_text_reply.filter(|t| !t.trim().is_empty()) {
        Some(stripped) => stripped,
        None => without_quotes(&mail.text_body.ok_or(BadEmail::NoText)?),
    };
    Ok(InboundEmail {
        from: from.to_lowercase(),
        message_id,
        subject: mail.subject.unwrap_or_default(),
        text: text.trim().to_owned(),
    })
}

/// What is wrong with a body that is not the JSON expected, and where: never the value
/// itself, which serde would quote ("invalid type: string \"ana@…\"") and which may be a
/// patient's address or words.
fn where_wrong(error: &serde_json::Error) -> String {
    use serde_json::error::Category;
    let what = match error.classify() {
        Category::Eof => "it ends too soon",
        Category::Syntax | Category::Io => "it is not JSON",
        Category::Data => "a field has the wrong type",
    };
    format!("{what} (line {}, column {})", error.line(), error.column())
}

/// A raw RFC 5322 message: its headers, and its first `text/plain` part (the whole body
/// when it is not multipart), decoded from quoted-printable or base64.
pub fn from_rfc5322(raw: &[u8]) -> Result<InboundEmail, BadEmail> {
    let text = String::from_utf8_lossy(raw).replace("\r\n", "\n");
    let (head, body) = text.split_once("\n\n").unwrap_or((&text, ""));
    let headers = unfold(head);
    let header = |name: &str| header(&headers, name);
    let from = header("From")
        .and_then(address_in)
        .ok_or(BadEmail::NoSender)?;
    let message_id = header("Message-ID")
        .map(str::trim)
        .filter(|id| !id.is_empty())
        .ok_or(BadEmail::Missing("Message-ID"))?
        .to_owned();
    let plain = text_part(&headers, body, 0).ok_or(BadEmail::NoText)?;
    Ok(InboundEmail {
        from: from.to_lowercase(),
        message_id,
        subject: header("Subject").unwrap_or_default().trim().to_owned(),
        text: without_quotes(&plain).trim().to_owned(),
    })
}

/// Header lines with their continuation lines joined (RFC 5322 §2.2.3).
fn unfold(head: &str) -> Vec<(String, String)> {
    let mut headers: Vec<(String, String)> = Vec::new();
    for line in head.lines() {
        if line.starts_with([' ', '\t']) {
            if let Some((_, value)) = headers.last_mut() {
                value.push(' ');
                value.push_str(line.trim());
            }
        } else if let Some((name, value)) = line.split_once(':') {
            headers.push((name.trim().to_owned(), value.trim().to_owned()));
        }
    }
    headers
}

/// The value of the first header of this name.
fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// Parts within parts read at most: real mail nests two or three deep, and a message
/// built to nest without end must not exhaust the stack.
const MOST_NESTED: usize = 8;

/// The text of a body with these headers: itself when `text/plain`, its first
/// `text/plain` part (searched depth first) when multipart.
fn text_part(headers: &[(String, String)], body: &str, depth: usize) -> Option<String> {
    let content_type = header(headers, "Content-Type").unwrap_or("text/plain");
    let kind = content_type.split(';').next()?.trim().to_ascii_lowercase();
    if kind == "text/plain" {
        let encoding = header(headers, "Content-Transfer-Encoding").unwrap_or("7bit");
        return Some(decode(encoding, body));
    }
    if !kind.starts_with("multipart/") || depth >= MOST_NESTED {
        return None;
    }
    let boundary = parameter(content_type, "boundary")?;
    let delimiter = format!("--{boundary}");
    body.split(&delimiter)
        .skip(1)
        .take_while(|part| !part.starts_with("--"))
        .find_map(|part| {
            let part = part.strip_prefix('\n').unwrap_or(part);
            let (head, body) = part.split_once("\n\n").unwrap_or((part, ""));
            text_part(&unfold(head), body, depth + 1)
        })
}

/// A parameter of a header value (`boundary="abc"`).
fn parameter(value: &str, name: &str) -> Option<String> {
    value.split(';').skip(1).find_map(|p| {
        let (key, v) = p.split_once('=')?;
        key.trim()
            .eq_ignore_ascii_case(name)
            .then(|| v.trim().trim_matches('"').to_owned())
    })
}

fn decode(encoding: &str, body: &str) -> String {
    match encoding.trim().to_ascii_lowercase().as_str() {
        "quoted-printable" => quoted_printable(body),
        "base64" => {
            let compact: String = body.chars().filter(|c| !c.is_whitespace()).collect();
            base64::engine::general_purpose::STANDARD
                .decode(compact)
                .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
                .unwrap_or_default()
        }
        _ => body.to_owned(),
    }
}

/// RFC 2045 §6.7: `=XX` is a byte, `=` at a line's end joins it to the next.
fn quoted_printable(body: &str) -> String {
    let mut bytes = Vec::with_capacity(body.len());
    let mut lines = body.split('\n').peekable();
    while let Some(line) = lines.next() {
        let line = line.trim_end_matches([' ', '\t', '\r']);
        let (line, soft) = match line.strip_suffix('=') {
            Some(joined) => (joined, true),
            None => (line, false),
        };
        let raw = line.as_bytes();
        let mut i = 0;
        while i < raw.len() {
            let hex = raw
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok());
            match (raw[i], hex) {
                (b'=', Some(byte)) => {
                    bytes.push(byte);
                    i += 3;
                }
                (byte, _) => {
                    bytes.push(byte);
                    i += 1;
                }
            }
        }
        if !soft && lines.peek().is_some() {
            bytes.push(b'\n');
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

/// The address in `Name <address>` or a bare `address`.
fn address_in(value: &str) -> Option<String> {
    let address = match (value.rfind('<'), value.rfind('>')) {
        (Some(open), Some(close)) if open < close => &value[open + 1..close],
        _ => value,
    };
    let address = address.trim();
    (address.contains('@') && !address.contains(char::is_whitespace)).then(|| address.to_owned())
}

/// The patient's own words: the quoted message they answered left out (lines quoted
/// with `>`, and everything from an attribution line such as "On … wrote:" or a
/// forwarded-message separator on).
fn without_quotes(text: &str) -> String {
    let mut kept = Vec::new();
    for line in text.lines() {
        let trimmed = line.trim();
        let attribution = (trimmed.starts_with("On ") && trimmed.ends_with("wrote:"))
            || (trimmed.starts_with("El ") && trimmed.ends_with("escribió:"))
            || trimmed.starts_with("-----Original Message-----")
            || trimmed.starts_with("-----Mensaje original-----");
        if attribution {
            break;
        }
        if !trimmed.starts_with('>') {
            kept.push(line);
        }
    }
    kept.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn postmark_json_reads_the_sender_id_and_stripped_reply() {
        let body = br#"{
            "From": "Ana Ruiz <ana@example.org>",
            "FromFull": {"Email": "Ana@Example.org", "Name": "Ana Ruiz"},
            "MessageID": "22c74902-a0c1-4511-804f-341342852c90",
            "Subject": "Re: Your appointment",
            "TextBody": "C\n\nOn Mon, Mar 9, 2026 Riverside Clinic wrote:\n> Reply C to confirm",
            "StrippedTextReply": "",
            "Headers": [{"Name": "Message-ID", "Value": "<CAF=abc@mail.example.org>"}]
        }"#;
        let mail = from_postmark(body).unwrap();
        assert_eq!(mail.from, "ana@example.org");
        assert_eq!(mail.message_id, "<CAF=abc@mail.example.org>");
        assert_eq!(mail.subject, "Re: Your appointment");
        assert_eq!(mail.text, "C", "the quoted reminder is left out");
        assert!(!format!("{mail:?}").contains("ana@"));
    }

    #[test]
    fn postmark_without_a_header_id_uses_its_own() {
        let body = br#"{"From": "bo@example.org", "MessageID": "pm-1", "TextBody": "Hello"}"#;
        let mail = from_postmark(body).unwrap();
        assert_eq!(
            (mail.from.as_str(), mail.message_id.as_str()),
            ("bo@example.org", "pm-1")
        );
        assert_eq!(
            from_postmark(b"{"),
            Err(BadEmail::Json("it ends too soon (line 1, column 1)".into()))
        );
        // A value in the wrong place is not repeated in the error (nor in the log).
        let wrong = from_postmark(br#"{"FromFull": "ana@example.org", "MessageID": "x"}"#);
        let said = wrong.unwrap_err().to_string();
        assert!(said.contains("a field has the wrong type"), "{said}");
        assert!(!said.contains("ana@"), "{said}");
        assert_eq!(
            from_postmark(br#"{"From": "nobody", "MessageID": "x", "TextBody": "t"}"#),
            Err(BadEmail::NoSender)
        );
        assert_eq!(
            from_postmark(br#"{"From": "a@b.c", "TextBody": "t"}"#),
            Err(BadEmail::Missing("MessageID"))
        );
    }

    #[test]
    fn a_raw_multipart_message_gives_its_plain_text_part_decoded() {
        let raw = "From: \"Ana Ruiz\" <ana@example.org>\r\n\
            To: clinic@riverside.example\r\n\
            Subject: Re: Your\r\n appointment\r\n\
            Message-ID: <m1@example.org>\r\n\
            MIME-Version: 1.0\r\n\
            Content-Type: multipart/alternative; boundary=\"b1\"\r\n\
            \r\n\
            --b1\r\n\
            Content-Type: text/plain; charset=utf-8\r\n\
            Content-Transfer-Encoding: quoted-printable\r\n\
            \r\n\
            Necesito cambiar la cita, =C2=BFse puede el viernes? Es una l=\r\n\
            =C3=ADnea larga.\r\n\
            \r\n\
            El lun, 9 mar 2026, Riverside Clinic escribió:\r\n\
            > Responda C\r\n\
            --b1\r\n\
            Content-Type: text/html\r\n\
            \r\n\
            <p>Necesito</p>\r\n\
            --b1--\r\n";
        let mail = from_rfc5322(raw.as_bytes()).unwrap();
        assert_eq!(mail.from, "ana@example.org");
        assert_eq!(mail.message_id, "<m1@example.org>");
        assert_eq!(mail.subject, "Re: Your appointment");
        assert_eq!(
            mail.text,
            "Necesito cambiar la cita, ¿se puede el viernes? Es una línea larga."
        );
    }

    #[test]
    fn a_raw_single_part_message_in_base64() {
        let raw = "From: bo@example.org\nMessage-ID: <m2@example.org>\n\
            Content-Type: text/plain\nContent-Transfer-Encoding: base64\n\nU1RPUA==\n";
        assert_eq!(from_rfc5322(raw.as_bytes()).unwrap().text, "STOP");
        assert_eq!(
            from_rfc5322(b"Subject: hi\n\nno sender"),
            Err(BadEmail::NoSender)
        );
        assert_eq!(
            from_rfc5322(b"From: a@b.c\n\nno id"),
            Err(BadEmail::Missing("Message-ID"))
        );
        let html_only = "From: a@b.c\nMessage-ID: <x>\nContent-Type: text/html\n\n<p>hi</p>";
        assert_eq!(from_rfc5322(html_only.as_bytes()), Err(BadEmail::NoText));
    }

    #[test]
    fn parts_nested_without_end_are_not_followed() {
        let mut raw = String::from("From: a@b.c\nMessage-ID: <deep>\n");
        for n in 0..10_000 {
            raw.push_str(&format!(
                "Content-Type: multipart/mixed; boundary=\"b{n}\"\n\n--b{n}\n"
            ));
        }
        raw.push_str("Content-Type: text/plain\n\nburied");
        assert_eq!(from_rfc5322(raw.as_bytes()), Err(BadEmail::NoText));
        // Two levels, as real mail nests, are read.
        let two = "From: a@b.c\nMessage-ID: <two>\n\
            Content-Type: multipart/mixed; boundary=\"o\"\n\n--o\n\
            Content-Type: multipart/alternative; boundary=\"i\"\n\n--i\n\
            Content-Type: text/plain\n\nfound\n--i--\n--o--\n";
        assert_eq!(from_rfc5322(two.as_bytes()).unwrap().text, "found");
    }
}
