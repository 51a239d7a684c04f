//! Every change to an appointment records its domain event in the same transaction, and
//! an event stays unhandled until its consumer marks it.

use careloop_domain::OrgId;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::harness::{TestApp, fixture};

crate::on_both_backends!(
    appointment_changes_record_their_events,
    failed_writes_record_no_events
);

fn appointment(start: &str, end: &str, status: &str, patient_status: &str) -> Value {
    json!({
        "resourceType": "Appointment", "id": "a-1", "status": status, "start": start, "end": end,
        "participant": [{"actor": {"reference": "Patient/example"}, "status": patient_status}]
    })
}

async fn events(app: &TestApp) -> Vec<(String, String, u32)> {
    let org = OrgId::default_org();
    let events = app.store.unhandled_events(&org, 100).await.unwrap();
    app.store.mark_handled(&org, &events).await.unwrap();
    events
        .into_iter()
        .map(|e| (e.name, e.id.as_str().to_owned(), e.version))
        .collect()
}

fn named(events: &[(String, String, u32)]) -> Vec<&str> {
    events.iter().map(|(name, _, _)| name.as_str()).collect()
}

async fn appointment_changes_record_their_events(app: &TestApp) {
    app.put("/fhir/Patient/example", &fixture("Patient-example.json"))
        .await;
    let nine = ("2026-03-10T09:00:00Z", "2026-03-10T09:30:00Z");
    let ten = ("2026-03-10T10:00:00Z", "2026-03-10T10:30:00Z");
    let steps: [(Value, &[&str]); 6] = [
        (
            appointment(nine.0, nine.1, "booked", "needs-action"),
            &["appointment.booked"],
        ),
        (appointment(nine.0, nine.1, "booked", "needs-action"), &[]),
        (
            appointment(ten.0, ten.1, "booked", "needs-action"),
            &["appointment.rescheduled"],
        ),
        (
            appointment(ten.0, ten.1, "booked", "accepted"),
            &["appointment.confirmed"],
        ),
        (
            appointment(ten.0, ten.1, "cancelled", "accepted"),
            &["appointment.cancelled"],
        ),
        (
            appointment(ten.0, ten.1, "booked", "accepted"),
            &["appointment.booked", "appointment.confirmed"],
        ),
    ];
    for (version, (body, expected)) in steps.iter().enumerate() {
        let (status, written) = app.put("/fhir/Appointment/a-1", body).await;
        assert!(status.is_success(), "{written}");
        let recorded = events(app).await;
        assert_eq!(named(&recorded), *expected, "write {}", version + 1);
        let version = u32::try_from(version + 1).unwrap();
        assert!(
            recorded
                .iter()
                .all(|(_, id, v)| id == "a-1" && *v == version)
        );
    }
    assert_eq!(
        app.delete("/fhir/Appointment/a-1").await,
        StatusCode::NO_CONTENT
    );
    assert_eq!(named(&events(app).await), ["appointment.cancelled"]);
    assert!(
        events(app).await.is_empty(),
        "handled events are not handed out again"
    );
}

async fn failed_writes_record_no_events(app: &TestApp) {
    app.put("/fhir/Patient/example", &fixture("Patient-example.json"))
        .await;
    let mut bad = appointment(
        "2026-03-10T09:00:00Z",
        "2026-03-10T08:00:00Z",
        "booked",
        "needs-action",
    );
    let (status, _) = app.put("/fhir/Appointment/a-1", &bad).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    bad["end"] = json!("2026-03-10T09:30:00Z");
    let bundle = json!({"resourceType": "Bundle", "type": "transaction", "entry": [
        {"resource": bad, "request": {"method": "PUT", "url": "Appointment/a-1"}},
        {"resource": {"resourceType": "Patient", "telecom": [{"system": "phone", "value": "nope"}]}, "request": {"method": "POST", "url": "Patient"}}
    ]});
    let (status, _) = app.post("/fhir", &bundle).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(events(app).await.is_empty());
    // Unhandled events wait, however often they are read.
    app.put(
        "/fhir/Appointment/a-1",
        &appointment(
            "2026-03-10T09:00:00Z",
            "2026-03-10T09:30:00Z",
            "booked",
            "needs-action",
        ),
    )
    .await;
    let org = OrgId::default_org();
    assert_eq!(app.store.unhandled_events(&org, 10).await.unwrap().len(), 1);
    assert_eq!(app.store.unhandled_events(&org, 10).await.unwrap().len(), 1);
}
