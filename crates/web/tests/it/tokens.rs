//! API tokens made by `careloop token create`, on both databases: one works from the
//! moment it is made, and not after it is revoked.

use careloop_domain::OrgId;
use careloop_store::tokens::TokenError;
use reqwest::StatusCode;

use crate::harness::TestApp;

crate::on_both_backends!(a_made_token_opens_the_api_until_it_is_revoked);

async fn status_with(app: &TestApp, path: &str, token: &str) -> StatusCode {
    app.client
        .get(app.url(path))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .status()
}

async fn a_made_token_opens_the_api_until_it_is_revoked(app: &TestApp) {
    let org = OrgId::default_org();
    let token = app.store.create_api_token(&org, "ehr-prod").await.unwrap();
    assert!(token.starts_with("clt_") && token.len() > 40, "{token}");
    for path in ["/api/v1/outbox", "/fhir/Patient"] {
        assert_eq!(
            status_with(app, path, &token).await,
            StatusCode::OK,
            "{path}"
        );
    }
    assert!(matches!(
        app.store.create_api_token(&org, "ehr-prod").await,
        Err(TokenError::NameTaken(_))
    ));
    // The database keeps no token, only its hash.
    assert!(
        !app.raw_database()
            .await
            .windows(token.len())
            .any(|w| w == token.as_bytes())
    );
    // A token of the right shape that was never made, and one altered, are refused.
    let mut altered = token.clone();
    altered.pop();
    for wrong in ["clt_not-a-token", altered.as_str()] {
        assert_eq!(
            status_with(app, "/api/v1/outbox", wrong).await,
            StatusCode::UNAUTHORIZED
        );
    }
    app.store.revoke_api_token(&org, "ehr-prod").await.unwrap();
    assert_eq!(
        status_with(app, "/fhir/Patient", &token).await,
        StatusCode::UNAUTHORIZED
    );
    assert!(matches!(
        app.store.revoke_api_token(&org, "ehr-prod").await,
        Err(TokenError::NotFound(_))
    ));
    let listed = app.store.api_tokens(&org).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].name, "ehr-prod");
    assert!(listed[0].revoked_us.is_some());
    // A revoked token's name stays taken: the listing keeps the record of it.
    let fresh = app.store.create_api_token(&org, "ehr-prod").await;
    assert!(
        matches!(fresh, Err(TokenError::NameTaken(_))),
        "names stay, as a record"
    );
}
