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

use chrono::{Datelike, NaiveDate};
use rust_decimal::{Decimal, RoundingStrategy};
use serde::Serialize;

use crate::DomainError;
use crate::money::{Currency, Money};

/// What the figures need of one invoice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivableInvoice {
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

/// Aging of the open receivable invoices in `currency` on `as_of`; invoices
/// in other currencies are left out.
pub fn aging(
    invoices: &[ReceivableInvoice],
    currency: Currency,
    as_of: NaiveDate,
) -> Result<Aging, DomainError> {
    let mut sums = [Money::zero(currency); 5];
    let mut counts = [0u32; 5];
    for invoice in invoices
        .iter()
        .filter(|i| i.receivable && i.is_open() && i.open.currency() == currency)
    {
        let bucket = aging_bucket(invoice.days_overdue(as_of));
        sums[bucket] = sums[bucket].checked_add(invoice.open)?;
        counts[bucket] = counts[bucket].saturating_add(1);
    }
    let total = Money::sum(currency, sums)?;
    let [current, days_1_30, days_31_60, days_61_90, over_90] = sums;
    Ok(Aging {
        as_of,
        currency,
        buckets: AgingBuckets {
            current,
            days_1_30,
            days_31_60,
            days_61_90,
            over_90,
        },
        counts,
        total,
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
