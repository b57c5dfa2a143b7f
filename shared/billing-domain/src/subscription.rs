//! Subscriptions (contracts): what recurs, how often, at which price, until
//! when, and how far it has been billed.
//!
//! The billing progress (`billed_through`) lives on each item, next to the
//! terms it was billed under, so that "which periods are still due" is a pure
//! function of the contract and a run date (see [`crate::schedule`]).

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::DomainError;
use crate::ids::{AccountId, SubscriptionId, SubscriptionItemId};
use crate::item::Item;
use crate::mid_period::{ChargedTerms, MidPeriodPolicy};
use crate::money::{Currency, Money};
use crate::period::{AnchorDay, AnchorMonth, BillingInterval, PeriodGrid, ServicePeriod, add_days};

/// Whether a period is billed when it begins or once it is over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BillingTiming {
    /// Billed on or after the period's first day (licences, fees).
    InAdvance,
    /// Billed after the period's last day (usage, services rendered).
    InArrears,
}

/// How a period shorter than a full interval (start, end or cancellation in
/// the middle of an interval) is charged; chosen per contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProrationPolicy {
    /// Charge days served / days of the full period.
    ActualDays,
    /// Charge the full period's price for any part of it.
    FullPeriod,
}

/// How a contract's (or a deal's) invoices are paid.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PaymentMethod {
    /// The customer transfers the amount (the invoice prints transfer
    /// instructions and a GiroCode). Contracts stored before payment
    /// methods existed read as this.
    #[default]
    Transfer,
    /// The seller collects it by SEPA direct debit under the customer's
    /// mandate ([`crate::invoice::InvoiceDraft::collect_by_direct_debit`]).
    DirectDebit,
}

impl PaymentMethod {
    /// Whether this is the default, so stored contracts keep their shape.
    pub fn is_transfer(&self) -> bool {
        *self == Self::Transfer
    }
}

/// A value that applies from a date on, e.g. a price change agreed in the CRM.
///
/// A change inside a period is billed pro rata from its day, per the
/// contract's [`MidPeriodPolicy`] (see [`crate::mid_period`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Effective<T> {
    /// First day the value applies to.
    pub effective_from: NaiveDate,
    /// The value.
    pub value: T,
}

/// The value of a timeline on `date`: the latest change on or before it, or
/// the initial value. Works on unsorted lists, so stored order never matters.
fn value_on<T: Copy>(initial: T, changes: &[Effective<T>], date: NaiveDate) -> T {
    changes
        .iter()
        .filter(|change| change.effective_from <= date)
        .max_by_key(|change| change.effective_from)
        .map_or(initial, |change| change.value)
}

/// Adds or replaces (same date) a change, so a replayed amendment is harmless.
fn upsert<T>(changes: &mut Vec<Effective<T>>, change: Effective<T>) {
    changes.retain(|existing| existing.effective_from != change.effective_from);
    changes.push(change);
    changes.sort_by_key(|existing| existing.effective_from);
}

/// One recurring position of a contract, with its own interval and progress.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubscriptionItem {
    /// Stable id, so each billed period traces back to its item.
    pub id: SubscriptionItemId,
    /// What is sold, as each period's invoice line shows it; its quantity
    /// and unit price are the initial ones (price per full period).
    pub item: Item,
    /// How often the item is billed.
    pub interval: BillingInterval,
    /// Billed at the start or the end of each period.
    pub timing: BillingTiming,
    /// Aligns monthly-based periods to this month (calendar quarters,
    /// half-years or years with 1); `None` counts periods from the start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub anchor_month: Option<AnchorMonth>,
    /// First day of service if later than the contract's start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start: Option<NaiveDate>,
    /// Last day of service (inclusive) if earlier than the contract's end;
    /// a day before the item's start means it was withdrawn unbilled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end: Option<NaiveDate>,
    /// Later unit prices, each from its date.
    #[serde(default)]
    pub price_changes: Vec<Effective<Money>>,
    /// Later quantities, each from its date.
    #[serde(default)]
    pub quantity_changes: Vec<Effective<Decimal>>,
    /// Last day of the last billed period; `None` before the first bill.
    /// The storage layer writes it only with a condition on its old value,
    /// which is what makes "billed exactly once" hold under retries.
    #[serde(default)]
    pub billed_through: Option<NaiveDate>,
    /// In advance only: how far changes inside billed periods are billed.
    /// `None` on items stored before mid-period changes were billed; then
    /// the last billed period counts as charged at its first day's terms
    /// (see [`Subscription::change_settlement`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changes_settled: Option<ChangeSettlement>,
}

