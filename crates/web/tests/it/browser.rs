//! The inbox in a real browser (headless Chromium): a person signs in with the form and
//! out again; a nurse works a conversation of a text and an email, answering it through
//! Twilio with a saved reply, assigning and resolving it, while a second browser sees
//! the answer appear without reloading. Screenshots are kept in `target/screenshots/`.

use std::time::Duration;

use careloop_domain::OrgId;
use careloop_domain::ResourceId;
use reqwest::StatusCode;

use crate::email_inbound::{self, postmark};
use crate::fake_twilio::FakeTwilio;
use crate::harness::{EMAIL_INBOUND_SECRET, TestApp};
use crate::inbox_login::{PASSWORD, with_nurse};
use crate::messaging::{PATIENT, at, book_in_boston, sent_now};
use crate::replies::text_from;
use crate::twilio::twilio_engine;
use crate::webdriver::Browser;

/// Signs Ana, the nurse, in.
async fn sign_in(browser: &Browser, app: &TestApp) {
    sign_in_as(browser, app, "ana@clinic.example").await;
}

async fn sign_in_as(browser: &Browser, app: &TestApp, email: &str) {
    browser.go(&app.url("/inbox")).await;
    browser.wait_for("/inbox/login").await;
    browser.type_into("#email", email).await;
    browser.type_into("#password", PASSWORD).await;
    browser.click("button[type=submit]").await;
    browser.wait_for("/inbox").await;
}

#[tokio::test]
async fn a_person_signs_in_and_out_in_a_browser() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let app = TestApp::sqlite().await;
    with_nurse(&app).await;

    browser.go(&app.url("/inbox")).await;
    browser.wait_for("/inbox/login").await;
    browser.type_into("#email", "ana@clinic.example").await;
    browser.type_into("#password", "not the password").await;
    browser.click("button[type=submit]").await;
    browser.wait_for("/inbox/login").await;
    assert!(browser.text("[role=alert]").await.contains("not right"));
    browser.screenshot("inbox-sign-in-refused").await;

    browser.type_into("#password", PASSWORD).await;
    browser.click("button[type=submit]").await;
    browser.wait_for("/inbox").await;
    assert_eq!(
        browser.text("header .who").await,
        "Signed in as ana@clinic.example (clinician, nursing)"
    );
    browser.screenshot("inbox-signed-in").await;

    browser.click("header button[type=submit]").await;
    browser.wait_for("/inbox/login").await;
    // Signed out for good: the inbox sends the browser back to the form.
    browser.go(&app.url("/inbox")).await;
    browser.wait_for("/inbox/login").await;
    assert!(browser.source().await.contains("Sign in to careloop"));
    browser.quit().await;
}

