//! How a collection step can fail, and how each failure ends.

use billing_lambda::{Disposition, Failure};
use billing_sepa::CollectionFileError;
use billing_store::StoreError;

/// Why a collection step failed. Refusals of single invoices are not
/// errors: they go on the needs-attention list and the rest goes out.
#[derive(Debug, thiserror::Error)]
pub enum CollectionError {
    /// The invocation's input is not a date or a schedule time.
    #[error("collection request is malformed: {reason}")]
    BadRequest {
        /// What is wrong.
        reason: String,
    },
    /// Reading or writing the billing table failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The file of a batch could not be written (a rule the claim did not
    /// catch, a broken seller configuration).
    #[error("collection file {batch_id}: {source}")]
    File {
        /// The batch.
        batch_id: String,
        /// What the file writer refused.
        source: CollectionFileError,
    },
    /// A sealed batch's file came out different from the one recorded, or
    /// S3 holds different bytes under its key: a person must look before
    /// anything goes to the bank.
    #[error("collection file {batch_id}: {reason}")]
    FileDiffers {
        /// The batch.
        batch_id: String,
        /// What differs.
        reason: String,
    },
    /// S3 failed.
    #[error("S3 {operation} {key}: {message}")]
    S3 {
        /// The operation.
        operation: &'static str,
        /// The object key.
        key: String,
        /// The SDK's error.
        message: String,
    },
    /// The local temporary file failed.
    #[error("temporary collection file: {0}")]
    Io(#[from] std::io::Error),
}

impl Failure for CollectionError {
    fn disposition(&self) -> Disposition {
        match self {
            Self::BadRequest { .. } => Disposition::Rejected(400),
            Self::Store(err) => err.disposition(),
            Self::S3 { .. } | Self::Io(_) => Disposition::Retryable,
            Self::File { .. } | Self::FileDiffers { .. } => Disposition::Permanent,
        }
    }

    fn code(&self) -> &'static str {
        match self {
            Self::BadRequest { .. } => "bad_request",
            Self::Store(err) => err.code(),
            Self::File { .. } => "collection_file",
            Self::FileDiffers { .. } => "collection_file_differs",
            Self::S3 { .. } => "s3",
            Self::Io(_) => "io",
        }
    }
}
