//! SES v2 `SendEmail` with raw content: our MIME goes out byte for byte,
//! through the configuration set whose events (send, delivery, bounce,
//! complaint) come back through SNS to the delivery-events function.

use aws_sdk_sesv2::primitives::Blob;
use aws_sdk_sesv2::types::{EmailContent, MessageTag, RawMessage};
use billing_domain::party::EmailAddress;
use billing_store::Dispatch;

use crate::error::DeliveryError;

/// The tag that ties SES's events back to the invoice.
pub const INVOICE_TAG: &str = "invoice_id";
/// The tag that ties SES's events back to a dunning letter.
pub const LETTER_TAG: &str = "letter_id";

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
        dispatch: &Dispatch,
        from: &EmailAddress,
        raw: Vec<u8>,
    ) -> Result<String, DeliveryError> {
        let tag = dispatch_tag(dispatch)?;
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
fn dispatch_tag(dispatch: &Dispatch) -> Result<MessageTag, DeliveryError> {
    let value = dispatch.id();
    let name = match dispatch {
        Dispatch::Invoice(_) => INVOICE_TAG,
        Dispatch::DunningLetter(_) => LETTER_TAG,
    };
    let fits = value.len() <= 256
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
    if !fits {
        return Err(DeliveryError::Unsendable {
            reason: format!("{dispatch} cannot be named in an SES message tag"),
        });
    }
    MessageTag::builder()
        .name(name)
        .value(value)
        .build()
        .map_err(|e| DeliveryError::Unsendable {
            reason: format!("message tag: {e}"),
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use billing_domain::ids::InvoiceId;

    #[test]
    fn minted_ids_fit_a_tag_and_others_are_refused() {
        let invoice = |id: &str| Dispatch::Invoice(InvoiceId::new(id));
        assert!(dispatch_tag(&invoice("inv_0a1b2c")).is_ok());
        assert!(dispatch_tag(&invoice("inv-19af-123-4")).is_ok());
        let letter = dispatch_tag(&Dispatch::DunningLetter("dun_0a1b".to_owned())).unwrap();
        assert_eq!((letter.name(), letter.value()), (LETTER_TAG, "dun_0a1b"));
        let err = dispatch_tag(&invoice("inv 1/2")).unwrap_err();
        assert!(
            err.to_string()
                .contains("cannot be named in an SES message tag")
        );
    }
}
