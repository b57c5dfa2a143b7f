//! The billing schedule: for a run date, exactly which periods of which
//! subscription items are due, and the billing progress to record.
//!
//! "Every period is billed exactly once" is structural here. Each item
//! carries `billed_through` (the last day of its last billed period); the
//! next period always starts the day after it, so periods are contiguous by
//! construction. [`due_for_run`] returns the due periods after that progress
//! plus a [`BillingProgress`] per item (old value, new value), which the
//! storage layer writes with a condition on the old value: a retried or
//! overlapping run finds the condition false and bills nothing twice, and a
//! skipped run leaves the periods due, so the next run catches them up.
//!
//! Proration is shown on the invoice as a prorated quantity at the full
//! contract unit price, with the fraction in the description ("Licence
//! (pro rata 15/31 days)", quantity 0.9678 × 90.00): see
//! [`prorated_quantity`] for how the decimals are chosen so that the line
//! net the invoice builder computes (quantity × unit price, rounded) is
//! exactly the prorated amount.

use chrono::NaiveDate;
use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};

use crate::DomainError;
use crate::ids::{AccountId, SubscriptionId, SubscriptionItemId};
use crate::invoice::{BillableLine, LineSource};
use crate::money::Money;
use crate::party::DEFAULT_MAX_INVOICE_LINES;
use crate::period::{PeriodGrid, ServicePeriod, add_days};
use crate::subscription::{BillingTiming, ProrationPolicy, Subscription, SubscriptionItem};

/// How much of a full period a partial period is charged for: `days` of
/// `period_days`, kept as a fraction so the invoice can show it exactly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Proration {
    /// Days served in the billed period.
    pub days: i64,
    /// Days of the full grid period it belongs to.
    pub period_days: i64,
}

impl Proration {
    /// The fraction as a decimal (up to 28 significant digits), for display
    /// and checks; amounts are computed from the exact fraction instead.
    pub fn factor(&self) -> Decimal {
        Decimal::from(self.days)
            .checked_div(Decimal::from(self.period_days))
            .unwrap_or(Decimal::ONE)
    }
}

/// One period of one item that this run bills.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DuePeriod {
    /// The item billed.
    pub item_id: SubscriptionItemId,
    /// The days billed (what the invoice line shows as service period).
    pub period: ServicePeriod,
    /// The full grid period `period` is part of; equal to it unless partial.
    pub full_period: ServicePeriod,
    /// Set when a partial period is charged by actual days.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proration: Option<Proration>,
    /// Contract quantity in effect on the period's first day.
    pub quantity: Decimal,
    /// Unit price per full period in effect on the period's first day.
    pub unit_price: Money,
    /// quantity × unit price × proration, rounded to the minor unit.
    pub net: Money,
}

/// The progress of one item after a run: what the storage layer writes,
/// conditional on the item still showing `previous`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct BillingProgress {
    /// The item.
    pub item_id: SubscriptionItemId,
    /// `billed_through` as read; the write's condition.
    pub previous: Option<NaiveDate>,
    /// `billed_through` after this run's periods.
    pub billed_through: NaiveDate,
}

/// What one run bills for one subscription.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DueSchedule {
    /// The subscription.
    pub subscription_id: SubscriptionId,
    /// The customer to invoice.
    pub account_id: AccountId,
    /// The run date this schedule is for.
    pub run_date: NaiveDate,
    /// Due periods, item by item in contract order, each item's oldest first.
    pub periods: Vec<DuePeriod>,
    /// New progress for every item that has due periods.
    pub progress: Vec<BillingProgress>,
    /// The first date a later run will find something due, once `progress`
    /// is recorded (the key of the "due subscriptions by date" index);
    /// `None` when the contract has ended and everything is billed. On or
    /// before the run date when the run stopped at its period limit: the
    /// next run continues where this one stopped.
    pub next_due: Option<NaiveDate>,
}

impl DueSchedule {
    /// True when the run has nothing to bill for this subscription.
    pub fn is_empty(&self) -> bool {
        self.periods.is_empty()
    }

    /// The invoice lines for the due periods, in order, for the invoice
    /// builder. `subscription` must be the one the schedule was computed for.
    pub fn billable_lines(
        &self,
        subscription: &Subscription,
    ) -> Result<Vec<BillableLine>, DomainError> {
        self.periods
            .iter()
            .map(|due| {
                let item = subscription.item(&due.item_id).ok_or_else(|| {
                    DomainError::invalid("item_id", format!("no item {}", due.item_id))
                })?;
                Ok(due.billable_line(&self.subscription_id, item))
            })
            .collect()
    }
}

