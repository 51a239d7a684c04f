//! Patients answer by text: C confirms, N cancels and says which, R asks staff for a new
//! time, STOP (and CANCEL) and "stop texting me" withdraw consent to texts while email
//! goes on, START restores it, HELP answers, anything else is kept for staff and
//! acknowledged. A shared phone's reply goes to the latest reminder, or careloop asks.

use careloop_channels::twilio::signature;
use careloop_domain::Clock;
use careloop_domain::journey::Channel;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::harness::{TWILIO_AUTH_TOKEN, TestApp};
use crate::messaging::{PATIENT, appointment, at, book_in_boston, booked, communications};

crate::on_both_backends!(
    c_confirms_the_appointment_the_reminder_asked_about,
    the_same_message_sid_is_handled_once,
    n_cancels_the_appointment_and_says_which,
    r_asks_staff_to_reschedule,
    cancel_stops_texts_and_email_still_flows_until_start,
    an_opt_out_in_own_words_is_confirmed_once_and_logged,
    help_names_the_clinic_and_the_rates,
    other_text_is_kept_for_staff_and_acknowledged,
    a_red_flag_is_answered_at_once_and_marked_urgent,
    a_shared_phone_answers_the_latest_reminder,
    a_shared_phone_is_asked_which_when_unsure,
    forged_malformed_and_unknown_texts_change_nothing,
    a_numbered_choice_acts_for_the_patient_of_that_appointment,
    the_sandbox_api_refuses_when_a_provider_is_real,
    twilio_saying_unsubscribed_records_the_opt_out,
);

const ANA_PHONE: &str = "+16175550101";

/// Texts careloop as Twilio would; returns the status careloop answered.
pub(crate) async fn text_from(app: &TestApp, sid: &str, from: &str, body: &str) -> StatusCode {
    let url = app.url("/webhooks/twilio/sms");
    let params = form(sid, from, body);
    crate::fake_twilio::post_signed(&url, &params, TWILIO_AUTH_TOKEN).await
}

