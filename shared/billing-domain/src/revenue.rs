//! Revenue figures finance reports: recurring revenue (MRR, ARR) and its
//! movements per month from the contracts, and deferred revenue per month
//! from the invoices billed. Pure functions; the staff API serves them as
//! JSON and CSV. Amounts are net (without VAT) and kept per currency:
//! figures in two currencies are never added.
//!
//! Definitions (also in `docs/openapi.yaml`):
//!
//! - **MRR of an item on a day**: while the item is in service that day
//!   (from its start to its end, both inclusive), quantity × unit price in
//!   effect that day, per full period, normalised to a month: a period of
//!   `n` months counts `1/n` (quarterly: a third), of `n` years `1/(12 n)`,
//!   of `n` weeks `52/(12 n)`, of `n` days `365/(12 n)`. Proration of
//!   partial periods does not change MRR: it is a run rate, not what was
//!   billed.
//! - **MRR of a customer in a month**: the sum over the customer's contracts
//!   in that currency on the month's last day, rounded half away from zero
//!   to the currency's minor unit once per customer. **MRR of the month**:
//!   the sum over customers. **ARR** = 12 × MRR.
//! - **Movements** from the previous month's MRR `p` to this month's `c`,
//!   per customer and currency: `new` = `c` when `p` = 0 and the customer
//!   never had MRR in that currency at an earlier month end;
//!   `reactivation` = `c` when `p` = 0 but they had; `expansion` = `c − p`
//!   when `0 < p < c`; `contraction` = `p − c` when `0 < c < p`; `churn` =
//!   `p` when `p > 0` and `c` = 0. So MRR = opening MRR + new +
//!   reactivation + expansion − contraction − churn, every month.
//! - **Deferred revenue of an invoice line** at the end of a day `E`: a line
//!   with a service period of `N` days, issued on or before `E`, has earned
//!   its net amount daily pro rata over its period; what is not yet earned
//!   is `net × (days of the period after E) / N`, rounded half away from
//!   zero to the minor unit per line. Lines of credit notes count negative.
//!   A line billed in arrears (its period over when issued) defers nothing.
//!   Lines without a service period are not deferred revenue and are left
//!   out.
//! - **Per month**: `opening` = deferred at the end of the previous month,
//!   `billed` = net of the lines issued in the month, `closing` = deferred
//!   at the month's last day, `earned` = opening + billed − closing (the
//!   revenue recognised in the month from what was billed).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::str::FromStr;

use chrono::{Datelike, Days, NaiveDate};
use rust_decimal::Decimal;
use serde::{Serialize, Serializer};

use crate::DomainError;
use crate::ids::{AccountId, InvoiceId};
use crate::invoice::Invoice;
use crate::money::{Currency, Money};
use crate::numbering::DocumentType;
use crate::period::{IntervalUnit, ServicePeriod, days_in_month};
use crate::subscription::Subscription;

/// A calendar month, `YYYY-MM`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Month {
    year: i32,
    month: u32,
}

impl Month {
    /// The month of `day`.
    pub fn of(day: NaiveDate) -> Self {
        Self {
            year: day.year(),
            month: day.month(),
        }
    }

    /// Its first day.
    pub fn first_day(self) -> NaiveDate {
        NaiveDate::from_ymd_opt(self.year, self.month, 1).unwrap_or(NaiveDate::MIN)
    }

    /// Its last day.
    pub fn last_day(self) -> NaiveDate {
        NaiveDate::from_ymd_opt(self.year, self.month, days_in_month(self.year, self.month))
            .unwrap_or(NaiveDate::MAX)
    }

    /// The month after.
    pub fn next(self) -> Self {
        Self::of(self.last_day() + Days::new(1))
    }

    /// The month before.
    pub fn previous(self) -> Self {
        Self::of(self.first_day() - Days::new(1))
    }

    /// Months from `self` to `to`, both included (empty when `to` is
    /// earlier).
    pub fn through(self, to: Month) -> Vec<Month> {
        let mut months = Vec::new();
        let mut month = self;
        while month <= to {
            months.push(month);
            month = month.next();
        }
        months
    }
}

