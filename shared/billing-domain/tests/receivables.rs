//! Payment behaviour and aging: the 12-invoice fixture of issue #13 with
//! hand-computed figures, and properties over any invoices.

use billing_domain::ids::AccountId;
use billing_domain::money::{Currency, Money};
use billing_domain::receivables::{ReceivableInvoice, aging, aging_bucket, payment_behaviour};
use chrono::{Days, NaiveDate};
use proptest::prelude::*;
use rust_decimal::Decimal;
use rust_decimal_macros::dec;

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn eur(amount: Decimal) -> Money {
    Money::new(amount, Currency::EUR)
}

/// Invoices of 14 days' terms: `(due, total, paid so far, paid in full on, level)`.
fn invoice(
    due: NaiveDate,
    total: Decimal,
    paid: Decimal,
    full: Option<NaiveDate>,
    level: u32,
) -> ReceivableInvoice {
    ReceivableInvoice {
        account_id: AccountId::new("acc_1"),
        issue_date: due - Days::new(14),
        due_date: due,
        open: eur(total - paid),
        paid_in_full_on: full,
        dunning_level: level,
        receivable: true,
    }
}

const AS_OF: (i32, u32, u32) = (2026, 6, 30);

/// The fixture (as of 2026-06-30): five settled invoices paid by seven
/// payments, seven open ones (two partly paid: the other two payments),
/// exactly 30, 31, 60, 61, 90 and 95 days overdue and one not yet due.
fn fixture() -> Vec<ReceivableInvoice> {
    vec![
        // settled: days from issue / from due
        invoice(
            day(2026, 1, 19),
            dec!(119.00),
            dec!(119.00),
            Some(day(2026, 1, 15)),
            0,
        ), // 10 / -4
        invoice(
            day(2026, 2, 16),
            dec!(238.00),
            dec!(238.00),
            Some(day(2026, 2, 26)),
            1,
        ), // 24 / 10
        invoice(
            day(2026, 3, 16),
            dec!(357.00),
            dec!(357.00),
            Some(day(2026, 3, 20)),
            0,
        ), // 18 / 4
        invoice(
            day(2026, 4, 15),
            dec!(476.00),
            dec!(476.00),
            Some(day(2026, 4, 15)),
            0,
        ), // 14 / 0
        invoice(
            day(2026, 6, 15),
            dec!(142.80),
            dec!(142.80),
            Some(day(2026, 6, 12)),
            0,
        ), // 11 / -3
        // open: days overdue on 2026-06-30
        invoice(day(2026, 5, 31), dec!(130.90), dec!(0), None, 0), // 30
        invoice(day(2026, 5, 30), dec!(249.90), dec!(60.00), None, 1), // 31
        invoice(day(2026, 5, 1), dec!(190.40), dec!(0), None, 1),  // 60
        invoice(day(2026, 4, 30), dec!(309.40), dec!(100.00), None, 2), // 61
        invoice(day(2026, 4, 1), dec!(107.10), dec!(0), None, 2),  // 90
        invoice(day(2026, 3, 27), dec!(83.30), dec!(0), None, 3),  // 95
        invoice(day(2026, 7, 10), dec!(595.00), dec!(0), None, 0), // not yet due
    ]
}

#[test]
fn the_fixture_ages_into_hand_computed_buckets() {
    let (y, m, d) = AS_OF;
    let aged = aging(&fixture(), Currency::EUR, day(y, m, d)).unwrap();
    // current: 595.00; 1-30: 130.90 (30 days); 31-60: 189.90 (31) + 190.40 (60);
    // 61-90: 209.40 (61) + 107.10 (90); over 90: 83.30 (95).
    assert_eq!(aged.buckets.current, eur(dec!(595.00)));
    assert_eq!(aged.buckets.days_1_30, eur(dec!(130.90)));
    assert_eq!(aged.buckets.days_31_60, eur(dec!(380.30)));
    assert_eq!(aged.buckets.days_61_90, eur(dec!(316.50)));
    assert_eq!(aged.buckets.over_90, eur(dec!(83.30)));
    assert_eq!(aged.counts, [1, 1, 2, 2, 1]);
    assert_eq!(aged.total, eur(dec!(1506.00)));
}