/// The progress of mid-period changes on an item billed in advance: changes
/// effective on or before `settled_through` are billed, and the days after it
/// up to `billed_through` (all in one period) stand charged at `charged`.
/// Kept explicitly because a change recorded after a run for that run's own
/// day must be told apart from one the run already priced in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ChangeSettlement {
    /// Last day whose changes are billed; a new change must come after it.
    pub settled_through: NaiveDate,
    /// What the billed days after `settled_through` were charged at.
    pub charged: ChargedTerms,
}

impl SubscriptionItem {
    /// The unit price in effect on `date`.
    pub fn unit_price_on(&self, date: NaiveDate) -> Money {
        value_on(self.item.unit_price, &self.price_changes, date)
    }

    /// The quantity in effect on `date`.
    pub fn quantity_on(&self, date: NaiveDate) -> Decimal {
        value_on(self.item.quantity, &self.quantity_changes, date)
    }

    /// Quantity and unit price in effect on `date`.
    pub fn terms_on(&self, date: NaiveDate) -> ChargedTerms {
        ChargedTerms {
            quantity: self.quantity_on(date),
            unit_price: self.unit_price_on(date),
        }
    }

    /// Every day on which the quantity or the unit price changes, ascending.
    pub fn change_dates(&self) -> Vec<NaiveDate> {
        let mut dates: Vec<NaiveDate> = self
            .price_changes
            .iter()
            .map(|change| change.effective_from)
            .chain(self.quantity_changes.iter().map(|c| c.effective_from))
            .collect();
        dates.sort();
        dates.dedup();
        dates
    }
}

/// A contract: one customer, one currency, items that recur until it ends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subscription {
    /// Stable id.
    pub id: SubscriptionId,
    /// The customer billed.
    pub account_id: AccountId,
    /// Currency of every price on the contract (one invoice, one currency).
    pub currency: Currency,
    /// First day of service.
    pub start: NaiveDate,
    /// Last day of service (inclusive); `None` runs until cancelled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end: Option<NaiveDate>,
    /// Day of the month calendar periods start on; `None` uses each item's
    /// start day.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub anchor_day: Option<AnchorDay>,
    /// How partial first and last periods are charged.
    pub proration: ProrationPolicy,
    /// This contract's rule for changes inside a period; `None` follows the
    /// seller's ([`crate::seller::BillingEntity::mid_period_changes`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mid_period_changes: Option<MidPeriodPolicy>,
    /// The recurring positions.
    pub items: Vec<SubscriptionItem>,
    /// How the contract's invoices are paid; a run collects those of a
    /// direct-debit contract under the customer's active mandate.
    #[serde(default, skip_serializing_if = "PaymentMethod::is_transfer")]
    pub payment_method: PaymentMethod,
}

/// How a contract is ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "mode", rename_all = "snake_case")]
pub enum Cancellation {
    /// Each item runs to the end of its period that contains the notice date
    /// (its current period); nothing is prorated.
    AtPeriodEnd {
        /// Day the cancellation was received.
        notice_date: NaiveDate,
    },
    /// Service ends on a given day; a partial last period is prorated per the
    /// contract's [`ProrationPolicy`].
    AtDate {
        /// Last day of service (inclusive).
        last_day: NaiveDate,
    },
}

/// A stretch already billed beyond a new end date; it needs a credit note,
/// because a finalized invoice never changes.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct OverBilledPeriod {
    /// The item billed too far.
    pub item_id: SubscriptionItemId,
    /// The billed days after the new end.
    pub period: ServicePeriod,
}

/// What a cancellation did, so the caller can confirm the end date and issue
/// credit notes where service was already billed past it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CancellationOutcome {
    /// The contract's last day of service.
    pub end: NaiveDate,
    /// Billed days that now fall after the end.
    pub over_billed: Vec<OverBilledPeriod>,
}

