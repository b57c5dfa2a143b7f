//! Property tests: every period between start and a horizon is billed exactly
//! once, whatever the run dates, and month-end anchors never drift.

mod common;

use billing_domain::mid_period::{Downgrades, MidPeriodPolicy};
use billing_domain::party::Language;
use billing_domain::period::{
    AnchorDay, BillingInterval, IntervalUnit, PeriodGrid, ServicePeriod, days_in_month,
};
use billing_domain::schedule::{DuePeriod, Proration, due_for_run_under, prorated_quantity};
use billing_domain::subscription::{BillingTiming, ProrationPolicy, Subscription};
use chrono::{Datelike, Days, Months, NaiveDate};
use common::{d, eur, one_item_contract, recurring_item, subscription};
use proptest::prelude::*;
use rust_decimal::Decimal;

/// Days after the subscription start up to which runs are made.
const HORIZON_DAYS: u64 = 2200;

fn interval() -> impl Strategy<Value = BillingInterval> {
    prop_oneof![
        (1u32..=45).prop_map(|n| BillingInterval::every(n, IntervalUnit::Day).unwrap()),
        (1u32..=8).prop_map(|n| BillingInterval::every(n, IntervalUnit::Week).unwrap()),
        (1u32..=14).prop_map(|n| BillingInterval::every(n, IntervalUnit::Month).unwrap()),
        (1u32..=3).prop_map(|n| BillingInterval::every(n, IntervalUnit::Year).unwrap()),
        Just(BillingInterval::monthly()),
        Just(BillingInterval::quarterly()),
        Just(BillingInterval::half_yearly()),
        Just(BillingInterval::yearly()),
    ]
}

fn anchor() -> impl Strategy<Value = Option<u8>> {
    prop_oneof![
        Just(None),
        (1u8..=31).prop_map(Some),
        (28u8..=31).prop_map(Some)
    ]
}

#[derive(Debug, Clone)]
struct ItemSpec {
    interval: BillingInterval,
    in_advance: bool,
    start_offset: Option<u64>,
    end_offset: Option<u64>,
    quantity: Decimal,
    price_cents: i64,
}

fn item_spec() -> impl Strategy<Value = ItemSpec> {
    (
        interval(),
        any::<bool>(),
        prop::option::weighted(0.3, 0u64..400),
        prop::option::weighted(0.2, 0u64..1500),
        (1i64..=2000, 0u32..=2),
        0i64..=500_000,
    )
        .prop_map(
            |(interval, in_advance, start_offset, end_offset, (q, scale), price_cents)| ItemSpec {
                interval,
                in_advance,
                start_offset,
                end_offset,
                quantity: Decimal::new(q, scale),
                price_cents,
            },
        )
}

fn contract() -> impl Strategy<Value = Subscription> {
    (
        0u64..3650,
        prop::option::of(0u64..1800),
        anchor(),
        any::<bool>(),
        prop::collection::vec(item_spec(), 1..=3),
    )
        .prop_map(|(start_offset, end_offset, anchor, prorate, specs)| {
            let start = d(2020, 1, 1) + Days::new(start_offset);
            let items = specs
                .iter()
                .enumerate()
                .map(|(index, spec)| {
                    let timing = if spec.in_advance {
                        BillingTiming::InAdvance
                    } else {
                        BillingTiming::InArrears
                    };
                    let price = eur(Decimal::new(spec.price_cents, 2));
                    let mut item = recurring_item(
                        &format!("i{index}"),
                        spec.interval,
                        timing,
                        spec.quantity,
                        price,
                    );
                    item.start = spec.start_offset.map(|offset| start + Days::new(offset));
                    item.end = spec
                        .end_offset
                        .map(|offset| item.start.unwrap_or(start) + Days::new(offset));
                    item
                })
                .collect();
            let mut sub = subscription("p", start, items);
            sub.end = end_offset.map(|offset| start + Days::new(offset));
            sub.anchor_day = anchor.map(|day| AnchorDay::new(day).unwrap());
            sub.proration = if prorate {
                ProrationPolicy::ActualDays
            } else {
                ProrationPolicy::FullPeriod
            };
            sub
        })
}

