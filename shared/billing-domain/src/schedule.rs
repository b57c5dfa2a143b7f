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
use crate::item::{BillableLine, LineSource};
use crate::mid_period::ChargedTerms;
use crate::mid_period::{ChangeDirection, Downgrades, MidPeriodPolicy};
use crate::money::Money;
use crate::party::Language;
use crate::period::{PeriodGrid, ServicePeriod, add_days};
use crate::seller::DEFAULT_MAX_INVOICE_LINES;
use crate::subscription::{
    BillingTiming, ChangeSettlement, ProrationPolicy, Subscription, SubscriptionItem,
};

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

/// What a line bills when it is a change inside a period already charged in
/// advance: which way the change went and the terms the days were charged at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ChangeOfTerms {
    /// Upgrade (charged) or downgrade (credited).
    pub direction: ChangeDirection,
    /// The terms the days were charged at before the change.
    pub before: ChargedTerms,
}

/// One period (or part of one) of one item that this run bills, or a change
/// inside a period already charged in advance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DuePeriod {
    /// The item billed.
    pub item_id: SubscriptionItemId,
    /// The days billed (what the invoice line shows as service period).
    pub period: ServicePeriod,
    /// The full grid period `period` is part of; equal to it unless partial.
    pub full_period: ServicePeriod,
    /// Set when a part of a period is charged by actual days.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proration: Option<Proration>,
    /// Contract quantity in effect on the first day of `period`.
    pub quantity: Decimal,
    /// Unit price per full period in effect on the first day of `period`.
    pub unit_price: Money,
    /// quantity × unit price × proration, rounded to the minor unit; for a
    /// change, the difference to `change.before` (negative for a credit).
    pub net: Money,
    /// Set when the line bills a change inside a period charged in advance.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub change: Option<ChangeOfTerms>,
}

/// The progress of one item after a run: what the storage layer writes,
/// conditional on the item still showing `previous`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct BillingProgress {
    /// The item.
    pub item_id: SubscriptionItemId,
    /// `billed_through` as read; the write's condition.
    pub previous: Option<NaiveDate>,
    /// `billed_through` after this run's periods (unchanged when the run
    /// billed only changes inside the current period).
    pub billed_through: NaiveDate,
    /// In advance: how far changes are billed after this run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changes_settled: Option<ChangeSettlement>,
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
    /// Due periods and changes, item by item in contract order, each
    /// item's oldest first.
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
    /// builder, worded in the invoice's `language`. `subscription` must be
    /// the one the schedule was computed for.
    pub fn billable_lines(
        &self,
        subscription: &Subscription,
        language: Language,
    ) -> Result<Vec<BillableLine>, DomainError> {
        self.periods
            .iter()
            .map(|due| {
                let item = subscription.item(&due.item_id).ok_or_else(|| {
                    DomainError::invalid("item_id", format!("no item {}", due.item_id))
                })?;
                Ok(due.billable_line(&self.subscription_id, item, language))
            })
            .collect()
    }
}

impl DuePeriod {
    /// The invoice line for this period, worded in `language`.
    ///
    /// A prorated period is shown as a prorated quantity at the full unit
    /// price, with the fraction in the description ("… (pro rata 10/31
    /// days)", "… (anteilig 10/31 Tage)"): the unit price stays the contract
    /// price the customer knows, and [`prorated_quantity`] picks the decimals
    /// so that quantity × unit price, rounded like every line, is exactly
    /// `net`. A change says what changed, from which day and for how many
    /// days; a quantity change is shown as the added (or removed) quantity at
    /// the unit price, a price change as ±the period fraction at the
    /// difference per period (a net price is never negative, EN 16931
    /// BR-27; a credit has a negative quantity).
    pub fn billable_line(
        &self,
        subscription_id: &SubscriptionId,
        item: &SubscriptionItem,
        language: Language,
    ) -> BillableLine {
        let mut line_item = item.item.clone();
        line_item.unit_price = self.unit_price;
        line_item.quantity = self.quantity;
        if let Some(proration) = self.proration {
            let fraction = proration_text(proration, language);
            match self.change {
                None => {
                    line_item.quantity =
                        prorated_quantity(self.quantity, self.unit_price, proration, self.net);
                    line_item.description = format!("{} {fraction}", line_item.description);
                }
                Some(change) => {
                    let (quantity, unit_price) = change_shown(self, change);
                    line_item.quantity =
                        prorated_quantity(quantity, unit_price, proration, self.net);
                    line_item.unit_price = unit_price;
                    line_item.description = format!(
                        "{}: {} {fraction}",
                        line_item.description,
                        change_text(self, change, language)
                    );
                }
            }
        }
        BillableLine::new(line_item)
            .with_period(self.period)
            .with_source(LineSource::Subscription {
                subscription_id: subscription_id.clone(),
                item_id: Some(self.item_id.clone()),
            })
    }
}

