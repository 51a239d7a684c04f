//! Transaction bundles: all entries or none, `urn:uuid` references resolved.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::harness::TestApp;

crate::on_both_backends!(
    a_transaction_creates_linked_resources,
    a_failing_entry_writes_nothing,
    a_patient_put_under_its_own_id_and_its_appointment,
    entries_that_clash_are_refused,
);

fn bundle(appointment_end: &str) -> Value {
    json!({
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "fullUrl": "urn:uuid:0c3151bd-1cbf-4d64-b04d-cd9187a4c6e0",
                "resource": {
                    "resourceType": "Appointment",
                    "status": "booked",
                    "start": "2026-05-01T14:00:00Z",
                    "end": appointment_end,
                    "participant": [{"actor": {"reference": "urn:uuid:61ebe359-bfdc-4613-8bf2-c5e300945f0a"}, "status": "needs-action"}]
                },
                "request": {"method": "POST", "url": "Appointment"}
            },
            {
                "fullUrl": "urn:uuid:61ebe359-bfdc-4613-8bf2-c5e300945f0a",
                "resource": {
                    "resourceType": "Patient",
                    "identifier": [{"system": "urn:mrn", "value": "tx-1"}],
                    "name": [{"family": "Haddad"}],
                    "telecom": [{"system": "sms", "value": "+14155550123"}]
                },
                "request": {"method": "POST", "url": "Patient", "ifNoneExist": "identifier=urn:mrn|tx-1"}
            }
        ]
    })
}

async fn a_transaction_creates_linked_resources(app: &TestApp) {
    let (status, response) = app.post("/fhir", &bundle("2026-05-01T14:30:00Z")).await;
    assert_eq!(status, StatusCode::OK, "{response}");
    assert_eq!(response["type"], "transaction-response");
    let entries = response["entry"].as_array().unwrap();
    assert_eq!(entries[0]["response"]["status"], "201 Created");
    assert_eq!(entries[1]["response"]["status"], "201 Created");
    let patient_id = entries[1]["resource"]["id"].as_str().unwrap();
    let reference = entries[0]["resource"]["participant"][0]["actor"]["reference"]
        .as_str()
        .unwrap();
    assert_eq!(reference, format!("Patient/{patient_id}"));
    let (_, found) = app
        .get(&format!("/fhir/Appointment?patient={patient_id}"))
        .await;
    assert_eq!(found["total"], 1);
    // Sent again, the patient is found by identifier instead of created twice.
    let (status, again) = app.post("/fhir", &bundle("2026-05-01T14:30:00Z")).await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(again["entry"][1]["response"]["status"], "200 OK");
    assert_eq!(again["entry"][1]["resource"]["id"], patient_id);
    let (_, patients) = app.get("/fhir/Patient?identifier=urn:mrn|tx-1").await;
    assert_eq!(patients["total"], 1);
}

async fn a_failing_entry_writes_nothing(app: &TestApp) {
    let (status, outcome) = app.post("/fhir", &bundle("2026-05-01T13:00:00Z")).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{outcome}");
    assert_eq!(
        outcome["issue"][0]["expression"][0],
        "Bundle.entry[0].resource.end"
    );
    let (_, patients) = app.get("/fhir/Patient").await;
    assert_eq!(patients["total"], 0);
    let (_, appointments) = app.get("/fhir/Appointment").await;
    assert_eq!(appointments["total"], 0);
}

async fn a_patient_put_under_its_own_id_and_its_appointment(app: &TestApp) {
    let bundle = json!({
        "resourceType": "Bundle", "type": "transaction",
        "entry": [
            {
                "resource": {"resourceType": "Appointment", "status": "booked", "start": "2026-05-01T14:00:00Z", "end": "2026-05-01T14:30:00Z",
                             "participant": [{"actor": {"reference": "Patient/ehr-77"}, "status": "needs-action"}]},
                "request": {"method": "POST", "url": "Appointment"}
            },
            {
                "resource": {"resourceType": "Patient", "id": "ehr-77", "name": [{"family": "Adeyemi"}]},
                "request": {"method": "PUT", "url": "Patient/ehr-77"}
            }
        ]
    });
    let (status, response) = app.post("/fhir", &bundle).await;
    assert_eq!(status, StatusCode::OK, "{response}");
    assert_eq!(
        response["entry"][1]["response"]["location"],
        "Patient/ehr-77/_history/1"
    );
    let (_, found) = app.get("/fhir/Appointment?patient=ehr-77").await;
    assert_eq!(found["total"], 1);
    // Deleted, then re-created with an appointment in one transaction.
    assert_eq!(
        app.delete("/fhir/Patient/ehr-77").await,
        StatusCode::NO_CONTENT
    );
    let (status, response) = app.post("/fhir", &bundle).await;
    assert_eq!(status, StatusCode::OK, "{response}");
    assert_eq!(response["entry"][1]["response"]["status"], "201 Created");
    assert_eq!(response["entry"][1]["response"]["etag"], "W/\"3\"");
}

async fn entries_that_clash_are_refused(app: &TestApp) {
    let patient = json!({"resourceType": "Patient", "id": "p-1"});
    let twice = json!({"resourceType": "Bundle", "type": "transaction", "entry": [
        {"resource": patient, "request": {"method": "PUT", "url": "Patient/p-1"}},
        {"request": {"method": "DELETE", "url": "Patient/p-1"}}
    ]});
    let (status, outcome) = app.post("/fhir", &twice).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{outcome}");
    assert!(
        outcome["issue"][0]["diagnostics"]
            .as_str()
            .unwrap()
            .contains("Bundle.entry[0] and Bundle.entry[1] both change Patient/p-1")
    );

    let mismatched = json!({"resourceType": "Bundle", "type": "transaction", "entry": [
        {"resource": {"resourceType": "Patient", "id": "other"}, "request": {"method": "PUT", "url": "Patient/p-1"}}
    ]});
    let (status, outcome) = app.post("/fhir", &mismatched).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{outcome}");
    assert_eq!(
        outcome["issue"][0]["expression"][0],
        "Bundle.entry[0].resource"
    );

    app.put("/fhir/Patient/p-1", &patient).await;
    assert_eq!(
        app.delete("/fhir/Patient/p-1").await,
        StatusCode::NO_CONTENT
    );
    let delete_again = json!({"resourceType": "Bundle", "type": "transaction", "entry": [
        {"request": {"method": "DELETE", "url": "Patient/p-1"}}
    ]});
    let (status, response) = app.post("/fhir", &delete_again).await;
    assert_eq!(status, StatusCode::OK, "{response}");
    assert_eq!(response["entry"][0]["response"]["status"], "204 No Content");
    let (_, patients) = app.get("/fhir/Patient").await;
    assert_eq!(patients["total"], 0);
}
