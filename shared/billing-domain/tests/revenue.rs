//! MRR, ARR, their movements and deferred revenue on contracts with an
//! upgrade, a downgrade, a cancellation, a reactivation, yearly and
//! quarterly intervals and prorated periods; every expected figure is
//! computed by hand in the comments.

mod common;

use billing_domain::ids::{AccountId, InvoiceId};
use billing_domain::money::{Currency, Money};
use billing_domain::period::{BillingInterval, ServicePeriod};
use billing_domain::revenue::{
    BilledLine, DeferredMonth, Month, MrrMonth, billed_lines, deferred_revenue, mrr_months,
};
use billing_domain::subscription::{BillingTiming, Effective, Subscription};
use common::{d, eur, recurring_item, subscription};
use rust_decimal::Decimal;
use rust_decimal_macros::dec;

fn month(text: &str) -> Month {
    text.parse().unwrap()
}

fn contract(
    account: &str,
    id: &str,
    start: (i32, u32, u32),
    interval: BillingInterval,
    quantity: Decimal,
    price: Decimal,
) -> Subscription {
    let mut s = subscription(
        id,
        d(start.0, start.1, start.2),
        vec![recurring_item(
            "a",
            interval,
            BillingTiming::InAdvance,
            quantity,
            eur(price),
        )],
    );
    s.account_id = AccountId::new(account);
    s
}

/// The contracts of the test (all in advance, EUR unless said):
/// - acc-up: 2 × 50.00 monthly from 1 Jan; 3 from 16 Mar (upgrade).
/// - acc-down: 300.00 quarterly from 1 Jan; 240.00 from 1 Apr (downgrade).
/// - acc-year: 1200.00 yearly from 10 Feb.
/// - acc-churn: 80.00 monthly from 1 Jan, cancelled to 15 Apr.
/// - acc-back: 30.00 monthly in January only; again 45.00 from 1 May.
/// - acc-q: 100.00 quarterly from 1 Jun (a third is 33.333…).
/// - acc-us: 10.00 USD monthly from 1 Mar.
fn contracts() -> Vec<Subscription> {
    let mut up = contract(
        "acc-up",
        "up",
        (2026, 1, 1),
        BillingInterval::monthly(),
        dec!(2),
        dec!(50.00),
    );
    up.items[0].quantity_changes.push(Effective {
        effective_from: d(2026, 3, 16),
        value: dec!(3),
    });
    let mut down = contract(
        "acc-down",
        "down",
        (2026, 1, 1),
        BillingInterval::quarterly(),
        dec!(1),
        dec!(300.00),
    );
    down.items[0].price_changes.push(Effective {
        effective_from: d(2026, 4, 1),
        value: eur(dec!(240.00)),
    });
    let year = contract(
        "acc-year",
        "year",
        (2026, 2, 10),
        BillingInterval::yearly(),
        dec!(1),
        dec!(1200.00),
    );
    let mut churn = contract(
        "acc-churn",
        "churn",
        (2026, 1, 1),
        BillingInterval::monthly(),
        dec!(1),
        dec!(80.00),
    );
    churn.end = Some(d(2026, 4, 15));
    let mut back = contract(
        "acc-back",
        "back1",
        (2026, 1, 1),
        BillingInterval::monthly(),
        dec!(1),
        dec!(30.00),
    );
    back.end = Some(d(2026, 1, 31));
    let again = contract(
        "acc-back",
        "back2",
        (2026, 5, 1),
        BillingInterval::monthly(),
        dec!(1),
        dec!(45.00),
    );
    let q = contract(
        "acc-q",
        "q",
        (2026, 6, 1),
        BillingInterval::quarterly(),
        dec!(1),
        dec!(100.00),
    );
    let mut us = contract(
        "acc-us",
        "us",
        (2026, 3, 1),
        BillingInterval::monthly(),
        dec!(1),
        dec!(10.00),
    );
    us.currency = Currency::USD;
    us.items[0].item.unit_price = Money::new(dec!(10.00), Currency::USD);
    vec![up, down, year, churn, back, again, q, us]
}

/// `[opening, new, reactivation, expansion, contraction, churn, mrr, arr]`.
fn figures(row: &MrrMonth) -> [Decimal; 8] {
    [
        row.opening_mrr.amount(),
        row.new.amount(),
        row.reactivation.amount(),
        row.expansion.amount(),
        row.contraction.amount(),
        row.churn.amount(),
        row.mrr.amount(),
        row.arr.amount(),
    ]
}

