//! The capability statement and authentication.

use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::harness::TestApp;

crate::on_both_backends!(
    metadata_is_public_and_lists_what_is_supported,
    requests_without_a_valid_token_are_refused
);

async fn metadata_is_public_and_lists_what_is_supported(app: &TestApp) {
    let response = app
        .client
        .get(app.url("/fhir/metadata"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/fhir+json")
    );
    let statement: Value = response.json().await.unwrap();
    assert_eq!(statement["resourceType"], "CapabilityStatement");
    assert_eq!(statement["fhirVersion"], "4.0.1");
    let types: Vec<&str> = statement["rest"][0]["resource"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        [
            "Patient",
            "Appointment",
            "Practitioner",
            "Location",
            "Communication",
            "Task",
            "Consent",
            "CommunicationRequest"
        ]
    );
    // careloop alone writes the record of its messages and tasks.
    let communication = &statement["rest"][0]["resource"][4];
    assert_eq!(
        communication["interaction"],
        serde_json::json!([{"code": "read"}, {"code": "search-type"}])
    );
    // A request to send a message is created, then only read.
    let request = &statement["rest"][0]["resource"][7];
    assert_eq!(
        request["interaction"],
        serde_json::json!([{"code": "read"}, {"code": "create"}, {"code": "search-type"}])
    );
    assert_eq!(request["conditionalCreate"], true);
    assert_eq!(request["updateCreate"], false);
    assert_eq!(
        statement["rest"][0]["interaction"][0]["code"],
        "transaction"
    );
}

async fn requests_without_a_valid_token_are_refused(app: &TestApp) {
    for token in [None, Some("wrong-token-0123456789")] {
        let mut request = app.client.get(app.url("/fhir/Patient"));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(response.headers()["www-authenticate"], "Bearer");
        let outcome: Value = response.json().await.unwrap();
        assert_eq!(outcome["resourceType"], "OperationOutcome");
        assert_eq!(outcome["issue"][0]["code"], "login");
    }
    let (status, _, _) = app.send(app.request(Method::GET, "/fhir/Patient")).await;
    assert_eq!(status, StatusCode::OK);
}
