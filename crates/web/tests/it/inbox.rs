//! The staff inbox over a real socket, on both databases: a patient's text and email are
//! one conversation that a nurse answers, assigns and resolves; a red flag lands in
//! nursing as urgent with the rule that decided it; another department's agent, a form
//! without its token and a patient's markup are all refused or shown as text, and each
//! refusal changes nothing and is audited.

use careloop_domain::journey::Channel;
use careloop_domain::staff::{DepartmentKey, Role};
use careloop_domain::{OrgId, ResourceId};
use reqwest::StatusCode;
use reqwest::header::{COOKIE, LOCATION};

use crate::email_inbound::{self, postmark};
use crate::harness::{EMAIL_INBOUND_SECRET, TestApp};
use crate::inbox_login::{
    Session, browser, session_for, signed_form, signed_get as get, signed_post as post, with_nurse,
    with_staff,
};
use crate::messaging::{PATIENT, ana_conversation, at, book_in_boston, booked, sent_now};
use crate::replies::text_from;

crate::on_both_backends!(
    a_text_and_an_email_are_one_conversation_answered_assigned_and_resolved,
    a_red_flag_lands_in_nursing_as_urgent_and_other_departments_cannot_open_it,
    an_unanswered_urgent_message_tells_on_call_then_the_next_level,
);

const ANA_PHONE: &str = "+16175550101";
const NURSE: &str = "ana@clinic.example";
const AGENT: &str = "ben@clinic.example";

/// Ben, an agent at the front desk, with [`PASSWORD`].
async fn with_front_desk_agent(app: &TestApp) {
    with_staff(app, "front-desk", "Front desk", AGENT, Role::Agent).await;
}

fn patient() -> ResourceId {
    ResourceId::parse(PATIENT).unwrap()
}

async fn act(app: &TestApp, session: &Session, fields: &[(&str, &str)]) -> StatusCode {
    signed_form(app, session, &format!("/inbox/c/{PATIENT}/act"), fields)
        .await
        .0
}

/// Ana texts; returns what careloop sent meanwhile.
async fn texts(app: &TestApp, sid: &str, body: &str) -> Vec<(Channel, String, String)> {
    assert_eq!(text_from(app, sid, ANA_PHONE, body).await, StatusCode::OK);
    sent_now(app).await
}

async fn actions(app: &TestApp) -> Vec<String> {
    app.store
        .audit_page(&OrgId::default_org(), 0, 10_000)
        .await
        .unwrap()
        .into_iter()
        .map(|l| l.entry.action)
        .collect()
}