impl fmt::Display for Month {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

impl FromStr for Month {
    type Err = DomainError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let refused = || DomainError::invalid("month", "must be a month YYYY-MM");
        let (year, month) = text.split_once('-').ok_or_else(refused)?;
        if year.len() != 4 || month.len() != 2 {
            return Err(refused());
        }
        let year: i32 = year.parse().map_err(|_| refused())?;
        let month: u32 = month.parse().map_err(|_| refused())?;
        if !(1..=12).contains(&month) || !(1900..=9999).contains(&year) {
            return Err(refused());
        }
        Ok(Self { year, month })
    }
}

impl Serialize for Month {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// How many months one full period of `count` × `unit` is (the MRR
/// normalisation; see the module documentation).
fn months_per_period(count: u32, unit: IntervalUnit) -> Decimal {
    let count = Decimal::from(count);
    match unit {
        IntervalUnit::Month => count,
        IntervalUnit::Year => Decimal::from(12) * count,
        IntervalUnit::Week => Decimal::from(12) * count / Decimal::from(52),
        IntervalUnit::Day => Decimal::from(12) * count / Decimal::from(365),
    }
}

/// The unrounded MRR of a contract on `day` (zero when no item is in
/// service).
pub fn contract_mrr(contract: &Subscription, day: NaiveDate) -> Result<Money, DomainError> {
    let mut mrr = Money::zero(contract.currency);
    for item in &contract.items {
        let start = contract.item_start(item);
        let in_service = start <= day && contract.item_end(item).is_none_or(|end| day <= end);
        if !in_service {
            continue;
        }
        let per_period = item.terms_on(day).period_amount()?;
        let months = months_per_period(item.interval.count, item.interval.unit);
        mrr = mrr.checked_add(Money::new(per_period.amount() / months, contract.currency))?;
    }
    Ok(mrr)
}

/// MRR per (customer, currency) at the end of `month`, rounded per
/// customer; customers without MRR are left out.
pub fn customer_mrr(
    contracts: &[Subscription],
    month: Month,
) -> Result<BTreeMap<(AccountId, Currency), Money>, DomainError> {
    let day = month.last_day();
    let mut sums: BTreeMap<(AccountId, Currency), Money> = BTreeMap::new();
    for contract in contracts {
        let mrr = contract_mrr(contract, day)?;
        let key = (contract.account_id.clone(), contract.currency);
        let sum = sums.entry(key).or_insert(Money::zero(contract.currency));
        *sum = sum.checked_add(mrr)?;
    }
    Ok(sums
        .into_iter()
        .map(|(key, sum)| (key, sum.round()))
        .filter(|(_, sum)| !sum.is_zero())
        .collect())
}

/// One month of recurring revenue in one currency (see the module
/// documentation for each figure).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MrrMonth {
    /// The month.
    pub month: Month,
    /// Its currency.
    pub currency: Currency,
    /// MRR at the end of the previous month.
    pub opening_mrr: Money,
    /// From customers without MRR before.
    pub new: Money,
    /// From customers who had MRR once, but not last month.
    pub reactivation: Money,
    /// Increases of customers who had MRR last month.
    pub expansion: Money,
    /// Decreases of customers who still have MRR.
    pub contraction: Money,
    /// MRR of customers who have none any more.
    pub churn: Money,
    /// MRR at the end of the month.
    pub mrr: Money,
    /// 12 × MRR.
    pub arr: Money,
    /// Customers with MRR at the end of the month.
    pub customers: u32,
}

impl MrrMonth {
    fn zero(month: Month, currency: Currency) -> Self {
        let zero = Money::zero(currency);
        Self {
            month,
            currency,
            opening_mrr: zero,
            new: zero,
            reactivation: zero,
            expansion: zero,
            contraction: zero,
            churn: zero,
            mrr: zero,
            arr: zero,
            customers: 0,
        }
    }
}

