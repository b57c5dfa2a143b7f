//! SEPA collection batches (`COLLECTION#<batch>` / `BATCH`) and their
//! members.

use super::Attr;

/// The batch.
pub(crate) const BATCH_ID: Attr = Attr::new("batch_id");
/// Open, sealed or collected.
pub(crate) const STATE: Attr = Attr::new("state");
/// How many invoices it holds.
pub(crate) const MEMBERS: Attr = Attr::new("members");
/// The written file (JSON).
pub(crate) const COLLECTION_FILE: Attr = Attr::new("collection_file");
/// When a clerk first downloaded it.
pub(crate) const HANDED_OVER_AT: Attr = Attr::new("handed_over_at");
/// Who did.
pub(crate) const HANDED_OVER_BY: Attr = Attr::new("handed_over_by");
/// Downloads so far.
pub(crate) const DOWNLOADS: Attr = Attr::new("downloads");
/// A member invoice.
pub(crate) const INVOICE_ID: Attr = Attr::new("invoice_id");
/// The `record_type` of the batch item (a value, the same word as the
/// invoice's `collection_batch` attribute).
pub(crate) const BATCH_RECORD_TYPE: &str = "collection_batch";
