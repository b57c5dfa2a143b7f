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
use crate::money::{Currency, Money};

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

/// What booking one bank line against an invoice does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Booking {
    /// The part that lowers (negative: raises) the invoice's open amount.
    pub to_invoice: Money,
    /// The part the invoice did not need: customer credit on the account.
    pub to_credit: Money,
    /// The invoice after the booking.
    pub after: PaymentSummary,
}

impl PaymentSummary {
    /// The summary of an invoice of `amount_due` of which `paid` (net) was
    /// received.
    pub fn from_paid(amount_due: Money, paid: Money) -> Result<Self, DomainError> {
        let currency = amount_due.currency();
        let payment = Payment {
            id: PaymentId::new("paid"),
            amount: paid.round(),
            received_on: NaiveDate::MIN,
            reference: None,
        };
        paid.ensure_currency(currency, "paid.currency")?;
        Self::apply(amount_due, std::slice::from_ref(&payment))
    }

    /// Books `amount` against this invoice: a credit pays at most what is
    /// open and the rest becomes customer credit, so an invoice itself is
    /// never overpaid; a debit (a returned direct debit or reversed credit,
    /// negative) reopens what it takes back and may not take back more than
    /// was paid.
    pub fn book(&self, amount: Money) -> Result<Booking, DomainError> {
        let currency = self.ensure_bookable(amount)?;
        let zero = Money::zero(currency);
        let (to_invoice, to_credit) = if amount.is_negative() {
            if (-amount).compare(&self.paid)?.is_gt() {
                return Err(DomainError::invalid(
                    "amount",
                    format!(
                        "a return of {} exceeds the {} paid on the invoice",
                        -amount, self.paid
                    ),
                ));
            }
            (amount, zero)
        } else if amount.compare(&self.open)?.is_gt() {
            (self.open, amount.checked_sub(self.open)?)
        } else {
            (amount, zero)
        };
        let after = Self::from_paid(self.amount_due, self.paid.checked_add(to_invoice)?)?;
        Ok(Booking {
            to_invoice,
            to_credit,
            after,
        })
    }
}

impl PaymentSummary {
    /// Refuses an amount to book in another currency or finer than its
    /// minor unit; the invoice's currency otherwise.
    fn ensure_bookable(&self, amount: Money) -> Result<Currency, DomainError> {
        let currency = self.amount_due.currency();
        amount.ensure_currency(currency, "amount.currency")?;
        if !amount.is_rounded() {
            return Err(DomainError::invalid(
                "amount",
                format!("more decimals than {currency} has"),
            ));
        }
        Ok(currency)
    }

    /// The summary once a credit note of `credit` (gross, positive) lowered
    /// what the invoice asks for (§17(1) UStG reduces the consideration):
    /// what was paid stays paid, and what it now exceeds is customer credit.
    pub fn credited(&self, credit: Money) -> Result<Self, DomainError> {
        let currency = self.amount_due.currency();
        credit.ensure_currency(currency, "credit.currency")?;
        if credit.is_negative() {
            return Err(DomainError::invalid(
                "credit",
                "a credit cannot be negative",
            ));
        }
        Self::from_paid(self.amount_due.checked_sub(credit)?, self.paid)
    }

    /// The day the invoice counts as paid in full after a change on `day`
    /// took it from `self` to `after`: whatever brings the open amount to
    /// zero (a payment, applied customer credit, or a credit note) settles
    /// it on its day, so an invoice settled by a credit note still counts in
    /// days-to-pay and the on-time share (see [`crate::receivables`]). An
    /// invoice settled already keeps its day `settled_on`; one still open
    /// afterwards has none.
    pub fn paid_in_full_on(
        &self,
        settled_on: Option<NaiveDate>,
        after: &Self,
        day: NaiveDate,
    ) -> Option<NaiveDate> {
        if after.open.is_positive() {
            None
        } else if self.open.is_positive() {
            Some(day)
        } else {
            settled_on.or(Some(day))
        }
    }
}

/// The heads of what a debtor owes on one invoice, in the order §367(1)
/// BGB settles them: costs (dunning fees, the flat fee of §288(5) BGB),
/// then interest (default interest, §288(1)/(2) BGB), then the principal
/// (the invoice's gross amount).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClaimHead {
    /// Costs of collection: dunning fees and the business flat fee.
    Costs,
    /// Default interest.
    Interest,
    /// The invoice amount itself.
    Principal,
}

