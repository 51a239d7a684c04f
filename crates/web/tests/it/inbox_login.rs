//! Signing in to the inbox over a real socket, on both databases: the cookies' guards,
//! the forms' tokens, the lock after repeated failures, and signing out. Every refusal
//! leaves the data as it was.

use careloop_domain::OrgId;
use careloop_domain::audit::{self, GENESIS};
use careloop_domain::staff::{DepartmentKey, NewPassword, Role};
use careloop_store::staff::NewStaff;
use jiff::SignedDuration;
use reqwest::StatusCode;
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};

use crate::harness::TestApp;

crate::on_both_backends!(
    a_person_signs_in_and_out_and_a_guessed_password_locks_the_account,
    another_site_cannot_sign_in_or_out_for_the_browser,
);

pub(crate) const PASSWORD: &str = "a long and private phrase";

/// Ana, a clinician in nursing, with [`PASSWORD`].
pub(crate) async fn with_nurse(app: &TestApp) {
    with_staff(
        app,
        "nursing",
        "Nursing",
        "ana@clinic.example",
        Role::Clinician,
    )
    .await;
}

/// A department and one account in it, with [`PASSWORD`].
pub(crate) async fn with_staff(app: &TestApp, key: &str, name: &str, email: &str, role: Role) {
    let org = OrgId::default_org();
    let department = DepartmentKey::parse(key).unwrap();
    app.store
        .add_department(&org, &department, name, None)
        .await
        .unwrap();
    app.store
        .add_staff(
            &org,
            &NewStaff {
                email,
                role,
                departments: &[department],
                password: &NewPassword::parse(PASSWORD.into()).unwrap(),
            },
        )
        .await
        .unwrap();
}

/// The token the forms of a signed-in page carry.
fn csrf_of(html: &str) -> String {
    html.split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap()
        .to_owned()
}

/// A signed-in browser's session: its cookie's token, and the token its forms carry.
pub(crate) struct Session {
    pub token: String,
    pub csrf: String,
}

impl Session {
    pub fn cookie(&self) -> String {
        format!("careloop_session={}", self.token)
    }
}

/// Signs `email` in with [`PASSWORD`] over HTTP.
pub(crate) async fn session_for(app: &TestApp, email: &str) -> Session {
    let token = login_token(app).await;
    let signed = sign_in(app, &token, email, PASSWORD).await;
    assert_eq!(signed.status(), StatusCode::SEE_OTHER, "{email}");
    let token = value(&set_cookie(&signed, "careloop_session").unwrap()).to_owned();
    let html = inbox(app, &token).await.text().await.unwrap();
    let csrf = csrf_of(&html);
    Session { token, csrf }
}

/// `GET path` as the signed-in browser: its status and page.
pub(crate) async fn signed_get(
    app: &TestApp,
    session: &Session,
    path: &str,
) -> (StatusCode, String) {
    let response = browser()
        .get(app.url(path))
        .header(COOKIE, session.cookie())
        .send()
        .await
        .unwrap();
    (response.status(), response.text().await.unwrap())
}

/// Posts `fields` to `path` as the signed-in browser, as they are (with no form token
/// unless one is among them).
pub(crate) async fn signed_post(
    app: &TestApp,
    session: &Session,
    path: &str,
    fields: &[(&str, &str)],
) -> (StatusCode, String) {
    let response = browser()
        .post(app.url(path))
        .header(COOKIE, session.cookie())
        .form(fields)
        .send()
        .await
        .unwrap();
    (response.status(), response.text().await.unwrap())
}

/// Posts a page's form: `fields` with the session's form token.
pub(crate) async fn signed_form(
    app: &TestApp,
    session: &Session,
    path: &str,
    fields: &[(&str, &str)],
) -> (StatusCode, String) {
    let mut all = vec![("csrf", session.csrf.as_str())];
    all.extend_from_slice(fields);
    signed_post(app, session, path, &all).await
}

pub(crate) fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// The `Set-Cookie` of `name` a response carries, whole.
fn set_cookie(response: &reqwest::Response, name: &str) -> Option<String> {
    response
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
        .map(str::to_owned)
}

