//! `/inbox/admin`, for admins only: the clinic's triage rules (in order, after the
//! built-in red flags, with a box to try a message against them), the FAQ assistant's
//! answers, saved replies, departments with their on-call contacts, and staff accounts.
//! Every change is checked as the CLI and the API check it, and audited.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use careloop_domain::OrgId;
use careloop_domain::business_hours::Priority;
use careloop_domain::faq::FaqDefinition;
use careloop_domain::journey::Channel;
use careloop_domain::red_flags::{self, RedFlag};
use careloop_domain::staff::{self, DepartmentKey, NewPassword, Role};
use careloop_domain::triage::{Facts, RuleDefinition, Then, When};
use careloop_engine::playbook::{Definition, Entry, PlaybookError};
use careloop_store::staff::{NewStaff, StaffStoreError};
use maud::{Markup, html};

use super::access::Signed;
use super::forms::{Form, action_fields, bad_request, unavailable};
use super::pages::{chrome, page};
use crate::state::AppState;

/// What the page says above everything after a change or a try.
struct Notice {
    text: String,
    alert: bool,
}

fn done(text: impl Into<String>) -> Option<Notice> {
    Some(Notice {
        text: text.into(),
        alert: false,
    })
}

fn refused(text: impl Into<String>) -> Option<Notice> {
    Some(Notice {
        text: text.into(),
        alert: true,
    })
}