#[tokio::test]
async fn a_nurse_answers_assigns_and_resolves_while_another_browser_watches() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let Some(watcher) = Browser::start().await else {
        return;
    };
    let app = TestApp::sqlite().await;
    with_nurse(&app).await;
    app.clock.set("2026-03-02T15:00:00Z".parse().unwrap());
    book_in_boston(&app, "appt-1").await;
    at(&app, "2026-03-02T15:00:00Z").await;
    let sid = "SM0000000000000000000000000000b001";
    let status = text_from(&app, sid, "+16175550101", "Can I bring my daughter along?").await;
    assert_eq!(status, StatusCode::OK);
    sent_now(&app).await;
    app.clock.advance(jiff::SignedDuration::from_mins(1));
    let status = email_inbound::post(
        &app,
        "application/json",
        postmark(
            "<b1@example.org>",
            "ana@example.org",
            "Also, where do I park?",
        ),
        Some(EMAIL_INBOUND_SECRET),
    )
    .await;
    assert_eq!(status, StatusCode::OK);

    let saved = app
        .store
        .add_saved_reply(
            &OrgId::default_org(),
            None,
            "Bringing someone",
            "Yes, {first_name}, she is welcome.",
        )
        .await
        .unwrap();
    sign_in(&browser, &app).await;
    let queue = browser.text("#queue").await;
    assert!(queue.contains("Ana Ruiz") && queue.contains("Also, where do I park?"));
    browser.screenshot("inbox-queue").await;
    browser.click("#queue a").await;
    let path = format!("/inbox/c/{PATIENT}");
    browser.wait_for(&path).await;
    let timeline = browser.text("#timeline").await;
    assert!(
        timeline.contains("Can I bring my daughter along?"),
        "{timeline}"
    );
    assert!(timeline.contains("Also, where do I park?"), "{timeline}");

    sign_in(&watcher, &app).await;
    watcher.go(&app.url(&path)).await;
    watcher
        .wait_text("#timeline", "Also, where do I park?")
        .await;

    // The answer goes by email, where she last wrote, unless the nurse picks text.
    // The saved reply goes into the answer box, filled in for Ana.
    browser
        .click(&format!("#saved option[value='{}']", saved.id))
        .await;
    browser.click("#channel option[value=sms]").await;
    browser.click("form.reply button[type=submit]").await;
    browser.wait_for(&path).await;
    // The other browser shows it without being reloaded.
    watcher
        .wait_text("#timeline", "Yes, Ana, she is welcome.")
        .await;
    watcher.screenshot("inbox-conversation-live").await;
    let fake = FakeTwilio::start().await;
    twilio_engine(&app, &fake, Duration::from_secs(5))
        .run_until_idle()
        .await
        .unwrap();
    assert!(
        fake.received()
            .iter()
            .any(|m| m.get("Body") == Some("Yes, Ana, she is welcome.")
                && m.get("To") == Some("+16175550101"))
    );

    browser.click("form[data-key=a] button").await;
    browser
        .wait_text("#panel", "Assignee\nana@clinic.example")
        .await;
    browser.click("form[data-key=e] button").await;
    browser.wait_text("#panel", "resolved").await;
    browser.screenshot("inbox-conversation").await;
    let org = OrgId::default_org();
    let record = app
        .store
        .conversation(&org, &ResourceId::parse(PATIENT).unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(record.conversation.state.name(), "resolved");
    assert!(record.conversation.assignee.is_some());
    watcher.wait_text("#panel", "resolved").await;
    browser.go(&app.url("/inbox/figures")).await;
    browser.wait_text("#first-response-chart", "").await;
    assert!(browser.text("main").await.contains("Open now"));
    browser.screenshot("inbox-figures").await;
    browser.quit().await;
    watcher.quit().await;
}

#[tokio::test]
async fn an_admin_adds_a_triage_rule_and_tries_a_message_in_a_browser() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let app = TestApp::sqlite().await;
    crate::inbox_login::with_staff(
        &app,
        "billing",
        "Billing",
        "dee@clinic.example",
        careloop_domain::staff::Role::Admin,
    )
    .await;
    sign_in_as(&browser, &app, "dee@clinic.example").await;
    browser.click("nav.sections a[href='/inbox/admin']").await;
    browser.wait_for("/inbox/admin").await;
    browser
        .click("section[aria-labelledby=rules] details summary")
        .await;
    browser.type_into("#rule-name", "Billing").await;
    browser.type_into("#rule-phrases", "bill, factura").await;
    browser
        .click("#rule-department option[value=billing]")
        .await;
    browser.type_into("#rule-tags", "billing").await;
    browser
        .click("section[aria-labelledby=rules] details form button[type=submit]")
        .await;
    browser
        .wait_text("[role=status]", "Added at place 1.")
        .await;
    browser.type_into("#try-text", "¿Y mi FACTURA?").await;
    browser.click("#try-text ~ button").await;
    browser
        .wait_text("[role=status]", "rule 'Billing' would decide: billing")
        .await;
    browser.screenshot("inbox-admin").await;
    browser.quit().await;
}
