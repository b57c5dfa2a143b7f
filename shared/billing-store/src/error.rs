//! The storage layer's single error type.

use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use billing_lambda::aws::sdk_error_disposition;
use billing_lambda::{Disposition, Failure};

/// Cancellation reasons that say "someone else got there first" or "slow
/// down": worth trying again. Anything else (a validation error) would fail
/// the same way again.
pub(crate) const TRANSIENT_REASONS: &[&str] = &[
    "TransactionConflict",
    "ThrottlingError",
    "ProvisionedThroughputExceeded",
    "RequestLimitExceeded",
];

/// Why a storage operation failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    /// DynamoDB refused or could not be reached; `disposition` says whether
    /// trying again can help.
    #[error("DynamoDB {operation} failed: {message}")]
    Aws {
        /// The API call, e.g. `TransactWriteItems`.
        operation: &'static str,
        /// Retryable for throttling and timeouts, permanent otherwise.
        disposition: Disposition,
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
            disposition: sdk_error_disposition(error),
            message: DisplayErrorContext(error).to_string(),
        }
    }

    /// Wrap a failed transaction: cancelled because another writer got
    /// there first or DynamoDB asked to slow down, it is worth retrying.
    pub(crate) fn transaction(
        error: &SdkError<
            aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError,
            aws_sdk_dynamodb::config::http::HttpResponse,
        >,
    ) -> Self {
        use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
        let mut wrapped = Self::aws("TransactWriteItems", error);
        if let (
            Some(TransactWriteItemsError::TransactionCanceledException(cancelled)),
            Self::Aws { disposition, .. },
        ) = (error.as_service_error(), &mut wrapped)
            && cancelled
                .cancellation_reasons()
                .iter()
                .any(|r| r.code().is_some_and(|c| TRANSIENT_REASONS.contains(&c)))
        {
            *disposition = Disposition::Retryable;
        }
        wrapped
    }

    pub(crate) fn corrupt(what: impl Into<String>, reason: impl std::fmt::Display) -> Self {
        Self::Corrupt {
            what: what.into(),
            reason: reason.to_string(),
        }
    }
}

impl Failure for StoreError {
    fn disposition(&self) -> Disposition {
        match self {
            StoreError::Aws { disposition, .. } => *disposition,
            StoreError::Contended { .. } => Disposition::Retryable,
            StoreError::Corrupt { .. }
            | StoreError::NotFound { .. }
            | StoreError::TooLarge { .. }
            | StoreError::RevisionMismatch { .. }
            | StoreError::BadPage { .. }
            | StoreError::AlreadyCancelled { .. }
            | StoreError::Refused { .. } => Disposition::Permanent,
        }
    }

    fn code(&self) -> &'static str {
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
