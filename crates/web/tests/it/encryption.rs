//! Health data at rest: the raw database never shows a name, phone or email, and an
//! erased patient's rows cannot be decrypted any more.

use careloop_domain::{OrgId, ResourceId};
use careloop_store::StoreError;
use careloop_store::backend::Row;
use reqwest::StatusCode;
use serde_json::json;

use crate::harness::{TestApp, fixture};

crate::on_both_backends!(
    the_raw_database_holds_no_plaintext_contact_details,
    an_erased_patient_cannot_be_decrypted,
    erasing_a_patient_removes_shared_appointments_and_leaves_no_bytes,
    sealed_rows_open_only_at_their_own_address_and_version,
);

async fn the_raw_database_holds_no_plaintext_contact_details(app: &TestApp) {
    app.put("/fhir/Patient/example", &fixture("Patient-example.json"))
        .await;
    let patient = json!({
        "resourceType": "Patient",
        "identifier": [{"system": "urn:mrn", "value": "MRN-88231"}],
        "name": [{"family": "Zwierzchowski", "given": ["Małgorzata"]}],
        "birthDate": "1961-07-14",
        "telecom": [{"system": "phone", "value": "+1 415 555 0176"}, {"system": "email", "value": "gosia.zw@example.org"}],
        "address": [{"line": ["1600 Larkspur Terrace"], "city": "Oakland"}]
    });
    let (status, created) = app.post("/fhir/Patient", &patient).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_no_plaintext(app).await;
    let patient_id = created["id"].as_str().unwrap().to_owned();
    let (status, _) = app
        .post("/fhir/Appointment", &json!({
            "resourceType": "Appointment", "status": "booked",
            "start": "2026-03-10T09:00:00Z", "end": "2026-03-10T09:30:00Z",
            "comment": "Discuss the Zwierzchowski biopsy",
            "participant": [{"actor": {"reference": "Patient/example", "display": "Peter James Chalmers"}, "status": "accepted"}]
        }))
        .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_no_plaintext(app).await;
    // Her own appointment: the engine writes messages to her phone and email, with her
    // first name, into Communications, enrollments and the outbox.
    let (status, _) = app
        .post("/fhir/Appointment", &json!({
            "resourceType": "Appointment", "status": "booked",
            "start": "2026-03-12T15:00:00Z", "end": "2026-03-12T15:30:00Z",
            "participant": [{"actor": {"reference": format!("Patient/{patient_id}")}, "status": "needs-action"}]
        }))
        .await;
    assert_eq!(status, StatusCode::CREATED);
    app.engine.run_until_idle().await.unwrap();
    let (_, sent) = app
        .get(&format!("/fhir/Communication?patient={patient_id}"))
        .await;
    assert_eq!(sent["total"], 1, "{sent}");
    assert_no_plaintext(app).await;
}

async fn assert_no_plaintext(app: &TestApp) {
    let raw = app.raw_database().await;
    assert!(raw.len() > 1000, "the dump has the rows");
    for secret in [
        "your appointment is booked",
        "Chalmers",
        "Peter James",
        "5555 6473",
        "0355556473",
        "12345",
        "Erewhon",
        "Zwierzchowski",
        "Małgorzata",
        "4155550176",
        "+14155550176",
        "gosia.zw",
        "example.org",
        "MRN-88231",
        "1961-07-14",
        "1974-12-25",
        "Larkspur",
        "biopsy",
    ] {
        let found = raw.windows(secret.len()).any(|w| w == secret.as_bytes());
        assert!(!found, "'{secret}' is in the raw database");
    }
}

async fn an_erased_patient_cannot_be_decrypted(app: &TestApp) {
    app.put("/fhir/Patient/example", &fixture("Patient-example.json"))
        .await;
    let (_, appointment) = app
        .post("/fhir/Appointment", &fixture("Appointment-example.json"))
        .await;
    let org = OrgId::default_org();
    let patient_id = ResourceId::parse("example").unwrap();
    let appointment_id = ResourceId::parse(appointment["id"].as_str().unwrap()).unwrap();
    // What a backup taken before the erasure holds.
    let patient_row = app
        .store
        .raw_row(&org, "Patient", &patient_id)
        .await
        .unwrap()
        .unwrap();
    let appointment_row = app
        .store
        .raw_row(&org, "Appointment", &appointment_id)
        .await
        .unwrap()
        .unwrap();
    assert!(app.store.open_raw(&org, patient_row.clone()).await.is_ok());

    assert_eq!(
        app.delete("/fhir/Patient/example?_erase=true").await,
        StatusCode::NO_CONTENT
    );

    for row in [patient_row, appointment_row.clone()] {
        assert!(matches!(
            app.store.open_raw(&org, row).await,
            Err(StoreError::KeyDestroyed)
        ));
    }
    // A write sealed under the patient's key before the erasure, arriving after it, is
    // refused and leaves nothing behind under the destroyed key.
    let late = Row {
        id: "written-late".into(),
        ..appointment_row
    };
    let late_id = ResourceId::parse("written-late").unwrap();
    assert!(matches!(
        app.store.insert_raw(&org, late).await,
        Err(StoreError::Conflict)
    ));
    assert!(
        app.store
            .raw_row(&org, "Appointment", &late_id)
            .await
            .unwrap()
            .is_none()
    );
    let (status, _) = app.get("/fhir/Patient/example").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = app
        .get(&format!("/fhir/Appointment/{appointment_id}"))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, found) = app.get("/fhir/Patient?identifier=12345").await;
    assert_eq!(found["total"], 0);
    assert_no_orphan_terms(app).await;
    assert_eq!(
        app.delete("/fhir/Appointment/x?_erase=true").await,
        StatusCode::BAD_REQUEST
    );
}

