//! `POST /fhir` with a transaction Bundle: every entry or none. Entries may refer to each
//! other by `fullUrl` (`urn:uuid:...`); those references are rewritten to the ids the
//! server assigns before anything is validated.

use std::collections::{HashMap, HashSet};

use careloop_domain::{OrgId, ResourceId};
use careloop_store::crypto::new_resource_id;
use careloop_store::{Change, Expect, NewVersion, Search};
use serde_json::{Value, json};

use crate::json::Obj;
use crate::meta;
use crate::outcome::{FhirError, IssueCode};
use crate::resource::{ResourceType, check_type};
use crate::service::{
    Existing, FhirService, Versioned, check_body_id, expectation, path_id, store_error, versioned,
};

#[derive(Clone, Copy, PartialEq, Eq)]
enum Method {
    Delete,
    Post,
    Put,
}

struct Entry {
    path: String,
    method: Method,
    resource_type: ResourceType,
    id: ResourceId,
    body: Option<Value>,
    expect: Expect,
    /// An `ifNoneExist` that matched: nothing to write, answer with this.
    existing: Option<Versioned>,
}

fn bad(path: &str, diagnostics: String) -> FhirError {
    FhirError::bad_request(IssueCode::Invalid, diagnostics).at(path)
}

/// Moves an error about an entry's resource under the entry's path.
fn in_entry(mut error: FhirError, path: &str) -> FhirError {
    let inner = error
        .expression
        .as_deref()
        .and_then(|e| e.split_once('.'))
        .map(|(_, rest)| rest.to_owned());
    error.expression = Some(match inner {
        Some(rest) => format!("{path}.resource.{rest}"),
        None => format!("{path}.resource"),
    });
    error.diagnostics = format!("{path}: {}", error.diagnostics);
    error
}

impl FhirService {
    pub async fn transaction(&self, org: &OrgId, bundle: Value) -> Result<Value, FhirError> {
        check_bundle(&bundle)?;
        let root = Obj::new(&bundle, "Bundle")?;
        let mut entries = Vec::new();
        let mut full_urls: HashMap<String, String> = HashMap::new();
        let mut guards = Vec::new();
        for (path, item) in root.array("entry")? {
            let (entry, full_url) = self.read_entry(org, &path, item, &mut guards).await?;
            if let Some(full_url) = full_url {
                let target = match &entry.existing {
                    Some(found) => format!("{}/{}", found.resource_type.as_str(), found.id),
                    None => format!("{}/{}", entry.resource_type.as_str(), entry.id),
                };
                full_urls.insert(full_url, target);
            }
            entries.push(entry);
        }
        check_distinct(&entries)?;
        for entry in &mut entries {
            if let Some(body) = &mut entry.body {
                rewrite_references(body, &full_urls);
            }
        }
        let pending: HashSet<ResourceId> = entries
            .iter()
            .filter(|e| {
                e.resource_type == ResourceType::Patient && e.body.is_some() && e.existing.is_none()
            })
            .map(|e| e.id.clone())
            .collect();
        let mut changes: Vec<(usize, Change)> = Vec::new();
        for (i, entry) in entries.iter().enumerate() {
            if entry.existing.is_some() {
                continue;
            }
            let change = match &entry.body {
                Some(body) => {
                    let (version, expect): (NewVersion, Expect) = self
                        .prepare(
                            org,
                            entry.resource_type,
                            body.clone(),
                            &entry.id,
                            &pending,
                            entry.expect,
                        )
                        .await
                        .map_err(|e| in_entry(e, &entry.path))?;
                    Change::Put { version, expect }
                }
                None => Change::Delete {
                    resource_type: entry.resource_type.as_str(),
                    id: entry.id.clone(),
                    expect: entry.expect,
                    events: self
                        .removal_events(org, entry.resource_type, &entry.id)
                        .await?,
                },
            };
            changes.push((i, change));
        }
        // Deletes first (FHIR's order), then every patient written, whatever the method,
        // so that appointments written with them can be sealed under their keys.
        changes.sort_by_key(|(i, _)| {
            let entry = &entries[*i];
            (
                entry.method != Method::Delete,
                entry.resource_type != ResourceType::Patient,
                *i,
            )
        });
        // The conditions of conditional creates are checked again inside the write.
        let ordered: Vec<Change> = guards
            .into_iter()
            .map(Change::RequireNone)
            .chain(changes.iter().map(|(_, c)| c.clone()))
            .collect();
        let committed = self
            .store
            .commit(org, &ordered)
            .await
            .map_err(|e| store_error(e, "a resource of the transaction"))?;
        let mut responses: Vec<Value> = vec![Value::Null; entries.len()];
        for ((i, change), done) in changes.iter().zip(committed) {
            let entry = &entries[*i];
            responses[*i] = match change {
                Change::Put { version, .. } => {
                    let written = versioned(entry.resource_type, &version.body, done)?;
                    response_entry(
                        &written,
                        if written.created {
                            "201 Created"
                        } else {
                            "200 OK"
                        },
                    )
                }
                _ => json!({"response": {"status": "204 No Content"}}),
            };
        }
        for (i, entry) in entries.iter().enumerate() {
            if let Some(found) = &entry.existing {
                responses[i] = response_entry(found, "200 OK");
            }
        }
        Ok(json!({"resourceType": "Bundle", "type": "transaction-response", "entry": responses}))
    }

