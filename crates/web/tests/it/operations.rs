//! Health, readiness, metrics and request ids.

use reqwest::{Method, StatusCode};

use crate::harness::TestApp;

crate::on_both_backends!(
    health_readiness_and_metrics_answer,
    every_response_carries_a_request_id
);

async fn health_readiness_and_metrics_answer(app: &TestApp) {
    let health = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), StatusCode::OK);
    let ready: serde_json::Value = app
        .client
        .get(app.url("/readyz"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ready["status"], "ready");
    app.get("/fhir/Patient/missing").await;
    let metrics = app
        .client
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains(r#"careloop_http_requests_total{method="GET",route="/fhir/{resource_type}/{id}",status="404"} 1"#),
        "{metrics}"
    );
    assert!(metrics.contains("careloop_http_request_duration_seconds_bucket"));
    assert!(metrics.contains(r#"careloop_db_pool_connections{state="max"}"#));
    assert!(
        !metrics.contains("missing"),
        "concrete ids never become labels"
    );
}

async fn every_response_carries_a_request_id(app: &TestApp) {
    let (_, headers, _) = app.send(app.request(Method::GET, "/fhir/Patient")).await;
    assert_eq!(headers["x-request-id"].len(), 36);
    let (_, headers, _) = app
        .send(
            app.request(Method::GET, "/fhir/Patient")
                .header("x-request-id", "ehr-req-42"),
        )
        .await;
    assert_eq!(headers["x-request-id"], "ehr-req-42");
    let (_, headers, _) = app
        .send(
            app.request(Method::GET, "/fhir/Patient")
                .header("x-request-id", "bad id <script>"),
        )
        .await;
    assert_ne!(headers["x-request-id"], "bad id <script>");
}