fn value(cookie: &str) -> &str {
    cookie.split(';').next().unwrap().split_once('=').unwrap().1
}

/// A login form's token, from its cookie.
async fn login_token(app: &TestApp) -> String {
    let response = browser().get(app.url("/inbox/login")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let cookie = set_cookie(&response, "careloop_login").unwrap();
    value(&cookie).to_owned()
}

async fn sign_in(app: &TestApp, token: &str, email: &str, password: &str) -> reqwest::Response {
    browser()
        .post(app.url("/inbox/login"))
        .header(COOKIE, format!("careloop_login={token}"))
        .form(&[("email", email), ("password", password), ("csrf", token)])
        .send()
        .await
        .unwrap()
}

async fn inbox(app: &TestApp, session: &str) -> reqwest::Response {
    browser()
        .get(app.url("/inbox"))
        .header(COOKIE, format!("careloop_session={session}"))
        .send()
        .await
        .unwrap()
}

async fn failed_logins(app: &TestApp) -> i64 {
    app.store
        .staff_by_email(&OrgId::default_org(), "ana@clinic.example")
        .await
        .unwrap()
        .unwrap()
        .failed_logins
}

async fn a_person_signs_in_and_out_and_a_guessed_password_locks_the_account(app: &TestApp) {
    with_nurse(app).await;
    let away = browser().get(app.url("/inbox")).send().await.unwrap();
    assert_eq!(away.status(), StatusCode::SEE_OTHER);
    assert_eq!(away.headers()[LOCATION], "/inbox/login");

    let page = browser().get(app.url("/inbox/login")).send().await.unwrap();
    let cookie = set_cookie(&page, "careloop_login").unwrap();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    assert!(
        cookie.contains("Path=/inbox") && !cookie.contains("Secure"),
        "{cookie}"
    );
    let csp = page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(csp.contains("default-src 'none'"), "{csp}");
    let html = page.text().await.unwrap();
    assert!(
        html.contains(&format!("value=\"{}\"", value(&cookie))),
        "{html}"
    );
    assert!(
        html.contains("<label for=\"password\">Password</label>"),
        "{html}"
    );

    // Ten wrong passwords: each refused alike; from the fifth on the account is locked,
    // and then even the right one is refused.
    let token = login_token(app).await;
    for n in 1..=10 {
        let refused = sign_in(app, &token, "ana@clinic.example", &format!("guess {n}")).await;
        assert_eq!(refused.status(), StatusCode::UNAUTHORIZED, "try {n}");
        assert!(set_cookie(&refused, "careloop_session").is_none());
    }
    let counted = failed_logins(app).await;
    assert!(
        (5..=6).contains(&counted),
        "{counted}: a locked account's tries do not count"
    );
    let locked = sign_in(app, &token, "ana@clinic.example", PASSWORD).await;
    assert_eq!(locked.status(), StatusCode::UNAUTHORIZED);
    let said = locked.text().await.unwrap();
    assert!(said.contains("locked after repeated failures"), "{said}");
    // An unknown email gets the same answer, and what was typed comes back as text.
    let script = "\"><script>alert(1)</script>@x.example";
    let unknown = sign_in(app, &token, script, PASSWORD).await;
    assert_eq!(unknown.status(), StatusCode::UNAUTHORIZED);
    let html = unknown.text().await.unwrap();
    assert!(!html.contains("<script>alert"), "{html}");
    assert!(
        html.contains("&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"),
        "{html}"
    );

    // The lock lapses; the right password signs in and the count starts again.
    app.clock.advance(SignedDuration::from_hours(2));
    let signed = sign_in(app, &token, "ANA@clinic.example", PASSWORD).await;
    assert_eq!(signed.status(), StatusCode::SEE_OTHER);
    assert_eq!(signed.headers()[LOCATION], "/inbox");
    let cookie = set_cookie(&signed, "careloop_session").unwrap();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    assert!(cookie.contains("Max-Age=43200"), "{cookie}");
    assert!(
        set_cookie(&signed, "careloop_login")
            .unwrap()
            .contains("Max-Age=0")
    );
    assert_eq!(failed_logins(app).await, 0);
    let session = value(&cookie).to_owned();
    let home = inbox(app, &session).await;
    assert_eq!(home.status(), StatusCode::OK);
    let html = home.text().await.unwrap();
    assert!(
        html.contains("Signed in as <strong>ana@clinic.example</strong>"),
        "{html}"
    );

    // A forged or stale cookie is no session.
    let forged = inbox(app, "bm90IGEgdG9rZW4").await;
    assert_eq!(forged.status(), StatusCode::SEE_OTHER);

    // Signing out ends the session for good.
    let csrf = csrf_of(&html);
    let out = browser()
        .post(app.url("/inbox/logout"))
        .header(COOKIE, format!("careloop_session={session}"))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), StatusCode::SEE_OTHER);
    assert_eq!(out.headers()[LOCATION], "/inbox/login");
    assert!(
        set_cookie(&out, "careloop_session")
            .unwrap()
            .contains("Max-Age=0")
    );
    assert_eq!(inbox(app, &session).await.status(), StatusCode::SEE_OTHER);

    // A session's life is twelve hours.
    let again = sign_in(app, &token, "ana@clinic.example", PASSWORD).await;
    let later = value(&set_cookie(&again, "careloop_session").unwrap()).to_owned();
    assert_eq!(inbox(app, &later).await.status(), StatusCode::OK);
    app.clock.advance(SignedDuration::from_hours(12));
    assert_eq!(inbox(app, &later).await.status(), StatusCode::SEE_OTHER);

    // What happened is in the audit log, and the chain holds.
    let links = app
        .store
        .audit_page(&OrgId::default_org(), 0, 1_000)
        .await
        .unwrap();
    let actions: Vec<&str> = links.iter().map(|l| l.entry.action.as_str()).collect();
    assert_eq!(
        actions
            .iter()
            .filter(|a| **a == "staff.login-refused")
            .count(),
        11
    );
    assert_eq!(actions.iter().filter(|a| **a == "staff.login").count(), 2);
    assert_eq!(actions.iter().filter(|a| **a == "staff.logout").count(), 1);
    assert!(audit::verify(&links, GENESIS, 1).is_ok());
}

