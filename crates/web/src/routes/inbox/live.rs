//! `GET /inbox/events`: server-sent events that tell a signed-in page a conversation
//! changed (a message arrived or went, someone acted), so it fetches itself again. On
//! PostgreSQL they cross processes through `LISTEN/NOTIFY`. An event names only the
//! patient's opaque id; the page it makes the browser fetch checks who may see what.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use careloop_store::micros;
use futures_util::stream;
use tokio::sync::broadcast::error::RecvError;

use super::login::signed_in;
use crate::state::AppState;

/// `GET /inbox/events`: until the session ends.
pub async fn events(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let session = match signed_in(&state, &headers).await {
        Ok(Some((session, _))) => session,
        Ok(None) => return StatusCode::UNAUTHORIZED.into_response(),
        Err(response) => return response,
    };
    let changes = state.store.watch_conversations();
    let store = state.store.clone();
    let stream = stream::unfold(changes, move |mut changes| {
        let store = store.clone();
        let expires_us = session.expires_us;
        async move {
            let event = match changes.recv().await {
                Ok(patient) => Event::default().event("conversation").data(patient),
                // Fell behind: the page catches up all at once.
                Err(RecvError::Lagged(_)) => Event::default().event("conversation").data("*"),
                Err(RecvError::Closed) => return None,
            };
            // A session that ended ends its stream at the next change.
            if micros(store.now()) >= expires_us {
                return None;
            }
            Some((Ok::<_, Infallible>(event), changes))
        }
    });
    Sse::new(stream)
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(20)))
        .into_response()
}