/// Lines or commas of a text box, trimmed, without empties.
fn items(text: Option<&str>, commas: bool) -> Vec<String> {
    text.unwrap_or_default()
        .split(|c| c == '\n' || (commas && c == ','))
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

fn optional(text: Option<&str>) -> Option<String> {
    text.map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

/// An admin's session; anyone else is refused, and the refusal audited.
async fn admin(state: &AppState, headers: &HeaderMap) -> Result<Signed, Response> {
    let signed = Signed::require(state, headers).await?;
    if signed.is_admin() {
        return Ok(signed);
    }
    tracing::warn!(reason = "not an admin", staff = %signed.account.id, "admin page refused");
    signed.audit(state, "admin.refused", "Admin").await?;
    Err(page(
        StatusCode::FORBIDDEN,
        "Refused",
        html! { h1 { "Refused" } p { "Only an admin may open this page." } p { a href="/inbox" { "Back to the inbox" } } },
    ))
}

/// `GET /inbox/admin`.
pub async fn view(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let signed = match admin(&state, &headers).await {
        Ok(signed) => signed,
        Err(response) => return response,
    };
    render(&state, &signed, None, StatusCode::OK).await
}

/// `POST /inbox/admin`: one change, named by the form's `do`.
pub async fn change(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let signed = match admin(&state, &headers).await {
        Ok(signed) => signed,
        Err(response) => return response,
    };
    let form = Form::parse(&body);
    if let Err(response) = signed.check_form(&state, &form, "admin").await {
        return response;
    }
    let outcome = match form.get("do").unwrap_or_default() {
        "rule-add" => match rule_of(&form) {
            Ok(rule) => add(&state, &signed, &rule).await,
            Err(notice) => Ok(Some(notice)),
        },
        "rule-move" => match form.get("to").and_then(|t| t.parse::<usize>().ok()) {
            Some(to) => move_entry::<RuleDefinition>(&state, &signed, &form, to).await,
            None => return bad_request(),
        },
        "rule-toggle" => toggle(&state, &signed, form.get("id").unwrap_or_default()).await,
        "rule-remove" => remove::<RuleDefinition>(&state, &signed, &form).await,
        "rule-try" => try_message(&state, &form).await,
        "faq-add" => {
            let definition = FaqDefinition {
                title: form.get("title").unwrap_or_default().to_owned(),
                enabled: true,
                questions: items(form.get("questions"), false),
                answer: form.get("answer").unwrap_or_default().to_owned(),
                answer_es: optional(form.get("answer_es")),
            };
            add(&state, &signed, &definition).await
        }
        "faq-remove" => remove::<FaqDefinition>(&state, &signed, &form).await,
        "reply-add" => add_saved_reply(&state, &signed, &form).await,
        "department-add" => add_department(&state, &signed, &form).await,
        "staff-add" => add_staff(&state, &signed, &form).await,
        _ => return bad_request(),
    };
    match outcome {
        Ok(notice) => {
            let status = if notice.as_ref().is_some_and(|n| n.alert) {
                StatusCode::UNPROCESSABLE_ENTITY
            } else {
                StatusCode::OK
            };
            render(&state, &signed, notice, status).await
        }
        Err(response) => *response,
    }
}

/// A change's notice, or the answer when the store failed (boxed: it is large).
type Outcome = Result<Option<Notice>, Box<Response>>;

/// The rule a form describes; an age that is not a whole number is refused, not left out.
fn rule_of(form: &Form) -> Result<RuleDefinition, Notice> {
    let age = |name| match form.get(name).map(str::trim).filter(|a| !a.is_empty()) {
        None => Ok(None),
        Some(a) => a.parse::<u16>().map(Some).map_err(|_| Notice {
            text: "An age is a whole number of years.".to_owned(),
            alert: true,
        }),
    };
    let (min_age, max_age) = (age("min_age")?, age("max_age")?);
    Ok(RuleDefinition {
        name: form.get("name").unwrap_or_default().to_owned(),
        enabled: true,
        when: When {
            phrases: items(form.get("phrases"), true),
            pattern: optional(form.get("pattern")),
            channels: form.all("channel").into_iter().map(str::to_owned).collect(),
            languages: items(form.get("languages"), true),
            min_age,
            max_age,
        },
        then: Then {
            department: optional(form.get("department")),
            priority: optional(form.get("priority")),
            tags: items(form.get("tags"), true),
        },
    })
}

/// The notice for a refused change, or the failure of the store.
fn playbook_refusal(error: PlaybookError) -> Outcome {
    match error {
        PlaybookError::Engine(error) => Err(unavailable(&error).into()),
        other => Ok(refused(other.to_string())),
    }
}

async fn audited<D: Definition>(
    state: &AppState,
    signed: &Signed,
    verb: &str,
    id: &str,
) -> Result<(), Response> {
    let book = D::BOOK;
    signed
        .audit(
            state,
            &format!("{}.{verb}", book.noun()),
            &format!("Playbook/{}/{id}", book.name()),
        )
        .await
}

async fn add<D: Definition>(state: &AppState, signed: &Signed, definition: &D) -> Outcome {
    match state.engine.add_entry(definition).await {
        Ok(entry) => {
            audited::<D>(state, signed, "add", &entry.id).await?;
            Ok(done(format!("Added at place {}.", entry.position)))
        }
        Err(error) => playbook_refusal(error),
    }
}

async fn remove<D: Definition>(state: &AppState, signed: &Signed, form: &Form) -> Outcome {
    let id = form.get("id").unwrap_or_default();
    match state.engine.remove_entry::<D>(id).await {
        Ok(()) => {
            audited::<D>(state, signed, "remove", id).await?;
            Ok(done("Removed."))
        }
        Err(error) => playbook_refusal(error),
    }
}

async fn move_entry<D: Definition>(
    state: &AppState,
    signed: &Signed,
    form: &Form,
    to: usize,
) -> Outcome {
    let id = form.get("id").unwrap_or_default();
    match state.engine.move_entry::<D>(id, to.max(1)).await {
        Ok(_) => {
            audited::<D>(state, signed, "move", id).await?;
            Ok(done("Moved."))
        }
        Err(error) => playbook_refusal(error),
    }
}

async fn toggle(state: &AppState, signed: &Signed, id: &str) -> Outcome {
    let entries = state
        .engine
        .entries::<RuleDefinition>()
        .await
        .map_err(|e| unavailable(&e))?;
    let Some(entry) = entries.into_iter().find(|e| e.id == id) else {
        return Ok(refused(PlaybookError::NotFound.to_string()));
    };
    let mut definition = entry.definition;
    definition.enabled = !definition.enabled;
    match state.engine.replace_entry(id, &definition).await {
        Ok(_) => {
            audited::<RuleDefinition>(state, signed, "change", id).await?;
            Ok(done(if definition.enabled {
                "Turned on."
            } else {
                "Turned off."
            }))
        }
        Err(error) => playbook_refusal(error),
    }
}

async fn try_message(state: &AppState, form: &Form) -> Outcome {
    let text = form.get("text").unwrap_or_default();
    let channel = Channel::parse(form.get("channel").unwrap_or("sms")).unwrap_or(Channel::Sms);
    let facts = Facts {
        text,
        channel,
        language: form
            .get("language")
            .map(str::trim)
            .filter(|l| !l.is_empty()),
        age: form.get("age").and_then(|a| a.trim().parse().ok()),
    };
    let flags = red_flags::find(text);
    let decided = state
        .engine
        .triage(&facts, &flags)
        .await
        .map_err(|e| unavailable(&e))?;
    Ok(done(match decided {
        Some(d) => format!(
            "{} would decide: {}, {}{}.",
            d.rule,
            d.department
                .as_ref()
                .map_or("its current queue".to_owned(), |k| k.to_string()),
            d.priority
                .map_or("its current priority".to_owned(), |p| format!(
                    "priority {}",
                    p.name()
                )),
            if d.tags.is_empty() {
                String::new()
            } else {
                format!(", tagged {}", d.tags.join(", "))
            }
        ),
        None => {
            "No rule matches: the message keeps its conversation's queue and priority.".to_owned()
        }
    }))
}

async fn add_saved_reply(state: &AppState, signed: &Signed, form: &Form) -> Outcome {
    let department = match optional(form.get("department"))
        .map(|d| DepartmentKey::parse(&d))
        .transpose()
    {
        Ok(department) => department,
        Err(error) => return Ok(refused(error.to_string())),
    };
    let org = OrgId::default_org();
    match state
        .store
        .add_saved_reply(
            &org,
            department.as_ref(),
            form.get("title").unwrap_or_default(),
            form.get("body").unwrap_or_default(),
        )
        .await
    {
        Ok(row) => {
            signed
                .audit(state, "saved-reply.add", &format!("SavedReply/{}", row.id))
                .await?;
            Ok(done(format!("Added the saved reply {}.", row.title)))
        }
        Err(StaffStoreError::Store(error)) => Err(unavailable(&error).into()),
        Err(other) => Ok(refused(other.to_string())),
    }
}

async fn add_department(state: &AppState, signed: &Signed, form: &Form) -> Outcome {
    let key = match DepartmentKey::parse(form.get("key").unwrap_or_default()) {
        Ok(key) => key,
        Err(error) => return Ok(refused(error.to_string())),
    };
    let name = optional(form.get("name")).unwrap_or_else(|| key.to_string());
    if name.chars().any(char::is_control) {
        return Ok(refused("A department's name is one line of text."));
    }
    let mut on_call = Vec::new();
    for contact in items(form.get("on_call"), true) {
        match staff::on_call_contact(&contact, state.engine.settings().region) {
            Ok(contact) => on_call.push(contact),
            Err(error) => return Ok(refused(format!("On-call contact: {error}"))),
        }
    }
    let on_call = (!on_call.is_empty()).then(|| on_call.join(","));
    match state
        .store
        .add_department(&OrgId::default_org(), &key, &name, on_call.as_deref())
        .await
    {
        Ok(_) => {
            signed
                .audit(state, "department.add", &format!("Department/{key}"))
                .await?;
            Ok(done(format!("Added the department {key}.")))
        }
        Err(StaffStoreError::Store(error)) => Err(unavailable(&error).into()),
        Err(other) => Ok(refused(other.to_string())),
    }
}

async fn add_staff(state: &AppState, signed: &Signed, form: &Form) -> Outcome {
    let role = match Role::parse(form.get("role").unwrap_or_default()) {
        Ok(role) => role,
        Err(error) => return Ok(refused(error.to_string())),
    };
    let departments = match form
        .all("department")
        .into_iter()
        .map(DepartmentKey::parse)
        .collect::<Result<Vec<_>, _>>()
    {
        Ok(departments) => departments,
        Err(error) => return Ok(refused(error.to_string())),
    };
    let email = form.get("email").unwrap_or_default();
    if careloop_domain::EmailAddress::parse(email).is_err() {
        return Ok(refused("That is not an email address."));
    }
    let password = match NewPassword::parse(form.get("password").unwrap_or_default().to_owned()) {
        Ok(password) => password,
        Err(error) => return Ok(refused(error.to_string())),
    };
    let new = NewStaff {
        email,
        role,
        departments: &departments,
        password: &password,
    };
    match state.store.add_staff(&OrgId::default_org(), &new).await {
        Ok(row) => {
            signed
                .audit(state, "staff.add", &format!("Staff/{}", row.id))
                .await?;
            Ok(done(
                "Added the account; give them their password in person.",
            ))
        }
        Err(StaffStoreError::Store(error)) => Err(unavailable(&error).into()),
        Err(other) => Ok(refused(other.to_string())),
    }
}

async fn render(
    state: &AppState,
    signed: &Signed,
    notice: Option<Notice>,
    status: StatusCode,
) -> Response {
    let org = OrgId::default_org();
    let loaded = tokio::try_join!(
        async {
            state
                .engine
                .entries::<RuleDefinition>()
                .await
                .map_err(|e| e.to_string())
        },
        async {
            state
                .engine
                .entries::<FaqDefinition>()
                .await
                .map_err(|e| e.to_string())
        },
        async {
            state
                .store
                .saved_replies(&org)
                .await
                .map_err(|e| e.to_string())
        },
        async {
            state
                .store
                .departments(&org)
                .await
                .map_err(|e| e.to_string())
        },
        async { state.store.all_staff(&org).await.map_err(|e| e.to_string()) },
    );
    let (rules, faqs, replies, departments, accounts) = match loaded {
        Ok(all) => all,
        Err(error) => return unavailable(&error),
    };
    let csrf = signed.session.csrf.as_str();
    let hidden = |action: &str| action_fields(csrf, action);
    let body = html! {
        main #main {
            h1 { "Admin" }
            @if let Some(notice) = &notice {
                @if notice.alert { p role="alert" .reason { (notice.text) } } @else { p role="status" { (notice.text) } }
            }
            section.card aria-labelledby="rules" {
                h2 #rules { "Triage rules" }
                p.hint { "Tried in this order on every message that asks something of staff; the first that matches decides. The built-in red flags come first and cannot be turned off." }
                ol.rules {
                    li.builtin {
                        strong { "Built-in red flags" } " → urgent, for the urgent department: "
                        (RedFlag::ALL.iter().map(|f| f.name()).collect::<Vec<_>>().join(", "))
                    }
                    @for entry in &rules { (rule_item(entry, &hidden, rules.len())) }
                }
                details {
                    summary { "Add a rule" }
                    form method="post" action="/inbox/admin" {
                        (hidden("rule-add"))
                        label for="rule-name" { "Name" } input #rule-name name="name" required maxlength="100";
                        label for="rule-phrases" { "Words or phrases (any one; commas between)" } input #rule-phrases name="phrases" placeholder="bill, factura, insurance card";
                        label for="rule-pattern" { "Or a regular expression" } input #rule-pattern name="pattern" placeholder="\\brefills?\\b";
                        fieldset { legend { "Channels (any when none)" }
                            @for channel in Channel::ALL {
                                label { input type="checkbox" name="channel" value=(channel.name()); " " (channel.name()) }
                            }
                        }
                        label for="rule-languages" { "Patient's language (en, es; any when empty)" } input #rule-languages name="languages";
                        p.row {
                            label for="rule-min-age" { "Age from" } input #rule-min-age name="min_age" inputmode="numeric" size="4";
                            label for="rule-max-age" { "to" } input #rule-max-age name="max_age" inputmode="numeric" size="4";
                        }
                        label for="rule-department" { "Route to" }
                        select #rule-department name="department" {
                            option value="" { "(keep its queue)" }
                            @for d in &departments { option value=(d.id) { (d.name) } }
                        }
                        label for="rule-priority" { "Priority" }
                        select #rule-priority name="priority" {
                            option value="" { "(keep its priority)" }
                            @for p in Priority::ALL { option value=(p.name()) { (p.name()) } }
                        }
                        label for="rule-tags" { "Tags (commas between)" } input #rule-tags name="tags";
                        button type="submit" { "Add rule" }
                    }
                }
                form method="post" action="/inbox/admin" {
                    (hidden("rule-try"))
                    label for="try-text" { "Try a message" }
                    p.row {
                        input #try-text name="text" required placeholder="Tengo una pregunta sobre mi factura";
                        select name="channel" aria-label="Channel" { @for c in Channel::ALL { option value=(c.name()) { (c.name()) } } }
                        button type="submit" { "Try" }
                    }
                }
            }
            section.card aria-labelledby="faq" {
                h2 #faq { "FAQ assistant" }
                p.hint { "Answers a message only when exactly one answer's question is in it, it says nothing clinical and the patient did not ask for a person, and never while staff have the conversation. Its answers say they are automated." }
                ul {
                    @for entry in &faqs {
                        li {
                            strong { (entry.definition.title) } ": " (entry.definition.answer)
                            " " span.hint { "(asked by: " (entry.definition.questions.join(", ")) ")" }
                            form.inline method="post" action="/inbox/admin" {
                                (hidden("faq-remove")) input type="hidden" name="id" value=(entry.id);
                                button.quiet type="submit" aria-label={ "Remove " (entry.definition.title) } { "Remove" }
                            }
                        }
                    }
                }
                details {
                    summary { "Add an answer" }
                    form method="post" action="/inbox/admin" {
                        (hidden("faq-add"))
                        label for="faq-title" { "Title" } input #faq-title name="title" required maxlength="100";
                        label for="faq-questions" { "Words or phrases that ask it, one a line" } textarea #faq-questions name="questions" rows="3" required {}
                        label for="faq-answer" { "Answer" } textarea #faq-answer name="answer" rows="2" maxlength="240" required {}
                        label for="faq-answer-es" { "Answer in Spanish" } textarea #faq-answer-es name="answer_es" rows="2" maxlength="240" {}
                        button type="submit" { "Add answer" }
                    }
                }
            }
            section.card aria-labelledby="replies" {
                h2 #replies { "Saved replies" }
                ul { @for r in &replies { li { strong { (r.title) } " (" (r.department.as_deref().unwrap_or("every department")) "): " (r.body) } } }
                details {
                    summary { "Add a saved reply" }
                    form method="post" action="/inbox/admin" {
                        (hidden("reply-add"))
                        label for="reply-title" { "Title" } input #reply-title name="title" required;
                        label for="reply-body" { "Text ({first_name}, {next_appointment}, {clinic_hours}, {clinic_name}, {clinic_phone})" }
                        textarea #reply-body name="body" rows="3" required {}
                        label for="reply-department" { "For" }
                        select #reply-department name="department" {
                            option value="" { "every department" }
                            @for d in &departments { option value=(d.id) { (d.name) } }
                        }
                        button type="submit" { "Add saved reply" }
                    }
                }
            }
            section.card aria-labelledby="departments" {
                h2 #departments { "Departments" }
                ul { @for d in &departments { li { strong { (d.name) } " (" (d.id) "): on call " (d.on_call.as_deref().unwrap_or("nobody")) } } }
                details {
                    summary { "Add a department" }
                    form method="post" action="/inbox/admin" {
                        (hidden("department-add"))
                        label for="department-key" { "Key" } input #department-key name="key" required placeholder="front-desk";
                        label for="department-name" { "Name" } input #department-name name="name";
                        label for="department-on-call" { "On-call contacts, in order (phone or email; commas between)" } input #department-on-call name="on_call";
                        button type="submit" { "Add department" }
                    }
                }
            }
            section.card aria-labelledby="staff" {
                h2 #staff { "Staff" }
                table.figures {
                    thead { tr { th scope="col" { "Email" } th scope="col" { "Role" } th scope="col" { "Departments" } } }
                    tbody { @for a in &accounts { tr { td { (a.email) } td { (a.role) } td { (a.departments.join(", ")) } } } }
                }
                details {
                    summary { "Add an account" }
                    form method="post" action="/inbox/admin" {
                        (hidden("staff-add"))
                        label for="staff-email" { "Email" } input #staff-email type="email" name="email" required;
                        label for="staff-role" { "Role" }
                        select #staff-role name="role" { option value="agent" { "agent" } option value="clinician" { "clinician" } option value="admin" { "admin" } }
                        fieldset { legend { "Departments" }
                            @for d in &departments { label { input type="checkbox" name="department" value=(d.id); " " (d.name) } }
                        }
                        label for="staff-password" { "First password (at least 12 characters)" } input #staff-password type="password" name="password" required minlength="12" autocomplete="new-password";
                        button type="submit" { "Add account" }
                    }
                }
            }
        }
    };
    page(status, "Admin", chrome(signed, "admin", body))
}

