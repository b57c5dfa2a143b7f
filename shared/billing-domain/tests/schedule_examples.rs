//! Worked examples of the billing schedule, numbers written out.

mod common;

use billing_domain::money::Money;
use billing_domain::party::Language;
use billing_domain::period::{AnchorDay, BillingInterval, ServicePeriod};
use billing_domain::schedule::{DueSchedule, Proration, due_for_run, next_due_date};
use billing_domain::subscription::{
    BillingTiming, Cancellation, CancellationOutcome, OverBilledPeriod, ProrationPolicy,
    Subscription,
};
use chrono::NaiveDate;
use common::{d, eur, monthly_licence, one_item_contract, recurring_item, subscription};
use rust_decimal::Decimal;
use rust_decimal_macros::dec;

/// Runs the schedule and records its progress, as the invoice run does.
fn run(subscription: &mut Subscription, run_date: NaiveDate) -> DueSchedule {
    let due = due_for_run(subscription, run_date).unwrap();
    subscription.record_progress(&due.progress).unwrap();
    due
}

/// (start, end, net) of each due period.
fn billed(due: &DueSchedule) -> Vec<(NaiveDate, NaiveDate, Money)> {
    due.periods
        .iter()
        .map(|p| (p.period.start, p.period.end, p.net))
        .collect()
}

fn monthly_from_31_january(year: i32) -> Subscription {
    one_item_contract(
        d(year, 1, 31),
        BillingInterval::monthly(),
        BillingTiming::InAdvance,
        dec!(1),
        eur(dec!(100)),
    )
}

#[test]
fn monthly_in_advance_from_31_january_in_a_leap_year() {
    // Anchored on the 31st: billed on 31 Jan, 29 Feb (last day), 31 Mar.
    let mut sub = monthly_from_31_january(2024);
    assert_eq!(
        billed(&run(&mut sub, d(2024, 1, 31))),
        [(d(2024, 1, 31), d(2024, 2, 28), eur(dec!(100.00)))]
    );
    assert!(
        run(&mut sub, d(2024, 2, 28)).is_empty(),
        "next period starts 29 Feb"
    );
    assert_eq!(
        billed(&run(&mut sub, d(2024, 2, 29))),
        [(d(2024, 2, 29), d(2024, 3, 30), eur(dec!(100.00)))]
    );
    assert_eq!(
        billed(&run(&mut sub, d(2024, 3, 31))),
        [(d(2024, 3, 31), d(2024, 4, 29), eur(dec!(100.00)))]
    );
    assert_eq!(
        billed(&run(&mut sub, d(2024, 4, 30))),
        [(d(2024, 4, 30), d(2024, 5, 30), eur(dec!(100.00)))]
    );
    assert_eq!(sub.items[0].billed_through, Some(d(2024, 5, 30)));
    assert_eq!(
        next_due_date(&sub).unwrap(),
        Some(d(2024, 5, 31)),
        "back on the 31st"
    );
}

#[test]
fn monthly_in_advance_from_31_january_in_a_common_year() {
    // 2025: February ends on the 28th, so that is the billing day.
    let mut sub = monthly_from_31_january(2025);
    assert_eq!(
        billed(&run(&mut sub, d(2025, 1, 31))),
        [(d(2025, 1, 31), d(2025, 2, 27), eur(dec!(100.00)))]
    );
    assert_eq!(
        billed(&run(&mut sub, d(2025, 2, 28))),
        [(d(2025, 2, 28), d(2025, 3, 30), eur(dec!(100.00)))]
    );
    assert_eq!(
        billed(&run(&mut sub, d(2025, 3, 31))),
        [(d(2025, 3, 31), d(2025, 4, 29), eur(dec!(100.00)))]
    );
    // Runs skipped from May to August: every missed month once, each its own line.
    let caught_up = run(&mut sub, d(2025, 8, 30));
    assert_eq!(
        billed(&caught_up),
        [
            (d(2025, 4, 30), d(2025, 5, 30), eur(dec!(100.00))),
            (d(2025, 5, 31), d(2025, 6, 29), eur(dec!(100.00))),
            (d(2025, 6, 30), d(2025, 7, 30), eur(dec!(100.00))),
            (d(2025, 7, 31), d(2025, 8, 30), eur(dec!(100.00))),
        ]
    );
    assert_eq!(
        caught_up.billable_lines(&sub, Language::En).unwrap().len(),
        4
    );
    assert!(
        run(&mut sub, d(2025, 8, 30)).is_empty(),
        "a rerun bills nothing"
    );
    assert_eq!(
        billed(&run(&mut sub, d(2025, 8, 31))),
        [(d(2025, 8, 31), d(2025, 9, 29), eur(dec!(100.00)))]
    );
}

