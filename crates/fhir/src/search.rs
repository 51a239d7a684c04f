//! FHIR search parameters to a store search.
//!
//! Repeated parameters must all hold (AND); comma-separated values are alternatives (OR).
//! Parameters the server does not know are ignored and reported, as FHIR asks, unless the
//! client sent `Prefer: handling=strict`.

use careloop_domain::ResourceId;
use careloop_domain::{EmailAddress, PhoneNumber};
use careloop_store::model::{Search, Sort, Term, TermFilter};
use jiff::Timestamp;

use crate::appointment;
use crate::date_param::{DatePrefix, DateRange};
use crate::identifier;
use crate::outcome::{FhirError, IssueCode};
use crate::patient::{EMAIL, PHONE};
use crate::reference::search_id;
use crate::resource::{Context, ResourceType};

/// The most parameters, and comma-separated values in all, one search may have: far
/// beyond what an EHR sends, far below what strains the database.
const MAX_PARAMS: usize = 30;
const MAX_VALUES: usize = 200;

/// `_count` when none is given, and the most one page may hold.
pub const DEFAULT_COUNT: u32 = 50;
pub const MAX_COUNT: u32 = 500;

/// A parsed search, with what the bundle's `self` link and warnings need.
pub struct SearchRequest {
    pub search: Search,
    /// The parameters that were used, in order, for the `self` link.
    pub used: Vec<(String, String)>,
    /// Parameters that were not understood and so not applied.
    pub ignored: Vec<String>,
}

/// Search values may be phone numbers or emails: only the parameter names are printed.
impl std::fmt::Debug for SearchRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let used: Vec<&str> = self.used.iter().map(|(name, _)| name.as_str()).collect();
        f.debug_struct("SearchRequest")
            .field("search", &self.search)
            .field("used", &used)
            .field("ignored", &self.ignored)
            .finish()
    }
}

/// The search parameters each resource type supports, for the CapabilityStatement.
pub fn supported(
    resource_type: ResourceType,
) -> &'static [(&'static str, &'static str, &'static str)] {
    const ID: (&str, &str, &str) = (
        "_id",
        "token",
        "The logical id; comma-separated ids are alternatives",
    );
    const IDENTIFIER: (&str, &str, &str) = (
        "identifier",
        "token",
        "An identifier: value, system|value, |value or system|",
    );
    match resource_type {
        ResourceType::Patient => &[
            ID,
            IDENTIFIER,
            (
                "telecom",
                "token",
                "A phone number or an email address, optionally prefixed by phone| or email|",
            ),
            ("phone", "token", "A phone number, matched in E.164 form"),
            (
                "name",
                "string",
                "One whole word of a name, given or family, without regard to case or accents",
            ),
            (
                "email",
                "token",
                "An email address, matched case-insensitively",
            ),
        ],
        ResourceType::Appointment => &[
            ID,
            IDENTIFIER,
            (
                "patient",
                "reference",
                "The patient taking part: Patient/id or id",
            ),
            ("actor", "reference", "Any participant: Type/id"),
            ("practitioner", "reference", "The practitioner taking part"),
            ("location", "reference", "The location"),
            ("status", "token", "The appointment status"),
            (
                "date",
                "date",
                "The start, with the prefixes eq, lt, le, gt, ge, sa, eb",
            ),
        ],
        ResourceType::Practitioner | ResourceType::Location => &[ID, IDENTIFIER],
        ResourceType::Communication => &[
            ID,
            (
                "patient",
                "reference",
                "The patient it was sent to or came from",
            ),
            ("subject", "reference", "The same as patient"),
            (
                "status",
                "token",
                "preparation, in-progress, completed or not-done",
            ),
            (
                "medium",
                "token",
                "SMSWRIT (text message) or EMAILWRIT (email)",
            ),
            (
                "about",
                "reference",
                "The appointment it is about: Appointment/id",
            ),
            (
                "based-on",
                "reference",
                "The request it fulfils: CommunicationRequest/id",
            ),
        ],
        ResourceType::Task => &[
            ID,
            ("patient", "reference", "The patient it is for"),
            ("subject", "reference", "The same as patient"),
            ("status", "token", "requested, in-progress, completed, ..."),
            (
                "focus",
                "reference",
                "The appointment it is about: Appointment/id",
            ),
        ],
        ResourceType::Consent => &[
            ID,
            ("patient", "reference", "The patient it is for"),
            ("status", "token", "active, inactive, ..."),
        ],
        ResourceType::CommunicationRequest => &[
            ID,
            IDENTIFIER,
            ("patient", "reference", "The patient the message is for"),
            ("subject", "reference", "The same as patient"),
            ("status", "token", "active, ..."),
        ],
    }
}

