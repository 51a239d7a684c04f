//! `POST /fhir/CommunicationRequest`: a client asks careloop to send a patient one
//! message. The request is kept, the message is queued as a Communication based on it
//! and passes the same gates as every automated message; what cannot be sent is refused
//! at once with an OperationOutcome, and nothing is written.

use careloop_domain::journey::Channel;
use careloop_domain::phi::PhiLevel;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::harness::TestApp;
use crate::messaging::{PATIENT, appointment, patient, sent_now};

crate::on_both_backends!(
    a_request_is_kept_and_its_message_sent_through_the_gates,
    a_request_for_later_waits_for_its_time,
    clinical_detail_stays_off_channels_that_may_not_carry_it,
    a_retried_request_with_the_same_identifier_sends_once,
    requests_that_cannot_be_sent_are_refused_and_change_nothing,
    a_request_cannot_be_changed_or_deleted,
);

fn request(text: &str) -> Value {
    json!({
        "resourceType": "CommunicationRequest",
        "status": "active",
        "subject": {"reference": format!("Patient/{PATIENT}")},
        "payload": [{"contentString": text}],
    })
}

async fn ana(app: &TestApp) {
    let (status, _) = app
        .put(
            &format!("/fhir/Patient/{PATIENT}"),
            &patient("en", "America/New_York"),
        )
        .await;
    assert!(status.is_success(), "{status}");
}

/// The Communications based on a request.
async fn messages_of(app: &TestApp, request_id: &str) -> Vec<Value> {
    app.search(&format!(
        "/fhir/Communication?based-on=CommunicationRequest/{request_id}"
    ))
    .await
}

async fn a_request_is_kept_and_its_message_sent_through_the_gates(app: &TestApp) {
    ana(app).await;
    // 03:00 in Boston: the text waits for the end of quiet hours, like any other.
    app.clock.set("2026-03-02T08:00:00Z".parse().unwrap());
    let (status, headers, created) = app
        .send(
            app.request(Method::POST, "/fhir/CommunicationRequest")
                .json(&request("Please bring your insurance card on Tuesday.")),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = created["id"].as_str().unwrap().to_owned();
    let location = headers["location"].to_str().unwrap();
    assert!(
        location.contains(&format!("/fhir/CommunicationRequest/{id}/_history/1")),
        "{location}"
    );
    assert_eq!(sent_now(app).await, []);
    let queued = messages_of(app, &id).await;
    assert_eq!(queued.len(), 1);
    assert_eq!(queued[0]["status"], "preparation");
    assert_eq!(
        queued[0]["statusReason"]["text"],
        "quiet hours (21:00-08:00)"
    );
    app.clock.set("2026-03-02T13:00:00Z".parse().unwrap());
    assert_eq!(
        sent_now(app).await,
        [(
            Channel::Sms,
            "+16175550101".to_owned(),
            "Please bring your insurance card on Tuesday.".to_owned()
        )]
    );
    let done = messages_of(app, &id).await;
    // The provider took it.
    assert_eq!(done[0]["status"], "in-progress", "{}", done[0]);
    assert_eq!(done[0]["sent"], "2026-03-02T13:00:00.000Z");
    assert_eq!(
        done[0]["basedOn"][0]["reference"],
        format!("CommunicationRequest/{id}")
    );
    // The request itself reads back and is found by patient.
    let (status, read) = app.get(&format!("/fhir/CommunicationRequest/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        read["payload"][0]["contentString"],
        "Please bring your insurance card on Tuesday."
    );
    let (_, found) = app
        .get(&format!("/fhir/CommunicationRequest?patient={PATIENT}"))
        .await;
    assert_eq!(found["total"], 1, "{found}");
}

async fn a_request_for_later_waits_for_its_time(app: &TestApp) {
    ana(app).await;
    app.clock.set("2026-03-02T15:00:00Z".parse().unwrap());
    let mut body = request("Your forms are ready to sign at the front desk.");
    body["medium"] = json!([{"coding": [{
        "system": "http://terminology.hl7.org/CodeSystem/v3-ParticipationMode",
        "code": "EMAILWRIT"
    }]}]);
    body["occurrenceDateTime"] = json!("2026-03-03T15:00:00Z");
    let (status, created) = app.post("/fhir/CommunicationRequest", &body).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(sent_now(app).await, []);
    // A minute before its time it still waits.
    app.clock.set("2026-03-03T14:59:00Z".parse().unwrap());
    assert_eq!(sent_now(app).await, []);
    app.clock.set("2026-03-03T15:00:00Z".parse().unwrap());
    app.engine.run_until_idle().await.unwrap();
    let emails = app.sent.taken();
    assert_eq!(emails.len(), 1);
    assert_eq!(emails[0].channel, Channel::Email);
    assert_eq!(emails[0].to, "ana@example.org");
    assert_eq!(
        emails[0].subject.as_deref(),
        Some("A message from Riverside Clinic")
    );
}

async fn clinical_detail_stays_off_channels_that_may_not_carry_it(app: &TestApp) {
    ana(app).await;
    app.clock.set("2026-03-02T15:00:00Z".parse().unwrap());
    let mut body = request("Your biopsy result is ready.");
    body["meta"] = json!({"security": [{
        "system": "http://terminology.hl7.org/CodeSystem/v3-Confidentiality",
        "code": "R"
    }]});
    let (status, created) = app.post("/fhir/CommunicationRequest", &body).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(sent_now(app).await, []);
    let held = messages_of(app, created["id"].as_str().unwrap()).await;
    assert_eq!(held[0]["status"], "not-done");
    assert_eq!(
        held[0]["statusReason"]["text"],
        "the message carries clinical health information; a text message may carry limited at most"
    );
    // A clinic whose email may carry clinical detail sends the same request by email.
    let mut settings = app.engine.settings().clone();
    settings.phi.email = PhiLevel::Clinical;
    let engine = app.engine.with_settings(settings);
    body["medium"] = json!([{"coding": [{"code": "EMAILWRIT"}]}]);
    let (status, _) = app.post("/fhir/CommunicationRequest", &body).await;
    assert_eq!(status, StatusCode::CREATED);
    engine.run_until_idle().await.unwrap();
    let sent = app.sent.taken();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].channel, Channel::Email);
}

