//! Receivables at a glance: how a customer pays (payment behaviour) and
//! how old a seller's open invoices are (aging). Pure functions over the
//! invoice facts the store keeps beside each invoice; the staff API shows
//! them to sales before a call and to billing staff every morning.
//!
//! Definitions (also in `docs/openapi.yaml`, where staff read them). `as_of`
//! is the day the figures are for (the API uses today in Europe/Berlin);
//! "days" are calendar days between two dates.
//!
//! - An invoice is **settled** when it is paid in full (`paid_in_full_on`
//!   set, nothing open), by payments, applied customer credit or a credit
//!   note (then on the credit note's date, see
//!   [`crate::payment::PaymentSummary::paid_in_full_on`]); it is **open**
//!   while something is open.
//! - **Days overdue** of an open invoice: `as_of − due_date` when positive,
//!   else 0. It is **overdue** when that is at least 1.
//! - **Average days to pay from the invoice date**: mean of
//!   `paid_in_full_on − issue_date` over settled invoices.
//! - **Average days to pay from the due date**: mean of
//!   `paid_in_full_on − due_date` over settled invoices (negative: early).
//! - **Share paid on time**: settled invoices paid on or before their due
//!   date, divided by settled invoices plus open overdue invoices (an
//!   invoice not yet due has not had its chance to be late).
//! - **Average days overdue**: mean days overdue of the open overdue invoices.
//! - **Open balance** / **overdue balance**: sums of open amounts of open /
//!   open overdue invoices, per currency.
//! - **Highest dunning level**: the highest level sent among open invoices
//!   (0: none).
//! - **Trend**: for each of the 12 calendar months ending with `as_of`'s
//!   month, the invoices settled in it, how many of them on time, and their
//!   average days from the due date.
//! - **Aging buckets** of an open invoice by days overdue `d`: `current`
//!   d = 0 (not yet due, or due on `as_of`), `days_1_30` 1 ≤ d ≤ 30,
//!   `days_31_60` 31 ≤ d ≤ 60, `days_61_90` 61 ≤ d ≤ 90, `over_90` d ≥ 91.
//!   Every whole number of days falls in exactly one bucket.
//!
//! Averages are rounded half away from zero to one decimal, the share to
//! four decimals (0.7500 = 75 %). Credit notes and cancelled invoices are
//! no receivables and are left out of every figure.
//!
//! **As of a past date** the figures describe the receivables as they stood
//! at the end of that day, rebuilt from what was recorded
//! ([`ReceivableHistory::as_of`]): an invoice issued later does not exist
//! yet; what it asked for is its total less the credit notes issued on or
//! before the day; what was paid is the sum of payments (bank entries,
//! manual payments, applied customer credit) with a value date on or before
//! the day, less the returns (negative payments) by then; it is cancelled
//! only from its cancellation's date; its dunning level counts the letters
//! sent by then; and it was settled on the day of the event that last
//! brought its open amount to zero. The facts of today are the same
//! computation with every event counted.
//!
//! **Costs and interest.** Dunning fees and default interest claimed on an
//! invoice are open on it from the day they are claimed (the journal books
//! them to the customer's debtor account), and a payment settles costs
//! first, then interest, then the principal (§367(1) BGB) unless the
//! customer named a purpose (§367(2) BGB): the allocation is
//! [`crate::payment::allocate_payment`], the same one the dunning policy
//! and the journal use. An invoice **written off** as uncollectible is
//! closed from that day: nothing open, no receivable.

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate};
use rust_decimal::{Decimal, RoundingStrategy};
use serde::Serialize;

use crate::DomainError;
use crate::ids::AccountId;
use crate::money::{Currency, Money};
use crate::payment::{Claims, PaymentPurpose, allocate_payment, allocate_return};

/// What the figures need of one invoice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivableInvoice {
    /// The customer it is addressed to (the aging's per-customer rows).
    pub account_id: AccountId,
    /// Issue date.
    pub issue_date: NaiveDate,
    /// Due date.
    pub due_date: NaiveDate,
    /// What is still open (zero when settled).
    pub open: Money,
    /// The day it was paid in full, if it was.
    pub paid_in_full_on: Option<NaiveDate>,
    /// Highest dunning level sent (0: none).
    pub dunning_level: u32,
    /// Whether it counts at all: false for credit notes and cancelled invoices.
    pub receivable: bool,
}

impl ReceivableInvoice {
    fn settled_on(&self) -> Option<NaiveDate> {
        self.paid_in_full_on.filter(|_| !self.open.is_positive())
    }

    fn is_open(&self) -> bool {
        self.open.is_positive()
    }

    /// Days overdue on `as_of` (0 when not yet due or due that day).
    pub fn days_overdue(&self, as_of: NaiveDate) -> i64 {
        (as_of - self.due_date).num_days().max(0)
    }
}

