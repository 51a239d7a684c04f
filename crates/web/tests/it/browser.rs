//! The inbox in a real browser (headless Chromium): a person signs in with the form,
//! sees who they are, and signs out. Screenshots are kept in `target/screenshots/`.

use crate::harness::TestApp;
use crate::inbox_login::{PASSWORD, with_nurse};
use crate::webdriver::Browser;

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