#[test]
fn quarterly_in_arrears() {
    // 1 Jan 2026, EUR 300.00 per quarter, billed after each quarter ends.
    let mut sub = one_item_contract(
        d(2026, 1, 1),
        BillingInterval::quarterly(),
        BillingTiming::InArrears,
        dec!(1),
        eur(dec!(300)),
    );
    assert_eq!(next_due_date(&sub).unwrap(), Some(d(2026, 4, 1)));
    assert!(
        run(&mut sub, d(2026, 3, 31)).is_empty(),
        "Q1 is not over on 31 March"
    );
    let q1 = run(&mut sub, d(2026, 4, 1));
    assert_eq!(
        billed(&q1),
        [(d(2026, 1, 1), d(2026, 3, 31), eur(dec!(300.00)))]
    );
    assert_eq!(q1.next_due, Some(d(2026, 7, 1)));
    // The July run was missed; the October run bills Q2 and Q3 separately.
    let caught_up = run(&mut sub, d(2026, 10, 2));
    assert_eq!(
        billed(&caught_up),
        [
            (d(2026, 4, 1), d(2026, 6, 30), eur(dec!(300.00))),
            (d(2026, 7, 1), d(2026, 9, 30), eur(dec!(300.00))),
        ]
    );
    assert_eq!(caught_up.next_due, Some(d(2027, 1, 1)));
}

#[test]
fn yearly_across_29_february() {
    // Starts on 29 Feb 2024: billed on 28 Feb in common years, 29 Feb in 2028.
    let mut sub = one_item_contract(
        d(2024, 2, 29),
        BillingInterval::yearly(),
        BillingTiming::InAdvance,
        dec!(1),
        eur(dec!(1200)),
    );
    let all = run(&mut sub, d(2028, 2, 29));
    let periods: Vec<_> = all
        .periods
        .iter()
        .map(|p| (p.period.start, p.period.end, p.period.days()))
        .collect();
    assert_eq!(
        periods,
        [
            (d(2024, 2, 29), d(2025, 2, 27), 365),
            (d(2025, 2, 28), d(2026, 2, 27), 365),
            (d(2026, 2, 28), d(2027, 2, 27), 365),
            (d(2027, 2, 28), d(2028, 2, 28), 366),
            (d(2028, 2, 29), d(2029, 2, 27), 365),
        ]
    );
    assert!(
        all.periods
            .iter()
            .all(|p| p.net == eur(dec!(1200.00)) && p.proration.is_none())
    );
}

#[test]
fn cancellation_mid_period_is_prorated_by_days() {
    // Two licences at EUR 90.00 per month, in advance from 1 Jan 2026.
    let mut sub = one_item_contract(
        d(2026, 1, 1),
        BillingInterval::monthly(),
        BillingTiming::InAdvance,
        dec!(2),
        eur(dec!(90)),
    );
    run(&mut sub, d(2026, 2, 1)); // January and February billed in full.
    let outcome = sub
        .cancel(Cancellation::AtDate {
            last_day: d(2026, 3, 15),
        })
        .unwrap();
    assert_eq!(outcome.end, d(2026, 3, 15));
    assert!(outcome.over_billed.is_empty());

    // March: 15 of 31 days. 2 × 90.00 × 15 / 31 = 2,700 / 31 = 87.0967… → 87.10
    let march = run(&mut sub, d(2026, 3, 1));
    assert_eq!(
        billed(&march),
        [(d(2026, 3, 1), d(2026, 3, 15), eur(dec!(87.10)))]
    );
    let due = &march.periods[0];
    assert_eq!(
        due.proration,
        Some(Proration {
            days: 15,
            period_days: 31
        })
    );
    assert_eq!(
        due.full_period,
        ServicePeriod::new(d(2026, 3, 1), d(2026, 3, 31)).unwrap()
    );
    // Shown as 0.9678 months × 90.00 = 87.102 → 87.10 (0.9677 would give 87.09).
    let line = &march.billable_lines(&sub, Language::En).unwrap()[0];
    assert_eq!(line.item.quantity, dec!(0.9678));
    assert_eq!(line.item.unit_price, eur(dec!(90)));
    assert_eq!(line.item.net_amount().unwrap(), eur(dec!(87.10)));
    assert_eq!(line.item.description, "Licence a (pro rata 15/31 days)");
    assert_eq!(line.service_period, Some(due.period));
    assert!(
        run(&mut sub, d(2026, 12, 31)).is_empty(),
        "nothing after the end"
    );
    assert_eq!(next_due_date(&sub).unwrap(), None);
}

