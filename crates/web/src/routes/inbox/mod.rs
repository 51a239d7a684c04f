//! `/inbox`: the staff's pages. Server-rendered HTML; a session cookie (HttpOnly,
//! SameSite=Strict, Secure when careloop is reached over https) once signed in, and a
//! token against cross-site requests in every form that changes anything.

mod access;
mod admin;
mod conversation;
mod cookies;
mod figures;
mod forms;
mod live;
mod login;
mod pages;
mod queue;

use axum::Router;
use axum::routing::{get, post};

pub(crate) use conversation::may_take;

use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(queue::queue))
        .route("/c/{patient}", get(conversation::view))
        .route("/c/{patient}/act", post(conversation::act))
        .route("/c/{patient}/reply", post(conversation::reply))
        .route("/login", get(login::form).post(login::submit))
        .route("/logout", post(login::logout))
        .route("/events", get(live::events))
        .route("/figures", get(figures::figures))
        .route("/admin", get(admin::view).post(admin::change))
        .route("/inbox.css", get(pages::stylesheet))
        .route("/inbox.js", get(pages::script))
}