async fn erasing_a_patient_removes_shared_appointments_and_leaves_no_bytes(app: &TestApp) {
    app.put("/fhir/Patient/example", &fixture("Patient-example.json"))
        .await;
    let child = json!({"resourceType": "Patient", "id": "child", "name": [{"family": "Chalmers", "given": ["Pip"]}]});
    app.put("/fhir/Patient/child", &child).await;
    let (status, shared) = app
        .post("/fhir/Appointment", &json!({
            "resourceType": "Appointment", "status": "booked",
            "start": "2026-03-10T09:00:00Z", "end": "2026-03-10T09:30:00Z",
            "participant": [
                {"actor": {"reference": "Patient/example"}, "status": "accepted"},
                {"actor": {"reference": "Patient/child", "display": "Pip Chalmers"}, "status": "accepted"}
            ]
        }))
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let org = OrgId::default_org();
    let sealed = app
        .store
        .raw_row(&org, "Patient", &ResourceId::parse("child").unwrap())
        .await
        .unwrap()
        .unwrap()
        .body;
    assert!(contains(&app.raw_database().await, &sealed[..32]));

    assert_eq!(
        app.delete("/fhir/Patient/child?_erase=true").await,
        StatusCode::NO_CONTENT
    );

    let (status, _) = app
        .get(&format!(
            "/fhir/Appointment/{}",
            shared["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "the appointment named the erased child"
    );
    let (_, found) = app.get("/fhir/Appointment?patient=child").await;
    assert_eq!(found["total"], 0);
    let (status, _) = app.get("/fhir/Patient/example").await;
    assert_eq!(status, StatusCode::OK, "the parent stays");
    assert_no_orphan_terms(app).await;
    assert!(
        !contains(&app.raw_database().await, &sealed[..32]),
        "the erased ciphertext is gone from the files"
    );
}

/// Every search term left belongs to a resource still stored: erasure took the terms
/// of what it deleted with it.
async fn assert_no_orphan_terms(app: &TestApp) {
    let org = OrgId::default_org();
    for (resource_type, id) in app.term_owners().await {
        let id = ResourceId::parse(&id).unwrap();
        let row = app.store.raw_row(&org, &resource_type, &id).await.unwrap();
        assert!(
            row.is_some(),
            "a term of the erased {resource_type}/{id} is left"
        );
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

async fn sealed_rows_open_only_at_their_own_address_and_version(app: &TestApp) {
    let org = OrgId::default_org();
    let patient = json!({"resourceType": "Patient", "id": "p-1", "telecom": [{"system": "phone", "value": "+14155550101"}]});
    app.put("/fhir/Patient/p-1", &patient).await;
    let first = app
        .store
        .raw_row(&org, "Patient", &ResourceId::parse("p-1").unwrap())
        .await
        .unwrap()
        .unwrap();
    let mut moved = patient.clone();
    moved["telecom"][0]["value"] = json!("+14155550199");
    app.put("/fhir/Patient/p-1", &moved).await;
    let second = app
        .store
        .raw_row(&org, "Patient", &ResourceId::parse("p-1").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert!(app.store.open_raw(&org, second.clone()).await.is_ok());
    // The old phone number's ciphertext put back under the current version.
    let rolled_back = careloop_store::backend::Row {
        body: first.body.clone(),
        ..second.clone()
    };
    assert!(matches!(
        app.store.open_raw(&org, rolled_back).await,
        Err(StoreError::Decrypt)
    ));
    // Another patient's ciphertext under this row's address.
    app.put(
        "/fhir/Patient/p-2",
        &json!({"resourceType": "Patient", "id": "p-2"}),
    )
    .await;
    let other = app
        .store
        .raw_row(&org, "Patient", &ResourceId::parse("p-2").unwrap())
        .await
        .unwrap()
        .unwrap();
    let swapped = careloop_store::backend::Row {
        body: other.body,
        ..second
    };
    assert!(app.store.open_raw(&org, swapped).await.is_err());
}
