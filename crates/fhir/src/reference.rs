//! FHIR references between resources: `Patient/123` is local; `urn:uuid:...` points into
//! a transaction bundle (resolved before validation); anything else is external.

use careloop_domain::ResourceId;
use careloop_domain::appointment::ActorRef;

/// Reads a local reference (`Patient/123`, `Patient/123/_history/2`). External URLs,
/// contained (`#x`) and logical references give `None`.
pub fn parse_local(reference: &str) -> Option<ActorRef> {
    if reference.contains("://") || reference.starts_with('#') || reference.starts_with("urn:") {
        return None;
    }
    let mut parts = reference.split('/');
    let resource_type = parts.next()?;
    let id = parts.next()?;
    match (parts.next(), parts.next(), parts.next()) {
        (None, _, _) | (Some("_history"), Some(_), None) => {}
        _ => return None,
    }
    let starts_upper = resource_type
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_uppercase());
    if !starts_upper || !resource_type.chars().all(|c| c.is_ascii_alphabetic()) {
        return None;
    }
    Some(ActorRef {
        resource_type: resource_type.to_owned(),
        id: ResourceId::parse(id).ok()?,
    })
}

/// The id a search value for a reference parameter names: `Patient/123` or `123`.
pub fn search_id<'a>(value: &'a str, resource_type: &str) -> &'a str {
    value
        .strip_prefix(resource_type)
        .and_then(|rest| rest.strip_prefix('/'))
        .unwrap_or(value)
}

/// A search term for the reference at `pointer` in `resource` (`/subject/reference`),
/// when it names a `resource_type`: the bare id, as reference searches look it up.
pub fn reference_term(
    resource: &serde_json::Value,
    pointer: &str,
    resource_type: &str,
    param: &'static str,
) -> Option<careloop_store::model::Term> {
    let reference = resource.pointer(pointer)?.as_str()?;
    let id = reference.strip_prefix(resource_type)?.strip_prefix('/')?;
    Some(careloop_store::model::Term {
        param,
        value: id.to_owned(),
    })
}

/// A search term for a code at `pointer` in `resource` (`/status`).
pub fn code_term(
    resource: &serde_json::Value,
    pointer: &str,
    param: &'static str,
) -> Option<careloop_store::model::Term> {
    Some(careloop_store::model::Term {
        param,
        value: resource.pointer(pointer)?.as_str()?.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_references() {
        let r = parse_local("Patient/example").unwrap();
        assert_eq!(
            (r.resource_type.as_str(), r.id.as_str()),
            ("Patient", "example")
        );
        assert!(parse_local("Patient/1/_history/2").is_some());
        assert!(parse_local("http://other.example/fhir/Patient/1").is_none());
        assert!(parse_local("urn:uuid:61ebe359-bfdc-4613-8bf2-c5e300945f0a").is_none());
        assert!(parse_local("#contained").is_none());
        assert!(parse_local("Patient").is_none());
        assert!(parse_local("patient/1").is_none());
    }

    #[test]
    fn search_ids() {
        assert_eq!(search_id("Patient/1", "Patient"), "1");
        assert_eq!(search_id("1", "Patient"), "1");
    }
}
