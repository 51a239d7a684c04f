//! Signing in and out. A login form carries a token that must match its cookie, so
//! another site cannot sign a browser in as someone else; a session's forms carry the
//! session's own token. Repeated failed logins lock an account for a while
//! ([`careloop_domain::staff::locked_until`]); a locked account is refused without its
//! password being checked. Every refusal is logged (never with the email) and, for a
//! known account, written to the audit log.

use std::sync::OnceLock;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use careloop_domain::OrgId;
use careloop_domain::staff::NewPassword;
use careloop_store::staff::{SessionRow, StaffRow, random_token};
use careloop_store::{micros, password};
use jiff::SignedDuration;

use super::cookies::{self, LOGIN, SESSION};
use super::forms::{Form, append_cookie, bad_request, forbidden, same, secure, unavailable};
use super::pages::login_form;
use crate::state::AppState;

/// How long a session lasts: a working day and then some.
pub const SESSION_LIFE: SignedDuration = SignedDuration::from_hours(12);
/// How long a login form stays good.
const LOGIN_FORM_SECS: i64 = 3_600;
/// What a refused login says, whatever the reason: which emails have accounts, and
/// which accounts are locked, is nobody's business before they sign in.
const REFUSED: &str = "The email or password is not right, or the account is locked after \
     repeated failures for a while. Try again, or ask an administrator.";

/// The session a request's cookie names, with its account: `Ok(None)` when there is
/// none (or it expired), `Err` with the answer when the store failed.
pub async fn signed_in(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<Option<(SessionRow, StaffRow)>, Response> {
    let Some(token) = cookies::read(headers, SESSION) else {
        return Ok(None);
    };
    state
        .store
        .session(&OrgId::default_org(), token)
        .await
        .map_err(|error| unavailable(&error))
}

/// `GET /inbox/login`.
pub async fn form(State(state): State<AppState>, headers: HeaderMap) -> Response {
    match signed_in(&state, &headers).await {
        Ok(Some(_)) => Redirect::to("/inbox").into_response(),
        Ok(None) => fresh_form(&state, StatusCode::OK, "", None),
        Err(response) => response,
    }
}

/// `POST /inbox/login`.
pub async fn submit(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let form = Form::parse(&body);
    let (Some(email), Some(given), Some(csrf)) =
        (form.get("email"), form.get("password"), form.get("csrf"))
    else {
        return bad_request();
    };
    if !same(cookies::read(&headers, LOGIN), csrf) {
        tracing::warn!(reason = "no or another form token", "login refused");
        return expired(&state);
    }
    let org = OrgId::default_org();
    let account = match state.store.staff_by_email(&org, email).await {
        Ok(account) => account,
        Err(error) => return unavailable(&error),
    };
    let Some(account) = account else {
        // As long as for a known account, so that timing tells nothing either.
        password::verify(dummy_hash(), given);
        tracing::warn!(reason = "unknown email", "login refused");
        return fresh_form(&state, StatusCode::UNAUTHORIZED, email, Some(REFUSED));
    };
    let now = micros(state.store.now());
    let locked = account.locked_until_us.is_some_and(|until| until > now);
    if locked || !password::verify(&account.password_hash, given) {
        let reason = if locked { "locked" } else { "wrong password" };
        if !locked && let Err(error) = state.store.login_failed(&org, &account).await {
            return unavailable(&error);
        }
        tracing::warn!(reason, staff = %account.id, "login refused");
        let subject = format!("Staff/{}", account.id);
        if let Err(error) = state
            .store
            .audit(&org, "web", "staff.login-refused", &subject)
            .await
        {
            return unavailable(&error);
        }
        return fresh_form(&state, StatusCode::UNAUTHORIZED, email, Some(REFUSED));
    }
    let (token, _) = match state
        .store
        .start_session(&org, &account, SESSION_LIFE)
        .await
    {
        Ok(session) => session,
        Err(error) => return unavailable(&error),
    };
    let subject = format!("Staff/{}", account.id);
    let actor = format!("staff:{}", account.id);
    if let Err(error) = state
        .store
        .audit(&org, &actor, "staff.login", &subject)
        .await
    {
        return unavailable(&error);
    }
    tracing::info!(staff = %account.id, "signed in");
    let secure = secure(&state);
    let mut response = Redirect::to("/inbox").into_response();
    append_cookie(
        &mut response,
        &cookies::set(SESSION, &token, SESSION_LIFE.as_secs(), secure),
    );
    append_cookie(&mut response, &cookies::clear(LOGIN, secure));
    response
}

/// `POST /inbox/logout`: ends the session, if the form is the session's own.
pub async fn logout(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let form = Form::parse(&body);
    let (session, account) = match signed_in(&state, &headers).await {
        Ok(Some(found)) => found,
        Ok(None) => return Redirect::to("/inbox/login").into_response(),
        Err(response) => return response,
    };
    if !same(
        Some(session.csrf.as_str()),
        form.get("csrf").unwrap_or_default(),
    ) {
        tracing::warn!(reason = "no or another form token", staff = %account.id, "sign-out refused");
        return forbidden();
    }
    let org = OrgId::default_org();
    if let Some(token) = cookies::read(&headers, SESSION)
        && let Err(error) = state.store.end_session(&org, token).await
    {
        return unavailable(&error);
    }
    let subject = format!("Staff/{}", account.id);
    let actor = format!("staff:{}", account.id);
    if let Err(error) = state
        .store
        .audit(&org, &actor, "staff.logout", &subject)
        .await
    {
        return unavailable(&error);
    }
    let mut response = Redirect::to("/inbox/login").into_response();
    append_cookie(&mut response, &cookies::clear(SESSION, secure(&state)));
    response
}

/// A login form with a new token, set in its cookie too.
fn fresh_form(
    state: &AppState,
    status: StatusCode,
    email: &str,
    problem: Option<&str>,
) -> Response {
    let csrf = random_token();
    let mut response = login_form(status, &csrf, email, problem);
    append_cookie(
        &mut response,
        &cookies::set(LOGIN, &csrf, LOGIN_FORM_SECS, secure(state)),
    );
    response
}

fn expired(state: &AppState) -> Response {
    fresh_form(
        state,
        StatusCode::FORBIDDEN,
        "",
        Some("The sign-in form expired or came from elsewhere. Sign in again here."),
    )
}

/// A hash no password matches, to check an unknown email's password against.
fn dummy_hash() -> &'static str {
    static HASH: OnceLock<String> = OnceLock::new();
    HASH.get_or_init(|| {
        NewPassword::parse(random_token())
            .ok()
            .and_then(|p| password::hash(&p).ok())
            .unwrap_or_default()
    })
}
