//! The invoice run's planning step: the due schedule (periods, progress and
//! invoice lines) of 10,000 subscriptions for one run date.

#[path = "../tests/common/mod.rs"]
mod common;

use billing_domain::party::Language;
use billing_domain::period::{AnchorDay, BillingInterval};
use billing_domain::schedule::due_for_run;
use billing_domain::subscription::{BillingTiming, Subscription};
use chrono::Months;
use common::{d, eur, recurring_item, subscription};
use criterion::{Criterion, criterion_group, criterion_main};
use rust_decimal::Decimal;
use std::hint::black_box;

/// The worst case for one run date: every contract is due. Each has a
/// monthly licence in advance and a monthly usage item in arrears, every
/// third a yearly fee; starts on the 1st of a month spread over two years,
/// every fifth with an explicit anchor day; billed up to the previous
/// month's run, so each run bills at least two lines per contract.
fn contracts() -> Vec<Subscription> {
    (0..10_000u64)
        .map(|n| {
            let start = d(2024, 1, 1) + Months::new((n % 24) as u32);
            let mut items = vec![
                recurring_item(
                    "licence",
                    BillingInterval::monthly(),
                    BillingTiming::InAdvance,
                    Decimal::from(1 + n % 25),
                    eur(Decimal::new(4_900, 2)),
                ),
                recurring_item(
                    "usage",
                    BillingInterval::monthly(),
                    BillingTiming::InArrears,
                    Decimal::new(12_345, 3),
                    eur(Decimal::new(125, 4)),
                ),
            ];
            if n % 3 == 0 {
                items.push(recurring_item(
                    "support",
                    BillingInterval::yearly(),
                    BillingTiming::InAdvance,
                    Decimal::ONE,
                    eur(Decimal::from(1_200)),
                ));
            }
            let mut sub = subscription(&format!("sub-{n}"), start, items);
            if n % 5 == 0 {
                sub.anchor_day = AnchorDay::new(1).ok();
            }
            // Bring every contract up to date as of the previous month's run.
            let previous = due_for_run(&sub, d(2026, 3, 1)).unwrap();
            sub.record_progress(&previous.progress).unwrap();
            sub
        })
        .collect()
}

fn due_schedule(c: &mut Criterion) {
    let subscriptions = contracts();
    let run_date = d(2026, 4, 1);
    let lines: usize = subscriptions
        .iter()
        .map(|sub| due_for_run(sub, run_date).unwrap().periods.len())
        .sum();
    println!(
        "{} subscriptions, {lines} due periods on {run_date}",
        subscriptions.len()
    );
    c.bench_function("due_schedule_10k_subscriptions", |b| {
        b.iter(|| {
            let mut lines = 0;
            for sub in &subscriptions {
                let due = due_for_run(black_box(sub), black_box(run_date)).unwrap();
                lines += due.billable_lines(sub, Language::En).unwrap().len();
            }
            black_box(lines)
        })
    });
}

criterion_group!(benches, due_schedule);
criterion_main!(benches);