/// MRR, ARR and the movements for each month from `from` to `to`, per
/// currency (currencies in code order); a currency appears from the first
/// month of the range on once any contract in it exists.
pub fn mrr_months(
    contracts: &[Subscription],
    from: Month,
    to: Month,
) -> Result<Vec<MrrMonth>, DomainError> {
    let currencies: BTreeSet<&'static str> = contracts.iter().map(|c| c.currency.code()).collect();
    let Some(first_start) = contracts.iter().map(|c| c.start).min() else {
        return Ok(Vec::new());
    };
    // Who had MRR at any month end before `from` (for new vs reactivation).
    let mut seen: BTreeSet<(AccountId, Currency)> = BTreeSet::new();
    let mut previous = BTreeMap::new();
    for month in Month::of(first_start).through(from.previous()) {
        previous = customer_mrr(contracts, month)?;
        seen.extend(previous.keys().cloned());
    }
    let mut months = Vec::new();
    for month in from.through(to) {
        let current = customer_mrr(contracts, month)?;
        let mut rows: BTreeMap<&'static str, MrrMonth> = currencies
            .iter()
            .filter_map(|code| Currency::from_code(code).ok())
            .map(|currency| (currency.code(), MrrMonth::zero(month, currency)))
            .collect();
        let customers: BTreeSet<&(AccountId, Currency)> =
            previous.keys().chain(current.keys()).collect();
        for key in customers {
            let currency = key.1;
            let zero = Money::zero(currency);
            let p = previous.get(key).copied().unwrap_or(zero);
            let c = current.get(key).copied().unwrap_or(zero);
            let Some(row) = rows.get_mut(currency.code()) else {
                continue;
            };
            row.opening_mrr = row.opening_mrr.checked_add(p)?;
            row.mrr = row.mrr.checked_add(c)?;
            if c.is_positive() {
                row.customers += 1;
            }
            match (p.is_positive(), c.is_positive()) {
                (false, true) if seen.contains(key) => {
                    row.reactivation = row.reactivation.checked_add(c)?;
                }
                (false, true) => row.new = row.new.checked_add(c)?,
                (true, false) => row.churn = row.churn.checked_add(p)?,
                (true, true) => match c.compare(&p)? {
                    std::cmp::Ordering::Greater => {
                        row.expansion = row.expansion.checked_add(c.checked_sub(p)?)?;
                    }
                    std::cmp::Ordering::Less => {
                        row.contraction = row.contraction.checked_add(p.checked_sub(c)?)?;
                    }
                    std::cmp::Ordering::Equal => {}
                },
                (false, false) => {}
            }
        }
        for row in rows.values_mut() {
            row.arr = row.mrr.times(Decimal::from(12))?;
        }
        months.extend(rows.into_values());
        seen.extend(current.keys().cloned());
        previous = current;
    }
    Ok(months)
}

/// One invoice line as deferred revenue sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BilledLine {
    /// The customer.
    pub account_id: AccountId,
    /// The document it is on.
    pub invoice_id: InvoiceId,
    /// The document's issue date: from it on the line counts.
    pub issue_date: NaiveDate,
    /// The period it pays for.
    pub period: ServicePeriod,
    /// Its net amount; negative on a credit note.
    pub net: Money,
}

/// The lines with a service period of `invoices` (credit notes negative).
pub fn billed_lines(invoices: &[Invoice]) -> Result<Vec<BilledLine>, DomainError> {
    let mut lines = Vec::new();
    for invoice in invoices {
        let content = invoice.content();
        for line in &content.lines {
            let Some(period) = line.service_period else {
                continue;
            };
            let net = match content.document_type {
                DocumentType::Invoice => line.net_amount,
                DocumentType::CreditNote => -line.net_amount,
            };
            lines.push(BilledLine {
                account_id: content.buyer.id.clone(),
                invoice_id: content.id.clone(),
                issue_date: content.issue_date,
                period,
                net,
            });
        }
    }
    Ok(lines)
}

impl BilledLine {
    /// What of the line is not yet earned at the end of `day` (see the
    /// module documentation), rounded to the minor unit.
    pub fn deferred_at(&self, day: NaiveDate) -> Result<Money, DomainError> {
        let currency = self.net.currency();
        if self.issue_date > day || self.period.end <= day {
            return Ok(Money::zero(currency));
        }
        let first = self.period.start.max(day + Days::new(1));
        let later = (self.period.end - first).num_days() + 1;
        let share = Decimal::from(later) / Decimal::from(self.period.days());
        Ok(self.net.times(share)?.round())
    }
}