/// Something recorded on an invoice that changes what is open on it, or
/// its dunning level, from a day on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReceivableChange {
    /// Money booked on it with its value date: a payment (bank entry,
    /// manual payment, applied customer credit; positive), settling costs,
    /// interest, then principal (§367(1) BGB,
    /// [`crate::payment::allocate_payment`]), or a returned direct debit or
    /// chargeback (negative), which reopens what it takes back
    /// ([`crate::payment::allocate_return`]).
    Payment(Money),
    /// A payment for which the customer named what it is for (§367(2)
    /// BGB): settles that head first.
    DesignatedPayment(Money, PaymentPurpose),
    /// A partial credit note (gross, positive) issued that day: lowers what
    /// the invoice asks for (§17(1) UStG).
    CreditNote(Money),
    /// The invoice was cancelled that day: from then on it is no receivable.
    Cancellation,
    /// A dunning letter was sent that day: the level rises by one.
    DunningLetter,
    /// Dunning fees (or the business flat fee of §288(5) BGB) were claimed
    /// that day: owed from then on, and settled first by payments.
    CostsClaimed(Money),
    /// Default interest (§288 BGB) was claimed that day: owed from then on,
    /// settled after costs and before the principal.
    InterestClaimed(Money),
    /// The invoice was written off as uncollectible that day: from then on
    /// nothing is open on it and it is no receivable (the journal books the
    /// loss, with the VAT correction of §17(2) Nr. 1 UStG).
    WriteOff,
}

/// One recorded change with its day (value date of a payment, issue date
/// of a credit note or cancellation, day a letter was sent).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReceivableEvent {
    /// The day it takes effect.
    pub on: NaiveDate,
    /// What changed.
    pub change: ReceivableChange,
}

/// An invoice with everything recorded on it since it was issued: enough to
/// tell what was open on any day (see the module documentation).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivableHistory {
    /// The customer it is addressed to.
    pub account_id: AccountId,
    /// Issue date: before it the invoice does not count.
    pub issue_date: NaiveDate,
    /// Due date.
    pub due_date: NaiveDate,
    /// What it asked for when issued (gross).
    pub total: Money,
    /// False for documents that are never receivables (credit notes).
    pub receivable: bool,
    /// What happened since, in any order (ties on one day keep this order).
    pub events: Vec<ReceivableEvent>,
}

/// What one invoice's history says about a day: open and paid amounts
/// per §367 BGB head, and what the figures need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivableState {
    /// What is open per head (costs, interest, principal).
    pub open: Claims,
    /// What was paid per head (net of returns).
    pub paid: Claims,
    /// What was paid beyond everything open (customer credit).
    pub surplus: Money,
    /// Cancelled by then.
    pub cancelled: bool,
    /// Written off by then.
    pub written_off: bool,
    /// Letters sent by then.
    pub dunning_level: u32,
    /// The day the last event brought the open amount to zero, if it is.
    pub settled_on: Option<NaiveDate>,
}

impl ReceivableHistory {
    /// The invoice's claims at the end of `day`, replaying its events in
    /// date order with the one §367 BGB allocation
    /// ([`crate::payment::allocate_payment`]); `None` when it was not
    /// issued yet. The journal's payment bookings read `open`/`paid` of the
    /// day before a payment from here.
    pub fn state_as_of(&self, day: NaiveDate) -> Result<Option<ReceivableState>, DomainError> {
        if self.issue_date > day {
            return Ok(None);
        }
        let mut state = self.issued();
        for event in self.ordered().into_iter().filter(|e| e.on <= day) {
            state.apply(event, self.total.currency())?;
        }
        Ok(Some(state))
    }

    /// Every event in the order the replay applies it (date order, ties in
    /// the order recorded), each with the invoice's state just before it:
    /// what the journal's payment, return and write-off bookings need
    /// (`open_before`, `paid_before`, `open`).
    pub fn steps(&self) -> Result<Vec<(ReceivableEvent, ReceivableState)>, DomainError> {
        let mut state = self.issued();
        let mut steps = Vec::with_capacity(self.events.len());
        for event in self.ordered() {
            steps.push((*event, state.clone()));
            state.apply(event, self.total.currency())?;
        }
        Ok(steps)
    }

    /// The state on its issue date, before any event.
    fn issued(&self) -> ReceivableState {
        let currency = self.total.currency();
        ReceivableState {
            open: Claims::principal(self.total),
            paid: Claims::zero(currency),
            surplus: Money::zero(currency),
            cancelled: false,
            written_off: false,
            dunning_level: 0,
            settled_on: None,
        }
    }

    fn ordered(&self) -> Vec<&ReceivableEvent> {
        let mut events: Vec<&ReceivableEvent> = self.events.iter().collect();
        events.sort_by_key(|e| e.on);
        events
    }

    /// The invoice as it stood at the end of `day`; `None` when it was not
    /// issued yet. Events after `day` are ignored. What is open includes
    /// claimed costs and interest: they are receivables on the customer's
    /// account like the principal.
    pub fn as_of(&self, day: NaiveDate) -> Result<Option<ReceivableInvoice>, DomainError> {
        let Some(state) = self.state_as_of(day)? else {
            return Ok(None);
        };
        Ok(Some(ReceivableInvoice {
            account_id: self.account_id.clone(),
            issue_date: self.issue_date,
            due_date: self.due_date,
            open: state.open.total()?,
            paid_in_full_on: state.settled_on,
            dunning_level: state.dunning_level,
            receivable: self.receivable && !state.cancelled && !state.written_off,
        }))
    }
}

