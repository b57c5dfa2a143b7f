//! How importing a statement can fail, and how each failure ends.

use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use billing_lambda::aws::sdk_error_disposition;
use billing_lambda::{Disposition, Failure};
use billing_store::StoreError;

use crate::camt::CamtError;

/// Why a statement was not (completely) imported.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The S3 event does not name an object.
    #[error("S3 event is malformed: {reason}")]
    BadEvent {
        /// What is missing.
        reason: String,
    },
    /// The file cannot be read, or does not reconcile: nothing was booked.
    #[error("statement refused: {0}")]
    Refused(#[from] CamtError),
    /// A pain.002 status report cannot be read: nothing was applied.
    #[error("status report refused: {reason}")]
    StatusReportRefused {
        /// What is wrong, naming the element.
        reason: String,
    },
    /// Reading or writing the billing table failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// S3 refused or could not be reached.
    #[error("{operation} on {key} failed: {message}")]
    S3 {
        /// The API call.
        operation: &'static str,
        /// The object key.
        key: String,
        /// Whether retrying can help.
        disposition: Disposition,
        /// The SDK's text.
        message: String,
    },
}

impl ImportError {
    /// Wrap an S3 failure, classifying it once.
    pub fn s3<E, R>(operation: &'static str, key: &str, error: &SdkError<E, R>) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
        R: std::fmt::Debug,
    {
        Self::S3 {
            operation,
            key: key.to_owned(),
            disposition: sdk_error_disposition(error),
            message: DisplayErrorContext(error).to_string(),
        }
    }
}

impl Failure for ImportError {
    fn disposition(&self) -> Disposition {
        match self {
            Self::BadEvent { .. } => Disposition::Permanent,
            // The bank's file: a person must look at it, retrying cannot help.
            Self::Refused(_) | Self::StatusReportRefused { .. } => Disposition::Rejected(422),
            Self::Store(err) => err.disposition(),
            Self::S3 { disposition, .. } => *disposition,
        }
    }

    fn code(&self) -> &'static str {
        match self {
            Self::BadEvent { .. } => "bad_event",
            Self::Refused(_) => "statement_refused",
            Self::StatusReportRefused { .. } => "status_report_refused",
            Self::Store(err) => err.code(),
            Self::S3 { .. } => "s3_unavailable",
        }
    }
}
