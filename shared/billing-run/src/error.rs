//! How a run step can fail, and how each failure ends.

use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use billing_lambda::aws::sdk_error_disposition;
use billing_lambda::{Disposition, Failure};
use billing_store::StoreError;

/// Why planning a run or billing a batch failed. Customers that cannot be
/// billed are not errors: they are recorded on the run's outcome.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The request (event or queue message) is unusable.
    #[error("{field}: {reason}")]
    BadRequest {
        /// The field at fault.
        field: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The preview a finalize run should bill does not exist or is unfinished.
    #[error("preview {run_id}: {reason}")]
    Preview {
        /// The preview's run id.
        run_id: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Customers of the preview a finalize run should bill changed since
    /// it was computed: billing it now would not issue what it showed.
    #[error("preview {run_id}: {} customer(s) changed since the preview; preview again", changes.len())]
    PreviewStale {
        /// The preview's run id.
        run_id: String,
        /// Each changed customer with what changed, in words staff can act on.
        changes: Vec<(billing_domain::ids::AccountId, Vec<String>)>,
    },
    /// The billing table refused or could not be reached.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// S3 or SQS refused or could not be reached.
    #[error("{operation} on {target} failed: {message}")]
    Aws {
        /// The API call.
        operation: &'static str,
        /// The key or queue.
        target: String,
        /// Whether retrying can help.
        disposition: Disposition,
        /// The SDK's error text.
        message: String,
    },
    /// A customer kept changing while it was billed; the batch is retried.
    #[error("account {account_id} changed during every attempt to bill it")]
    Busy {
        /// The customer.
        account_id: String,
    },
}

impl RunError {
    /// Wrap an S3/SQS failure, classifying it once.
    pub fn aws<E, R>(
        operation: &'static str,
        target: impl Into<String>,
        error: &SdkError<E, R>,
    ) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
        R: std::fmt::Debug,
    {
        Self::Aws {
            operation,
            target: target.into(),
            disposition: sdk_error_disposition(error),
            message: DisplayErrorContext(error).to_string(),
        }
    }

    /// A field-naming refusal of the request.
    pub fn bad_request(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::BadRequest {
            field: field.into(),
            reason: reason.into(),
        }
    }
}

impl Failure for RunError {
    fn disposition(&self) -> Disposition {
        match self {
            RunError::BadRequest { .. } => Disposition::Rejected(400),
            RunError::Preview { .. } | RunError::PreviewStale { .. } => Disposition::Rejected(409),
            RunError::Store(error) => error.disposition(),
            RunError::Aws { disposition, .. } => *disposition,
            RunError::Busy { .. } => Disposition::Retryable,
        }
    }

    fn code(&self) -> &'static str {
        match self {
            RunError::BadRequest { .. } => "bad_request",
            RunError::Preview { .. } => "preview_unusable",
            RunError::PreviewStale { .. } => "preview_stale",
            RunError::Store(error) => error.code(),
            RunError::Aws { .. } => "aws_unavailable",
            RunError::Busy { .. } => "account_busy",
        }
    }
}
