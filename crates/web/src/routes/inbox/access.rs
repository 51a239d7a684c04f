//! Who may see and do what in the inbox. An administrator sees every conversation;
//! anyone else those of the departments they belong to, and those triage routed to no
//! department yet (the general queue), so that no message waits where nobody looks.
//! Every refusal is logged and written to the audit log, and changes nothing.

use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use careloop_domain::OrgId;
use careloop_domain::staff::Role;
use careloop_store::conversations::ConversationRecord;
use careloop_store::staff::{SessionRow, StaffRow};
use maud::html;

use super::forms::{Form, forbidden, same, unavailable};
use super::login::signed_in;
use super::pages::page;
use crate::state::AppState;

/// A signed-in person.
pub struct Signed {
    pub session: SessionRow,
    pub account: StaffRow,
}

impl Signed {
    /// The person a request's session cookie names; else the answer that sends the
    /// browser to sign in.
    pub async fn require(state: &AppState, headers: &HeaderMap) -> Result<Self, Response> {
        match signed_in(state, headers).await? {
            Some((session, account)) => Ok(Self { session, account }),
            None => Err(Redirect::to("/inbox/login").into_response()),
        }
    }

    /// The actor the audit log names.
    pub fn actor(&self) -> String {
        format!("staff:{}", self.account.id)
    }

    pub fn is_admin(&self) -> bool {
        is_admin(&self.account)
    }

    /// Whether a form is this session's own (it carries the session's token); a form
    /// from elsewhere is refused, logged and audited.
    pub async fn check_form(
        &self,
        state: &AppState,
        form: &Form,
        what: &str,
    ) -> Result<(), Response> {
        if same(
            Some(self.session.csrf.as_str()),
            form.get("csrf").unwrap_or_default(),
        ) {
            return Ok(());
        }
        tracing::warn!(reason = "no or another form token", staff = %self.account.id, what, "inbox form refused");
        self.audit(state, "inbox.form-refused", what).await?;
        Err(forbidden())
    }

    /// The departments whose conversations this person sees; `None` for every one.
    pub fn departments(&self) -> Option<Vec<String>> {
        (!self.is_admin()).then(|| self.account.departments.clone())
    }

    pub fn may_see(&self, record: &ConversationRecord) -> bool {
        sees(&self.account, record)
    }

    /// The conversation, if this person may see it; else the refusal, logged and
    /// audited.
    pub async fn check_sees(
        &self,
        state: &AppState,
        record: &ConversationRecord,
    ) -> Result<(), Response> {
        if self.may_see(record) {
            return Ok(());
        }
        let subject = format!("Patient/{}", record.patient);
        tracing::warn!(reason = "another department's conversation", staff = %self.account.id, "inbox view refused");
        self.audit(state, "conversation.read-refused", &subject)
            .await?;
        Err(not_yours())
    }

    /// Writes `action` on `subject` to the audit log.
    pub async fn audit(
        &self,
        state: &AppState,
        action: &str,
        subject: &str,
    ) -> Result<(), Response> {
        state
            .store
            .audit(&OrgId::default_org(), &self.actor(), action, subject)
            .await
            .map(|_| ())
            .map_err(|error| unavailable(&error))
    }
}

fn is_admin(account: &StaffRow) -> bool {
    Role::parse(&account.role) == Ok(Role::Admin)
}

/// Whether `account` sees `record`: every conversation for an admin; else those of its
/// departments and those routed to none.
pub fn sees(account: &StaffRow, record: &ConversationRecord) -> bool {
    is_admin(account)
        || record
            .conversation
            .department
            .as_ref()
            .is_none_or(|d| account.departments.iter().any(|m| m == d.as_str()))
}

fn not_yours() -> Response {
    page(
        axum::http::StatusCode::FORBIDDEN,
        "Not your department",
        html! {
            h1 { "Not your department" }
            p { "This conversation belongs to a department you are not a member of. Ask an administrator if you need it." }
            p { a href="/inbox" { "Back to the inbox" } }
        },
    )
}
