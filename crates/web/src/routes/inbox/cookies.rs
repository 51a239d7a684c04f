//! The inbox's cookies: read from a request, set and cleared on a response.

use axum::http::HeaderMap;
use axum::http::header::COOKIE;

/// The signed-in session's token.
pub const SESSION: &str = "careloop_session";
/// The token a login form carries, before there is a session to hold one.
pub const LOGIN: &str = "careloop_login";

/// The value of cookie `name` in a request, if it sent one.
pub fn read<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
}

/// A `Set-Cookie` value: only for the inbox's paths, unreadable by scripts, never sent
/// along with another site's request, and over https only when careloop is served so.
pub fn set(name: &str, value: &str, max_age_secs: i64, secure: bool) -> String {
    format!(
        "{name}={value}; Path=/inbox; Max-Age={max_age_secs}; HttpOnly; SameSite=Strict{}",
        if secure { "; Secure" } else { "" }
    )
}

/// A `Set-Cookie` value that removes the cookie.
pub fn clear(name: &str, secure: bool) -> String {
    set(name, "", 0, secure)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn a_cookie_is_found_among_others_and_set_with_its_guards() {
        let mut headers = HeaderMap::new();
        headers.append(
            COOKIE,
            HeaderValue::from_static("a=1; careloop_session=tok"),
        );
        headers.append(COOKIE, HeaderValue::from_static("careloop_login=x"));
        assert_eq!(read(&headers, SESSION), Some("tok"));
        assert_eq!(read(&headers, LOGIN), Some("x"));
        assert_eq!(read(&headers, "careloop"), None);
        assert_eq!(
            set(SESSION, "tok", 60, true),
            "careloop_session=tok; Path=/inbox; Max-Age=60; HttpOnly; SameSite=Strict; Secure"
        );
        assert!(!clear(SESSION, false).contains("Secure"));
        assert!(clear(SESSION, false).contains("Max-Age=0"));
    }
}
