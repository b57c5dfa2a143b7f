//! Worked examples of changes inside a period, amounts computed by hand.
//!
//! Day-count convention (the product's one proration rule, see
//! `billing_domain::schedule`): actual days of the period. A change on day d
//! of a period of n days affects the days d..n, i.e. n − d + 1 days, so the
//! rest of the period is (n − d + 1)/n of a period's amount; every line is
//! rounded on its own, half away from zero to the cent.

mod common;

use billing_domain::mid_period::{ChangeDirection, Downgrades, MidPeriodPolicy};
use billing_domain::money::Money;
use billing_domain::party::Language;
use billing_domain::period::BillingInterval;
use billing_domain::schedule::{
    DueSchedule, Proration, due_for_run, due_for_run_under, next_due_date,
};
use billing_domain::subscription::{BillingTiming, Subscription};
use chrono::NaiveDate;
use common::{d, eur, one_item_contract};
use rust_decimal_macros::dec;

/// Runs the schedule under `policy` and records its progress, as the
/// invoice run does.
fn run_under(sub: &mut Subscription, run_date: NaiveDate, policy: MidPeriodPolicy) -> DueSchedule {
    let due = due_for_run_under(sub, run_date, 500, policy).unwrap();
    sub.record_progress(&due.progress).unwrap();
    due
}

/// Runs under the default policy (downgrades from the next period).
fn run(sub: &mut Subscription, run_date: NaiveDate) -> DueSchedule {
    run_under(sub, run_date, MidPeriodPolicy::default())
}

/// (start, end, net) of each line.
fn billed(due: &DueSchedule) -> Vec<(NaiveDate, NaiveDate, Money)> {
    due.periods
        .iter()
        .map(|p| (p.period.start, p.period.end, p.net))
        .collect()
}

/// 10 seats at EUR 10.00 per seat and month from 1 Jan 2026.
fn seats(timing: BillingTiming) -> Subscription {
    one_item_contract(
        d(2026, 1, 1),
        BillingInterval::monthly(),
        timing,
        dec!(10),
        eur(dec!(10)),
    )
}

const CREDIT: MidPeriodPolicy = MidPeriodPolicy {
    downgrades: Downgrades::CreditUnused,
};

#[test]
fn upgrade_in_advance_bills_the_rest_of_the_month_on_the_next_invoice() {
    // January (10 seats) is billed on 1 Jan: 10 × 10.00 = 100.00.
    let mut sub = seats(BillingTiming::InAdvance);
    assert_eq!(
        billed(&run(&mut sub, d(2026, 1, 1))),
        [(d(2026, 1, 1), d(2026, 1, 31), eur(dec!(100.00)))]
    );
    // On 15 Jan the customer goes to 20 seats, effective that day.
    sub.change_quantity(&"a".into(), d(2026, 1, 15), dec!(20))
        .unwrap();
    // The contract is due again on the change's day, not on 1 Feb.
    assert_eq!(next_due_date(&sub).unwrap(), Some(d(2026, 1, 15)));
    // The 1 Feb invoice: February at 20 seats (20 × 10.00 = 200.00) and the
    // 10 extra seats for 15–31 Jan: 31 − 15 + 1 = 17 of January's 31 days,
    // 10 × 10.00 × 17/31 = 1700/31 = 54.838… → 54.84.
    // (The old schedule billed only the 200.00: 15–31 Jan went unbilled.)
    let due = run(&mut sub, d(2026, 2, 1));
    assert_eq!(
        billed(&due),
        [
            (d(2026, 1, 15), d(2026, 1, 31), eur(dec!(54.84))),
            (d(2026, 2, 1), d(2026, 2, 28), eur(dec!(200.00))),
        ]
    );
    let upgrade = &due.periods[0];
    assert_eq!(
        upgrade.proration,
        Some(Proration {
            days: 17,
            period_days: 31
        })
    );
    assert_eq!(
        upgrade.change.map(|c| c.direction),
        Some(ChangeDirection::Upgrade)
    );

    // The line says what changed and for which days, in the invoice's
    // language: 10 more seats × 17/31 = 5.4838… shown as 5.4839 at 10.00
    // (5.4839 × 10.00 = 54.839 → 54.84, the line's net).
    let english = &due.billable_lines(&sub, Language::En).unwrap()[0];
    assert_eq!(
        english.item.description,
        "Licence a: upgrade from 2026-01-15, quantity 10 → 20 (pro rata 17/31 days)"
    );
    assert_eq!(english.item.quantity, dec!(5.4839));
    assert_eq!(english.item.unit_price, eur(dec!(10)));
    assert_eq!(english.item.net_amount().unwrap(), eur(dec!(54.84)));
    assert_eq!(english.service_period, Some(upgrade.period));
    let german = &due.billable_lines(&sub, Language::De).unwrap()[0];
    assert_eq!(
        german.item.description,
        "Licence a: Erhöhung ab 15.01.2026, Menge 10 → 20 (anteilig 17/31 Tage)"
    );
    // The upgrade is billed once: March bills only March.
    assert_eq!(
        billed(&run(&mut sub, d(2026, 3, 1))),
        [(d(2026, 3, 1), d(2026, 3, 31), eur(dec!(200.00)))]
    );
}