fn bad(diagnostics: String, param: &str) -> FhirError {
    FhirError::bad_request(IssueCode::Invalid, diagnostics).at(format!("http.{param}"))
}

pub fn parse(
    resource_type: ResourceType,
    params: &[(String, String)],
    context: &Context,
    strict: bool,
) -> Result<SearchRequest, FhirError> {
    let mut search = Search {
        resource_type: resource_type.as_str(),
        terms: Vec::new(),
        ids: Vec::new(),
        start_from: None,
        start_before: None,
        sort: match resource_type {
            ResourceType::Appointment => Sort::Start,
            _ => Sort::Created,
        },
        count: DEFAULT_COUNT,
        offset: 0,
    };
    check_cost(params)?;
    let mut used = Vec::new();
    let mut ignored = Vec::new();
    let mut range = DateRange::default();
    for (name, value) in params {
        let known = supported(resource_type).iter().any(|(p, _, _)| p == name);
        match name.as_str() {
            "_count" => search.count = number(name, value)?.min(MAX_COUNT),
            "_offset" => search.offset = number(name, value)?,
            "_format"
                if matches!(
                    value.as_str(),
                    "json" | "application/json" | "application/fhir+json"
                ) =>
            {
                continue;
            }
            "_id" => search.ids.extend(ids(value)?),
            "date" if known => range.add(&parse_date(value)?),
            _ if known => search
                .terms
                .push(term_filter(resource_type, name, value, context)?),
            _ if name.contains(':') && known_base(resource_type, name) => {
                return Err(bad(
                    format!("the modifier in '{name}' is not supported"),
                    name,
                ));
            }
            _ if strict => {
                return Err(bad(
                    format!("the search parameter '{name}' is not supported"),
                    name,
                ));
            }
            _ => {
                ignored.push(name.clone());
                continue;
            }
        }
        used.push((name.clone(), value.clone()));
    }
    (search.start_from, search.start_before) = (range.from, range.before);
    Ok(SearchRequest {
        search,
        used,
        ignored,
    })
}

/// Refuses searches whose size alone would make the database work hard (each value is
/// a hash and a bound parameter).
fn check_cost(params: &[(String, String)]) -> Result<(), FhirError> {
    let values: usize = params.iter().map(|(_, v)| v.split(',').count()).sum();
    if params.len() > MAX_PARAMS || values > MAX_VALUES {
        return Err(FhirError::bad_request(
            IssueCode::TooCostly,
            format!(
                "a search may have at most {MAX_PARAMS} parameters and {MAX_VALUES} values in all"
            ),
        ));
    }
    Ok(())
}

fn ids(value: &str) -> Result<Vec<ResourceId>, FhirError> {
    value
        .split(',')
        .map(|id| ResourceId::parse(id).map_err(|e| bad(format!("_id: {e}"), "_id")))
        .collect()
}

fn known_base(resource_type: ResourceType, name: &str) -> bool {
    let base = name.split(':').next().unwrap_or(name);
    supported(resource_type).iter().any(|(p, _, _)| *p == base)
}