fn form(sid: &str, from: &str, body: &str) -> Vec<(String, String)> {
    [
        ("ToCountry", "US"),
        ("SmsMessageSid", sid),
        ("NumMedia", "0"),
        ("SmsSid", sid),
        ("SmsStatus", "received"),
        ("Body", body),
        ("To", "+16175550000"),
        ("NumSegments", "1"),
        ("MessageSid", sid),
        ("AccountSid", "AC00000000000000000000000000000001"),
        ("From", from),
        ("ApiVersion", "2010-04-01"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

/// Texts from Ana's phone and runs the engine; returns what careloop sent.
async fn ana_says(app: &TestApp, sid: &str, body: &str) -> Vec<(Channel, String, String)> {
    assert_eq!(text_from(app, sid, ANA_PHONE, body).await, StatusCode::OK);
    let now = app.clock.now().to_string();
    at(app, &now).await
}

async fn read(app: &TestApp, path: &str) -> Value {
    let (status, body) = app.get(path).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

/// Books Ana and moves to the day-before reminder, which asks for C, N or R.
async fn reminded(app: &TestApp) {
    booked(app).await;
    at(app, "2026-03-07T14:00:00Z").await;
    let sent = at(app, "2026-03-09T14:00:00Z").await;
    assert!(
        sent.iter()
            .any(|(c, _, t)| *c == Channel::Sms && t.contains("Reply C to confirm")),
        "{sent:?}"
    );
}

fn inbound_with_intent(messages: &[Value], intent: &str) -> Vec<Value> {
    messages
        .iter()
        .filter(|m| m.get("sender").is_some())
        .filter(|m| {
            m["extension"]
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e["valueCode"] == intent)
        })
        .cloned()
        .collect()
}

async fn c_confirms_the_appointment_the_reminder_asked_about(app: &TestApp) {
    reminded(app).await;
    let sent = ana_says(app, "SM0000000000000000000000000000c001", " c ").await;
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0].1, ANA_PHONE);
    assert!(
        sent[0].2.contains("Tue, Mar 10 at 10:00 AM is confirmed"),
        "{}",
        sent[0].2
    );
    let appointment = read(app, "/fhir/Appointment/appt-1").await;
    assert_eq!(appointment["participant"][0]["status"], "accepted");
    assert_eq!(appointment["status"], "booked");
    // The reply is on the record, about the appointment, with what careloop read in it.
    let kept = inbound_with_intent(&communications(app).await, "confirm");
    assert_eq!(kept.len(), 1);
    assert_eq!(kept[0]["payload"][0]["contentString"], " c ");
    assert_eq!(kept[0]["about"][0]["reference"], "Appointment/appt-1");
    assert_eq!(kept[0]["status"], "completed");
    assert!(kept[0]["received"].is_string());
    // Confirmed: the last call two hours before is not sent.
    let sent = at(app, "2026-03-10T12:00:00Z").await;
    assert!(sent.is_empty(), "{sent:?}");
}

async fn the_same_message_sid_is_handled_once(app: &TestApp) {
    reminded(app).await;
    let sid = "SM0000000000000000000000000000d001";
    assert_eq!(ana_says(app, sid, "HELP").await.len(), 1);
    // Twilio retries: the same message again changes nothing and answers nothing.
    assert!(ana_says(app, sid, "HELP").await.is_empty());
    assert_eq!(
        inbound_with_intent(&communications(app).await, "help").len(),
        1
    );
}

async fn n_cancels_the_appointment_and_says_which(app: &TestApp) {
    reminded(app).await;
    let sent = ana_says(app, "SM0000000000000000000000000000n001", "No").await;
    let appointment = read(app, "/fhir/Appointment/appt-1").await;
    assert_eq!(appointment["status"], "cancelled");
    assert_eq!(appointment["cancelationReason"]["coding"][0]["code"], "pat");
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert!(
        sent[0].2.contains("Tue, Mar 10 at 10:00 AM is cancelled"),
        "{}",
        sent[0].2
    );
    // Cancelled: nothing more is sent about it.
    assert!(at(app, "2026-03-10T12:00:00Z").await.is_empty());
}

async fn r_asks_staff_to_reschedule(app: &TestApp) {
    reminded(app).await;
    let sent = ana_says(app, "SM0000000000000000000000000000r001", "R").await;
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert!(sent[0].2.contains("we will contact you"), "{}", sent[0].2);
    let tasks = app.search(&format!("/fhir/Task?patient={PATIENT}")).await;
    assert_eq!(tasks.len(), 1);
    assert_eq!(tasks[0]["description"], "Patient asks to reschedule");
    assert_eq!(tasks[0]["focus"]["reference"], "Appointment/appt-1");
    assert_eq!(
        read(app, "/fhir/Appointment/appt-1").await["status"],
        "booked"
    );
}

async fn cancel_stops_texts_and_email_still_flows_until_start(app: &TestApp) {
    booked(app).await;
    // CANCEL is a carrier opt-out word: the carrier confirms it, careloop records it and
    // cancels nothing.
    let sent = ana_says(app, "SM0000000000000000000000000000s001", "CANCEL").await;
    assert!(sent.is_empty(), "{sent:?}");
    assert_eq!(
        read(app, "/fhir/Appointment/appt-1").await["status"],
        "booked"
    );
    let consents = app
        .search(&format!("/fhir/Consent?patient={PATIENT}"))
        .await;
    assert_eq!(consents.len(), 1);
    assert_eq!(consents[0]["provision"]["type"], "deny");
    assert_eq!(consents[0]["policyRule"]["coding"][0]["code"], "OPTOUT");
    let sent = at(app, "2026-03-07T14:00:00Z").await;
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].0, Channel::Email);
    // The day-before reminder goes to the patient's preferred channel that still
    // consents: email.
    let sent = at(app, "2026-03-09T14:00:00Z").await;
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0].0, Channel::Email);
    // START restores texts, with a confirmation.
    let sent = ana_says(app, "SM0000000000000000000000000000s002", "start").await;
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert!(
        sent[0].2.contains("Msg & data rates may apply"),
        "{}",
        sent[0].2
    );
    let sent = at(app, "2026-03-10T12:00:00Z").await;
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0].0, Channel::Sms);
    // Searched by medium, the patient's messages both ways fall into texts and emails.
    let all = communications(app).await;
    let ids = |messages: &[Value]| {
        let mut ids: Vec<String> = messages
            .iter()
            .map(|m| m["id"].as_str().unwrap().to_owned())
            .collect();
        ids.sort();
        ids
    };
    for code in ["SMSWRIT", "EMAILWRIT"] {
        let of_medium: Vec<Value> = all
            .iter()
            .filter(|m| m["medium"][0]["coding"][0]["code"] == code)
            .cloned()
            .collect();
        let found = app
            .search(&format!(
                "/fhir/Communication?patient={PATIENT}&medium={code}&_count=100"
            ))
            .await;
        assert_eq!(ids(&found), ids(&of_medium), "{code}");
        assert!(found.len() >= 2, "{code}: {found:?}");
    }
    let texts = all
        .iter()
        .filter(|m| m["medium"][0]["coding"][0]["code"] == "SMSWRIT");
    assert!(texts.clone().any(|m| m.get("sender").is_some()), "inbound");
    assert!(texts.clone().any(|m| m.get("sender").is_none()), "outbound");
    let either = app
        .search(&format!(
            "/fhir/Communication?patient={PATIENT}&medium=SMSWRIT,EMAILWRIT&_count=100"
        ))
        .await;
    assert_eq!(ids(&either), ids(&all));
}

