//! `GET /fhir/metadata`: the CapabilityStatement, listing exactly what this server does.

use jiff::Timestamp;
use serde_json::{Value, json};

use crate::meta::instant;
use crate::resource::ResourceType;
use crate::search::supported;

fn interactions(resource_type: ResourceType) -> Value {
    if resource_type.client_writable() {
        json!([
            {"code": "read"}, {"code": "create"}, {"code": "update"},
            {"code": "delete"}, {"code": "search-type"}
        ])
    } else if resource_type.client_creatable() {
        json!([{"code": "read"}, {"code": "create"}, {"code": "search-type"}])
    } else {
        json!([{"code": "read"}, {"code": "search-type"}])
    }
}

/// Builds the statement. `base` is the FHIR base URL, `started` when this server started.
pub fn statement(base: &str, version: &str, started: Timestamp) -> Value {
    let resources: Vec<Value> = ResourceType::ALL
        .into_iter()
        .map(|resource_type| {
            let search_params: Vec<Value> = supported(resource_type)
                .iter()
                .map(|(name, kind, doc)| json!({"name": name, "type": kind, "documentation": doc}))
                .collect();
            let mut resource = json!({
                "type": resource_type.as_str(),
"interaction": interactions(resource_type),
                "versioning": "versioned-update",
                "readHistory": false,
                "updateCreate": resource_type.client_writable(),
                "conditionalCreate": resource_type.client_creatable(),
                "conditionalRead": "not-supported",
                "conditionalUpdate": false,
                "conditionalDelete": "not-supported",
                "searchParam": search_params,
            });
            if resource_type == ResourceType::Patient {
                resource["documentation"] = json!(
                    "DELETE with ?_erase=true removes the patient, their appointments and their data key for good."
                );
            }
            resource
        })
        .collect();
    json!({
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": instant(started),
        "publisher": "careloop",
        "kind": "instance",
        "software": {"name": "careloop", "version": version},
        "implementation": {"description": "careloop patient engagement engine", "url": base},
        "fhirVersion": "4.0.1",
        "format": ["application/fhir+json", "json"],
        "rest": [{
            "mode": "server",
            "security": {
                "cors": false,
                "description": "Send 'Authorization: Bearer <token>' on every request but this one."
            },
            "resource": resources,
            "interaction": [{"code": "transaction"}],
        }],
    })
}