impl ReceivableState {
    /// One event of the invoice (in `currency`) applied.
    fn apply(&mut self, event: &ReceivableEvent, currency: Currency) -> Result<(), DomainError> {
        let open_before = self.open.total()?;
        match event.change {
            ReceivableChange::Payment(amount) => {
                amount.ensure_currency(currency, "events.payment.currency")?;
                self.pay(amount, PaymentPurpose::Statutory)?;
            }
            ReceivableChange::DesignatedPayment(amount, purpose) => {
                amount.ensure_currency(currency, "events.payment.currency")?;
                self.pay(amount, purpose)?;
            }
            ReceivableChange::CreditNote(amount) => {
                amount.ensure_currency(currency, "events.credit_note.currency")?;
                self.credit(amount)?;
            }
            ReceivableChange::Cancellation => self.cancelled = true,
            ReceivableChange::DunningLetter => {
                self.dunning_level = self.dunning_level.saturating_add(1);
            }
            ReceivableChange::CostsClaimed(amount) => {
                amount.ensure_currency(currency, "events.costs.currency")?;
                self.open.costs = self.open.costs.checked_add(amount)?;
            }
            ReceivableChange::InterestClaimed(amount) => {
                amount.ensure_currency(currency, "events.interest.currency")?;
                self.open.interest = self.open.interest.checked_add(amount)?;
            }
            ReceivableChange::WriteOff => {
                self.written_off = true;
                self.open = Claims::zero(currency);
            }
        }
        let after = self.open.total()?;
        if after.is_positive() {
            self.settled_on = None;
        } else if open_before.is_positive() && !self.written_off {
            self.settled_on = Some(event.on);
        }
        Ok(())
    }

    /// A payment (positive: allocated by `purpose`; the rest is surplus)
    /// or a return (negative: takes back the surplus first, then reopens
    /// what was paid, principal first).
    fn pay(&mut self, amount: Money, purpose: PaymentPurpose) -> Result<(), DomainError> {
        if amount.is_negative() {
            let mut back = -amount;
            let from_surplus = if back.compare(&self.surplus)?.is_gt() {
                self.surplus
            } else {
                back
            };
            self.surplus = self.surplus.checked_sub(from_surplus)?;
            back = back.checked_sub(from_surplus)?;
            if back.is_positive() {
                let reopens = allocate_return(&self.paid, back)?;
                self.paid = self.paid.checked_sub(&reopens)?;
                self.open = self.open.checked_add(&reopens)?;
            }
        } else {
            let allocation = allocate_payment(&self.open, amount, purpose)?;
            self.open = self.open.checked_sub(&allocation.settles)?;
            self.paid = self.paid.checked_add(&allocation.settles)?;
            self.surplus = self.surplus.checked_add(allocation.surplus)?;
        }
        Ok(())
    }

    /// A credit note lowers the principal asked; what it credits beyond the
    /// open principal turns paid principal into surplus (customer credit).
    fn credit(&mut self, amount: Money) -> Result<(), DomainError> {
        let principal = self.open.principal;
        if amount.compare(&principal)?.is_gt() {
            let beyond = amount.checked_sub(principal)?;
            self.open.principal = Money::zero(principal.currency());
            let from_paid = if beyond.compare(&self.paid.principal)?.is_gt() {
                self.paid.principal
            } else {
                beyond
            };
            self.paid.principal = self.paid.principal.checked_sub(from_paid)?;
            self.surplus = self.surplus.checked_add(beyond)?;
        } else {
            self.open.principal = principal.checked_sub(amount)?;
        }
        Ok(())
    }
}

/// The invoices of `histories` as they stood at the end of `day`, leaving
/// out those issued later: what [`aging`] and [`payment_behaviour`] read for
/// that day.
pub fn receivables_as_of(
    histories: &[ReceivableHistory],
    day: NaiveDate,
) -> Result<Vec<ReceivableInvoice>, DomainError> {
    let mut invoices = Vec::with_capacity(histories.len());
    for history in histories {
        if let Some(invoice) = history.as_of(day)? {
            invoices.push(invoice);
        }
    }
    Ok(invoices)
}

/// One month of the payment trend.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TrendMonth {
    /// `YYYY-MM`.
    pub month: String,
    /// Invoices settled in that month.
    pub settled: u32,
    /// Of those, settled on or before their due date.
    pub on_time: u32,
    /// Their average days from the due date (none settled: none).
    pub average_days_from_due: Option<Decimal>,
}

/// How a customer pays (see the module documentation for each figure).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PaymentBehaviour {
    /// The day the figures are for.
    pub as_of: NaiveDate,
    /// Invoices counted.
    pub invoices: u32,
    /// Of those, settled.
    pub settled: u32,
    /// Mean days from invoice date to payment in full.
    pub average_days_to_pay_from_issue: Option<Decimal>,
    /// Mean days from due date to payment in full (negative: early).
    pub average_days_to_pay_from_due: Option<Decimal>,
    /// Settled on time / (settled + open overdue), 0..=1.
    pub share_paid_on_time: Option<Decimal>,
    /// Mean days overdue of the open overdue invoices.
    pub average_days_overdue: Option<Decimal>,
    /// Open amounts per currency.
    pub open_balance: Vec<Money>,
    /// Open amounts of overdue invoices per currency.
    pub overdue_balance: Vec<Money>,
    /// Highest dunning level among open invoices.
    pub highest_dunning_level: u32,
    /// The last 12 calendar months, oldest first.
    pub trend: Vec<TrendMonth>,
}

