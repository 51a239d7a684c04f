//! Text messages through Twilio's REST API (a local fake that speaks its wire format),
//! and Twilio's signed status callbacks: faults survived, forged callbacks refused,
//! statuses that only move forward, unknown outcomes settled by the callback.

use std::sync::Arc;
use std::time::Duration;

use careloop_channels::twilio::{Sender, TwilioConfig, TwilioSms};
use careloop_domain::{OrgId, ResourceId};
use careloop_engine::{Engine, Transports};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::fake_twilio::{ACCOUNT_SID, FakeTwilio, Fault, callback, nth_sid, post_signed};
use crate::harness::{TWILIO_AUTH_TOKEN, TestApp};

crate::on_both_backends!(
    a_text_goes_through_twilio_and_its_callbacks_move_it_forward,
    forged_and_malformed_callbacks_change_nothing,
    provider_faults_are_survived,
    an_unknown_outcome_waits_for_the_callback,
    twilio_21610_is_an_opt_out_of_the_number,
);

pub(crate) fn twilio_engine(app: &TestApp, fake: &FakeTwilio, timeout: Duration) -> Engine {
    let sms = TwilioSms::new(TwilioConfig {
        api_base: fake.base.clone(),
        account_sid: ACCOUNT_SID.to_owned(),
        auth_token: TWILIO_AUTH_TOKEN.to_owned(),
        sender: Sender::Number("+15550001111".to_owned()),
        status_callback: Some(app.url("/webhooks/twilio/status")),
        timeout,
    })
    .unwrap();
    app.engine.with_transports(Transports {
        sms: Arc::new(sms),
        email: app.sent.clone(),
    })
}

/// Puts the appointment `id` of patient p-tw, at 14:00 UTC on `day`.
async fn put_appointment(app: &TestApp, id: &str, status: &str, day: &str) {
    let appointment = json!({
        "resourceType": "Appointment", "id": id, "status": status,
        "start": format!("{day}T14:00:00Z"), "end": format!("{day}T14:30:00Z"),
        "participant": [{"actor": {"reference": "Patient/p-tw"}, "status": "needs-action"}]
    });
    let (status, _) = app
        .put(&format!("/fhir/Appointment/{id}"), &appointment)
        .await;
    assert!(status.is_success(), "{status}");
}

async fn book(app: &TestApp) {
    app.clock.set("2026-03-02T15:00:00Z".parse().unwrap());
    let patient = json!({
        "resourceType": "Patient", "id": "p-tw",
        "telecom": [{"system": "phone", "value": "+1 617 555 0199", "use": "mobile"}]
    });
    assert!(app.put("/fhir/Patient/p-tw", &patient).await.0.is_success());
    put_appointment(app, "a-tw", "booked", "2026-03-10").await;
}

async fn run(engine: &Engine, app: &TestApp, at: &str) {
    app.clock.set(at.parse().unwrap());
    engine.run_until_idle().await.unwrap();
}

async fn communication(app: &TestApp) -> Value {
    let (status, bundle) = app.get("/fhir/Communication?patient=p-tw").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(bundle["total"], 1, "{bundle}");
    bundle["entry"][0]["resource"].clone()
}

fn extension<'a>(resource: &'a Value, name: &str) -> Option<&'a Value> {
    resource["extension"]
        .as_array()?
        .iter()
        .find(|e| e["url"].as_str().unwrap().ends_with(name))
}

