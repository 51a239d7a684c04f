//! `Practitioner` and `Location`: who and where an appointment is with. Not patient data,
//! so stored as they are; searchable by identifier.

use careloop_store::model::Term;
use serde_json::Value;

use crate::identifier;
use crate::json::Obj;
use crate::outcome::FhirError;
use crate::patient::parse_id;

pub fn terms(body: &Value, resource_type: &'static str) -> Result<Vec<Term>, FhirError> {
    let resource = Obj::new(body, resource_type)?;
    parse_id(&resource)?;
    resource.bool("active")?;
    Ok(identifier::terms(&identifier::parse(&resource)?))
}
