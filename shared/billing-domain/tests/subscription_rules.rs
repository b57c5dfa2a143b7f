//! Contract rules: validation names the field, amendments and cancellations
//! change nothing when refused and are harmless when replayed.

mod common;

use billing_domain::money::{Currency, Money};
use billing_domain::period::BillingInterval;
use billing_domain::schedule::{due_for_run, next_due_date};
use billing_domain::subscription::{BillingTiming, Cancellation, PaymentMethod, Subscription};
use common::{d, eur, monthly_licence, recurring_item, subscription};
use rust_decimal_macros::dec;

fn contract() -> Subscription {
    subscription(
        "s",
        d(2026, 1, 1),
        vec![
            monthly_licence(eur(dec!(10))),
            recurring_item(
                "q",
                BillingInterval::quarterly(),
                BillingTiming::InArrears,
                dec!(1),
                eur(dec!(30)),
            ),
        ],
    )
}

fn error_field(result: Result<impl std::fmt::Debug, billing_domain::DomainError>) -> String {
    let message = result.unwrap_err().to_string();
    message.split(": ").next().unwrap_or_default().to_owned()
}

#[test]
fn validation_names_the_field() {
    let mut sub = contract();
    sub.end = Some(d(2025, 12, 31));
    assert_eq!(error_field(sub.validate()), "end");

    let mut sub = contract();
    sub.items[1].id = "m".into();
    assert_eq!(error_field(sub.validate()), "items[1].id");

    let mut sub = contract();
    sub.items[1].start = Some(d(2025, 6, 1));
    assert_eq!(error_field(sub.validate()), "items[1].start");

    let mut sub = contract();
    sub.items[0].item.unit_price = Money::new(dec!(10), Currency::USD);
    assert!(error_field(sub.validate()).starts_with("items[0].item.unit_price"));
    assert!(
        due_for_run(&sub, d(2026, 2, 1)).is_err(),
        "the schedule refuses a corrupt contract"
    );

    let mut sub = contract();
    sub.items.clear();
    assert_eq!(error_field(sub.validate()), "items");
}

#[test]
fn direct_debit_is_for_euro_contracts_only() {
    let mut sub = contract();
    sub.payment_method = PaymentMethod::DirectDebit;
    assert_eq!(sub.validate(), Ok(()));
    // The same contract in dollars is fine by transfer, refused by name
    // on direct debit (SEPA collects euro).
    let mut dollars = contract();
    dollars.currency = Currency::USD;
    for item in &mut dollars.items {
        item.item.unit_price = Money::new(item.item.unit_price.amount(), Currency::USD);
    }
    assert_eq!(dollars.validate(), Ok(()));
    dollars.payment_method = PaymentMethod::DirectDebit;
    let refusal = dollars.validate().unwrap_err().to_string();
    assert!(refusal.starts_with("payment_method:"), "{refusal}");
    assert!(refusal.contains("euro only"), "{refusal}");
}

#[test]
fn refused_amendments_change_nothing() {
    let mut sub = contract();
    let before = sub.clone();
    assert_eq!(
        error_field(sub.change_price(&"x".into(), d(2026, 3, 1), eur(dec!(1)))),
        "item_id"
    );
    let usd = Money::new(dec!(12), Currency::USD);
    assert_eq!(
        error_field(sub.change_price(&"m".into(), d(2026, 3, 1), usd)),
        "unit_price"
    );
    assert_eq!(sub, before);
}

#[test]
fn replayed_amendments_are_harmless() {
    let mut sub = contract();
    sub.change_quantity(&"m".into(), d(2026, 3, 1), dec!(5))
        .unwrap();
    let once = sub.clone();
    sub.change_quantity(&"m".into(), d(2026, 3, 1), dec!(5))
        .unwrap();
    assert_eq!(sub, once);
    // A later amendment for the same day replaces the earlier one.
    sub.change_quantity(&"m".into(), d(2026, 3, 1), dec!(6))
        .unwrap();
    assert_eq!(sub.items[0].quantity_changes.len(), 1);
    assert_eq!(sub.items[0].quantity_on(d(2026, 3, 1)), dec!(6));
    assert_eq!(sub.items[0].quantity_on(d(2026, 2, 28)), dec!(1));
}

#[test]
fn cancellation_only_moves_the_end_earlier() {
    let mut sub = contract();
    sub.cancel(Cancellation::AtDate {
        last_day: d(2026, 6, 30),
    })
    .unwrap();
    let outcome = sub
        .cancel(Cancellation::AtDate {
            last_day: d(2026, 9, 30),
        })
        .unwrap();
    assert_eq!(outcome.end, d(2026, 6, 30));
    let replay = sub
        .cancel(Cancellation::AtDate {
            last_day: d(2026, 6, 30),
        })
        .unwrap();
    assert_eq!(replay.end, d(2026, 6, 30));

    let err = contract().cancel(Cancellation::AtDate {
        last_day: d(2025, 12, 31),
    });
    assert_eq!(error_field(err), "cancellation.last_day");
    let err = contract().cancel(Cancellation::AtPeriodEnd {
        notice_date: d(2025, 12, 31),
    });
    assert_eq!(error_field(err), "cancellation.notice_date");
}

#[test]
fn cancelling_withdraws_items_that_have_not_begun() {
    // Notice on 10 Feb: the monthly item ends 28 Feb, the quarterly one
    // 31 March; an item that would start in March is never billed.
    let mut sub = contract();
    let mut later = recurring_item(
        "later",
        BillingInterval::monthly(),
        BillingTiming::InAdvance,
        dec!(1),
        eur(dec!(5)),
    );
    later.start = Some(d(2026, 3, 1));
    sub.items.push(later);
    let outcome = sub
        .cancel(Cancellation::AtPeriodEnd {
            notice_date: d(2026, 2, 10),
        })
        .unwrap();
    assert_eq!(outcome.end, d(2026, 3, 31));
    assert_eq!(sub.items[0].end, Some(d(2026, 2, 28)));
    assert_eq!(sub.items[1].end, Some(d(2026, 3, 31)));
    assert_eq!(sub.items[2].end, Some(d(2026, 2, 28)));
    sub.validate().unwrap();
    let due = due_for_run(&sub, d(2026, 12, 31)).unwrap();
    let billed: Vec<_> = due
        .periods
        .iter()
        .map(|p| (p.item_id.as_str(), p.period.start, p.period.end))
        .collect();
    assert_eq!(
        billed,
        [
            ("m", d(2026, 1, 1), d(2026, 1, 31)),
            ("m", d(2026, 2, 1), d(2026, 2, 28)),
            ("q", d(2026, 1, 1), d(2026, 3, 31)),
        ]
    );
    sub.record_progress(&due.progress).unwrap();
    assert_eq!(next_due_date(&sub).unwrap(), None);
}
