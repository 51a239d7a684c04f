//! Booking an appointment through /fhir sets the appointment journeys going: the
//! confirmation at once, each reminder at its time and exactly once, a notice on
//! cancellation and on reschedule, quiet hours respected, failed sends retried, every
//! message recorded as a Communication.

use careloop_channels::SendError;
use careloop_domain::journey::Channel;
use careloop_store::work::{EnrollmentQuery, OutboxQuery};
use jiff::{SignedDuration, Timestamp};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::harness::TestApp;

crate::on_both_backends!(
    a_booking_gets_its_confirmation_and_each_reminder_once,
    a_spanish_speaker_gets_spanish_in_their_own_zone,
    a_cancellation_ends_the_reminders_and_tells_the_patient,
    a_reschedule_tells_the_patient_and_moves_the_reminders,
    texts_wait_for_the_end_of_quiet_hours,
    a_claim_from_the_outbox_leaves_a_row_as_a_claim_on_queuing_does,
    failed_sends_are_retried_then_dead_lettered,
    a_permanent_refusal_is_final,
    two_engines_send_each_message_once,
    bookings_enrolled_together_keep_the_order_of_later_events,
    a_timer_round_holds_its_enrollments_from_another,
    sends_that_never_get_an_answer_end_dead,
    an_oversized_text_is_blocked_and_the_engine_goes_on,
    erasing_the_patient_removes_their_journeys_and_outbox,
    clients_cannot_write_the_record_of_messages_or_tasks,
);

pub(crate) const PATIENT: &str = "pat-1";

pub(crate) fn patient(language: &str, zone: &str) -> Value {
    json!({
        "resourceType": "Patient",
        "id": PATIENT,
        "extension": [{
            "url": "http://hl7.org/fhir/StructureDefinition/tz-code",
            "valueCode": zone
        }],
        "name": [{"given": ["Ana"], "family": "Ruiz"}],
        "telecom": [
            {"system": "phone", "value": "+1 617 555 0101", "use": "mobile", "rank": 1},
            {"system": "email", "value": "ana@example.org", "rank": 2}
        ],
        "communication": [{"language": {"coding": [{"code": language}]}, "preferred": true}]
    })
}

pub(crate) fn appointment(id: &str, start: &str, status: &str) -> Value {
    let start: Timestamp = start.parse().unwrap();
    let end = start.checked_add(SignedDuration::from_mins(30)).unwrap();
    json!({
        "resourceType": "Appointment", "id": id, "status": status,
        "start": start.to_string(), "end": end.to_string(),
        "participant": [{"actor": {"reference": format!("Patient/{PATIENT}")}, "status": "needs-action"}]
    })
}

/// Sets the clock, runs the engine until it is idle, and returns what it sent, as
/// (channel, address, text).
pub(crate) async fn at(app: &TestApp, when: &str) -> Vec<(Channel, String, String)> {
    app.clock.set(when.parse().unwrap());
    sent_now(app).await
}

/// Runs the engine until it is idle at the clock's time and returns what it sent, as
/// (channel, address, text).
pub(crate) async fn sent_now(app: &TestApp) -> Vec<(Channel, String, String)> {
    app.engine.run_until_idle().await.unwrap();
    let sent = app
        .sent
        .taken()
        .into_iter()
        .map(|m| (m.channel, m.to, m.text))
        .collect();
    app.sent.clear();
    sent
}

/// The usual case: an English speaker in Boston, booked for Tuesday 10 March at 10:00.
/// Ana's conversation as stored; she must have one.
pub(crate) async fn ana_conversation(
    app: &TestApp,
) -> careloop_store::conversations::ConversationRecord {
    app.store
        .conversation(
            &careloop_domain::OrgId::default_org(),
            &careloop_domain::ResourceId::parse(PATIENT).unwrap(),
        )
        .await
        .unwrap()
        .unwrap()
}

/// On 2 March at 10:00 in Boston, Ana's appointment `appt-1` is booked and its
/// confirmation sent.
pub(crate) async fn booked(app: &TestApp) {
    app.clock.set("2026-03-02T15:00:00Z".parse().unwrap());
    book_in_boston(app, "appt-1").await;
    at(app, "2026-03-02T15:00:00Z").await;
}

pub(crate) async fn book_in_boston(app: &TestApp, id: &str) {
    book(app, "en", "America/New_York", id, "2026-03-10T14:00:00Z").await;
}

