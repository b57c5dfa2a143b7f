//! Payments against an invoice: what is still open, and whether the invoice
//! is open, partially paid, paid or overpaid.
//!
//! The summary is always recomputed from the full list of payments rather
//! than updated incrementally, so replaying a bank statement cannot count a
//! payment twice as long as payments are stored by [`PaymentId`].

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::DomainError;
use crate::ids::PaymentId;
use crate::invoice::Invoice;
use crate::money::Money;

/// Money received for an invoice (or, negative, a returned direct debit or
/// chargeback that takes a payment back).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Payment {
    /// Our id, so each bank statement line is applied once.
    pub id: PaymentId,
    /// Amount in the invoice currency, in whole minor units.
    pub amount: Money,
    /// Value date.
    pub received_on: NaiveDate,
    /// Remittance text as received, for audit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
}

/// Where an invoice stands after its payments.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PaymentStatus {
    /// Nothing (net) received yet.
    Open,
    /// Some received, some still open.
    PartiallyPaid,
    /// Exactly settled.
    Paid,
    /// More received than due; the surplus is customer credit.
    Overpaid,
}

/// The outcome of applying payments to an amount due.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentSummary {
    /// Status for dunning and reporting.
    pub status: PaymentStatus,
    /// What the invoice asked for.
    pub amount_due: Money,
    /// Net sum received.
    pub paid: Money,
    /// Still to be paid (zero once paid or overpaid).
    pub open: Money,
    /// Surplus to be refunded or offset against later invoices.
    pub customer_credit: Money,
}

impl PaymentSummary {
    /// Applies `payments` to an invoice's amount due.
    pub fn for_invoice(invoice: &Invoice, payments: &[Payment]) -> Result<Self, DomainError> {
        Self::apply(invoice.amount_due(), payments)
    }

    /// Applies `payments` to `amount_due`. Payments in another currency, or
    /// finer than the minor unit, are refused with the payment named.
    pub fn apply(amount_due: Money, payments: &[Payment]) -> Result<Self, DomainError> {
        let currency = amount_due.currency();
        let mut paid = Money::zero(currency);
        for (i, payment) in payments.iter().enumerate() {
            payment
                .amount
                .ensure_currency(currency, &format!("payments[{i}].amount.currency"))?;
            if !payment.amount.is_rounded() {
                return Err(DomainError::invalid(
                    format!("payments[{i}].amount"),
                    format!("more decimals than {currency} has"),
                ));
            }
            paid = paid.checked_add(payment.amount)?;
        }
        let difference = amount_due.checked_sub(paid)?.round();
        let zero = Money::zero(currency);
        let status = if difference.is_zero() {
            PaymentStatus::Paid
        } else if difference.is_negative() {
            PaymentStatus::Overpaid
        } else if paid.is_positive() {
            PaymentStatus::PartiallyPaid
        } else {
            PaymentStatus::Open
        };
        Ok(Self {
            status,
            amount_due,
            paid: paid.round(),
            open: if difference.is_positive() {
                difference
            } else {
                zero
            },
            customer_credit: if difference.is_negative() {
                -difference
            } else {
                zero
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::money::Currency;
    use rust_decimal_macros::dec;

    fn eur(amount: rust_decimal::Decimal) -> Money {
        Money::new(amount, Currency::EUR)
    }

    fn payment(id: &str, amount: Money) -> Payment {
        Payment {
            id: PaymentId::new(id),
            amount,
            received_on: NaiveDate::from_ymd_opt(2026, 2, 1).unwrap(),
            reference: Some("RE-2026-000001".into()),
        }
    }

    #[test]
    fn open_partial_paid_overpaid() {
        let due = eur(dec!(119.00));
        let s = PaymentSummary::apply(due, &[]).unwrap();
        assert_eq!(
            (s.status, s.open.amount()),
            (PaymentStatus::Open, dec!(119.00))
        );

        let s = PaymentSummary::apply(due, &[payment("p1", eur(dec!(100.00)))]).unwrap();
        assert_eq!(s.status, PaymentStatus::PartiallyPaid);
        assert_eq!(s.open.amount().to_string(), "19.00");
        assert_eq!(s.customer_credit.amount().to_string(), "0.00");

        let both = [
            payment("p1", eur(dec!(100.00))),
            payment("p2", eur(dec!(19.00))),
        ];
        let s = PaymentSummary::apply(due, &both).unwrap();
        assert_eq!(s.status, PaymentStatus::Paid);
        assert!(s.open.is_zero() && s.customer_credit.is_zero());

        let over = [
            payment("p1", eur(dec!(100.00))),
            payment("p2", eur(dec!(25.50))),
        ];
        let s = PaymentSummary::apply(due, &over).unwrap();
        assert_eq!(s.status, PaymentStatus::Overpaid);
        assert_eq!(s.paid.amount().to_string(), "125.50");
        assert_eq!(s.customer_credit.amount().to_string(), "6.50");
        assert!(s.open.is_zero());
    }

    #[test]
    fn chargeback_reopens() {
        let due = eur(dec!(50.00));
        let pays = [
            payment("p1", eur(dec!(50.00))),
            payment("p2", eur(dec!(-50.00))),
        ];
        let s = PaymentSummary::apply(due, &pays).unwrap();
        assert_eq!(s.status, PaymentStatus::Open);
        assert_eq!(s.open.amount(), dec!(50.00));
    }

    #[test]
    fn refuses_other_currency_and_sub_cent_amounts() {
        let due = eur(dec!(10));
        let usd = payment("p1", Money::new(dec!(10), Currency::USD));
        let err = PaymentSummary::apply(due, &[usd]).unwrap_err();
        assert!(err.to_string().starts_with("payments[0].amount.currency:"));
        let fine = payment("p1", eur(dec!(9.999)));
        assert!(PaymentSummary::apply(due, &[fine]).is_err());
    }

    #[test]
    fn serde_names() {
        let s = PaymentSummary::apply(eur(dec!(10.00)), &[]).unwrap();
        let json = serde_json::to_string(&s).unwrap();
        assert!(
            json.starts_with(
                r#"{"status":"open","amount_due":{"amount":"10.00","currency":"EUR"}"#
            )
        );
        assert_eq!(serde_json::from_str::<PaymentSummary>(&json).unwrap(), s);
    }
}
