//! The accounting formats' single error type.

use billing_domain::DomainError;

/// Why a booking or a customer cannot be written into a handover file.
///
/// Nothing is written when any value is refused: a DATEV batch with a row
/// missing would book a different month than the journal.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AccountingError {
    /// A value does not fit its field; `field` names the record and the
    /// DATEV column (e.g. `bookings[3].Belegfeld 1`) or the setting, so the
    /// clerk can fix exactly that document or setting.
    #[error("{field}: {message}")]
    Field {
        /// Where the value sits: the record and the column as DATEV names
        /// it, or the seller setting.
        field: String,
        /// What is wrong with it, in plain words.
        message: String,
    },
}

impl AccountingError {
    /// Shorthand for a field-naming error.
    pub(crate) fn field(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Field {
            field: field.into(),
            message: message.into(),
        }
    }
}

impl From<DomainError> for AccountingError {
    /// A seller setting the domain refuses keeps its field name.
    fn from(error: DomainError) -> Self {
        match error {
            DomainError::Invalid { field, message } => Self::Field { field, message },
        }
    }
}
