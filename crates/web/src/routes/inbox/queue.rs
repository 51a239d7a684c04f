//! `GET /inbox`: the queue. Most urgent first, then whoever has waited longest; filters
//! for the person's own, the unassigned, the urgent, a state, a department, a channel,
//! and a search by a patient's name, phone or email.

use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use careloop_domain::business_hours::Priority;
use careloop_domain::{OrgId, ResourceId};
use careloop_store::conversations::{ConversationQuery, ConversationRecord};
use jiff::Timestamp;
use maud::{Markup, html};

use super::access::Signed;
use super::forms::{Form, unavailable};
use super::pages::{ago, chrome, page};
use crate::state::AppState;

/// Conversations a page of the queue shows.
const PAGE: i64 = 50;
const STATES: [&str; 4] = ["open", "pending", "snoozed", "resolved"];

/// The queue's filters, as its form and links carry them.
pub struct Filters {
    /// `all`, `mine`, `unassigned` or `urgent`.
    pub view: String,
    /// One of [`STATES`], or `any`.
    pub state: String,
    pub department: String,
    pub channel: String,
    pub q: String,
    pub page: i64,
}

impl Filters {
    fn parse(raw: Option<&str>) -> Self {
        let form = Form::parse(raw.unwrap_or_default().as_bytes());
        let pick = |name: &str, allowed: &[&str], default: &str| {
            form.get(name)
                .filter(|v| allowed.contains(v))
                .unwrap_or(default)
                .to_owned()
        };
        Self {
            view: pick("view", &["all", "mine", "unassigned", "urgent"], "all"),
            state: pick(
                "state",
                &["open", "pending", "snoozed", "resolved", "any"],
                "open",
            ),
            department: form.get("department").unwrap_or_default().to_owned(),
            channel: pick("channel", &["sms", "email"], ""),
            q: form
                .get("q")
                .unwrap_or_default()
                .chars()
                .take(100)
                .collect(),
            page: form
                .get("page")
                .and_then(|p| p.parse().ok())
                .filter(|p: &i64| (0..=10_000).contains(p))
                .unwrap_or(0),
        }
    }

    fn query(&self, signed: &Signed) -> ConversationQuery {
        let mine = signed.departments();
        let departments = match (self.department.as_str(), mine) {
            ("", mine) => mine,
            // Only a department the person sees; another shows nothing.
            (chosen, Some(mine)) => Some(mine.into_iter().filter(|d| d == chosen).collect()),
            (chosen, None) => Some(vec![chosen.to_owned()]),
        };
        ConversationQuery {
            states: match self.state.as_str() {
                "any" => Vec::new(),
                state => STATES.into_iter().filter(|s| *s == state).collect(),
            },
            unrouted: self.department.is_empty(),
            departments,
            assignee: match self.view.as_str() {
                "mine" => Some(Some(signed.account.id.clone())),
                "unassigned" => Some(None),
                _ => None,
            },
            priority: (self.view == "urgent").then_some(Priority::Urgent),
            channel: (!self.channel.is_empty()).then(|| self.channel.clone()),
            patients: None,
            due_by: None,
            limit: PAGE + 1,
            offset: self.page * PAGE,
        }
    }

    /// This query string with another page.
    fn link(&self, page: i64) -> String {
        form_urlencoded::Serializer::new(String::new())
            .append_pair("view", &self.view)
            .append_pair("state", &self.state)
            .append_pair("department", &self.department)
            .append_pair("channel", &self.channel)
            .append_pair("q", &self.q)
            .append_pair("page", &page.to_string())
            .finish()
    }
}

