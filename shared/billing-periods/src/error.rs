//! How closing, exporting or fetching a booking period can fail.

use aws_sdk_s3::error::ProvideErrorMetadata;
use billing_store::StoreError;

/// Why a period could not be closed, exported or fetched.
#[derive(Debug, thiserror::Error)]
pub enum PeriodError {
    /// The caller's input (a month that is no `YYYY-MM`, an unknown file):
    /// nothing was read or changed.
    #[error("{field}: {message}")]
    Invalid {
        /// The parameter, e.g. `month`.
        field: &'static str,
        /// What is wrong with it.
        message: String,
    },
    /// Billing rules forbid it in the current state (the month has not
    /// ended, the seller has no accounting settings, nothing exported yet):
    /// nothing was changed.
    #[error("{what}: {reason}")]
    Refused {
        /// The period or seller.
        what: String,
        /// Why, for the clerk.
        reason: String,
    },
    /// The store refused or failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The journal could not be built or written in a format (a booking
    /// that does not balance, a field DATEV cannot take): a bug or a
    /// configuration to fix, never retried.
    #[error("the export of {what} cannot be written: {reason}")]
    Format {
        /// The period.
        what: String,
        /// The writer's reason.
        reason: String,
    },
    /// The archive bucket failed; `retryable` says whether trying again can
    /// help.
    #[error("archive {operation} of {key} failed: {message}")]
    Archive {
        /// The S3 call.
        operation: &'static str,
        /// The object.
        key: String,
        /// The SDK's text (no contents).
        message: String,
        /// Throttling, time-outs and service faults.
        retryable: bool,
    },
    /// A stored export file does not have the bytes recorded for it (or
    /// another file sits under its key): it is never replaced.
    #[error("the archived file {key} differs from the export recorded for it")]
    DifferentFileArchived {
        /// The object.
        key: String,
    },
}

impl PeriodError {
    pub(crate) fn archive<E, R>(
        operation: &'static str,
        key: &str,
        error: &aws_sdk_s3::error::SdkError<E, R>,
    ) -> Self
    where
        E: aws_sdk_s3::error::ProvideErrorMetadata + std::error::Error + 'static,
        R: std::fmt::Debug,
    {
        use aws_sdk_s3::error::SdkError;
        let retryable = match error {
            SdkError::TimeoutError(_)
            | SdkError::DispatchFailure(_)
            | SdkError::ResponseError(_) => true,
            SdkError::ServiceError(_) => matches!(
                error.code(),
                Some(
                    "SlowDown"
                        | "Throttling"
                        | "RequestTimeout"
                        | "InternalError"
                        | "ServiceUnavailable"
                )
            ),
            _ => false,
        };
        Self::Archive {
            operation,
            key: key.to_owned(),
            message: aws_sdk_s3::error::DisplayErrorContext(error).to_string(),
            retryable,
        }
    }
}
