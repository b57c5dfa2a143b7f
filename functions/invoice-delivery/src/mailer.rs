//! SES v2 `SendEmail` with raw content: our MIME goes out byte for byte,
//! through the configuration set whose events (send, delivery, bounce,
//! complaint) come back through SNS to the delivery-events function.

use aws_sdk_sesv2::primitives::Blob;
use aws_sdk_sesv2::types::{EmailContent, MessageTag, RawMessage};
use billing_domain::ids::InvoiceId;
use billing_domain::party::EmailAddress;

use crate::error::DeliveryError;

/// The tag that ties SES's events back to the invoice.
pub const INVOICE_TAG: &str = "invoice_id";

/// Sends invoice e-mails.
#[derive(Debug, Clone)]
pub struct Mailer {
    ses: aws_sdk_sesv2::Client,
    configuration_set: String,
}

impl Mailer {
    /// Sends through `configuration_set` (the template's `SES_CONFIGURATION_SET`).
    pub fn new(ses: aws_sdk_sesv2::Client, configuration_set: impl Into<String>) -> Self {
        Self {
            ses,
            configuration_set: configuration_set.into(),
        }
    }

    /// Hands the raw message to SES; recipients come from its To and Cc
    /// headers. Returns SES's message id.
    pub async fn send(
        &self,
        invoice: &InvoiceId,
        from: &EmailAddress,
        raw: Vec<u8>,
    ) -> Result<String, DeliveryError> {
        let tag = invoice_tag(invoice)?;
        let raw = RawMessage::builder()
            .data(Blob::new(raw))
            .build()
            .map_err(|e| DeliveryError::Unsendable {
                reason: format!("the raw message cannot be handed to SES: {e}"),
            })?;
        let output = self
            .ses
            .send_email()
            .from_email_address(from.as_str())
            .content(EmailContent::builder().raw(raw).build())
            .configuration_set_name(&self.configuration_set)
            .email_tags(tag)
            .send()
            .await
            .map_err(|e| DeliveryError::ses(&e))?;
        output.message_id.ok_or_else(|| DeliveryError::Ses {
            code: "NoMessageId".to_owned(),
            disposition: billing_lambda::Disposition::Permanent,
            message: "SES accepted the message but returned no message id".to_owned(),
        })
    }
}

/// SES tag values may hold only ASCII letters, digits, `_`, `-`, `.` and
/// `@`; every id we mint fits.
fn invoice_tag(invoice: &InvoiceId) -> Result<MessageTag, DeliveryError> {
    let value = invoice.as_str();
    let fits = value.len() <= 256
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
    if !fits {
        return Err(DeliveryError::Unsendable {
            reason: format!("invoice id {value} cannot be an SES message tag"),
        });
    }
    MessageTag::builder()
        .name(INVOICE_TAG)
        .value(value)
        .build()
        .map_err(|e| DeliveryError::Unsendable {
            reason: format!("message tag: {e}"),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minted_invoice_ids_fit_a_tag_and_others_are_refused() {
        assert!(invoice_tag(&InvoiceId::new("inv_0a1b2c")).is_ok());
        assert!(invoice_tag(&InvoiceId::new("inv-19af-123-4")).is_ok());
        let err = invoice_tag(&InvoiceId::new("inv 1/2")).unwrap_err();
        assert!(err.to_string().contains("cannot be an SES message tag"));
    }
}
