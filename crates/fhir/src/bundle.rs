//! Bundles the server answers with: search results (`searchset`) and the response to a
//! transaction (`transaction-response`).

use serde_json::{Value, json};

/// One page of search results.
pub struct SearchPage<'a> {
    /// The FHIR base URL.
    pub base: &'a str,
    pub resource_type: &'a str,
    pub resources: Vec<Value>,
    pub total: u64,
    pub used: &'a [(String, String)],
    pub ignored: &'a [String],
    pub count: u32,
    pub offset: u32,
}

fn link(page: &SearchPage<'_>, offset: u32) -> String {
    let mut query = form_encode(
        page.used
            .iter()
            .filter(|(k, _)| k != "_count" && k != "_offset"),
    );
    if !query.is_empty() {
        query.push('&');
    }
    query.push_str(&format!("_count={}&_offset={offset}", page.count));
    format!("{}/{}?{query}", page.base, page.resource_type)
}

fn form_encode<'a>(pairs: impl Iterator<Item = &'a (String, String)>) -> String {
    pairs
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// Percent-encodes a query component (RFC 3986 unreserved characters stay).
fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

pub fn searchset(page: SearchPage<'_>) -> Value {
    let mut links = vec![json!({"relation": "self", "url": link(&page, page.offset)})];
    let next = u64::from(page.offset) + u64::from(page.count);
    if page.count > 0 && next < page.total {
        links.push(json!({"relation": "next", "url": link(&page, u32::try_from(next).unwrap_or(u32::MAX))}));
    }
    if page.offset > 0 {
        links.push(json!({"relation": "previous", "url": link(&page, page.offset.saturating_sub(page.count))}));
    }
    let mut entries: Vec<Value> = page
        .resources
        .iter()
        .map(|resource| {
            let id = resource
                .get("id")
                .and_then(Value::as_str)
                .unwrap_or_default();
            json!({
                "fullUrl": format!("{}/{}/{id}", page.base, page.resource_type),
                "resource": resource,
                "search": {"mode": "match"},
            })
        })
        .collect();
    if !page.ignored.is_empty() {
        entries.push(json!({
            "resource": {
                "resourceType": "OperationOutcome",
                "issue": [{
                    "severity": "warning",
                    "code": "not-supported",
                    "diagnostics": format!("these search parameters are not supported and were ignored: {}", page.ignored.join(", ")),
                }]
            },
            "search": {"mode": "outcome"},
        }));
    }
    json!({
        "resourceType": "Bundle",
        "type": "searchset",
        "total": page.total,
        "link": links,
        "entry": entries,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paging_links() {
        let used = vec![
            ("date".to_owned(), "ge2026-01-01".to_owned()),
            ("_count".to_owned(), "2".to_owned()),
        ];
        let bundle = searchset(SearchPage {
            base: "http://h/fhir",
            resource_type: "Appointment",
            resources: vec![json!({"resourceType": "Appointment", "id": "a"})],
            total: 5,
            used: &used,
            ignored: &[],
            count: 2,
            offset: 2,
        });
        assert_eq!(
            bundle["link"][0]["url"],
            "http://h/fhir/Appointment?date=ge2026-01-01&_count=2&_offset=2"
        );
        assert_eq!(bundle["link"][1]["relation"], "next");
        assert_eq!(
            bundle["link"][1]["url"],
            "http://h/fhir/Appointment?date=ge2026-01-01&_count=2&_offset=4"
        );
        assert_eq!(
            bundle["link"][2]["url"],
            "http://h/fhir/Appointment?date=ge2026-01-01&_count=2&_offset=0"
        );
        assert_eq!(bundle["entry"][0]["fullUrl"], "http://h/fhir/Appointment/a");
        assert_eq!(bundle["total"], 5);
    }
}
