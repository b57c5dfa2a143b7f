//! How a staff request can fail; every variant maps to an HTTP status and
//! a stable code, and every body has one shape (see [`crate::reply`]).

use billing_lambda::{Disposition, Failure, FieldError};
use billing_periods::PeriodError;
use billing_store::StoreError;

/// Why a staff request was not answered with data.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// No verified claims reached the function (no token, or not through
    /// the JWT authorizer).
    #[error("this needs a signed-in staff member")]
    Unauthorized,
    /// The caller is in neither group, or in `sales` on a write route.
    #[error("{0}")]
    Forbidden(&'static str),
    /// No such route, or nothing stored under the id.
    #[error("{what} does not exist")]
    NotFound {
        /// The route or the item.
        what: String,
    },
    /// The route exists, but not for this method.
    #[error("{path} answers {allowed} only")]
    MethodNotAllowed {
        /// The request path.
        path: String,
        /// The methods it answers, comma-separated.
        allowed: String,
    },
    /// The request's parameters or body are not acceptable.
    #[error("{message}")]
    Invalid {
        /// What is wrong overall.
        message: String,
        /// Each field at fault, by JSON pointer.
        errors: Vec<FieldError>,
    },
    /// A write's body came as something other than JSON.
    #[error("the body must be sent as application/json")]
    UnsupportedMediaType,
    /// A write to an invoice or account came without `If-Match`.
    #[error("{what} is changed only with If-Match carrying the ETag it was read with")]
    PreconditionRequired {
        /// The invoice or account.
        what: String,
    },
    /// `If-Match` names another revision than the stored one.
    #[error("{what} was changed since it was read (ETag {current}); read it again")]
    PreconditionFailed {
        /// The invoice or account.
        what: String,
        /// Its current ETag.
        current: String,
    },
    /// The store refused or failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// S3 could not presign a document link.
    #[error("document link could not be signed: {0}")]
    Presign(String),
    /// A booking period could not be closed, exported or fetched.
    #[error(transparent)]
    Period(#[from] billing_periods::PeriodError),
    /// An invoice run (a preview, or the finalize run of one) could not be
    /// planned.
    #[error(transparent)]
    Run(#[from] billing_run::RunError),
    /// Work the request started as a task of its own stopped before it
    /// answered (it panicked or the runtime shut down).
    #[error("the request's work stopped: {0}")]
    Interrupted(String),
    /// The delivery queue did not take a re-send request.
    #[error("the delivery queue refused the request: {0}")]
    Queue(String),
}

impl ApiError {
    /// A single bad field.
    pub fn invalid(pointer: &str, message: impl Into<String>) -> Self {
        let message = message.into();
        Self::Invalid {
            message: format!("{pointer}: {message}"),
            errors: vec![FieldError::new(pointer, message)],
        }
    }

    /// Nothing stored under this name.
    pub fn not_found(what: impl Into<String>) -> Self {
        Self::NotFound { what: what.into() }
    }
}

impl Failure for ApiError {
    fn disposition(&self) -> Disposition {
        match self {
            Self::Unauthorized => Disposition::Rejected(401),
            Self::Forbidden(_) => Disposition::Rejected(403),
            Self::NotFound { .. } => Disposition::Rejected(404),
            Self::MethodNotAllowed { .. } => Disposition::Rejected(405),
            Self::Invalid { .. } => Disposition::Rejected(400),
            Self::UnsupportedMediaType => Disposition::Rejected(415),
            Self::PreconditionRequired { .. } => Disposition::Rejected(428),
            Self::PreconditionFailed { .. } => Disposition::Rejected(412),
            Self::Store(err) => match err {
                StoreError::NotFound { .. } => Disposition::Rejected(404),
                StoreError::RevisionMismatch { .. } => Disposition::Rejected(412),
                StoreError::BadPage { .. } => Disposition::Rejected(400),
                StoreError::AlreadyCancelled { .. } | StoreError::Refused { .. } => {
                    Disposition::Rejected(409)
                }
                other => other.disposition(),
            },
            Self::Period(err) => match err {
                PeriodError::Invalid { .. } => Disposition::Rejected(400),
                // A journal or seller configuration the formats cannot take
                // (a missing DATEV number, a value DATEV refuses): the
                // message names the field for whoever fixes it.
                PeriodError::Refused { .. } | PeriodError::Format { .. } => {
                    Disposition::Rejected(409)
                }
                PeriodError::Store(store) => Self::Store(store.clone()).disposition(),
                PeriodError::Archive {
                    retryable: true, ..
                } => Disposition::Retryable,
                PeriodError::Archive { .. } | PeriodError::DifferentFileArchived { .. } => {
                    Disposition::Permanent
                }
            },
            Self::Run(billing_run::RunError::Store(store)) => {
                Self::Store(store.clone()).disposition()
            }
            Self::Run(run) => run.disposition(),
            Self::Presign(_) | Self::Interrupted(_) => Disposition::Permanent,
            Self::Queue(_) => Disposition::Retryable,
        }
    }

    fn code(&self) -> &'static str {
        match self {
            Self::Unauthorized => "unauthenticated",
            Self::Forbidden(_) => "forbidden",
            Self::NotFound { .. } => "not_found",
            Self::MethodNotAllowed { .. } => "method_not_allowed",
            Self::Invalid { .. } => "invalid_request",
            Self::UnsupportedMediaType => "unsupported_media_type",
            Self::PreconditionRequired { .. } => "precondition_required",
            Self::PreconditionFailed { .. } => "precondition_failed",
            Self::Store(StoreError::RevisionMismatch { .. }) => "precondition_failed",
            Self::Store(StoreError::BadPage { .. }) => "invalid_request",
            Self::Store(StoreError::AlreadyCancelled { .. }) => "already_cancelled",
            Self::Store(StoreError::Refused { .. }) => "conflict",
            Self::Store(err) => err.code(),
            Self::Period(PeriodError::Invalid { .. }) => "invalid_request",
            Self::Period(PeriodError::Refused { .. }) => "conflict",
            Self::Period(PeriodError::Store(store)) => Self::Store(store.clone()).code(),
            Self::Period(PeriodError::Format { .. }) => "export_unwritable",
            Self::Period(PeriodError::Archive { .. }) => "archive_unavailable",
            Self::Period(PeriodError::DifferentFileArchived { .. }) => "different_file_archived",
            Self::Run(billing_run::RunError::Store(store)) => Self::Store(store.clone()).code(),
            Self::Run(billing_run::RunError::BadRequest { .. }) => "invalid_request",
            Self::Run(billing_run::RunError::Preview { .. }) => "preview_not_finalizable",
            Self::Run(run) => run.code(),
            Self::Presign(_) => "presign_failed",
            Self::Interrupted(_) => "interrupted",
            Self::Queue(_) => "queue_unavailable",
        }
    }

    fn field_errors(&self) -> Vec<FieldError> {
        match self {
            Self::Invalid { errors, .. } => errors.clone(),
            Self::Store(StoreError::BadPage { reason }) => {
                let pointer = if reason.starts_with("cursor") {
                    "/cursor"
                } else {
                    "/limit"
                };
                vec![FieldError::new(pointer, reason.clone())]
            }
            Self::Period(PeriodError::Invalid { field, message }) => {
                vec![FieldError::new(format!("/path/{field}"), message.clone())]
            }
            Self::Run(billing_run::RunError::BadRequest { field, reason }) => {
                vec![FieldError::new(format!("/{field}"), reason.clone())]
            }
            Self::Run(billing_run::RunError::PreviewStale { changes, .. }) => changes
                .iter()
                .map(|(account, what)| {
                    FieldError::new(format!("/customers/{account}"), what.join("; "))
                })
                .collect(),
            Self::UnsupportedMediaType => {
                vec![FieldError::new(
                    "/header/content-type",
                    "must be application/json",
                )]
            }
            _ => Vec::new(),
        }
    }
}
