//! `/api/v1` for an EHR or a script, on both databases: the queue and a conversation,
//! a note, assignment, state and an answer that goes out through the gates; triage
//! rules, FAQ answers, saved replies and tasks. Bad input is refused with one readable
//! error that quotes nothing a patient wrote, and changes nothing.

use careloop_domain::OrgId;
use careloop_domain::staff::Role;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::harness::TestApp;
use crate::inbox_login::with_staff;
use crate::messaging::{PATIENT, booked, sent_now};
use crate::replies::text_from;

crate::on_both_backends!(
    a_script_does_what_the_inbox_screen_does,
    the_playbook_and_tasks_are_edited_over_the_api,
    bad_requests_are_refused_and_change_nothing,
);

const ANA_PHONE: &str = "+16175550101";
const NURSE: &str = "ana@clinic.example";

async fn call(
    app: &TestApp,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut request = app.request(method, &format!("/api/v1{path}"));
    if let Some(body) = body {
        request = request.json(&body);
    }
    let (status, _, body) = app.send(request).await;
    (status, body)
}

async fn nurse_id(app: &TestApp) -> String {
    app.store
        .all_staff(&OrgId::default_org())
        .await
        .unwrap()
        .into_iter()
        .find(|s| s.email == NURSE)
        .unwrap()
        .id
}

