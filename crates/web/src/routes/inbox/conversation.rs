//! `/inbox/c/{patient}`: one patient's conversation, every channel in time order, with
//! what triage decided and what staff did; the forms to answer, note, assign, route and
//! resolve it; and the patient beside it. Every view is written to the audit log, and
//! every form carries the session's token.

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use careloop_domain::business_hours::Priority;
use careloop_domain::journey::Channel;
use careloop_domain::staff::DepartmentKey;
use careloop_domain::{OrgId, Patient, ResourceId};
use careloop_engine::conversations::{ActError, Action, FilledReply};
use careloop_engine::patient_panel::Panel;
use careloop_engine::staff_reply::REPLY_STEP;
use careloop_engine::{Replied, ReplyRefused, StaffReply};
use careloop_fhir::message_view::Message;
use careloop_store::conversations::{ConversationEvent, ConversationRecord};
use careloop_store::staff::{DepartmentRow, StaffRow};
use jiff::Timestamp;
use maud::{Markup, html};
use serde_json::Value;

use super::access::{Signed, sees};
use super::forms::{Form, action_fields, bad_request, unavailable};
use super::pages::{ago, chrome, page, when};
use crate::state::AppState;

/// A notice shown above the conversation after a form, and the words a refused answer
/// keeps in its box.
#[derive(Default)]
struct Notice {
    text: Option<String>,
    alert: bool,
    draft: String,
    /// The saved reply to put in the answer box (`?use=ID`).
    saved: Option<String>,
}

/// `GET /inbox/c/{patient}`.
pub async fn view(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(patient): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    let (signed, record) = match open(&state, &headers, &patient).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let query = Form::parse(query.unwrap_or_default().as_bytes());
    let notice = Notice {
        saved: query.get("use").map(str::to_owned),
        ..Notice::default()
    };
    render(&state, &signed, &record, StatusCode::OK, notice).await
}

/// The signed-in person and the conversation they may see; else the refusal.
async fn open(
    state: &AppState,
    headers: &HeaderMap,
    patient: &str,
) -> Result<(Signed, ConversationRecord), Response> {
    let signed = Signed::require(state, headers).await?;
    let Ok(patient) = ResourceId::parse(patient) else {
        return Err(not_found());
    };
    let record = state
        .store
        .conversation(&OrgId::default_org(), &patient)
        .await
        .map_err(|error| unavailable(&error))?
        .ok_or_else(not_found)?;
    signed.check_sees(state, &record).await?;
    Ok((signed, record))
}

/// A form posted on a conversation: the person, the conversation they may see, and
/// the form, if it carries the session's token.
async fn posted(
    state: &AppState,
    headers: &HeaderMap,
    patient: &str,
    body: &[u8],
    what: &str,
) -> Result<(Signed, ConversationRecord, Form), Response> {
    let (signed, record) = open(state, headers, patient).await?;
    let form = Form::parse(body);
    signed.check_form(state, &form, what).await?;
    Ok((signed, record, form))
}

/// `POST /inbox/c/{patient}/act`: assign, route, tag, note, or move the conversation
/// to another state.
pub async fn act(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(patient): Path<String>,
    body: Bytes,
) -> Response {
    let (signed, record, form) =
        match posted(&state, &headers, &patient, &body, "conversation.act").await {
            Ok(found) => found,
            Err(response) => return response,
        };
    let Some(action) = action_of(&form, &signed, state.store.now()) else {
        return bad_request();
    };
    let kind = action.kind();
    // An assignee must be one who sees the conversation's department.
    if let Action::Assign(Some(who)) = &action
        && !may_take(&state, who, &record).await
    {
        return render(
            &state,
            &signed,
            &record,
            StatusCode::UNPROCESSABLE_ENTITY,
            Notice {
                text: Some("That person is not in this conversation's department.".to_owned()),
                alert: true,
                ..Notice::default()
            },
        )
        .await;
    }
    let subject = format!("Patient/{}", record.patient);
    match state
        .engine
        .act(&record.patient, &signed.account.id, &action)
        .await
    {
        Ok(_) => {
            if let Err(response) = signed
                .audit(&state, &format!("conversation.{kind}"), &subject)
                .await
            {
                return response;
            }
            Redirect::to(&format!("/inbox/c/{}", record.patient)).into_response()
        }
        Err(ActError::Engine(error)) => unavailable(&error),
        Err(refused) => {
            render(
                &state,
                &signed,
                &record,
                StatusCode::UNPROCESSABLE_ENTITY,
                Notice {
                    text: Some(format!("Not done: {refused}.")),
                    alert: true,
                    ..Notice::default()
                },
            )
            .await
        }
    }
}

