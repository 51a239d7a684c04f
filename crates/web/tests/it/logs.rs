//! Log lines carry request ids and routes, never a patient's name, phone, email or
//! identifier, whatever the request held.

use std::io::Write;
use std::sync::{Arc, Mutex};

use reqwest::Method;
use serde_json::json;

use crate::harness::TestApp;

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn logs_hold_no_health_data() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_env_filter("debug,hyper=info,hyper_util=info,reqwest=info,sqlx=info")
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let app = TestApp::sqlite().await;

    let patient = json!({
        "resourceType": "Patient",
        "identifier": [{"system": "urn:mrn", "value": "MRN-40417"}],
        "name": [{"family": "Thistlewood", "given": ["Imogen"]}],
        "telecom": [{"system": "phone", "value": "+1 415 555 0188"}, {"system": "email", "value": "imogen.t@example.org"}]
    });
    let (_, created) = app.post("/fhir/Patient", &patient).await;
    let id = created["id"].as_str().unwrap().to_owned();
    app.get("/fhir/Patient?phone=%2B14155550188&email=imogen.t@example.org&identifier=MRN-40417")
        .await;
    app.get("/fhir/Patient?phone=Thistlewood").await;
    let mut bad = patient.clone();
    bad["telecom"] = json!([{"system": "phone", "value": "Imogen's phone"}]);
    app.post("/fhir/Patient", &bad).await;
    bad["telecom"] = json!([{"system": "email", "value": "imogen.t at example.org"}]);
    app.post("/fhir/Patient", &bad).await;
    app.send(
        app.request(Method::POST, "/fhir/Patient")
            .header("content-type", "application/fhir+json")
            .body("{\"name\": \"Thistlewood"),
    )
    .await;
    app.client
        .get(app.url("/fhir/Patient?email=imogen.t@example.org"))
        .bearer_auth("Thistlewood-token-123")
        .send()
        .await
        .unwrap();
    app.delete(&format!("/fhir/Patient/{id}?_erase=true")).await;

    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(logs.contains("request_id="), "{logs}");
    assert!(logs.contains("route=/fhir/{resource_type}"), "{logs}");
    assert!(logs.contains("request refused"), "{logs}");
    for secret in [
        "Thistlewood",
        "Imogen",
        "4155550188",
        "555 0188",
        "imogen.t",
        "example.org",
        "MRN-40417",
    ] {
        assert!(!logs.contains(secret), "'{secret}' is in the logs:\n{logs}");
    }
}
