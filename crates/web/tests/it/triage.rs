//! The clinic's own triage rules and the FAQ assistant, on both databases: a rule an
//! admin added routes a patient's text and tags it, and the inbox says which rule did;
//! the assistant answers a question it knows, says it is automated, and steps aside for
//! a person when asked.

use careloop_domain::ResourceId;
use careloop_domain::faq::FaqDefinition;
use careloop_domain::staff::{DepartmentKey, Role};
use careloop_domain::triage::{RuleDefinition, Then, When};
use careloop_domain::{OrgId, conversation::State};
use reqwest::StatusCode;

use crate::harness::TestApp;
use crate::inbox_login::{session_for, signed_get, with_staff};
use crate::messaging::{PATIENT, ana_conversation, booked, sent_now};
use crate::replies::text_from;

crate::on_both_backends!(
    a_clinic_rule_routes_and_tags_and_the_inbox_names_it,
    the_faq_assistant_answers_what_it_knows_and_hands_over_on_request,
);

const ANA_PHONE: &str = "+16175550101";
const BILLING: &str = "cara@clinic.example";

fn patient() -> ResourceId {
    ResourceId::parse(PATIENT).unwrap()
}

async fn texts(app: &TestApp, sid: &str, body: &str) -> Vec<String> {
    assert_eq!(text_from(app, sid, ANA_PHONE, body).await, StatusCode::OK);
    sent_now(app)
        .await
        .into_iter()
        .map(|(_, _, text)| text)
        .collect()
}

async fn a_clinic_rule_routes_and_tags_and_the_inbox_names_it(app: &TestApp) {
    with_staff(app, "billing", "Billing", BILLING, Role::Agent).await;
    booked(app).await;
    app.engine
        .add_entry(&RuleDefinition {
            name: "Billing questions".into(),
            enabled: true,
            when: When {
                phrases: vec!["bill".into(), "factura".into()],
                ..When::default()
            },
            then: Then {
                department: Some("billing".into()),
                priority: Some("low".into()),
                tags: vec!["billing".into()],
            },
        })
        .await
        .unwrap();
    texts(
        app,
        "SM0000000000000000000000000000t001",
        "Tengo una pregunta sobre mi FACTURA",
    )
    .await;

    let record = ana_conversation(app).await;
    assert_eq!(
        record
            .conversation
            .department
            .as_ref()
            .map(DepartmentKey::as_str),
        Some("billing")
    );
    assert_eq!(record.conversation.priority.name(), "low");
    assert!(record.conversation.tags.contains("billing"));

    let session = session_for(app, BILLING).await;
    let (_, page) = signed_get(app, &session, &format!("/inbox/c/{PATIENT}")).await;
    assert!(
        page.contains(
            "routed it to billing as low, tagged billing: rule &#39;Billing questions&#39;"
        ) || page.contains("routed it to billing as low, tagged billing: rule 'Billing questions'"),
        "{page}"
    );

    // What a patient wrote finds them, by whole words in any case and accent.
    let search = |q: &'static str| {
        let session = &session;
        async move {
            signed_get(app, session, &format!("/inbox?state=any&q={q}"))
                .await
                .1
        }
    };
    assert!(search("factura").await.contains("Ana Ruiz"));
    assert!(search("PREGUNTA%20Factura").await.contains("Ana Ruiz"));
    assert!(!search("factura%20bleeding").await.contains("Ana Ruiz"));
    assert!(!search("fact").await.contains("Ana Ruiz"));

    // Erased, the patient's conversation and the words they wrote go with them.
    let status = app
        .delete(&format!("/fhir/Patient/{PATIENT}?_erase=true"))
        .await;
    assert!(status.is_success(), "{status}");
    let org = OrgId::default_org();
    assert!(
        app.store
            .conversation(&org, &patient())
            .await
            .unwrap()
            .is_none()
    );
    let writers = app
        .store
        .writers_of(&org, &["factura".to_owned()], 10)
        .await
        .unwrap();
    assert!(writers.is_empty(), "{writers:?}");
}

async fn the_faq_assistant_answers_what_it_knows_and_hands_over_on_request(app: &TestApp) {
    booked(app).await;
    app.engine
        .add_entry(&FaqDefinition {
            title: "Fax".into(),
            enabled: true,
            questions: vec!["fax".into()],
            answer: "Our fax is 617-555-0199.".into(),
            answer_es: None,
        })
        .await
        .unwrap();
    let org = OrgId::default_org();

    let answered = texts(
        app,
        "SM0000000000000000000000000000t101",
        "What's your fax number?",
    )
    .await;
    assert_eq!(answered.len(), 1, "{answered:?}");
    assert!(
        answered[0].contains("(automated answer): Our fax is 617-555-0199."),
        "{answered:?}"
    );
    assert!(answered[0].contains("reply AGENT"), "{answered:?}");
    let record = ana_conversation(app).await;
    assert_eq!(
        record.conversation.state,
        State::Resolved,
        "nothing is left for staff"
    );
    let events = app
        .store
        .conversation_events(&org, &patient())
        .await
        .unwrap();
    assert!(events.iter().any(|e| e.kind == "faq"), "{events:?}");

    // A clinical question is never answered by the assistant, even with a word it knows.
    let clinical = texts(
        app,
        "SM0000000000000000000000000000t102",
        "can I fax you my medication list, what dose should I take",
    )
    .await;
    assert!(
        !clinical.iter().any(|t| t.contains("automated")),
        "{clinical:?}"
    );
    let record = ana_conversation(app).await;
    assert_eq!(record.conversation.state, State::Open, "staff answer it");
    assert!(record.due.is_some());

    // While staff have the conversation, the assistant keeps out of it.
    let meanwhile = texts(app, "SM0000000000000000000000000000t103", "and the fax?").await;
    assert!(
        !meanwhile.iter().any(|t| t.contains("automated")),
        "{meanwhile:?}"
    );

    // Resolved again, a patient who asks for a person gets one, not the assistant.
    app.engine
        .act(
            &patient(),
            "staff-1",
            &careloop_engine::conversations::Action::Resolve,
        )
        .await
        .unwrap();
    let handed = texts(app, "SM0000000000000000000000000000t104", "AGENT, fax").await;
    assert!(
        !handed.iter().any(|t| t.contains("automated")),
        "{handed:?}"
    );
    let record = ana_conversation(app).await;
    assert_eq!(record.conversation.state, State::Open);
}