#[test]
fn a_change_recorded_after_the_days_run_still_counts_from_that_day() {
    // The run of 15 Jan has already billed (January, since nothing was
    // billed before); the CRM upgrades to 20 seats later that day,
    // effective 15 Jan. It is accepted and billed by the next run, 20 Jan:
    // 10 × 10.00 × 17/31 = 54.84 (as above).
    let mut sub = seats(BillingTiming::InAdvance);
    assert_eq!(
        billed(&run(&mut sub, d(2026, 1, 15))),
        [(d(2026, 1, 1), d(2026, 1, 31), eur(dec!(100.00)))]
    );
    sub.change_quantity(&"a".into(), d(2026, 1, 15), dec!(20))
        .unwrap();
    assert_eq!(
        billed(&run(&mut sub, d(2026, 1, 20))),
        [(d(2026, 1, 15), d(2026, 1, 31), eur(dec!(54.84)))]
    );
    // A later change may not reach back before what is billed at its terms.
    let before = sub.clone();
    let err = sub
        .change_quantity(&"a".into(), d(2026, 1, 18), dec!(25))
        .unwrap_err();
    assert!(err.to_string().starts_with("effective_from:"), "{err}");
    assert_eq!(sub, before);
}

#[test]
fn upgrade_in_arrears_bills_each_part_at_what_was_in_effect() {
    // Billed after January: 1–14 Jan at 10 seats, 15–31 Jan at 20 seats,
    // one line per part with its own service period:
    //   10 × 10.00 × 14/31 = 1400/31 = 45.161… → 45.16
    //   20 × 10.00 × 17/31 = 3400/31 = 109.677… → 109.68
    // together 154.84 (exactly 4800/31 = 154.838…); the old schedule billed
    // all of January at 10 seats, 100.00.
    let mut sub = seats(BillingTiming::InArrears);
    sub.change_quantity(&"a".into(), d(2026, 1, 15), dec!(20))
        .unwrap();
    let due = run(&mut sub, d(2026, 2, 1));
    assert_eq!(
        billed(&due),
        [
            (d(2026, 1, 1), d(2026, 1, 14), eur(dec!(45.16))),
            (d(2026, 1, 15), d(2026, 1, 31), eur(dec!(109.68))),
        ]
    );
    let lines = due.billable_lines(&sub, Language::En).unwrap();
    assert_eq!(lines[0].item.description, "Licence a (pro rata 14/31 days)");
    assert_eq!(lines[1].item.description, "Licence a (pro rata 17/31 days)");
    let lines = due.billable_lines(&sub, Language::De).unwrap();
    assert_eq!(lines[1].item.description, "Licence a (anteilig 17/31 Tage)");
    // February is billed whole at 20 seats: 200.00.
    assert_eq!(
        billed(&run(&mut sub, d(2026, 3, 1))),
        [(d(2026, 2, 1), d(2026, 2, 28), eur(dec!(200.00)))]
    );
}

