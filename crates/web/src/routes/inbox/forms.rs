//! What every inbox handler shares: the posted form, its token's check, the cookies'
//! guard, and the pages that answer a refusal.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use maud::{Markup, html};
use subtle::ConstantTimeEq;

use super::pages::page;
use crate::state::AppState;

/// The hidden fields of every form that changes something: the session's form token,
/// and what the form does.
pub fn action_fields(csrf: &str, action: &str) -> Markup {
    html! {
        input type="hidden" name="csrf" value=(csrf);
        input type="hidden" name="do" value=(action);
    }
}

pub fn forbidden() -> Response {
    page(
        StatusCode::FORBIDDEN,
        "Refused",
        html! {
            h1 { "Refused" }
            p { "The form came from elsewhere or from an older page. Nothing was changed." }
            p { a href="/inbox" { "Back to the inbox" } }
        },
    )
}

pub fn bad_request() -> Response {
    page(
        StatusCode::BAD_REQUEST,
        "Bad request",
        html! {
            h1 { "Bad request" }
            p { "The form was incomplete. Nothing was changed." }
            p { a href="/inbox/login" { "Sign in" } }
        },
    )
}

/// The answer when the store (or the engine over it) failed; the error, which names no
/// patient, is logged.
pub fn unavailable(error: &dyn std::fmt::Display) -> Response {
    tracing::error!(error = %error, "the inbox could not reach the database");
    page(
        StatusCode::SERVICE_UNAVAILABLE,
        "Unavailable",
        html! {
            h1 { "Unavailable" }
            p { "careloop cannot reach its database just now. Try again in a moment." }
        },
    )
}

/// Whether the token a form carried is the one expected, compared in constant time.
pub fn same(expected: Option<&str>, given: &str) -> bool {
    expected.is_some_and(|expected| {
        !expected.is_empty() && bool::from(expected.as_bytes().ct_eq(given.as_bytes()))
    })
}

pub fn secure(state: &AppState) -> bool {
    state.public_url.starts_with("https://")
}

pub fn append_cookie(response: &mut Response, cookie: &str) {
    if let Ok(value) = HeaderValue::from_str(cookie) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
}

/// A posted form's fields, the first of each name.
pub struct Form(Vec<(String, String)>);

impl Form {
    pub fn parse(body: &[u8]) -> Self {
        Self(form_urlencoded::parse(body).into_owned().collect())
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    /// Every value of a field given more than once (checkboxes, a multiple select).
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
            .collect()
    }
}