/// Run dates as offsets from the start (some before it), sorted, each maybe
/// repeated.
fn runs() -> impl Strategy<Value = Vec<i64>> {
    prop::collection::vec((-60i64..HORIZON_DAYS as i64, any::<bool>()), 0..30).prop_map(
        |mut runs| {
            runs.sort();
            runs.into_iter()
                .flat_map(|(offset, twice)| vec![offset; if twice { 2 } else { 1 }])
                .collect()
        },
    )
}

/// Runs on `run_date` until nothing more is due (a run bills at most
/// `max_periods` periods), recording progress and checking each run's own
/// promises.
fn run_until_settled(
    sub: &mut Subscription,
    run_date: NaiveDate,
    max_periods: usize,
    billed: &mut Vec<DuePeriod>,
) {
    run_until_settled_under(
        sub,
        run_date,
        max_periods,
        MidPeriodPolicy::default(),
        billed,
    );
}

/// [`run_until_settled`] under the seller's `policy` for changes.
fn run_until_settled_under(
    sub: &mut Subscription,
    run_date: NaiveDate,
    max_periods: usize,
    policy: MidPeriodPolicy,
    billed: &mut Vec<DuePeriod>,
) {
    loop {
        let due = due_for_run_under(sub, run_date, max_periods, policy).unwrap();
        assert!(due.periods.len() <= max_periods);
        let lines = due.billable_lines(sub, Language::En).unwrap();
        for (period, line) in due.periods.iter().zip(&lines) {
            assert_eq!(
                line.item.net_amount().unwrap(),
                period.net,
                "line shows the prorated net"
            );
            assert_eq!(line.service_period, Some(period.period));
        }
        if let Some(next_due) = due.next_due {
            assert!(
                next_due > run_date || due.periods.len() == max_periods,
                "next due {next_due} after run {run_date}"
            );
        }
        sub.record_progress(&due.progress).unwrap();
        if due.is_empty() {
            return;
        }
        billed.extend(due.periods);
    }
}

/// Boundaries of an item computed the slow way, with chrono's own month
/// arithmetic: the first period start on or after `start` (walking day by
/// day to the anchor), one interval before it, and every one after up to
/// `until`.
fn oracle_boundaries(
    start: NaiveDate,
    interval: BillingInterval,
    anchor: Option<u8>,
    until: NaiveDate,
) -> Vec<NaiveDate> {
    let months = match interval.unit {
        IntervalUnit::Day | IntervalUnit::Week => {
            let step = u64::from(interval.count)
                * if interval.unit == IntervalUnit::Week {
                    7
                } else {
                    1
                };
            let mut boundaries = vec![start - Days::new(step)];
            let mut next = start;
            while next <= until {
                boundaries.push(next);
                next = next + Days::new(step);
            }
            boundaries.push(next);
            return boundaries;
        }
        IntervalUnit::Month => interval.count,
        IntervalUnit::Year => 12 * interval.count,
    };
    let anchor = u32::from(anchor.unwrap_or(start.day() as u8));
    let on_anchor = |first_of_month: NaiveDate| {
        let last = days_in_month(first_of_month.year(), first_of_month.month());
        first_of_month.with_day(anchor.min(last)).unwrap()
    };
    let mut origin = start;
    while origin != on_anchor(origin.with_day(1).unwrap()) {
        origin = origin.succ_opt().unwrap();
    }
    let first_month = origin.with_day(1).unwrap();
    let mut boundaries = vec![on_anchor(first_month - Months::new(months))];
    let mut k = 0;
    loop {
        let boundary = on_anchor(first_month + Months::new(k * months));
        boundaries.push(boundary);
        if boundary > until {
            return boundaries;
        }
        k += 1;
    }
}

