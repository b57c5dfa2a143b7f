//! Amending a stored contract from an imported one without rewriting
//! anything already billed.
//!
//! The imported contract is the contract as it should be. Billing progress
//! (`billed_through`, `changes_settled`) is the invoice run's, never the
//! file's: it is carried over from the stored items. What a finalized
//! invoice already shows must not change (rule 4: corrections are credit
//! notes), so for every billed item the import may not change its start,
//! interval, alignment, timing, the contract's anchor day, the price or
//! quantity on days already billed at their terms (dated changes up to the
//! item's settlement), nor end it before what is billed, nor drop it.
//!
//! A new quantity or unit price in the item's own columns is the contract
//! as it should be from now on: it takes effect today in the seller's time
//! zone (or the first day not yet settled, if later) and the schedule bills
//! the rest of the current period pro rata, rather than the change waiting
//! for the next period or being refused.

use billing_domain::DomainError;
use billing_domain::subscription::{BillingTiming, Effective, Subscription, SubscriptionItem};
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

/// Carries the stored items' billing progress into `incoming`, turns a new
/// quantity or unit price of a billed item into a change effective `today`
/// (the seller's date), and returns every change that would touch billed
/// days. Afterwards `incoming == stored` means the import changes nothing.
pub fn carry_progress(
    stored: &Subscription,
    incoming: &mut Subscription,
    today: NaiveDate,
) -> Vec<Refusal> {
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
        if let Err(e) = check_billed_item(
            stored,
            old,
            incoming,
            position,
            billed,
            today,
            &mut refusals,
        ) {
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

/// The checks for one billed item (`old`, at `position` in `incoming`), and
/// the merge of its terms: days up to the item's settlement keep the stored
/// terms; a different current quantity or price becomes a change from
/// `today` (or the first unsettled day).
fn check_billed_item(
    stored: &Subscription,
    old: &SubscriptionItem,
    incoming: &mut Subscription,
    position: usize,
    billed: NaiveDate,
    today: NaiveDate,
    refusals: &mut Vec<Refusal>,
) -> Result<(), DomainError> {
    let field = |name: &str| format!("items[{position}].{name}");
    let why = format!("item {} is billed through {billed}", old.id);
    let start = stored.item_start(old);
    {
        let new = &incoming.items[position];
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
                format!(
                    "{why}; ending it on {end} needs a credit note for the billed days after it"
                ),
            ));
        }
    }
    // Days up to `settled` are billed at their terms: in arrears every
    // billed day, in advance the days whose changes a run has billed.
    let settlement = match old.timing {
        BillingTiming::InArrears => None,
        BillingTiming::InAdvance => stored.change_settlement(old)?,
    };
    let settled = settlement.map_or(billed, |s| s.settled_through);
    let hint = format!("a change may take effect after {settled}, up to which the item is billed");
    let new = &mut incoming.items[position];
    let old_prices = settled_part(&old.price_changes, settled);
    let new_prices = settled_part(&new.price_changes, settled);
    let old_quantities = settled_part(&old.quantity_changes, settled);
    let new_quantities = settled_part(&new.quantity_changes, settled);
    if !new_prices.is_empty() && new_prices != old_prices {
        refusals.push(refusal(
            field("item.unit_price"),
            format!("{why}; this changes the price of a billed period ({hint})"),
        ));
        return Ok(());
    }
    if !new_quantities.is_empty() && new_quantities != old_quantities {
        refusals.push(refusal(
            field("item.quantity"),
            format!("{why}; this changes the quantity of a billed period ({hint})"),
        ));
        return Ok(());
    }
    // The merged terms: the stored ones up to `settled`, the file's dated
    // changes after it, and the file's current values from `effective`.
    let effective = today.max(settled.succ_opt().unwrap_or(settled));
    let wanted_quantity = new.quantity_on(effective);
    let wanted_price = new.unit_price_on(effective);
    let later = |date: &NaiveDate| *date > settled;
    let mut quantity_changes = old_quantities;
    quantity_changes.extend(
        new.quantity_changes
            .iter()
            .filter(|c| later(&c.effective_from))
            .copied(),
    );
    let mut price_changes = old_prices;
    price_changes.extend(
        new.price_changes
            .iter()
            .filter(|c| later(&c.effective_from))
            .copied(),
    );
    quantity_changes.sort_by_key(|change| change.effective_from);
    price_changes.sort_by_key(|change| change.effective_from);
    new.item.quantity = old.item.quantity;
    new.item.unit_price = old.item.unit_price;
    new.quantity_changes = quantity_changes;
    new.price_changes = price_changes;
    if new.quantity_on(effective) != wanted_quantity {
        set_from(&mut new.quantity_changes, effective, wanted_quantity);
    }
    if new.unit_price_on(effective) != wanted_price {
        set_from(&mut new.price_changes, effective, wanted_price);
    }
    // A changed item keeps the settlement as stored, made explicit, so a
    // change on the first unsettled day is billed rather than mistaken for
    // one its period was priced with.
    let changed =
        new.quantity_changes != old.quantity_changes || new.price_changes != old.price_changes;
    new.changes_settled = if changed {
        settlement
    } else {
        old.changes_settled
    };
    Ok(())
}

