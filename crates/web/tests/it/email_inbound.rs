//! Email a patient sends, through the inbound webhook, on both databases: Postmark's
//! JSON and a raw RFC 5322 message are read like a text, threaded to the patient by
//! address; the same Message-ID twice is handled once; a request without the secret, or
//! a malformed one, changes nothing.

use careloop_domain::journey::Channel;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::harness::{EMAIL_INBOUND_SECRET, TestApp};
use crate::messaging::{at, booked, communications};

crate::on_both_backends!(
    an_emailed_c_confirms_and_other_email_is_kept,
    unauthenticated_or_malformed_email_changes_nothing,
);

pub(crate) async fn post(
    app: &TestApp,
    content_type: &str,
    body: Vec<u8>,
    password: Option<&str>,
) -> StatusCode {
    let mut request = app
        .client
        .post(app.url("/webhooks/email/inbound"))
        .header("content-type", content_type)
        .body(body);
    if let Some(password) = password {
        request = request.basic_auth("inbound", Some(password));
    }
    request.send().await.unwrap().status()
}

pub(crate) fn postmark(message_id: &str, from: &str, text: &str) -> Vec<u8> {
    json!({
        "From": format!("Ana Ruiz <{from}>"),
        "FromFull": {"Email": from, "Name": "Ana Ruiz"},
        "MessageID": message_id,
        "Subject": "Re: Your appointment",
        "TextBody": format!("{text}\n\nOn Mon, Riverside Clinic wrote:\n> Reply C to confirm"),
        "StrippedTextReply": "",
        "Headers": [],
    })
    .to_string()
    .into_bytes()
}

fn emails_from_ana(messages: &[Value]) -> Vec<Value> {
    messages
        .iter()
        .filter(|m| m.get("sender").is_some())
        .filter(|m| m["medium"][0]["coding"][0]["code"] == "EMAILWRIT")
        .cloned()
        .collect()
}

/// Booked, and reminded 72 hours before.
async fn booked_and_reminded(app: &TestApp) {
    booked(app).await;
    at(app, "2026-03-07T14:00:00Z").await;
}

async fn an_emailed_c_confirms_and_other_email_is_kept(app: &TestApp) {
    booked_and_reminded(app).await;
    let c = postmark("pm-0001", "Ana@Example.org", "C");
    assert_eq!(
        post(
            app,
            "application/json",
            c.clone(),
            Some(EMAIL_INBOUND_SECRET)
        )
        .await,
        StatusCode::OK
    );
    let (_, confirmed) = app.get("/fhir/Appointment/appt-1").await;
    assert_eq!(confirmed["participant"][0]["status"], "accepted");
    let answered = at(app, "2026-03-07T14:00:00Z").await;
    assert!(
        answered
            .iter()
            .any(|(channel, to, _)| *channel == Channel::Email && to == "ana@example.org"),
        "{answered:?}"
    );
    // Postmark retries: the same message is handled once.
    assert_eq!(
        post(app, "application/json", c, Some(EMAIL_INBOUND_SECRET)).await,
        StatusCode::OK
    );
    assert!(at(app, "2026-03-07T14:00:00Z").await.is_empty());
    let kept = emails_from_ana(&communications(app).await);
    assert_eq!(kept.len(), 1);
    assert_eq!(
        kept[0]["payload"][0]["contentString"], "C",
        "the quote is left out"
    );

    // A raw message, multipart, quoted-printable: kept for staff and acknowledged.
    let raw = "From: Ana Ruiz <ana@example.org>\r\n\
        Subject: Parking\r\n\
        Message-ID: <raw-1@example.org>\r\n\
        Content-Type: multipart/alternative; boundary=\"b\"\r\n\r\n\
        --b\r\nContent-Type: text/plain; charset=utf-8\r\n\
        Content-Transfer-Encoding: quoted-printable\r\n\r\n\
        =C2=BFHay estacionamiento? <script>alert(1)</script>\r\n\
        --b--\r\n";
    assert_eq!(
        post(
            app,
            "message/rfc822",
            raw.as_bytes().to_vec(),
            Some(EMAIL_INBOUND_SECRET)
        )
        .await,
        StatusCode::OK
    );
    let acknowledged = at(app, "2026-03-07T14:00:00Z").await;
    assert_eq!(acknowledged.len(), 1, "{acknowledged:?}");
    let kept = emails_from_ana(&communications(app).await);
    assert_eq!(kept.len(), 2);
    assert!(kept.iter().any(|m| {
        m["payload"][0]["contentString"] == "¿Hay estacionamiento? <script>alert(1)</script>"
    }));
    // An address no patient has is answered 200 and kept nowhere.
    let stranger = postmark("pm-0002", "someone@else.example", "C");
    assert_eq!(
        post(
            app,
            "application/json",
            stranger,
            Some(EMAIL_INBOUND_SECRET)
        )
        .await,
        StatusCode::OK
    );
    assert_eq!(emails_from_ana(&communications(app).await).len(), 2);
}

async fn unauthenticated_or_malformed_email_changes_nothing(app: &TestApp) {
    booked_and_reminded(app).await;
    let before = communications(app).await.len();
    let c = postmark("pm-1001", "ana@example.org", "C");
    for password in [None, Some("not-the-secret-at-all")] {
        assert_eq!(
            post(app, "application/json", c.clone(), password).await,
            StatusCode::UNAUTHORIZED,
            "{password:?}"
        );
    }
    for (content_type, body, status) in [
        (
            "application/json",
            b"{\"From\":".to_vec(),
            StatusCode::BAD_REQUEST,
        ),
        (
            "application/json",
            br#"{"From": "ana@example.org", "TextBody": "C"}"#.to_vec(),
            StatusCode::BAD_REQUEST,
        ),
        (
            "message/rfc822",
            b"Subject: hi\r\n\r\nC".to_vec(),
            StatusCode::BAD_REQUEST,
        ),
        ("image/png", c.clone(), StatusCode::UNSUPPORTED_MEDIA_TYPE),
    ] {
        assert_eq!(
            post(app, content_type, body, Some(EMAIL_INBOUND_SECRET)).await,
            status,
            "{content_type}"
        );
    }
    assert_eq!(communications(app).await.len(), before);
    let (_, appointment) = app.get("/fhir/Appointment/appt-1").await;
    assert_eq!(appointment["participant"][0]["status"], "needs-action");
}
