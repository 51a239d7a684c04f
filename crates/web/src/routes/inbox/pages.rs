//! The inbox's pages, rendered on the server. maud escapes every value it is given, so
//! nothing a patient or a person typed becomes markup.

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use careloop_store::staff::StaffRow;
use maud::{DOCTYPE, Markup, html};

use super::login::signed_in;
use crate::state::AppState;

/// What the browser may do with the inbox's pages: nothing from elsewhere, no scripts
/// yet, only careloop's own stylesheet, no framing, forms posted only back here.
const CSP: &str = "default-src 'none'; style-src 'self'; form-action 'self'; \
     frame-ancestors 'none'; base-uri 'none'";

/// The stylesheet every page links to.
const STYLESHEET: &str = include_str!("inbox.css");

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
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        STYLESHEET,
    )
        .into_response()
}

/// `GET /inbox`: who is signed in, and the way out.
pub async fn home(State(state): State<AppState>, headers: HeaderMap) -> Response {
    match signed_in(&state, &headers).await {
        Ok(Some((session, account))) => page(
            StatusCode::OK,
            "Inbox",
            html! {
                h1 { "Inbox" }
                p { "Signed in as " strong { (account.email) } " (" (who(&account)) ")." }
                form method="post" action="/inbox/logout" {
                    input type="hidden" name="csrf" value=(session.csrf);
                    button type="submit" { "Sign out" }
                }
            },
        ),
        Ok(None) => Redirect::to("/inbox/login").into_response(),
        Err(response) => response,
    }
}

/// An account's role and departments, as a person reads them.
fn who(account: &StaffRow) -> String {
    if account.departments.is_empty() {
        format!("{}, every department", account.role)
    } else {
        format!("{}, {}", account.role, account.departments.join(", "))
    }
}