/// Deferred revenue of one customer (or all) in one currency in one month.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeferredMonth {
    /// The month.
    pub month: Month,
    /// The customer; `None` for the seller's total.
    pub account_id: Option<AccountId>,
    /// The currency.
    pub currency: Currency,
    /// Deferred at the end of the previous month.
    pub opening: Money,
    /// Net billed in the month (lines with a service period).
    pub billed: Money,
    /// Recognised in the month: opening + billed − closing.
    pub earned: Money,
    /// Deferred at the end of the month.
    pub closing: Money,
}

/// Deferred revenue in `month`: one row per customer and currency
/// (customers in id order; rows that are all zero left out), then one total
/// row per currency.
pub fn deferred_revenue(
    lines: &[BilledLine],
    month: Month,
) -> Result<Vec<DeferredMonth>, DomainError> {
    let opening_day = month.previous().last_day();
    let closing_day = month.last_day();
    let mut per_customer: BTreeMap<(AccountId, &'static str), DeferredMonth> = BTreeMap::new();
    for line in lines {
        let currency = line.net.currency();
        let row = per_customer
            .entry((line.account_id.clone(), currency.code()))
            .or_insert_with(|| zero_row(month, Some(line.account_id.clone()), currency));
        row.opening = row.opening.checked_add(line.deferred_at(opening_day)?)?;
        row.closing = row.closing.checked_add(line.deferred_at(closing_day)?)?;
        if Month::of(line.issue_date) == month {
            row.billed = row.billed.checked_add(line.net)?;
        }
    }
    let mut totals: BTreeMap<&'static str, DeferredMonth> = BTreeMap::new();
    let mut rows = Vec::new();
    for mut row in per_customer.into_values() {
        row.earned = row
            .opening
            .checked_add(row.billed)?
            .checked_sub(row.closing)?;
        if [row.opening, row.billed, row.closing]
            .iter()
            .all(Money::is_zero)
        {
            continue;
        }
        let total = totals
            .entry(row.currency.code())
            .or_insert_with(|| zero_row(month, None, row.currency));
        total.opening = total.opening.checked_add(row.opening)?;
        total.billed = total.billed.checked_add(row.billed)?;
        total.earned = total.earned.checked_add(row.earned)?;
        total.closing = total.closing.checked_add(row.closing)?;
        rows.push(row);
    }
    rows.extend(totals.into_values());
    Ok(rows)
}

fn zero_row(month: Month, account_id: Option<AccountId>, currency: Currency) -> DeferredMonth {
    let zero = Money::zero(currency);
    DeferredMonth {
        month,
        account_id,
        currency,
        opening: zero,
        billed: zero,
        earned: zero,
        closing: zero,
    }
}

/// The MRR report as CSV (RFC 4180, comma, `.` decimals, one row per month
/// and currency), for finance's spreadsheets.
pub fn mrr_csv(rows: &[MrrMonth]) -> String {
    let mut csv = String::from(
        "month,currency,opening_mrr,new,reactivation,expansion,contraction,churn,mrr,arr,customers\r\n",
    );
    for r in rows {
        csv.push_str(&format!(
            "{},{},{},{},{},{},{},{},{},{},{}\r\n",
            r.month,
            r.currency.code(),
            r.opening_mrr.amount(),
            r.new.amount(),
            r.reactivation.amount(),
            r.expansion.amount(),
            r.contraction.amount(),
            r.churn.amount(),
            r.mrr.amount(),
            r.arr.amount(),
            r.customers
        ));
    }
    csv
}

/// The deferred revenue report as CSV: one row per customer and currency,
/// then the totals (`account_id` empty).
pub fn deferred_csv(rows: &[DeferredMonth]) -> String {
    let mut csv = String::from("month,account_id,currency,opening,billed,earned,closing\r\n");
    for r in rows {
        // Account ids are ours (no commas or quotes); quoted anyway.
        let account = r
            .account_id
            .as_ref()
            .map(|a| format!("\"{}\"", a.as_str().replace('"', "\"\"")))
            .unwrap_or_default();
        csv.push_str(&format!(
            "{},{},{},{},{},{},{}\r\n",
            r.month,
            account,
            r.currency.code(),
            r.opening.amount(),
            r.billed.amount(),
            r.earned.amount(),
            r.closing.amount()
        ));
    }
    csv
}