#[test]
fn mrr_arr_and_movements_per_month() {
    let rows = mrr_months(&contracts(), month("2026-01"), month("2026-06")).unwrap();
    // Two currencies × six months, EUR before USD within each month.
    assert_eq!(rows.len(), 12);
    let eur_rows: Vec<&MrrMonth> = rows
        .iter()
        .filter(|r| r.currency == Currency::EUR)
        .collect();
    let z = Decimal::ZERO;
    // Jan: up 2 × 50 = 100, down 300 / 3 = 100, churn 80, back 30: all new.
    // MRR 310, ARR 12 × 310 = 3720.
    assert_eq!(
        figures(eur_rows[0]),
        [z, dec!(310), z, z, z, z, dec!(310), dec!(3720)]
    );
    assert_eq!(eur_rows[0].customers, 4);
    // Feb: year 1200 / 12 = 100 new (in service on 28 Feb); back ended
    // 31 Jan: churn 30. 310 + 100 − 30 = 380, ARR 4560.
    assert_eq!(
        figures(eur_rows[1]),
        [
            dec!(310),
            dec!(100),
            z,
            z,
            z,
            dec!(30),
            dec!(380),
            dec!(4560)
        ]
    );
    // Mar: up is 3 × 50 = 150 on 31 Mar: expansion 50. 380 + 50 = 430.
    assert_eq!(
        figures(eur_rows[2]),
        [dec!(380), z, z, dec!(50), z, z, dec!(430), dec!(5160)]
    );
    // Apr: down 240 / 3 = 80: contraction 100 − 80 = 20; churn ended
    // 15 Apr, out of service on 30 Apr: churn 80. 430 − 20 − 80 = 330.
    assert_eq!(
        figures(eur_rows[3]),
        [
            dec!(430),
            z,
            z,
            z,
            dec!(20),
            dec!(80),
            dec!(330),
            dec!(3960)
        ]
    );
    assert_eq!(eur_rows[3].customers, 3);
    // May: back again at 45, having had MRR in January: reactivation.
    // 330 + 45 = 375.
    assert_eq!(
        figures(eur_rows[4]),
        [dec!(330), z, dec!(45), z, z, z, dec!(375), dec!(4500)]
    );
    // Jun: q 100 / 3 = 33.333… rounded per customer to 33.33, new.
    // 375 + 33.33 = 408.33, ARR 12 × 408.33 = 4899.96.
    assert_eq!(
        figures(eur_rows[5]),
        [
            dec!(375),
            dec!(33.33),
            z,
            z,
            z,
            z,
            dec!(408.33),
            dec!(4899.96)
        ]
    );
    assert_eq!(eur_rows[5].customers, 5);
    // USD apart: nothing in Jan and Feb, 10 new in March, then steady.
    let usd: Vec<[Decimal; 8]> = rows
        .iter()
        .filter(|r| r.currency == Currency::USD)
        .map(figures)
        .collect();
    assert_eq!(usd[0], [z; 8]);
    assert_eq!(usd[2], [z, dec!(10), z, z, z, z, dec!(10), dec!(120)]);
    assert_eq!(usd[3], [dec!(10), z, z, z, z, z, dec!(10), dec!(120)]);
}

#[test]
fn a_range_that_starts_late_still_tells_new_from_reactivation() {
    // From May only: acc-back had MRR in January, before the range.
    let rows = mrr_months(&contracts(), month("2026-05"), month("2026-05")).unwrap();
    let may = rows.iter().find(|r| r.currency == Currency::EUR).unwrap();
    assert_eq!(may.reactivation.amount(), dec!(45));
    assert_eq!(may.new.amount(), Decimal::ZERO);
    assert_eq!(may.opening_mrr.amount(), dec!(330));
}

fn line(
    account: &str,
    issued: (u32, u32),
    start: (i32, u32, u32),
    end: (i32, u32, u32),
    net: Decimal,
) -> BilledLine {
    BilledLine {
        account_id: AccountId::new(account),
        invoice_id: InvoiceId::new(format!("inv-{account}-{}-{}", issued.0, issued.1)),
        issue_date: d(2026, issued.0, issued.1),
        period: ServicePeriod::new(d(start.0, start.1, start.2), d(end.0, end.1, end.2)).unwrap(),
        net: eur(net),
    }
}