impl DuePeriod {
    /// The invoice line for this period.
    ///
    /// A prorated period is shown as a prorated quantity at the full unit
    /// price, with the fraction in the description ("… (pro rata 10/31
    /// days)"): the unit price stays the contract price the customer knows,
    /// and [`prorated_quantity`] picks the decimals so that quantity × unit
    /// price, rounded like every line, is exactly `net`.
    pub fn billable_line(
        &self,
        subscription_id: &SubscriptionId,
        item: &SubscriptionItem,
    ) -> BillableLine {
        let mut line_item = item.item.clone();
        line_item.unit_price = self.unit_price;
        line_item.quantity = self.quantity;
        if let Some(proration) = self.proration {
            line_item.quantity =
                prorated_quantity(self.quantity, self.unit_price, proration, self.net);
            line_item.description = format!(
                "{} (pro rata {}/{} days)",
                line_item.description, proration.days, proration.period_days
            );
        }
        BillableLine::new(line_item)
            .with_period(self.period)
            .with_source(LineSource::Subscription {
                subscription_id: subscription_id.clone(),
                item_id: Some(self.item_id.clone()),
            })
    }
}

/// Computes what a run on `run_date` bills for `subscription`, at most as
/// many periods as one invoice may hold by default
/// ([`DEFAULT_MAX_INVOICE_LINES`]); see [`due_for_run_within`].
pub fn due_for_run(
    subscription: &Subscription,
    run_date: NaiveDate,
) -> Result<DueSchedule, DomainError> {
    due_for_run_within(subscription, run_date, DEFAULT_MAX_INVOICE_LINES)
}

/// Computes what a run on `run_date` bills for `subscription`, at most
/// `max_periods` periods (the room left on the customer's invoice).
///
/// In advance, a period is due once it has started (start ≤ run date); in
/// arrears, once it has ended (end < run date). Every due period after each
/// item's `billed_through` is returned, oldest first, so missed runs are
/// caught up with one line per period. Nothing before the start or after the
/// end is ever due. Periods beyond `max_periods` stay due for the next run:
/// the limit delays, it never skips. The subscription itself is not changed:
/// record the returned progress with [`Subscription::record_progress`] (or
/// the storage layer's conditional write, in the same transaction as the
/// invoice that carries the lines).
pub fn due_for_run_within(
    subscription: &Subscription,
    run_date: NaiveDate,
    max_periods: usize,
) -> Result<DueSchedule, DomainError> {
    subscription.validate()?;
    let mut periods = Vec::new();
    let mut progress = Vec::new();
    let mut next_due: Option<NaiveDate> = None;
    for item in &subscription.items {
        let mut cursor = ItemCursor::new(subscription, item)?;
        while let Some(next) = cursor.next_period()? {
            if periods.len() >= max_periods || !next.is_due(item.timing, run_date) {
                next_due = earliest(next_due, next.due_date(item.timing)?);
                break;
            }
            periods.push(due_period(subscription, item, &next)?);
            cursor.advance(next.period.end);
        }
        if let Some(billed_through) = cursor.billed_through
            && cursor.billed_through != item.billed_through
        {
            progress.push(BillingProgress {
                item_id: item.id.clone(),
                previous: item.billed_through,
                billed_through,
            });
        }
    }
    Ok(DueSchedule {
        subscription_id: subscription.id.clone(),
        account_id: subscription.account_id.clone(),
        run_date,
        periods,
        progress,
        next_due,
    })
}

/// The first date on which a run finds something due for `subscription`
/// (`None` when nothing will ever be due again): the key under which the
/// storage layer indexes it, so the run reads only what is due.
pub fn next_due_date(subscription: &Subscription) -> Result<Option<NaiveDate>, DomainError> {
    subscription.validate()?;
    let mut next_due = None;
    for item in &subscription.items {
        if let Some(next) = ItemCursor::new(subscription, item)?.next_period()? {
            next_due = earliest(next_due, next.due_date(item.timing)?);
        }
    }
    Ok(next_due)
}

impl Subscription {
    /// Applies a run's progress, refusing (and changing nothing) if any item
    /// has moved on since the schedule was computed: the in-memory twin of
    /// the storage layer's conditional write, used by tests and tools.
    pub fn record_progress(&mut self, progress: &[BillingProgress]) -> Result<(), DomainError> {
        let mut indices = Vec::with_capacity(progress.len());
        for update in progress {
            let index = self
                .items
                .iter()
                .position(|item| item.id == update.item_id)
                .ok_or_else(|| {
                    DomainError::invalid("item_id", format!("no item {}", update.item_id))
                })?;
            let current = self.items[index].billed_through;
            if current != update.previous {
                return Err(DomainError::invalid(
                    format!("items/{index}/billed_through"),
                    format!(
                        "is {current:?}, expected {:?}: another run billed this item",
                        update.previous
                    ),
                ));
            }
            if update
                .previous
                .is_some_and(|previous| update.billed_through <= previous)
            {
                return Err(DomainError::invalid(
                    format!("items/{index}/billed_through"),
                    "progress must move forward",
                ));
            }
            indices.push(index);
        }
        for (index, update) in indices.into_iter().zip(progress) {
            self.items[index].billed_through = Some(update.billed_through);
        }
        Ok(())
    }
}