async fn an_opt_out_in_own_words_is_confirmed_once_and_logged(app: &TestApp) {
    reminded(app).await;
    let sent = ana_says(
        app,
        "SM0000000000000000000000000000f001",
        "Please stop texting me",
    )
    .await;
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert!(sent[0].2.contains("no more texts"), "{}", sent[0].2);
    let again = ana_says(
        app,
        "SM0000000000000000000000000000f002",
        "no more messages!",
    )
    .await;
    assert!(again.is_empty(), "{again:?}");
    let consents = app
        .search(&format!("/fhir/Consent?patient={PATIENT}"))
        .await;
    assert_eq!(consents.len(), 2);
    let triggers: Vec<&str> = consents
        .iter()
        .flat_map(|c| c["extension"].as_array().unwrap().iter())
        .filter_map(|e| e.get("valueString").and_then(Value::as_str))
        .collect();
    assert!(triggers.contains(&"stop texting"), "{triggers:?}");
    // The text two hours before is held back, and says why.
    assert!(at(app, "2026-03-10T12:00:00Z").await.is_empty());
    let blocked: Vec<Value> = communications(app)
        .await
        .into_iter()
        .filter(|m| {
            m["statusReason"]["text"]
                .as_str()
                .is_some_and(|r| r.contains("opted out"))
        })
        .collect();
    assert_eq!(blocked.len(), 1);
}

async fn help_names_the_clinic_and_the_rates(app: &TestApp) {
    reminded(app).await;
    let sent = ana_says(app, "SM0000000000000000000000000000h001", "help").await;
    assert_eq!(sent.len(), 1, "{sent:?}");
    for part in [
        "Riverside Clinic",
        "+1 555 0100",
        "Msg & data rates may apply",
    ] {
        assert!(sent[0].2.contains(part), "{part}: {}", sent[0].2);
    }
}

async fn other_text_is_kept_for_staff_and_acknowledged(app: &TestApp) {
    reminded(app).await;
    let sent = ana_says(
        app,
        "SM0000000000000000000000000000o001",
        "Is parking free? <b>",
    )
    .await;
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert!(sent[0].2.contains("we got your message"), "{}", sent[0].2);
    // A second message soon after is kept but not acknowledged again.
    assert!(
        ana_says(app, "SM0000000000000000000000000000o002", "Thanks")
            .await
            .is_empty()
    );
    let kept = inbound_with_intent(&communications(app).await, "other");
    assert_eq!(kept.len(), 2);
    assert_eq!(
        read(app, "/fhir/Appointment/appt-1").await["participant"][0]["status"],
        "needs-action"
    );
}

async fn a_red_flag_is_answered_at_once_and_marked_urgent(app: &TestApp) {
    reminded(app).await;
    // 02:00 in Boston: quiet hours hold automated texts, not this answer.
    app.clock.set("2026-03-10T06:00:00Z".parse().unwrap());
    let sent = ana_says(
        app,
        "SM0000000000000000000000000000u001",
        "I'm still bleeding a lot after my surgery",
    )
    .await;
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert!(
        sent[0].2.contains("call your local emergency number now"),
        "{}",
        sent[0].2
    );
    // Every such message is answered, however soon after the last.
    let again = ana_says(
        app,
        "SM0000000000000000000000000000u002",
        "sigo sangrando mucho",
    )
    .await;
    assert_eq!(again.len(), 1, "{again:?}");
    let kept = inbound_with_intent(&communications(app).await, "other");
    assert_eq!(kept.len(), 2);
    for message in &kept {
        assert_eq!(message["priority"], "urgent", "{message}");
    }
    let flag = kept
        .iter()
        .flat_map(|m| m["extension"].as_array().unwrap())
        .find(|e| e["url"].as_str().unwrap().ends_with("/red-flag"))
        .unwrap();
    assert_eq!(
        flag["extension"][0]["valueString"],
        "bleeding that does not stop"
    );
    let words = flag["extension"][1]["valueString"].as_str().unwrap();
    assert!(
        ["bleeding, still", "sangrando, mucho"].contains(&words),
        "{words}"
    );
    // A calm question is not urgent: its acknowledgement waits for the morning.
    let calm = ana_says(
        app,
        "SM0000000000000000000000000000u003",
        "Is parking free?",
    )
    .await;
    assert!(calm.is_empty(), "{calm:?}");
    let morning = at(app, "2026-03-10T12:00:00Z").await;
    assert!(
        morning.iter().any(|m| m.2.contains("we got your message")),
        "{morning:?}"
    );
    let all = inbound_with_intent(&communications(app).await, "other");
    assert_eq!(
        all.iter().filter(|m| m.get("priority").is_none()).count(),
        1
    );
}

