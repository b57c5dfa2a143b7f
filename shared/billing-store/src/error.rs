//! The storage layer's single error type.
//!
//! The store has its own vocabulary for how a failure ends (retryable or
//! not, and a stable code), so it needs no Lambda crate: `billing-lambda`
//! maps it to HTTP, Lambda and SQS outcomes (`impl Failure for StoreError`).

use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};

/// Error codes AWS services use for "slow down" or "try again later". The
/// one list: `billing_lambda::aws::sdk_error_disposition` asks
/// [`transient`] for every SDK, not only DynamoDB.
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
pub fn transient<E, R>(error: &SdkError<E, R>) -> bool
where
    E: ProvideErrorMetadata,
{
    match error {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            true
        }
        SdkError::ServiceError(service) => service
            .err()
            .code()
            .is_some_and(|code| TRANSIENT_CODES.contains(&code)),
        _ => false,
    }
}

/// Why a storage operation failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    /// DynamoDB refused or could not be reached; `retryable` says whether
    /// trying again can help.
    #[error("DynamoDB {operation} failed: {message}")]
    Aws {
        /// The API call, e.g. `TransactWriteItems`.
        operation: &'static str,
        /// True for throttling, timeouts and lost races; false otherwise.
        retryable: bool,
        /// The SDK's error text (never item contents).
        message: String,
    },
    /// A stored item cannot be read back: a bug or a manual edit, not input.
    #[error("stored {what} is unreadable: {reason}")]
    Corrupt {
        /// Which item, by key.
        what: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Something that must exist does not (e.g. the seller configuration).
    #[error("{what} does not exist")]
    NotFound {
        /// Which item, by key.
        what: String,
    },
    /// Other writers kept winning the same items; the whole request may be
    /// retried later.
    #[error("{what} kept changing concurrently; gave up after {attempts} attempts")]
    Contended {
        /// What was contended, e.g. a number counter.
        what: String,
        /// How often it was tried.
        attempts: u32,
    },
    /// A document is too large for one item; nothing was written. The
    /// caller decides whether that is its client's fault (e.g. a deal to split).
    #[error("{what} is {size} bytes encoded; at most {max} fit in one item", max = crate::attributes::MAX_BODY_BYTES)]
    TooLarge {
        /// Which document.
        what: String,
        /// Its encoded size.
        size: usize,
    },
    /// A staff write expected another revision of an invoice or account:
    /// someone changed it since it was read. Nothing was written (HTTP 412).
    #[error("{what} was changed by someone else since it was read")]
    RevisionMismatch {
        /// Which item, by key.
        what: String,
    },
    /// A page request the store cannot serve (limit out of range, a cursor
    /// that is not one of ours): the caller's input, not a storage fault.
    #[error("bad page request: {reason}")]
    BadPage {
        /// What is wrong with it.
        reason: String,
    },
    /// The invoice is cancelled already: a second cancellation, credit note
    /// or credit application is refused and nothing was written (HTTP 409).
    #[error("{what} is cancelled already")]
    AlreadyCancelled {
        /// Which invoice.
        what: String,
    },
    /// A correction billing rules forbid in the current state (more credit
    /// than is creditable, a contract billed further since): nothing was
    /// written (HTTP 409).
    #[error("{what}: {reason}")]
    Refused {
        /// What was refused, e.g. an invoice or contract.
        what: String,
        /// Why, in words for the clerk (no personal data).
        reason: String,
    },
}

impl StoreError {
    /// Wrap an SDK failure, classifying it once.
    pub fn aws<E, R>(operation: &'static str, error: &SdkError<E, R>) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
        R: std::fmt::Debug,
    {
        Self::Aws {
            operation,
            retryable: transient(error),
            message: DisplayErrorContext(error).to_string(),
        }
    }

    pub(crate) fn corrupt(what: impl Into<String>, reason: impl std::fmt::Display) -> Self {
        Self::Corrupt {
            what: what.into(),
            reason: reason.to_string(),
        }
    }

    /// Whether trying the same request again later can succeed: a passing
    /// fault (throttling, a timeout) or other writers winning a race. All
    /// other errors fail the same way again.
    pub fn is_retryable(&self) -> bool {
        match self {
            StoreError::Aws { retryable, .. } => *retryable,
            StoreError::Contended { .. } => true,
            StoreError::Corrupt { .. }
            | StoreError::NotFound { .. }
            | StoreError::TooLarge { .. }
            | StoreError::RevisionMismatch { .. }
            | StoreError::BadPage { .. }
            | StoreError::AlreadyCancelled { .. }
            | StoreError::Refused { .. } => false,
        }
    }

    /// A stable, machine-readable code for answers and logs.
    pub fn code(&self) -> &'static str {
        match self {
            StoreError::Aws { .. } => "storage_unavailable",
            StoreError::Corrupt { .. } => "storage_corrupt",
            StoreError::NotFound { .. } => "not_found",
            StoreError::Contended { .. } => "contended",
            StoreError::TooLarge { .. } => "too_large",
            StoreError::RevisionMismatch { .. } => "revision_mismatch",
            StoreError::BadPage { .. } => "bad_page",
            StoreError::AlreadyCancelled { .. } => "already_cancelled",
            StoreError::Refused { .. } => "refused",
        }
    }
}