/// What the runs billed for the contracts above, January to April.
fn billed() -> Vec<BilledLine> {
    vec![
        // acc-up: 100.00 each month in advance; the upgrade on 16 Mar is
        // billed on 1 Apr for the rest of March: 1 × 50 × 16 / 31 days =
        // 25.806… → 25.81 (period already over: nothing deferred).
        line("acc-up", (1, 1), (2026, 1, 1), (2026, 1, 31), dec!(100.00)),
        line("acc-up", (2, 1), (2026, 2, 1), (2026, 2, 28), dec!(100.00)),
        line("acc-up", (3, 1), (2026, 3, 1), (2026, 3, 31), dec!(100.00)),
        line("acc-up", (4, 1), (2026, 3, 16), (2026, 3, 31), dec!(25.81)),
        line("acc-up", (4, 1), (2026, 4, 1), (2026, 4, 30), dec!(150.00)),
        // acc-down: Q1 300.00 on 1 Jan (90 days), Q2 240.00 on 1 Apr (91).
        line(
            "acc-down",
            (1, 1),
            (2026, 1, 1),
            (2026, 3, 31),
            dec!(300.00),
        ),
        line(
            "acc-down",
            (4, 1),
            (2026, 4, 1),
            (2026, 6, 30),
            dec!(240.00),
        ),
        // acc-year: 1200.00 on 10 Feb for 10 Feb 2026 – 9 Feb 2027 (365 days).
        line(
            "acc-year",
            (2, 10),
            (2026, 2, 10),
            (2027, 2, 9),
            dec!(1200.00),
        ),
        // acc-churn: 80.00 monthly; cancelled to 15 Apr after April was
        // billed: a credit note on 10 Apr for 16–30 Apr, 80 × 15 / 30 = 40.00.
        line(
            "acc-churn",
            (1, 1),
            (2026, 1, 1),
            (2026, 1, 31),
            dec!(80.00),
        ),
        line(
            "acc-churn",
            (2, 1),
            (2026, 2, 1),
            (2026, 2, 28),
            dec!(80.00),
        ),
        line(
            "acc-churn",
            (3, 1),
            (2026, 3, 1),
            (2026, 3, 31),
            dec!(80.00),
        ),
        line(
            "acc-churn",
            (4, 1),
            (2026, 4, 1),
            (2026, 4, 30),
            dec!(80.00),
        ),
        line(
            "acc-churn",
            (4, 10),
            (2026, 4, 16),
            (2026, 4, 30),
            dec!(-40.00),
        ),
    ]
}

/// `[opening, billed, earned, closing]`.
fn deferred(row: &DeferredMonth) -> [Decimal; 4] {
    [
        row.opening.amount(),
        row.billed.amount(),
        row.earned.amount(),
        row.closing.amount(),
    ]
}

fn rows_of(month_text: &str) -> Vec<(Option<String>, [Decimal; 4])> {
    deferred_revenue(&billed(), month(month_text))
        .unwrap()
        .iter()
        .map(|r| (r.account_id.as_ref().map(|a| a.to_string()), deferred(r)))
        .collect()
}

#[test]
fn deferred_revenue_in_january() {
    // acc-down: Q1 300 billed, 59 of 90 days after 31 Jan:
    // 300 × 59 / 90 = 196.666… → 196.67; earned 300 − 196.67 = 103.33.
    // Monthly lines end on 31 Jan: billed and earned in full.
    let z = Decimal::ZERO;
    assert_eq!(
        rows_of("2026-01"),
        vec![
            (Some("acc-churn".into()), [z, dec!(80), dec!(80), z]),
            (
                Some("acc-down".into()),
                [z, dec!(300), dec!(103.33), dec!(196.67)]
            ),
            (Some("acc-up".into()), [z, dec!(100), dec!(100), z]),
            (None, [z, dec!(480), dec!(283.33), dec!(196.67)]),
        ]
    );
}

