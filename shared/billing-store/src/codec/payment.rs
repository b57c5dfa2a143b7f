//! Payments (`INVOICE#<id>` / `PAYMENT#<id>`), statements and their handled
//! entries, review entries and payer links.

use super::Attr;

/// The payment id.
pub(crate) const PAYMENT_ID: Attr = Attr::new("payment_id");
/// The invoice paid.
pub(crate) const INVOICE_ID: Attr = Attr::new("invoice_id");
/// The customer (payer link).
pub(crate) const ACCOUNT_ID: Attr = Attr::new("account_id");
/// Amount (positive: paid; negative: returned).
pub(crate) const AMOUNT: Attr = Attr::new("amount");
/// ISO 4217 code.
pub(crate) const CURRENCY: Attr = Attr::new("currency");
/// The bank's value date.
pub(crate) const VALUE_DATE: Attr = Attr::new("value_date");
/// How it was matched (`MatchRule`).
pub(crate) const RULE: Attr = Attr::new("rule");
/// Why it was booked like this.
pub(crate) const REASON: Attr = Attr::new("reason");
/// The statement it came from.
pub(crate) const STATEMENT_ID: Attr = Attr::new("statement_id");
/// The bank entry within it.
pub(crate) const ENTRY_ID: Attr = Attr::new("entry_id");
/// When it was booked.
pub(crate) const BOOKED_AT: Attr = Attr::new("booked_at");
/// ISO 20022 return reason of a return.
pub(crate) const RETURN_REASON: Attr = Attr::new("return_reason");
/// The bank's fee on a return.
pub(crate) const BANK_FEE: Attr = Attr::new("bank_fee");
/// What became of a statement entry (`booked`, `review`).
pub(crate) const OUTCOME: Attr = Attr::new("outcome");
/// The bank's reason code on the marker of a rejected direct debit
/// (pain.002 `RJCT`).
pub(crate) const REASON_CODE: Attr = Attr::new("reason_code");
