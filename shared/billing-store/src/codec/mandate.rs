//! SEPA mandates (`ACCOUNT#<id>` / `MANDATE#<id>`) and reference guards
//! (`MANDATEREF#…`).

use super::Attr;

/// The mandate.
pub(crate) const MANDATE_ID: Attr = Attr::new("mandate_id");
/// The customer.
pub(crate) const ACCOUNT_ID: Attr = Attr::new("account_id");
/// When it was recorded.
pub(crate) const RECORDED_AT: Attr = Attr::new("recorded_at");
/// The mandate reference.
pub(crate) const REFERENCE: Attr = Attr::new("reference");
/// The creditor identifier.
pub(crate) const CREDITOR_IDENTIFIER: Attr = Attr::new("creditor_identifier");
