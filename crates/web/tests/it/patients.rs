//! Patients: the official example round-trips, and is found by identifier, phone and email.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::harness::{TestApp, fixture, without_server_meta};

crate::on_both_backends!(
    the_official_example_patient_round_trips,
    patients_are_found_by_identifier_phone_and_email,
    a_restart_keeps_what_was_stored,
    posted_patients_get_a_server_id,
    search_pages_with_next_links,
);

async fn the_official_example_patient_round_trips(app: &TestApp) {
    let example = fixture("Patient-example.json");
    let (status, created) = app.put("/fhir/Patient/example", &example).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["meta"]["versionId"], "1");
    let (status, read) = app.get("/fhir/Patient/example").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(without_server_meta(read), example);
}

fn patient(mrn: &str, phone: &str, email: &str) -> Value {
    json!({
        "resourceType": "Patient",
        "identifier": [{"system": "urn:oid:2.16.840.1.113883.4.1", "value": mrn}],
        "name": [{"family": "Rivera", "given": ["Ana"]}],
        "telecom": [
            {"system": "phone", "value": phone, "use": "mobile", "rank": 1},
            {"system": "email", "value": email}
        ],
        "extension": [{"url": "http://hl7.org/fhir/StructureDefinition/tz-code", "valueCode": "America/Chicago"}],
        "communication": [{"language": {"coding": [{"system": "urn:ietf:bcp:47", "code": "es"}]}, "preferred": true}]
    })
}

fn ids(bundle: &Value) -> Vec<String> {
    bundle["entry"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["search"]["mode"] == "match")
        .map(|e| e["resource"]["id"].as_str().unwrap().to_owned())
        .collect()
}

async fn patients_are_found_by_identifier_phone_and_email(app: &TestApp) {
    let (_, ana) = app
        .post(
            "/fhir/Patient",
            &patient("111-22-3333", "(312) 555-0142", "Ana.Rivera@Example.org"),
        )
        .await;
    let (_, other) = app
        .post(
            "/fhir/Patient",
            &patient("999-88-7777", "+1 312 555 0199", "someone@example.org"),
        )
        .await;
    let ana = ana["id"].as_str().unwrap().to_owned();
    let other = other["id"].as_str().unwrap().to_owned();
    for query in [
        "identifier=urn:oid:2.16.840.1.113883.4.1|111-22-3333",
        "identifier=111-22-3333",
        "phone=%2B13125550142",
        "phone=312-555-0142",
        "telecom=phone|(312)%20555%200142",
        "email=ana.rivera@example.org",
        "telecom=ANA.RIVERA@EXAMPLE.ORG",
    ] {
        let (status, bundle) = app.get(&format!("/fhir/Patient?{query}")).await;
        assert_eq!(status, StatusCode::OK, "{query}");
        assert_eq!(ids(&bundle), std::slice::from_ref(&ana), "{query}");
        assert_eq!(bundle["total"], 1, "{query}");
    }
    let (_, both) = app
        .get("/fhir/Patient?identifier=111-22-3333,999-88-7777")
        .await;
    assert_eq!(ids(&both).len(), 2);
    let (_, none) = app
        .get("/fhir/Patient?identifier=urn:oid:other|111-22-3333")
        .await;
    assert_eq!(none["total"], 0);
    let (_, one) = app
        .get("/fhir/Patient?identifier=999-88-7777&email=someone@example.org")
        .await;
    assert_eq!(ids(&one), [other]);
}

async fn a_restart_keeps_what_was_stored(app: &TestApp) {
    let (_, created) = app
        .post(
            "/fhir/Patient",
            &patient("5", "+13125550100", "r@example.org"),
        )
        .await;
    let id = created["id"].as_str().unwrap().to_owned();
    let same = TestApp::start(app.db.clone(), app.master.clone()).await;
    let (status, read) = same.get(&format!("/fhir/Patient/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(read, created);
}

async fn posted_patients_get_a_server_id(app: &TestApp) {
    let mut example = fixture("Patient-f001.json");
    let (status, headers, created) = app
        .send(
            app.request(reqwest::Method::POST, "/fhir/Patient")
                .header("content-type", "application/fhir+json")
                .json(&example),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let id = created["id"].as_str().unwrap();
    assert_ne!(id, "f001");
    assert_eq!(
        headers["location"].to_str().unwrap(),
        app.url(&format!("/fhir/Patient/{id}/_history/1"))
    );
    assert_eq!(headers["etag"], "W/\"1\"");
    assert!(headers.contains_key("last-modified"));
    example["id"] = json!(id);
    assert_eq!(without_server_meta(created), example);
}

async fn search_pages_with_next_links(app: &TestApp) {
    for i in 0..5 {
        app.post(
            "/fhir/Patient",
            &patient(&format!("page-{i}"), "+13125550101", "page@example.org"),
        )
        .await;
    }
    let (_, first) = app
        .get("/fhir/Patient?email=page@example.org&_count=2")
        .await;
    assert_eq!(first["total"], 5);
    assert_eq!(ids(&first).len(), 2);
    let next = first["link"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["relation"] == "next")
        .unwrap()["url"]
        .as_str()
        .unwrap();
    let (_, second) = app.get(next.strip_prefix(&app.address).unwrap()).await;
    assert_eq!(ids(&second).len(), 2);
    assert!(ids(&second).iter().all(|id| !ids(&first).contains(id)));
}