/// "(pro rata 17/31 days)" or "(anteilig 17/31 Tage)": the one wording of a
/// prorated fraction on invoices.
fn proration_text(proration: Proration, language: Language) -> String {
    match language {
        Language::En => format!(
            "(pro rata {}/{} days)",
            proration.days, proration.period_days
        ),
        Language::De => format!(
            "(anteilig {}/{} Tage)",
            proration.days, proration.period_days
        ),
    }
}

/// The quantity (before proration) and the unit price a change line shows:
/// the added quantity at the unchanged unit price, or ±1 at the difference
/// of the period amounts when the price changed.
fn change_shown(due: &DuePeriod, change: ChangeOfTerms) -> (Decimal, Money) {
    if change.before.unit_price == due.unit_price {
        return (due.quantity - change.before.quantity, due.unit_price);
    }
    let after = due.unit_price.times(due.quantity);
    let before = change.before.period_amount();
    match (after, before) {
        (Ok(after), Ok(before)) => match after.checked_sub(before) {
            Ok(difference) if difference.is_negative() => (-Decimal::ONE, difference.abs()),
            Ok(difference) => (Decimal::ONE, difference),
            Err(_) => (Decimal::ONE, due.net),
        },
        _ => (Decimal::ONE, due.net),
    }
}

/// "upgrade from 2026-01-15, quantity 10 → 20" or "Erhöhung ab 15.01.2026,
/// Menge 10 → 20": what changed and from which day, in the invoice language.
fn change_text(due: &DuePeriod, change: ChangeOfTerms, language: Language) -> String {
    let number = |value: Decimal| {
        let text = value.to_string();
        match language {
            Language::En => text,
            Language::De => text.replace('.', ","),
        }
    };
    let price = |money: Money| {
        if money.is_rounded() {
            number(money.round().amount())
        } else {
            number(money.amount().normalize())
        }
    };
    let mut changed = Vec::new();
    let (quantity_word, price_word) = match language {
        Language::En => ("quantity", "unit price"),
        Language::De => ("Menge", "Einzelpreis"),
    };
    if change.before.quantity != due.quantity {
        changed.push(format!(
            "{quantity_word} {} → {}",
            number(change.before.quantity.normalize()),
            number(due.quantity.normalize())
        ));
    }
    if change.before.unit_price != due.unit_price {
        changed.push(format!(
            "{price_word} {} → {}",
            price(change.before.unit_price),
            price(due.unit_price)
        ));
    }
    let day = due.period.start;
    match (language, change.direction) {
        (Language::En, ChangeDirection::Upgrade) => {
            format!(
                "upgrade from {}, {}",
                day.format("%Y-%m-%d"),
                changed.join(", ")
            )
        }
        (Language::En, ChangeDirection::Downgrade) => {
            format!(
                "downgrade from {}, {}",
                day.format("%Y-%m-%d"),
                changed.join(", ")
            )
        }
        (Language::De, ChangeDirection::Upgrade) => {
            format!(
                "Erhöhung ab {}, {}",
                day.format("%d.%m.%Y"),
                changed.join(", ")
            )
        }
        (Language::De, ChangeDirection::Downgrade) => {
            format!(
                "Reduzierung ab {}, {}",
                day.format("%d.%m.%Y"),
                changed.join(", ")
            )
        }
    }
}