async fn a_text_and_an_email_are_one_conversation_answered_assigned_and_resolved(app: &TestApp) {
    with_nurse(app).await;
    booked(app).await;
    texts(
        app,
        "SM0000000000000000000000000000i001",
        "Can I bring my daughter along?",
    )
    .await;
    app.clock.advance(jiff::SignedDuration::from_mins(1));
    let status = email_inbound::post(
        app,
        "application/json",
        postmark(
            "<m1@example.org>",
            "ana@example.org",
            "Also, where do I park?",
        ),
        Some(EMAIL_INBOUND_SECRET),
    )
    .await;
    assert_eq!(status, StatusCode::OK);

    let nurse = session_for(app, NURSE).await;
    let (status, queue) = get(app, &nurse, "/inbox").await;
    assert_eq!(status, StatusCode::OK);
    assert!(queue.contains("Ana Ruiz"), "{queue}");
    assert!(queue.contains("Also, where do I park?"), "{queue}");
    assert!(
        queue.contains(&format!("href=\"/inbox/c/{PATIENT}\"")),
        "{queue}"
    );
    // Found by name and by phone; a stranger's name finds nothing.
    for q in ["ruiz", "617-555-0101", "ANA"] {
        let (_, found) = get(app, &nurse, &format!("/inbox?q={q}")).await;
        assert!(found.contains("Ana Ruiz"), "{q}: {found}");
    }
    let (_, none) = get(app, &nurse, "/inbox?q=nobody").await;
    assert!(!none.contains("Ana Ruiz"), "{none}");

    let path = format!("/inbox/c/{PATIENT}");
    let (status, page) = get(app, &nurse, &path).await;
    assert_eq!(status, StatusCode::OK);
    let text_at = page.find("Can I bring my daughter along?").unwrap();
    let email_at = page.find("Also, where do I park?").unwrap();
    assert!(text_at < email_at, "in time order");
    assert!(page.contains("Text") && page.contains("Email"), "{page}");

    // A saved reply, filled in for Ana, is put in the answer box (without a script too);
    // another department's is not offered.
    let hours = app
        .store
        .add_saved_reply(
            &OrgId::default_org(),
            None,
            "Hours",
            "We are open {clinic_hours}, {first_name}.",
        )
        .await
        .unwrap();
    let front = DepartmentKey::parse("front-desk").unwrap();
    app.store
        .add_department(&OrgId::default_org(), &front, "Front desk", None)
        .await
        .unwrap();
    app.store
        .add_saved_reply(
            &OrgId::default_org(),
            Some(&front),
            "Billing",
            "Ask billing.",
        )
        .await
        .unwrap();
    let (_, page) = get(app, &nurse, &format!("{path}?use={}", hours.id)).await;
    assert!(
        page.contains(">We are open Monday to Friday 08:00-17:00, Ana.</textarea>"),
        "{page}"
    );
    assert!(!page.contains("Ask billing."), "{page}");

    // The answer goes by text, the channel chosen; the clock stops.
    let reply_path = format!("{path}/reply");
    let (status, _) = post(
        app,
        &nurse,
        &reply_path,
        &[
            ("csrf", nurse.csrf.as_str()),
            ("text", "Yes, she is welcome."),
            ("channel", "sms"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let sent = sent_now(app).await;
    assert!(
        sent.contains(&(
            Channel::Sms,
            ANA_PHONE.to_owned(),
            "Yes, she is welcome.".to_owned()
        )),
        "{} sent",
        sent.len()
    );
    let org = OrgId::default_org();
    let record = ana_conversation(app).await;
    assert_eq!(record.conversation.waiting_since, None);
    assert_eq!(record.due, None);

    // Assigned to herself, then resolved.
    assert_eq!(
        act(app, &nurse, &[("do", "assign-me")]).await,
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        act(app, &nurse, &[("do", "resolve")]).await,
        StatusCode::SEE_OTHER
    );
    let record = ana_conversation(app).await;
    let account = app
        .store
        .staff_by_email(&org, NURSE)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        record.conversation.assignee.as_deref(),
        Some(account.id.as_str())
    );
    assert_eq!(record.conversation.state.name(), "resolved");
    let (_, page) = get(app, &nurse, &path).await;
    assert!(page.contains("answered"), "{page}");
    assert!(page.contains("set it resolved"), "{page}");
    let (_, open) = get(app, &nurse, "/inbox").await;
    assert!(
        !open.contains("Ana Ruiz"),
        "a resolved conversation leaves the open queue"
    );

    // A new message opens it again.
    texts(
        app,
        "SM0000000000000000000000000000i002",
        "One more question",
    )
    .await;
    let record = ana_conversation(app).await;
    assert_eq!(record.conversation.state.name(), "open");
    assert!(record.conversation.waiting_since.is_some());

    let done = actions(app).await;
    for action in [
        "conversation.read",
        "conversation.reply",
        "conversation.assign",
        "conversation.state",
    ] {
        assert!(done.iter().any(|a| a == action), "{action}: {done:?}");
    }
}

async fn a_red_flag_lands_in_nursing_as_urgent_and_other_departments_cannot_open_it(app: &TestApp) {
    with_nurse(app).await;
    with_front_desk_agent(app).await;
    booked(app).await;
    let answers = texts(
        app,
        "SM0000000000000000000000000000u001",
        "still bleeding a lot after my surgery",
    )
    .await;
    assert!(
        answers
            .iter()
            .any(|(_, _, text)| text.contains("emergency number")
                && text.contains("a nurse is being alerted")),
        "the emergency answer goes at once: {answers:?}"
    );
    let record = ana_conversation(app).await;
    assert_eq!(record.conversation.priority.name(), "urgent");
    assert_eq!(
        record
            .conversation
            .department
            .as_ref()
            .map(DepartmentKey::as_str),
        Some("nursing")
    );
    let due = record.due.unwrap();
    assert_eq!(
        due.duration_since(record.conversation.waiting_since.unwrap()),
        jiff::SignedDuration::from_mins(15)
    );

    let nurse = session_for(app, NURSE).await;
    let (_, urgent) = get(app, &nurse, "/inbox?view=urgent").await;
    assert!(urgent.contains("Ana Ruiz"), "{urgent}");
    let path = format!("/inbox/c/{PATIENT}");
    let (_, page) = get(app, &nurse, &path).await;
    assert!(
        page.contains(
            "routed it to nursing as urgent: built-in red flag: bleeding that does not stop"
        ),
        "{page}"
    );
    assert!(
        page.contains("Red flag: <strong>bleeding that does not stop</strong>"),
        "{page}"
    );

    // What a patient writes is shown as text.
    texts(
        app,
        "SM0000000000000000000000000000u002",
        "<script>alert(1)</script><img src=x onerror=alert(2)>",
    )
    .await;
    let (_, page) = get(app, &nurse, &path).await;
    assert!(!page.contains("<script>alert"), "{page}");
    assert!(!page.contains("<img src=x"), "{page}");
    assert!(
        page.contains("&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(2)&gt;")
    );
    let (_, queue) = get(app, &nurse, "/inbox").await;
    assert!(!queue.contains("<img src=x"), "{queue}");

    // The front desk neither lists nor opens nursing's conversation.
    let agent = session_for(app, AGENT).await;
    let (_, theirs) = get(app, &agent, "/inbox").await;
    assert!(!theirs.contains("Ana Ruiz"), "{theirs}");
    let before = ana_conversation(app).await;
    let (status, refused) = get(app, &agent, &path).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(!refused.contains("bleeding"), "{refused}");
    assert_eq!(
        act(app, &agent, &[("do", "resolve")]).await,
        StatusCode::FORBIDDEN
    );

    // A form without the session's token, or with another's, changes nothing.
    let (status, _) = post(app, &nurse, &format!("{path}/act"), &[("do", "resolve")]).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = post(
        app,
        &nurse,
        &format!("{path}/act"),
        &[("do", "resolve"), ("csrf", agent.csrf.as_str())],
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = post(app, &nurse, &format!("{path}/reply"), &[("text", "hello")]).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // A forged cookie is no session.
    let forged = browser()
        .get(app.url(&path))
        .header(COOKIE, "careloop_session=bm90IGEgdG9rZW4")
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::SEE_OTHER);
    assert_eq!(forged.headers()[LOCATION], "/inbox/login");
    assert_eq!(ana_conversation(app).await, before);

    let done = actions(app).await;
    assert!(
        done.iter()
            .filter(|a| *a == "conversation.read-refused")
            .count()
            >= 2,
        "{done:?}"
    );
    assert!(
        done.iter().filter(|a| *a == "inbox.form-refused").count() >= 3,
        "{done:?}"
    );
}

/// Two nodes on one PostgreSQL: a page watching the second hears of a message the first
/// took in, through `LISTEN/NOTIFY`.
#[tokio::test]
async fn a_change_on_one_node_reaches_a_page_watching_another() {
    let Some(first) = TestApp::postgres().await else {
        return;
    };
    let second = TestApp::start(first.db.clone(), first.master.clone()).await;
    with_nurse(&first).await;
    first.clock.set("2026-03-02T15:00:00Z".parse().unwrap());
    book_in_boston(&first, "appt-1").await;
    let nurse = session_for(&second, NURSE).await;
    let mut events = browser()
        .get(second.url("/inbox/events"))
        .header(COOKIE, nurse.cookie())
        .send()
        .await
        .unwrap();
    assert_eq!(events.status(), StatusCode::OK);
    assert_eq!(events.headers()["content-type"], "text/event-stream");
    let expected = format!("event: conversation\ndata: {PATIENT}\n");
    let mut heard = String::new();
    // The second node starts listening as the page connects; until it does, what the
    // first says is missed, so the patient writes until it is heard.
    for n in 0..50 {
        let sid = format!("SM{n:0>32}");
        texts(&first, &sid, "Is parking free?").await;
        if let Ok(Ok(Some(chunk))) =
            tokio::time::timeout(std::time::Duration::from_millis(200), events.chunk()).await
        {
            heard.push_str(&String::from_utf8_lossy(&chunk));
        }
        if heard.contains(&expected) {
            break;
        }
    }
    assert!(heard.contains(&expected), "{heard}");
    drop(events);
    drop(second);
    crate::harness::cleanup(first).await;
}

#[tokio::test]
async fn the_live_stream_wants_a_session() {
    let app = TestApp::sqlite().await;
    let response = browser()
        .get(app.url("/inbox/events"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let forged = browser()
        .get(app.url("/inbox/events"))
        .header(COOKIE, "careloop_session=bm90IGEgdG9rZW4")
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::UNAUTHORIZED);
}

async fn an_unanswered_urgent_message_tells_on_call_then_the_next_level(app: &TestApp) {
    let org = OrgId::default_org();
    let nursing = DepartmentKey::parse("nursing").unwrap();
    app.store
        .add_department(
            &org,
            &nursing,
            "Nursing",
            Some("+16175550199,charge-nurse@clinic.example"),
        )
        .await
        .unwrap();
    booked(app).await;
    texts(
        app,
        "SM0000000000000000000000000000e001",
        "I have chest pain",
    )
    .await;

    // Fourteen minutes: nobody is told yet.
    assert!(at(app, "2026-03-02T15:14:00Z").await.is_empty());
    // Fifteen: the on-call phone gets a text that names no patient.
    let told = at(app, "2026-03-02T15:15:00Z").await;
    assert_eq!(told.len(), 1, "{told:?}");
    let (channel, to, text) = &told[0];
    assert_eq!((*channel, to.as_str()), (Channel::Sms, "+16175550199"));
    assert!(
        text.contains("in Nursing marked urgent has waited 15 min"),
        "{text}"
    );
    assert!(text.contains(&format!("/inbox/c/{PATIENT}")), "{text}");
    assert!(!text.contains("chest") && !text.contains("Ana"), "{text}");
    // Still unanswered fifteen minutes later: the next level, by email.
    assert!(at(app, "2026-03-02T15:29:00Z").await.is_empty());
    let next = at(app, "2026-03-02T15:30:00Z").await;
    assert_eq!(next.len(), 1, "{next:?}");
    assert_eq!(
        (next[0].0, next[0].1.as_str()),
        (Channel::Email, "charge-nurse@clinic.example")
    );
    // No third level: nobody else is told, however long it waits.
    assert!(at(app, "2026-03-02T17:00:00Z").await.is_empty());
    let record = ana_conversation(app).await;
    assert_eq!(record.escalations, 2);
    assert_eq!(record.due, None);
    let events = app
        .store
        .conversation_events(&org, &patient())
        .await
        .unwrap();
    assert_eq!(events.iter().filter(|e| e.kind == "escalate").count(), 2);
    // Nor is the patient: the messages to staff are not addressed to them.
    let messages = crate::messaging::communications(app).await;
    let to_staff: Vec<_> = messages
        .iter()
        .filter(|m| m.to_string().contains("inbox/escalation"))
        .collect();
    assert_eq!(to_staff.len(), 2);
    assert!(to_staff.iter().all(|m| m.get("recipient").is_none()));
}
