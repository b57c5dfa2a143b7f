//! Amending a stored contract from an imported one without rewriting
//! anything already billed.
//!
//! The imported contract is the contract as it should be. Billing progress
//! (`billed_through`) is the invoice run's, never the file's: it is carried
//! over from the stored items. What a finalized invoice already shows must
//! not change (rule 4: corrections are credit notes), so for every billed
//! item the import may not change its start, interval, alignment, timing, the
//! contract's anchor day, the price or quantity in effect on any billed
//! period, nor end it before what is billed, nor drop it.

use std::collections::BTreeSet;

use billing_domain::DomainError;
use billing_domain::subscription::{Subscription, SubscriptionItem};
use chrono::NaiveDate;

/// A refused change, by domain-style field (`items[1].unit_price`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The field, as `Subscription::validate` names fields.
    pub field: String,
    /// Why.
    pub message: String,
}

fn refusal(field: impl Into<String>, message: impl Into<String>) -> Refusal {
    Refusal {
        field: field.into(),
        message: message.into(),
    }
}

/// Carries the stored items' billing progress into `incoming` and returns
/// every change that would touch a billed period. Afterwards `incoming ==
/// stored` means the import changes nothing.
pub fn carry_progress(stored: &Subscription, incoming: &mut Subscription) -> Vec<Refusal> {
    let mut refusals = Vec::new();
    let mut any_billed = false;
    for old in &stored.items {
        let Some(position) = incoming.items.iter().position(|item| item.id == old.id) else {
            if let Some(billed) = old.billed_through {
                refusals.push(refusal(
                    "items",
                    format!(
                        "item {} is billed through {billed} and cannot be removed; give it an end date instead",
                        old.id
                    ),
                ));
            }
            continue;
        };
        let field = |name: &str| format!("items[{position}].{name}");
        let new_progress = incoming.items[position].billed_through;
        if new_progress.is_some() && new_progress != old.billed_through {
            refusals.push(refusal(
                field("billed_through"),
                "billing progress is the invoice run's; the stored value is kept, so leave it out",
            ));
        }
        incoming.items[position].billed_through = old.billed_through;
        let Some(billed) = old.billed_through else {
            continue;
        };
        any_billed = true;
        if let Err(e) = check_billed_item(stored, old, incoming, position, billed, &mut refusals) {
            let DomainError::Invalid { message, .. } = e;
            refusals.push(refusal(field("interval"), message));
        }
    }
    if any_billed && stored.anchor_day != incoming.anchor_day {
        refusals.push(refusal(
            "anchor_day",
            "periods of this contract are already billed; their grid cannot move",
        ));
    }
    refusals
}

