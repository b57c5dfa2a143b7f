//! Throttling is a failure the local emulator cannot produce, so it is
//! played with mocked DynamoDB and Secrets Manager clients: a throttled
//! store or secret read must give the CRM a 503 with `Retry-After` (it
//! retries), never a 4xx (it would give up), never a 500 (which says a retry
//! alone will not help) and never a hang.

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::ErrorMetadata;
use aws_sdk_dynamodb::operation::get_item::{GetItemError, GetItemOutput};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::error::ProvisionedThroughputExceededException;
use aws_smithy_mocks::{RuleMode, mock, mock_client};
use billing_domain::seller::BillingEntity;
use billing_store::BillingStore;
use lambda_http::Body;
use lambda_http::http::header::{CONTENT_TYPE, RETRY_AFTER};
use opportunity_webhook::handler::{WebhookState, handle_at};
use opportunity_webhook::service::OpportunityService;
use opportunity_webhook::signature::{SIGNATURE_HEADER, SecretRing, WebhookSecrets};

fn read(path: &str) -> String {
    std::fs::read_to_string(format!("{}/../../{path}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

fn throttled() -> ProvisionedThroughputExceededException {
    ProvisionedThroughputExceededException::builder()
        .message("Rate of requests exceeds the allowed throughput")
        .meta(
            ErrorMetadata::builder()
                .code("ProvisionedThroughputExceededException")
                .build(),
        )
        .build()
}

async fn post_example(client: Client) -> lambda_http::Response<Body> {
    let entity: BillingEntity =
        serde_json::from_str(&read("docs/examples/billing-entity.json")).unwrap();
    let secrets = WebhookSecrets::new(["s"]).unwrap();
    let body = read("docs/webhooks/example-opportunity.json").into_bytes();
    let now = chrono::Utc::now();
    let request = lambda_http::http::Request::builder()
        .method("POST")
        .header(CONTENT_TYPE, "application/json")
        .header(SIGNATURE_HEADER, secrets.sign(&body, now.timestamp()))
        .body(Body::from(body))
        .unwrap();
    let state = WebhookState {
        service: OpportunityService::new(BillingStore::new(client, "billing"), entity),
        secrets: SecretRing::fixed(secrets),
    };
    handle_at(&state, request, now).await
}

#[tokio::test]
async fn a_throttled_read_answers_503_with_retry_after() {
    // GIVEN DynamoDB refuses every read for lack of throughput
    let reads = mock!(Client::get_item)
        .then_error(|| GetItemError::ProvisionedThroughputExceededException(throttled()));
    let client = mock_client!(aws_sdk_dynamodb, RuleMode::MatchAny, [&reads]);

    // WHEN the CRM posts a valid deal
    let response = post_example(client).await;

    // THEN it is told to come back, not that its data is wrong
    assert_eq!(response.status(), 503);
    assert_eq!(response.headers()[RETRY_AFTER], "1");
    assert!(reads.num_calls() >= 1);
}

#[tokio::test]
async fn a_throttled_commit_answers_503_and_nothing_else_is_written() {
    // GIVEN nothing is stored yet and every transaction is throttled
    let reads = mock!(Client::get_item).then_output(|| GetItemOutput::builder().build());
    let contracts = mock!(Client::query)
        .then_output(|| aws_sdk_dynamodb::operation::query::QueryOutput::builder().build());
    let commits = mock!(Client::transact_write_items).then_error(|| {
        TransactWriteItemsError::ProvisionedThroughputExceededException(throttled())
    });
    let client = mock_client!(
        aws_sdk_dynamodb,
        RuleMode::MatchAny,
        [&reads, &contracts, &commits]
    );

    // WHEN the CRM posts a valid deal
    let response = post_example(client).await;

    // THEN 503 with Retry-After; the only write attempted was the one
    // all-or-nothing transaction
    assert_eq!(response.status(), 503);
    assert_eq!(response.headers()[RETRY_AFTER], "1");
    assert!(commits.num_calls() >= 1);
}

#[tokio::test]
async fn a_throttled_secrets_read_at_start_answers_503_and_a_missing_secret_500() {
    use aws_sdk_secretsmanager::error::ErrorMetadata as SecretsErrorMetadata;
    use aws_sdk_secretsmanager::operation::get_secret_value::GetSecretValueError;
    use billing_lambda::http::error_response;
    use opportunity_webhook::startup::StartupError;

    let cases = [
        ("ThrottlingException", 503),
        ("ResourceNotFoundException", 500),
    ];
    for (code, status) in cases {
        // GIVEN Secrets Manager answers the start-up read with `code`
        let reads = mock!(aws_sdk_secretsmanager::Client::get_secret_value).then_error(move || {
            GetSecretValueError::generic(SecretsErrorMetadata::builder().code(code).build())
        });
        let client = mock_client!(aws_sdk_secretsmanager, RuleMode::MatchAny, [&reads]);
        // WHEN the webhook loads its secrets
        let error = SecretRing::from_secrets_manager(client, "webhook-secret".into())
            .await
            .map(|_| ())
            .unwrap_err();
        // THEN the CRM is answered as the cause deserves
        let response = error_response(&StartupError::from(error));
        assert_eq!(response.status(), status, "{code}");
        assert_eq!(
            response.headers().contains_key(RETRY_AFTER),
            status == 503,
            "{code}"
        );
        assert!(reads.num_calls() >= 1);
    }
}
