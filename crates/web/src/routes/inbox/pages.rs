//! The inbox's pages, rendered on the server. maud escapes every value it is given, so
//! nothing a patient or a person typed becomes markup.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use careloop_store::staff::StaffRow;
use maud::{DOCTYPE, Markup, html};

use super::access::Signed;
use jiff::Timestamp;

/// What the browser may do with the inbox's pages: nothing from elsewhere, only
/// careloop's own stylesheet and script (no inline script, so markup a patient managed
/// to slip in could not run), fetches and events only from here, no framing, forms
/// posted only back here.
const CSP: &str = "default-src 'none'; style-src 'self'; script-src 'self'; \
     connect-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// The stylesheet every page links to.
const STYLESHEET: &str = include_str!("inbox.css");
/// The script every page loads: live updates and keyboard shortcuts.
const SCRIPT: &str = include_str!("inbox.js");

/// A page of the inbox, with the headers every page carries.
pub fn page(status: StatusCode, title: &str, body: Markup) -> Response {
    let markup = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · careloop" }
                link rel="stylesheet" href="/inbox/inbox.css";
                script src="/inbox/inbox.js" defer {}
            }
            body {
                main { (body) }
            }
        }
    };
    let mut response = (status, markup.into_string()).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

/// The sign-in form, with the token its post must carry and what went wrong, if
/// anything did.
pub fn login_form(status: StatusCode, csrf: &str, email: &str, problem: Option<&str>) -> Response {
    page(
        status,
        "Sign in",
        html! {
            h1 { "Sign in to careloop" }
            @if let Some(problem) = problem {
                p role="alert" { (problem) }
            }
            form method="post" action="/inbox/login" {
                input type="hidden" name="csrf" value=(csrf);
                p {
                    label for="email" { "Email" }
                    " "
                    input id="email" name="email" type="email" value=(email)
                        autocomplete="username" required autofocus;
                }
                p {
                    label for="password" { "Password" }
                    " "
                    input id="password" name="password" type="password"
                        autocomplete="current-password" required;
                }
                p { button type="submit" { "Sign in" } }
            }
        },
    )
}

/// `GET /inbox/inbox.css`.
pub async fn stylesheet() -> Response {
    asset("text/css; charset=utf-8", STYLESHEET)
}

/// `GET /inbox/inbox.js`.
pub async fn script() -> Response {
    asset("text/javascript; charset=utf-8", SCRIPT)
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "public, max-age=3600"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        body,
    )
        .into_response()
}

/// The frame of every signed-in page: where one is, who is signed in, the way out.
pub fn chrome(signed: &Signed, current: &str, body: Markup) -> Markup {
    html! {
        header.top {
            a.brand href="/inbox" aria-current=[(current == "queue").then_some("page")] { "careloop inbox" }
            nav.sections aria-label="Sections" {
                a href="/inbox/figures" aria-current=[(current == "figures").then_some("page")] { "Figures" }
                @if signed.is_admin() {
                    a href="/inbox/admin" aria-current=[(current == "admin").then_some("page")] { "Admin" }
                }
            }
            span.who { "Signed in as " strong { (signed.account.email) } " (" (who(&signed.account)) ")" }
            form method="post" action="/inbox/logout" {
                input type="hidden" name="csrf" value=(signed.session.csrf);
                button.quiet type="submit" { "Sign out" }
            }
        }
        (body)
    }
}

/// How long ago `since` was, as a person says it.
pub fn ago(since: Timestamp, now: Timestamp) -> String {
    let minutes = now.duration_since(since).as_secs().max(0) / 60;
    match minutes {
        0 => "just now".to_owned(),
        1..=59 => format!("{minutes} min"),
        60..=1439 => format!("{} h {} min", minutes / 60, minutes % 60),
        _ => format!("{} days", minutes / 1440),
    }
}

/// When `at` was, in the clinic's zone, as staff read it.
pub fn when(at: Timestamp, zone: &jiff::tz::TimeZone) -> String {
    at.to_zoned(zone.clone())
        .strftime("%a %-d %b %H:%M")
        .to_string()
}

/// An account's role and departments, as a person reads them.
fn who(account: &StaffRow) -> String {
    if account.departments.is_empty() {
        format!("{}, every department", account.role)
    } else {
        format!("{}, {}", account.role, account.departments.join(", "))
    }
}
