//! How a sweep can fail, and how each failure ends.

use billing_domain::DomainError;
use billing_lambda::{Disposition, Failure};
use billing_store::StoreError;

/// Why a sweep (or one invoice of it) failed.
#[derive(Debug, thiserror::Error)]
pub enum SweepError {
    /// The invocation's input is not a date or a schedule time.
    #[error("sweep request is malformed: {reason}")]
    BadRequest {
        /// What is wrong.
        reason: String,
    },
    /// Reading or writing the billing table failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The dunning policy refused an invoice's facts (a configuration or
    /// data problem a person must look at).
    #[error("invoice {invoice_id}: {source}")]
    Policy {
        /// The invoice.
        invoice_id: String,
        /// The rule that refused.
        source: DomainError,
    },
}

impl Failure for SweepError {
    fn disposition(&self) -> Disposition {
        match self {
            Self::BadRequest { .. } => Disposition::Rejected(400),
            Self::Store(err) => err.disposition(),
            Self::Policy { .. } => Disposition::Permanent,
        }
    }

    fn code(&self) -> &'static str {
        match self {
            Self::BadRequest { .. } => "bad_request",
            Self::Store(err) => err.code(),
            Self::Policy { .. } => "dunning_policy",
        }
    }
}