/// `GET /inbox`.
pub async fn queue(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    let signed = match Signed::require(&state, &headers).await {
        Ok(signed) => signed,
        Err(response) => return response,
    };
    let filters = Filters::parse(raw.as_deref());
    let mut query = filters.query(&signed);
    if !filters.q.trim().is_empty() {
        match state.engine.find_patients(&filters.q).await {
            Ok(found) => {
                query.patients = Some(found.iter().map(|p| p.as_str().to_owned()).collect());
            }
            Err(error) => return unavailable(&error),
        }
    }
    let org = OrgId::default_org();
    let mut records = match state.store.conversations(&org, &query).await {
        Ok(records) => records,
        Err(error) => return unavailable(&error),
    };
    let more = records.len() > usize::try_from(PAGE).unwrap_or(usize::MAX);
    records.truncate(usize::try_from(PAGE).unwrap_or(usize::MAX));
    let ids: Vec<ResourceId> = records.iter().map(|r| r.patient.clone()).collect();
    let patients = match state.engine.patients(&ids).await {
        Ok(patients) => patients,
        Err(error) => return unavailable(&error),
    };
    let departments = match state.store.departments(&org).await {
        Ok(all) => all
            .into_iter()
            .filter(|d| signed.departments().is_none_or(|mine| mine.contains(&d.id)))
            .collect::<Vec<_>>(),
        Err(error) => return unavailable(&error),
    };
    let staff = match state.store.all_staff(&org).await {
        Ok(staff) => staff,
        Err(error) => return unavailable(&error),
    };
    let now = state.store.now();
    let name_of = |record: &ConversationRecord| {
        patients
            .get(&record.patient)
            .and_then(careloop_domain::Patient::full_name)
            .unwrap_or_else(|| "A patient without a name".to_owned())
    };
    let email_of = |id: &str| {
        staff
            .iter()
            .find(|s| s.id == id)
            .map_or_else(|| "someone".to_owned(), |s| s.email.clone())
    };
    let body = html! {
        h1 { "Inbox" }
        form.filters method="get" action="/inbox" role="search" {
            (select("view", "Show", &filters.view, &[("all", "Everything"), ("mine", "Mine"), ("unassigned", "Unassigned"), ("urgent", "Urgent")]))
            (select("state", "State", &filters.state, &[("open", "Open"), ("pending", "Pending"), ("snoozed", "Snoozed"), ("resolved", "Resolved"), ("any", "Any state")]))
            p {
                label for="department" { "Department" }
                select id="department" name="department" {
                    option value="" selected[filters.department.is_empty()] { "All mine" }
                    @for d in &departments {
                        option value=(d.id) selected[filters.department == d.id] { (d.name) }
                    }
                }
            }
            (select("channel", "Channel", &filters.channel, &[("", "Any channel"), ("sms", "Text"), ("email", "Email")]))
            p.grow {
                label for="q" { "Search" }
                input id="q" name="q" type="search" value=(filters.q) placeholder="Name, phone or email" data-key="/";
            }
            p { button type="submit" { "Filter" } }
        }
        div id="queue" data-live aria-live="polite" {
        @if records.is_empty() {
            p.empty { "Nothing here. Every patient who writes appears in this queue." }
        } @else {
            table.queue {
                caption.visually-hidden { "Conversations, most urgent first" }
                thead { tr {
                    th scope="col" { "Priority" }
                    th scope="col" { "Patient" }
                    th scope="col" { "Last message" }
                    th scope="col" { "Waiting" }
                    th scope="col" { "Department" }
                    th scope="col" { "Assignee" }
                } }
                tbody {
                    @for record in &records {
                        (row(record, &name_of(record), record.conversation.assignee.as_deref().map(&email_of), now))
                    }
                }
            }
        }
        }
        p.keys { "Keys: " kbd { "/" } " search." }
        nav.pages aria-label="Pages" {
            @if filters.page > 0 {
                a href={ "/inbox?" (filters.link(filters.page - 1)) } rel="prev" { "Newer page" }
            }
            @if more {
                a href={ "/inbox?" (filters.link(filters.page + 1)) } rel="next" { "Next page" }
            }
        }
    };
    page(StatusCode::OK, "Inbox", chrome(&signed, "queue", body))
}

fn select(name: &str, label: &str, chosen: &str, options: &[(&str, &str)]) -> Markup {
    html! {
        p {
            label for=(name) { (label) }
            select id=(name) name=(name) {
                @for (value, text) in options {
                    option value=(value) selected[chosen == *value] { (text) }
                }
            }
        }
    }
}

fn row(
    record: &ConversationRecord,
    name: &str,
    assignee: Option<String>,
    now: Timestamp,
) -> Markup {
    let c = &record.conversation;
    let overdue = record.due.is_some_and(|due| due <= now);
    html! {
        tr.{ "priority-" (c.priority.name()) } {
            td { span.badge.{ (c.priority.name()) } { (c.priority.name()) } }
            td {
                a href={ "/inbox/c/" (record.patient) } { (name) }
                @if c.state.name() != "open" { " " span.state { (c.state.name()) } }
            }
            td.preview {
                span.from { (record.preview.from.name()) ": " }
                (record.preview.text)
                @if let Some(channel) = &record.last_channel { " " span.channel { "(" (channel) ")" } }
            }
            td {
                @match c.waiting_since {
                    Some(since) => {
                        (ago(since, now))
                        @if overdue { " " strong.overdue { "overdue" } }
                    }
                    None => "—",
                }
            }
            td { (c.department.as_ref().map_or("general", |d| d.as_str())) }
            td { (assignee.unwrap_or_else(|| "—".to_owned())) }
        }
    }
}
