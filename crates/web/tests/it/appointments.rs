//! Appointments: the official example, searched by patient, date range and status.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::harness::{TestApp, fixture, without_server_meta};

crate::on_both_backends!(
    the_official_example_appointment_round_trips,
    appointments_are_found_by_patient_date_and_status,
    practitioners_and_locations_are_found_by_identifier,
);

async fn example_patient(app: &TestApp) {
    let (status, _) = app
        .put("/fhir/Patient/example", &fixture("Patient-example.json"))
        .await;
    assert_eq!(status, StatusCode::CREATED);
}

async fn the_official_example_appointment_round_trips(app: &TestApp) {
    example_patient(app).await;
    let example = fixture("Appointment-example.json");
    let (status, created) = app.post("/fhir/Appointment", &example).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = created["id"].as_str().unwrap();
    let (status, read) = app.get(&format!("/fhir/Appointment/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    let mut expected = example.clone();
    expected["id"] = json!(id);
    assert_eq!(without_server_meta(read), expected);
}

fn appointment(start: &str, end: &str, status: &str) -> Value {
    json!({
        "resourceType": "Appointment",
        "status": status,
        "start": start,
        "end": end,
        "participant": [
            {"actor": {"reference": "Patient/example"}, "status": "needs-action"},
            {"actor": {"reference": "Practitioner/dr-1"}, "status": "accepted"}
        ]
    })
}

fn ids(bundle: &Value) -> Vec<String> {
    bundle["entry"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["resource"]["id"].as_str().unwrap().to_owned())
        .collect()
}

async fn appointments_are_found_by_patient_date_and_status(app: &TestApp) {
    example_patient(app).await;
    let mut made = Vec::new();
    for (start, end, status) in [
        ("2026-03-10T09:00:00Z", "2026-03-10T09:30:00Z", "booked"),
        (
            "2026-03-01T15:00:00-05:00",
            "2026-03-01T15:20:00-05:00",
            "booked",
        ),
        ("2026-04-02T09:00:00Z", "2026-04-02T09:30:00Z", "cancelled"),
    ] {
        let (status_code, created) = app
            .post("/fhir/Appointment", &appointment(start, end, status))
            .await;
        assert_eq!(status_code, StatusCode::CREATED, "{created}");
        made.push(created["id"].as_str().unwrap().to_owned());
    }
    let mut proposed = appointment("", "", "proposed");
    proposed
        .as_object_mut()
        .unwrap()
        .retain(|k, _| k != "start" && k != "end");
    let (status, unscheduled) = app.post("/fhir/Appointment", &proposed).await;
    assert_eq!(status, StatusCode::CREATED, "{unscheduled}");
    let unscheduled = unscheduled["id"].as_str().unwrap().to_owned();
    // Sorted by start: 2026-03-01T20:00Z, then 03-10, then 04-02; no start comes last.
    let (_, all) = app.get("/fhir/Appointment?patient=Patient/example").await;
    assert_eq!(
        ids(&all),
        [
            made[1].clone(),
            made[0].clone(),
            made[2].clone(),
            unscheduled
        ]
    );
    let (_, march) = app
        .get("/fhir/Appointment?patient=example&date=ge2026-03-01&date=lt2026-04-01")
        .await;
    assert_eq!(ids(&march), [made[1].clone(), made[0].clone()]);
    let (_, day) = app.get("/fhir/Appointment?date=2026-03-01").await;
    assert_eq!(ids(&day), [made[1].clone()]);
    let (_, after) = app
        .get("/fhir/Appointment?date=gt2026-03-10T09:00:00Z")
        .await;
    assert_eq!(ids(&after), [made[2].clone()]);
    let (_, booked) = app
        .get("/fhir/Appointment?status=booked&practitioner=dr-1")
        .await;
    assert_eq!(ids(&booked).len(), 2);
    let (_, cancelled) = app.get("/fhir/Appointment?status=cancelled").await;
    assert_eq!(ids(&cancelled), [made[2].clone()]);
    let (_, nobody) = app.get("/fhir/Appointment?patient=someone-else").await;
    assert_eq!(nobody["total"], 0);
}

async fn practitioners_and_locations_are_found_by_identifier(app: &TestApp) {
    let practitioner = json!({
        "resourceType": "Practitioner",
        "identifier": [{"system": "http://hl7.org/fhir/sid/us-npi", "value": "1234567893"}],
        "name": [{"family": "Careful", "given": ["Adam"], "prefix": ["Dr"]}]
    });
    let (status, _) = app
        .put("/fhir/Practitioner/dr-1", &{
            let mut p = practitioner.clone();
            p["id"] = json!("dr-1");
            p
        })
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let location = json!({"resourceType": "Location", "identifier": [{"value": "SW2"}], "name": "South Wing, second floor"});
    let (status, created) = app.post("/fhir/Location", &location).await;
    assert_eq!(status, StatusCode::CREATED);
    let (_, found) = app
        .get("/fhir/Practitioner?identifier=http://hl7.org/fhir/sid/us-npi|1234567893")
        .await;
    assert_eq!(ids(&found), ["dr-1"]);
    let (_, found) = app.get("/fhir/Location?identifier=SW2").await;
    assert_eq!(ids(&found), [created["id"].as_str().unwrap()]);
    let (status, read) = app
        .get(&format!(
            "/fhir/Location/{}",
            created["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(read["name"], "South Wing, second floor");
}