#[test]
fn the_fixture_behaves_as_hand_computed() {
    let (y, m, d) = AS_OF;
    let b = payment_behaviour(&fixture(), day(y, m, d)).unwrap();
    assert_eq!((b.invoices, b.settled), (12, 5));
    // (10 + 24 + 18 + 14 + 11) / 5 = 15.4; (-4 + 10 + 4 + 0 - 3) / 5 = 1.4
    assert_eq!(b.average_days_to_pay_from_issue, Some(dec!(15.4)));
    assert_eq!(b.average_days_to_pay_from_due, Some(dec!(1.4)));
    // 3 on time of 5 settled + 6 open overdue
    assert_eq!(b.share_paid_on_time, Some(dec!(0.2727)));
    // (30 + 31 + 60 + 61 + 90 + 95) / 6 = 61.1666…
    assert_eq!(b.average_days_overdue, Some(dec!(61.2)));
    assert_eq!(b.open_balance, vec![eur(dec!(1506.00))]);
    assert_eq!(b.overdue_balance, vec![eur(dec!(911.00))]);
    assert_eq!(b.highest_dunning_level, 3);
    let months: Vec<(&str, u32, u32, Option<Decimal>)> = b
        .trend
        .iter()
        .map(|t| {
            (
                t.month.as_str(),
                t.settled,
                t.on_time,
                t.average_days_from_due,
            )
        })
        .collect();
    assert_eq!(months.len(), 12);
    assert_eq!(months[0], ("2025-07", 0, 0, None));
    assert_eq!(
        &months[6..],
        &[
            ("2026-01", 1, 1, Some(dec!(-4.0))),
            ("2026-02", 1, 0, Some(dec!(10.0))),
            ("2026-03", 1, 0, Some(dec!(4.0))),
            ("2026-04", 1, 1, Some(dec!(0.0))),
            ("2026-05", 0, 0, None),
            ("2026-06", 1, 1, Some(dec!(-3.0))),
        ]
    );
}

#[test]
fn credit_notes_cancelled_and_foreign_currency_invoices_are_left_out() {
    let (y, m, d) = AS_OF;
    let mut invoices = fixture();
    let mut cancelled = invoice(day(2026, 5, 1), dec!(1000), dec!(0), None, 4);
    cancelled.receivable = false;
    invoices.push(cancelled);
    let mut chf = invoice(day(2026, 5, 1), dec!(50), dec!(0), None, 0);
    chf.open = Money::new(dec!(50), Currency::CHF);
    invoices.push(chf);
    let aged = aging(&invoices, Currency::EUR, day(y, m, d)).unwrap();
    assert_eq!(aged.total, eur(dec!(1506.00)));
    let b = payment_behaviour(&invoices, day(y, m, d)).unwrap();
    assert_eq!(b.highest_dunning_level, 3);
    assert_eq!(
        b.open_balance,
        vec![Money::new(dec!(50), Currency::CHF), eur(dec!(1506.00))]
    );
}

fn any_invoice() -> impl Strategy<Value = ReceivableInvoice> {
    (
        0u64..400,
        1i64..100_000,
        0u32..4,
        proptest::bool::ANY,
        0u64..60,
        0u8..4,
    )
        .prop_map(|(due_offset, cents, level, settled, pay_after, customer)| {
            let due = day(2025, 6, 1) + Days::new(due_offset);
            let total = Decimal::new(cents, 2);
            ReceivableInvoice {
                account_id: AccountId::new(format!("acc_{customer}")),
                issue_date: due - Days::new(14),
                due_date: due,
                open: eur(if settled { Decimal::ZERO } else { total }),
                paid_in_full_on: settled.then(|| due - Days::new(14) + Days::new(pay_after)),
                dunning_level: level,
                receivable: true,
            }
        })
}

