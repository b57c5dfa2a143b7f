//! Customer credit movements (`ACCOUNT#<id>` / `CREDIT#<id>`).

use billing_domain::ids::AccountId;
use billing_domain::money::Money;
use chrono::{DateTime, NaiveDate, Utc};

use super::{Attr, ItemAttributes, RECORD_TYPE};
use crate::attributes::{Item, key_item, s, time};
use crate::keys;

/// Positive: credit arose; negative: applied or refunded.
pub(crate) const AMOUNT: Attr = Attr::new("amount");
/// ISO 4217 code.
pub(crate) const CURRENCY: Attr = Attr::new("currency");
/// When it arose.
pub(crate) const VALUE_DATE: Attr = Attr::new("value_date");
/// Why.
pub(crate) const REASON: Attr = Attr::new("reason");
/// What moved it ([`CreditKind`]).
pub(crate) const KIND: Attr = Attr::new("kind");
/// The statement of an overpayment.
pub(crate) const STATEMENT_ID: Attr = Attr::new("statement_id");
/// Its bank entry.
pub(crate) const ENTRY_ID: Attr = Attr::new("entry_id");
/// When it was booked.
pub(crate) const BOOKED_AT: Attr = Attr::new("booked_at");

/// What moved a customer's credit (the stored `kind`). Every movement
/// carries one; entries written before the overpayment path wrote it have
/// none and are read as what they were, the surplus of a bank entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CreditKind {
    /// The surplus of a bank entry over what it paid.
    Overpayment,
    /// What was paid on an invoice that a credit note cancelled or credited.
    CreditNote,
    /// Credit spent on an invoice.
    Applied,
    /// Credit paid back to the customer.
    Refund,
}

impl CreditKind {
    const ALL: [Self; 4] = [
        Self::Overpayment,
        Self::CreditNote,
        Self::Applied,
        Self::Refund,
    ];

    /// The stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Overpayment => "overpayment",
            Self::CreditNote => "credit_note",
            Self::Applied => "applied",
            Self::Refund => "refund",
        }
    }

    /// The kind stored as `stored`, if it is one.
    pub fn parse(stored: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.as_str() == stored)
    }
}

/// One movement of customer credit, as stored: the one writer of the item.
pub(crate) struct CreditMovement<'a> {
    /// The customer.
    pub account: &'a AccountId,
    /// Its id (the sort key after `CREDIT#`).
    pub id: &'a str,
    /// Positive: credit arose; negative: spent or refunded.
    pub amount: Money,
    /// What moved it.
    pub kind: CreditKind,
    /// The day it arose or was spent.
    pub value_date: NaiveDate,
    /// Why, for people reading the account.
    pub reason: &'a str,
    /// When it was booked.
    pub booked_at: DateTime<Utc>,
    /// The statement and entry of an overpayment.
    pub bank_entry: Option<(&'a str, &'a str)>,
}

impl CreditMovement<'_> {
    /// The item, keyed `ACCOUNT#<account>` / `CREDIT#<id>`.
    pub(crate) fn item(&self) -> Item {
        let mut item = key_item((
            keys::account_partition(self.account),
            format!("{}{}", keys::CREDIT_PREFIX, self.id),
        ));
        item.put(RECORD_TYPE, s("customer_credit"));
        item.put(AMOUNT, s(self.amount.amount().to_string()));
        item.put(CURRENCY, s(self.amount.currency().code()));
        item.put(VALUE_DATE, s(self.value_date.to_string()));
        item.put(KIND, s(self.kind.as_str()));
        item.put(REASON, s(self.reason));
        item.put(BOOKED_AT, time(self.booked_at));
        if let Some((statement, entry)) = self.bank_entry {
            item.put(STATEMENT_ID, s(statement));
            item.put(ENTRY_ID, s(entry));
        }
        item
    }
}

#[cfg(test)]
mod tests {
    use aws_sdk_dynamodb::types::AttributeValue;
    use billing_domain::money::Currency;
    use rust_decimal::Decimal;

    use super::*;

    #[test]
    fn every_kind_is_stored_and_read_back_by_its_name() {
        for kind in CreditKind::ALL {
            assert_eq!(CreditKind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(CreditKind::parse("refunded"), None);
    }

    #[test]
    fn an_overpayment_is_stored_with_its_kind_and_bank_entry() {
        let account = AccountId::new("acc_1");
        let at = DateTime::parse_from_rfc3339("2026-03-02T09:30:00Z")
            .unwrap()
            .to_utc();
        let item = CreditMovement {
            account: &account,
            id: "crd_1",
            amount: Money::new(Decimal::new(35000, 2), Currency::from_code("EUR").unwrap()),
            kind: CreditKind::Overpayment,
            value_date: NaiveDate::from_ymd_opt(2026, 3, 1).unwrap(),
            reason: "surplus of entry 7",
            booked_at: at,
            bank_entry: Some(("stm_1", "7")),
        }
        .item();
        let text = |name: &str| match item.get(name) {
            Some(AttributeValue::S(value)) => value.as_str(),
            other => panic!("{name}: {other:?}"),
        };
        assert_eq!(text("pk"), "ACCOUNT#acc_1");
        assert_eq!(text("sk"), "CREDIT#crd_1");
        assert_eq!(text("record_type"), "customer_credit");
        assert_eq!(text("amount"), "350.00");
        assert_eq!(text("currency"), "EUR");
        assert_eq!(text("value_date"), "2026-03-01");
        assert_eq!(text("kind"), "overpayment");
        assert_eq!(text("reason"), "surplus of entry 7");
        assert_eq!(text("booked_at"), "2026-03-02T09:30:00.000Z");
        assert_eq!(text("statement_id"), "stm_1");
        assert_eq!(text("entry_id"), "7");
        assert_eq!(item.len(), 11);
    }
}