/// Payment behaviour of one customer's invoices on `as_of`.
pub fn payment_behaviour(
    invoices: &[ReceivableInvoice],
    as_of: NaiveDate,
) -> Result<PaymentBehaviour, DomainError> {
    let counted: Vec<&ReceivableInvoice> = invoices.iter().filter(|i| i.receivable).collect();
    let settled: Vec<(&ReceivableInvoice, NaiveDate)> = counted
        .iter()
        .filter_map(|i| i.settled_on().map(|day| (*i, day)))
        .collect();
    let open: Vec<&ReceivableInvoice> = counted.iter().copied().filter(|i| i.is_open()).collect();
    let overdue: Vec<&ReceivableInvoice> = open
        .iter()
        .copied()
        .filter(|i| i.days_overdue(as_of) > 0)
        .collect();
    let on_time = settled.iter().filter(|(i, day)| *day <= i.due_date).count();
    let share = ratio(on_time, settled.len() + overdue.len());
    Ok(PaymentBehaviour {
        as_of,
        invoices: count(counted.len()),
        settled: count(settled.len()),
        average_days_to_pay_from_issue: mean(
            settled
                .iter()
                .map(|(i, day)| (*day - i.issue_date).num_days()),
        ),
        average_days_to_pay_from_due: mean(
            settled
                .iter()
                .map(|(i, day)| (*day - i.due_date).num_days()),
        ),
        share_paid_on_time: share,
        average_days_overdue: mean(overdue.iter().map(|i| i.days_overdue(as_of))),
        open_balance: per_currency(open.iter().map(|i| i.open))?,
        overdue_balance: per_currency(overdue.iter().map(|i| i.open))?,
        highest_dunning_level: open.iter().map(|i| i.dunning_level).max().unwrap_or(0),
        trend: trend(&settled, as_of),
    })
}

fn trend(settled: &[(&ReceivableInvoice, NaiveDate)], as_of: NaiveDate) -> Vec<TrendMonth> {
    let mut months = Vec::with_capacity(12);
    let (mut year, mut month) = (as_of.year(), as_of.month());
    for _ in 0..12 {
        months.push((year, month));
        if month == 1 {
            year -= 1;
            month = 12;
        } else {
            month -= 1;
        }
    }
    months.reverse();
    months
        .into_iter()
        .map(|(year, month)| {
            let in_month: Vec<_> = settled
                .iter()
                .filter(|(_, day)| day.year() == year && day.month() == month)
                .collect();
            TrendMonth {
                month: format!("{year:04}-{month:02}"),
                settled: count(in_month.len()),
                on_time: count(
                    in_month
                        .iter()
                        .filter(|(i, day)| *day <= i.due_date)
                        .count(),
                ),
                average_days_from_due: mean(
                    in_month
                        .iter()
                        .map(|(i, day)| (*day - i.due_date).num_days()),
                ),
            }
        })
        .collect()
}

/// Open amounts by age, in one currency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AgingBuckets {
    /// Not yet due, or due on `as_of`.
    pub current: Money,
    /// 1 to 30 days overdue.
    pub days_1_30: Money,
    /// 31 to 60 days overdue.
    pub days_31_60: Money,
    /// 61 to 90 days overdue.
    pub days_61_90: Money,
    /// 91 days overdue or more.
    pub over_90: Money,
}

/// Receivables aging of one seller in one currency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Aging {
    /// The day the figures are for.
    pub as_of: NaiveDate,
    /// The currency (one aging per currency: amounts are never mixed).
    pub currency: Currency,
    /// Open amounts per bucket.
    pub buckets: AgingBuckets,
    /// Open invoices per bucket, in the same order as the amounts.
    pub counts: [u32; 5],
    /// Sum of all buckets.
    pub total: Money,
    /// The same figures per customer, for the clerk who calls the customers
    /// behind the old amounts: only customers with something open, largest
    /// total first (ties by account id). Each bucket summed over the
    /// customers is the seller's bucket, and their totals sum to `total`.
    pub customers: Vec<CustomerAging>,
}

/// One customer's row of the aging: its open invoices in the aging's
/// currency, bucketed exactly as the seller's figures.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CustomerAging {
    /// The customer.
    pub account_id: AccountId,
    /// Open amounts per bucket.
    pub buckets: AgingBuckets,
    /// Open invoices per bucket, in the same order as the amounts.
    pub counts: [u32; 5],
    /// Sum of all buckets.
    pub total: Money,
}

/// The bucket (0 current … 4 over 90) of an invoice overdue `days` days.
pub fn aging_bucket(days_overdue: i64) -> usize {
    match days_overdue {
        i64::MIN..=0 => 0,
        1..=30 => 1,
        31..=60 => 2,
        61..=90 => 3,
        _ => 4,
    }
}

/// Open amounts and invoice counts per bucket: what the seller's figures
/// and each customer's row add up, so both come from one bucketing.
#[derive(Debug, Clone, Copy)]
struct Tally {
    sums: [Money; 5],
    counts: [u32; 5],
}