#[test]
fn deferred_revenue_in_february_a_yearly_licence_is_earned_month_by_month() {
    // acc-down: 31 of 90 days after 28 Feb: 300 × 31 / 90 = 103.333… →
    // 103.33; earned 196.67 − 103.33 = 93.34.
    // acc-year: 10–28 Feb are 19 of 365 days; 346 remain:
    // 1200 × 346 / 365 = 1137.534… → 1137.53; earned 1200 − 1137.53 = 62.47.
    // Total: opening 196.67, billed 80 + 100 + 1200 = 1380, closing
    // 103.33 + 1137.53 = 1240.86, earned 196.67 + 1380 − 1240.86 = 335.81.
    let z = Decimal::ZERO;
    assert_eq!(
        rows_of("2026-02"),
        vec![
            (Some("acc-churn".into()), [z, dec!(80), dec!(80), z]),
            (
                Some("acc-down".into()),
                [dec!(196.67), z, dec!(93.34), dec!(103.33)]
            ),
            (Some("acc-up".into()), [z, dec!(100), dec!(100), z]),
            (
                Some("acc-year".into()),
                [z, dec!(1200), dec!(62.47), dec!(1137.53)]
            ),
            (
                None,
                [dec!(196.67), dec!(1380), dec!(335.81), dec!(1240.86)]
            ),
        ]
    );
}

#[test]
fn deferred_revenue_in_april_with_proration_and_a_credit() {
    // acc-churn: 80 billed − 40 credited = 40, all earned in April.
    // acc-down: Q2 240, 61 of 91 days after 30 Apr: 240 × 61 / 91 =
    // 160.879… → 160.88; earned 240 − 160.88 = 79.12.
    // acc-up: 25.81 (March's rest) + 150 = 175.81, all earned.
    // acc-year: 315 days after 31 Mar: 1200 × 315 / 365 = 1035.616… →
    // 1035.62; 285 after 30 Apr: 1200 × 285 / 365 = 936.986… → 936.99;
    // earned 98.63.
    // Total: opening 1035.62, billed 40 + 240 + 175.81 = 455.81, closing
    // 160.88 + 936.99 = 1097.87, earned 1035.62 + 455.81 − 1097.87 = 393.56.
    let z = Decimal::ZERO;
    assert_eq!(
        rows_of("2026-04"),
        vec![
            (Some("acc-churn".into()), [z, dec!(40), dec!(40), z]),
            (
                Some("acc-down".into()),
                [z, dec!(240), dec!(79.12), dec!(160.88)]
            ),
            (Some("acc-up".into()), [z, dec!(175.81), dec!(175.81), z]),
            (
                Some("acc-year".into()),
                [dec!(1035.62), z, dec!(98.63), dec!(936.99)]
            ),
            (
                None,
                [dec!(1035.62), dec!(455.81), dec!(393.56), dec!(1097.87)]
            ),
        ]
    );
}

#[test]
fn months_parse_strictly() {
    assert_eq!(month("2026-02").to_string(), "2026-02");
    assert_eq!(month("2026-01").previous().to_string(), "2025-12");
    assert_eq!(month("2026-12").next().to_string(), "2027-01");
    for bad in ["2026-13", "2026-1", "26-01", "2026/01", "2026-00", ""] {
        assert!(bad.parse::<Month>().is_err(), "{bad}");
    }
    assert!(billed_lines(&[]).unwrap().is_empty());
}

#[test]
fn reports_as_csv() {
    let rows = mrr_months(&contracts(), month("2026-06"), month("2026-06")).unwrap();
    let csv = billing_domain::revenue::mrr_csv(&rows);
    let lines: Vec<&str> = csv.split("\r\n").collect();
    assert_eq!(
        lines[0],
        "month,currency,opening_mrr,new,reactivation,expansion,contraction,churn,mrr,arr,customers"
    );
    assert_eq!(
        lines[1],
        "2026-06,EUR,375.00,33.33,0.00,0.00,0.00,0.00,408.33,4899.96,5"
    );
    let deferred = deferred_revenue(&billed(), month("2026-02")).unwrap();
    let csv = billing_domain::revenue::deferred_csv(&deferred);
    let lines: Vec<&str> = csv.split("\r\n").collect();
    assert_eq!(
        lines[0],
        "month,account_id,currency,opening,billed,earned,closing"
    );
    assert_eq!(
        lines[4],
        "2026-02,\"acc-year\",EUR,0.00,1200.00,62.47,1137.53"
    );
    assert_eq!(lines[5], "2026-02,,EUR,196.67,1380.00,335.81,1240.86");
}