proptest! {
    #[test]
    fn every_open_invoice_is_in_exactly_one_bucket(
        invoices in proptest::collection::vec(any_invoice(), 0..40),
        as_of_offset in 0u64..500,
    ) {
        let as_of = day(2025, 6, 1) + Days::new(as_of_offset);
        let aged = aging(&invoices, Currency::EUR, as_of).unwrap();
        let open: Vec<_> = invoices.iter().filter(|i| i.open.is_positive()).collect();
        let open_sum = Money::sum(Currency::EUR, open.iter().map(|i| i.open)).unwrap();
        prop_assert_eq!(aged.total, open_sum);
        prop_assert_eq!(aged.counts.iter().sum::<u32>() as usize, open.len());
        let b = &aged.buckets;
        let buckets = Money::sum(
            Currency::EUR,
            [b.current, b.days_1_30, b.days_31_60, b.days_61_90, b.over_90],
        )
        .unwrap();
        prop_assert_eq!(buckets, open_sum);
        // Per customer: the bucket columns and totals add up to the
        // seller's, and only customers with something open have a row,
        // largest total first.
        let mut columns = [Money::zero(Currency::EUR); 6];
        let mut counts = [0u32; 5];
        for c in &aged.customers {
            prop_assert!(c.total.is_positive());
            let cb = &c.buckets;
            let row = [cb.current, cb.days_1_30, cb.days_31_60, cb.days_61_90, cb.over_90, c.total];
            for (column, amount) in columns.iter_mut().zip(row) {
                *column = column.checked_add(amount).unwrap();
            }
            for (count, n) in counts.iter_mut().zip(c.counts) {
                *count += n;
            }
        }
        prop_assert_eq!(
            columns,
            [b.current, b.days_1_30, b.days_31_60, b.days_61_90, b.over_90, aged.total]
        );
        prop_assert_eq!(counts, aged.counts);
        let with_open: std::collections::BTreeSet<_> =
            open.iter().map(|i| i.account_id.clone()).collect();
        prop_assert_eq!(aged.customers.len(), with_open.len());
        prop_assert!(aged.customers.windows(2).all(|w| w[0].total.amount() >= w[1].total.amount()));
    }

    #[test]
    fn an_invoice_only_ever_ages_forward(days in -400i64..400) {
        prop_assert!(aging_bucket(days) <= aging_bucket(days + 1));
        prop_assert!(aging_bucket(days + 1) - aging_bucket(days) <= 1);
    }

    #[test]
    fn the_on_time_share_is_a_share(
        invoices in proptest::collection::vec(any_invoice(), 0..40),
        as_of_offset in 0u64..500,
    ) {
        let as_of = day(2025, 6, 1) + Days::new(as_of_offset);
        let b = payment_behaviour(&invoices, as_of).unwrap();
        if let Some(share) = b.share_paid_on_time {
            prop_assert!(share >= Decimal::ZERO && share <= Decimal::ONE);
        }
        prop_assert_eq!(b.trend.len(), 12);
        let overdue = Money::sum(Currency::EUR, b.overdue_balance.iter().copied()).unwrap();
        let open = Money::sum(Currency::EUR, b.open_balance.iter().copied()).unwrap();
        prop_assert!(overdue.amount() <= open.amount());
    }
}

/// Issue 27: an invoice whose open amount a credit note brings to zero is
/// paid in full on the credit note's date, and so counts in days-to-pay and
/// the on-time share (before, it never got a date and dropped out).
#[test]
fn an_invoice_settled_by_a_credit_note_counts_as_paid_on_its_date() {
    use billing_domain::payment::{PaymentStatus, PaymentSummary};
    // 119.00 issued 2026-01-31, due 2026-02-14; 100.00 paid, then a credit
    // note of 19.00 on 2026-02-10: 119.00 − 19.00 = 100.00 due, all paid.
    let issue = day(2026, 1, 31);
    let due = day(2026, 2, 14);
    let paid = PaymentSummary::from_paid(eur(dec!(119.00)), eur(dec!(100.00))).unwrap();
    assert_eq!(paid.open, eur(dec!(19.00)));
    let credited = paid.credited(eur(dec!(19.00))).unwrap();
    assert_eq!(credited.status, PaymentStatus::Paid);
    let on = paid.paid_in_full_on(None, &credited, day(2026, 2, 10));
    assert_eq!(on, Some(day(2026, 2, 10)));
    let settled = ReceivableInvoice {
        account_id: AccountId::new("acc_1"),
        issue_date: issue,
        due_date: due,
        open: credited.open,
        paid_in_full_on: on,
        dunning_level: 0,
        receivable: true,
    };
    let b = payment_behaviour(&[settled], day(2026, 3, 31)).unwrap();
    assert_eq!(b.settled, 1);
    // 2026-02-10 − 2026-01-31 = 10 days; − 2026-02-14 = −4 (early): on time.
    assert_eq!(b.average_days_to_pay_from_issue, Some(dec!(10.0)));
    assert_eq!(b.average_days_to_pay_from_due, Some(dec!(-4.0)));
    assert_eq!(b.share_paid_on_time, Some(dec!(1.0000)));

    // A credit note that leaves something open settles nothing: 119.00 −
    // 10.00 = 109.00 due, 100.00 paid, 9.00 open.
    let partly = paid.credited(eur(dec!(10.00))).unwrap();
    assert_eq!(partly.open, eur(dec!(9.00)));
    assert_eq!(paid.paid_in_full_on(None, &partly, day(2026, 2, 10)), None);

    // Paid in full on 2026-02-05 and credited later (the 19.00 becomes
    // customer credit): it stays paid on 2026-02-05.
    let full = PaymentSummary::from_paid(eur(dec!(119.00)), eur(dec!(119.00))).unwrap();
    let later = full.credited(eur(dec!(19.00))).unwrap();
    assert_eq!(later.customer_credit, eur(dec!(19.00)));
    assert_eq!(
        full.paid_in_full_on(Some(day(2026, 2, 5)), &later, day(2026, 2, 20)),
        Some(day(2026, 2, 5))
    );
}