    async fn read_entry(
        &self,
        org: &OrgId,
        path: &str,
        item: &Value,
        guards: &mut Vec<Search>,
    ) -> Result<(Entry, Option<String>), FhirError> {
        let entry = Obj::new(item, path)?;
        let request_path = format!("{path}.request");
        let request = Obj::new(
            entry
                .get("request")
                .ok_or_else(|| bad(path, format!("{path} has no request")))?,
            &request_path,
        )?;
        let method = match request.str("method")? {
            Some("POST") => Method::Post,
            Some("PUT") => Method::Put,
            Some("DELETE") => Method::Delete,
            other => {
                return Err(bad(
                    &request_path,
                    format!(
                        "{request_path}.method {} is not supported in a transaction; use POST, PUT or DELETE",
                        other.unwrap_or("(missing)")
                    ),
                ));
            }
        };
        let url = request
            .str("url")?
            .ok_or_else(|| bad(&request_path, format!("{request_path}.url is required")))?;
        if url.contains('?') {
            return Err(bad(
                &request_path,
                format!("{request_path}.url: conditional updates and deletes are not supported"),
            ));
        }
        let (type_name, url_id) = match url.split_once('/') {
            Some((t, id)) => (t, Some(id)),
            None => (url, None),
        };
        let resource_type = ResourceType::parse(type_name).ok_or_else(|| {
            FhirError::not_found(format!(
                "{request_path}.url: resource type '{type_name}' is not supported"
            ))
        })?;
        resource_type
            .ensure_writable()
            .map_err(|e| e.at(format!("{request_path}.url")))?;
        let body = match method {
            Method::Delete => None,
            _ => {
                let body = entry
                    .get("resource")
                    .cloned()
                    .ok_or_else(|| bad(path, format!("{path} has no resource")))?;
                check_type(&body, resource_type).map_err(|e| in_entry(e, path))?;
                Some(body)
            }
        };
        let (id, expect, existing) = match (method, url_id) {
            (Method::Post, None) => {
                let (existing, guard) = match request.str("ifNoneExist")? {
                    Some(query) => match self.find_existing(org, resource_type, query).await? {
                        Existing::Found(found) => (Some(found), None),
                        Existing::None(condition) => (None, Some(condition)),
                    },
                    None => (None, None),
                };
                guards.extend(guard);
                (new_resource_id(), Expect::Absent, existing)
            }
            (Method::Put | Method::Delete, Some(id)) => {
                let id = path_id(resource_type, id)?;
                if let Some(body) = &body {
                    check_body_id(body, &id).map_err(|e| in_entry(e, path))?;
                }
                let expect = expectation(request.str("ifMatch")?).map_err(|e| FhirError {
                    expression: Some(format!("{request_path}.ifMatch")),
                    ..e
                })?;
                (id, expect, None)
            }
            _ => {
                return Err(bad(
                    &request_path,
                    format!("{request_path}.url '{url}' does not fit the method"),
                ));
            }
        };
        let full_url = entry.str("fullUrl")?.map(str::to_owned);
        Ok((
            Entry {
                path: path.to_owned(),
                method,
                resource_type,
                id,
                body,
                expect,
                existing,
            },
            full_url,
        ))
    }
}

/// FHIR forbids two entries of one transaction acting on the same resource.
fn check_distinct(entries: &[Entry]) -> Result<(), FhirError> {
    let mut seen: HashMap<(ResourceType, &ResourceId), &str> = HashMap::new();
    for entry in entries.iter().filter(|e| e.existing.is_none()) {
        if let Some(first) = seen.insert((entry.resource_type, &entry.id), &entry.path) {
            return Err(bad(
                &entry.path,
                format!(
                    "{first} and {} both change {}/{}; a transaction may change a resource once",
                    entry.path,
                    entry.resource_type.as_str(),
                    entry.id
                ),
            ));
        }
    }
    Ok(())
}

fn check_bundle(bundle: &Value) -> Result<(), FhirError> {
    match bundle.get("resourceType").and_then(Value::as_str) {
        Some("Bundle") => {}
        Some(other) => {
            return Err(FhirError::unprocessable(
                IssueCode::Invalid,
                format!("POST /fhir takes a Bundle, got {other}"),
            )
            .at("resourceType"));
        }
        None => {
            return Err(FhirError::bad_request(
                IssueCode::Structure,
                "POST /fhir takes a Bundle of type transaction",
            ));
        }
    }
    match bundle.get("type").and_then(Value::as_str) {
        Some("transaction") => Ok(()),
        other => Err(FhirError::unprocessable(
            IssueCode::NotSupported,
            format!(
                "Bundle.type must be transaction, got {}",
                other.unwrap_or("nothing")
            ),
        )
        .at("Bundle.type")),
    }
}

fn response_entry(written: &Versioned, status: &str) -> Value {
    json!({
        "fullUrl": format!("{}/{}", written.resource_type.as_str(), written.id),
        "resource": written.resource,
        "response": {
            "status": status,
            "location": written.location(),
            "etag": meta::etag(written.version),
            "lastModified": meta::instant(written.last_updated),
        }
    })
}

/// Replaces every `reference` that names a bundle entry by its `fullUrl`.
fn rewrite_references(value: &mut Value, full_urls: &HashMap<String, String>) {
    match value {
        Value::Object(map) => {
            for (key, child) in map.iter_mut() {
                match child {
                    Value::String(reference) if key == "reference" => {
                        if let Some(target) = full_urls.get(reference.as_str()) {
                            *reference = target.clone();
                        }
                    }
                    _ => rewrite_references(child, full_urls),
                }
            }
        }
        Value::Array(items) => items
            .iter_mut()
            .for_each(|item| rewrite_references(item, full_urls)),
        _ => {}
    }
}
