//! Versions, ETags, If-Match, conditional create, and delete.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::harness::TestApp;

crate::on_both_backends!(
    updates_bump_the_version_and_if_match_guards_them,
    conditional_create_returns_the_existing_patient,
    concurrent_conditional_creates_make_one_patient,
    deleted_resources_are_gone,
);

fn patient(mrn: &str) -> Value {
    json!({"resourceType": "Patient", "identifier": [{"system": "urn:mrn", "value": mrn}], "name": [{"family": "Okafor"}]})
}

async fn updates_bump_the_version_and_if_match_guards_them(app: &TestApp) {
    let (_, created) = app.post("/fhir/Patient", &patient("v-1")).await;
    let id = created["id"].as_str().unwrap().to_owned();
    let path = format!("/fhir/Patient/{id}");
    let mut changed = created.clone();
    changed["name"] = json!([{"family": "Okafor-Smith"}]);
    app.clock.advance(jiff::SignedDuration::from_secs(60));
    let (status, headers, updated) = app
        .send(
            app.request(Method::PUT, &path)
                .header("if-match", "W/\"1\"")
                .json(&changed),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{updated}");
    assert_eq!(headers["etag"], "W/\"2\"");
    assert_eq!(updated["meta"]["versionId"], "2");
    assert_ne!(
        updated["meta"]["lastUpdated"],
        created["meta"]["lastUpdated"]
    );
    let (status, _, outcome) = app
        .send(
            app.request(Method::PUT, &path)
                .header("if-match", "W/\"1\"")
                .json(&created),
        )
        .await;
    assert_eq!(status, StatusCode::PRECONDITION_FAILED);
    assert_eq!(outcome["resourceType"], "OperationOutcome");
    let (_, current) = app.get(&path).await;
    assert_eq!(current["name"][0]["family"], "Okafor-Smith");
    assert_eq!(current["meta"]["versionId"], "2");
    let (status, _, _) = app
        .send(
            app.request(Method::DELETE, &path)
                .header("if-match", "W/\"1\""),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::PRECONDITION_FAILED,
        "a guarded delete of a stale version"
    );
    let (status, _) = app.get(&path).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _, _) = app
        .send(
            app.request(Method::DELETE, &path)
                .header("if-match", "W/\"2\""),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
}

async fn conditional_create_returns_the_existing_patient(app: &TestApp) {
    let create = |app: &TestApp| {
        app.request(Method::POST, "/fhir/Patient")
            .header("if-none-exist", "identifier=urn:mrn|cc-1")
            .json(&patient("cc-1"))
    };
    let (first_status, _, first) = app.send(create(app)).await;
    let (second_status, _, second) = app.send(create(app)).await;
    assert_eq!(first_status, StatusCode::CREATED);
    assert_eq!(second_status, StatusCode::OK);
    assert_eq!(first["id"], second["id"]);
    let (_, found) = app.get("/fhir/Patient?identifier=urn:mrn|cc-1").await;
    assert_eq!(found["total"], 1);
    app.post("/fhir/Patient", &patient("cc-1")).await;
    let (status, _, outcome) = app.send(create(app)).await;
    assert_eq!(status, StatusCode::PRECONDITION_FAILED, "{outcome}");
}

async fn deleted_resources_are_gone(app: &TestApp) {
    let (_, created) = app.post("/fhir/Patient", &patient("d-1")).await;
    let path = format!("/fhir/Patient/{}", created["id"].as_str().unwrap());
    assert_eq!(app.delete(&path).await, StatusCode::NO_CONTENT);
    assert_eq!(app.delete(&path).await, StatusCode::NO_CONTENT);
    let (status, outcome) = app.get(&path).await;
    assert_eq!(status, StatusCode::GONE);
    assert_eq!(outcome["issue"][0]["code"], "deleted");
    let (_, found) = app.get("/fhir/Patient?identifier=d-1").await;
    assert_eq!(found["total"], 0);
    assert_eq!(
        app.delete("/fhir/Patient/never-was").await,
        StatusCode::NOT_FOUND
    );
}

async fn concurrent_conditional_creates_make_one_patient(app: &TestApp) {
    let sends = (0..8).map(|_| {
        app.send(
            app.request(Method::POST, "/fhir/Patient")
                .header("if-none-exist", "identifier=urn:mrn|race-1")
                .json(&patient("race-1")),
        )
    });
    let answers = futures_join_all(sends).await;
    let created = answers
        .iter()
        .filter(|(status, _, _)| *status == StatusCode::CREATED)
        .count();
    assert_eq!(
        created,
        1,
        "{:?}",
        answers.iter().map(|a| a.0).collect::<Vec<_>>()
    );
    assert!(
        answers
            .iter()
            .all(|(status, _, _)| *status == StatusCode::CREATED || *status == StatusCode::OK)
    );
    let ids: std::collections::HashSet<&str> = answers
        .iter()
        .map(|(_, _, body)| body["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 1);
    let (_, found) = app.get("/fhir/Patient?identifier=urn:mrn|race-1").await;
    assert_eq!(found["total"], 1);
}

/// Runs the futures concurrently on this task and collects their outputs in order.
async fn futures_join_all<F: std::future::Future>(
    futures: impl Iterator<Item = F>,
) -> Vec<F::Output> {
    let mut set = Vec::new();
    for future in futures {
        set.push(Box::pin(future));
    }
    let mut outputs: Vec<Option<F::Output>> = set.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (future, output) in set.iter_mut().zip(outputs.iter_mut()) {
            if output.is_none() {
                match future.as_mut().poll(cx) {
                    std::task::Poll::Ready(value) => *output = Some(value),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    outputs.into_iter().map(|o| o.unwrap()).collect()
}
