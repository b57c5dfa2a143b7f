//! The real `opportunity-webhook` binary, started as Lambda starts it (a
//! fake Runtime API on loopback, `shared/lambda-runtime-fake`) against the
//! local AWS endpoint: what `main` does at start-up, seen from outside.
//!
//! Run through `make test` (the local endpoint and `BILLING_TABLE` come from
//! `tools/local_aws.py`).

use std::fs::File;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use billing_domain::ids::BillingEntityId;
use billing_domain::seller::BillingEntity;
use billing_lambda::aws::load_sdk_config;
use billing_lambda::preload::RETRY_AFTER;
use billing_store::BillingStore;
use lambda_runtime_fake::{self as runtime_api, FakeRuntimeApi, Seen};
use opportunity_webhook::signature::{SECRETS_RETRY_AFTER, SIGNATURE_HEADER, WebhookSecrets};
use serde_json::Value;

const SECRET: &str = "binary-test-secret";
const FUNCTION_NAME: &str = "billing-local-OpportunityWebhookFunction";
const WAIT: Duration = Duration::from_secs(30);

/// A started binary, killed when dropped; its output goes to a file.
struct Running {
    child: Child,
    log: PathBuf,
}

impl Running {
    fn output(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.log);
    }
}

fn unique(prefix: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("{prefix}-{nanos:x}-{}", std::process::id())
}

fn repo_file(relative: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(relative)
}

/// The documented example seller under an id of its own (own counters).
fn example_entity(id: &str) -> BillingEntity {
    let text = std::fs::read_to_string(repo_file("docs/examples/billing-entity.json")).unwrap();
    let mut entity: BillingEntity = serde_json::from_str(&text).unwrap();
    entity.id = BillingEntityId::new(id);
    entity
}

async fn local_store() -> BillingStore {
    let table = std::env::var("BILLING_TABLE").expect("BILLING_TABLE: run through `make test`");
    BillingStore::new(
        aws_sdk_dynamodb::Client::new(&load_sdk_config().await),
        table,
    )
}

/// The example seller under a fresh id, stored in the billing table.
async fn stored_seller(prefix: &str) -> BillingEntity {
    let entity = example_entity(&unique(prefix));
    local_store()
        .await
        .put_billing_entity(&entity)
        .await
        .unwrap();
    entity
}

/// Start the binary for `entity_id`, signing with the local [`SECRET`].
fn start_with_local_secret(api: &FakeRuntimeApi, entity_id: &BillingEntityId) -> Running {
    start(
        api,
        &[
            ("BILLING_ENTITY_ID", entity_id.as_str()),
            ("WEBHOOK_SECRETS", SECRET),
        ],
        &["WEBHOOK_SECRET_ARN"],
    )
}

/// Start the binary for `entity_id` as deployed: secrets from Secrets
/// Manager under `secret_arn`.
fn start_with_secret_arn(
    api: &FakeRuntimeApi,
    entity_id: &BillingEntityId,
    secret_arn: &str,
) -> Running {
    start(
        api,
        &[
            ("BILLING_ENTITY_ID", entity_id.as_str()),
            ("WEBHOOK_SECRET_ARN", secret_arn),
        ],
        &["WEBHOOK_SECRETS"],
    )
}

/// Start the binary with Lambda's environment plus `env`, without `removed`.
fn start(api: &FakeRuntimeApi, env: &[(&str, &str)], removed: &[&str]) -> Running {
    api.reset();
    let log = std::env::temp_dir().join(unique("webhook-binary-test"));
    let log_file = File::create(&log).unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_opportunity-webhook"));
    command
        .envs(api.lambda_environment(FUNCTION_NAME))
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(log_file.try_clone().unwrap())
        .stderr(log_file);
    for name in removed {
        command.env_remove(name);
    }
    Running {
        child: command.spawn().expect("the webhook binary starts"),
        log,
    }
}

/// The next answer the binary posts, as (HTTP status, JSON body); fails on
/// anything else it says to the Runtime API.
fn next_answer(api: &FakeRuntimeApi, running: &Running) -> (u16, Value) {
    loop {
        match api.next_seen(WAIT) {
            Some(Seen::Next(_)) => continue,
            Some(Seen::Answer { body, .. }) => {
                let response: Value = serde_json::from_str(&body).unwrap();
                let status = response["statusCode"].as_u64().unwrap();
                let body: Value =
                    serde_json::from_str(response["body"].as_str().unwrap_or("null")).unwrap();
                return (u16::try_from(status).unwrap(), body);
            }
            Some(Seen::Other { path, body }) => {
                panic!("called {path}: {body}\n{}", running.output())
            }
            None => panic!("no answer within {WAIT:?}\n{}", running.output()),
        }
    }
}