impl ClaimHead {
    /// §367(1) BGB: "zunächst auf die Kosten, dann auf die Zinsen und
    /// zuletzt auf die Hauptleistung".
    pub const STATUTORY_ORDER: [ClaimHead; 3] = [Self::Costs, Self::Interest, Self::Principal];
}

/// An amount per claim head (what is open, what was paid, or what one
/// payment settles), all in one currency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// Costs (dunning fees, flat fee).
    pub costs: Money,
    /// Default interest.
    pub interest: Money,
    /// The invoice amount.
    pub principal: Money,
}

impl Claims {
    /// Nothing on any head.
    pub fn zero(currency: Currency) -> Self {
        let zero = Money::zero(currency);
        Self {
            costs: zero,
            interest: zero,
            principal: zero,
        }
    }

    /// Only a principal (an invoice before any fee or interest is claimed).
    pub fn principal(principal: Money) -> Self {
        Self {
            principal,
            ..Self::zero(principal.currency())
        }
    }

    /// The currency of the principal (all heads share it).
    pub fn currency(&self) -> Currency {
        self.principal.currency()
    }

    /// The amount on `head`.
    pub fn get(&self, head: ClaimHead) -> Money {
        match head {
            ClaimHead::Costs => self.costs,
            ClaimHead::Interest => self.interest,
            ClaimHead::Principal => self.principal,
        }
    }

    fn get_mut(&mut self, head: ClaimHead) -> &mut Money {
        match head {
            ClaimHead::Costs => &mut self.costs,
            ClaimHead::Interest => &mut self.interest,
            ClaimHead::Principal => &mut self.principal,
        }
    }

    /// Costs + interest + principal.
    pub fn total(&self) -> Result<Money, DomainError> {
        Money::sum(self.currency(), [self.costs, self.interest, self.principal])
    }

    /// Head by head sum.
    pub fn checked_add(&self, other: &Self) -> Result<Self, DomainError> {
        Ok(Self {
            costs: self.costs.checked_add(other.costs)?,
            interest: self.interest.checked_add(other.interest)?,
            principal: self.principal.checked_add(other.principal)?,
        })
    }

    /// Head by head difference.
    pub fn checked_sub(&self, other: &Self) -> Result<Self, DomainError> {
        Ok(Self {
            costs: self.costs.checked_sub(other.costs)?,
            interest: self.interest.checked_sub(other.interest)?,
            principal: self.principal.checked_sub(other.principal)?,
        })
    }

    fn ensure_currency(&self, currency: Currency, field: &str) -> Result<(), DomainError> {
        for head in ClaimHead::STATUTORY_ORDER {
            self.get(head).ensure_currency(currency, field)?;
        }
        Ok(())
    }
}

/// Which debt the customer said a payment is for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", content = "head", rename_all = "snake_case")]
pub enum PaymentPurpose {
    /// None named: §367(1) BGB, costs, then interest, then principal.
    #[default]
    Statutory,
    /// The customer named one head (e.g. "for the invoice amount only"):
    /// accepting such a payment binds the seller to it (§367(2) BGB lets
    /// the creditor refuse it, not re-allocate it), so that head is
    /// settled first and only the rest follows the statutory order.
    Designated(ClaimHead),
}

impl PaymentPurpose {
    /// The order in which the heads are settled.
    pub fn order(self) -> [ClaimHead; 3] {
        match self {
            Self::Statutory => ClaimHead::STATUTORY_ORDER,
            Self::Designated(first) => {
                let mut order = [first; 3];
                let mut rest = ClaimHead::STATUTORY_ORDER
                    .into_iter()
                    .filter(|head| *head != first);
                for slot in order.iter_mut().skip(1) {
                    *slot = rest.next().unwrap_or(first);
                }
                order
            }
        }
    }
}

/// What one payment settles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Allocation {
    /// The part settling each head.
    pub settles: Claims,
    /// What exceeds everything open: customer credit.
    pub surplus: Money,
}

