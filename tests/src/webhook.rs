//! Driving the real `opportunity-webhook` handler as API Gateway would:
//! a seller configuration in the local table, signed requests, the answer.

use std::path::PathBuf;

use billing_domain::ids::BillingEntityId;
use billing_domain::seller::BillingEntity;
use billing_store::BillingStore;
use chrono::{DateTime, Utc};
use lambda_http::http::header::CONTENT_TYPE;
use lambda_http::{Body, Request, Response};
use opportunity_webhook::handler::{WebhookState, handle_at};
use opportunity_webhook::signature::{SIGNATURE_HEADER, WebhookSecrets};
use opportunity_webhook::startup::{self, SecretsSetting, WebhookConfig};

use crate::{local_clients, resource};

/// The secret tests and the demo sign with.
pub const TEST_SECRET: &str = "local-webhook-secret";

/// A path under the repository root.
pub fn repo_path(relative: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(relative)
}

/// The documented example seller (`docs/examples/billing-entity.json`),
/// under another id so each test has its own number counters.
///
/// # Panics
/// If the example does not parse: the documentation would be wrong.
pub fn example_entity(id: &str) -> BillingEntity {
    let text = std::fs::read_to_string(repo_path("docs/examples/billing-entity.json"))
        .expect("docs/examples/billing-entity.json is readable");
    let mut entity: BillingEntity =
        serde_json::from_str(&text).expect("the example billing entity is valid");
    entity.id = BillingEntityId::new(id);
    entity
}

/// The documented example opportunity (`docs/webhooks/example-opportunity.json`).
///
/// # Panics
/// If the example does not parse.
pub fn example_opportunity() -> serde_json::Value {
    let text = std::fs::read_to_string(repo_path("docs/webhooks/example-opportunity.json"))
        .expect("docs/webhooks/example-opportunity.json is readable");
    serde_json::from_str(&text).expect("the example opportunity is JSON")
}

/// A fixture body under `tests/fixtures/opportunities/`.
///
/// # Panics
/// If the fixture is missing.
pub fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(repo_path(&format!("tests/fixtures/opportunities/{name}")))
        .unwrap_or_else(|e| panic!("fixture {name}: {e}"))
}

/// The store on the local billing table.
pub async fn local_store() -> BillingStore {
    BillingStore::new(local_clients().await.dynamodb, resource("BILLING_TABLE"))
}

/// The webhook's configuration on the local table, signing with [`TEST_SECRET`].
///
/// # Panics
/// Never: the test secret is not blank.
pub fn local_webhook_config(entity_id: &BillingEntityId) -> WebhookConfig {
    WebhookConfig {
        table: resource("BILLING_TABLE"),
        entity_id: entity_id.clone(),
        secrets: SecretsSetting::Fixed(WebhookSecrets::new([TEST_SECRET]).expect("a secret")),
    }
}

/// Store `entity` and load the webhook's state as its `main` does.
///
/// # Panics
/// If the local endpoint refuses the write or the load fails.
pub async fn webhook_state(entity: BillingEntity) -> WebhookState {
    billing_lambda::telemetry::init();
    local_store()
        .await
        .put_billing_entity(&entity)
        .await
        .expect("the seller configuration is stored");
    startup::load(local_webhook_config(&entity.id))
        .await
        .expect("the webhook loads its state")
}

/// A request as API Gateway delivers it, signed at `signed_at` unless
/// `signature` overrides the header.
///
/// # Panics
/// Never for valid header values; the builder only fails on invalid ones.
pub fn request(body: &[u8], signature: Option<String>, content_type: &str) -> Request {
    let mut builder = lambda_http::http::Request::builder()
        .method("POST")
        .uri("/webhooks/opportunity-closed")
        .header(CONTENT_TYPE, content_type);
    if let Some(signature) = signature {
        builder = builder.header(SIGNATURE_HEADER, signature);
    }
    builder
        .body(Body::from(body.to_vec()))
        .expect("a valid request")
}

/// A correctly signed JSON request at `now`.
pub fn signed(body: &[u8], now: DateTime<Utc>) -> Request {
    let secrets = WebhookSecrets::new([TEST_SECRET]).expect("a secret");
    request(
        body,
        Some(secrets.sign(body, now.timestamp())),
        "application/json",
    )
}

/// Post through the real handler; returns status and JSON body.
pub async fn post(
    state: &WebhookState,
    request: Request,
    now: DateTime<Utc>,
) -> (u16, serde_json::Value, Response<Body>) {
    let response = handle_at(state, request, now).await;
    let status = response.status().as_u16();
    let json = serde_json::from_slice(response.body().as_ref()).unwrap_or(serde_json::Value::Null);
    (status, json, response)
}
