//! FHIR `Patient` to the careloop model, with the checks an EHR's feed must pass: phone
//! numbers that are phone numbers, an IANA time zone, a BCP 47 language.

use careloop_domain::contact::{BadEmail, ContactAddress};
use careloop_domain::locale::BadLocale;
use careloop_domain::patient::PartialDate;
use careloop_domain::{
    ContactChannel, ContactPoint, EmailAddress, IanaZone, Locale, Patient, PersonName, PhoneNumber,
    ResourceId,
};
use careloop_store::model::Term;
use serde_json::Value;

use crate::identifier;
use crate::json::Obj;
use crate::outcome::{FhirError, IssueCode};
use crate::resource::Context;

/// The core extension that carries a patient's IANA time zone.
pub const TZ_EXTENSION: &str = "http://hl7.org/fhir/StructureDefinition/tz-code";

pub const PHONE: &str = "phone";
pub const EMAIL: &str = "email";
/// Each word of each name, as [`careloop_domain::words`] compares words.
pub const NAME: &str = "name";

fn invalid(path: &str, diagnostics: String) -> FhirError {
    FhirError::unprocessable(IssueCode::Value, diagnostics).at(path)
}

/// Reads a Patient resource into the model. The resource has been checked to be a
/// `Patient` object.
pub fn from_fhir(body: &Value, context: &Context) -> Result<Patient, FhirError> {
    let resource = Obj::new(body, "Patient")?;
    Ok(Patient {
        id: parse_id(&resource)?,
        active: resource.bool("active")?.unwrap_or(true),
        names: names(&resource)?,
        birth_date: birth_date(&resource)?,
        identifiers: identifier::parse(&resource)?,
        contacts: contacts(&resource, context)?,
        zone: zone(&resource)?,
        language: language(&resource)?,
    })
}

/// The id in the body (the service sets it before validating).
pub(crate) fn parse_id(resource: &Obj<'_>) -> Result<ResourceId, FhirError> {
    let id = resource.str("id")?.ok_or_else(|| {
        FhirError::bad_request(IssueCode::Required, "the resource has no id")
            .at(resource.path("id"))
    })?;
    ResourceId::parse(id).map_err(|e| {
        FhirError::bad_request(IssueCode::Value, format!("id '{id}' is not a FHIR id: {e}"))
            .at(resource.path("id"))
    })
}

fn names(resource: &Obj<'_>) -> Result<Vec<PersonName>, FhirError> {
    resource
        .array("name")?
        .into_iter()
        .map(|(path, item)| {
            let name = Obj::new(item, &path)?;
            Ok(PersonName {
                usage: name.str("use")?.map(str::to_owned),
                given: name
                    .strings("given")?
                    .into_iter()
                    .map(str::to_owned)
                    .collect(),
                family: name.str("family")?.map(str::to_owned),
            })
        })
        .collect()
}

fn birth_date(resource: &Obj<'_>) -> Result<Option<PartialDate>, FhirError> {
    resource
        .str("birthDate")?
        .map(|raw| {
            PartialDate::parse(raw)
                .map_err(|e| invalid(&resource.path("birthDate"), format!("birthDate is {e}")))
        })
        .transpose()
}

fn contacts(resource: &Obj<'_>, context: &Context) -> Result<Vec<ContactPoint>, FhirError> {
    let mut out = Vec::new();
    for (path, item) in resource.array("telecom")? {
        let telecom = Obj::new(item, &path)?;
        let rank = telecom.positive_int("rank")?;
        let usage = telecom.str("use")?.map(str::to_owned);
        let (Some(system), Some(value)) = (telecom.str("system")?, telecom.str("value")?) else {
            continue;
        };
        let value_path = format!("{path}.value");
        let (channel, address) = match system {
            "phone" | "sms" => {
                let number = PhoneNumber::parse(value, context.region).map_err(|e| {
                    invalid(
                        &value_path,
                        format!("{value_path} is not a phone number: {e}"),
                    )
                })?;
                let channel = if system == "sms" {
                    ContactChannel::Sms
                } else {
                    ContactChannel::Phone
                };
                (channel, ContactAddress::Phone(number))
            }
            "email" => {
                let email = EmailAddress::parse(value).map_err(|BadEmail| {
                    invalid(
                        &value_path,
                        format!("{value_path} is not an email address of the form name@domain.tld"),
                    )
                })?;
                (ContactChannel::Email, ContactAddress::Email(email))
            }
            // fax, pager, url, other: kept in the resource, not used to reach anyone.
            _ => continue,
        };
        out.push(ContactPoint {
            channel,
            address,
            rank,
            usage,
        });
    }
    Ok(out)
}

fn zone(resource: &Obj<'_>) -> Result<Option<IanaZone>, FhirError> {
    for (path, item) in resource.array("extension")? {
        let extension = Obj::new(item, &path)?;
        if extension.str("url")? != Some(TZ_EXTENSION) {
            continue;
        }
        let code = extension.str("valueCode")?.ok_or_else(|| {
            FhirError::unprocessable(
                IssueCode::Required,
                format!("{path} needs a valueCode with an IANA time zone name"),
            )
            .at(format!("{path}.valueCode"))
        })?;
        return IanaZone::parse(code).map(Some).map_err(|_| {
            invalid(
                &format!("{path}.valueCode"),
                format!("'{code}' is not a time zone in the IANA database (for example America/New_York)"),
            )
        });
    }
    Ok(None)
}

fn language(resource: &Obj<'_>) -> Result<Option<Locale>, FhirError> {
    let mut first = None;
    for (path, item) in resource.array("communication")? {
        let communication = Obj::new(item, &path)?;
        let Some(language) = communication.get("language") else {
            continue;
        };
        let language_path = format!("{path}.language");
        let concept = Obj::new(language, &language_path)?;
        let Some((code_path, code)) = first_code(&concept)? else {
            continue;
        };
        let locale = Locale::parse(code).map_err(|BadLocale| {
            invalid(
                &code_path,
                format!("'{code}' is not a BCP 47 language tag (for example es or en-US)"),
            )
        })?;
        if communication.bool("preferred")? == Some(true) {
            return Ok(Some(locale));
        }
        first.get_or_insert(locale);
    }
    Ok(first)
}

fn first_code<'a>(concept: &Obj<'a>) -> Result<Option<(String, &'a str)>, FhirError> {
    for (path, coding) in concept.array("coding")? {
        if let Some(code) = Obj::new(coding, &path)?.str("code")? {
            return Ok(Some((format!("{path}.code"), code)));
        }
    }
    Ok(None)
}

/// The search terms of a patient: identifiers, phones (E.164 when the number resolved),
/// emails (lower case), and every word of their names.
pub fn terms(patient: &Patient) -> Vec<Term> {
    let mut terms = identifier::terms(&patient.identifiers);
    for name in &patient.names {
        let text = name
            .given
            .iter()
            .chain(name.family.as_ref())
            .map(String::as_str)
            .collect::<Vec<_>>()
            .join(" ");
        terms.extend(
            careloop_domain::words::words(&text)
                .into_iter()
                .map(|value| Term { param: NAME, value }),
        );
    }
    for contact in &patient.contacts {
        terms.push(match &contact.address {
            ContactAddress::Phone(number) => Term {
                param: PHONE,
                value: number.lookup_key().to_owned(),
            },
            ContactAddress::Email(email) => Term {
                param: EMAIL,
                value: email.as_str().to_owned(),
            },
        });
    }
    terms
}