/// The periods an item must have been billed for once every run up to
/// `horizon` has happened: (billed period, full grid period).
fn oracle_periods(
    sub: &Subscription,
    index: usize,
    horizon: NaiveDate,
) -> Vec<(ServicePeriod, ServicePeriod)> {
    let item = &sub.items[index];
    let start = item.start.unwrap_or(sub.start);
    let end = [item.end, sub.end].into_iter().flatten().min();
    let anchor = sub.anchor_day.map(AnchorDay::day);
    let boundaries = oracle_boundaries(start, item.interval, anchor, horizon);
    let mut expected = Vec::new();
    let mut first_day = start;
    loop {
        if end.is_some_and(|end| first_day > end) || first_day > horizon {
            return expected;
        }
        let k = boundaries.iter().rposition(|b| *b <= first_day).unwrap();
        let full =
            ServicePeriod::new(boundaries[k], boundaries[k + 1].pred_opt().unwrap()).unwrap();
        let last_day = end.map_or(full.end, |end| end.min(full.end));
        let period = ServicePeriod::new(first_day, last_day).unwrap();
        let due = match item.timing {
            BillingTiming::InAdvance => period.start <= horizon,
            BillingTiming::InArrears => period.end < horizon,
        };
        if !due {
            return expected;
        }
        expected.push((period, full));
        first_day = last_day.succ_opt().unwrap();
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn every_period_is_billed_exactly_once(
        mut sub in contract(),
        runs in runs(),
        max_periods in prop_oneof![Just(usize::MAX), 1usize..=12],
    ) {
        let horizon = sub.start + Days::new(HORIZON_DAYS);
        let mut billed = Vec::new();
        for offset in runs {
            let run_date = sub.start.checked_add_signed(chrono::Duration::days(offset)).unwrap();
            run_until_settled(&mut sub, run_date, max_periods, &mut billed);
        }
        run_until_settled(&mut sub, horizon, max_periods, &mut billed);

        // One run at the horizon bills exactly the same periods.
        let mut fresh = sub.clone();
        fresh.items.iter_mut().for_each(|item| item.billed_through = None);
        let mut in_one_go = Vec::new();
        run_until_settled(&mut fresh, horizon, usize::MAX, &mut in_one_go);

        for (index, item) in sub.items.iter().enumerate() {
            let periods: Vec<&DuePeriod> = billed.iter().filter(|p| p.item_id == item.id).collect();
            // Contiguous: each period starts the day after the previous ends.
            for pair in periods.windows(2) {
                prop_assert_eq!(pair[1].period.start, pair[0].period.end.succ_opt().unwrap());
            }
            let expected = oracle_periods(&sub, index, horizon);
            let actual: Vec<_> = periods.iter().map(|p| (p.period, p.full_period)).collect();
            prop_assert_eq!(&actual, &expected, "item {}", index);
            let again: Vec<_> = in_one_go.iter().filter(|p| p.item_id == item.id).map(|p| (p.period, p.full_period)).collect();
            prop_assert_eq!(&again, &expected);
            for period in &periods {
                let partial = period.period != period.full_period;
                let prorated = partial && sub.proration == ProrationPolicy::ActualDays;
                prop_assert_eq!(period.proration.is_some(), prorated);
                prop_assert_eq!(period.unit_price, item.item.unit_price);
            }
            prop_assert_eq!(item.billed_through, expected.last().map(|(period, _)| period.end));
        }
    }

    #[test]
    fn prorated_quantity_times_unit_price_is_the_prorated_net(
        quantity in (1i64..=100_000, 0u32..=3).prop_map(|(q, scale)| Decimal::new(q, scale)),
        unit_price in (-10_000_000_000i64..=10_000_000_000, 2u32..=4).prop_map(|(p, scale)| eur(Decimal::new(p, scale))),
        (days, period_days) in (1i64..=400).prop_flat_map(|full| (1..=full, Just(full))),
    ) {
        let exact = unit_price.amount() * quantity * Decimal::from(days) / Decimal::from(period_days);
        let net = eur(exact).round();
        let shown = prorated_quantity(quantity, unit_price, Proration { days, period_days }, net);
        prop_assert_eq!(unit_price.times(shown).unwrap().round(), net);
        prop_assert!(shown.scale() <= 12, "{} has too many decimals", shown);
    }

    #[test]
    fn month_end_anchors_never_drift(
        year in 1990i32..2100,
        month in 1u32..=12,
        anchor in 28u8..=31,
        count in prop_oneof![Just(1u32), Just(2), Just(3), Just(6), Just(12), 1u32..=24],
        k in 0i64..2400,
    ) {
        let start = d(year, month, u32::from(anchor).min(days_in_month(year, month)));
        let interval = BillingInterval::every(count, IntervalUnit::Month).unwrap();
        let grid = PeriodGrid::new(start, interval, Some(AnchorDay::new(anchor).unwrap())).unwrap();
        let boundary = grid.boundary(k).unwrap();
        let month_length = days_in_month(boundary.year(), boundary.month());
        prop_assert_eq!(boundary.day(), u32::from(anchor).min(month_length));
        if anchor == 31 && month_length == 31 {
            prop_assert_eq!(boundary.day(), 31);
        }
        // The grid's period for the boundary day starts on it.
        prop_assert_eq!(grid.period_containing(boundary).unwrap().start, boundary);
    }
}

#[test]
fn a_31_anchored_contract_returns_to_31_after_years_of_short_months() {
    let mut sub = one_item_contract(
        d(2023, 1, 31),
        BillingInterval::monthly(),
        BillingTiming::InAdvance,
        Decimal::ONE,
        eur(Decimal::TEN),
    );
    let mut billed = Vec::new();
    let mut run_date = d(2023, 1, 31);
    while run_date < d(2033, 1, 1) {
        run_until_settled(&mut sub, run_date, 1, &mut billed);
        run_date = run_date + Days::new(1);
    }
    assert_eq!(billed.len(), 120);
    for due in &billed {
        let start = due.period.start;
        assert_eq!(
            start.day(),
            days_in_month(start.year(), start.month()),
            "{start} is a month's last day"
        );
    }
}

/// A change as the webhook records it: effective on the day it arrives,
/// before or after that day's runs.
#[derive(Debug, Clone)]
struct ChangeSpec {
    offset: u64,
    quantity: Option<Decimal>,
    price_cents: Option<i64>,
    before_runs: bool,
}

fn change_spec() -> impl Strategy<Value = ChangeSpec> {
    (
        0u64..1200,
        0u8..3,
        (1i64..=60, 0u32..=1),
        1i64..=200_000,
        any::<bool>(),
    )
        .prop_map(
            |(offset, kind, (q, scale), price_cents, before_runs)| ChangeSpec {
                offset,
                quantity: (kind != 1).then(|| Decimal::new(q, scale)),
                price_cents: (kind != 0).then_some(price_cents),
                before_runs,
            },
        )
}

/// One item, monthly, quarterly or yearly, in advance or in arrears, with
/// the seller's policy for downgrades.
fn changing_contract() -> impl Strategy<Value = (Subscription, MidPeriodPolicy)> {
    (
        prop_oneof![
            Just(BillingInterval::monthly()),
            Just(BillingInterval::quarterly()),
            Just(BillingInterval::yearly()),
        ],
        any::<bool>(),
        0u64..3650,
        prop::option::weighted(0.3, 0u64..1500),
        anchor(),
        any::<bool>(),
        (1i64..=50, 1i64..=100_000),
        any::<bool>(),
    )
        .prop_map(
            |(
                interval,
                in_advance,
                start_offset,
                end_offset,
                anchor,
                prorate,
                (q, cents),
                credit,
            )| {
                let start = d(2020, 1, 1) + Days::new(start_offset);
                let timing = if in_advance {
                    BillingTiming::InAdvance
                } else {
                    BillingTiming::InArrears
                };
                let mut sub = one_item_contract(
                    start,
                    interval,
                    timing,
                    Decimal::from(q),
                    eur(Decimal::new(cents, 2)),
                );
                sub.end = end_offset.map(|offset| start + Days::new(offset));
                sub.anchor_day = anchor.map(|day| AnchorDay::new(day).unwrap());
                sub.proration = if prorate {
                    ProrationPolicy::ActualDays
                } else {
                    ProrationPolicy::FullPeriod
                };
                let downgrades = if credit {
                    Downgrades::CreditUnused
                } else {
                    Downgrades::NextPeriod
                };
                (sub, MidPeriodPolicy { downgrades })
            },
        )
}

/// What the item owes for its billed days, computed day by day: each day
/// costs the period amount in effect that day × the day's share of its
/// period (1/actual days of the grid period, or 1/days of the partial
/// period when partial periods are charged in full). In effect means the
/// contract's terms that day, except that billed in advance under "next
/// period" a downgrade waits for the next period, so a day costs the
/// highest amount seen so far in its period.
fn owed_day_by_day(sub: &Subscription, policy: MidPeriodPolicy, bases: &[&DuePeriod]) -> Decimal {
    let item = &sub.items[0];
    let item_start = sub.item_start(item);
    let item_end = sub.item_end(item);
    let changes = item.change_dates();
    let mut owed = Decimal::ZERO;
    for base in bases {
        let full = base.full_period;
        let cut_start = full.start.max(item_start);
        let cut_end = item_end.map_or(full.end, |end| end.min(full.end));
        let share_days = match sub.proration {
            ProrationPolicy::ActualDays => full.days(),
            ProrationPolicy::FullPeriod => (cut_end - cut_start).num_days() + 1,
        };
        let mut day = base.period.start;
        while day <= base.period.end {
            let amount_on = |date: NaiveDate| {
                let terms = item.terms_on(date);
                terms.unit_price.amount() * terms.quantity
            };
            let deferred_downgrades = item.timing == BillingTiming::InAdvance
                && policy.downgrades == Downgrades::NextPeriod;
            let amount = if deferred_downgrades {
                changes
                    .iter()
                    .copied()
                    .filter(|change| *change > cut_start && *change <= day)
                    .map(amount_on)
                    .fold(amount_on(cut_start), Decimal::max)
            } else {
                amount_on(day)
            };
            owed += amount / Decimal::from(share_days);
            day = day.succ_opt().unwrap();
        }
    }
    owed
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn changes_inside_periods_bill_each_day_once_at_what_was_in_effect(
        (mut sub, policy) in changing_contract(),
        changes in prop::collection::vec(change_spec(), 0..8),
        runs in prop::collection::vec(0u64..1300, 0..25),
        max_periods in prop_oneof![Just(usize::MAX), 1usize..=4],
    ) {
        // (day, order within the day, change): changes arriving before the
        // day's runs sort first, runs next, later changes last.
        let mut events: Vec<(NaiveDate, u8, Option<ChangeSpec>)> = runs
            .iter()
            .map(|offset| (sub.start + Days::new(*offset), 1, None))
            .collect();
        for change in changes {
            let order = if change.before_runs { 0 } else { 2 };
            events.push((sub.start + Days::new(change.offset), order, Some(change)));
        }
        events.sort_by_key(|(day, order, _)| (*day, *order));
        let item_id = sub.items[0].id.clone();
        let mut billed = Vec::new();
        for (day, _, change) in events {
            match change {
                None => run_until_settled_under(&mut sub, day, max_periods, policy, &mut billed),
                Some(change) => {
                    // Effective today is always accepted: no run has billed
                    // today's changes yet.
                    if let Some(quantity) = change.quantity {
                        sub.change_quantity(&item_id, day, quantity).unwrap();
                    }
                    if let Some(cents) = change.price_cents {
                        sub.change_price(&item_id, day, eur(Decimal::new(cents, 2))).unwrap();
                    }
                }
            }
        }
        let horizon = sub.start + Days::new(1300);
        run_until_settled_under(&mut sub, horizon, max_periods, policy, &mut billed);
        prop_assert!(due_for_run_under(&sub, horizon, usize::MAX, policy).unwrap().is_empty());

        // No day billed twice or never: the periods (and, in arrears, their
        // parts) follow each other without gap or overlap from the start to
        // where the engine without changes would have billed.
        let bases: Vec<&DuePeriod> = billed.iter().filter(|p| p.change.is_none()).collect();
        for pair in bases.windows(2) {
            prop_assert_eq!(pair[1].period.start, pair[0].period.end.succ_opt().unwrap());
        }
        let expected = oracle_periods(&sub, 0, horizon);
        prop_assert_eq!(bases.first().map(|p| p.period.start), expected.first().map(|(p, _)| p.start));
        prop_assert_eq!(bases.last().map(|p| p.period.end), expected.last().map(|(p, _)| p.end));
        // A change line covers the rest of one billed period, in advance only.
        for change in billed.iter().filter(|p| p.change.is_some()) {
            prop_assert_eq!(sub.items[0].timing, BillingTiming::InAdvance);
            prop_assert!(bases.iter().any(|base| base.full_period == change.full_period
                && base.period.start <= change.period.start
                && change.period.end == base.period.end));
        }

        // The billed amount is what the days owe, within the documented
        // rounding: each line rounds half away from zero to the cent (at
        // most 0.005 off), and a change whose rest rounds to 0.00 gets no
        // line (at most 0.005 off each).
        let total: Decimal = billed.iter().map(|p| p.net.amount()).sum();
        let owed = owed_day_by_day(&sub, policy, &bases);
        let slack = Decimal::new(5, 3)
            * Decimal::from(billed.len() + sub.items[0].change_dates().len());
        prop_assert!(
            (total - owed).abs() <= slack,
            "billed {} but the days owe {} (slack {})", total, owed, slack
        );
    }
}