async fn another_site_cannot_sign_in_or_out_for_the_browser(app: &TestApp) {
    with_nurse(app).await;
    // A login posted without the form's cookie (from another site's page) is refused,
    // and counts as no try at the password.
    let token = login_token(app).await;
    let forged = browser()
        .post(app.url("/inbox/login"))
        .form(&[
            ("email", "ana@clinic.example"),
            ("password", PASSWORD),
            ("csrf", token.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    assert!(set_cookie(&forged, "careloop_session").is_none());
    let other = sign_in(app, "another-token", "ana@clinic.example", PASSWORD).await;
    assert_eq!(
        other.status(),
        StatusCode::SEE_OTHER,
        "a matching pair is the check"
    );
    let session = value(&set_cookie(&other, "careloop_session").unwrap()).to_owned();
    let mismatched = browser()
        .post(app.url("/inbox/login"))
        .header(COOKIE, format!("careloop_login={token}"))
        .form(&[
            ("email", "ana@clinic.example"),
            ("password", PASSWORD),
            ("csrf", "not-the-token"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(mismatched.status(), StatusCode::FORBIDDEN);
    assert_eq!(failed_logins(app).await, 0);
    // An incomplete form is a bad request.
    let incomplete = browser()
        .post(app.url("/inbox/login"))
        .header(COOKIE, format!("careloop_login={token}"))
        .form(&[("email", "ana@clinic.example")])
        .send()
        .await
        .unwrap();
    assert_eq!(incomplete.status(), StatusCode::BAD_REQUEST);

    // Signing out without the session's form token is refused, and the session stays.
    for csrf in [None, Some("not-the-token")] {
        let mut request = browser()
            .post(app.url("/inbox/logout"))
            .header(COOKIE, format!("careloop_session={session}"));
        if let Some(csrf) = csrf {
            request = request.form(&[("csrf", csrf)]);
        }
        let refused = request.send().await.unwrap();
        assert_eq!(refused.status(), StatusCode::FORBIDDEN, "{csrf:?}");
        assert_eq!(inbox(app, &session).await.status(), StatusCode::OK);
    }
}