/// `POST /inbox/c/{patient}/reply`: answers the patient.
pub async fn reply(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(patient): Path<String>,
    body: Bytes,
) -> Response {
    let (signed, record, form) =
        match posted(&state, &headers, &patient, &body, "conversation.reply").await {
            Ok(found) => found,
            Err(response) => return response,
        };
    let text = form.get("text").unwrap_or_default();
    let channel = form.get("channel").and_then(Channel::parse);
    let outcome = state
        .engine
        .reply(&StaffReply {
            patient: &record.patient,
            actor: &signed.account.id,
            channel,
            text,
        })
        .await;
    let notice = match outcome {
        Ok(replied) => {
            let subject = format!("Patient/{}", record.patient);
            if let Err(response) = signed.audit(&state, "conversation.reply", &subject).await {
                return response;
            }
            match replied {
                Replied::Queued { .. } => {
                    return Redirect::to(&format!("/inbox/c/{}", record.patient)).into_response();
                }
                Replied::Deferred { until, reason, .. } => Notice {
                    text: Some(format!(
                        "Queued: it goes at {} ({reason}).",
                        when(until, &state.engine.settings().clinic.zone)
                    )),
                    alert: false,
                    ..Notice::default()
                },
            }
        }
        Err(ReplyRefused::Engine(error)) => return unavailable(&error),
        Err(refused) => Notice {
            text: Some(format!("Not sent: {refused}.")),
            alert: true,
            draft: text.to_owned(),
            saved: None,
        },
    };
    let status = if notice.alert {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    // Read again: an answer that went changed the conversation.
    let record = match state
        .store
        .conversation(&OrgId::default_org(), &record.patient)
        .await
    {
        Ok(Some(record)) => record,
        Ok(None) => record,
        Err(error) => return unavailable(&error),
    };
    render(&state, &signed, &record, status, notice).await
}

/// What a posted `act` form asks, if it is well formed.
fn action_of(form: &Form, signed: &Signed, now: Timestamp) -> Option<Action> {
    Some(match form.get("do")? {
        "assign-me" => Action::Assign(Some(signed.account.id.clone())),
        "assign" => Action::Assign(
            form.get("assignee")
                .filter(|a| !a.is_empty())
                .map(str::to_owned),
        ),
        "resolve" => Action::Resolve,
        "pend" => Action::Pend,
        "reopen" => Action::Reopen,
        "snooze" => {
            let hours: i64 = form
                .get("hours")?
                .parse()
                .ok()
                .filter(|h| (1..=720).contains(h))?;
            Action::Snooze(
                now.checked_add(jiff::SignedDuration::from_hours(hours))
                    .ok()?,
            )
        }
        "route" => Action::Route {
            department: match form.get("department")? {
                "" => None,
                key => Some(DepartmentKey::parse(key).ok()?),
            },
            priority: Priority::parse(form.get("priority")?)?,
        },
        "tag" => Action::Tag(form.get("tag")?.to_owned()),
        "untag" => Action::Untag(form.get("tag")?.to_owned()),
        "note" => Action::Note(form.get("note")?.to_owned()),
        _ => return None,
    })
}

/// Whether account `who` may be given the conversation.
pub(crate) async fn may_take(state: &AppState, who: &str, record: &ConversationRecord) -> bool {
    let Ok(Some(account)) = state.store.staff_by_id(&OrgId::default_org(), who).await else {
        return false;
    };
    sees(&account, record)
}

/// The page of a conversation, its view audited.
async fn render(
    state: &AppState,
    signed: &Signed,
    record: &ConversationRecord,
    status: StatusCode,
    notice: Notice,
) -> Response {
    let org = OrgId::default_org();
    let subject = format!("Patient/{}", record.patient);
    if let Err(response) = signed.audit(state, "conversation.read", &subject).await {
        return response;
    }
    let messages = match state.engine.messages_of(&record.patient).await {
        Ok(messages) => messages,
        Err(error) => return unavailable(&error),
    };
    let events = match state.store.conversation_events(&org, &record.patient).await {
        Ok(events) => events,
        Err(error) => return unavailable(&error),
    };
    let patient = match state
        .engine
        .patients(std::slice::from_ref(&record.patient))
        .await
    {
        Ok(mut found) => found.remove(&record.patient),
        Err(error) => return unavailable(&error),
    };
    let staff = match state.store.all_staff(&org).await {
        Ok(staff) => staff,
        Err(error) => return unavailable(&error),
    };
    let departments = match state.store.departments(&org).await {
        Ok(departments) => departments,
        Err(error) => return unavailable(&error),
    };
    let saved = match &patient {
        Some(patient) => match state
            .engine
            .saved_replies_for(patient, record.conversation.department.as_ref())
            .await
        {
            Ok(saved) => saved,
            Err(error) => return unavailable(&error),
        },
        None => Vec::new(),
    };
    let panel = match &patient {
        Some(patient) => match state.engine.panel(patient).await {
            Ok(panel) => Some(panel),
            Err(error) => return unavailable(&error),
        },
        None => None,
    };
    let mut notice = notice;
    if notice.draft.is_empty()
        && let Some(chosen) = saved
            .iter()
            .find(|r| notice.saved.as_deref() == Some(&r.id))
    {
        notice.draft.clone_from(&chosen.text);
    }
    let name = patient
        .as_ref()
        .and_then(Patient::full_name)
        .unwrap_or_else(|| "A patient without a name".to_owned());
    let zone = state.engine.settings().clinic.zone.clone();
    let now = state.store.now();
    let view = View {
        signed,
        record,
        patient: patient.as_ref(),
        panel: panel.as_ref(),
        staff: &staff,
        departments: &departments,
        zone: &zone,
        now,
    };
    let body = html! {
        p.back { a href="/inbox" { "← Back to the queue" } }
        h1 { (name) }
        @if let Some(text) = &notice.text {
            p role=(if notice.alert { "alert" } else { "status" }) { (text) }
        }
        div.conversation {
            section.timeline aria-label="Messages and events" data-patient=(record.patient) {
                (view.timeline(&messages, &events))
                (view.saved_form(&saved))
                (view.reply_form(&notice.draft))
                (view.note_form())
            }
            aside.panel id="panel" data-live aria-label="The patient and the conversation" {
                (view.state_panel())
                (view.patient_panel())
            }
        }
        p.keys { "Keys: " kbd { "r" } " answer, " kbd { "s" } " saved reply, " kbd { "a" } " assign to me, " kbd { "e" } " resolve, " kbd { "Esc" } " leave a field." }
    };
    page(status, &name, chrome(signed, "conversation", body))
}

/// What the page is drawn from.
struct View<'a> {
    signed: &'a Signed,
    record: &'a ConversationRecord,
    patient: Option<&'a Patient>,
    panel: Option<&'a Panel>,
    staff: &'a [StaffRow],
    departments: &'a [DepartmentRow],
    zone: &'a jiff::tz::TimeZone,
    now: Timestamp,
}

