//! `Identifier` elements (an MRN, a booking number) and the token-search terms they give.
//!
//! FHIR token search has four forms, each backed by one term:
//! `value` (any system), `system|value`, `|value` (no system) and `system|` (any value).

use careloop_domain::Identifier;
use careloop_store::model::Term;

use crate::json::Obj;
use crate::outcome::FhirError;

pub const PARAM: &str = "identifier";
/// Term parameters behind the token forms.
pub const BY_VALUE: &str = "identifier:value";
pub const BY_SYSTEM: &str = "identifier:system";

/// The identifiers of a resource; ones without a value are skipped (FHIR allows them).
pub fn parse(resource: &Obj<'_>) -> Result<Vec<Identifier>, FhirError> {
    let mut out = Vec::new();
    for (path, item) in resource.array("identifier")? {
        let identifier = Obj::new(item, &path)?;
        let system = identifier.str("system")?;
        if let Some(value) = identifier.str("value")? {
            out.push(Identifier {
                system: system.map(str::to_owned),
                value: value.to_owned(),
            });
        }
    }
    Ok(out)
}

pub fn terms(identifiers: &[Identifier]) -> Vec<Term> {
    let mut terms = Vec::new();
    for identifier in identifiers {
        let system = identifier.system.as_deref().unwrap_or("");
        terms.push(Term {
            param: PARAM,
            value: format!("{system}|{}", identifier.value),
        });
        terms.push(Term {
            param: BY_VALUE,
            value: identifier.value.clone(),
        });
        if !system.is_empty() {
            terms.push(Term {
                param: BY_SYSTEM,
                value: system.to_owned(),
            });
        }
    }
    terms
}

/// The term a token search value (`system|value`, `value`, `|value`, `system|`) looks up.
pub fn search_term(token: &str) -> (&'static str, String) {
    match token.split_once('|') {
        None => (BY_VALUE, token.to_owned()),
        Some((system, "")) if !system.is_empty() => (BY_SYSTEM, system.to_owned()),
        Some((system, value)) => (PARAM, format!("{system}|{value}")),
    }
}
