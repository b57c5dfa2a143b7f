//! How a staff request can fail; every variant maps to an HTTP status.

use billing_lambda::{Disposition, Failure};
use billing_store::StoreError;

/// Why a staff request was not answered with data.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The caller is in neither the `billing` nor the `sales` group.
    #[error("this needs membership in the billing or sales group")]
    Forbidden,
    /// No such route.
    #[error("no route {method} {path}")]
    NotFound {
        /// The request method.
        method: String,
        /// The request path.
        path: String,
    },
    /// The route exists, but not for this method.
    #[error("{path} answers {allowed} only")]
    MethodNotAllowed {
        /// The request path.
        path: String,
        /// The method it answers.
        allowed: &'static str,
    },
    /// Reading the table failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Failure for ApiError {
    fn disposition(&self) -> Disposition {
        match self {
            Self::Forbidden => Disposition::Rejected(403),
            Self::NotFound { .. } => Disposition::Rejected(404),
            Self::MethodNotAllowed { .. } => Disposition::Rejected(405),
            Self::Store(err) => err.disposition(),
        }
    }

    fn code(&self) -> &'static str {
        match self {
            Self::Forbidden => "forbidden",
            Self::NotFound { .. } => "not_found",
            Self::MethodNotAllowed { .. } => "method_not_allowed",
            Self::Store(err) => err.code(),
        }
    }
}
