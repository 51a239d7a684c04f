//! The patient beside their conversation, over a real socket on both databases: the
//! appointment ahead, the task their "R" made, the journey under way and whether each
//! address may be written to; and snoozing and tagging from the page.

use careloop_domain::conversation::State;
use reqwest::StatusCode;

use crate::harness::TestApp;
use crate::inbox_login::{Session, session_for, signed_form, signed_get, with_nurse};
use crate::messaging::{PATIENT, ana_conversation, at, booked, sent_now};
use crate::replies::text_from;

crate::on_both_backends!(the_panel_shows_what_is_ahead_and_the_page_snoozes_and_tags,);

async fn page(app: &TestApp, session: &Session) -> String {
    signed_get(app, session, &format!("/inbox/c/{PATIENT}"))
        .await
        .1
}

async fn act(app: &TestApp, session: &Session, fields: &[(&str, &str)]) -> StatusCode {
    signed_form(app, session, &format!("/inbox/c/{PATIENT}/act"), fields)
        .await
        .0
}

async fn the_panel_shows_what_is_ahead_and_the_page_snoozes_and_tags(app: &TestApp) {
    with_nurse(app).await;
    booked(app).await;
    text_from(
        app,
        "SM0000000000000000000000000000p001",
        "+16175550101",
        "R",
    )
    .await;
    at(app, "2026-03-02T15:01:00Z").await;
    let nurse = session_for(app, "ana@clinic.example").await;

    let shown = page(app, &nurse).await;
    assert!(shown.contains("Appointments ahead"), "{shown}");
    assert!(
        shown.contains("Tue, Mar 10 at 10:00 AM · booked"),
        "{shown}"
    );
    assert!(shown.contains("appointment-reminders, step"), "{shown}");
    assert!(
        shown.contains("Patient asks to reschedule · requested"),
        "{shown}"
    );
    assert!(shown.contains("<h3>Journeys</h3>"), "{shown}");
    assert!(!shown.contains("Not reachable"), "{shown}");

    assert!(
        act(app, &nurse, &[("do", "tag"), ("tag", "reschedule")])
            .await
            .is_redirection()
    );
    assert!(
        act(app, &nurse, &[("do", "snooze"), ("hours", "4")])
            .await
            .is_redirection()
    );
    let record = ana_conversation(app).await;
    assert!(
        matches!(record.conversation.state, State::Snoozed { .. }),
        "{:?}",
        record.conversation.state
    );
    assert!(record.conversation.tags.contains("reschedule"));
    let shown = page(app, &nurse).await;
    assert!(shown.contains("Remove the tag reschedule"), "{shown}");
    assert!(
        act(app, &nurse, &[("do", "untag"), ("tag", "reschedule")])
            .await
            .is_redirection()
    );
    let record = ana_conversation(app).await;
    assert!(record.conversation.tags.is_empty());

    // An answer queued just before the patient says STOP does not go, and the panel
    // says the number may not be written to, and why.
    let (status, _) = signed_form(
        app,
        &nurse,
        &format!("/inbox/c/{PATIENT}/reply"),
        &[("text", "We can move it to Thursday."), ("channel", "sms")],
    )
    .await;
    assert!(status.is_redirection() || status.is_success(), "{status}");
    text_from(
        app,
        "SM0000000000000000000000000000p002",
        "+16175550101",
        "STOP",
    )
    .await;
    let sent = sent_now(app).await;
    assert!(
        !sent.iter().any(|(_, _, text)| text.contains("Thursday")),
        "{sent:?}"
    );
    let shown = page(app, &nurse).await;
    assert!(
        shown.contains("We can move it to Thursday."),
        "the answer is on the page"
    );
    assert!(
        shown.contains("Not reachable: the recipient opted out of this channel"),
        "{shown}"
    );
}
