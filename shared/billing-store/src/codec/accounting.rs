//! Booking periods (`PERIODS#<entity>`), debtor numbers (`DEBTORS#<entity>`,
//! `ACCOUNT#<id>` / `DEBTOR`) and exports.

use super::Attr;

/// The period (`YYYY-MM`).
pub(crate) const MONTH: Attr = Attr::new("month");
/// When it was locked.
pub(crate) const LOCKED_AT: Attr = Attr::new("locked_at");
/// Who closed it.
pub(crate) const CLOSED_BY: Attr = Attr::new("closed_by");
/// The exported files (JSON).
pub(crate) const EXPORT: Attr = Attr::new("export");
/// When it was exported.
pub(crate) const EXPORTED_AT: Attr = Attr::new("exported_at");
/// The last debtor number given.
pub(crate) const LAST: Attr = Attr::new("last");
/// The customer's debtor account number.
pub(crate) const DEBTOR_ACCOUNT: Attr = Attr::new("debtor_account");
/// The customer.
pub(crate) const ACCOUNT_ID: Attr = Attr::new("account_id");
/// Why it was closed.
pub(crate) const REASON: Attr = Attr::new("reason");
/// The seller.
pub(crate) const BILLING_ENTITY_ID: Attr = Attr::new("billing_entity_id");
/// The `record_type` of a customer's debtor number item (a value, the same
/// word as [`DEBTOR_ACCOUNT`]).
pub(crate) const DEBTOR_RECORD_TYPE: &str = "debtor_account";
