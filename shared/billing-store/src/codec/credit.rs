//! Customer credit movements (`ACCOUNT#<id>` / `CREDIT#<id>`).

use super::Attr;

/// Positive: credit arose; negative: applied or refunded.
pub(crate) const AMOUNT: Attr = Attr::new("amount");
/// ISO 4217 code.
pub(crate) const CURRENCY: Attr = Attr::new("currency");
/// When it arose.
pub(crate) const VALUE_DATE: Attr = Attr::new("value_date");
/// Why.
pub(crate) const REASON: Attr = Attr::new("reason");
/// What kind of movement (`overpayment`, `credit_note`, `applied`,
/// `refunded`, ...).
pub(crate) const KIND: Attr = Attr::new("kind");
/// The statement of an overpayment.
pub(crate) const STATEMENT_ID: Attr = Attr::new("statement_id");
/// Its bank entry.
pub(crate) const ENTRY_ID: Attr = Attr::new("entry_id");
/// When it was booked.
pub(crate) const BOOKED_AT: Attr = Attr::new("booked_at");