#[test]
fn yearly_item_upgraded_mid_year_is_billed_within_the_year() {
    // 5 seats at EUR 120.00 per seat and year, in advance from 1 Jan 2026:
    // 5 × 120.00 = 600.00 on 1 Jan.
    let mut sub = one_item_contract(
        d(2026, 1, 1),
        BillingInterval::yearly(),
        BillingTiming::InAdvance,
        dec!(5),
        eur(dec!(120)),
    );
    assert_eq!(
        billed(&run(&mut sub, d(2026, 1, 1))),
        [(d(2026, 1, 1), d(2026, 12, 31), eur(dec!(600.00)))]
    );
    // 8 seats from 1 Jul 2026: due that day, not on 1 Jan 2027.
    sub.change_quantity(&"a".into(), d(2026, 7, 1), dec!(8))
        .unwrap();
    assert_eq!(next_due_date(&sub).unwrap(), Some(d(2026, 7, 1)));
    // 1 Jul – 31 Dec = 31 + 31 + 30 + 31 + 30 + 31 = 184 of 365 days;
    // 3 more seats × 120.00 × 184/365 = 66240/365 = 181.479… → 181.48.
    assert_eq!(
        billed(&run(&mut sub, d(2026, 7, 1))),
        [(d(2026, 7, 1), d(2026, 12, 31), eur(dec!(181.48)))]
    );
    assert!(run(&mut sub, d(2026, 12, 31)).is_empty());
    // 2027 at 8 seats: 960.00.
    assert_eq!(
        billed(&run(&mut sub, d(2027, 1, 1))),
        [(d(2027, 1, 1), d(2027, 12, 31), eur(dec!(960.00)))]
    );
}

#[test]
fn a_price_increase_mid_period_shows_the_difference_per_period() {
    // 10 seats at 10.00 → 12.00 from 22 Jan, in advance: the rest of
    // January is 31 − 22 + 1 = 10 days; (10 × 12.00 − 10 × 10.00) × 10/31
    // = 200/31 = 6.451… → 6.45, shown as 0.3226 × 20.00 (= 6.452 → 6.45).
    let mut sub = seats(BillingTiming::InAdvance);
    run(&mut sub, d(2026, 1, 1));
    sub.change_price(&"a".into(), d(2026, 1, 22), eur(dec!(12)))
        .unwrap();
    let due = run(&mut sub, d(2026, 1, 22));
    assert_eq!(
        billed(&due),
        [(d(2026, 1, 22), d(2026, 1, 31), eur(dec!(6.45)))]
    );
    let line = &due.billable_lines(&sub, Language::En).unwrap()[0];
    assert_eq!(
        line.item.description,
        "Licence a: upgrade from 2026-01-22, unit price 10.00 → 12.00 (pro rata 10/31 days)"
    );
    assert_eq!(line.item.unit_price, eur(dec!(20)));
    assert_eq!(line.item.quantity, dec!(0.3226));
    let line = &due.billable_lines(&sub, Language::De).unwrap()[0];
    assert_eq!(
        line.item.description,
        "Licence a: Erhöhung ab 22.01.2026, Einzelpreis 10,00 → 12,00 (anteilig 10/31 Tage)"
    );
}

#[test]
fn downgrade_takes_effect_next_period_by_default() {
    // 20 → 10 seats from 15 Jan, in advance, default policy: January stays
    // at the 20 seats paid for (200.00); February is 10 × 10.00 = 100.00.
    let mut sub = seats(BillingTiming::InAdvance);
    sub.items[0].item.quantity = dec!(20);
    assert_eq!(
        billed(&run(&mut sub, d(2026, 1, 1))),
        [(d(2026, 1, 1), d(2026, 1, 31), eur(dec!(200.00)))]
    );
    sub.change_quantity(&"a".into(), d(2026, 1, 15), dec!(10))
        .unwrap();
    assert!(run(&mut sub, d(2026, 1, 20)).is_empty());
    assert_eq!(
        billed(&run(&mut sub, d(2026, 2, 1))),
        [(d(2026, 2, 1), d(2026, 2, 28), eur(dec!(100.00)))]
    );
}

#[test]
fn downgrade_dated_on_the_periods_first_day_is_credited_even_by_default() {
    // 20 → 10 seats effective 1 Jan, recorded after the 1 Jan run billed
    // January at 20 seats (200.00). The change is not inside January: every
    // day of it owes 10 seats, exactly as if the change had come before the
    // run, so the next invoice credits 10 × 10.00 × 31/31 = −100.00 even
    // though the default policy defers downgrades made inside a period.
    let mut sub = seats(BillingTiming::InAdvance);
    sub.items[0].item.quantity = dec!(20);
    run(&mut sub, d(2026, 1, 1));
    sub.change_quantity(&"a".into(), d(2026, 1, 1), dec!(10))
        .unwrap();
    assert_eq!(
        billed(&run(&mut sub, d(2026, 2, 1))),
        [
            (d(2026, 1, 1), d(2026, 1, 31), eur(dec!(-100.00))),
            (d(2026, 2, 1), d(2026, 2, 28), eur(dec!(100.00))),
        ]
    );
}

