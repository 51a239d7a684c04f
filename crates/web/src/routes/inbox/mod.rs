//! `/inbox`: the staff's pages. Server-rendered HTML; a session cookie (HttpOnly,
//! SameSite=Strict, Secure when careloop is reached over https) once signed in, and a
//! token against cross-site requests in every form that changes anything.

mod cookies;
mod login;
mod pages;

use axum::Router;
use axum::routing::{get, post};

use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(pages::home))
        .route("/login", get(login::form).post(login::submit))
        .route("/logout", post(login::logout))
        .route("/inbox.css", get(pages::stylesheet))
}
