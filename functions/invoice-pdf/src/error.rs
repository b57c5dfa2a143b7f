//! How producing an invoice's documents can fail, and how each failure ends.

use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use billing_documents::DocumentError;
use billing_lambda::aws::sdk_error_disposition;
use billing_lambda::{Disposition, Failure};
use billing_store::StoreError;

/// Why a documents request failed. Every variant returns the message to the
/// documents queue; permanent ones end in its dead-letter queue after the
/// queue's retries, and the logged text (no personal data) is the reason.
#[derive(Debug, thiserror::Error)]
pub enum InvoicePdfError {
    /// The queue message is neither `{"invoice_id": "..."}` nor
    /// `{"letter_id": "..."}`.
    #[error("documents request is malformed: {reason}")]
    BadRequest {
        /// What is wrong with it.
        reason: String,
    },
    /// The invoice does not exist (or is not finalized).
    #[error("invoice {invoice_id} does not exist")]
    UnknownInvoice {
        /// The id from the message.
        invoice_id: String,
    },
    /// The dunning letter does not exist.
    #[error("dunning letter {letter_id} does not exist")]
    UnknownLetter {
        /// The id from the message.
        letter_id: String,
    },
    /// Loading the invoice or recording its documents failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Rendering failed (template, PDF/A export, XML).
    #[error(transparent)]
    Render(#[from] DocumentError),
    /// S3 or SQS refused or could not be reached.
    #[error("{operation} on {target} failed: {message}")]
    Aws {
        /// The API call.
        operation: &'static str,
        /// The key or queue (no personal data).
        target: String,
        /// Whether retrying can help.
        disposition: Disposition,
        /// The SDK's error text.
        message: String,
    },
    /// A different document is already archived under the key: an archived
    /// invoice is never replaced, so this needs a person.
    #[error("a different document is already archived at {key}; it was not replaced")]
    DifferentDocumentArchived {
        /// The object key.
        key: String,
    },
    /// The invoice records other documents than the ones just archived.
    #[error("invoice {invoice_id} already records different documents; nothing was changed")]
    DifferentDocumentsRecorded {
        /// The invoice.
        invoice_id: String,
    },
}

impl InvoicePdfError {
    /// Wrap an S3/SQS failure, classifying it once.
    pub fn archive<E, R>(operation: &'static str, target: &str, error: &SdkError<E, R>) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
        R: std::fmt::Debug,
    {
        let conflict = error
            .as_service_error()
            .and_then(|e| e.code())
            .is_some_and(|code| code == "ConditionalRequestConflict");
        Self::Aws {
            operation,
            target: target.to_owned(),
            // A concurrent conditional write to the same key: the next try
            // sees the winner and compares.
            disposition: if conflict {
                Disposition::Retryable
            } else {
                sdk_error_disposition(error)
            },
            message: DisplayErrorContext(error).to_string(),
        }
    }
}

impl Failure for InvoicePdfError {
    fn disposition(&self) -> Disposition {
        match self {
            Self::Store(err) => err.disposition(),
            Self::Aws { disposition, .. } => *disposition,
            // The store reads strongly consistent and the pipe announces an
            // invoice only after it was committed: a missing one is missing.
            Self::BadRequest { .. }
            | Self::UnknownInvoice { .. }
            | Self::UnknownLetter { .. }
            | Self::Render(_)
            | Self::DifferentDocumentArchived { .. }
            | Self::DifferentDocumentsRecorded { .. } => Disposition::Permanent,
        }
    }

    fn code(&self) -> &'static str {
        match self {
            Self::BadRequest { .. } => "bad_request",
            Self::UnknownInvoice { .. } => "unknown_invoice",
            Self::UnknownLetter { .. } => "unknown_letter",
            Self::Store(err) => err.code(),
            Self::Render(_) => "render_failed",
            Self::Aws { .. } => "aws_unavailable",
            Self::DifferentDocumentArchived { .. } => "different_document_archived",
            Self::DifferentDocumentsRecorded { .. } => "different_documents_recorded",
        }
    }
}