impl Subscription {
    /// Checks the rules a stored or incoming contract must meet; the schedule
    /// calls it so a corrupt record errs instead of billing nonsense.
    pub fn validate(&self) -> Result<(), DomainError> {
        if let Some(end) = self.end
            && end < self.start
        {
            return Err(DomainError::invalid(
                "end",
                format!("end {end} is before start {}", self.start),
            ));
        }
        if self.payment_method == PaymentMethod::DirectDebit && self.currency != Currency::EUR {
            return Err(DomainError::invalid(
                "payment_method",
                format!(
                    "the contract is in {}; SEPA direct debits are in euro only",
                    self.currency.code()
                ),
            ));
        }
        if self.items.is_empty() {
            return Err(DomainError::invalid(
                "items",
                "a subscription needs at least one item",
            ));
        }
        for (index, item) in self.items.iter().enumerate() {
            self.validate_item(index, item)?;
        }
        Ok(())
    }

    /// Checks one item; fields are named like `items[2].start`.
    fn validate_item(&self, index: usize, item: &SubscriptionItem) -> Result<(), DomainError> {
        let field = |name: &str| format!("items[{index}].{name}");
        if self.items[..index].iter().any(|other| other.id == item.id) {
            return Err(DomainError::invalid(
                field("id"),
                format!("duplicate item id {}", item.id),
            ));
        }
        item.item
            .validate(&format!("items[{index}].item"), self.currency)?;
        if let Some(start) = item.start
            && start < self.start
        {
            return Err(DomainError::invalid(
                field("start"),
                format!(
                    "item starts {start}, before the subscription ({})",
                    self.start
                ),
            ));
        }
        for (change_index, change) in item.price_changes.iter().enumerate() {
            if change.value.currency() != self.currency {
                return Err(DomainError::invalid(
                    field(&format!("price_changes[{change_index}].value.currency")),
                    format!(
                        "{} does not match {}",
                        change.value.currency(),
                        self.currency
                    ),
                ));
            }
        }
        Ok(())
    }

    /// The item with `id`, if the contract has it.
    pub fn item(&self, id: &SubscriptionItemId) -> Option<&SubscriptionItem> {
        self.items.iter().find(|item| &item.id == id)
    }

    /// First day of service of an item.
    pub fn item_start(&self, item: &SubscriptionItem) -> NaiveDate {
        item.start.unwrap_or(self.start).max(self.start)
    }