/// `answer` is a 500 with `code` and no internals in its message.
fn assert_internal_error(answer: &(u16, Value), code: &str) {
    let (status, body) = answer;
    assert_eq!(
        (*status, body["error"]["code"].as_str()),
        (500, Some(code)),
        "{body}"
    );
    assert_eq!(body["error"]["message"], "internal error", "{body}");
}

/// A request the webhook refuses at the signature: answered as soon as the
/// state is loaded, with no AWS call of its own.
fn unsigned_event() -> String {
    runtime_api::http_post_event(
        "/webhooks/opportunity-closed",
        &[
            ("content-type", "application/json"),
            (SIGNATURE_HEADER, "t=1773133200,v1=00"),
        ],
        "{}",
    )
}

/// The documented example opportunity under a fresh id, signed now with
/// [`SECRET`].
fn signed_example_event() -> String {
    example_event_signed_with(SECRET)
}

/// The documented example opportunity under a fresh id, signed now.
fn example_event_signed_with(secret: &str) -> String {
    let text =
        std::fs::read_to_string(repo_file("docs/webhooks/example-opportunity.json")).unwrap();
    let mut opportunity: Value = serde_json::from_str(&text).unwrap();
    opportunity["opportunity_id"] = unique("opp-binary").into();
    let body = opportunity.to_string();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let signature = WebhookSecrets::new([secret])
        .unwrap()
        .sign(body.as_bytes(), i64::try_from(now).unwrap());
    runtime_api::http_post_event(
        "/webhooks/opportunity-closed",
        &[
            ("content-type", "application/json"),
            (SIGNATURE_HEADER, &signature),
        ],
        &body,
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn the_started_binary_loads_the_seller_and_invoices_a_signed_deal() {
    // GIVEN a seller in the billing table
    let entity = stored_seller("bin-seller").await;
    let api = FakeRuntimeApi::start();
    // WHEN the binary starts and gets a badly signed request, then a signed deal
    let running = start_with_local_secret(&api, &entity.id);
    api.queue(unsigned_event());
    api.queue(signed_example_event());
    // THEN the first is refused and the second invoiced with the seller's first number
    let (status, body) = next_answer(&api, &running);
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (401, Some("unauthorized"))
    );
    let (status, body) = next_answer(&api, &running);
    assert_eq!(status, 201, "{body}");
    let number = body["invoice_number"].as_str().unwrap();
    assert!(
        number.starts_with("RE-") && number.ends_with("-000001"),
        "{number}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn secrets_are_read_from_secrets_manager_with_both_valid_in_rotation() {
    // GIVEN a secret in rotation, a current and a previous value, in the
    // shape the template's secret has (a secret of this test's own, so the
    // shared emulator's template secret is left alone)
    let (current, previous) = (unique("current"), unique("previous"));
    let (_, secret_arn) =
        created_secret(serde_json::json!({ "current": current, "previous": previous })).await;
    let entity = stored_seller("bin-sm-seller").await;
    // WHEN the binary starts as deployed (no local secrets) and gets deals
    // signed with each secret, and one signed with neither
    let api = FakeRuntimeApi::start();
    let running = start_with_secret_arn(&api, &entity.id, &secret_arn);
    api.queue(example_event_signed_with(&current));
    api.queue(example_event_signed_with(&previous));
    api.queue(example_event_signed_with("not-a-configured-secret"));
    // THEN both secrets are accepted and the stranger refused
    let (status, body) = next_answer(&api, &running);
    assert_eq!(status, 201, "{body}");
    let (status, body) = next_answer(&api, &running);
    assert_eq!(status, 201, "{body}");
    let (status, _) = next_answer(&api, &running);
    assert_eq!(status, 401);
}

/// A secret of this test's own, in the template secret's shape.
async fn created_secret(value: serde_json::Value) -> (aws_sdk_secretsmanager::Client, String) {
    let client = aws_sdk_secretsmanager::Client::new(&load_sdk_config().await);
    let arn = client
        .create_secret()
        .name(unique("webhook-secret"))
        .secret_string(value.to_string())
        .send()
        .await
        .unwrap()
        .arn
        .unwrap();
    (client, arn)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_warm_function_picks_up_a_rotated_secret_after_the_re_read_interval() {
    // GIVEN a running function that loaded a secret with only `current`
    let (old, new) = (unique("old"), unique("new"));
    let (client, secret_arn) = created_secret(serde_json::json!({ "current": old })).await;
    let entity = stored_seller("bin-rotation-seller").await;
    let api = FakeRuntimeApi::start();
    let running = start_with_secret_arn(&api, &entity.id, &secret_arn);
    api.queue(example_event_signed_with(&old));
    assert_eq!(next_answer(&api, &running).0, 201);
    // WHEN the CRM's secret is rotated: the new one current, the old one previous
    client
        .put_secret_value()
        .secret_id(&secret_arn)
        .secret_string(serde_json::json!({ "current": new, "previous": old }).to_string())
        .send()
        .await
        .unwrap();
    // THEN a deal signed with the new secret is refused while the loaded
    // secrets are fresh (re-read at most every SECRETS_RETRY_AFTER) ...
    api.queue(example_event_signed_with(&new));
    assert_eq!(next_answer(&api, &running).0, 401);
    // ... and accepted once they are older, by the same warm process,
    // which then still accepts the old secret during the rotation
    tokio::time::sleep(SECRETS_RETRY_AFTER + Duration::from_secs(1)).await;
    api.queue(example_event_signed_with(&new));
    assert_eq!(next_answer(&api, &running).0, 201);
    api.queue(example_event_signed_with(&old));
    assert_eq!(next_answer(&api, &running).0, 201);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_missing_seller_is_a_500_until_it_is_stored_and_the_retry_interval_passed() {
    // GIVEN a deployment whose seller record is not stored yet
    let entity = example_entity(&unique("bin-late-seller"));
    let api = FakeRuntimeApi::start();
    let running = start_with_local_secret(&api, &entity.id);
    // WHEN it starts
    // THEN it tried to load in the init phase, before its first poll
    assert!(
        matches!(api.next_seen(WAIT), Some(Seen::Next(_))),
        "{}",
        running.output()
    );
    assert!(
        running.output().contains("cold-start load failed"),
        "the load ran and failed before the first poll:\n{}",
        running.output()
    );
    // AND a request is answered 500 with the reason's code, and nothing more
    api.queue(unsigned_event());
    assert_internal_error(
        &next_answer(&api, &running),
        "seller_configuration_unavailable",
    );
    // WHEN the seller is stored
    local_store()
        .await
        .put_billing_entity(&entity)
        .await
        .unwrap();
    // THEN a request within the retry interval still gets the remembered failure
    api.queue(unsigned_event());
    assert_eq!(next_answer(&api, &running).0, 500);
    // AND after it, the same process loads and serves
    tokio::time::sleep(RETRY_AFTER).await;
    api.queue(unsigned_event());
    assert_eq!(next_answer(&api, &running).0, 401);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unreadable_secret_is_a_500_naming_the_secrets() {
    // GIVEN a stored seller but a secret ARN that does not exist
    let entity = stored_seller("bin-no-secret").await;
    let api = FakeRuntimeApi::start();
    let running = start_with_secret_arn(
        &api,
        &entity.id,
        "arn:aws:secretsmanager:eu-central-1:123456789012:secret:missing-AbCdEf",
    );
    // WHEN a correctly signed deal arrives
    api.queue(signed_example_event());
    // THEN it is a 500 with the secrets' code, naming no ARN
    let answer = next_answer(&api, &running);
    assert_internal_error(&answer, "webhook_secrets_unavailable");
    assert!(
        !answer.1.to_string().contains("secretsmanager"),
        "{}",
        answer.1
    );
}

#[test]
fn a_missing_variable_stops_the_start_before_the_first_poll() {
    // GIVEN no BILLING_TABLE
    let api = FakeRuntimeApi::start();
    let mut running = start(
        &api,
        &[
            ("BILLING_ENTITY_ID", "default"),
            ("WEBHOOK_SECRETS", SECRET),
        ],
        &["BILLING_TABLE"],
    );
    // WHEN it starts
    let status = running.child.wait().unwrap();
    // THEN it exits with an error naming the variable, without ever polling
    assert!(!status.success());
    assert!(
        running
            .output()
            .contains("missing environment variable BILLING_TABLE"),
        "{}",
        running.output()
    );
    assert!(
        api.next_seen(Duration::from_millis(100)).is_none(),
        "it talked to the Runtime API"
    );
}