/// Computes what a run on `run_date` bills for `subscription`, at most as
/// many periods as one invoice may hold by default
/// ([`DEFAULT_MAX_INVOICE_LINES`]), under the default change policy unless
/// the contract has its own; see [`due_for_run_under`].
pub fn due_for_run(
    subscription: &Subscription,
    run_date: NaiveDate,
) -> Result<DueSchedule, DomainError> {
    due_for_run_within(subscription, run_date, DEFAULT_MAX_INVOICE_LINES)
}

/// [`due_for_run_under`] with the default change policy (unless the
/// contract has its own).
pub fn due_for_run_within(
    subscription: &Subscription,
    run_date: NaiveDate,
    max_periods: usize,
) -> Result<DueSchedule, DomainError> {
    due_for_run_under(
        subscription,
        run_date,
        max_periods,
        MidPeriodPolicy::default(),
    )
}

/// Computes what a run on `run_date` bills for `subscription`, at most
/// `max_periods` lines (the room left on the customer's invoice), with the
/// seller's `seller_policy` for changes inside a period unless the contract
/// overrides it.
///
/// In advance, a period is due once it has started (start ≤ run date) and is
/// charged at its first day's terms; a change inside a charged period is due
/// from its day on and billed for the rest of that period per the policy
/// (see [`crate::mid_period`]). In arrears, a period is due once it has ended
/// (end < run date) and is billed in parts, one per stretch of unchanged
/// terms, each at what was in effect. Every due period after each item's
/// `billed_through` is returned, oldest first, so missed runs are caught up
/// with one line per period. Nothing before the start or after the end is
/// ever due. Lines beyond `max_periods` stay due for the next run: the limit
/// delays, it never skips. The subscription itself is not changed: record
/// the returned progress with [`Subscription::record_progress`] (or the
/// storage layer's conditional write, in the same transaction as the invoice
/// that carries the lines).
pub fn due_for_run_under(
    subscription: &Subscription,
    run_date: NaiveDate,
    max_periods: usize,
    seller_policy: MidPeriodPolicy,
) -> Result<DueSchedule, DomainError> {
    subscription.validate()?;
    let policy = subscription.mid_period_changes.unwrap_or(seller_policy);
    let mut periods = Vec::new();
    let mut progress = Vec::new();
    let mut next_due: Option<NaiveDate> = None;
    for item in &subscription.items {
        let before = periods.len();
        let outcome = match item.timing {
            BillingTiming::InAdvance => bill_in_advance(
                subscription,
                item,
                policy,
                run_date,
                max_periods,
                &mut periods,
            )?,
            BillingTiming::InArrears => {
                bill_in_arrears(subscription, item, run_date, max_periods, &mut periods)?
            }
        };
        if let Some(date) = outcome.next_due {
            next_due = earliest(next_due, date);
        }
        if periods.len() > before
            && let Some(billed_through) = outcome.billed_through
        {
            progress.push(BillingProgress {
                item_id: item.id.clone(),
                previous: item.billed_through,
                billed_through,
                changes_settled: outcome.changes_settled,
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
/// storage layer indexes it, so the run reads only what is due. Without the
/// seller at hand, a downgrade inside a period counts as due on its day
/// (as if the policy credited it) unless the contract decides otherwise:
/// indexing a day early costs one empty read, a day late would delay a
/// credit.
pub fn next_due_date(subscription: &Subscription) -> Result<Option<NaiveDate>, DomainError> {
    let earliest_policy = MidPeriodPolicy {
        downgrades: Downgrades::CreditUnused,
    };
    let Some(run_date) = NaiveDate::MIN.succ_opt() else {
        return Ok(None);
    };
    Ok(due_for_run_under(subscription, run_date, 0, earliest_policy)?.next_due)
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
            let item = &self.items[index];
            let current = item.billed_through;
            if current != update.previous {
                return Err(DomainError::invalid(
                    format!("items/{index}/billed_through"),
                    format!(
                        "is {current:?}, expected {:?}: another run billed this item",
                        update.previous
                    ),
                ));
            }
            // Billing only changes inside the current period leaves
            // `billed_through` and moves the settlement instead.
            let moves_on = match update.previous {
                None => true,
                Some(previous) if update.billed_through > previous => true,
                Some(previous) if update.billed_through == previous => {
                    update.changes_settled.is_some()
                        && update.changes_settled != item.changes_settled
                }
                Some(_) => false,
            };
            if !moves_on {
                return Err(DomainError::invalid(
                    format!("items/{index}/billed_through"),
                    "progress must move forward",
                ));
            }
            indices.push(index);
        }
        for (index, update) in indices.into_iter().zip(progress) {
            let item = &mut self.items[index];
            item.billed_through = Some(update.billed_through);
            if update.changes_settled.is_some() {
                item.changes_settled = update.changes_settled;
            }
        }
        Ok(())
    }
}

/// The earlier of an optional date and a date.
fn earliest(current: Option<NaiveDate>, candidate: NaiveDate) -> Option<NaiveDate> {
    Some(current.map_or(candidate, |current| current.min(candidate)))
}

/// What billing one item in a run came to.
struct ItemOutcome {
    /// `billed_through` afterwards.
    billed_through: Option<NaiveDate>,
    /// In advance: the settlement afterwards.
    changes_settled: Option<ChangeSettlement>,
    /// When the item is next due.
    next_due: Option<NaiveDate>,
}

/// Bills an item in advance: each period when it begins at its first day's
/// terms, and each change inside a charged period (up to the run date) for
/// the rest of that period, per `policy`.
fn bill_in_advance(
    subscription: &Subscription,
    item: &SubscriptionItem,
    policy: MidPeriodPolicy,
    run_date: NaiveDate,
    max_periods: usize,
    out: &mut Vec<DuePeriod>,
) -> Result<ItemOutcome, DomainError> {
    let mut cursor = ItemCursor::new(subscription, item, false)?;
    let settlement = subscription.change_settlement(item)?;
    let mut stretch = match (settlement, item.billed_through) {
        (Some(settled), Some(billed_through)) if billed_through >= cursor.start => {
            cursor.stretch_containing(billed_through, settled.charged)?
        }
        _ => None,
    };
    let changes: Vec<NaiveDate> = item
        .change_dates()
        .into_iter()
        .filter(|day| settlement.is_none_or(|settled| *day > settled.settled_through))
        .collect();
    let before = out.len();
    let mut pending = changes.iter().copied().peekable();
    let mut next_due = None;
    let mut stopped_at_change = None;
    'run: loop {
        if let Some(current) = stretch.as_mut() {
            while let Some(&day) = pending.peek() {
                if day > current.period.end || day > run_date {
                    break;
                }
                if day >= current.period.start {
                    let (line, charged) = change_line(subscription, item, policy, current, day)?;
                    if let Some(line) = line {
                        if out.len() >= max_periods {
                            stopped_at_change = Some(day);
                            next_due = Some(day);
                            break 'run;
                        }
                        out.push(line);
                    }
                    current.terms = charged;
                }
                pending.next();
            }
        }
        let Some(next) = cursor.next_period()? else {
            break;
        };
        if out.len() >= max_periods || !next.is_due(BillingTiming::InAdvance, run_date) {
            next_due = earliest(next_due, next.period.start);
            break;
        }
        out.push(priced_period(subscription, item, &next)?);
        stretch = Some(Stretch {
            period: next.cut,
            full: next.full_period,
            terms: item.terms_on(next.period.start),
        });
        cursor.advance(next.period.end);
    }
    let billed_through = cursor.billed_through;
    let mut changes_settled = settlement;
    if out.len() > before
        && let (Some(current), Some(billed_through)) = (&stretch, billed_through)
    {
        let through = match stopped_at_change {
            Some(day) => add_days(day, -1)?,
            None => run_date.pred_opt().unwrap_or(run_date).min(billed_through),
        };
        let candidate = ChangeSettlement {
            settled_through: through,
            charged: current.terms,
        };
        // Same day, other terms: a change on the run date itself was billed.
        if settlement.is_none_or(|old| {
            through > old.settled_through || (through == old.settled_through && candidate != old)
        }) {
            changes_settled = Some(candidate);
        }
    }
    // A change not billed yet inside the charged stretch is due on its day.
    if stopped_at_change.is_none()
        && let (Some(current), Some(settled)) = (&stretch, changes_settled)
    {
        let mut scan = Stretch {
            terms: settled.charged,
            ..current.clone()
        };
        for day in changes
            .iter()
            .copied()
            .filter(|day| *day > settled.settled_through && scan.period.contains(*day))
        {
            let (line, charged) = change_line(subscription, item, policy, &scan, day)?;
            if line.is_some() {
                next_due = earliest(next_due, day);
                break;
            }
            scan.terms = charged;
        }
    }
    Ok(ItemOutcome {
        billed_through,
        changes_settled,
        next_due,
    })
}

/// Bills an item in arrears: each period once it has ended, in parts split
/// at the days its terms change, each part at what was in effect.
fn bill_in_arrears(
    subscription: &Subscription,
    item: &SubscriptionItem,
    run_date: NaiveDate,
    max_periods: usize,
    out: &mut Vec<DuePeriod>,
) -> Result<ItemOutcome, DomainError> {
    let mut cursor = ItemCursor::new(subscription, item, true)?;
    let mut next_due = None;
    while let Some(next) = cursor.next_period()? {
        if out.len() >= max_periods || !next.is_due(BillingTiming::InArrears, run_date) {
            next_due = Some(next.due_date(BillingTiming::InArrears)?);
            break;
        }
        out.push(priced_period(subscription, item, &next)?);
        cursor.advance(next.period.end);
    }
    Ok(ItemOutcome {
        billed_through: cursor.billed_through,
        changes_settled: None,
        next_due,
    })
}

/// The period an in-advance item has charged last, and what its remaining
/// days stand charged at.
#[derive(Clone)]
struct Stretch {
    /// The grid period cut to the item's start and end.
    period: ServicePeriod,
    /// The whole grid period.
    full: ServicePeriod,
    /// The terms the days after the settlement are charged at.
    terms: ChargedTerms,
}

/// The line (if any) that bills a change on `day` for the rest of the
/// charged period, and the terms the rest stands charged at afterwards.
fn change_line(
    subscription: &Subscription,
    item: &SubscriptionItem,
    policy: MidPeriodPolicy,
    stretch: &Stretch,
    day: NaiveDate,
) -> Result<(Option<DuePeriod>, ChargedTerms), DomainError> {
    let new = item.terms_on(day);
    // A change dated on the stretch's first day is not inside the period: all
    // of its days owe the new terms, as if the change had been recorded before
    // the run that billed it, so a downgrade is credited whatever the policy
    // for downgrades inside a period says.
    let policy = if day == stretch.period.start {
        MidPeriodPolicy {
            downgrades: Downgrades::CreditUnused,
        }
    } else {
        policy
    };
    let (billed, charged) = policy.decide(stretch.terms, new)?;
    let Some(billed) = billed else {
        return Ok((None, charged));
    };
    let period = ServicePeriod::new(day, stretch.period.end)?;
    let proration = Proration {
        days: period.days(),
        period_days: proration_base(subscription.proration, stretch.period, stretch.full),
    };
    let net = prorate(billed.difference, proration)?.round();
    if net.is_zero() {
        return Ok((None, charged));
    }
    let line = DuePeriod {
        item_id: item.id.clone(),
        period,
        full_period: stretch.full,
        proration: Some(proration),
        quantity: new.quantity,
        unit_price: new.unit_price,
        net,
        change: Some(ChangeOfTerms {
            direction: billed.direction,
            before: billed.before,
        }),
    };
    Ok((Some(line), charged))
}

/// The days a part of a period is a fraction of: the full grid period when
/// prorating by actual days; the period as cut to the item's start and end
/// when partial periods are charged in full (so its parts add up to one
/// full price).
fn proration_base(policy: ProrationPolicy, cut: ServicePeriod, full: ServicePeriod) -> i64 {
    match policy {
        ProrationPolicy::ActualDays => full.days(),
        ProrationPolicy::FullPeriod => cut.days(),
    }
}

/// The next billable period of an item (or, in arrears, part of one), the
/// grid period it belongs to, and that period cut to the item's service.
struct NextPeriod {
    period: ServicePeriod,
    full_period: ServicePeriod,
    cut: ServicePeriod,
}

impl NextPeriod {
    /// Whether a run on `run_date` bills this period.
    fn is_due(&self, timing: BillingTiming, run_date: NaiveDate) -> bool {
        match timing {
            BillingTiming::InAdvance => self.period.start <= run_date,
            BillingTiming::InArrears => self.cut.end < run_date,
        }
    }

    /// The first run date that bills this period.
    fn due_date(&self, timing: BillingTiming) -> Result<NaiveDate, DomainError> {
        match timing {
            BillingTiming::InAdvance => Ok(self.period.start),
            BillingTiming::InArrears => add_days(self.cut.end, 1),
        }
    }
}

/// Walks an item's periods from its billing progress on.
struct ItemCursor {
    grid: PeriodGrid,
    start: NaiveDate,
    end: Option<NaiveDate>,
    billed_through: Option<NaiveDate>,
    /// In arrears: the days the terms change, where a period is split.
    splits: Vec<NaiveDate>,
}

impl ItemCursor {
    fn new(
        subscription: &Subscription,
        item: &SubscriptionItem,
        split_at_changes: bool,
    ) -> Result<Self, DomainError> {
        Ok(Self {
            grid: subscription.item_grid(item)?,
            start: subscription.item_start(item),
            end: subscription.item_end(item),
            billed_through: item.billed_through,
            splits: if split_at_changes {
                let changes_terms = |day: &NaiveDate| {
                    day.pred_opt()
                        .is_none_or(|before| item.terms_on(before) != item.terms_on(*day))
                };
                item.change_dates()
                    .into_iter()
                    .filter(changes_terms)
                    .collect()
            } else {
                Vec::new()
            },
        })
    }

    /// The grid period containing `day`, cut to the item's start and end;
    /// `None` when the item serves no day of it.
    fn cut_period(
        &self,
        day: NaiveDate,
    ) -> Result<Option<(ServicePeriod, ServicePeriod)>, DomainError> {
        let full = self.grid.period_containing(day)?;
        let first = full.start.max(self.start);
        let last = self.end.map_or(full.end, |end| end.min(full.end));
        if last < first {
            return Ok(None);
        }
        Ok(Some((ServicePeriod::new(first, last)?, full)))
    }

    /// The charged stretch of the period containing `day`.
    fn stretch_containing(
        &self,
        day: NaiveDate,
        terms: ChargedTerms,
    ) -> Result<Option<Stretch>, DomainError> {
        Ok(self.cut_period(day)?.map(|(period, full)| Stretch {
            period,
            full,
            terms,
        }))
    }

    /// The period after the progress: from the day after `billed_through`
    /// (or the item's start) to the end of that day's grid period, cut at the
    /// item's end (and in arrears before the next change of terms). `None`
    /// once the item's end is billed.
    fn next_period(&self) -> Result<Option<NextPeriod>, DomainError> {
        let first_day = match self.billed_through {
            Some(billed_through) => add_days(billed_through, 1)?.max(self.start),
            None => self.start,
        };
        if self.end.is_some_and(|end| first_day > end) {
            return Ok(None);
        }
        let Some((cut, full_period)) = self.cut_period(first_day)? else {
            return Ok(None);
        };
        let mut last_day = cut.end;
        if let Some(split) = self
            .splits
            .iter()
            .find(|day| **day > first_day && **day <= last_day)
        {
            last_day = add_days(*split, -1)?;
        }
        Ok(Some(NextPeriod {
            period: ServicePeriod::new(first_day, last_day)?,
            full_period,
            cut,
        }))
    }

    fn advance(&mut self, billed_through: NaiveDate) {
        self.billed_through = Some(billed_through);
    }
}

/// Prices a due period (or part): the terms in effect on its first day,
/// prorated when it is only part of its grid period (see
/// [`proration_base`]); a partial first or last period is charged in full
/// when the contract says so.
fn priced_period(
    subscription: &Subscription,
    item: &SubscriptionItem,
    next: &NextPeriod,
) -> Result<DuePeriod, DomainError> {
    let terms = item.terms_on(next.period.start);
    let whole = next.period == next.full_period
        || (subscription.proration == ProrationPolicy::FullPeriod && next.period == next.cut);
    let proration = (!whole).then(|| Proration {
        days: next.period.days(),
        period_days: proration_base(subscription.proration, next.cut, next.full_period),
    });
    let full_net = terms.period_amount()?;
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
        quantity: terms.quantity,
        unit_price: terms.unit_price,
        net,
        change: None,
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
