//! The domain layer's single error type.
//!
//! Every variant names the offending field or rule so that the HTTP and queue
//! adapters can turn it into a clear, field-naming message for the caller.

/// Why a billing rule refused its input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DomainError {
    /// A value broke a rule; `field` names where it came from (a JSON pointer
    /// or a dotted path), so the caller can fix exactly that.
    #[error("{field}: {message}")]
    Invalid {
        /// Where the bad value sits, e.g. `/items/3/quantity` or `period.end`.
        field: String,
        /// What is wrong with it, in plain words.
        message: String,
    },
}

impl DomainError {
    /// Shorthand for a field-naming validation error.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Invalid {
            field: field.into(),
            message: message.into(),
        }
    }
}
