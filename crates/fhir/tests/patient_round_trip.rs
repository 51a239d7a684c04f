//! Property: any Patient an EHR may send is read into the model with the values it holds,
//! and what careloop stores gives back the same resource, however it is written.

use careloop_domain::{ContactAddress, Region, ResourceId};
use careloop_fhir::resource::{Context, ResourceType, index};
use careloop_fhir::{meta, patient};
use proptest::prelude::*;
use serde_json::{Value, json};

const ZONES: &[&str] = &[
    "America/New_York",
    "Europe/Madrid",
    "Australia/Melbourne",
    "Asia/Kolkata",
    "UTC",
];
const LANGUAGES: &[(&str, &str)] = &[
    ("es", "es"),
    ("en-us", "en-US"),
    ("nl", "nl"),
    ("fr-CA", "fr-CA"),
];

/// A US number written one of the ways people write them, and its E.164 form.
fn phone() -> impl Strategy<Value = (String, String)> {
    (
        0usize..4,
        2u32..10,
        0u32..100,
        2u32..10,
        0u32..1_000_000,
        0usize..5,
    )
        .prop_map(|(area, a, b, c, line, style)| {
            let area = ["415", "312", "212", "617"][area];
            let exchange = format!("{c}{:02}", (a * 7 + b) % 100);
            let line = format!("{:04}", line % 10_000);
            let written = match style {
                0 => format!("+1 ({area}) {exchange}-{line}"),
                1 => format!("{area}.{exchange}.{line}"),
                2 => format!("({area}) {exchange} {line}"),
                3 => format!("+1{area}{exchange}{line}"),
                _ => format!("1-{area}-{exchange}-{line}"),
            };
            (written, format!("+1{area}{exchange}{line}"))
        })
}

fn email() -> impl Strategy<Value = (String, String)> {
    (
        "[a-z][a-z0-9._]{0,11}",
        "[a-z]{2,10}",
        0usize..3,
        any::<bool>(),
    )
        .prop_map(|(local, domain, tld, shout)| {
            let address = format!("{local}@{domain}.{}", ["org", "com", "net"][tld]);
            let written = if shout {
                address.to_uppercase()
            } else {
                address.clone()
            };
            (written, address)
        })
}

fn name_part() -> impl Strategy<Value = String> {
    "[A-Z][a-zà-ÿ' -]{0,14}[a-z]"
}

/// Elements careloop does not model, which must come back untouched.
fn extras() -> impl Strategy<Value = Vec<(String, Value)>> {
    proptest::collection::vec(("[a-z]{3,8}", "[ -~]{0,20}"), 0..3).prop_map(|pairs| {
        pairs
            .into_iter()
            .map(|(key, text)| {
                (
                    format!("https://ehr.example/{key}"),
                    json!({"url": format!("https://ehr.example/{key}"), "valueString": text}),
                )
            })
            .collect()
    })
}

prop_compose! {
    fn patient_json()(
        given in name_part(), family in name_part(),
        (phone_written, phone_e164) in phone(), (email_written, email_address) in email(),
        rank in proptest::option::of(1u32..5),
        zone in proptest::sample::select(ZONES),
        (language, language_normal) in proptest::sample::select(LANGUAGES),
        mrn in "[A-Z0-9-]{1,12}",
        birth in (1900i16..2025, 1i8..13, 1i8..29),
        narrative in "[ -~]{0,40}",
        extras in extras(),
    ) -> (Value, String, String, String, String, String) {
        let mut extensions: Vec<Value> = extras.into_iter().map(|(_, e)| e).collect();
        extensions.push(json!({"url": patient::TZ_EXTENSION, "valueCode": zone}));
        let body = json!({
            "resourceType": "Patient",
            "id": "p-1",
            "meta": {"profile": ["http://hl7.org/fhir/us/core/StructureDefinition/us-core-patient"]},
            "text": {"status": "generated", "div": format!("<div xmlns=\"http://www.w3.org/1999/xhtml\">{}</div>", narrative.replace(['<', '&'], " "))},
            "extension": extensions,
            "identifier": [{"system": "urn:mrn", "value": mrn}],
            "name": [{"use": "official", "family": family, "given": [given]}],
            "telecom": match rank {
                Some(rank) => json!([{"system": "phone", "value": phone_written, "use": "mobile", "rank": rank}, {"system": "email", "value": email_written}]),
                None => json!([{"system": "phone", "value": phone_written, "use": "mobile"}, {"system": "email", "value": email_written}]),
            },
            "birthDate": format!("{:04}-{:02}-{:02}", birth.0, birth.1, birth.2),
            "communication": [{"language": {"coding": [{"system": "urn:ietf:bcp:47", "code": language}]}, "preferred": true}],
        });
        (body, phone_e164, email_address, zone.to_owned(), language_normal.to_owned(), mrn)
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn fhir_to_model_to_fhir((body, phone, email, zone, language, mrn) in patient_json()) {
        let context = Context { region: Region::default() };
        let indexed = index(ResourceType::Patient, &body, &context).unwrap();
        let model = patient::from_fhir(&body, &context).unwrap();

        prop_assert_eq!(model.id.as_str(), "p-1");
        prop_assert_eq!(model.names[0].family.as_deref(), body["name"][0]["family"].as_str());
        let addresses: Vec<String> = model.contacts.iter().map(|c| match &c.address {
            ContactAddress::Phone(n) => n.e164().map(|e| e.as_str().to_owned()).unwrap_or_default(),
            ContactAddress::Email(e) => e.as_str().to_owned(),
        }).collect();
        prop_assert_eq!(addresses, vec![phone.clone(), email.clone()]);
        prop_assert_eq!(model.zone.as_ref().map(|z| z.name()), Some(zone.as_str()));
        prop_assert_eq!(model.language.map(|l| l.to_string()), Some(language));
        prop_assert_eq!(model.identifiers[0].value.as_str(), mrn.as_str());
        let terms: Vec<(&str, &str)> = indexed.terms.iter().map(|t| (t.param, t.value.as_str())).collect();
        prop_assert!(terms.contains(&("phone", phone.as_str())));
        prop_assert!(terms.contains(&("email", email.as_str())));
        let identifier_term = format!("urn:mrn|{mrn}");
        prop_assert!(terms.contains(&("identifier", identifier_term.as_str())));

        // What is stored, and what a client reads back.
        let mut stored = body.clone();
        meta::prepare(&mut stored, &ResourceId::parse("p-1").unwrap());
        let bytes = serde_json::to_vec(&stored).unwrap();
        let mut read: Value = serde_json::from_slice(&bytes).unwrap();
        meta::stamp(&mut read, 3, "2026-03-01T09:00:00Z".parse().unwrap());
        prop_assert_eq!(&read["meta"]["versionId"], "3");
        read["meta"].as_object_mut().unwrap().retain(|k, _| k == "profile");
        prop_assert_eq!(read, body);
    }
}
