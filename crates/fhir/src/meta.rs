//! `meta.versionId` and `meta.lastUpdated` belong to the server: they are stripped from
//! what a client sends and set on what it gets back. The rest of `meta` (profiles, tags,
//! security labels) is the client's and round-trips.

use careloop_domain::ResourceId;
use jiff::Timestamp;
use serde_json::{Map, Value, json};

/// Prepares a client's resource for storage: sets its id and drops server-owned meta.
pub fn prepare(body: &mut Value, id: &ResourceId) {
    let Value::Object(map) = body else {
        return;
    };
    map.insert("id".into(), Value::String(id.as_str().to_owned()));
    if let Some(Value::Object(meta)) = map.get_mut("meta") {
        meta.remove("versionId");
        meta.remove("lastUpdated");
        if meta.is_empty() {
            map.remove("meta");
        }
    }
}

/// Adds the server-owned meta to a stored resource.
pub fn stamp(body: &mut Value, version: u32, last_updated: Timestamp) {
    let Value::Object(map) = body else {
        return;
    };
    let meta = map
        .entry("meta")
        .or_insert_with(|| Value::Object(Map::new()));
    if let Value::Object(meta) = meta {
        meta.insert("versionId".into(), json!(version.to_string()));
        meta.insert("lastUpdated".into(), json!(instant(last_updated)));
    }
}

/// A FHIR `instant` in UTC with millisecond precision.
pub fn instant(at: Timestamp) -> String {
    at.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

/// The weak ETag of a version: `W/"3"`.
pub fn etag(version: u32) -> String {
    format!("W/\"{version}\"")
}

/// Reads a version out of an `If-Match` value (`W/"3"`, `"3"` or `3`).
pub fn parse_etag(raw: &str) -> Option<u32> {
    let raw = raw.trim();
    let raw = raw.strip_prefix("W/").unwrap_or(raw);
    raw.trim_matches('"').parse().ok()
}

/// An HTTP date for `Last-Modified`.
pub fn http_date(at: Timestamp) -> String {
    at.strftime("%a, %d %b %Y %H:%M:%S GMT").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_meta_is_replaced_and_client_meta_kept() {
        let mut body = json!({"resourceType": "Patient", "id": "x", "meta": {"versionId": "9", "profile": ["p"]}});
        prepare(&mut body, &ResourceId::parse("y").unwrap());
        assert_eq!(
            body,
            json!({"resourceType": "Patient", "id": "y", "meta": {"profile": ["p"]}})
        );
        stamp(&mut body, 2, "2026-03-01T09:00:00.5Z".parse().unwrap());
        assert_eq!(
            body["meta"],
            json!({"profile": ["p"], "versionId": "2", "lastUpdated": "2026-03-01T09:00:00.500Z"})
        );
    }

    #[test]
    fn etags() {
        assert_eq!(etag(3), "W/\"3\"");
        for raw in ["W/\"3\"", "\"3\"", "3"] {
            assert_eq!(parse_etag(raw), Some(3));
        }
        assert_eq!(parse_etag("W/\"x\""), None);
        assert_eq!(
            http_date("2026-03-01T09:00:00Z".parse().unwrap()),
            "Sun, 01 Mar 2026 09:00:00 GMT"
        );
    }
}
