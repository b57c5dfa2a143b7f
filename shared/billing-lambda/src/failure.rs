//! One vocabulary for how a failure ends, whatever triggered the function.
//!
//! Each layer keeps its own `thiserror` enum; implementing [`Failure`] for it
//! says once whether the caller is at fault (an HTTP 4xx, never retried),
//! whether AWS should try again (throttling, timeouts), or whether retrying is
//! pointless. The HTTP, Lambda and SQS adapters read only that.

use serde::Serialize;

/// How a failure should end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Disposition {
    /// The caller sent something we refuse; answer with this 4xx status and
    /// change nothing. Retrying the same input fails the same way.
    Rejected(u16),
    /// A passing fault (throttling, timeout, a service hiccup): try again later.
    Retryable,
    /// Our own fault, or one that retrying will not cure: stop and alert.
    Permanent,
}

impl Disposition {
    /// The Lambda error type the runtime reports, as in the runtime's examples.
    pub fn lambda_error_type(self) -> &'static str {
        match self {
            Disposition::Retryable => "Retryable",
            Disposition::Rejected(_) | Disposition::Permanent => "NonRetryable",
        }
    }

    /// The HTTP status for this outcome: the caller's 4xx, 503 for a passing
    /// fault (the client may retry), 500 for ours.
    pub fn http_status(self) -> u16 {
        match self {
            Disposition::Rejected(status) if (400..500).contains(&status) => status,
            Disposition::Rejected(_) | Disposition::Permanent => 500,
            Disposition::Retryable => 503,
        }
    }
}

/// One thing wrong with a request, located by JSON pointer (RFC 6901) so the
/// caller can fix exactly that field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    /// Where the value sits, e.g. `/items/3/quantity`.
    pub pointer: String,
    /// What is wrong with it.
    pub message: String,
}

impl FieldError {
    /// Shorthand constructor.
    pub fn new(pointer: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            pointer: pointer.into(),
            message: message.into(),
        }
    }
}

/// Implemented by every layer's error enum.
///
/// The `Display` text of a failure is logged and, for rejections, shown to the
/// caller: it must never contain personal data (e-mail addresses, names, IBANs).
pub trait Failure: std::error::Error {
    /// How this failure should end.
    fn disposition(&self) -> Disposition;

    /// A stable, machine-readable code such as `invalid_body` or `conflict`.
    fn code(&self) -> &'static str;

    /// Field-level details for a rejected request; empty by default.
    fn field_errors(&self) -> Vec<FieldError> {
        Vec::new()
    }
}

/// The error a Lambda function returns to the runtime: its type tells
/// operators (and retry policies) whether trying again can help.
pub fn diagnostic(failure: &(impl Failure + ?Sized)) -> lambda_runtime::Diagnostic {
    lambda_runtime::Diagnostic {
        error_type: failure.disposition().lambda_error_type().to_owned(),
        error_message: failure.to_string(),
    }
}

/// A store failure ends as the store says: retryable (throttling, a
/// timeout, writers that kept racing) or permanent. Callers that answer some
/// store errors with a 4xx (the staff API) map those themselves.
impl Failure for billing_store::StoreError {
    fn disposition(&self) -> Disposition {
        if self.is_retryable() {
            Disposition::Retryable
        } else {
            Disposition::Permanent
        }
    }

    fn code(&self) -> &'static str {
        billing_store::StoreError::code(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejections_keep_their_status_and_are_not_retried() {
        let d = Disposition::Rejected(422);
        assert_eq!(d.http_status(), 422);
        assert_eq!(d.lambda_error_type(), "NonRetryable");
    }

    #[test]
    fn a_rejection_with_a_non_client_status_becomes_a_server_error() {
        assert_eq!(Disposition::Rejected(200).http_status(), 500);
        assert_eq!(Disposition::Rejected(503).http_status(), 500);
    }

    #[test]
    fn passing_faults_are_retryable_and_answer_503() {
        assert_eq!(Disposition::Retryable.http_status(), 503);
        assert_eq!(Disposition::Retryable.lambda_error_type(), "Retryable");
        assert_eq!(Disposition::Permanent.http_status(), 500);
        assert_eq!(Disposition::Permanent.lambda_error_type(), "NonRetryable");
    }
}
