//! The gates before every send, each recording why it held a message back: the PHI
//! level a channel may carry, the TCPA healthcare preset (one text a day, three a week,
//! at most 160 characters naming the clinic and its number) and the sender's rate limit.

use careloop_domain::journey::Channel;
use careloop_domain::phi::PhiLevel;
use careloop_domain::send_rate::SendRate;
use careloop_engine::{Engine, Settings};
use serde_json::Value;

use crate::harness::TestApp;
use crate::messaging::book;

crate::on_both_backends!(
    the_tcpa_preset_sends_one_text_a_day_and_three_a_week,
    the_tcpa_preset_blocks_a_text_over_160_characters,
    a_channel_carries_no_more_health_information_than_allowed,
    a_sender_rate_limit_spaces_the_messages_out,
);

/// The harness's engine with its settings changed by `change`.
fn engine_with(app: &TestApp, change: impl FnOnce(&mut Settings)) -> Engine {
    let mut settings = app.engine.settings().clone();
    change(&mut settings);
    app.engine.with_settings(settings)
}

/// Books `id` for Ana (who prefers texts, in Boston) at `start`, with the clock at `now`.
async fn book_at(app: &TestApp, now: &str, id: &str, start: &str) {
    app.clock.set(now.parse().unwrap());
    book(app, "en", "America/New_York", id, start).await;
}

/// Runs `engine` until idle and returns the texts it sent.
async fn texts_sent(app: &TestApp, engine: &Engine) -> Vec<String> {
    engine.run_until_idle().await.unwrap();
    let texts = app
        .sent
        .taken()
        .into_iter()
        .filter(|m| m.channel == Channel::Sms)
        .map(|m| m.text)
        .collect();
    app.sent.clear();
    texts
}

/// Why the messages about `appointment` that did not go were held back.
async fn reasons_about(app: &TestApp, appointment: &str) -> Vec<String> {
    app.search(&format!("/fhir/Communication?about={appointment}"))
        .await
        .iter()
        .filter_map(|c| c["statusReason"]["text"].as_str().map(str::to_owned))
        .collect()
}

async fn the_tcpa_preset_sends_one_text_a_day_and_three_a_week(app: &TestApp) {
    let engine = engine_with(app, |s| s.tcpa_healthcare = true);
    // Monday 2 March, 10:00 in Boston: two bookings, weeks ahead so no reminder is due.
    book_at(app, "2026-03-02T15:00:00Z", "a1", "2026-03-30T14:00:00Z").await;
    assert_eq!(texts_sent(app, &engine).await.len(), 1);
    book_at(app, "2026-03-02T15:05:00Z", "a2", "2026-03-31T14:00:00Z").await;
    assert_eq!(texts_sent(app, &engine).await, Vec::<String>::new());
    let reasons = reasons_about(app, "a2").await;
    assert_eq!(
        reasons,
        ["frequency cap: 1 text messages a day reached for this patient (TCPA healthcare preset)"],
        "{reasons:?}"
    );
    // Tuesday and Wednesday: one a day goes.
    book_at(app, "2026-03-03T15:00:00Z", "a3", "2026-04-01T14:00:00Z").await;
    assert_eq!(texts_sent(app, &engine).await.len(), 1);
    book_at(app, "2026-03-04T15:00:00Z", "a4", "2026-04-02T14:00:00Z").await;
    assert_eq!(texts_sent(app, &engine).await.len(), 1);
    // Thursday: three went out in the last seven days.
    book_at(app, "2026-03-05T15:00:00Z", "a5", "2026-04-03T14:00:00Z").await;
    assert_eq!(texts_sent(app, &engine).await, Vec::<String>::new());
    let reasons = reasons_about(app, "a5").await;
    assert_eq!(
        reasons,
        ["frequency cap: 3 text messages a week reached for this patient (TCPA healthcare preset)"]
    );
    // The next Monday the first of the week has left the window.
    book_at(app, "2026-03-09T14:00:00Z", "a6", "2026-04-06T14:00:00Z").await;
    assert_eq!(texts_sent(app, &engine).await.len(), 1);
    // Without the preset the same engine sends every one.
    book_at(app, "2026-03-09T14:05:00Z", "a7", "2026-04-07T14:00:00Z").await;
    assert_eq!(texts_sent(app, &app.engine).await.len(), 1);
}

async fn the_tcpa_preset_blocks_a_text_over_160_characters(app: &TestApp) {
    let engine = engine_with(app, |s| {
        s.tcpa_healthcare = true;
        s.clinic.name = "Riverside Community Health Center North".to_owned();
    });
    book_at(app, "2026-03-02T15:00:00Z", "long", "2026-03-30T14:00:00Z").await;
    assert_eq!(texts_sent(app, &engine).await, Vec::<String>::new());
    let reasons = reasons_about(app, "long").await;
    assert_eq!(reasons.len(), 1, "{reasons:?}");
    assert!(
        reasons[0].starts_with("TCPA healthcare preset: the text has ")
            && reasons[0].ends_with(" characters, more than 160"),
        "{reasons:?}"
    );
}

async fn a_channel_carries_no_more_health_information_than_allowed(app: &TestApp) {
    // A clinic whose very appointments are sensitive lets texts carry nothing.
    let engine = engine_with(app, |s| s.phi.sms = PhiLevel::None);
    book_at(app, "2026-03-02T15:00:00Z", "quiet", "2026-03-30T14:00:00Z").await;
    assert_eq!(texts_sent(app, &engine).await, Vec::<String>::new());
    assert_eq!(
        reasons_about(app, "quiet").await,
        ["the message carries limited health information; a text message may carry none at most"]
    );
    let (_, outbox) = app.get("/api/v1/outbox?status=blocked").await;
    let blocked: Vec<&Value> = outbox["messages"]
        .as_array()
        .map(|m| m.iter().collect())
        .unwrap_or_default();
    assert_eq!(blocked.len(), 1, "{outbox}");
}

async fn a_sender_rate_limit_spaces_the_messages_out(app: &TestApp) {
    let rate: SendRate = "1/s".parse().unwrap();
    let engine = engine_with(app, |s| s.rates.sms = Some(rate));
    for (n, id) in ["r1", "r2", "r3"].into_iter().enumerate() {
        let start = format!("2026-03-{}T14:00:00Z", 20 + n);
        book_at(app, "2026-03-02T15:00:00Z", id, &start).await;
    }
    assert_eq!(texts_sent(app, &engine).await.len(), 1);
    let waiting: Vec<String> = [
        reasons_about(app, "r1").await,
        reasons_about(app, "r2").await,
        reasons_about(app, "r3").await,
    ]
    .concat();
    assert_eq!(waiting, ["sender rate limit (1/s)"; 2], "{waiting:?}");
    // One more each second, none twice.
    app.clock.set("2026-03-02T15:00:01Z".parse().unwrap());
    assert_eq!(texts_sent(app, &engine).await.len(), 1);
    app.clock.set("2026-03-02T15:00:02Z".parse().unwrap());
    assert_eq!(texts_sent(app, &engine).await.len(), 1);
    app.clock.set("2026-03-02T15:00:10Z".parse().unwrap());
    assert_eq!(texts_sent(app, &engine).await, Vec::<String>::new());
}