/// The earlier of an optional date and a date.
fn earliest(current: Option<NaiveDate>, candidate: NaiveDate) -> Option<NaiveDate> {
    Some(current.map_or(candidate, |current| current.min(candidate)))
}

/// The next billable period of an item and the grid period it belongs to.
struct NextPeriod {
    period: ServicePeriod,
    full_period: ServicePeriod,
}

impl NextPeriod {
    /// Whether a run on `run_date` bills this period.
    fn is_due(&self, timing: BillingTiming, run_date: NaiveDate) -> bool {
        match timing {
            BillingTiming::InAdvance => self.period.start <= run_date,
            BillingTiming::InArrears => self.period.end < run_date,
        }
    }

    /// The first run date that bills this period.
    fn due_date(&self, timing: BillingTiming) -> Result<NaiveDate, DomainError> {
        match timing {
            BillingTiming::InAdvance => Ok(self.period.start),
            BillingTiming::InArrears => add_days(self.period.end, 1),
        }
    }
}

/// Walks an item's periods from its billing progress on.
struct ItemCursor {
    grid: PeriodGrid,
    start: NaiveDate,
    end: Option<NaiveDate>,
    billed_through: Option<NaiveDate>,
}

impl ItemCursor {
    fn new(subscription: &Subscription, item: &SubscriptionItem) -> Result<Self, DomainError> {
        Ok(Self {
            grid: subscription.item_grid(item)?,
            start: subscription.item_start(item),
            end: subscription.item_end(item),
            billed_through: item.billed_through,
        })
    }

    /// The period after the progress: from the day after `billed_through`
    /// (or the item's start) to the end of that day's grid period, cut at the
    /// item's end. `None` once the item's end is billed.
    fn next_period(&self) -> Result<Option<NextPeriod>, DomainError> {
        let first_day = match self.billed_through {
            Some(billed_through) => add_days(billed_through, 1)?.max(self.start),
            None => self.start,
        };
        if self.end.is_some_and(|end| first_day > end) {
            return Ok(None);
        }
        let full_period = self.grid.period_containing(first_day)?;
        let last_day = self
            .end
            .map_or(full_period.end, |end| end.min(full_period.end));
        Ok(Some(NextPeriod {
            period: ServicePeriod::new(first_day, last_day)?,
            full_period,
        }))
    }

    fn advance(&mut self, billed_through: NaiveDate) {
        self.billed_through = Some(billed_through);
    }
}

/// Prices a due period: quantity and unit price in effect on its first day,
/// prorated by actual days when partial and the contract says so.
fn due_period(
    subscription: &Subscription,
    item: &SubscriptionItem,
    next: &NextPeriod,
) -> Result<DuePeriod, DomainError> {
    let quantity = item.quantity_on(next.period.start);
    let unit_price = item.unit_price_on(next.period.start);
    let proration = (subscription.proration == ProrationPolicy::ActualDays
        && next.period != next.full_period)
        .then(|| Proration {
            days: next.period.days(),
            period_days: next.full_period.days(),
        });
    let full_net = unit_price.times(quantity)?;
    let net = match proration {
        Some(proration) => prorate(full_net, proration)?,
        None => full_net,
    }
    .round();
    Ok(DuePeriod {
        item_id: item.id.clone(),
        period: next.period,
        full_period: next.full_period,
        proration,
        quantity,
        unit_price,
        net,
    })
}

/// `amount × days / period_days`, multiplying first so the division is the
/// only inexact step (before rounding to the minor unit).
fn prorate(amount: Money, proration: Proration) -> Result<Money, DomainError> {
    let scaled = amount.times(Decimal::from(proration.days))?;
    let value = scaled
        .amount()
        .checked_div(Decimal::from(proration.period_days))
        .ok_or_else(|| DomainError::invalid("proration", "period has no days"))?;
    Ok(Money::new(value, amount.currency()))
}

/// The quantity to print on a prorated line: quantity × days / period days,
/// with the fewest decimals (at least 4) for which `shown × unit price`,
/// rounded like every line net, is exactly the prorated net. Invoices stay
/// readable (0.3226 rather than 28 digits) and arithmetically true.
pub fn prorated_quantity(
    quantity: Decimal,
    unit_price: Money,
    proration: Proration,
    net: Money,
) -> Decimal {
    let exact = Decimal::from(proration.days)
        .checked_mul(quantity)
        .and_then(|scaled| scaled.checked_div(Decimal::from(proration.period_days)))
        .unwrap_or(quantity);
    let shown_net = |candidate: Decimal| unit_price.times(candidate).ok().map(Money::round);
    for scale in 4..=12 {
        let rounded = exact.round_dp_with_strategy(scale, RoundingStrategy::MidpointAwayFromZero);
        let step = Decimal::new(1, scale);
        for candidate in [rounded, rounded + step, rounded - step] {
            if shown_net(candidate) == Some(net) {
                return candidate.normalize();
            }
        }
    }
    exact
}
