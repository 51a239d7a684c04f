//! The published X-Twilio-Signature test vectors (twilio-python and Twilio's docs).

#![expect(
    clippy::unwrap_used,
    reason = "a failed step should fail the test loudly"
)]

use careloop_channels::twilio::signature::{sign, verify};
use serde_json::Value;

fn vectors() -> Vec<Value> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/signature-test-vectors.json"
    );
    let all: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    all["twilio_x_twilio_signature"].as_array().unwrap().clone()
}

fn params(vector: &Value) -> Vec<(String, String)> {
    vector["params"]
        .as_array()
        .unwrap()
        .iter()
        .map(|pair| {
            (
                pair[0].as_str().unwrap().to_owned(),
                pair[1].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[test]
fn every_published_vector_signs_and_verifies() {
    let vectors = vectors();
    assert!(vectors.len() >= 5);
    for vector in vectors {
        let (token, url, expected) = (
            vector["auth_token"].as_str().unwrap(),
            vector["url"].as_str().unwrap(),
            vector["expected"].as_str().unwrap(),
        );
        let params = params(&vector);
        assert_eq!(sign(token, url, &params), expected, "{vector}");
        assert!(verify(token, url, &params, expected), "{vector}");
    }
}

#[test]
fn a_signature_for_the_url_without_port_verifies_against_the_url_with_it() {
    let vector = &vectors()[0];
    let params = params(vector);
    let signed_without_port = vector["expected"].as_str().unwrap();
    assert!(verify(
        "12345",
        "https://mycompany.com:443/myapp.php?foo=1&bar=2",
        &params,
        signed_without_port
    ));
}

#[test]
fn any_change_fails_verification() {
    let vector = &vectors()[0];
    let (url, expected) = (
        vector["url"].as_str().unwrap(),
        vector["expected"].as_str().unwrap(),
    );
    let mut params = params(vector);
    assert!(!verify("12346", url, &params, expected), "another token");
    assert!(
        !verify(
            "12345",
            "https://mycompany.com/myapp.php?foo=1&bar=3",
            &params,
            expected
        ),
        "another URL"
    );
    assert!(!verify("12345", url, &params, ""), "no signature");
    params[0].1.push('0');
    assert!(
        !verify("12345", url, &params, expected),
        "a changed parameter"
    );
    params.push(("Extra".into(), "x".into()));
    assert!(
        !verify("12345", url, &params, expected),
        "an added parameter"
    );
}
