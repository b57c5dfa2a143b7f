//! One AWS SDK configuration per cold start, and the clients built from it.
//!
//! The SDK reads the standard `AWS_ENDPOINT_URL`, so the same binary talks to
//! AWS in production and to the local emulator in tests without a code path of
//! its own. Only S3 needs a nudge: a custom endpoint on loopback cannot serve
//! virtual-hosted bucket names, so path-style addressing is used there.

use aws_config::{BehaviorVersion, SdkConfig};
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};

use crate::Disposition;

/// Load the SDK configuration from the environment (region, credentials,
/// endpoint override). Call once in `main`.
pub async fn load_sdk_config() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest()).load().await
}

/// The AWS clients a function may use, built once and cloned cheaply.
#[derive(Clone, Debug)]
pub struct AwsClients {
    /// Accounts, contracts, invoices, counters, idempotency records.
    pub dynamodb: aws_sdk_dynamodb::Client,
    /// The documents archive and bank statement files.
    pub s3: aws_sdk_s3::Client,
    /// Invoice and reminder e-mail (SES v2).
    pub ses: aws_sdk_sesv2::Client,
    /// Run batches, documents and delivery queues.
    pub sqs: aws_sdk_sqs::Client,
}

impl AwsClients {
    /// Build every client from one configuration (no network calls happen here).
    pub fn new(config: &SdkConfig) -> Self {
        let s3_config = aws_sdk_s3::config::Builder::from(config)
            .force_path_style(config.endpoint_url().is_some())
            .build();
        Self {
            dynamodb: aws_sdk_dynamodb::Client::new(config),
            s3: aws_sdk_s3::Client::from_conf(s3_config),
            ses: aws_sdk_sesv2::Client::new(config),
            sqs: aws_sdk_sqs::Client::new(config),
        }
    }
}

/// Error codes AWS services use for "slow down" or "try again later".
const TRANSIENT_CODES: &[&str] = &[
    "ThrottlingException",
    "Throttling",
    "ThrottledException",
    "TooManyRequestsException",
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded",
    "LimitExceededException",
    "InternalServerError",
    "InternalFailure",
    "InternalError",
    "ServiceUnavailable",
    "ServiceUnavailableException",
    "SlowDown",
    "TransactionInProgressException",
];

/// Whether an SDK call failure is worth retrying: throttling, service-side
/// faults, timeouts and connection failures are; everything else (validation,
/// access denied, a failed condition) would fail the same way again.
pub fn sdk_error_disposition<E, R>(error: &SdkError<E, R>) -> Disposition
where
    E: ProvideErrorMetadata,
{
    match error {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            Disposition::Retryable
        }
        SdkError::ServiceError(service) => match service.err().code() {
            Some(code) if TRANSIENT_CODES.contains(&code) => Disposition::Retryable,
            _ => Disposition::Permanent,
        },
        _ => Disposition::Permanent,
    }
}

#[cfg(test)]
mod tests {
    use aws_sdk_dynamodb::operation::get_item::GetItemError;
    use aws_sdk_dynamodb::types::error::{
        ProvisionedThroughputExceededException, ResourceNotFoundException,
    };
    use aws_smithy_runtime_api::http::{Response, StatusCode};
    use aws_smithy_types::body::SdkBody;

    use super::*;

    fn service_error(err: GetItemError, status: u16) -> SdkError<GetItemError, Response> {
        let status = StatusCode::try_from(status).unwrap();
        SdkError::service_error(err, Response::new(status, SdkBody::empty()))
    }

    #[test]
    fn throttling_is_retryable() {
        let err = service_error(
            GetItemError::ProvisionedThroughputExceededException(
                ProvisionedThroughputExceededException::builder()
                    .message("slow down")
                    .meta(
                        aws_sdk_dynamodb::error::ErrorMetadata::builder()
                            .code("ProvisionedThroughputExceededException")
                            .build(),
                    )
                    .build(),
            ),
            400,
        );
        assert_eq!(sdk_error_disposition(&err), Disposition::Retryable);
    }

    #[test]
    fn a_missing_table_is_permanent() {
        let err = service_error(
            GetItemError::ResourceNotFoundException(
                ResourceNotFoundException::builder()
                    .message("no such table")
                    .meta(
                        aws_sdk_dynamodb::error::ErrorMetadata::builder()
                            .code("ResourceNotFoundException")
                            .build(),
                    )
                    .build(),
            ),
            400,
        );
        assert_eq!(sdk_error_disposition(&err), Disposition::Permanent);
    }

    #[test]
    fn a_timeout_is_retryable() {
        let err: SdkError<GetItemError, Response> = SdkError::timeout_error("read timed out");
        assert_eq!(sdk_error_disposition(&err), Disposition::Retryable);
    }
}
