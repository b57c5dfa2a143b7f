//! Dunning letters (`LETTER#<id>` / `LETTER`).

use super::Attr;

/// The letter.
pub(crate) const LETTER_ID: Attr = Attr::new("letter_id");
/// The customer.
pub(crate) const ACCOUNT_ID: Attr = Attr::new("account_id");
/// The seller.
pub(crate) const BILLING_ENTITY_ID: Attr = Attr::new("billing_entity_id");
/// The letter's date.
pub(crate) const LETTER_DATE: Attr = Attr::new("letter_date");
/// Whether it is rendered and sent.
pub(crate) const LETTER_STATUS: Attr = Attr::new("letter_status");
/// S3 key of its PDF.
pub(crate) const PDF_KEY: Attr = Attr::new("pdf_key");
/// Hex SHA-256 of the PDF.
pub(crate) const PDF_SHA256: Attr = Attr::new("pdf_sha256");
/// When it was recorded.
pub(crate) const CREATED_AT: Attr = Attr::new("created_at");