/// The changes dated on or before `settled`, by date: the part of an item's
/// terms that billed days were charged at.
fn settled_part<T: Copy>(changes: &[Effective<T>], settled: NaiveDate) -> Vec<Effective<T>> {
    let mut part: Vec<_> = changes
        .iter()
        .filter(|change| change.effective_from <= settled)
        .copied()
        .collect();
    part.sort_by_key(|change| change.effective_from);
    part
}

/// Sets a value from `date` on, replacing a change on the same day.
fn set_from<T>(changes: &mut Vec<Effective<T>>, date: NaiveDate, value: T) {
    changes.retain(|change| change.effective_from != date);
    changes.push(Effective {
        effective_from: date,
        value,
    });
    changes.sort_by_key(|change| change.effective_from);
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

    /// The seller's today in these examples: inside the period billed
    /// last (15 Feb – 14 Mar 2026).
    fn today() -> NaiveDate {
        date("2026-03-01")
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
            mid_period_changes: None,
            payment_method: Default::default(),
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
                changes_settled: None,
            }],
        }
    }

    #[test]
    fn progress_is_carried_and_an_identical_contract_compares_equal() {
        let stored = contract(Some("2026-03-14"));
        let mut incoming = contract(None);
        assert!(carry_progress(&stored, &mut incoming, today()).is_empty());
        assert_eq!(incoming, stored);
    }

    #[test]
    fn a_new_price_takes_effect_today_and_is_billed_pro_rata() {
        // Stored: 5 licences at 10.00 per month in advance from 15 Jan 2026,
        // billed through 14 Mar (the period 15 Feb – 14 Mar, 28 days). The
        // file now says 12.00. The old import refused it ("changes the price
        // of a billed period") and a dated change could only start after
        // 15 Feb; now it takes effect today, 1 Mar, and the billed days keep
        // their price.
        let stored = contract(Some("2026-03-14"));
        let mut incoming = contract(None);
        incoming.items[0].item.unit_price = Money::new(Decimal::from(12), Currency::EUR);
        assert!(carry_progress(&stored, &mut incoming, today()).is_empty());
        let item = &incoming.items[0];
        assert_eq!(
            item.unit_price_on(date("2026-02-28")).amount(),
            Decimal::from(10)
        );
        assert_eq!(item.unit_price_on(today()).amount(), Decimal::from(12));
        assert_eq!(item.price_changes.len(), 1);
        // The run of 15 Mar bills the rest of the billed period pro rata:
        // 1–14 Mar = 14 of 28 days, 5 × (12.00 − 10.00) × 14/28 = 5.00, and
        // the new period at 5 × 12.00 = 60.00.
        let due = billing_domain::schedule::due_for_run(&incoming, date("2026-03-15")).unwrap();
        let billed: Vec<_> = due
            .periods
            .iter()
            .map(|p| (p.period.start, p.net.amount()))
            .collect();
        assert_eq!(
            billed,
            [
                (today(), Decimal::new(500, 2)),
                (date("2026-03-15"), Decimal::new(6000, 2)),
            ]
        );
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
        assert!(carry_progress(&stored, &mut incoming, today()).is_empty());
        assert_ne!(incoming, stored);
        assert_eq!(incoming.items[0].billed_through, Some(date("2026-03-14")));
        // ... and so is one from the last billed period's first day (its
        // days are billed pro rata), but one on a day already billed at its
        // terms (up to 14 Feb) is refused.
        let mut incoming = contract(None);
        incoming.items[0].price_changes.push(Effective {
            effective_from: date("2026-02-15"),
            value: Money::new(Decimal::from(12), Currency::EUR),
        });
        assert!(carry_progress(&stored, &mut incoming, today()).is_empty());
        assert!(incoming.items[0].changes_settled.is_some());
        let mut incoming = contract(None);
        incoming.items[0].price_changes.push(Effective {
            effective_from: date("2026-02-14"),
            value: Money::new(Decimal::from(12), Currency::EUR),
        });
        assert_eq!(carry_progress(&stored, &mut incoming, today()).len(), 1);
    }

    #[test]
    fn unbilled_items_may_change_freely_and_billed_ones_not_move_or_vanish() {
        let stored = contract(None);
        let mut incoming = contract(None);
        incoming.start = date("2026-02-01");
        incoming.items[0].item.quantity = Decimal::from(7);
        assert!(carry_progress(&stored, &mut incoming, today()).is_empty());

        let stored = contract(Some("2026-02-14"));
        let mut incoming = contract(None);
        incoming.start = date("2026-02-01");
        incoming.items[0].end = Some(date("2026-02-01"));
        let fields: Vec<String> = carry_progress(&stored, &mut incoming, today())
            .into_iter()
            .map(|r| r.field)
            .collect();
        assert_eq!(fields, ["items[0].start", "items[0].end"]);

        let mut incoming = contract(None);
        incoming.items[0].id = SubscriptionItemId::new("other");
        let refusals = carry_progress(&stored, &mut incoming, today());
        assert_eq!(refusals[0].field, "items");
    }
}