fn number(name: &str, value: &str) -> Result<u32, FhirError> {
    value.parse().map_err(|_| {
        bad(
            format!("{name} must be a whole number, got '{value}'"),
            name,
        )
    })
}

fn parse_date(value: &str) -> Result<(DatePrefix, Timestamp, Timestamp), FhirError> {
    crate::date_param::parse(value).map_err(|e| bad(format!("date '{value}': {e}"), "date"))
}

fn term_filter(
    resource_type: ResourceType,
    name: &str,
    value: &str,
    context: &Context,
) -> Result<TermFilter, FhirError> {
    let any_of: Vec<Term> = value
        .split(',')
        .map(|alternative| {
            term(resource_type, name, alternative, context)
                .map(|(param, value)| Term { param, value })
        })
        .collect::<Result<_, _>>()?;
    // The messages careloop sends are searched by their outbox rows as well.
    let or_sent = match (resource_type, any_of.first()) {
        (ResourceType::Communication, Some(first)) => {
            let values: Vec<&str> = any_of.iter().map(|t| t.value.as_str()).collect();
            crate::communication::sent_filter(first.param, &values)
        }
        _ => None,
    };
    Ok(TermFilter { any_of, or_sent })
}

/// The term one search value looks up.
fn term(
    resource_type: ResourceType,
    name: &str,
    value: &str,
    context: &Context,
) -> Result<(&'static str, String), FhirError> {
    let phone = |v: &str| {
        PhoneNumber::parse(v, context.region)
            .map(|n| (PHONE, n.lookup_key().to_owned()))
            .map_err(|e| {
                bad(
                    format!("{name}: the value is not a phone number: {e}"),
                    name,
                )
            })
    };
    let email = |v: &str| {
        EmailAddress::parse(v)
            .map(|e| (EMAIL, e.as_str().to_owned()))
            .map_err(|e| bad(format!("{name}: the value is {e}"), name))
    };
    let typed = match resource_type {
        ResourceType::Communication => crate::communication::search_param(name),
        ResourceType::Task => crate::task::search_param(name),
        ResourceType::Consent => crate::consent::search_param(name),
        ResourceType::CommunicationRequest => crate::communication_request::search_param(name),
        _ => None,
    };
    if let Some((param, referenced)) = typed {
        let value = match referenced {
            Some(resource_type) => search_id(value, resource_type),
            None => value,
        };
        return Ok((param, value.to_owned()));
    }
    Ok(match name {
        "identifier" => identifier::search_term(value),
        "phone" => phone(value)?,
        "email" => email(value)?,
        "name" if resource_type == ResourceType::Patient => {
            match careloop_domain::words::words(value).as_slice() {
                [word] => (crate::patient::NAME, word.clone()),
                _ => {
                    return Err(bad(
                        format!("{name}: one word at a time; repeat {name}= for more"),
                        name,
                    ));
                }
            }
        }
        "telecom" => match value.split_once('|') {
            Some(("phone" | "sms", v)) => phone(v)?,
            Some(("email", v)) => email(v)?,
            Some((system, _)) => {
                return Err(bad(
                    format!("telecom system '{system}' is not searchable; use phone or email"),
                    name,
                ));
            }
            None if value.contains('@') => email(value)?,
            None => phone(value)?,
        },
        "patient" => (appointment::PATIENT, search_id(value, "Patient").to_owned()),
        "practitioner" => (
            appointment::PRACTITIONER,
            search_id(value, "Practitioner").to_owned(),
        ),
        "location" => (
            appointment::LOCATION,
            search_id(value, "Location").to_owned(),
        ),
        "actor" => (appointment::ACTOR, value.to_owned()),
        "status" => (appointment::STATUS, value.to_owned()),
        _ => {
            return Err(bad(
                format!(
                    "{name} is not a search parameter of {}",
                    resource_type.as_str()
                ),
                name,
            ));
        }
    })
}
