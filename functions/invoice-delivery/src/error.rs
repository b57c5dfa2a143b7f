//! How delivering an invoice can fail, and how each failure ends.

use aws_sdk_sesv2::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use billing_documents::DocumentError;
use billing_lambda::aws::sdk_error_disposition;
use billing_lambda::privacy::redact_email_addresses;
use billing_lambda::{Disposition, Failure};
use billing_store::StoreError;

/// SES error codes that say "not now" rather than "never": the message
/// waits in the queue (with backoff) and ends in the dead-letter queue if
/// the condition outlasts the retries.
const SES_LATER: &[&str] = &[
    "TooManyRequestsException",
    "LimitExceededException",
    "SendingPausedException",
    "AccountSuspendedException",
];

/// Why an invoice could not be delivered. Permanent failures that concern
/// one invoice are recorded on it (status `failed`, reason, needs-attention
/// entry) and the message is done; passing ones return the message to the
/// queue. The `Display` text is logged and stored: it never contains an
/// e-mail address.
#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    /// The queue message is not a delivery request.
    #[error("delivery request is malformed: {reason}")]
    BadRequest {
        /// What is wrong with it.
        reason: String,
    },
    /// The invoice does not exist.
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
    /// Another worker is sending this invoice or letter right now.
    #[error("{dispatch} is being sent by another worker until {until}")]
    InProgress {
        /// The invoice or letter.
        dispatch: String,
        /// When that worker's claim lapses.
        until: String,
    },
    /// This invoice cannot be sent as it stands: the account has no
    /// address left, or the message cannot be put to SES.
    #[error("{reason}")]
    Unsendable {
        /// What is missing or wrong, for billing staff.
        reason: String,
    },
    /// An archived file is missing from the request or differs from its
    /// recorded checksum: the invoice is not sent with the wrong bytes.
    #[error("archived document {key}: {reason}")]
    Document {
        /// The object key.
        key: String,
        /// What is wrong.
        reason: String,
    },
    /// The e-mail could not be written (template, address, MIME).
    #[error(transparent)]
    Compose(#[from] DocumentError),
    /// The store refused or could not be reached.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// S3 could not hand out an archived file.
    #[error("{operation} of {key} failed: {message}")]
    Archive {
        /// The API call.
        operation: &'static str,
        /// The object key.
        key: String,
        /// Whether retrying can help.
        disposition: Disposition,
        /// The SDK's error text.
        message: String,
    },
    /// SES did not accept the message.
    #[error("SES refused the message ({code}): {message}")]
    Ses {
        /// SES's error code, e.g. `MessageRejected`.
        code: String,
        /// Whether retrying can help.
        disposition: Disposition,
        /// SES's explanation, addresses redacted.
        message: String,
    },
}

impl DeliveryError {
    /// Classify an SES `SendEmail` failure once.
    pub fn ses<E, R>(error: &SdkError<E, R>) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
        R: std::fmt::Debug,
    {
        let code = error.code().unwrap_or("unknown").to_owned();
        let disposition = if SES_LATER.contains(&code.as_str()) {
            Disposition::Retryable
        } else {
            sdk_error_disposition(error)
        };
        let message = match error.message() {
            Some(message) => message.to_owned(),
            None => DisplayErrorContext(error).to_string(),
        };
        Self::Ses {
            code,
            disposition,
            message: redact_email_addresses(&message),
        }
    }

    /// Whether the failure belongs to this invoice and is final, so it is
    /// recorded as its outcome (rather than the message retried or dropped).
    pub fn is_invoice_outcome(&self) -> bool {
        self.disposition() == Disposition::Permanent
            && matches!(
                self,
                Self::Unsendable { .. }
                    | Self::Document { .. }
                    | Self::Compose(_)
                    | Self::Ses { .. }
                    | Self::Archive { .. }
            )
    }
}

impl Failure for DeliveryError {
    fn disposition(&self) -> Disposition {
        match self {
            Self::Store(err) => err.disposition(),
            Self::Archive { disposition, .. } | Self::Ses { disposition, .. } => *disposition,
            Self::InProgress { .. } => Disposition::Retryable,
            Self::BadRequest { .. }
            | Self::UnknownInvoice { .. }
            | Self::UnknownLetter { .. }
            | Self::Unsendable { .. }
            | Self::Document { .. }
            | Self::Compose(_) => Disposition::Permanent,
        }
    }

    fn code(&self) -> &'static str {
        match self {
            Self::BadRequest { .. } => "bad_request",
            Self::UnknownInvoice { .. } => "unknown_invoice",
            Self::UnknownLetter { .. } => "unknown_letter",
            Self::InProgress { .. } => "in_progress",
            Self::Unsendable { .. } => "unsendable",
            Self::Document { .. } => "document_mismatch",
            Self::Compose(_) => "compose_failed",
            Self::Store(err) => err.code(),
            Self::Archive { .. } => "archive_unavailable",
            Self::Ses { .. } => "ses_refused",
        }
    }
}

#[cfg(test)]
mod tests {
    use aws_sdk_sesv2::operation::send_email::SendEmailError;
    use aws_sdk_sesv2::types::error::{
        MessageRejected, SendingPausedException, TooManyRequestsException,
    };
    use aws_smithy_runtime_api::http::{Response, StatusCode};
    use aws_smithy_types::body::SdkBody;

    use super::*;

    fn meta(code: &str, message: &str) -> aws_sdk_sesv2::error::ErrorMetadata {
        aws_sdk_sesv2::error::ErrorMetadata::builder()
            .code(code)
            .message(message)
            .build()
    }

    fn refused(err: SendEmailError) -> DeliveryError {
        let response = Response::new(StatusCode::try_from(400).unwrap(), SdkBody::empty());
        DeliveryError::ses(&SdkError::service_error(err, response))
    }

    #[test]
    fn a_rejected_message_is_final_and_its_text_names_no_address() {
        let text = "Email address is not verified: invoices@unverified.example.net";
        let err = refused(SendEmailError::MessageRejected(
            MessageRejected::builder()
                .message(text)
                .meta(meta("MessageRejected", text))
                .build(),
        ));
        assert_eq!(err.disposition(), Disposition::Permanent);
        assert!(err.is_invoice_outcome());
        assert_eq!(
            err.to_string(),
            "SES refused the message (MessageRejected): Email address is not verified: <e-mail address>"
        );
    }

    #[test]
    fn throttling_and_a_paused_account_wait_in_the_queue() {
        let throttled = refused(SendEmailError::TooManyRequestsException(
            TooManyRequestsException::builder()
                .meta(meta("TooManyRequestsException", "slow down"))
                .build(),
        ));
        let paused = refused(SendEmailError::SendingPausedException(
            SendingPausedException::builder()
                .meta(meta("SendingPausedException", "sending is paused"))
                .build(),
        ));
        for err in [throttled, paused] {
            assert_eq!(err.disposition(), Disposition::Retryable, "{err}");
            assert!(!err.is_invoice_outcome());
        }
    }

    #[test]
    fn a_timeout_is_retried_and_never_recorded_as_the_outcome() {
        let err = DeliveryError::ses(&SdkError::<SendEmailError, Response>::timeout_error(
            "read timed out",
        ));
        assert_eq!(err.disposition(), Disposition::Retryable);
        assert!(!err.is_invoice_outcome());
    }
}