pub(crate) async fn book(app: &TestApp, language: &str, zone: &str, id: &str, start: &str) {
    let (status, _) = app
        .put(
            &format!("/fhir/Patient/{PATIENT}"),
            &patient(language, zone),
        )
        .await;
    assert!(status.is_success(), "{status}");
    let (status, _) = app
        .put(
            &format!("/fhir/Appointment/{id}"),
            &appointment(id, start, "booked"),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
}

/// Changes an appointment booked earlier: a new start, or a new status.
pub(crate) async fn change_appointment(app: &TestApp, id: &str, start: &str, status: &str) {
    let (code, body) = app
        .put(
            &format!("/fhir/Appointment/{id}"),
            &appointment(id, start, status),
        )
        .await;
    assert_eq!(code, StatusCode::OK, "{body}");
}

pub(crate) async fn communications(app: &TestApp) -> Vec<Value> {
    app.search(&format!("/fhir/Communication?patient={PATIENT}&_count=100"))
        .await
}

async fn a_booking_gets_its_confirmation_and_each_reminder_once(app: &TestApp) {
    // 10:00 in Boston on a Monday; the appointment is on Tuesday the 10th at 10:00 EDT
    // (the clocks change on the 8th).
    app.clock.set("2026-03-02T15:00:00Z".parse().unwrap());
    book_in_boston(app, "appt-1").await;

    let sent = at(app, "2026-03-02T15:00:00Z").await;
    assert_eq!(sent.len(), 1, "{sent:?}");
    let (channel, to, text) = &sent[0];
    assert_eq!((*channel, to.as_str()), (Channel::Sms, "+16175550101"));
    assert_eq!(
        text,
        "Riverside Clinic: your appointment is booked for Tue, Mar 10 at 10:00 AM at Riverside Clinic. Questions? Call +1 555 0100."
    );

    // Nothing until three days before.
    assert!(at(app, "2026-03-07T13:59:00Z").await.is_empty());
    let sent = at(app, "2026-03-07T14:00:00Z").await;
    assert_eq!(sent.len(), 1);
    assert_eq!(
        (sent[0].0, sent[0].1.as_str()),
        (Channel::Email, "ana@example.org")
    );
    assert!(sent[0].2.starts_with("Hello Ana,"), "{}", sent[0].2);
    assert!(at(app, "2026-03-08T10:00:00Z").await.is_empty());

    let sent = at(app, "2026-03-09T14:00:00Z").await;
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].0, Channel::Sms);
    assert!(
        sent[0].2.contains("Reply C to confirm, N to cancel"),
        "{}",
        sent[0].2
    );

    let sent = at(app, "2026-03-10T12:00:00Z").await;
    assert_eq!(sent.len(), 1);
    assert!(
        sent[0].2.starts_with("Riverside Clinic: see you"),
        "{}",
        sent[0].2
    );
    assert!(at(app, "2026-03-20T12:00:00Z").await.is_empty());

    let records = communications(app).await;
    assert_eq!(records.len(), 4);
    for record in &records {
        assert_eq!(record["status"], "in-progress", "{record}");
        assert_eq!(record["about"][0]["reference"], "Appointment/appt-1");
    }
    // `about` takes an id or a typed reference, as reference searches do.
    for about in ["appt-1", "Appointment/appt-1"] {
        let (status, bundle) = app.get(&format!("/fhir/Communication?about={about}")).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(bundle["total"], 4, "{about}: {bundle}");
    }
    let (_, none) = app.get("/fhir/Communication?about=appt-2").await;
    assert_eq!(none["total"], 0);
}

async fn a_spanish_speaker_gets_spanish_in_their_own_zone(app: &TestApp) {
    app.clock.set("2026-03-02T15:00:00Z".parse().unwrap());
    book(
        app,
        "es",
        "America/Los_Angeles",
        "appt-es",
        "2026-03-10T17:00:00Z",
    )
    .await;
    let sent = at(app, "2026-03-02T17:00:00Z").await;
    assert_eq!(sent.len(), 1);
    assert_eq!(
        sent[0].2,
        "Riverside Clinic: su cita queda reservada para el martes 10 de marzo a las 10:00 en Riverside Clinic. ¿Dudas? Llame al +1 555 0100."
    );
}