fn delivery(resource: &Value) -> String {
    extension(resource, "delivery-status").unwrap()["valueCode"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn a_text_goes_through_twilio_and_its_callbacks_move_it_forward(app: &TestApp) {
    let fake = FakeTwilio::start().await;
    let engine = twilio_engine(app, &fake, Duration::from_secs(5));
    book(app).await;
    run(&engine, app, "2026-03-02T15:00:00Z").await;

    let received = fake.received();
    assert_eq!(received.len(), 1);
    let message = &received[0];
    assert_eq!(message.get("To"), Some("+16175550199"));
    assert_eq!(message.get("From"), Some("+15550001111"));
    assert!(message.get("Body").unwrap().contains("Riverside Clinic"));
    let record = communication(app).await;
    let own_id = record["id"].as_str().unwrap();
    assert_eq!(
        message.get("StatusCallback").unwrap(),
        app.url(&format!("/webhooks/twilio/status?m={own_id}"))
    );
    assert_eq!(delivery(&record), "accepted");
    assert_eq!(
        extension(&record, "provider-id").unwrap()["valueString"],
        nth_sid(1)
    );

    let org = OrgId::default_org();
    let raw = |resource_type: &'static str, id: &str| {
        let id = ResourceId::parse(id).unwrap();
        let store = app.store.clone();
        let org = org.clone();
        async move {
            store
                .raw_row(&org, resource_type, &id)
                .await
                .unwrap()
                .unwrap()
        }
    };
    let version = |record: &Value| -> u32 {
        record["meta"]["versionId"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap()
    };
    let with_status = |status: &'static str| async move {
        let (_, bundle) = app
            .get(&format!("/fhir/Communication?patient=p-tw&status={status}"))
            .await;
        bundle["total"].as_u64().unwrap()
    };
    // Accepted, sent and delivered, the message's outbox row records the news: the
    // Communication as stored is left as it was, and what a client reads and searches
    // shows the news, with a version that moved.
    let stored = raw("Communication", own_id).await.version;
    let mut shown = version(&record);
    let sid = nth_sid(1);
    for status in ["sent", "delivered"] {
        assert_eq!(
            callback(message, &sid, status, None, TWILIO_AUTH_TOKEN).await,
            StatusCode::NO_CONTENT
        );
        let record = communication(app).await;
        assert_eq!(delivery(&record), status);
        assert!(version(&record) > shown, "{record}");
        shown = version(&record);
        assert_eq!(
            extension(&record, "provider-id").unwrap()["valueString"],
            nth_sid(1)
        );
        assert!(record["sent"].is_string(), "{record}");
        assert_eq!(raw("Communication", own_id).await.version, stored);
        let searched = (
            with_status("in-progress").await,
            with_status("completed").await,
        );
        if status == "sent" {
            assert_eq!(searched, (1, 0));
        } else {
            assert_eq!(searched, (0, 1));
        }
    }
    // Late and repeated reports change nothing.
    for status in ["sent", "delivered", "queued"] {
        assert_eq!(
            callback(message, &sid, status, None, TWILIO_AUTH_TOKEN).await,
            StatusCode::NO_CONTENT
        );
    }
    let record = communication(app).await;
    assert_eq!(delivery(&record), "delivered");
    assert_eq!(record["status"], "completed");
    // The message is sealed under its patient's key.
    let message_row = raw("Communication", record["id"].as_str().unwrap()).await;
    let patient_row = raw("Patient", "p-tw").await;
    assert_eq!(message_row.version, stored);
    assert!(message_row.key_id.is_some());
    assert_eq!(message_row.key_id, patient_row.key_id);
}

async fn forged_and_malformed_callbacks_change_nothing(app: &TestApp) {
    let fake = FakeTwilio::start().await;
    let engine = twilio_engine(app, &fake, Duration::from_secs(5));
    book(app).await;
    run(&engine, app, "2026-03-02T15:00:00Z").await;
    let message = &fake.received()[0];
    let before = communication(app).await;

    // Signed with another token.
    assert_eq!(
        callback(
            message,
            &nth_sid(1),
            "failed",
            Some("30003"),
            "not-the-token"
        )
        .await,
        StatusCode::FORBIDDEN
    );
    // Signed, then tampered with.
    let url = message.get("StatusCallback").unwrap();
    let params = vec![
        ("MessageSid".to_owned(), nth_sid(1)),
        ("MessageStatus".to_owned(), "delivered".to_owned()),
    ];
    let signature = careloop_channels::twilio::signature::sign(TWILIO_AUTH_TOKEN, url, &params);
    let response = reqwest::Client::new()
        .post(url)
        .header("content-type", "application/x-www-form-urlencoded")
        .header("x-twilio-signature", signature)
        .body(format!("MessageSid={}&MessageStatus=failed", nth_sid(1)))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    // No signature at all.
    let response = reqwest::Client::new()
        .post(url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("MessageSid={}&MessageStatus=failed", nth_sid(1)))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    // Signed but malformed.
    let missing_sid = vec![("MessageStatus".to_owned(), "delivered".to_owned())];
    assert_eq!(
        post_signed(url, &missing_sid, TWILIO_AUTH_TOKEN).await,
        StatusCode::BAD_REQUEST
    );
    let bad_status = vec![
        ("MessageSid".to_owned(), nth_sid(1)),
        ("MessageStatus".to_owned(), "exploded".to_owned()),
    ];
    assert_eq!(
        post_signed(url, &bad_status, TWILIO_AUTH_TOKEN).await,
        StatusCode::BAD_REQUEST
    );
    let mut after = communication(app).await;
    let mut before = before;
    for resource in [&mut before, &mut after] {
        resource.as_object_mut().unwrap().remove("meta");
    }
    assert_eq!(after, before);
}

async fn provider_faults_are_survived(app: &TestApp) {
    let fake = FakeTwilio::start().await;
    let engine = twilio_engine(app, &fake, Duration::from_secs(5));
    fake.fail_next(Fault::Status(500, None, 20500));
    fake.fail_next(Fault::Status(429, Some(600), 20429));
    book(app).await;
    run(&engine, app, "2026-03-02T15:00:00Z").await;
    assert!(fake.received().is_empty());
    // After the 500: a retry within a minute, which meets the 429.
    run(&engine, app, "2026-03-02T15:01:00Z").await;
    assert!(fake.received().is_empty());
    // Retry-After: 600 seconds.
    run(&engine, app, "2026-03-02T15:09:00Z").await;
    assert!(fake.received().is_empty());
    run(&engine, app, "2026-03-02T15:11:30Z").await;
    assert_eq!(fake.received().len(), 1);
    assert_eq!(delivery(&communication(app).await), "accepted");

    // Nothing listens at this address: the connection is refused, and the message
    // waits, queued, for a retry.
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = closed.local_addr().unwrap();
    drop(closed);
    let refused = TwilioSms::new(TwilioConfig {
        api_base: format!("http://{address}"),
        account_sid: ACCOUNT_SID.to_owned(),
        auth_token: TWILIO_AUTH_TOKEN.to_owned(),
        sender: Sender::Number("+15550001111".to_owned()),
        status_callback: None,
        timeout: Duration::from_secs(5),
    })
    .unwrap();
    let engine_refused = app.engine.with_transports(Transports {
        sms: Arc::new(refused),
        email: app.sent.clone(),
    });
    put_appointment(app, "a-tw", "cancelled", "2026-03-10").await;
    run(&engine_refused, app, "2026-03-02T16:00:00Z").await;
    let (_, bundle) = app
        .get("/fhir/Communication?patient=p-tw&status=preparation")
        .await;
    assert_eq!(bundle["total"], 1, "{bundle}");
    // The provider is back: the notice goes.
    run(&engine, app, "2026-03-02T17:00:00Z").await;
    assert_eq!(fake.received().len(), 2);

    // A number Twilio calls invalid is a final failure, with its code.
    fake.fail_next(Fault::Status(400, None, 21211));
    put_appointment(app, "a-tw2", "booked", "2026-03-12").await;
    run(&engine, app, "2026-03-02T18:00:00Z").await;
    run(&engine, app, "2026-03-03T18:00:00Z").await;
    let (_, bundle) = app
        .get("/fhir/Communication?patient=p-tw&status=not-done")
        .await;
    assert_eq!(bundle["total"], 1, "{bundle}");
    let failed = &bundle["entry"][0]["resource"];
    assert_eq!(
        extension(failed, "error-code").unwrap()["valueString"],
        "21211"
    );
}

async fn an_unknown_outcome_waits_for_the_callback(app: &TestApp) {
    let fake = FakeTwilio::start().await;
    // Twilio takes the message but never answers: careloop cannot know it was sent.
    fake.fail_next(Fault::Hold);
    let engine = twilio_engine(app, &fake, Duration::from_millis(300));
    book(app).await;
    run(&engine, app, "2026-03-02T15:00:00Z").await;
    assert_eq!(fake.received().len(), 1);
    assert_eq!(delivery(&communication(app).await), "unknown");
    // Not resent while the callback may still come.
    run(&engine, app, "2026-03-02T15:05:00Z").await;
    assert_eq!(fake.received().len(), 1);
    // It comes, naming the message by careloop's id in the callback URL.
    let message = &fake.received()[0];
    assert_eq!(
        callback(message, &nth_sid(1), "delivered", None, TWILIO_AUTH_TOKEN).await,
        StatusCode::NO_CONTENT
    );
    assert_eq!(delivery(&communication(app).await), "delivered");
    run(&engine, app, "2026-03-02T16:00:00Z").await;
    assert_eq!(fake.received().len(), 1);
}

async fn twilio_21610_is_an_opt_out_of_the_number(app: &TestApp) {
    let fake = FakeTwilio::start().await;
    let engine = twilio_engine(app, &fake, Duration::from_secs(5));
    // The patient texted STOP to the clinic's number straight: Twilio refuses the
    // booking confirmation.
    fake.fail_next(Fault::Status(400, None, 21610));
    book(app).await;
    run(&engine, app, "2026-03-02T15:00:00Z").await;
    let failed = communication(app).await;
    assert_eq!(delivery(&failed), "failed");
    let (_, consents) = app.get("/fhir/Consent?patient=p-tw").await;
    assert_eq!(consents["total"], 1, "{consents}");
    assert_eq!(
        consents["entry"][0]["resource"]["provision"]["type"],
        "deny"
    );
    // careloop stops trying the number: the next message is held back, not sent.
    let sent = fake.received().len();
    assert!(app.delete("/fhir/Appointment/a-tw").await.is_success());
    run(&engine, app, "2026-03-02T15:05:00Z").await;
    assert_eq!(fake.received().len(), sent);
}