fn rule_item(
    entry: &Entry<RuleDefinition>,
    hidden: &dyn Fn(&str) -> Markup,
    count: usize,
) -> Markup {
    let d = &entry.definition;
    let mut when = Vec::new();
    if !d.when.phrases.is_empty() {
        when.push(format!("says {}", d.when.phrases.join(" or ")));
    }
    if let Some(pattern) = &d.when.pattern {
        when.push(format!("matches /{pattern}/"));
    }
    if !d.when.channels.is_empty() {
        when.push(format!("by {}", d.when.channels.join(" or ")));
    }
    if !d.when.languages.is_empty() {
        when.push(format!("in {}", d.when.languages.join(" or ")));
    }
    match (d.when.min_age, d.when.max_age) {
        (Some(min), Some(max)) => when.push(format!("aged {min} to {max}")),
        (Some(min), None) => when.push(format!("aged {min} or more")),
        (None, Some(max)) => when.push(format!("aged up to {max}")),
        (None, None) => {}
    }
    let mut then = Vec::new();
    if let Some(department) = &d.then.department {
        then.push(format!("to {department}"));
    }
    if let Some(priority) = &d.then.priority {
        then.push(priority.clone());
    }
    if !d.then.tags.is_empty() {
        then.push(format!("tagged {}", d.then.tags.join(", ")));
    }
    html! {
        li.off[!d.enabled] {
            strong { (d.name) } @if !d.enabled { " (off)" } ": when it " (when.join(", ")) " → " (then.join(", "))
            span.actions {
                @if entry.position > 1 {
                    form.inline method="post" action="/inbox/admin" {
                        (hidden("rule-move")) input type="hidden" name="id" value=(entry.id); input type="hidden" name="to" value=(entry.position - 1);
                        button.quiet type="submit" aria-label={ "Move " (d.name) " up" } { "Up" }
                    }
                }
                @if entry.position < count {
                    form.inline method="post" action="/inbox/admin" {
                        (hidden("rule-move")) input type="hidden" name="id" value=(entry.id); input type="hidden" name="to" value=(entry.position + 1);
                        button.quiet type="submit" aria-label={ "Move " (d.name) " down" } { "Down" }
                    }
                }
                form.inline method="post" action="/inbox/admin" {
                    (hidden("rule-toggle")) input type="hidden" name="id" value=(entry.id);
                    button.quiet type="submit" { @if d.enabled { "Turn off" } @else { "Turn on" } }
                }
                form.inline method="post" action="/inbox/admin" {
                    (hidden("rule-remove")) input type="hidden" name="id" value=(entry.id);
                    button.quiet type="submit" aria-label={ "Remove " (d.name) } { "Remove" }
                }
            }
        }
    }
}
