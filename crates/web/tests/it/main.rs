//! The web crate's integration tests: the real router over real sockets, on SQLite and on
//! PostgreSQL (when `CARELOOP_TEST_POSTGRES_URL` is set).

#![expect(
    clippy::unwrap_used,
    reason = "a step that fails should fail its test loudly"
)]

mod harness;

mod admin_figures;
mod api_inbox;
mod appointments;
mod audit;
mod bad_input;
mod browser;
mod email_inbound;
mod encryption;
mod events;
mod fake_twilio;
mod fhir_basics;
mod fhir_options;
mod gates;
mod inbox;
mod inbox_login;
mod inbox_panel;
mod logs;
mod messaging;
mod operations;
mod patients;
mod replies;
mod requests;
mod staff;
mod tokens;
mod transactions;
mod triage;
mod twilio;
mod versioning;
mod webdriver;