#[test]
fn cancellation_at_period_end_and_after_billing() {
    let mut sub = subscription(
        "s5",
        d(2026, 1, 1),
        vec![
            monthly_licence(eur(dec!(10))),
            recurring_item(
                "y",
                BillingInterval::yearly(),
                BillingTiming::InAdvance,
                dec!(1),
                eur(dec!(120)),
            ),
        ],
    );
    run(&mut sub, d(2026, 4, 1));
    // At period end: the monthly item runs to 30 April, the yearly to 31 Dec.
    let mut at_period_end = sub.clone();
    let outcome = at_period_end
        .cancel(Cancellation::AtPeriodEnd {
            notice_date: d(2026, 4, 10),
        })
        .unwrap();
    assert_eq!(outcome.end, d(2026, 12, 31));
    let json = serde_json::to_string(&outcome).unwrap();
    assert_eq!(
        serde_json::from_str::<CancellationOutcome>(&json).unwrap(),
        outcome
    );
    assert_eq!(at_period_end.items[0].end, Some(d(2026, 4, 30)));
    assert!(run(&mut at_period_end, d(2027, 1, 1)).is_empty());

    // At a date inside already billed periods: the billed days after it are
    // reported for a credit note; nothing more is billed.
    let outcome = sub
        .cancel(Cancellation::AtDate {
            last_day: d(2026, 4, 15),
        })
        .unwrap();
    assert_eq!(
        outcome.over_billed,
        [
            OverBilledPeriod {
                item_id: "m".into(),
                period: ServicePeriod::new(d(2026, 4, 16), d(2026, 4, 30)).unwrap(),
            },
            OverBilledPeriod {
                item_id: "y".into(),
                period: ServicePeriod::new(d(2026, 4, 16), d(2026, 12, 31)).unwrap(),
            },
        ]
    );
    assert!(run(&mut sub, d(2027, 1, 1)).is_empty());
}

#[test]
fn partial_first_period_on_an_anchor_day() {
    // Starts 15 Feb 2026, billed on the 1st: 14 of 28 days, then full months.
    // 1 × 56.00 × 14 / 28 = 28.00
    let mut sub = one_item_contract(
        d(2026, 2, 15),
        BillingInterval::monthly(),
        BillingTiming::InAdvance,
        dec!(1),
        eur(dec!(56)),
    );
    sub.anchor_day = Some(AnchorDay::new(1).unwrap());
    let mut full = sub.clone();
    let due = run(&mut sub, d(2026, 3, 1));
    assert_eq!(
        billed(&due),
        [
            (d(2026, 2, 15), d(2026, 2, 28), eur(dec!(28.00))),
            (d(2026, 3, 1), d(2026, 3, 31), eur(dec!(56.00))),
        ]
    );
    assert_eq!(
        due.billable_lines(&sub, Language::En).unwrap()[0]
            .item
            .quantity,
        dec!(0.5)
    );

    // Billing the full period instead: the stub costs the full 56.00.
    full.proration = ProrationPolicy::FullPeriod;
    let due = run(&mut full, d(2026, 2, 15));
    assert_eq!(
        billed(&due),
        [(d(2026, 2, 15), d(2026, 2, 28), eur(dec!(56.00)))]
    );
    assert_eq!(due.periods[0].proration, None);
}

#[test]
fn changes_split_an_arrears_period_at_their_day() {
    // EUR 50.00 per month in arrears from 1 Jan 2026; the price becomes
    // 60.00 from 15 Jan and the quantity 3 from 10 Feb. Nothing was billed
    // yet, so each part of a month is billed at what was in effect, prorated
    // by actual days of the month (one line per part, rounded per line):
    //   1–14 Jan:  1 × 50 × 14/31 = 700/31  = 22.580… → 22.58
    //   15–31 Jan: 1 × 60 × 17/31 = 1020/31 = 32.903… → 32.90
    //   1–9 Feb:   1 × 60 ×  9/28 = 540/28  = 19.285… → 19.29
    //   10–28 Feb: 3 × 60 × 19/28 = 3420/28 = 122.142… → 122.14
    //   March:     3 × 60 = 180.00
    // (The old schedule billed January at 50.00 and February at 60.00.)
    let mut sub = one_item_contract(
        d(2026, 1, 1),
        BillingInterval::monthly(),
        BillingTiming::InArrears,
        dec!(1),
        eur(dec!(50)),
    );
    sub.change_price(&"a".into(), d(2026, 1, 15), eur(dec!(60)))
        .unwrap();
    sub.change_quantity(&"a".into(), d(2026, 2, 10), dec!(3))
        .unwrap();
    let due = run(&mut sub, d(2026, 4, 1));
    assert_eq!(
        billed(&due),
        [
            (d(2026, 1, 1), d(2026, 1, 14), eur(dec!(22.58))),
            (d(2026, 1, 15), d(2026, 1, 31), eur(dec!(32.90))),
            (d(2026, 2, 1), d(2026, 2, 9), eur(dec!(19.29))),
            (d(2026, 2, 10), d(2026, 2, 28), eur(dec!(122.14))),
            (d(2026, 3, 1), d(2026, 3, 31), eur(dec!(180.00))),
        ]
    );
    // A billed arrears period is final: a change inside March (billed
    // through 31 Mar) is refused and changes nothing; one from 1 April
    // applies to April: 3 × 70 = 210.00.
    let before = sub.clone();
    let err = sub
        .change_price(&"a".into(), d(2026, 3, 31), eur(dec!(70)))
        .unwrap_err();
    assert!(err.to_string().starts_with("effective_from:"), "{err}");
    assert_eq!(sub, before);
    sub.change_price(&"a".into(), d(2026, 4, 1), eur(dec!(70)))
        .unwrap();
    assert_eq!(
        billed(&run(&mut sub, d(2026, 5, 1))),
        [(d(2026, 4, 1), d(2026, 4, 30), eur(dec!(210.00)))]
    );
}