async fn a_script_does_what_the_inbox_screen_does(app: &TestApp) {
    with_staff(app, "nursing", "Nursing", NURSE, Role::Clinician).await;
    booked(app).await;
    assert_eq!(
        text_from(
            app,
            "SM0000000000000000000000000000a001",
            ANA_PHONE,
            "Can I bring my daughter?"
        )
        .await,
        StatusCode::OK
    );
    sent_now(app).await;

    let (status, queue) = call(app, Method::GET, "/conversations", None).await;
    assert_eq!(status, StatusCode::OK, "{queue}");
    assert_eq!(queue["total"], 1);
    assert_eq!(
        queue["conversations"][0]["patient"],
        format!("Patient/{PATIENT}")
    );
    assert_eq!(queue["conversations"][0]["state"], "open");
    assert_eq!(
        queue["conversations"][0]["preview"]["text"],
        "Can I bring my daughter?"
    );
    let (_, none) = call(app, Method::GET, "/conversations?state=resolved", None).await;
    assert_eq!(none["total"], 0);

    let path = format!("/conversations/{PATIENT}");
    let (status, messages) = call(app, Method::GET, &format!("{path}/messages"), None).await;
    assert_eq!(status, StatusCode::OK);
    let texts: Vec<&str> = messages["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["text"].as_str().unwrap())
        .collect();
    assert!(texts.contains(&"Can I bring my daughter?"), "{texts:?}");

    let (status, _) = call(
        app,
        Method::POST,
        &format!("{path}/notes"),
        Some(json!({"text": "Checked with Dr. Lee"})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let nurse = nurse_id(app).await;
    let (status, _) = call(
        app,
        Method::PUT,
        &format!("{path}/route"),
        Some(json!({"department": "nursing", "priority": "high"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, assigned) = call(
        app,
        Method::PUT,
        &format!("{path}/assignee"),
        Some(json!({"assignee": nurse})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{assigned}");
    assert_eq!(assigned["conversation"]["assignee"], nurse.as_str());
    let (status, _) = call(
        app,
        Method::POST,
        &format!("{path}/tags"),
        Some(json!({"tag": "visitor"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);

    let (status, replied) = call(
        app,
        Method::POST,
        &format!("{path}/replies"),
        Some(json!({"text": "Yes, she is welcome."})),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{replied}");
    assert_eq!(replied["status"], "queued");
    assert_eq!(replied["channel"], "sms");
    let sent = sent_now(app).await;
    assert!(
        sent.iter()
            .any(|(_, to, text)| to == ANA_PHONE && text == "Yes, she is welcome."),
        "{sent:?}"
    );

    let (status, resolved) = call(
        app,
        Method::PUT,
        &format!("{path}/state"),
        Some(json!({"state": "resolved"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(resolved["conversation"]["state"], "resolved");
    let (status, read) = call(app, Method::GET, &path, None).await;
    assert_eq!(status, StatusCode::OK);
    let kinds: Vec<&str> = read["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        ["note", "route", "assign", "tag", "reply", "state"],
        "{read}"
    );
    assert_eq!(read["events"][0]["note"], "Checked with Dr. Lee");
    assert_eq!(read["events"][0]["actor"], "token:startup");

    // Each read and change is in the audit log under the token.
    let audited: Vec<(String, String)> = app
        .store
        .audit_page(&OrgId::default_org(), 0, 1000)
        .await
        .unwrap()
        .into_iter()
        .filter(|l| l.entry.actor == "token:startup")
        .map(|l| (l.entry.action, l.entry.subject))
        .collect();
    for action in [
        "conversation.read",
        "conversation.note",
        "conversation.assign",
        "conversation.reply",
        "conversation.state",
    ] {
        assert!(
            audited
                .iter()
                .any(|(a, t)| a == action && t == &format!("Patient/{PATIENT}")),
            "{action}: {audited:?}"
        );
    }
}

async fn the_playbook_and_tasks_are_edited_over_the_api(app: &TestApp) {
    with_staff(
        app,
        "billing",
        "Billing",
        "cara@clinic.example",
        Role::Agent,
    )
    .await;
    let rule = json!({"name": "Billing", "when": {"phrases": ["bill"]}, "then": {"department": "billing", "tags": ["billing"]}});
    let (status, added) = call(app, Method::POST, "/triage-rules", Some(rule)).await;
    assert_eq!(status, StatusCode::CREATED, "{added}");
    assert_eq!(added["position"], 1);
    let id = added["id"].as_str().unwrap().to_owned();
    let (status, second) = call(
        app,
        Method::POST,
        "/triage-rules",
        Some(json!({"name": "Texts", "when": {"channels": ["sms"]}, "then": {"priority": "low"}})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, tried) = call(
        app,
        Method::POST,
        "/triage-rules/test",
        Some(json!({"text": "my BILL"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(tried["rule"], "rule 'Billing'");
    assert_eq!(tried["department"], "billing");
    let (status, moved) = call(
        app,
        Method::POST,
        &format!("/triage-rules/{}/move", second["id"].as_str().unwrap()),
        Some(json!({"position": 1})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(moved["entries"][0]["definition"]["name"], "Texts");
    let (_, tried) = call(
        app,
        Method::POST,
        "/triage-rules/test",
        Some(json!({"text": "my BILL"})),
    )
    .await;
    assert_eq!(tried["rule"], "rule 'Texts'");
    let by_email = json!({"text": "my bill", "channel": "email"});
    let (_, tried) = call(
        app,
        Method::POST,
        "/triage-rules/test",
        Some(by_email.clone()),
    )
    .await;
    assert_eq!(tried["rule"], "rule 'Billing'", "{tried}");
    let (status, replaced) = call(app, Method::PUT, &format!("/triage-rules/{id}"), Some(json!({"name": "Billing", "enabled": false, "when": {"phrases": ["bill"]}, "then": {"tags": ["billing"]}}))).await;
    assert_eq!(status, StatusCode::OK, "{replaced}");
    assert_eq!(replaced["position"], 2);
    let (_, tried) = call(app, Method::POST, "/triage-rules/test", Some(by_email)).await;
    assert_eq!(
        tried["matched"], false,
        "a rule turned off decides nothing: {tried}"
    );
    let (status, _) = call(app, Method::DELETE, &format!("/triage-rules/{id}"), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, listed) = call(app, Method::GET, "/triage-rules", None).await;
    assert_eq!(listed["entries"].as_array().unwrap().len(), 1);

    let (status, faq) = call(
        app,
        Method::POST,
        "/faq-answers",
        Some(json!({"title": "Parking", "questions": ["parking"], "answer": "Lot B."})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{faq}");
    let (_, faqs) = call(app, Method::GET, "/faq-answers", None).await;
    assert_eq!(faqs["entries"][0]["definition"]["answer"], "Lot B.");

    let (status, saved) = call(app, Method::POST, "/saved-replies", Some(json!({"title": "Hours", "body": "We are open {clinic_hours}.", "department": "billing"}))).await;
    assert_eq!(status, StatusCode::CREATED, "{saved}");
    let (_, saved) = call(app, Method::GET, "/saved-replies", None).await;
    assert_eq!(saved["saved_replies"][0]["title"], "Hours");

    // "R" asks staff to reschedule: a task, closed over the API.
    booked(app).await;
    text_from(app, "SM0000000000000000000000000000a101", ANA_PHONE, "R").await;
    let (status, tasks) = call(app, Method::GET, &format!("/tasks?patient={PATIENT}"), None).await;
    assert_eq!(status, StatusCode::OK, "{tasks}");
    assert_eq!(
        tasks["tasks"][0]["description"],
        "Patient asks to reschedule"
    );
    let task = tasks["tasks"][0]["id"].as_str().unwrap().to_owned();
    let (status, done) = call(
        app,
        Method::PUT,
        &format!("/tasks/{task}/status"),
        Some(json!({"status": "completed"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{done}");
    assert_eq!(done["status"], "completed");
    let (_, open) = call(app, Method::GET, "/tasks", None).await;
    assert_eq!(open["tasks"].as_array().unwrap().len(), 0, "{open}");
}

async fn bad_requests_are_refused_and_change_nothing(app: &TestApp) {
    booked(app).await;
    text_from(
        app,
        "SM0000000000000000000000000000a201",
        ANA_PHONE,
        "Hello there",
    )
    .await;
    let path = format!("/conversations/{PATIENT}");
    let before = call(app, Method::GET, &path, None).await.1["conversation"].clone();

    let unauthorized = app
        .send(app.client.get(app.url("/api/v1/conversations")))
        .await;
    assert_eq!(unauthorized.0, StatusCode::UNAUTHORIZED);

    for (method, target, body, status, says) in [
        (
            Method::PUT,
            format!("{path}/state"),
            json!({"state": "gone"}),
            StatusCode::BAD_REQUEST,
            "state is",
        ),
        (
            Method::PUT,
            format!("{path}/state"),
            json!({"state": "snoozed", "until": "2026-03-01T00:00:00Z"}),
            StatusCode::CONFLICT,
            "snoozed until a later time",
        ),
        (
            Method::PUT,
            format!("{path}/assignee"),
            json!({"assignee": "nobody"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "no account",
        ),
        (
            Method::PUT,
            format!("{path}/route"),
            json!({"department": "cardiology", "priority": "high"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "no department",
        ),
        (
            Method::POST,
            format!("{path}/notes"),
            json!({"text": "   "}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "note",
        ),
        (
            Method::POST,
            format!("{path}/notes"),
            json!({"text": 555_0101, "extra": 1}),
            StatusCode::BAD_REQUEST,
            "the body is not",
        ),
        (
            Method::POST,
            format!("{path}/replies"),
            json!({"text": "hi", "channel": "fax"}),
            StatusCode::BAD_REQUEST,
            "channel",
        ),
        (
            Method::POST,
            "/conversations/nobody-here/notes".to_owned(),
            json!({"text": "x"}),
            StatusCode::NOT_FOUND,
            "no such conversation",
        ),
        (
            Method::POST,
            "/triage-rules".to_owned(),
            json!({"name": "x", "when": {"pattern": "(+"}, "then": {"tags": ["a"]}}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "regular expression",
        ),
        (
            Method::POST,
            "/faq-answers".to_owned(),
            json!({"title": "x", "questions": ["my pain"], "answer": "no"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "clinical",
        ),
        (
            Method::DELETE,
            "/faq-answers/none".to_owned(),
            Value::Null,
            StatusCode::NOT_FOUND,
            "no such entry",
        ),
        (
            Method::PUT,
            "/tasks/none/status".to_owned(),
            json!({"status": "completed"}),
            StatusCode::NOT_FOUND,
            "no such task",
        ),
        (
            Method::GET,
            "/conversations?priority=asap".to_owned(),
            Value::Null,
            StatusCode::BAD_REQUEST,
            "priority is",
        ),
    ] {
        let body = (!body.is_null()).then_some(body);
        let (got, answer) = call(app, method.clone(), &target, body).await;
        assert_eq!(got, status, "{method} {target}: {answer}");
        let error = answer["error"].as_str().unwrap_or_default();
        assert!(error.contains(says), "{method} {target}: {answer}");
        assert!(!error.contains("5550101"), "no value is quoted: {error}");
    }
    let (_, not_json) = app
        .send(
            app.request(Method::POST, &format!("/api/v1{path}/notes"))
                .header("content-type", "application/json")
                .body("{\"text\": \"Ana's secret"),
        )
        .await
        .2
        .as_object()
        .map(|o| (StatusCode::BAD_REQUEST, Value::Object(o.clone())))
        .unwrap();
    assert!(
        !not_json["error"].as_str().unwrap().contains("secret"),
        "{not_json}"
    );

    let after = call(app, Method::GET, &path, None).await.1["conversation"].clone();
    assert_eq!(before, after, "nothing changed");
    let (_, rules) = call(app, Method::GET, "/triage-rules", None).await;
    assert_eq!(rules["entries"].as_array().unwrap().len(), 0);

    // The document is public and describes the routes.
    let response = reqwest::get(app.url("/api/v1/openapi.json")).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let document: Value = response.json().await.unwrap();
    assert_eq!(document["openapi"], "3.1.0");
    assert!(document["paths"]["/conversations/{patient}/replies"]["post"].is_object());
}