/// Allocates a payment of `amount` (positive) to the claims `open` on one
/// invoice: §367(1) BGB costs first, then interest, then the principal,
/// unless the customer named a purpose (§367(2) BGB, [`PaymentPurpose`]).
/// What exceeds all of them is the surplus (customer credit).
///
/// The one allocation every part of the product uses: the receivables'
/// open amounts ([`crate::receivables::ReceivableHistory`]), the basis of
/// default interest ([`crate::dunning::DunningFacts::principal_payments`])
/// and the booking journal ([`crate::journal`]).
pub fn allocate_payment(
    open: &Claims,
    amount: Money,
    purpose: PaymentPurpose,
) -> Result<Allocation, DomainError> {
    let currency = open.currency();
    amount.ensure_currency(currency, "amount.currency")?;
    open.ensure_currency(currency, "open.currency")?;
    if amount.is_negative() {
        return Err(DomainError::invalid(
            "amount",
            "a payment to allocate cannot be negative (a return is allocate_return)",
        ));
    }
    settle_in_order(open, amount, purpose.order())
}

/// Settles `owed` head by head in `order` with `amount`; the rest is the
/// surplus.
fn settle_in_order(
    owed: &Claims,
    amount: Money,
    order: [ClaimHead; 3],
) -> Result<Allocation, DomainError> {
    let mut settles = Claims::zero(owed.currency());
    let mut rest = amount;
    for head in order {
        let due = owed.get(head);
        if !due.is_positive() || !rest.is_positive() {
            continue;
        }
        let part = if rest.compare(&due)?.is_gt() {
            due
        } else {
            rest
        };
        *settles.get_mut(head) = part;
        rest = rest.checked_sub(part)?;
    }
    Ok(Allocation {
        settles,
        surplus: rest,
    })
}

/// Allocates a returned payment (a direct-debit return or chargeback) of
/// `amount` (positive: what went back) to what was `paid` per head: the
/// return reopens the principal first, then interest, then costs (the
/// statutory order reversed, so the last thing a payment settled is the
/// first a return reopens). Refuses a return above what was paid.
pub fn allocate_return(paid: &Claims, amount: Money) -> Result<Claims, DomainError> {
    let currency = paid.currency();
    amount.ensure_currency(currency, "amount.currency")?;
    paid.ensure_currency(currency, "paid.currency")?;
    if amount.is_negative() {
        return Err(DomainError::invalid(
            "amount",
            "a return is stated as a positive amount",
        ));
    }
    let allocation = settle_in_order(
        paid,
        amount,
        [ClaimHead::Principal, ClaimHead::Interest, ClaimHead::Costs],
    )?;
    if allocation.surplus.is_positive() {
        return Err(DomainError::invalid(
            "amount",
            format!("a return of {amount} exceeds the {} paid", paid.total()?),
        ));
    }
    Ok(allocation.settles)
}

/// What dunning letters claimed on an invoice beyond its principal (costs
/// and default interest) and how much of it payments settled. Kept beside
/// the invoice's principal [`PaymentSummary`], so the stored open and paid
/// amounts keep meaning the principal while a payment still settles costs,
/// then interest, then the principal (§367(1) BGB).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Charges {
    /// Costs and interest the letters claimed so far (principal zero).
    pub claimed: Claims,
    /// The part of them payments settled (principal zero).
    pub paid: Claims,
}

impl Charges {
    /// Nothing claimed (an invoice never dunned).
    pub fn none(currency: Currency) -> Self {
        Self {
            claimed: Claims::zero(currency),
            paid: Claims::zero(currency),
        }
    }

    /// Costs and interest still open (principal zero).
    pub fn open(&self) -> Result<Claims, DomainError> {
        self.claimed.checked_sub(&self.paid)
    }
}

/// What booking one bank line against an invoice that may carry claimed
/// costs and interest does ([`PaymentSummary::book_with_charges`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChargedBooking {
    /// The part settling (negative: reopening) each head.
    pub settles: Claims,
    /// The part nothing on the invoice needed: customer credit.
    pub to_credit: Money,
    /// The principal after the booking: paid only when the principal is.
    pub after: PaymentSummary,
    /// Costs and interest after the booking.
    pub charges_after: Charges,
}