/// The checks for one billed item (`old`, at `position` in `incoming`).
fn check_billed_item(
    stored: &Subscription,
    old: &SubscriptionItem,
    incoming: &Subscription,
    position: usize,
    billed: NaiveDate,
    refusals: &mut Vec<Refusal>,
) -> Result<(), DomainError> {
    let new = &incoming.items[position];
    let field = |name: &str| format!("items[{position}].{name}");
    let why = format!("item {} is billed through {billed}", old.id);
    let start = stored.item_start(old);
    if incoming.item_start(new) != start {
        refusals.push(refusal(
            field("start"),
            format!("{why}; its start ({start}) cannot change"),
        ));
    }
    if new.interval != old.interval {
        refusals.push(refusal(
            field("interval"),
            format!("{why}; its interval cannot change"),
        ));
    }
    if new.anchor_month != old.anchor_month {
        refusals.push(refusal(
            field("anchor_month"),
            format!("{why}; its calendar alignment cannot change"),
        ));
    }
    if new.timing != old.timing {
        refusals.push(refusal(
            field("timing"),
            format!("{why}; its timing cannot change"),
        ));
    }
    if let Some(end) = incoming.item_end(new)
        && end < billed
    {
        refusals.push(refusal(
            field("end"),
            format!("{why}; ending it on {end} needs a credit note for the billed days after it"),
        ));
    }
    // The value on a period's first day applies to the whole period, so the
    // billed periods are fixed by the values on every day up to the start
    // of the last billed one; values only change on change dates.
    let last_start = stored
        .item_grid(old)?
        .period_containing(billed)?
        .start
        .max(start);
    let dates: BTreeSet<NaiveDate> = std::iter::once(start)
        .chain(old.price_changes.iter().map(|c| c.effective_from))
        .chain(new.price_changes.iter().map(|c| c.effective_from))
        .chain(old.quantity_changes.iter().map(|c| c.effective_from))
        .chain(new.quantity_changes.iter().map(|c| c.effective_from))
        .filter(|date| (start..=last_start).contains(date))
        .collect();
    let hint =
        format!("a change may take effect after {last_start}, the start of the last billed period");
    if dates
        .iter()
        .any(|d| old.unit_price_on(*d) != new.unit_price_on(*d))
    {
        refusals.push(refusal(
            field("item.unit_price"),
            format!("{why}; this changes the price of a billed period ({hint})"),
        ));
    }
    if dates
        .iter()
        .any(|d| old.quantity_on(*d) != new.quantity_on(*d))
    {
        refusals.push(refusal(
            field("item.quantity"),
            format!("{why}; this changes the quantity of a billed period ({hint})"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use billing_domain::ids::{AccountId, SubscriptionId, SubscriptionItemId};
    use billing_domain::item::Item;
    use billing_domain::money::{Currency, Money};
    use billing_domain::period::BillingInterval;
    use billing_domain::subscription::{BillingTiming, Effective, ProrationPolicy};
    use rust_decimal::Decimal;

    use super::*;

    fn date(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    fn contract(billed: Option<&str>) -> Subscription {
        Subscription {
            id: SubscriptionId::new("c1"),
            account_id: AccountId::new("a1"),
            currency: Currency::EUR,
            start: date("2026-01-15"),
            end: None,
            anchor_day: None,
            proration: ProrationPolicy::ActualDays,
            items: vec![SubscriptionItem {
                id: SubscriptionItemId::new("i1"),
                item: Item::new(
                    "Licence",
                    Decimal::from(5),
                    Money::new(Decimal::from(10), Currency::EUR),
                ),
                interval: BillingInterval::monthly(),
                timing: BillingTiming::InAdvance,
                anchor_month: None,
                start: None,
                end: None,
                price_changes: vec![],
                quantity_changes: vec![],
                billed_through: billed.map(date),
            }],
        }
    }

    #[test]
    fn progress_is_carried_and_an_identical_contract_compares_equal() {
        let stored = contract(Some("2026-03-14"));
        let mut incoming = contract(None);
        assert!(carry_progress(&stored, &mut incoming).is_empty());
        assert_eq!(incoming, stored);
    }

    #[test]
    fn a_new_price_for_a_billed_period_is_refused_naming_the_field() {
        let stored = contract(Some("2026-03-14"));
        let mut incoming = contract(None);
        incoming.items[0].item.unit_price = Money::new(Decimal::from(12), Currency::EUR);
        let refusals = carry_progress(&stored, &mut incoming);
        assert_eq!(refusals.len(), 1);
        assert_eq!(refusals[0].field, "items[0].item.unit_price");
    }

    #[test]
    fn a_price_change_after_the_last_billed_period_is_an_amendment() {
        let stored = contract(Some("2026-03-14"));
        let mut incoming = contract(None);
        incoming.items[0].price_changes.push(Effective {
            effective_from: date("2026-03-15"),
            value: Money::new(Decimal::from(12), Currency::EUR),
        });
        incoming.items[0].item.description = "Licence (new name)".into();
        assert!(carry_progress(&stored, &mut incoming).is_empty());
        assert_ne!(incoming, stored);
        assert_eq!(incoming.items[0].billed_through, Some(date("2026-03-14")));
        // ... but one inside the last billed period is refused.
        let mut incoming = contract(None);
        incoming.items[0].price_changes.push(Effective {
            effective_from: date("2026-02-15"),
            value: Money::new(Decimal::from(12), Currency::EUR),
        });
        assert_eq!(carry_progress(&stored, &mut incoming).len(), 1);
    }

    #[test]
    fn unbilled_items_may_change_freely_and_billed_ones_not_move_or_vanish() {
        let stored = contract(None);
        let mut incoming = contract(None);
        incoming.start = date("2026-02-01");
        incoming.items[0].item.quantity = Decimal::from(7);
        assert!(carry_progress(&stored, &mut incoming).is_empty());

        let stored = contract(Some("2026-02-14"));
        let mut incoming = contract(None);
        incoming.start = date("2026-02-01");
        incoming.items[0].end = Some(date("2026-02-01"));
        let fields: Vec<String> = carry_progress(&stored, &mut incoming)
            .into_iter()
            .map(|r| r.field)
            .collect();
        assert_eq!(fields, ["items[0].start", "items[0].end"]);

        let mut incoming = contract(None);
        incoming.items[0].id = SubscriptionItemId::new("other");
        let refusals = carry_progress(&stored, &mut incoming);
        assert_eq!(refusals[0].field, "items");
    }
}
