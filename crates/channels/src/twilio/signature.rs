//! `X-Twilio-Signature`: base64 of HMAC-SHA1, keyed by the account's auth token, over the
//! URL Twilio requested followed by every form parameter as `name` + `value`, names
//! sorted bytewise and, for a repeated name, values sorted too. Validators accept the URL
//! with and without the scheme's default port, as Twilio may sign either.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use hmac::{Hmac, Mac};
use sha1::Sha1;
use subtle::ConstantTimeEq;

/// The signature Twilio sends for a form-encoded request to `url`.
pub fn sign(auth_token: &str, url: &str, params: &[(String, String)]) -> String {
    let mut sorted: Vec<(&str, &str)> = params
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    sorted.sort_unstable();
    // HMAC takes keys of any length.
    let Ok(mut mac) = Hmac::<Sha1>::new_from_slice(auth_token.as_bytes()) else {
        unreachable!("HMAC accepts keys of every length")
    };
    mac.update(url.as_bytes());
    for (name, value) in sorted {
        mac.update(name.as_bytes());
        mac.update(value.as_bytes());
    }
    BASE64.encode(mac.finalize().into_bytes())
}

/// Whether `signature` is Twilio's for this request.
pub fn verify(auth_token: &str, url: &str, params: &[(String, String)], signature: &str) -> bool {
    url_variants(url).iter().any(|candidate| {
        bool::from(
            sign(auth_token, candidate, params)
                .as_bytes()
                .ct_eq(signature.as_bytes()),
        )
    })
}

/// The URL as given, and with its default port added or removed.
fn url_variants(url: &str) -> Vec<String> {
    let mut variants = vec![url.to_owned()];
    for (scheme, port) in [("https://", ":443"), ("http://", ":80")] {
        let Some(rest) = url.strip_prefix(scheme) else {
            continue;
        };
        let host_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let (host, tail) = rest.split_at(host_end);
        match host.strip_suffix(port) {
            Some(bare) => variants.push(format!("{scheme}{bare}{tail}")),
            None if !host.contains(':') => variants.push(format!("{scheme}{host}{port}{tail}")),
            None => {}
        }
    }
    variants
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_ports_are_tried_both_ways() {
        assert_eq!(
            url_variants("https://example.org/hook?x=1"),
            [
                "https://example.org/hook?x=1",
                "https://example.org:443/hook?x=1"
            ]
        );
        assert_eq!(
            url_variants("https://example.org:443/hook"),
            ["https://example.org:443/hook", "https://example.org/hook"]
        );
        assert_eq!(
            url_variants("http://127.0.0.1:8080/hook"),
            ["http://127.0.0.1:8080/hook"]
        );
    }
}