/// Ana's brother Leo shares her phone, with an appointment of his own.
async fn leo_shares_the_phone(app: &TestApp, start: &str) {
    let (status, _) = app
        .put(
            "/fhir/Patient/pat-2",
            &json!({
                "resourceType": "Patient", "id": "pat-2",
                "name": [{"given": ["Leo"], "family": "Ruiz"}],
                "telecom": [{"system": "phone", "value": "+1 617 555 0101", "use": "mobile"}]
            }),
        )
        .await;
    assert!(status.is_success());
    let mut booking = appointment("appt-2", start, "booked");
    booking["participant"][0]["actor"]["reference"] = json!("Patient/pat-2");
    let (status, _) = app.put("/fhir/Appointment/appt-2", &booking).await;
    assert_eq!(status, StatusCode::CREATED);
}

async fn a_shared_phone_answers_the_latest_reminder(app: &TestApp) {
    app.clock.set("2026-03-02T15:00:00Z".parse().unwrap());
    book_in_boston(app, "appt-1").await;
    // Leo's appointment is six hours after Ana's: so is his reminder, and the answer
    // comes while both appointments are still open.
    leo_shares_the_phone(app, "2026-03-10T20:00:00Z").await;
    at(app, "2026-03-02T15:00:00Z").await;
    at(app, "2026-03-07T20:00:00Z").await;
    at(app, "2026-03-09T14:00:00Z").await;
    at(app, "2026-03-09T20:00:00Z").await;
    at(app, "2026-03-09T20:30:00Z").await;
    ana_says(app, "SM0000000000000000000000000000x001", "Y").await;
    let leo = read(app, "/fhir/Appointment/appt-2").await;
    assert_eq!(leo["participant"][0]["status"], "accepted");
    let ana = read(app, "/fhir/Appointment/appt-1").await;
    assert_eq!(ana["participant"][0]["status"], "needs-action");
}

async fn a_shared_phone_is_asked_which_when_unsure(app: &TestApp) {
    app.clock.set("2026-03-02T15:00:00Z".parse().unwrap());
    book_in_boston(app, "appt-1").await;
    leo_shares_the_phone(app, "2026-03-10T14:30:00Z").await;
    at(app, "2026-03-02T15:00:00Z").await;
    // Both day-before reminders go out within the same half hour.
    at(app, "2026-03-09T14:30:00Z").await;
    let sent = ana_says(app, "SM0000000000000000000000000000w001", "N").await;
    assert_eq!(sent.len(), 1, "{sent:?}");
    let question = &sent[0].2;
    assert!(
        question.contains("which appointment should we cancel"),
        "{question}"
    );
    assert!(
        question.contains("N1 Ana Tue, Mar 10 at 10:00 AM"),
        "{question}"
    );
    assert!(
        question.contains("N2 Leo Tue, Mar 10 at 10:30 AM"),
        "{question}"
    );
    for id in ["appt-1", "appt-2"] {
        let appointment = read(app, &format!("/fhir/Appointment/{id}")).await;
        assert_eq!(appointment["status"], "booked");
    }
    ana_says(app, "SM0000000000000000000000000000w002", "n2").await;
    assert_eq!(
        read(app, "/fhir/Appointment/appt-2").await["status"],
        "cancelled"
    );
    assert_eq!(
        read(app, "/fhir/Appointment/appt-1").await["status"],
        "booked"
    );
}