/// One line of the timeline.
enum Entry<'a> {
    Message(&'a Message),
    Event(&'a ConversationEvent),
}

impl View<'_> {
    fn email_of(&self, id: &str) -> String {
        if id == careloop_store::conversations::CARELOOP {
            return "careloop".to_owned();
        }
        if let Some(token) = id.strip_prefix("token:") {
            return format!("the API (token {token})");
        }
        self.staff
            .iter()
            .find(|s| s.id == id)
            .map_or_else(|| "a former colleague".to_owned(), |s| s.email.clone())
    }

    fn action(&self) -> String {
        format!("/inbox/c/{}/act", self.record.patient)
    }

    fn timeline(&self, messages: &[Message], events: &[ConversationEvent]) -> Markup {
        let mut entries: Vec<(Option<Timestamp>, Entry<'_>)> = messages
            .iter()
            .map(|m| (m.at, Entry::Message(m)))
            .chain(events.iter().map(|e| (Some(e.at), Entry::Event(e))))
            .collect();
        // Stable: at one instant, messages keep their order, and events follow them.
        entries.sort_by_key(|(at, _)| *at);
        // Who answered: each reply event names its message.
        let author_of = |message: &Message| {
            events
                .iter()
                .filter(|e| e.kind == "reply")
                .find(|e| detail(e)["message"].as_str() == Some(message.id.as_str()))
                .map(|e| self.email_of(&e.actor))
        };
        html! {
            ol.timeline id="timeline" data-live aria-live="polite" {
                @for (_, entry) in &entries {
                    @match entry {
                        Entry::Message(message) => (self.message(message, author_of(message))),
                        Entry::Event(event) => (self.event(event)),
                    }
                }
            }
        }
    }

    fn message(&self, message: &Message, author: Option<String>) -> Markup {
        let from = if message.from_patient {
            "Patient".to_owned()
        } else if careloop_engine::escalation::is_escalation(message.step.as_deref()) {
            "careloop, to the on-call contact".to_owned()
        } else if let Some(author) = author {
            author
        } else if message.step.as_deref() == Some(REPLY_STEP) {
            "Staff".to_owned()
        } else {
            "careloop (automated)".to_owned()
        };
        let class = if message.from_patient { "in" } else { "out" };
        html! {
            li.message.(class) {
                p.meta {
                    strong { (from) }
                    " · " (message.channel.map_or("unknown channel", channel_name))
                    @if let Some(at) = message.at { " · " time datetime=(at.to_string()) { (when(at, self.zone)) } }
                    @if !message.from_patient {
                        @if let Some(status) = message.status { " · " span.status { (status.name()) } }
                    }
                }
                p.text { (message.text) }
                @if let Some(reason) = &message.reason { p.reason { "Held: " (reason) } }
                @if !message.red_flags.is_empty() {
                    ul.triage aria-label="What triage found" {
                        @for (flag, words) in &message.red_flags {
                            li { "Red flag: " strong { (flag) } " (the words: " (words) ")" }
                        }
                    }
                }
                @if !message.from_patient {
                    @if let Some(step) = &message.step {
                        @if step != REPLY_STEP { p.step { "Sent by " (step) } }
                    }
                }
            }
        }
    }

    fn event(&self, event: &ConversationEvent) -> Markup {
        let who = self.email_of(&event.actor);
        let d = detail(event);
        let text = |key: &str| d[key].as_str().unwrap_or_default().to_owned();
        let said = match event.kind.as_str() {
            "triage" => {
                let mut said = format!(
                    "routed it to {}",
                    d["department"].as_str().unwrap_or("its current queue")
                );
                if let Some(priority) = d["priority"].as_str() {
                    said.push_str(" as ");
                    said.push_str(priority);
                }
                if let Some(tags) = d["tags"].as_array().filter(|t| !t.is_empty()) {
                    let tags: Vec<&str> = tags.iter().filter_map(|t| t.as_str()).collect();
                    said.push_str(", tagged ");
                    said.push_str(&tags.join(", "));
                }
                format!("{said}: {}", text("rule"))
            }
            "faq" => format!("answered it with the FAQ answer '{}'", text("answer")),
            "assign" => match d["assignee"].as_str() {
                Some(id) => format!("assigned it to {}", self.email_of(id)),
                None => "unassigned it".to_owned(),
            },
            "state" => match text("because").as_str() {
                "" => format!("set it {}", text("state")),
                because => format!("opened it again: {because}"),
            },
            "route" => format!(
                "routed it to {} as {}",
                d["department"].as_str().unwrap_or("the general queue"),
                text("priority")
            ),
            "tag" => format!("tagged it {}", text("tag")),
            "untag" => format!("removed the tag {}", text("tag")),
            "reply" => "answered".to_owned(),
            "escalate" => match d["by"].as_str() {
                Some(by) => format!(
                    "told on-call contact {} by {} that the answer is late",
                    d["level"],
                    if by == "sms" { "text" } else { by }
                ),
                None => "found no on-call contact to tell that the answer is late".to_owned(),
            },
            "note" => "wrote an internal note".to_owned(),
            other => other.to_owned(),
        };
        html! {
            li.event.{ "event-" (event.kind) } {
                p.meta {
                    strong { (who) } " " (said)
                    " · " time datetime=(event.at.to_string()) { (when(event.at, self.zone)) }
                }
                @if let Some(note) = &event.note {
                    p.note { span.visually-hidden { "Internal note: " } (note) }
                }
            }
        }
    }

    fn reply_form(&self, draft: &str) -> Markup {
        let channels: Vec<Channel> = self
            .patient
            .map(careloop_engine::conversations::channels_of)
            .unwrap_or_default();
        let last = self.record.last_channel.as_deref().and_then(Channel::parse);
        html! {
            form.reply method="post" action={ "/inbox/c/" (self.record.patient) "/reply" } {
                input type="hidden" name="csrf" value=(self.signed.session.csrf);
                label for="reply" { "Answer the patient" }
                textarea id="reply" name="text" rows="4" required maxlength="4000" data-key="r" { (draft) }
                p.row {
                    label for="channel" { "By" }
                    select id="channel" name="channel" {
                        @for channel in &channels {
                            option value=(channel.name()) selected[Some(*channel) == last] { (channel_name(*channel)) }
                        }
                    }
                    button type="submit" { "Send answer" }
                }
            }
        }
    }

    fn saved_form(&self, saved: &[FilledReply]) -> Markup {
        if saved.is_empty() {
            return html! {};
        }
        html! {
            form.saved method="get" action={ "/inbox/c/" (self.record.patient) } {
                label for="saved" { "Saved reply" }
                p.row {
                    select id="saved" name="use" data-key="s" {
                        option value="" { "Choose one…" }
                        @for reply in saved {
                            option value=(reply.id) data-text=(reply.text) { (reply.title) }
                        }
                    }
                    button.quiet type="submit" { "Insert" }
                }
            }
        }
    }

    fn note_form(&self) -> Markup {
        html! {
            form.note method="post" action=(self.action()) {
                (action_fields(&self.signed.session.csrf, "note"))
                label for="note" { "Internal note (staff only)" }
                textarea id="note" name="note" rows="2" required maxlength="4000" {}
                p { button.quiet type="submit" { "Add note" } }
            }
        }
    }

    fn state_panel(&self) -> Markup {
        let c = &self.record.conversation;
        let csrf = &self.signed.session.csrf;
        let assignable: Vec<&StaffRow> =
            self.staff.iter().filter(|s| sees(s, self.record)).collect();
        html! {
            section.card aria-labelledby="state-title" {
                h2 id="state-title" { "Conversation" }
                dl {
                    dt { "State" } dd { (c.state.name()) }
                    dt { "Priority" } dd { span.badge.(c.priority.name()) { (c.priority.name()) } }
                    dt { "Department" } dd { (c.department.as_ref().map_or("general", |d| d.as_str())) }
                    dt { "Assignee" } dd { (c.assignee.as_deref().map_or_else(|| "nobody".to_owned(), |a| self.email_of(a))) }
                    @if let Some(since) = c.waiting_since {
                        dt { "Waiting" } dd { (ago(since, self.now)) }
                    }
                    @if let Some(due) = self.record.due {
                        dt { "Answer due" } dd {
                            (when(due, self.zone))
                            @if due <= self.now { " " strong.overdue { "overdue" } }
                        }
                    }
                    @if !c.tags.is_empty() {
                        dt { "Tags" } dd { (c.tags.iter().cloned().collect::<Vec<_>>().join(", ")) }
                    }
                }
                div.actions {
                    form method="post" action=(self.action()) data-key="a" {
                        (action_fields(csrf, "assign-me"))
                        button type="submit" { "Assign to me" }
                    }
                    @if c.state.name() == "resolved" {
                        (self.state_button("reopen", "Reopen", None))
                    } @else {
                        (self.state_button("resolve", "Resolve", Some("e")))
                        @if c.state.name() != "pending" { (self.state_button("pend", "Wait on patient", None)) }
                    }
                }
                form method="post" action=(self.action()) {
                    (action_fields(csrf, "assign"))
                    label for="assignee" { "Assign to" }
                    select id="assignee" name="assignee" {
                        option value="" { "Nobody" }
                        @for s in &assignable {
                            option value=(s.id) selected[c.assignee.as_deref() == Some(s.id.as_str())] { (s.email) }
                        }
                    }
                    button.quiet type="submit" { "Assign" }
                }
                form method="post" action=(self.action()) {
                    (action_fields(csrf, "route"))
                    label for="route-department" { "Department" }
                    select id="route-department" name="department" {
                        option value="" { "General queue" }
                        @for d in self.departments {
                            option value=(d.id) selected[c.department.as_ref().is_some_and(|k| k.as_str() == d.id)] { (d.name) }
                        }
                    }
                    label for="route-priority" { "Priority" }
                    select id="route-priority" name="priority" {
                        @for p in Priority::ALL {
                            option value=(p.name()) selected[p == c.priority] { (p.name()) }
                        }
                    }
                    button.quiet type="submit" { "Route" }
                }
                @if c.state.name() != "resolved" {
                    form method="post" action=(self.action()) {
                        (action_fields(csrf, "snooze"))
                        label for="snooze-hours" { "Snooze for" }
                        select id="snooze-hours" name="hours" {
                            option value="1" { "1 hour" }
                            option value="4" { "4 hours" }
                            option value="24" selected { "1 day" }
                            option value="72" { "3 days" }
                            option value="168" { "1 week" }
                        }
                        button.quiet type="submit" { "Snooze" }
                    }
                }
                form method="post" action=(self.action()) {
                    (action_fields(csrf, "tag"))
                    label for="tag" { "Add a tag" }
                    input id="tag" name="tag" maxlength="40" required;
                    button.quiet type="submit" { "Tag" }
                }
                @for tag in &c.tags {
                    form.inline method="post" action=(self.action()) {
                        (action_fields(csrf, "untag"))
                        input type="hidden" name="tag" value=(tag);
                        button.quiet type="submit" aria-label={ "Remove the tag " (tag) } { "× " (tag) }
                    }
                }
            }
        }
    }

    fn state_button(&self, action: &str, label: &str, key: Option<&str>) -> Markup {
        html! {
            form method="post" action=(self.action()) data-key=[key] {
                (action_fields(&self.signed.session.csrf, action))
                button type="submit" { (label) }
            }
        }
    }

    fn patient_panel(&self) -> Markup {
        let Some(patient) = self.patient else {
            return html! { section.card { h2 { "Patient" } p { "The patient's record is gone." } } };
        };
        let addresses = careloop_engine::conversations::addresses_of(patient);
        html! {
            section.card aria-labelledby="patient-title" {
                h2 id="patient-title" { "Patient" }
                dl {
                    dt { "Language" } dd { (patient.language.as_ref().map_or("not given".to_owned(), ToString::to_string)) }
                    @if let Some((channel, _)) = addresses.first() {
                        dt { "Preferred channel" } dd { (channel_name(*channel)) }
                    }
                    @if let Some(panel) = self.panel {
                        @for reach in &panel.reach {
                            dt { (channel_name(reach.channel)) }
                            dd {
                                (reach.address)
                                @if let Some(held) = &reach.held { br; span.reason { "Not reachable: " (held) } }
                            }
                        }
                    } @else {
                        @for (channel, address) in &addresses {
                            dt { (channel_name(*channel)) } dd { (address) }
                        }
                    }
                }
                @if let Some(panel) = self.panel {
                    h3 { "Appointments ahead" }
                    @if panel.upcoming.is_empty() { p { "None." } }
                    ul { @for a in &panel.upcoming { li { (a.when) " · " (a.status) } } }
                    h3 { "Open tasks" }
                    @if panel.tasks.is_empty() { p { "None." } }
                    ul { @for t in &panel.tasks { li { (t.description) " · " (t.status) } } }
                    h3 { "Journeys" }
                    @if panel.journeys.is_empty() { p { "None under way." } }
                    ul {
                        @for j in &panel.journeys {
                            li {
                                (j.journey) ", step " (j.step + 1)
                                @if let Some(waiting) = &j.waiting { " · waiting for " (waiting) }
                                @if let Some(next) = j.next { " · next " (when(next, self.zone)) }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn detail(event: &ConversationEvent) -> Value {
    serde_json::from_str(&event.detail).unwrap_or(Value::Null)
}

fn channel_name(channel: Channel) -> &'static str {
    match channel {
        Channel::Sms => "Text",
        Channel::Email => "Email",
    }
}

fn not_found() -> Response {
    page(
        StatusCode::NOT_FOUND,
        "Not found",
        html! {
            h1 { "No such conversation" }
            p { "The patient has not written, or their record is gone." }
            p { a href="/inbox" { "Back to the inbox" } }
        },
    )
}
