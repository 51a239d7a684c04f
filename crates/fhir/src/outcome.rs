//! FHIR errors: an HTTP status and an `OperationOutcome` whose diagnostics tell a person
//! what to fix, and whose `expression` points at the element (`Patient.telecom[1].value`).

use serde_json::{Value, json};

/// `OperationOutcome.issue.code` values we use (FHIR R4 IssueType).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IssueCode {
    Invalid,
    Structure,
    Required,
    Value,
    NotFound,
    Deleted,
    Conflict,
    Duplicate,
    NotSupported,
    Security,
    Login,
    Processing,
    Exception,
    TooCostly,
}

impl IssueCode {
    fn as_str(self) -> &'static str {
        match self {
            Self::Invalid => "invalid",
            Self::Structure => "structure",
            Self::Required => "required",
            Self::Value => "value",
            Self::NotFound => "not-found",
            Self::Deleted => "deleted",
            Self::Conflict => "conflict",
            Self::Duplicate => "duplicate",
            Self::NotSupported => "not-supported",
            Self::Security => "security",
            Self::Login => "login",
            Self::Processing => "processing",
            Self::Exception => "exception",
            Self::TooCostly => "too-costly",
        }
    }
}

/// An error a FHIR endpoint answers with.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{status} {diagnostics}")]
pub struct FhirError {
    pub status: u16,
    pub code: IssueCode,
    pub diagnostics: String,
    pub expression: Option<String>,
}

impl FhirError {
    pub fn new(status: u16, code: IssueCode, diagnostics: impl Into<String>) -> Self {
        Self {
            status,
            code,
            diagnostics: diagnostics.into(),
            expression: None,
        }
    }

    pub fn at(mut self, expression: impl Into<String>) -> Self {
        self.expression = Some(expression.into());
        self
    }

    /// 400: the request cannot be read (bad JSON, wrong JSON types, bad parameters).
    pub fn bad_request(code: IssueCode, diagnostics: impl Into<String>) -> Self {
        Self::new(400, code, diagnostics)
    }

    /// 422: readable, but breaks a rule (an unknown zone, end before start).
    pub fn unprocessable(code: IssueCode, diagnostics: impl Into<String>) -> Self {
        Self::new(422, code, diagnostics)
    }

    pub fn not_found(diagnostics: impl Into<String>) -> Self {
        Self::new(404, IssueCode::NotFound, diagnostics)
    }

    pub fn gone(diagnostics: impl Into<String>) -> Self {
        Self::new(410, IssueCode::Deleted, diagnostics)
    }

    pub fn conflict(diagnostics: impl Into<String>) -> Self {
        Self::new(409, IssueCode::Conflict, diagnostics)
    }

    pub fn precondition_failed(diagnostics: impl Into<String>) -> Self {
        Self::new(412, IssueCode::Conflict, diagnostics)
    }

    pub fn unauthorized() -> Self {
        Self::new(
            401,
            IssueCode::Login,
            "a bearer token is required: send 'Authorization: Bearer <token>'",
        )
    }

    pub fn internal() -> Self {
        Self::new(
            500,
            IssueCode::Exception,
            "the server failed to complete the request; the request id identifies it in the server log",
        )
    }

    pub fn unavailable() -> Self {
        Self::new(503, IssueCode::Exception, "the database is not reachable")
    }

    /// The `OperationOutcome` resource.
    pub fn to_outcome(&self) -> Value {
        let mut issue = json!({
            "severity": "error",
            "code": self.code.as_str(),
            "diagnostics": self.diagnostics,
        });
        if let Some(expression) = &self.expression {
            issue["expression"] = json!([expression]);
        }
        json!({"resourceType": "OperationOutcome", "issue": [issue]})
    }
}

/// An informational `OperationOutcome` (for `Prefer: return=OperationOutcome`).
pub fn information(diagnostics: &str) -> Value {
    json!({
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "information", "code": "informational", "diagnostics": diagnostics}]
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcome_names_the_element() {
        let outcome = FhirError::unprocessable(IssueCode::Value, "not a phone number")
            .at("Patient.telecom[1].value")
            .to_outcome();
        assert_eq!(
            outcome,
            json!({"resourceType": "OperationOutcome", "issue": [{
                "severity": "error", "code": "value", "diagnostics": "not a phone number",
                "expression": ["Patient.telecom[1].value"]}]})
        );
    }
}
