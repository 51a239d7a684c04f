//! Reading FHIR JSON element by element, with errors that carry the FHIRPath of the
//! offending element (`Patient.telecom[1].rank`).

use serde_json::{Map, Value};

use crate::outcome::{FhirError, IssueCode};

/// A JSON object at a known path.
#[derive(Clone)]
pub struct Obj<'a> {
    map: &'a Map<String, Value>,
    path: String,
}

fn wrong_type(path: &str, expected: &str) -> FhirError {
    FhirError::bad_request(IssueCode::Structure, format!("{path} must be {expected}")).at(path)
}

impl<'a> Obj<'a> {
    pub fn new(value: &'a Value, path: &str) -> Result<Self, FhirError> {
        match value {
            Value::Object(map) => Ok(Self {
                map,
                path: path.to_owned(),
            }),
            _ => Err(wrong_type(path, "a JSON object")),
        }
    }

    pub fn path(&self, key: &str) -> String {
        format!("{}.{key}", self.path)
    }

    pub fn get(&self, key: &str) -> Option<&'a Value> {
        self.map.get(key)
    }

    pub fn str(&self, key: &str) -> Result<Option<&'a str>, FhirError> {
        match self.map.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(wrong_type(&self.path(key), "a string")),
        }
    }

    pub fn bool(&self, key: &str) -> Result<Option<bool>, FhirError> {
        match self.map.get(key) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(_) => Err(wrong_type(&self.path(key), "true or false")),
        }
    }

    /// A FHIR `positiveInt`.
    pub fn positive_int(&self, key: &str) -> Result<Option<u32>, FhirError> {
        match self.map.get(key) {
            None => Ok(None),
            Some(Value::Number(n)) => n
                .as_u64()
                .filter(|n| *n >= 1)
                .and_then(|n| u32::try_from(n).ok())
                .map(Some)
                .ok_or_else(|| wrong_type(&self.path(key), "a positive integer")),
            Some(_) => Err(wrong_type(&self.path(key), "a positive integer")),
        }
    }

    /// The elements of an array, each with its own path; an absent key is empty.
    pub fn array(&self, key: &str) -> Result<Vec<(String, &'a Value)>, FhirError> {
        match self.map.get(key) {
            None => Ok(Vec::new()),
            Some(Value::Array(items)) => Ok(items
                .iter()
                .enumerate()
                .map(|(i, item)| (format!("{}.{key}[{i}]", self.path), item))
                .collect()),
            Some(_) => Err(wrong_type(&self.path(key), "an array")),
        }
    }

    /// The strings of an array of strings.
    pub fn strings(&self, key: &str) -> Result<Vec<&'a str>, FhirError> {
        self.array(key)?
            .into_iter()
            .map(|(path, item)| item.as_str().ok_or_else(|| wrong_type(&path, "a string")))
            .collect()
    }
}