    /// Last day of service of an item, if it ends: the earlier of the item's
    /// and the contract's end. May lie before the item's start when the
    /// contract ends before the item would have begun (then nothing is billed).
    pub fn item_end(&self, item: &SubscriptionItem) -> Option<NaiveDate> {
        match (item.end, self.end) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// The period grid of an item: its interval from its start, on the
    /// contract's anchor day.
    pub fn item_grid(&self, item: &SubscriptionItem) -> Result<PeriodGrid, DomainError> {
        PeriodGrid::aligned(
            self.item_start(item),
            item.interval,
            self.anchor_day,
            item.anchor_month,
        )
    }

    /// Changes an item's unit price from `effective_from` on (the webhook's
    /// amendment). Refused if a period starting on or after that date has
    /// already been billed: that would rewrite a finalized invoice.
    pub fn change_price(
        &mut self,
        item_id: &SubscriptionItemId,
        effective_from: NaiveDate,
        unit_price: Money,
    ) -> Result<(), DomainError> {
        unit_price.ensure_currency(self.currency, "unit_price")?;
        let index = self.amendable_item(item_id, effective_from)?;
        upsert(
            &mut self.items[index].price_changes,
            Effective {
                effective_from,
                value: unit_price,
            },
        );
        Ok(())
    }

    /// Changes an item's quantity from `effective_from` on; same rules as
    /// [`Self::change_price`].
    pub fn change_quantity(
        &mut self,
        item_id: &SubscriptionItemId,
        effective_from: NaiveDate,
        quantity: Decimal,
    ) -> Result<(), DomainError> {
        let index = self.amendable_item(item_id, effective_from)?;
        upsert(
            &mut self.items[index].quantity_changes,
            Effective {
                effective_from,
                value: quantity,
            },
        );
        Ok(())
    }

    /// Finds the item and checks that the change does not reach back into
    /// what is settled: in arrears, a billed period (its lines are final);
    /// in advance, a day whose changes are already billed (see
    /// [`ChangeSettlement`]). Changes inside the current in-advance period
    /// are accepted and billed pro rata by the next run. Fixes the item's
    /// settlement first, so a change recorded now is never mistaken for one
    /// its period was already priced with.
    fn amendable_item(
        &mut self,
        item_id: &SubscriptionItemId,
        effective_from: NaiveDate,
    ) -> Result<usize, DomainError> {
        let index = self
            .items
            .iter()
            .position(|item| &item.id == item_id)
            .ok_or_else(|| DomainError::invalid("item_id", format!("no item {item_id}")))?;
        let item = &self.items[index];
        let settled = match item.timing {
            BillingTiming::InArrears => item.billed_through,
            BillingTiming::InAdvance => {
                let settlement = self.change_settlement(item)?;
                self.items[index].changes_settled = settlement;
                settlement.map(|s| s.settled_through)
            }
        };
        if let Some(settled) = settled
            && effective_from <= settled
        {
            return Err(DomainError::invalid(
                "effective_from",
                format!(
                    "{effective_from} is not after {settled}, up to which the item is billed at its terms"
                ),
            ));
        }
        Ok(index)
    }

    /// How far an in-advance item's changes are billed: the stored
    /// settlement, or for an item stored before it existed, its last billed
    /// period counted as charged at that period's first-day terms (what the
    /// schedule billed then). `None` before the first bill.
    pub fn change_settlement(
        &self,
        item: &SubscriptionItem,
    ) -> Result<Option<ChangeSettlement>, DomainError> {
        if item.changes_settled.is_some() {
            return Ok(item.changes_settled);
        }
        let Some(billed_through) = item.billed_through else {
            return Ok(None);
        };
        let last_start = self
            .item_grid(item)?
            .period_containing(billed_through)?
            .start
            .max(self.item_start(item));
        Ok(Some(ChangeSettlement {
            settled_through: add_days(last_start, -1)?,
            charged: item.terms_on(last_start),
        }))
    }

    /// Ends the contract. Returns the new end and any already billed days
    /// after it. The end only ever moves earlier: cancelling twice keeps the
    /// earlier end, so a replayed cancellation changes nothing.
    pub fn cancel(
        &mut self,
        cancellation: Cancellation,
    ) -> Result<CancellationOutcome, DomainError> {
        let end = match cancellation {
            Cancellation::AtDate { last_day } => {
                if last_day < self.start {
                    return Err(DomainError::invalid(
                        "cancellation.last_day",
                        format!(
                            "{last_day} is before the subscription starts ({})",
                            self.start
                        ),
                    ));
                }
                self.end.map_or(last_day, |end| end.min(last_day))
            }
            Cancellation::AtPeriodEnd { notice_date } => self.cancel_at_period_end(notice_date)?,
        };
        self.end = Some(end);
        let mut over_billed = Vec::new();
        for item in &self.items {
            let (Some(billed_through), Some(item_end)) = (item.billed_through, self.item_end(item))
            else {
                continue;
            };
            if billed_through > item_end {
                let first = add_days(item_end, 1)?.max(self.item_start(item));
                over_billed.push(OverBilledPeriod {
                    item_id: item.id.clone(),
                    period: ServicePeriod::new(first, billed_through)?,
                });
            }
        }
        Ok(CancellationOutcome { end, over_billed })
    }

    /// Sets each running item's end to the end of its current period and
    /// returns the contract's end: the latest of those.
    fn cancel_at_period_end(&mut self, notice_date: NaiveDate) -> Result<NaiveDate, DomainError> {
        if notice_date < self.start {
            return Err(DomainError::invalid(
                "cancellation.notice_date",
                format!(
                    "{notice_date} is before the subscription starts ({})",
                    self.start
                ),
            ));
        }
        // (new item end, whether it counts towards the contract's end)
        let mut item_ends = Vec::with_capacity(self.items.len());
        for item in &self.items {
            let start = self.item_start(item);
            if start > notice_date {
                // Not yet begun: withdrawn, so it is never billed.
                item_ends.push((add_days(start, -1)?, false));
                continue;
            }
            let period_end = self.item_grid(item)?.period_containing(notice_date)?.end;
            let end = self
                .item_end(item)
                .map_or(period_end, |end| end.min(period_end));
            item_ends.push((end, true));
        }
        let mut contract_end = notice_date;
        for (item, (end, counts)) in self.items.iter_mut().zip(item_ends) {
            item.end = Some(item.end.map_or(end, |existing| existing.min(end)));
            if counts {
                contract_end = contract_end.max(end);
            }
        }
        Ok(self.end.map_or(contract_end, |end| end.min(contract_end)))
    }
}