async fn a_cancellation_ends_the_reminders_and_tells_the_patient(app: &TestApp) {
    app.clock.set("2026-03-02T15:00:00Z".parse().unwrap());
    book_in_boston(app, "appt-c").await;
    assert_eq!(at(app, "2026-03-02T15:00:00Z").await.len(), 1);
    change_appointment(app, "appt-c", "2026-03-10T14:00:00Z", "cancelled").await;
    let sent = at(app, "2026-03-03T15:00:00Z").await;
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert!(sent[0].2.contains("cancel"), "{}", sent[0].2);
    // No reminder for an appointment that is not happening.
    assert!(at(app, "2026-03-20T12:00:00Z").await.is_empty());
}

async fn a_reschedule_tells_the_patient_and_moves_the_reminders(app: &TestApp) {
    app.clock.set("2026-03-02T15:00:00Z".parse().unwrap());
    book_in_boston(app, "appt-r").await;
    assert_eq!(at(app, "2026-03-02T15:00:00Z").await.len(), 1);
    change_appointment(app, "appt-r", "2026-03-17T14:00:00Z", "booked").await;
    let sent = at(app, "2026-03-03T15:00:00Z").await;
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert!(sent[0].2.contains("Mar 17"), "{}", sent[0].2);
    // The old times pass quietly; the new ones come.
    assert!(at(app, "2026-03-09T14:30:00Z").await.is_empty());
    let sent = at(app, "2026-03-14T14:00:00Z").await;
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].0, Channel::Email);
}

async fn texts_wait_for_the_end_of_quiet_hours(app: &TestApp) {
    // 02:00 in Boston.
    app.clock.set("2026-03-02T07:00:00Z".parse().unwrap());
    book_in_boston(app, "appt-q").await;
    assert!(at(app, "2026-03-02T07:00:00Z").await.is_empty());
    assert!(at(app, "2026-03-02T12:59:00Z").await.is_empty());
    // A held message is not a dead letter: nothing to send again.
    let (_, listing) = app.get("/api/v1/outbox?status=queued").await;
    let id = listing["messages"][0]["id"].as_str().unwrap().to_owned();
    let (status, _) = app
        .post(&format!("/api/v1/outbox/{id}/retry"), &json!({}))
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    // 08:00 in Boston.
    let sent = at(app, "2026-03-02T13:00:00Z").await;
    assert_eq!(sent.len(), 1);
    let records = communications(app).await;
    assert_eq!(records.len(), 1);
}

/// A message due now is claimed as it is queued ([`OutboxRow::claimed`]); one held back
/// is claimed from the outbox in SQL later. Both must leave the row the same.
async fn a_claim_from_the_outbox_leaves_a_row_as_a_claim_on_queuing_does(app: &TestApp) {
    // 02:00 in Boston: the confirmation is held by quiet hours, queued in the outbox.
    app.clock.set("2026-03-02T07:00:00Z".parse().unwrap());
    book_in_boston(app, "appt-c").await;
    app.engine.run_until_idle().await.unwrap();
    let org = app.engine.org();
    let held = app
        .store
        .outbox(
            &org,
            &OutboxQuery::InStatus {
                statuses: vec!["queued".into()],
                resent_only: false,
                limit: 10,
            },
        )
        .await
        .unwrap();
    assert_eq!(held.len(), 1);
    app.clock.set("2026-03-02T13:00:00Z".parse().unwrap());
    let lease = SignedDuration::from_secs(120);
    let (now_us, lease_us) = app.store.lease_from_now(lease);
    assert!(held[0].is_due(now_us));
    let claimed = app.store.claim_outbox(&org, lease, 10).await.unwrap();
    assert_eq!(claimed, [held[0].claimed(now_us, lease_us)]);
    assert!(!claimed[0].is_due(now_us));
}

