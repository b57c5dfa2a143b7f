//! Contract fixtures shared by the schedule tests and the schedule bench.
#![allow(dead_code)]

use billing_domain::ids::{AccountId, SubscriptionId, SubscriptionItemId};
use billing_domain::item::{Item, UnitCode};
use billing_domain::money::{Currency, Money};
use billing_domain::period::BillingInterval;
use billing_domain::subscription::{
    BillingTiming, ProrationPolicy, Subscription, SubscriptionItem,
};
use chrono::NaiveDate;
use rust_decimal::Decimal;

/// A date from literal numbers.
pub fn d(year: i32, month: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(year, month, day).unwrap()
}

/// An amount in euros.
pub fn eur(amount: Decimal) -> Money {
    Money::new(amount, Currency::EUR)
}

/// A recurring item with `quantity` × `unit_price` per period.
pub fn recurring_item(
    id: &str,
    interval: BillingInterval,
    timing: BillingTiming,
    quantity: Decimal,
    unit_price: Money,
) -> SubscriptionItem {
    let mut item = Item::new(format!("Licence {id}"), quantity, unit_price);
    item.unit = UnitCode::month();
    SubscriptionItem {
        id: SubscriptionItemId::new(id),
        item,
        interval,
        timing,
        anchor_month: None,
        start: None,
        end: None,
        price_changes: Vec::new(),
        quantity_changes: Vec::new(),
        billed_through: None,
        changes_settled: None,
    }
}

/// A EUR contract from `start` with the given items, prorating by days.
pub fn subscription(id: &str, start: NaiveDate, items: Vec<SubscriptionItem>) -> Subscription {
    Subscription {
        id: SubscriptionId::new(id),
        account_id: AccountId::new(format!("acc-{id}")),
        currency: Currency::EUR,
        start,
        end: None,
        anchor_day: None,
        proration: ProrationPolicy::ActualDays,
        mid_period_changes: None,
        payment_method: Default::default(),
        items,
    }
}

/// A EUR contract with a single item `a`, the shape most examples need.
pub fn one_item_contract(
    start: NaiveDate,
    interval: BillingInterval,
    timing: BillingTiming,
    quantity: Decimal,
    unit_price: Money,
) -> Subscription {
    subscription(
        "s",
        start,
        vec![recurring_item("a", interval, timing, quantity, unit_price)],
    )
}

/// Item `m`: one licence per month, billed in advance, at `unit_price`.
pub fn monthly_licence(unit_price: Money) -> SubscriptionItem {
    recurring_item(
        "m",
        BillingInterval::monthly(),
        BillingTiming::InAdvance,
        Decimal::ONE,
        unit_price,
    )
}