impl Tally {
    fn new(currency: Currency) -> Self {
        Tally {
            sums: [Money::zero(currency); 5],
            counts: [0; 5],
        }
    }

    fn add(&mut self, bucket: usize, open: Money) -> Result<(), DomainError> {
        self.sums[bucket] = self.sums[bucket].checked_add(open)?;
        self.counts[bucket] = self.counts[bucket].saturating_add(1);
        Ok(())
    }

    /// The buckets, counts and total.
    fn figures(self, currency: Currency) -> Result<(AgingBuckets, [u32; 5], Money), DomainError> {
        let total = Money::sum(currency, self.sums)?;
        let [current, days_1_30, days_31_60, days_61_90, over_90] = self.sums;
        Ok((
            AgingBuckets {
                current,
                days_1_30,
                days_31_60,
                days_61_90,
                over_90,
            },
            self.counts,
            total,
        ))
    }
}

/// Aging of the open receivable invoices in `currency` on `as_of`, for the
/// seller and per customer; invoices in other currencies are left out.
pub fn aging(
    invoices: &[ReceivableInvoice],
    currency: Currency,
    as_of: NaiveDate,
) -> Result<Aging, DomainError> {
    let mut seller = Tally::new(currency);
    let mut per_customer: BTreeMap<&AccountId, Tally> = BTreeMap::new();
    for invoice in invoices
        .iter()
        .filter(|i| i.receivable && i.is_open() && i.open.currency() == currency)
    {
        let bucket = aging_bucket(invoice.days_overdue(as_of));
        seller.add(bucket, invoice.open)?;
        per_customer
            .entry(&invoice.account_id)
            .or_insert_with(|| Tally::new(currency))
            .add(bucket, invoice.open)?;
    }
    let mut customers = Vec::with_capacity(per_customer.len());
    for (account_id, tally) in per_customer {
        let (buckets, counts, total) = tally.figures(currency)?;
        customers.push(CustomerAging {
            account_id: account_id.clone(),
            buckets,
            counts,
            total,
        });
    }
    // Largest first; the map gave account id order, which the stable sort
    // keeps for equal totals.
    customers.sort_by_key(|c| std::cmp::Reverse(c.total.amount()));
    let (buckets, counts, total) = seller.figures(currency)?;
    Ok(Aging {
        as_of,
        currency,
        buckets,
        counts,
        total,
        customers,
    })
}

