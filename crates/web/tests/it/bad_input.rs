//! Every bad input gets its status and an OperationOutcome a person can act on, and
//! changes nothing.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::harness::{TestApp, fixture};

crate::on_both_backends!(bad_input_is_refused_with_an_outcome_and_changes_nothing);

fn with(mut base: Value, key: &str, value: Value) -> Value {
    base[key] = value;
    base
}

fn appointment() -> Value {
    json!({
        "resourceType": "Appointment",
        "status": "booked",
        "start": "2026-03-10T09:00:00Z",
        "end": "2026-03-10T09:30:00Z",
        "participant": [{"actor": {"reference": "Patient/example"}, "status": "accepted"}]
    })
}

fn patient() -> Value {
    json!({"resourceType": "Patient", "name": [{"family": "Nakamura"}]})
}

struct Case {
    what: &'static str,
    method: Method,
    path: &'static str,
    body: Option<String>,
    status: StatusCode,
    /// Words the diagnostics must contain.
    says: &'static str,
    expression: Option<&'static str>,
}

fn cases() -> Vec<Case> {
    let json = |v: Value| Some(v.to_string());
    let case = |what, method, path, body, status, says, expression| Case {
        what,
        method,
        path,
        body,
        status,
        says,
        expression,
    };
    vec![
        case(
            "malformed JSON",
            Method::POST,
            "/fhir/Patient",
            Some("{\"resourceType\": \"Patient\",".into()),
            StatusCode::BAD_REQUEST,
            "not valid JSON",
            None,
        ),
        case(
            "wrong resourceType",
            Method::POST,
            "/fhir/Patient",
            json(json!({"resourceType": "Observation"})),
            StatusCode::UNPROCESSABLE_ENTITY,
            "resourceType must be Patient, got Observation",
            Some("resourceType"),
        ),
        case(
            "unparseable phone",
            Method::POST,
            "/fhir/Patient",
            json(with(
                patient(),
                "telecom",
                json!([{"system": "email", "value": "ok@example.org"}, {"system": "phone", "value": "call me maybe"}]),
            )),
            StatusCode::UNPROCESSABLE_ENTITY,
            "is not a phone number",
            Some("Patient.telecom[1].value"),
        ),
        case(
            "bad email",
            Method::POST,
            "/fhir/Patient",
            json(with(
                patient(),
                "telecom",
                json!([{"system": "email", "value": "nobody-at-example"}]),
            )),
            StatusCode::UNPROCESSABLE_ENTITY,
            "not an email address",
            Some("Patient.telecom[0].value"),
        ),
        case(
            "unknown IANA zone",
            Method::POST,
            "/fhir/Patient",
            json(with(
                patient(),
                "extension",
                json!([{"url": "http://hl7.org/fhir/StructureDefinition/tz-code", "valueCode": "Mars/Olympus_Mons"}]),
            )),
            StatusCode::UNPROCESSABLE_ENTITY,
            "not a time zone in the IANA database",
            Some("Patient.extension[0].valueCode"),
        ),
        case(
            "booked without times",
            Method::POST,
            "/fhir/Appointment",
            json({
                let mut a = appointment();
                a.as_object_mut().unwrap().remove("start");
                a.as_object_mut().unwrap().remove("end");
                a
            }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "needs both a start and an end",
            Some("Appointment.start"),
        ),
        case(
            "end before start",
            Method::POST,
            "/fhir/Appointment",
            json(with(appointment(), "end", json!("2026-03-10T08:00:00Z"))),
            StatusCode::UNPROCESSABLE_ENTITY,
            "before the start",
            Some("Appointment.end"),
        ),
        case(
            "start without an offset",
            Method::POST,
            "/fhir/Appointment",
            json(with(appointment(), "start", json!("2026-03-10T09:00:00"))),
            StatusCode::UNPROCESSABLE_ENTITY,
            "is not an instant",
            Some("Appointment.start"),
        ),
        case(
            "unknown appointment status",
            Method::POST,
            "/fhir/Appointment",
            json(with(appointment(), "status", json!("done"))),
            StatusCode::UNPROCESSABLE_ENTITY,
            "is not one of proposed",
            Some("Appointment.status"),
        ),
        case(
            "reference to a missing patient",
            Method::POST,
            "/fhir/Appointment",
            json(with(
                appointment(),
                "participant",
                json!([{"actor": {"reference": "Patient/nobody"}, "status": "accepted"}]),
            )),
            StatusCode::UNPROCESSABLE_ENTITY,
            "Patient/nobody does not exist",
            Some("Appointment.participant.actor"),
        ),
        case(
            "unknown id",
            Method::GET,
            "/fhir/Patient/no-such-patient",
            None,
            StatusCode::NOT_FOUND,
            "Patient/no-such-patient is not known",
            None,
        ),
        case(
            "unsupported resource type",
            Method::GET,
            "/fhir/Observation",
            None,
            StatusCode::NOT_FOUND,
            "resource type 'Observation' is not supported",
            None,
        ),
        case(
            "unsupported resource type by id",
            Method::GET,
            "/fhir/Observation/1",
            None,
            StatusCode::NOT_FOUND,
            "is not supported",
            None,
        ),
        case(
            "id in body differs from URL",
            Method::PUT,
            "/fhir/Patient/abc",
            json(with(patient(), "id", json!("xyz"))),
            StatusCode::BAD_REQUEST,
            "must match the id in the URL",
            Some("id"),
        ),
        case(
            "bad date search",
            Method::GET,
            "/fhir/Appointment?date=ne2026-01-01",
            None,
            StatusCode::BAD_REQUEST,
            "prefix 'ne' is not supported",
            None,
        ),
        case(
            "bad _count",
            Method::GET,
            "/fhir/Patient?_count=many",
            None,
            StatusCode::BAD_REQUEST,
            "_count must be a whole number",
            None,
        ),
        case(
            "wrong JSON type",
            Method::POST,
            "/fhir/Patient",
            json(with(patient(), "telecom", json!({"system": "phone"}))),
            StatusCode::BAD_REQUEST,
            "Patient.telecom must be an array",
            Some("Patient.telecom"),
        ),
        case(
            "XML body",
            Method::POST,
            "/fhir/Patient",
            Some("<Patient/>".into()),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "application/fhir+json",
            None,
        ),
        case(
            "batch bundle",
            Method::POST,
            "/fhir",
            json(json!({"resourceType": "Bundle", "type": "batch", "entry": []})),
            StatusCode::UNPROCESSABLE_ENTITY,
            "Bundle.type must be transaction",
            Some("Bundle.type"),
        ),
    ]
}

async fn bad_input_is_refused_with_an_outcome_and_changes_nothing(app: &TestApp) {
    app.put("/fhir/Patient/example", &fixture("Patient-example.json"))
        .await;
    for case in cases() {
        let mut request = app.request(case.method.clone(), case.path);
        if let Some(body) = case.body.clone() {
            let content_type = if case.what == "XML body" {
                "application/fhir+xml"
            } else {
                "application/fhir+json"
            };
            request = request.header("content-type", content_type).body(body);
        }
        let (status, headers, outcome) = app.send(request).await;
        assert_eq!(status, case.status, "{}: {outcome}", case.what);
        assert!(
            headers["content-type"]
                .to_str()
                .unwrap()
                .starts_with("application/fhir+json"),
            "{}",
            case.what
        );
        assert_eq!(outcome["resourceType"], "OperationOutcome", "{}", case.what);
        let diagnostics = outcome["issue"][0]["diagnostics"].as_str().unwrap();
        assert!(
            diagnostics.contains(case.says),
            "{}: {diagnostics}",
            case.what
        );
        if let Some(expression) = case.expression {
            assert_eq!(
                outcome["issue"][0]["expression"][0], expression,
                "{}",
                case.what
            );
        }
    }
    let (_, patients) = app.get("/fhir/Patient").await;
    assert_eq!(patients["total"], 1, "only the example patient exists");
    let (_, appointments) = app.get("/fhir/Appointment").await;
    assert_eq!(appointments["total"], 0);
    let (status, _) = app.get("/fhir/Patient/abc").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}