impl PaymentSummary {
    /// Books `amount` against this invoice (`self`: its principal) and the
    /// costs and interest its letters claimed: a payment is allocated by
    /// [`allocate_payment`] in the statutory order (no payment path records
    /// a purpose the customer named), so only what exceeds the open costs
    /// and interest lowers the principal, and what exceeds everything is
    /// customer credit; a return (negative) reopens by [`allocate_return`],
    /// principal first. The one decision whether an invoice is paid.
    pub fn book_with_charges(
        &self,
        charges: &Charges,
        amount: Money,
    ) -> Result<ChargedBooking, DomainError> {
        let currency = self.ensure_bookable(amount)?;
        charges
            .claimed
            .ensure_currency(currency, "charges.currency")?;
        charges.paid.ensure_currency(currency, "charges.currency")?;
        let zero = Money::zero(currency);
        let (settles, to_credit) = if amount.is_negative() {
            let paid = Claims {
                principal: self.paid,
                ..charges.paid
            };
            let reopens = allocate_return(&paid, -amount)?;
            (Claims::zero(currency).checked_sub(&reopens)?, zero)
        } else {
            let open = Claims {
                principal: self.open,
                ..charges.open()?
            };
            let allocation = allocate_payment(&open, amount, PaymentPurpose::Statutory)?;
            (allocation.settles, allocation.surplus)
        };
        let after = self.book(settles.principal)?.after;
        let mut paid = charges.paid.checked_add(&settles)?;
        paid.principal = zero;
        Ok(ChargedBooking {
            settles,
            to_credit,
            after,
            charges_after: Charges {
                claimed: charges.claimed,
                paid,
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

    #[test]
    fn booking_caps_at_the_open_amount_and_returns_reopen() {
        let start = PaymentSummary::apply(eur(dec!(100.00)), &[]).unwrap();
        let partial = start.book(eur(dec!(30.00))).unwrap();
        assert_eq!(partial.after.status, PaymentStatus::PartiallyPaid);
        assert_eq!(partial.after.open, eur(dec!(70.00)));
        let over = partial.after.book(eur(dec!(80.00))).unwrap();
        assert_eq!(over.to_invoice, eur(dec!(70.00)));
        assert_eq!(over.to_credit, eur(dec!(10.00)));
        assert_eq!(over.after.status, PaymentStatus::Paid);
        let returned = over.after.book(eur(dec!(-70.00))).unwrap();
        assert_eq!(returned.after.status, PaymentStatus::PartiallyPaid);
        assert_eq!(returned.after.open, eur(dec!(70.00)));
        let err = returned.after.book(eur(dec!(-30.01))).unwrap_err();
        assert!(err.to_string().starts_with("amount:"), "{err}");
        assert!(start.book(Money::new(dec!(1), Currency::USD)).is_err());
    }

    proptest::proptest! {
        /// For any sequence of payments, partial payments and returns, the
        /// open amount is the total minus what was booked to the invoice
        /// plus what was returned, and it never goes below zero: what would
        /// have taken it there is customer credit instead.
        #[test]
        fn open_amount_is_total_minus_payments_plus_returns(
            total_cents in 1i64..1_000_000,
            steps in proptest::collection::vec((proptest::bool::ANY, 1i64..1_500_000), 0..25),
        ) {
            let total = Money::from_minor(total_cents, Currency::EUR);
            let mut summary = PaymentSummary::apply(total, &[]).unwrap();
            let mut booked = Money::zero(Currency::EUR);
            let mut returned = Money::zero(Currency::EUR);
            let mut credit = Money::zero(Currency::EUR);
            let mut received = Money::zero(Currency::EUR);
            for (is_return, cents) in steps {
                let amount = Money::from_minor(cents, Currency::EUR);
                if is_return {
                    // A return takes back at most what the invoice holds.
                    let back = if amount.compare(&summary.paid).unwrap().is_gt() {
                        summary.paid
                    } else {
                        amount
                    };
                    if back.is_zero() {
                        proptest::prop_assert!(summary.book(-amount).is_err());
                        continue;
                    }
                    let booking = summary.book(-back).unwrap();
                    returned = returned.checked_add(back).unwrap();
                    received = received.checked_sub(back).unwrap();
                    summary = booking.after;
                } else {
                    let booking = summary.book(amount).unwrap();
                    proptest::prop_assert_eq!(
                        booking.to_invoice.checked_add(booking.to_credit).unwrap(),
                        amount
                    );
                    booked = booked.checked_add(booking.to_invoice).unwrap();
                    credit = credit.checked_add(booking.to_credit).unwrap();
                    received = received.checked_add(booking.to_invoice).unwrap();
                    summary = booking.after;
                }
                let expected = total.checked_sub(booked).unwrap().checked_add(returned).unwrap();
                proptest::prop_assert_eq!(summary.open, expected);
                proptest::prop_assert!(!summary.open.is_negative());
                proptest::prop_assert!(summary.customer_credit.is_zero());
                proptest::prop_assert_eq!(summary.paid, received);
                proptest::prop_assert_eq!(
                    summary.status == PaymentStatus::Paid,
                    summary.open.is_zero()
                );
            }
            // Without returns, the same money applied at once agrees.
            if !returned.is_zero() {
                return Ok(());
            }
            let all = PaymentSummary::apply(
                total,
                &[payment("all", received.checked_add(credit).unwrap())],
            )
            .unwrap();
            proptest::prop_assert_eq!(all.customer_credit, credit);
            proptest::prop_assert_eq!(all.open, summary.open);
        }
    }
}

#[cfg(test)]
mod allocation_tests {
    use super::*;
    use rust_decimal_macros::dec;

    fn eur(amount: rust_decimal::Decimal) -> Money {
        Money::new(amount, Currency::EUR)
    }

    fn claims(
        costs: rust_decimal::Decimal,
        interest: rust_decimal::Decimal,
        principal: rust_decimal::Decimal,
    ) -> Claims {
        Claims {
            costs: eur(costs),
            interest: eur(interest),
            principal: eur(principal),
        }
    }

    #[test]
    fn section_367_settles_costs_then_interest_then_principal() {
        // GIVEN 5.00 costs, 3.50 interest and 100.00 principal open
        let open = claims(dec!(5.00), dec!(3.50), dec!(100.00));
        // WHEN 6.00 arrive THEN costs first, then 1.00 of the interest
        let a = allocate_payment(&open, eur(dec!(6.00)), PaymentPurpose::Statutory).unwrap();
        assert_eq!(a.settles, claims(dec!(5.00), dec!(1.00), dec!(0)));
        assert!(a.surplus.is_zero());
        // WHEN 50.00 arrive THEN costs, interest, and 41.50 principal
        let a = allocate_payment(&open, eur(dec!(50.00)), PaymentPurpose::Statutory).unwrap();
        assert_eq!(a.settles, claims(dec!(5.00), dec!(3.50), dec!(41.50)));
        // WHEN 200.00 arrive THEN everything, and 91.50 surplus
        let a = allocate_payment(&open, eur(dec!(200.00)), PaymentPurpose::Statutory).unwrap();
        assert_eq!(a.settles, open);
        assert_eq!(a.surplus, eur(dec!(91.50)));
    }

    #[test]
    fn a_named_purpose_settles_that_head_first() {
        let open = claims(dec!(5.00), dec!(3.50), dec!(100.00));
        let principal = PaymentPurpose::Designated(ClaimHead::Principal);
        let a = allocate_payment(&open, eur(dec!(50.00)), principal).unwrap();
        assert_eq!(a.settles, claims(dec!(0), dec!(0), dec!(50.00)));
        // Then the statutory order for the rest: costs before interest.
        let a = allocate_payment(&open, eur(dec!(104.00)), principal).unwrap();
        assert_eq!(a.settles, claims(dec!(4.00), dec!(0), dec!(100.00)));
        let interest = PaymentPurpose::Designated(ClaimHead::Interest);
        assert_eq!(
            interest.order(),
            [ClaimHead::Interest, ClaimHead::Costs, ClaimHead::Principal]
        );
        let a = allocate_payment(&open, eur(dec!(10.00)), interest).unwrap();
        assert_eq!(a.settles, claims(dec!(5.00), dec!(3.50), dec!(1.50)));
    }

    #[test]
    fn a_payment_of_the_principal_settles_the_letter_s_charges_first() {
        // GIVEN 690.00 open and a letter that claimed 40.00 costs and 2.94
        // interest
        let invoice = PaymentSummary::from_paid(eur(dec!(690.00)), eur(dec!(0))).unwrap();
        let charges = Charges {
            claimed: claims(dec!(40.00), dec!(2.94), dec!(0)),
            paid: claims(dec!(0), dec!(0), dec!(0)),
        };
        // WHEN 690.00 arrive THEN 42.94 of the principal stays open
        let b = invoice
            .book_with_charges(&charges, eur(dec!(690.00)))
            .unwrap();
        assert_eq!(b.settles, claims(dec!(40.00), dec!(2.94), dec!(647.06)));
        assert_eq!(b.after.status, PaymentStatus::PartiallyPaid);
        assert_eq!(b.after.open, eur(dec!(42.94)));
        assert!(b.to_credit.is_zero());
        assert!(b.charges_after.open().unwrap().total().unwrap().is_zero());
        // WHEN 50.00 more arrive THEN paid, 7.06 customer credit
        let c = b
            .after
            .book_with_charges(&b.charges_after, eur(dec!(50.00)))
            .unwrap();
        assert_eq!(c.after.status, PaymentStatus::Paid);
        assert_eq!(c.to_credit, eur(dec!(7.06)));
        // WHEN the 690.00 come back THEN the principal reopens first, then
        // interest, then costs
        let r = c
            .after
            .book_with_charges(&c.charges_after, eur(dec!(-690.00)))
            .unwrap();
        assert_eq!(r.settles, claims(dec!(0), dec!(0.00), dec!(-690.00)));
        assert_eq!(r.after.open, eur(dec!(690.00)));
        let r = r
            .after
            .book_with_charges(&r.charges_after, eur(dec!(-2.00)))
            .unwrap();
        assert_eq!(r.settles, claims(dec!(0), dec!(-2.00), dec!(0)));
        assert_eq!(
            r.charges_after.open().unwrap(),
            claims(dec!(0), dec!(2.00), dec!(0))
        );
        // A return above what was paid is refused.
        let err = r
            .after
            .book_with_charges(&r.charges_after, eur(dec!(-40.95)))
            .unwrap_err();
        assert!(err.to_string().starts_with("amount:"), "{err}");
    }

    #[test]
    fn without_charges_booking_is_the_principal_s_booking() {
        let invoice = PaymentSummary::from_paid(eur(dec!(100.00)), eur(dec!(30.00))).unwrap();
        let none = Charges::none(Currency::EUR);
        for amount in [dec!(20.00), dec!(70.00), dec!(90.00), dec!(-30.00)] {
            let plain = invoice.book(eur(amount)).unwrap();
            let charged = invoice.book_with_charges(&none, eur(amount)).unwrap();
            assert_eq!(plain.after, charged.after);
            assert_eq!(plain.to_credit, charged.to_credit);
        }
        let usd = Money::new(dec!(1.00), Currency::USD);
        let err = invoice.book_with_charges(&none, usd).unwrap_err();
        assert!(err.to_string().starts_with("amount.currency:"), "{err}");
    }

    #[test]
    fn a_return_reopens_principal_first_and_never_more_than_was_paid() {
        let paid = claims(dec!(5.00), dec!(3.50), dec!(50.00));
        let back = allocate_return(&paid, eur(dec!(52.00))).unwrap();
        assert_eq!(back, claims(dec!(0), dec!(2.00), dec!(50.00)));
        let back = allocate_return(&paid, eur(dec!(58.50))).unwrap();
        assert_eq!(back, paid);
        let err = allocate_return(&paid, eur(dec!(58.51))).unwrap_err();
        assert!(err.to_string().starts_with("amount:"), "{err}");
    }

    #[test]
    fn negative_amounts_and_other_currencies_are_refused() {
        let open = claims(dec!(0), dec!(0), dec!(100.00));
        let err = allocate_payment(&open, eur(dec!(-1.00)), PaymentPurpose::Statutory).unwrap_err();
        assert!(err.to_string().starts_with("amount:"), "{err}");
        let usd = Money::new(dec!(1.00), Currency::USD);
        let err = allocate_payment(&open, usd, PaymentPurpose::Statutory).unwrap_err();
        assert!(err.to_string().starts_with("amount.currency:"), "{err}");
        let err = allocate_return(&open, eur(dec!(-1.00))).unwrap_err();
        assert!(err.to_string().starts_with("amount:"), "{err}");
        let mixed = Claims { costs: usd, ..open };
        let err = allocate_payment(&mixed, eur(dec!(1.00)), PaymentPurpose::Statutory).unwrap_err();
        assert!(err.to_string().starts_with("open.currency:"), "{err}");
    }
}