async fn failed_sends_are_retried_then_dead_lettered(app: &TestApp) {
    app.clock.set("2026-03-02T15:00:00Z".parse().unwrap());
    {
        let mut script = app.sent.script.lock().unwrap();
        script.push_back(Err(SendError::Transient {
            code: "503".into(),
            retry_after: None,
        }));
        script.push_back(Err(SendError::Transient {
            code: "429".into(),
            retry_after: Some(SignedDuration::from_mins(20)),
        }));
    }
    book_in_boston(app, "appt-f").await;
    assert_eq!(at(app, "2026-03-02T15:00:00Z").await.len(), 1);
    // Backoff: not before 15 s (half the 30 s base), but by a minute.
    assert!(at(app, "2026-03-02T15:00:14Z").await.is_empty());
    assert_eq!(at(app, "2026-03-02T15:01:00Z").await.len(), 1);
    // Retry-After of 20 minutes is honoured.
    assert!(at(app, "2026-03-02T15:19:00Z").await.is_empty());
    assert_eq!(at(app, "2026-03-02T15:22:00Z").await.len(), 1);
    assert_eq!(communications(app).await[0]["status"], "in-progress");

    // A message that fails every time ends dead, after the configured tries.
    {
        let mut script = app.sent.script.lock().unwrap();
        for _ in 0..20 {
            script.push_back(Err(SendError::Transient {
                code: "500".into(),
                retry_after: None,
            }));
        }
    }
    change_appointment(app, "appt-f", "2026-03-10T14:00:00Z", "cancelled").await;
    let mut tries = 0;
    let mut now: Timestamp = "2026-03-02T16:00:00Z".parse().unwrap();
    for _ in 0..30 {
        tries += at(app, &now.to_string()).await.len();
        now = now.checked_add(SignedDuration::from_hours(2)).unwrap();
    }
    assert_eq!(tries, 8);
    let records = communications(app).await;
    let dead: Vec<&Value> = records
        .iter()
        .filter(|r| r["status"] == "not-done")
        .collect();
    assert_eq!(dead.len(), 1);
    assert!(
        dead[0]["statusReason"]["text"]
            .as_str()
            .unwrap()
            .contains("8 tries failed"),
        "{}",
        dead[0]
    );

    // The dead letter is listed through the API, without the text or the address.
    let (status, listing) = app.get("/api/v1/outbox").await;
    assert_eq!(status, StatusCode::OK);
    let messages = listing["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 1, "{listing}");
    assert_eq!(messages[0]["status"], "dead");
    assert_eq!(messages[0]["attempts"], 8);
    assert_eq!(messages[0]["error_code"], "500");
    assert!(!listing.to_string().contains("555"), "{listing}");
    let id = messages[0]["id"].as_str().unwrap().to_owned();
    let (status, _) = app.get("/api/v1/outbox?status=exploded").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let anonymous = reqwest::get(app.url("/api/v1/outbox")).await.unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);

    // Sent again by an operator, with fresh tries: the provider is back.
    app.sent.script.lock().unwrap().clear();
    let retry = format!("/api/v1/outbox/{id}/retry");
    let (status, row) = app.post(&retry, &json!({})).await;
    assert_eq!(status, StatusCode::OK, "{row}");
    assert_eq!(row["status"], "queued");
    assert_eq!(at(app, "2026-03-05T16:00:00Z").await.len(), 1);
    let (status, listing) = app.get("/api/v1/outbox?status=accepted&status=dead").await;
    assert_eq!(status, StatusCode::OK);
    let statuses: Vec<&str> = listing["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["accepted", "accepted"]);
    // Only dead letters go again; an unknown id is 404.
    assert_eq!(app.post(&retry, &json!({})).await.0, StatusCode::CONFLICT);
    assert_eq!(
        app.post("/api/v1/outbox/nope/retry", &json!({})).await.0,
        StatusCode::NOT_FOUND
    );
}

async fn a_permanent_refusal_is_final(app: &TestApp) {
    app.clock.set("2026-03-02T15:00:00Z".parse().unwrap());
    app.sent
        .script
        .lock()
        .unwrap()
        .push_back(Err(SendError::Permanent {
            code: "21610".into(),
        }));
    book_in_boston(app, "appt-p").await;
    assert_eq!(at(app, "2026-03-02T15:00:00Z").await.len(), 1);
    assert!(at(app, "2026-03-03T15:00:00Z").await.is_empty());
    let records = communications(app).await;
    assert_eq!(records[0]["status"], "not-done");
    let code = records[0]["extension"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["url"].as_str().unwrap().ends_with("error-code"))
        .unwrap();
    assert_eq!(code["valueString"], "21610");
}

async fn two_engines_send_each_message_once(app: &TestApp) {
    app.clock.set("2026-03-02T15:00:00Z".parse().unwrap());
    for n in 0..15 {
        let id = format!("appt-{n}");
        book_in_boston(app, &id).await;
    }
    let (a, b) = (app.engine.clone(), app.engine.clone());
    let (ra, rb) = tokio::join!(a.run_until_idle(), b.run_until_idle());
    ra.unwrap();
    rb.unwrap();
    app.engine.run_until_idle().await.unwrap();
    let sent = app.sent.taken();
    assert_eq!(sent.len(), 15);
    let mut ids: Vec<&str> = sent.iter().map(|m| m.id.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 15);
}

async fn bookings_enrolled_together_keep_the_order_of_later_events(app: &TestApp) {
    app.clock.set("2026-03-02T15:00:00Z".parse().unwrap());
    // Five bookings in a row go together; the cancellation of one of them comes after
    // and must still find its enrollment; a last booking follows on its own.
    for n in 0..5 {
        book_in_boston(app, &format!("appt-{n}")).await;
    }
    change_appointment(app, "appt-2", "2026-03-10T14:00:00Z", "cancelled").await;
    book_in_boston(app, "appt-5").await;
    let sent = at(app, "2026-03-02T15:00:00Z").await;
    let cancellations = sent
        .iter()
        .filter(|(_, _, text)| text.contains("cancel"))
        .count();
    assert_eq!(
        sent.len(),
        7,
        "six confirmations and one cancellation: {sent:?}"
    );
    assert_eq!(cancellations, 1, "{sent:?}");
    let org = app.engine.org();
    assert!(
        app.store
            .unhandled_events(&org, 10)
            .await
            .unwrap()
            .is_empty()
    );
    let enrollments = app
        .store
        .enrollments(&org, &EnrollmentQuery::ActiveOfPatient(PATIENT.into()))
        .await
        .unwrap();
    let mut active: Vec<&str> = enrollments
        .iter()
        .map(|r| r.appointment_id.as_str())
        .collect();
    active.sort_unstable();
    assert_eq!(active, ["appt-0", "appt-1", "appt-3", "appt-4", "appt-5"]);
    // Each reminder comes once, as for a booking on its own.
    let reminders = at(app, "2026-03-09T14:00:00Z").await;
    assert_eq!(reminders.len(), 5, "{reminders:?}");
}

async fn a_timer_round_holds_its_enrollments_from_another(app: &TestApp) {
    app.clock.set("2026-03-02T15:00:00Z".parse().unwrap());
    for n in 0..3 {
        book_in_boston(app, &format!("appt-{n}")).await;
    }
    app.engine.run_until_idle().await.unwrap();
    let confirmations = app.sent.taken().len();
    // A week later every reminder journey is due; one round holds two of them.
    app.clock.set("2026-03-09T15:00:00Z".parse().unwrap());
    let lease = SignedDuration::from_secs(120);
    let org = app.engine.org();
    let first = app
        .store
        .claim_due_enrollments(&org, lease, 2)
        .await
        .unwrap();
    assert_eq!(first.len(), 2);
    let second = app
        .store
        .claim_due_enrollments(&org, lease, 10)
        .await
        .unwrap();
    let ids = |rows: &[careloop_store::work::EnrollmentRow]| -> Vec<String> {
        rows.iter().map(|r| r.id.clone()).collect()
    };
    assert_eq!(second.len(), 1, "only the one not held");
    assert!(!ids(&first).contains(&second[0].id));
    assert!(
        app.store
            .claim_due_enrollments(&org, lease, 10)
            .await
            .unwrap()
            .is_empty()
    );
    // A round that went silent lets go when its lease is over.
    app.clock.advance(SignedDuration::from_secs(121));
    let again = app
        .store
        .claim_due_enrollments(&org, lease, 10)
        .await
        .unwrap();
    assert_eq!(again.len(), 3);
    // The engine moves them once that hold lapses too, and moving lets go of them.
    app.clock.advance(SignedDuration::from_secs(121));
    app.engine.run_until_idle().await.unwrap();
    assert!(app.sent.taken().len() > confirmations);
    let active = app
        .store
        .enrollments(&org, &EnrollmentQuery::ActiveOfPatient(PATIENT.into()))
        .await
        .unwrap();
    assert!(!active.is_empty());
    assert!(active.iter().all(|row| row.lease_us.is_none()));
}

async fn sends_that_never_get_an_answer_end_dead(app: &TestApp) {
    app.clock.set("2026-03-02T15:00:00Z".parse().unwrap());
    app.sent
        .script
        .lock()
        .unwrap()
        .extend(std::iter::repeat_n(Err(SendError::Unknown), 20));
    book_in_boston(app, "appt-u").await;
    // Each unknown outcome waits 10 minutes for a callback, then goes again; after the
    // configured tries it is dead, not sent for ever.
    let mut sends = 0;
    let mut now: Timestamp = "2026-03-02T15:00:00Z".parse().unwrap();
    for _ in 0..15 {
        sends += at(app, &now.to_string()).await.len();
        now = now.checked_add(SignedDuration::from_mins(11)).unwrap();
    }
    assert_eq!(sends, 8);
    let (_, listing) = app.get("/api/v1/outbox").await;
    assert_eq!(listing["messages"][0]["resent_after_unknown_outcome"], 8);
    let reason = listing["messages"][0]["reason"].as_str().unwrap();
    assert!(reason.contains("without a known outcome"), "{reason}");
    // The messages a patient may have had twice are listed, in any state; one that went
    // once is not.
    let id = listing["messages"][0]["id"].clone();
    let (status, resent) = app.get("/api/v1/outbox?resent=true").await;
    assert_eq!(status, StatusCode::OK);
    let ids: Vec<&Value> = resent["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| &m["id"])
        .collect();
    assert_eq!(ids, [&id], "{resent}");
    let (_, none) = app.get("/api/v1/outbox?resent=true&status=delivered").await;
    assert_eq!(none["messages"], json!([]), "{none}");
    let (status, _) = app.get("/api/v1/outbox?resent=yes").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

async fn an_oversized_text_is_blocked_and_the_engine_goes_on(app: &TestApp) {
    app.clock.set("2026-03-02T15:00:00Z".parse().unwrap());
    // A location whose name makes the text take three segments (UCS-2 for the "í").
    let long_name = format!("Clínica {}", "Norte ".repeat(12));
    let location = json!({"resourceType": "Location", "id": "far", "name": long_name});
    assert!(
        app.put("/fhir/Location/far", &location)
            .await
            .0
            .is_success()
    );
    let (status, _) = app
        .put(
            &format!("/fhir/Patient/{PATIENT}"),
            &patient("en", "America/New_York"),
        )
        .await;
    assert!(status.is_success());
    let mut far = appointment("appt-far", "2026-03-10T14:00:00Z", "booked");
    far["participant"]
        .as_array_mut()
        .unwrap()
        .push(json!({"actor": {"reference": "Location/far"}, "status": "accepted"}));
    assert!(
        app.put("/fhir/Appointment/appt-far", &far)
            .await
            .0
            .is_success()
    );
    let (status, _) = app
        .put(
            "/fhir/Appointment/appt-near",
            &appointment("appt-near", "2026-03-11T14:00:00Z", "booked"),
        )
        .await;
    assert!(status.is_success());
    // The booking at the far location cannot go as a text; the other one goes.
    let sent = at(app, "2026-03-02T15:00:00Z").await;
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert!(sent[0].2.contains("Mar 11"), "{}", sent[0].2);
    let (_, bundle) = app
        .get("/fhir/Communication?about=appt-far&status=not-done")
        .await;
    assert_eq!(bundle["total"], 1, "{bundle}");
    let reason = bundle["entry"][0]["resource"]["statusReason"]["text"]
        .as_str()
        .unwrap();
    assert!(reason.contains("segments"), "{reason}");
    // The 72-hour reminder goes by email, where length is no matter.
    let sent = at(app, "2026-03-07T14:00:00Z").await;
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].0, Channel::Email);
    assert!(sent[0].2.contains("Clínica"), "{}", sent[0].2);
}

async fn erasing_the_patient_removes_their_journeys_and_outbox(app: &TestApp) {
    use careloop_domain::OrgId;
    use careloop_store::work::{EnrollmentQuery, OutboxQuery};
    app.clock.set("2026-03-02T15:00:00Z".parse().unwrap());
    // A parent and a child on one appointment, sealed under the parent's key.
    let mut parent = patient("en", "America/New_York");
    parent["id"] = json!("parent-1");
    assert!(
        app.put("/fhir/Patient/parent-1", &parent)
            .await
            .0
            .is_success()
    );
    let (status, _) = app
        .put(
            &format!("/fhir/Patient/{PATIENT}"),
            &patient("en", "America/New_York"),
        )
        .await;
    assert!(status.is_success());
    let mut family = appointment("appt-e", "2026-03-10T14:00:00Z", "booked");
    family["participant"] = json!([
        {"actor": {"reference": "Patient/parent-1"}, "status": "needs-action"},
        {"actor": {"reference": format!("Patient/{PATIENT}")}, "status": "needs-action"}
    ]);
    assert!(
        app.put("/fhir/Appointment/appt-e", &family)
            .await
            .0
            .is_success()
    );
    assert_eq!(at(app, "2026-03-02T15:00:00Z").await.len(), 2);
    // The appointment is deleted (its search terms go, the row stays), then the child
    // is erased.
    assert!(app.delete("/fhir/Appointment/appt-e").await.is_success());
    at(app, "2026-03-02T16:00:00Z").await;

    let org = OrgId::default_org();
    let child_rows = || async {
        let enrollments = app
            .store
            .enrollments(&org, &EnrollmentQuery::OfAppointment("appt-e".to_owned()))
            .await
            .unwrap();
        let statuses = ["queued", "accepted", "sent", "delivered", "dead", "blocked"];
        let outbox = app
            .store
            .outbox(
                &org,
                &OutboxQuery::InStatus {
                    statuses: statuses.iter().map(|s| (*s).to_owned()).collect(),
                    resent_only: false,
                    limit: 100,
                },
            )
            .await
            .unwrap();
        let of_child = |patient: &str| patient == PATIENT;
        (
            enrollments
                .iter()
                .filter(|e| of_child(&e.patient_id))
                .count(),
            outbox.iter().filter(|m| of_child(&m.patient_id)).count(),
        )
    };
    let (enrollments, messages) = child_rows().await;
    assert!(enrollments > 0 && messages > 0, "{enrollments} {messages}");

    let status = app
        .delete(&format!("/fhir/Patient/{PATIENT}?_erase=true"))
        .await;
    assert!(status.is_success(), "{status}");
    assert_eq!(child_rows().await, (0, 0));
    // Nothing is left to send to the child, at any time.
    assert!(at(app, "2026-03-20T12:00:00Z").await.is_empty());
}

async fn clients_cannot_write_the_record_of_messages_or_tasks(app: &TestApp) {
    app.clock.set("2026-03-02T15:00:00Z".parse().unwrap());
    book_in_boston(app, "appt-w").await;
    assert_eq!(at(app, "2026-03-02T15:00:00Z").await.len(), 1);
    let before = communications(app).await;
    let id = before[0]["id"].as_str().unwrap().to_owned();
    let forged = json!({"resourceType": "Communication", "id": id, "status": "completed"});
    let task = json!({"resourceType": "Task", "status": "requested", "intent": "order"});

    let (status, outcome) = app.post("/fhir/Communication", &forged).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED, "{outcome}");
    assert_eq!(outcome["resourceType"], "OperationOutcome");
    assert_eq!(
        app.put(&format!("/fhir/Communication/{id}"), &forged)
            .await
            .0,
        StatusCode::METHOD_NOT_ALLOWED
    );
    assert_eq!(
        app.delete(&format!("/fhir/Communication/{id}")).await,
        StatusCode::METHOD_NOT_ALLOWED
    );
    let (status, _, _) = app
        .send(
            app.request(reqwest::Method::POST, "/fhir/Task")
                .header("content-type", "application/fhir+json")
                .header("if-none-exist", "status=requested")
                .json(&task),
        )
        .await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    for (method, url, resource) in [
        ("POST", "Communication".to_owned(), Some(&forged)),
        ("PUT", format!("Communication/{id}"), Some(&forged)),
        ("DELETE", format!("Communication/{id}"), None),
        ("POST", "Task".to_owned(), Some(&task)),
    ] {
        let mut entry = json!({"request": {"method": method, "url": url}});
        if let Some(resource) = resource {
            entry["resource"] = resource.clone();
        }
        let bundle = json!({"resourceType": "Bundle", "type": "transaction", "entry": [entry]});
        let (status, outcome) = app.post("/fhir", &bundle).await;
        assert_eq!(
            status,
            StatusCode::METHOD_NOT_ALLOWED,
            "{method} {url}: {outcome}"
        );
    }
    let mut after = communications(app).await;
    let mut before = before;
    for resource in after.iter_mut().chain(before.iter_mut()) {
        resource.as_object_mut().unwrap().remove("meta");
    }
    assert_eq!(after, before);
    let (_, tasks) = app.get("/fhir/Task").await;
    assert_eq!(tasks["total"], 0);
}