fn count(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

fn mean(values: impl Iterator<Item = i64>) -> Option<Decimal> {
    let (sum, n) = values.fold((0i64, 0i64), |(s, n), v| (s.saturating_add(v), n + 1));
    (n > 0).then(|| {
        let mut mean = (Decimal::from(sum) / Decimal::from(n))
            .round_dp_with_strategy(1, RoundingStrategy::MidpointAwayFromZero);
        mean.rescale(1);
        mean
    })
}

fn ratio(part: usize, whole: usize) -> Option<Decimal> {
    (whole > 0).then(|| {
        let mut share = (Decimal::from(part as u64) / Decimal::from(whole as u64))
            .round_dp_with_strategy(4, RoundingStrategy::MidpointAwayFromZero);
        share.rescale(4);
        share
    })
}

fn per_currency(amounts: impl Iterator<Item = Money>) -> Result<Vec<Money>, DomainError> {
    let mut sums: Vec<Money> = Vec::new();
    for amount in amounts {
        match sums.iter_mut().find(|m| m.currency() == amount.currency()) {
            Some(sum) => *sum = sum.checked_add(amount)?,
            None => sums.push(amount),
        }
    }
    sums.sort_by_key(|m| m.currency().code());
    Ok(sums)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_boundaries_have_no_gaps_or_overlaps() {
        let cases = [
            (-5, 0),
            (0, 0),
            (1, 1),
            (30, 1),
            (31, 2),
            (60, 2),
            (61, 3),
            (90, 3),
            (91, 4),
            (400, 4),
        ];
        for (days, bucket) in cases {
            assert_eq!(aging_bucket(days), bucket, "{days} days");
        }
    }
}

#[cfg(test)]
mod as_of_tests {
    use super::*;
    use rust_decimal_macros::dec;

    fn day(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    fn eur(amount: Decimal) -> Money {
        Money::new(amount, Currency::EUR)
    }

    fn history(
        issued: &str,
        due: &str,
        total: Decimal,
        events: &[(&str, ReceivableChange)],
    ) -> ReceivableHistory {
        ReceivableHistory {
            account_id: AccountId::new("acc_north"),
            issue_date: day(issued),
            due_date: day(due),
            total: eur(total),
            receivable: true,
            events: events
                .iter()
                .map(|(on, change)| ReceivableEvent {
                    on: day(on),
                    change: *change,
                })
                .collect(),
        }
    }

    /// The ledger of the test: one invoice of every kind, in EUR, plus one
    /// in USD and the credit note document itself (neither ever counts in
    /// the EUR aging).
    fn ledger() -> Vec<ReceivableHistory> {
        use ReceivableChange::*;
        vec![
            // J: issued in December, never paid (ages into "over 90").
            history("2025-12-01", "2025-12-15", dec!(80.00), &[]),
            // A: paid in full on 10 Feb.
            history(
                "2026-01-05",
                "2026-01-19",
                dec!(100.00),
                &[("2026-02-10", Payment(eur(dec!(100.00))))],
            ),
            // B: part-paid 50 on 20 Jan and 50 on 5 Mar; dunned 10 Feb and 15 Mar.
            history(
                "2026-01-10",
                "2026-01-24",
                dec!(200.00),
                &[
                    ("2026-01-20", Payment(eur(dec!(50.00)))),
                    ("2026-02-10", DunningLetter),
                    ("2026-03-05", Payment(eur(dec!(50.00)))),
                    ("2026-03-15", DunningLetter),
                ],
            ),
            // C: credited 100 on 15 Feb, the rest (200) paid on 20 Mar.
            history(
                "2026-01-15",
                "2026-01-29",
                dec!(300.00),
                &[
                    ("2026-03-20", Payment(eur(dec!(200.00)))),
                    ("2026-02-15", CreditNote(eur(dec!(100.00)))),
                ],
            ),
            // D: cancelled on 10 Mar.
            history(
                "2026-01-20",
                "2026-02-03",
                dec!(400.00),
                &[
                    ("2026-03-10", CreditNote(eur(dec!(400.00)))),
                    ("2026-03-10", Cancellation),
                ],
            ),
            // E: paid 20 Feb, the direct debit returned on 3 Mar (reopened).
            history(
                "2026-02-01",
                "2026-02-15",
                dec!(500.00),
                &[
                    ("2026-02-20", Payment(eur(dec!(500.00)))),
                    ("2026-03-03", Payment(eur(dec!(-500.00)))),
                ],
            ),
            // F: issued 15 Mar, open.
            history("2026-03-15", "2026-03-29", dec!(600.00), &[]),
            // G: issued 10 Apr, after the last month end of the test.
            history("2026-04-10", "2026-04-24", dec!(700.00), &[]),
            // H: in USD, open.
            ReceivableHistory {
                total: Money::new(dec!(50.00), Currency::USD),
                ..history("2026-01-05", "2026-01-19", dec!(0), &[])
            },
            // The credit note on C as a document: never a receivable.
            ReceivableHistory {
                receivable: false,
                ..history("2026-02-15", "2026-02-15", dec!(100.00), &[])
            },
        ]
    }

    fn aged(as_of: &str) -> Aging {
        let invoices = receivables_as_of(&ledger(), day(as_of)).unwrap();
        aging(&invoices, Currency::EUR, day(as_of)).unwrap()
    }

    fn amounts(aging: &Aging) -> [Decimal; 6] {
        let b = &aging.buckets;
        [
            b.current.amount(),
            b.days_1_30.amount(),
            b.days_31_60.amount(),
            b.days_61_90.amount(),
            b.over_90.amount(),
            aging.total.amount(),
        ]
    }

    #[test]
    fn aging_at_the_end_of_january() {
        // J: 31 Jan − 15 Dec = 47 days → 31–60, 80.
        // A: 12 days (due 19 Jan), unpaid yet → 1–30, 100.
        // B: 200 − 50 (20 Jan) = 150, 7 days → 1–30.
        // C: 300 (credit note comes 15 Feb), 2 days → 1–30.
        // D: due 3 Feb → current, 400. E, F, G not issued yet.
        // 1–30: 100 + 150 + 300 = 550; total 400 + 550 + 80 = 1030.
        let a = aged("2026-01-31");
        assert_eq!(
            amounts(&a),
            [
                dec!(400.00),
                dec!(550.00),
                dec!(80.00),
                dec!(0),
                dec!(0),
                dec!(1030.00)
            ]
        );
        assert_eq!(a.counts, [1, 3, 1, 0, 0]);
    }

    #[test]
    fn aging_at_the_end_of_february() {
        // J: 47 + 28 = 75 days → 61–90, 80. A: paid 10 Feb → gone.
        // B: 150, 7 + 28 = 35 days → 31–60. C: 300 − 100 credited = 200,
        // 2 + 28 = 30 days → 1–30. D: 400, 28 − 3 = 25 days → 1–30. E: paid 20 Feb → gone (the return comes 3 Mar).
        // 1–30: 200 + 400 = 600; total 600 + 150 + 80 = 830.
        let a = aged("2026-02-28");
        assert_eq!(
            amounts(&a),
            [
                dec!(0),
                dec!(600.00),
                dec!(150.00),
                dec!(80.00),
                dec!(0),
                dec!(830.00)
            ]
        );
        assert_eq!(a.counts, [0, 2, 1, 1, 0]);
    }

    #[test]
    fn aging_at_the_end_of_march() {
        // J: 75 + 31 = 106 → over 90, 80. B: 150 − 50 (5 Mar) = 100,
        // 35 + 31 = 66 → 61–90. C: paid 20 Mar → gone. D: cancelled 10 Mar
        // → gone. E: returned 3 Mar → 500 open, 13 + 31 = 44 → 31–60.
        // F: 600, 31 − 29 = 2 → 1–30. G: not issued yet.
        // Total 600 + 500 + 100 + 80 = 1280.
        let a = aged("2026-03-31");
        assert_eq!(
            amounts(&a),
            [
                dec!(0),
                dec!(600.00),
                dec!(500.00),
                dec!(100.00),
                dec!(80.00),
                dec!(1280.00)
            ]
        );
        assert_eq!(a.counts, [0, 1, 1, 1, 1]);
    }

    #[test]
    fn aging_today() {
        // "Today" is 15 Apr: J 121 → over 90, 80; B 66 + 15 = 81 → 61–90,
        // 100; E 44 + 15 = 59 → 31–60, 500; F 2 + 15 = 17 → 1–30, 600;
        // G issued 10 Apr, due 24 Apr → current, 700.
        // Total 700 + 600 + 500 + 100 + 80 = 1980.
        let a = aged("2026-04-15");
        assert_eq!(
            amounts(&a),
            [
                dec!(700.00),
                dec!(600.00),
                dec!(500.00),
                dec!(100.00),
                dec!(80.00),
                dec!(1980.00)
            ]
        );
        assert_eq!(a.counts, [1, 1, 1, 1, 1]);
    }

    #[test]
    fn every_event_counted_is_the_state_of_today() {
        // With every event counted, each invoice shows what the store keeps
        // as its state today: open amounts, settled days, levels.
        let today = receivables_as_of(&ledger(), day("2026-12-31")).unwrap();
        let open: Vec<Decimal> = today.iter().map(|i| i.open.amount()).collect();
        assert_eq!(
            open,
            [
                dec!(80.00),
                dec!(0.00),
                dec!(100.00),
                dec!(0.00),
                dec!(0.00),
                dec!(500.00),
                dec!(600.00),
                dec!(700.00),
                dec!(50.00),
                dec!(100.00)
            ]
        );
        assert_eq!(today[1].paid_in_full_on, Some(day("2026-02-10")));
        assert_eq!(today[3].paid_in_full_on, Some(day("2026-03-20")));
        // E was settled on 20 Feb and reopened on 3 Mar: not settled now.
        assert_eq!(today[5].paid_in_full_on, None);
        assert_eq!(today[2].dunning_level, 2);
        assert!(!today[4].receivable, "D is cancelled");
    }

    #[test]
    fn payment_behaviour_as_of_past_month_ends() {
        let behaviour = |as_of: &str| {
            let invoices = receivables_as_of(&ledger(), day(as_of)).unwrap();
            payment_behaviour(&invoices, day(as_of)).unwrap()
        };
        // 28 Feb: settled A (10 Feb: 36 days from issue 5 Jan, 22 from due
        // 19 Jan) and E (20 Feb: 19 from issue, 5 from due): means 27.5 and
        // 13.5; both late; open overdue J, B, C, D and H (USD: behaviour
        // spans currencies) → share 0 / (2 + 5).
        // B's first letter (10 Feb) → level 1.
        let feb = behaviour("2026-02-28");
        assert_eq!(feb.settled, 2);
        assert_eq!(feb.average_days_to_pay_from_issue, Some(dec!(27.5)));
        assert_eq!(feb.average_days_to_pay_from_due, Some(dec!(13.5)));
        assert_eq!(feb.share_paid_on_time, Some(dec!(0.0000)));
        assert_eq!(feb.highest_dunning_level, 1);
        // 31 Mar: settled A and C (20 Mar: 64 from issue 15 Jan, 50 from due
        // 29 Jan); E reopened, D cancelled. Means (36 + 64) / 2 = 50.0 and
        // (22 + 50) / 2 = 36.0. Open overdue J 106, B 66, E 44, F 2 and
        // H 71 days (due 19 Jan: 12 + 28 + 31): mean 289 / 5 = 57.8.
        // B's second letter → level 2.
        let mar = behaviour("2026-03-31");
        assert_eq!(mar.settled, 2);
        assert_eq!(mar.average_days_to_pay_from_issue, Some(dec!(50.0)));
        assert_eq!(mar.average_days_to_pay_from_due, Some(dec!(36.0)));
        assert_eq!(mar.average_days_overdue, Some(dec!(57.8)));
        assert_eq!(mar.highest_dunning_level, 2);
        // 31 Jan: nothing settled, no letter yet.
        let jan = behaviour("2026-01-31");
        assert_eq!((jan.settled, jan.highest_dunning_level), (0, 0));
        // J, A, B, C, D and H (USD: behaviour counts every currency).
        assert_eq!(jan.invoices, 6);
    }

    /// The ledger with its customers: J, A, B to acc_north; C, D (and the
    /// credit note on C) to acc_south; E, F, G to acc_west; H (USD) to
    /// acc_usd.
    fn customers_ledger() -> Vec<ReceivableHistory> {
        let owners = [
            "acc_north",
            "acc_north",
            "acc_north",
            "acc_south",
            "acc_south",
            "acc_west",
            "acc_west",
            "acc_west",
            "acc_usd",
            "acc_south",
        ];
        let ledger = ledger();
        assert_eq!(ledger.len(), owners.len());
        ledger
            .into_iter()
            .zip(owners)
            .map(|(history, owner)| ReceivableHistory {
                account_id: AccountId::new(owner),
                ..history
            })
            .collect()
    }

    fn aged_per_customer(as_of: &str) -> Aging {
        let invoices = receivables_as_of(&customers_ledger(), day(as_of)).unwrap();
        aging(&invoices, Currency::EUR, day(as_of)).unwrap()
    }

    fn row(customer: &CustomerAging) -> (&str, [Decimal; 6], [u32; 5]) {
        let b = &customer.buckets;
        (
            customer.account_id.as_str(),
            [
                b.current.amount(),
                b.days_1_30.amount(),
                b.days_31_60.amount(),
                b.days_61_90.amount(),
                b.over_90.amount(),
                customer.total.amount(),
            ],
            customer.counts,
        )
    }

    /// Each bucket, count and the total summed over the customers is the
    /// seller's.
    fn assert_customers_add_up(aging: &Aging) {
        let mut sums = [Decimal::ZERO; 6];
        let mut counts = [0u32; 5];
        for customer in &aging.customers {
            let (_, amounts, n) = row(customer);
            for (sum, amount) in sums.iter_mut().zip(amounts) {
                *sum += amount;
            }
            for (count, k) in counts.iter_mut().zip(n) {
                *count += k;
            }
        }
        assert_eq!(sums, amounts(aging));
        assert_eq!(counts, aging.counts);
    }

    #[test]
    fn aging_per_customer_at_the_end_of_january() {
        // acc_north: J 80 (47 days → 31–60), A 100 and B 150 (1–30):
        // 1–30 250, 31–60 80, total 330.
        // acc_south: C 300 (1–30), D 400 (current): total 700.
        // acc_west: nothing issued yet → no row. acc_usd: USD → no row.
        let a = aged_per_customer("2026-01-31");
        let rows: Vec<_> = a.customers.iter().map(row).collect();
        assert_eq!(
            rows,
            [
                (
                    "acc_south",
                    [
                        dec!(400.00),
                        dec!(300.00),
                        dec!(0),
                        dec!(0),
                        dec!(0),
                        dec!(700.00)
                    ],
                    [1, 1, 0, 0, 0]
                ),
                (
                    "acc_north",
                    [
                        dec!(0),
                        dec!(250.00),
                        dec!(80.00),
                        dec!(0),
                        dec!(0),
                        dec!(330.00)
                    ],
                    [0, 2, 1, 0, 0]
                ),
            ]
        );
        assert_customers_add_up(&a);
    }

    #[test]
    fn aging_per_customer_at_the_end_of_march() {
        // acc_west: E 500 (44 days → 31–60), F 600 (2 days → 1–30), G not
        // issued yet: total 1100.
        // acc_north: J 80 (106 → over 90), B 100 (66 → 61–90), A paid:
        // total 180.
        // acc_south: C paid 20 Mar, D cancelled 10 Mar → nothing open, no row.
        let a = aged_per_customer("2026-03-31");
        let rows: Vec<_> = a.customers.iter().map(row).collect();
        assert_eq!(
            rows,
            [
                (
                    "acc_west",
                    [
                        dec!(0),
                        dec!(600.00),
                        dec!(500.00),
                        dec!(0),
                        dec!(0),
                        dec!(1100.00)
                    ],
                    [0, 1, 1, 0, 0]
                ),
                (
                    "acc_north",
                    [
                        dec!(0),
                        dec!(0),
                        dec!(0),
                        dec!(100.00),
                        dec!(80.00),
                        dec!(180.00)
                    ],
                    [0, 0, 0, 1, 1]
                ),
            ]
        );
        assert_eq!(a.total.amount(), dec!(1280.00));
        assert_customers_add_up(&a);
    }

    #[test]
    fn customers_with_equal_totals_are_ordered_by_account_id() {
        let invoice = |account: &str, open: Decimal| ReceivableInvoice {
            account_id: AccountId::new(account),
            issue_date: day("2026-01-01"),
            due_date: day("2026-01-15"),
            open: eur(open),
            paid_in_full_on: None,
            dunning_level: 0,
            receivable: true,
        };
        let invoices = [
            invoice("acc_b", dec!(50.00)),
            invoice("acc_c", dec!(70.00)),
            invoice("acc_a", dec!(50.00)),
            // Settled: no row although the customer exists.
            invoice("acc_d", dec!(0.00)),
        ];
        let a = aging(&invoices, Currency::EUR, day("2026-01-10")).unwrap();
        let order: Vec<&str> = a.customers.iter().map(|c| c.account_id.as_str()).collect();
        assert_eq!(order, ["acc_c", "acc_a", "acc_b"]);
        assert_customers_add_up(&a);
        // Nothing open: no customers, zero totals.
        let none = aging(&invoices[3..], Currency::EUR, day("2026-01-10")).unwrap();
        assert!(none.customers.is_empty());
        assert_eq!(none.total.amount(), dec!(0));
    }

    #[test]
    fn a_payment_in_another_currency_is_refused() {
        let mut h = history("2026-01-05", "2026-01-19", dec!(10.00), &[]);
        h.events.push(ReceivableEvent {
            on: day("2026-01-06"),
            change: ReceivableChange::Payment(Money::new(dec!(10.00), Currency::USD)),
        });
        assert!(h.as_of(day("2026-01-31")).is_err());
        assert!(h.as_of(day("2026-01-05")).unwrap().is_some());
    }
}