#[test]
fn replayed_progress_is_refused() {
    let mut sub = monthly_from_31_january(2025);
    let due = due_for_run(&sub, d(2025, 3, 31)).unwrap();
    sub.record_progress(&due.progress).unwrap();
    let err = sub.record_progress(&due.progress).unwrap_err();
    assert!(
        err.to_string().contains("another run billed this item"),
        "{err}"
    );
    assert_eq!(sub.items[0].billed_through, Some(d(2025, 4, 29)));
}

#[test]
fn json_uses_snake_case_and_string_amounts() {
    let mut sub = one_item_contract(
        d(2026, 1, 1),
        BillingInterval::quarterly(),
        BillingTiming::InArrears,
        dec!(2.5),
        eur(dec!(19.99)),
    );
    sub.anchor_day = Some(AnchorDay::new(1).unwrap());
    sub.end = Some(d(2026, 8, 15));
    sub.change_price(&"a".into(), d(2026, 2, 1), eur(dec!(21)))
        .unwrap();
    let json = serde_json::to_value(&sub).unwrap();
    assert_eq!(json["proration"], "actual_days");
    assert_eq!(json["anchor_day"], 1);
    assert_eq!(json["items"][0]["timing"], "in_arrears");
    assert_eq!(
        json["items"][0]["interval"],
        serde_json::json!({"count": 3, "unit": "month"})
    );
    assert_eq!(json["items"][0]["item"]["quantity"], "2.5");
    assert_eq!(
        json["items"][0]["price_changes"][0]["value"]["amount"],
        "21"
    );
    assert_eq!(
        json["items"][0]["price_changes"][0]["effective_from"],
        "2026-02-01"
    );
    assert_eq!(serde_json::from_value::<Subscription>(json).unwrap(), sub);

    let due = due_for_run(&sub, d(2026, 12, 1)).unwrap();
    let json = serde_json::to_value(&due).unwrap();
    // The price change on 1 Feb splits Q1 (Jan | Feb–Mar); the last period
    // (1 Jul – 15 Aug) is 46 of Q3's 92 days. January: 2.5 × 19.99 × 31/90
    // = 1549.225/90 = 17.2136… → 17.21.
    assert_eq!(
        json["periods"][3]["proration"],
        serde_json::json!({"days": 46, "period_days": 92})
    );
    assert_eq!(json["periods"][0]["net"]["amount"], "17.21");
    assert_eq!(json["progress"][0]["billed_through"], "2026-08-15");
    assert_eq!(serde_json::from_value::<DueSchedule>(json).unwrap(), due);

    for cancellation in [
        Cancellation::AtDate {
            last_day: d(2026, 5, 1),
        },
        Cancellation::AtPeriodEnd {
            notice_date: d(2026, 5, 1),
        },
    ] {
        let json = serde_json::to_string(&cancellation).unwrap();
        assert_eq!(
            serde_json::from_str::<Cancellation>(&json).unwrap(),
            cancellation
        );
    }
    assert_eq!(
        serde_json::to_string(&Cancellation::AtDate {
            last_day: d(2026, 5, 1)
        })
        .unwrap(),
        r#"{"mode":"at_date","last_day":"2026-05-01"}"#
    );
    let _: Decimal = Proration {
        days: 1,
        period_days: 4,
    }
    .factor();
}
