//! The admin page and the figures, over a real socket on both databases: an admin adds
//! a triage rule, tries a message against it, adds an FAQ answer, a department and an
//! account; anyone else is refused, as is a form without its token, and a refused
//! change changes nothing. An urgent message answered after five minutes shows on the
//! figures page and in /metrics.

use careloop_domain::OrgId;
use careloop_domain::staff::Role;
use careloop_domain::triage::RuleDefinition;
use reqwest::StatusCode;
use reqwest::header::COOKIE;

use crate::harness::TestApp;
use crate::inbox_login::{
    Session, browser, session_for, signed_form, signed_get as get, with_nurse, with_staff,
};
use crate::messaging::{PATIENT, at, booked, sent_now};
use crate::replies::text_from;

crate::on_both_backends!(
    an_admin_edits_the_playbook_and_the_clinic_and_no_one_else_may,
    an_answer_after_five_minutes_is_a_figure_on_the_page_and_in_metrics,
);

const ADMIN: &str = "dee@clinic.example";

async fn post(app: &TestApp, session: &Session, fields: &[(&str, &str)]) -> (StatusCode, String) {
    signed_form(app, session, "/inbox/admin", fields).await
}

async fn an_admin_edits_the_playbook_and_the_clinic_and_no_one_else_may(app: &TestApp) {
    with_staff(app, "front-desk", "Front desk", ADMIN, Role::Admin).await;
    with_nurse(app).await;
    let admin = session_for(app, ADMIN).await;
    let nurse = session_for(app, "ana@clinic.example").await;

    let (status, page) = get(app, &admin, "/inbox/admin").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Built-in red flags"), "{page}");
    assert!(
        page.contains("href=\"/inbox/admin\""),
        "the admin sees the way in"
    );
    let (status, _) = get(app, &nurse, "/inbox/admin").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (_, queue) = get(app, &nurse, "/inbox").await;
    assert!(
        !queue.contains("href=\"/inbox/admin\""),
        "no way in for others"
    );

    let (status, page) = post(
        app,
        &admin,
        &[
            ("do", "rule-add"),
            ("name", "Billing"),
            ("phrases", "bill, factura"),
            ("department", "front-desk"),
            ("priority", "low"),
            ("tags", "billing"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains("Added at place 1."), "{page}");
    assert!(page.contains("<strong>Billing</strong>: when it says bill or factura → to front-desk, low, tagged billing"), "{page}");
    let (_, tried) = post(
        app,
        &admin,
        &[
            ("do", "rule-try"),
            ("text", "Mi FACTURA"),
            ("channel", "sms"),
        ],
    )
    .await;
    assert!(
        tried.contains(
            "rule &#39;Billing&#39; would decide: front-desk, priority low, tagged billing."
        ) || tried
            .contains("rule 'Billing' would decide: front-desk, priority low, tagged billing."),
        "{tried}"
    );

    // Refusals change nothing.
    let (status, page) = post(
        app,
        &admin,
        &[
            ("do", "rule-add"),
            ("name", "Bad"),
            ("pattern", "(open"),
            ("tags", "x"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("not a regular expression"), "{page}");
    let (status, _) = post(
        app,
        &nurse,
        &[
            ("do", "rule-add"),
            ("name", "Mine"),
            ("phrases", "x"),
            ("tags", "x"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let forged = browser()
        .post(app.url("/inbox/admin"))
        .header(COOKIE, admin.cookie())
        .form(&[
            ("do", "rule-add"),
            ("name", "Forged"),
            ("phrases", "x"),
            ("tags", "x"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    let rules = app.engine.entries::<RuleDefinition>().await.unwrap();
    assert_eq!(rules.len(), 1, "only the admin's good rule");

    let rule = rules[0].id.clone();
    post(app, &admin, &[("do", "rule-toggle"), ("id", &rule)]).await;
    assert!(
        !app.engine.entries::<RuleDefinition>().await.unwrap()[0]
            .definition
            .enabled
    );

    let (status, page) = post(
        app,
        &admin,
        &[
            ("do", "faq-add"),
            ("title", "Parking"),
            ("questions", "parking\nestacionamiento"),
            ("answer", "Lot B, free."),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let (status, page) = post(
        app,
        &admin,
        &[
            ("do", "department-add"),
            ("key", "billing"),
            ("name", "Billing"),
            ("on_call", "617-555-0142, billing@clinic.example"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(
        page.contains("on call +16175550142,billing@clinic.example"),
        "{page}"
    );
    let (status, page) = post(
        app,
        &admin,
        &[
            ("do", "staff-add"),
            ("email", "eve@clinic.example"),
            ("role", "agent"),
            ("department", "billing"),
            ("password", "short"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{page}");
    let (status, page) = post(
        app,
        &admin,
        &[
            ("do", "staff-add"),
            ("email", "eve@clinic.example"),
            ("role", "agent"),
            ("department", "billing"),
            ("password", "a long and private phrase"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    session_for(app, "eve@clinic.example").await;

    let actions: Vec<String> = app
        .store
        .audit_page(&OrgId::default_org(), 0, 1000)
        .await
        .unwrap()
        .into_iter()
        .map(|l| l.entry.action)
        .collect();
    for action in [
        "admin.refused",
        "inbox.form-refused",
        "triage-rule.add",
        "triage-rule.change",
        "faq.add",
        "department.add",
        "staff.add",
    ] {
        assert!(actions.iter().any(|a| a == action), "{action}: {actions:?}");
    }
}

async fn an_answer_after_five_minutes_is_a_figure_on_the_page_and_in_metrics(app: &TestApp) {
    with_nurse(app).await;
    booked(app).await;
    text_from(
        app,
        "SM0000000000000000000000000000f001",
        "+16175550101",
        "chest pain since this morning",
    )
    .await;
    sent_now(app).await;
    at(app, "2026-03-02T15:05:00Z").await;
    let nurse = session_for(app, "ana@clinic.example").await;
    let response = reqwest::get(app.url("/metrics")).await.unwrap();
    let status = response.status();
    let metrics = response.text().await.unwrap();
    assert_eq!(status, StatusCode::OK);
    assert!(
        metrics.contains(
            "careloop_inbox_conversations_open{department=\"nursing\",priority=\"urgent\"} 1"
        ),
        "{metrics}"
    );

    let answered = browser()
        .post(app.url(&format!("/inbox/c/{PATIENT}/reply")))
        .header(COOKIE, nurse.cookie())
        .form(&[
            ("csrf", nurse.csrf.as_str()),
            ("text", "Please call 911 now; I am calling you."),
            ("channel", "sms"),
        ])
        .send()
        .await
        .unwrap();
    assert!(
        answered.status().is_success() || answered.status().is_redirection(),
        "{}",
        answered.status()
    );
    at(app, "2026-03-02T15:20:00Z").await;
    let resolved = browser()
        .post(app.url(&format!("/inbox/c/{PATIENT}/act")))
        .header(COOKIE, nurse.cookie())
        .form(&[("csrf", nurse.csrf.as_str()), ("do", "resolve")])
        .send()
        .await
        .unwrap();
    assert!(resolved.status().is_success() || resolved.status().is_redirection());

    let (status, page) = get(app, &nurse, "/inbox/figures?days=7").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("nursing · urgent"), "{page}");
    assert!(page.contains("<td>5 min</td>"), "first response: {page}");
    assert!(page.contains("<td>20 min</td>"), "resolution: {page}");
    assert!(
        page.contains("15 min around the clock"),
        "the target: {page}"
    );
    let metrics = reqwest::get(app.url("/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(metrics.contains("careloop_inbox_first_response_seconds{department=\"nursing\",priority=\"urgent\",quantile=\"0.5\"} 300"), "{metrics}");
    assert!(metrics.contains("careloop_inbox_resolution_seconds{department=\"nursing\",priority=\"urgent\",quantile=\"0.9\"} 1200"), "{metrics}");
    assert!(
        !metrics.contains("careloop_inbox_conversations_open{department=\"nursing\""),
        "nothing open now: {metrics}"
    );
}
