//! One letter request: load the recorded dunning letter, render it, archive
//! the PDF, hand the letter to delivery, record what was archived.
//!
//! The same order as an invoice's documents, for the same reason (see
//! [`crate::service`]): archive (idempotent), request delivery, then
//! record. A crash before the record makes the retry send a second
//! delivery request, which the delivery function ignores once the letter
//! is sent; recording first could lose the e-mail for good.

use billing_store::LetterDeliveryRequest;

use crate::archive::{self, Archived, Document};
use crate::error::InvoicePdfError;
use crate::service::{DocumentService, Produced};

impl DocumentService {
    /// Produces and archives the PDF of dunning letter `letter_id`, then
    /// asks for its e-mail.
    pub async fn produce_letter(&self, letter_id: &str) -> Result<Produced, InvoicePdfError> {
        let stored = self
            .store()
            .dunning_letter(letter_id)
            .await?
            .ok_or_else(|| InvoicePdfError::UnknownLetter {
                letter_id: letter_id.to_owned(),
            })?;
        if stored.document.is_some() {
            return Ok(Produced::AlreadyArchived);
        }
        let letter = &stored.letter;
        // Seller, customer and the payment reference as on the oldest
        // invoice the letter lists (the lines are sorted oldest first).
        let oldest = letter
            .lines
            .first()
            .ok_or_else(|| InvoicePdfError::BadRequest {
                reason: format!("dunning letter {letter_id} lists no invoice"),
            })?;
        let invoice = self
            .store()
            .invoice(&oldest.invoice_id)
            .await?
            .ok_or_else(|| InvoicePdfError::UnknownInvoice {
                invoice_id: oldest.invoice_id.to_string(),
            })?
            .invoice;
        let content = invoice.content();
        let reference = letter.payment_reference(content.references.payment_reference.as_deref());
        let pdf =
            self.letters()
                .render(letter, &content.seller, &content.buyer, Some(&reference))?;
        let document = Document::new(archive::letter_key(letter), archive::PDF, pdf);
        let locked_until = self
            .archive()
            .retention()
            .for_business_letters()
            .locked_until(letter.date);
        let written = self
            .archive()
            .put_once_labelled(
                &document,
                locked_until,
                &[
                    ("letter-id", &letter.letter_id),
                    ("account-id", letter.account_id.as_str()),
                ],
            )
            .await?
            == Archived::Stored;
        let record = document.record();
        self.send_to_delivery(&LetterDeliveryRequest {
            letter_id: letter_id.to_owned(),
            document: record.clone(),
        })
        .await?;
        self.store()
            .record_letter_document(letter_id, &record.key, &record.sha256)
            .await?;
        Ok(Produced::Archived {
            documents: vec![record],
            written: usize::from(written),
        })
    }
}
