//! How handling one SES event can fail, and how each failure ends.

use billing_lambda::{Disposition, Failure};
use billing_store::StoreError;

/// Why an SES event was not recorded. Every variant returns the message to
/// the delivery-events queue; after the queue's `maxReceiveCount` it lands in
/// `DeliveryEventsDeadLetterQueue`, and the logged text is the reason.
///
/// No text here contains an e-mail address: fields are named by path, never
/// quoted, and only invoice ids and SES message ids are shown.
#[derive(Debug, thiserror::Error)]
pub enum DeliveryEventsError {
    /// The message is not an SNS notification carrying an SES event we can
    /// attribute to an invoice; nothing was written.
    #[error("malformed SES event notification: `{field}` {problem}")]
    Malformed {
        /// Path of the offending field (`mail.tags.invoice_id`, `bounce`, ...).
        field: String,
        /// What is wrong with it (never its value).
        problem: String,
    },
    /// The tag names an invoice or letter that does not exist.
    #[error(
        "SES event {event_type} for message {message_id} names {dispatch}, which does not exist"
    )]
    UnknownInvoice {
        /// The event type.
        event_type: String,
        /// The invoice or letter from the tag.
        dispatch: String,
        /// SES's message id.
        message_id: String,
    },
    /// Reading or writing the billing table failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Failure for DeliveryEventsError {
    fn disposition(&self) -> Disposition {
        match self {
            // Retrying the same bytes gives the same answer; the DLQ keeps
            // them for a person.
            Self::Malformed { .. } | Self::UnknownInvoice { .. } => Disposition::Permanent,
            Self::Store(err) => err.disposition(),
        }
    }

    fn code(&self) -> &'static str {
        match self {
            Self::Malformed { .. } => "malformed_notification",
            Self::UnknownInvoice { .. } => "unknown_invoice",
            Self::Store(err) => err.code(),
        }
    }
}
