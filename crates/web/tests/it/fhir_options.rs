//! The finer points of the FHIR HTTP interface: `Prefer`, `_search` by POST, and what
//! happens to search parameters the server does not know.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::harness::TestApp;

crate::on_both_backends!(
    prefer_shapes_the_answer_to_a_write,
    search_by_post_and_unknown_parameters
);

async fn prefer_shapes_the_answer_to_a_write(app: &TestApp) {
    let patient = json!({"resourceType": "Patient", "name": [{"family": "Moreau"}]});
    let (status, headers, body) = app
        .send(
            app.request(Method::POST, "/fhir/Patient")
                .header("prefer", "return=minimal")
                .json(&patient),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(body, serde_json::Value::Null);
    assert!(
        headers["location"]
            .to_str()
            .unwrap()
            .contains("/fhir/Patient/")
    );
    let (status, _, body) = app
        .send(
            app.request(Method::POST, "/fhir/Patient")
                .header("prefer", "return=OperationOutcome")
                .json(&patient),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(body["resourceType"], "OperationOutcome");
    assert_eq!(body["issue"][0]["severity"], "information");
}

async fn search_by_post_and_unknown_parameters(app: &TestApp) {
    let patient =
        json!({"resourceType": "Patient", "identifier": [{"system": "urn:mrn", "value": "s-1"}]});
    app.post("/fhir/Patient", &patient).await;
    let (status, _, bundle) = app
        .send(
            app.request(Method::POST, "/fhir/Patient/_search")
                .header("content-type", "application/x-www-form-urlencoded")
                .body("identifier=urn%3Amrn%7Cs-1"),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(bundle["total"], 1);

    let (status, bundle) = app.get("/fhir/Patient?identifier=s-1&birthdate=1990").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(bundle["total"], 1);
    let outcome = bundle["entry"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["search"]["mode"] == "outcome")
        .unwrap();
    assert!(
        outcome["resource"]["issue"][0]["diagnostics"]
            .as_str()
            .unwrap()
            .contains("birthdate")
    );
    assert!(
        !bundle["link"][0]["url"]
            .as_str()
            .unwrap()
            .contains("birthdate"),
        "the self link shows what was applied"
    );

    let (status, _, outcome) = app
        .send(
            app.request(Method::GET, "/fhir/Patient?identifier=s-1&birthdate=1990")
                .header("prefer", "handling=strict"),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        outcome["issue"][0]["diagnostics"]
            .as_str()
            .unwrap()
            .contains("'birthdate' is not supported")
    );

    let (status, _) = app.get("/fhir/Patient?identifier:exact=s-1").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    let id = bundle["entry"][0]["resource"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (_, by_id) = app
        .get(&format!("/fhir/Patient?_id={id},someone-else"))
        .await;
    assert_eq!(by_id["total"], 1);
    let (_, mixed) = app
        .get("/fhir/Patient?identifier=urn:mrn|s-1,unknown-value")
        .await;
    assert_eq!(mixed["total"], 1, "token forms mix in one OR");
    let (_, none) = app.get("/fhir/Patient?_id=someone-else").await;
    assert_eq!(none["total"], 0);

    let many = (0..300)
        .map(|i| format!("v{i}"))
        .collect::<Vec<_>>()
        .join(",");
    let (status, outcome) = app.get(&format!("/fhir/Patient?identifier={many}")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(outcome["issue"][0]["code"], "too-costly");
}