#[test]
fn downgrade_credits_the_unused_rest_when_the_policy_says_so() {
    // Same downgrade, policy "credit unused": the 1 Feb invoice credits
    // 10 seats for 15–31 Jan, −10 × 10.00 × 17/31 = −1700/31 = −54.838…
    // → −54.84 (half away from zero), and bills February at 100.00.
    let mut sub = seats(BillingTiming::InAdvance);
    sub.items[0].item.quantity = dec!(20);
    run_under(&mut sub, d(2026, 1, 1), CREDIT);
    sub.change_quantity(&"a".into(), d(2026, 1, 15), dec!(10))
        .unwrap();
    let due = run_under(&mut sub, d(2026, 2, 1), CREDIT);
    assert_eq!(
        billed(&due),
        [
            (d(2026, 1, 15), d(2026, 1, 31), eur(dec!(-54.84))),
            (d(2026, 2, 1), d(2026, 2, 28), eur(dec!(100.00))),
        ]
    );
    // Shown as −5.4839 seats at the (non-negative, EN 16931 BR-27) 10.00.
    let line = &due.billable_lines(&sub, Language::En).unwrap()[0];
    assert_eq!(
        line.item.description,
        "Licence a: downgrade from 2026-01-15, quantity 20 → 10 (pro rata 17/31 days)"
    );
    assert_eq!(line.item.quantity, dec!(-5.4839));
    assert_eq!(line.item.unit_price, eur(dec!(10)));
    assert_eq!(line.item.net_amount().unwrap(), eur(dec!(-54.84)));
    let line = &due.billable_lines(&sub, Language::De).unwrap()[0];
    assert_eq!(
        line.item.description,
        "Licence a: Reduzierung ab 15.01.2026, Menge 20 → 10 (anteilig 17/31 Tage)"
    );
}

#[test]
fn the_contract_overrides_the_sellers_policy() {
    // The seller credits downgrades; this contract says "next period".
    let mut sub = seats(BillingTiming::InAdvance);
    sub.items[0].item.quantity = dec!(20);
    sub.mid_period_changes = Some(MidPeriodPolicy {
        downgrades: Downgrades::NextPeriod,
    });
    run_under(&mut sub, d(2026, 1, 1), CREDIT);
    sub.change_quantity(&"a".into(), d(2026, 1, 15), dec!(10))
        .unwrap();
    assert_eq!(
        billed(&run_under(&mut sub, d(2026, 2, 1), CREDIT)),
        [(d(2026, 2, 1), d(2026, 2, 28), eur(dec!(100.00)))]
    );
}

#[test]
fn downgrade_in_arrears_bills_each_part_whatever_the_policy() {
    // In arrears nothing was paid ahead: 20 seats for 1–14 Jan and 10 from
    // 15 Jan, under both policies:
    //   20 × 10.00 × 14/31 = 2800/31 = 90.322… → 90.32
    //   10 × 10.00 × 17/31 = 1700/31 = 54.838… → 54.84
    for policy in [MidPeriodPolicy::default(), CREDIT] {
        let mut sub = seats(BillingTiming::InArrears);
        sub.items[0].item.quantity = dec!(20);
        sub.change_quantity(&"a".into(), d(2026, 1, 15), dec!(10))
            .unwrap();
        assert_eq!(
            billed(&run_under(&mut sub, d(2026, 2, 1), policy)),
            [
                (d(2026, 1, 1), d(2026, 1, 14), eur(dec!(90.32))),
                (d(2026, 1, 15), d(2026, 1, 31), eur(dec!(54.84))),
            ]
        );
    }
}

#[test]
fn an_item_stored_before_settlements_keeps_its_billed_period_priced() {
    // Stored by the old schedule: January billed at 10 seats, no
    // settlement recorded, and a change to 20 from 15 Jan the old schedule
    // had accepted but ignored. The next run bills it: 54.84 (as above).
    let mut sub = seats(BillingTiming::InAdvance);
    sub.items[0].billed_through = Some(d(2026, 1, 31));
    sub.items[0]
        .quantity_changes
        .push(billing_domain::subscription::Effective {
            effective_from: d(2026, 1, 15),
            value: dec!(20),
        });
    assert_eq!(
        billed(&due_for_run(&sub, d(2026, 2, 1)).unwrap()),
        [
            (d(2026, 1, 15), d(2026, 1, 31), eur(dec!(54.84))),
            (d(2026, 2, 1), d(2026, 2, 28), eur(dec!(200.00))),
        ]
    );
}