async fn a_retried_request_with_the_same_identifier_sends_once(app: &TestApp) {
    ana(app).await;
    app.clock.set("2026-03-02T15:00:00Z".parse().unwrap());
    let mut body = request("The clinic is closed on Friday.");
    body["identifier"] = json!([{"system": "urn:ehr:msg", "value": "m-42"}]);
    let mut ids = Vec::new();
    for expected in [StatusCode::CREATED, StatusCode::OK] {
        let (status, _, created) = app
            .send(
                app.request(Method::POST, "/fhir/CommunicationRequest")
                    .header("If-None-Exist", "identifier=urn:ehr:msg|m-42")
                    .json(&body),
            )
            .await;
        assert_eq!(status, expected, "{created}");
        ids.push(created["id"].clone());
    }
    assert_eq!(ids[0], ids[1]);
    assert_eq!(sent_now(app).await.len(), 1);
}

async fn requests_that_cannot_be_sent_are_refused_and_change_nothing(app: &TestApp) {
    ana(app).await;
    // Leo has a phone only.
    let leo = json!({
        "resourceType": "Patient", "id": "leo",
        "telecom": [{"system": "phone", "value": "+1 617 555 0199"}]
    });
    assert!(app.put("/fhir/Patient/leo", &leo).await.0.is_success());
    let leos = json!({
        "resourceType": "Appointment", "id": "leos", "status": "booked",
        "start": "2026-03-10T14:00:00Z", "end": "2026-03-10T14:30:00Z",
        "participant": [{"actor": {"reference": "Patient/leo"}, "status": "needs-action"}]
    });
    assert!(
        app.put("/fhir/Appointment/leos", &leos)
            .await
            .0
            .is_success()
    );
    assert!(
        app.put(
            "/fhir/Appointment/anas",
            &appointment("anas", "2026-03-10T15:00:00Z", "booked")
        )
        .await
        .0
        .is_success()
    );
    app.engine.run_until_idle().await.unwrap();
    app.sent.clear();
    let (_, before) = app.get("/fhir/Communication?_summary=count").await;

    let mut unknown = request("Hello");
    unknown["subject"] = json!({"reference": "Patient/nobody"});
    let mut no_email = request("Hello");
    no_email["subject"] = json!({"reference": "Patient/leo"});
    no_email["medium"] = json!([{"coding": [{"code": "EMAILWRIT"}]}]);
    let mut not_hers = request("About your visit");
    not_hers["about"] = json!([{"reference": "Appointment/leos"}]);
    let long = request(&"Please call us back about your visit. ".repeat(9));
    let mut draft = request("Hello");
    draft["status"] = json!("draft");
    let cases = [
        (
            unknown,
            "CommunicationRequest.subject",
            "Patient/nobody does not exist",
        ),
        (
            no_email,
            "CommunicationRequest.medium[0]",
            "no email address",
        ),
        (
            not_hers,
            "CommunicationRequest.about[0]",
            "is not the patient's",
        ),
        (
            long,
            "CommunicationRequest.payload[0].contentString",
            "SMS segments",
        ),
        (
            draft,
            "CommunicationRequest.status",
            "only an active request",
        ),
    ];
    for (body, expression, says) in cases {
        let (status, outcome) = app.post("/fhir/CommunicationRequest", &body).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{outcome}");
        assert_eq!(outcome["resourceType"], "OperationOutcome");
        assert_eq!(
            outcome["issue"][0]["expression"][0], expression,
            "{outcome}"
        );
        let diagnostics = outcome["issue"][0]["diagnostics"].as_str().unwrap();
        assert!(diagnostics.contains(says), "{diagnostics}");
    }
    let (status, _) = app
        .post(
            "/fhir/CommunicationRequest",
            &json!({"resourceType": "Patient"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (_, after) = app.get("/fhir/Communication?_summary=count").await;
    assert_eq!(before["total"], after["total"]);
    let (_, requests) = app.get("/fhir/CommunicationRequest").await;
    assert_eq!(requests["total"], 0, "{requests}");
    assert_eq!(sent_now(app).await, []);
}

async fn a_request_cannot_be_changed_or_deleted(app: &TestApp) {
    ana(app).await;
    app.clock.set("2026-03-02T15:00:00Z".parse().unwrap());
    let (status, created) = app
        .post("/fhir/CommunicationRequest", &request("Hello"))
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let id = created["id"].as_str().unwrap();
    let mut changed = created.clone();
    changed["payload"] = json!([{"contentString": "Something else"}]);
    let (status, outcome) = app
        .put(&format!("/fhir/CommunicationRequest/{id}"), &changed)
        .await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED, "{outcome}");
    let status = app
        .delete(&format!("/fhir/CommunicationRequest/{id}"))
        .await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    let bundle = json!({
        "resourceType": "Bundle", "type": "transaction",
        "entry": [{"resource": request("Hi"), "request": {"method": "POST", "url": "CommunicationRequest"}}]
    });
    let (status, outcome) = app.post("/fhir", &bundle).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED, "{outcome}");
    // One request, one message.
    assert_eq!(sent_now(app).await.len(), 1);
}