async fn forged_malformed_and_unknown_texts_change_nothing(app: &TestApp) {
    reminded(app).await;
    let before = communications(app).await.len();
    let url = app.url("/webhooks/twilio/sms");
    let params = form("SM0000000000000000000000000000z001", ANA_PHONE, "N");
    // Signed with another token.
    assert_eq!(
        crate::fake_twilio::post_signed(&url, &params, "not-the-token").await,
        StatusCode::FORBIDDEN
    );
    // No signature at all.
    let unsigned = reqwest::Client::new()
        .post(&url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("MessageSid=SM1&From=%2B16175550101&Body=N")
        .send()
        .await
        .unwrap();
    assert_eq!(unsigned.status(), StatusCode::FORBIDDEN);
    // Signed but without a sender.
    let no_from: Vec<(String, String)> = params
        .iter()
        .filter(|(k, _)| k != "From")
        .cloned()
        .collect();
    assert_eq!(
        crate::fake_twilio::post_signed(&url, &no_from, TWILIO_AUTH_TOKEN).await,
        StatusCode::BAD_REQUEST
    );
    let signed = signature::sign(TWILIO_AUTH_TOKEN, &url, &[]);
    let empty = reqwest::Client::new()
        .post(&url)
        .header("x-twilio-signature", signed)
        .send()
        .await
        .unwrap();
    assert_eq!(empty.status(), StatusCode::BAD_REQUEST);
    // A number no patient has: answered, nothing kept.
    assert_eq!(
        text_from(
            app,
            "SM0000000000000000000000000000z002",
            "+16175559999",
            "N"
        )
        .await,
        StatusCode::OK
    );
    app.engine.run_until_idle().await.unwrap();
    assert_eq!(
        read(app, "/fhir/Appointment/appt-1").await["status"],
        "booked"
    );
    assert_eq!(communications(app).await.len(), before);
    assert!(app.sent.taken().is_empty());
}

async fn twilio_saying_unsubscribed_records_the_opt_out(app: &TestApp) {
    booked(app).await;
    at(app, "2026-03-07T14:00:00Z").await;
    // The patient texted STOP to the number straight, and Twilio refuses the reminder.
    app.sent
        .script
        .lock()
        .unwrap()
        .push_back(Err(careloop_channels::SendError::Unsubscribed {
            code: "21610".into(),
        }));
    at(app, "2026-03-09T14:00:00Z").await;
    let consents = app
        .search(&format!("/fhir/Consent?patient={PATIENT}"))
        .await;
    assert_eq!(consents.len(), 1);
    assert_eq!(consents[0]["provision"]["type"], "deny");
    // careloop stops trying that number.
    assert!(at(app, "2026-03-10T12:00:00Z").await.is_empty());
}

async fn a_numbered_choice_acts_for_the_patient_of_that_appointment(app: &TestApp) {
    app.clock.set("2026-03-02T15:00:00Z".parse().unwrap());
    book_in_boston(app, "appt-1").await;
    leo_shares_the_phone(app, "2026-03-10T14:30:00Z").await;
    at(app, "2026-03-02T15:00:00Z").await;
    at(app, "2026-03-09T14:30:00Z").await;
    let asked = ana_says(app, "SM0000000000000000000000000000v001", "C").await;
    assert!(asked[0].2.contains("C2 Leo"), "{asked:?}");
    let sent = ana_says(app, "SM0000000000000000000000000000v002", "c2").await;
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert!(sent[0].2.contains("10:30 AM is confirmed"), "{}", sent[0].2);
    // Leo's participation is accepted, not Ana's, and his answer is on his record.
    let leo = read(app, "/fhir/Appointment/appt-2").await;
    assert_eq!(leo["participant"][0]["status"], "accepted");
    let ana = read(app, "/fhir/Appointment/appt-1").await;
    assert_eq!(ana["participant"][0]["status"], "needs-action");
    let leos = app
        .search("/fhir/Communication?patient=pat-2&_count=100")
        .await;
    assert_eq!(inbound_with_intent(&leos, "confirm").len(), 1);
    assert!(inbound_with_intent(&communications(app).await, "confirm").is_empty());
}

async fn the_sandbox_api_refuses_when_a_provider_is_real(app: &TestApp) {
    reminded(app).await;
    // The test's transports stand for real providers: no made-up answers, on any address.
    for to in [ANA_PHONE, "ana@example.org"] {
        let (status, body) = app
            .post("/api/v1/sandbox/replies", &json!({"to": to, "text": "N"}))
            .await;
        assert_eq!(status, StatusCode::CONFLICT, "{body}");
        assert!(
            body["error"].as_str().unwrap().contains("sandbox"),
            "{body}"
        );
    }
    let (status, body) = app
        .post("/api/v1/sandbox/replies", &json!({"to": 16175559876_u64}))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(!body.to_string().contains("16175559876"), "{body}");
    let unauthorized = reqwest::Client::new()
        .post(app.url("/api/v1/sandbox/replies"))
        .json(&json!({"to": ANA_PHONE, "text": "N"}))
        .send()
        .await
        .unwrap();
    assert_eq!(unauthorized.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        read(app, "/fhir/Appointment/appt-1").await["status"],
        "booked"
    );
}
