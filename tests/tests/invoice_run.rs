//! The invoice run end to end on the local AWS: 200 customers with mixed
//! contracts, billed by the real planner and worker; the invoices are
//! checked against an expectation this test works out by itself (plain date
//! and decimal arithmetic, no billing-engine code).

use std::collections::BTreeMap;

use billing_domain::ids::AccountId;
use billing_domain::item::PendingCharge;
use billing_domain::party::CustomerAccount;
use billing_domain::subscription::Subscription;
use billing_run::RunRequest;
use billing_run::preview::{Preview, RunFiles, preview_csv_key, preview_json_key};
use billing_store::run::{RunMode, RunStatus};
use billing_tests::run::{LocalRun, consumer, isolated_entity};
use billing_tests::{local_clients, resource, unique_id};
use chrono::NaiveDate;
use rust_decimal::prelude::*;
use serde_json::json;

const CUSTOMERS: usize = 200;
const KINDS: usize = 11;

fn d(text: &str) -> NaiveDate {
    text.parse().unwrap()
}

fn run_date() -> NaiveDate {
    d("2026-07-01")
}

/// One expected invoice line: service period and net.
type Line = (Option<(NaiveDate, NaiveDate)>, Decimal);

fn money(value: Decimal) -> Decimal {
    value.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero)
}

/// Contract kind `kind` for `account`, with monthly price `price` and
/// quantity `qty`, and the lines a run on 1 July 2026 must bill for it,
/// worked out by hand.
fn contract(
    kind: usize,
    account: &AccountId,
    price: Decimal,
    qty: Decimal,
) -> (Subscription, Vec<Line>) {
    let id = unique_id(&format!("sub-k{kind}"));
    let item = |interval: serde_json::Value, timing: &str, unit_price: Decimal| {
        json!({
            "id": format!("{id}-item"),
            "item": {
                "description": format!("Kind {kind} licence"),
                "quantity": qty.to_string(),
                "unit": "C62",
                "unit_price": {"amount": unit_price.to_string(), "currency": "EUR"},
                "tax_category": {"kind": "standard"}
            },
            "interval": interval,
            "timing": timing,
        })
    };
    let monthly = json!({"count": 1, "unit": "month"});
    let quarterly = json!({"count": 3, "unit": "month"});
    let yearly = json!({"count": 1, "unit": "year"});
    let p = |a: &str, b: &str| Some((d(a), d(b)));
    let full = price * qty;
    let (start, mut item, extra, lines): (&str, serde_json::Value, serde_json::Value, Vec<Line>) =
        match kind {
            // Monthly in advance, billed through June: July.
            0 => (
                "2026-01-01",
                item(monthly, "in_advance", price),
                json!({"billed_through": "2026-06-30"}),
                vec![(p("2026-07-01", "2026-07-31"), full)],
            ),
            // Monthly in arrears, billed through May: June.
            1 => (
                "2026-01-01",
                item(monthly, "in_arrears", price),
                json!({"billed_through": "2026-05-31"}),
                vec![(p("2026-06-01", "2026-06-30"), full)],
            ),
            // Quarterly in advance on calendar quarters, started mid-February.
            2 => (
                "2026-02-15",
                item(quarterly, "in_advance", price * Decimal::from(3)),
                json!({"anchor_month": 1, "billed_through": "2026-06-30"}),
                vec![(p("2026-07-01", "2026-09-30"), full * Decimal::from(3))],
            ),
            // Yearly on the anniversary, in advance.
            3 => (
                "2025-07-01",
                item(yearly.clone(), "in_advance", price * Decimal::from(12)),
                json!({"billed_through": "2026-06-30"}),
                vec![(p("2026-07-01", "2027-06-30"), full * Decimal::from(12))],
            ),
            // Yearly per calendar year in arrears: not due before January.
            4 => (
                "2026-03-15",
                item(yearly.clone(), "in_arrears", price * Decimal::from(12)),
                json!({"anchor_month": 1}),
                vec![],
            ),
            // Mid-month start on the 1st-of-month grid: 16/30 of June, then July.
            5 => (
                "2026-06-15",
                item(monthly, "in_advance", price),
                json!({}),
                vec![
                    (
                        p("2026-06-15", "2026-06-30"),
                        money(full * Decimal::from(16) / Decimal::from(30)),
                    ),
                    (p("2026-07-01", "2026-07-31"), full),
                ],
            ),
            // Anchored on the 31st: the June period starts on the 30th.
            6 => (
                "2026-01-31",
                item(monthly, "in_advance", price),
                json!({"billed_through": "2026-06-29"}),
                vec![(p("2026-06-30", "2026-07-30"), full)],
            ),
            // Leap-day anniversary: the period starts on 28 February.
            7 => (
                "2024-02-29",
                item(yearly, "in_advance", price * Decimal::from(12)),
                json!({"billed_through": "2026-02-27"}),
                vec![(p("2026-02-28", "2027-02-27"), full * Decimal::from(12))],
            ),
            // Cancelled to 15 July: 15/31 of July.
            8 => (
                "2026-01-01",
                item(monthly, "in_advance", price),
                json!({"billed_through": "2026-06-30", "end": "2026-07-15"}),
                vec![(
                    p("2026-07-01", "2026-07-15"),
                    money(full * Decimal::from(15) / Decimal::from(31)),
                )],
            ),
            // A price change from July on.
            9 => (
                "2026-01-01",
                item(monthly, "in_advance", price),
                json!({"billed_through": "2026-06-30", "price_changes": [{"effective_from": "2026-07-01", "value": {"amount": (price + Decimal::from(5)).to_string(), "currency": "EUR"}}]}),
                vec![(
                    p("2026-07-01", "2026-07-31"),
                    (price + Decimal::from(5)) * qty,
                )],
            ),
            // Quarterly in arrears on the anniversary: the quarter ends 9 July.
            10 => (
                "2026-01-10",
                item(quarterly, "in_arrears", price * Decimal::from(3)),
                json!({"billed_through": "2026-04-09"}),
                vec![],
            ),
            _ => unreachable!(),
        };
    let mut contract_end = None;
    if let serde_json::Value::Object(extra) = extra {
        for (key, value) in extra {
            if key == "end" {
                contract_end = Some(value);
            } else {
                item[key] = value;
            }
        }
    }
    let mut body = json!({
        "id": id,
        "account_id": account,
        "currency": "EUR",
        "start": start,
        "proration": "actual_days",
        "items": [item],
    });
    if kind == 5 {
        body["anchor_day"] = json!(1);
    }
    if let Some(end) = contract_end {
        body["end"] = end;
    }
    (
        serde_json::from_value(body).expect("a valid contract"),
        lines,
    )
}

fn parked(account: &AccountId) -> (String, Vec<PendingCharge>, Line) {
    let batch = unique_id("batch");
    let charge: PendingCharge = serde_json::from_value(json!({
        "id": format!("{batch}-1"),
        "account_id": account,
        "item": {
            "description": "Onboarding workshop",
            "quantity": "1",
            "unit": "C62",
            "unit_price": {"amount": "250.00", "currency": "EUR"},
            "tax_category": {"kind": "standard"}
        }
    }))
    .expect("a valid charge");
    (batch, vec![charge], (None, Decimal::from(250)))
}

struct Customer {
    account: CustomerAccount,
    lines: Vec<Line>,
    has_parked: bool,
}

impl Customer {
    fn expected_gross(&self) -> Decimal {
        let net: Decimal = self.lines.iter().map(|(_, net)| *net).sum();
        net + money(net * Decimal::new(19, 2))
    }
}

/// The customer base: every customer has two or three contract kinds,
/// every fourth a parked charge.
async fn seed(run: &LocalRun) -> Vec<Customer> {
    let mut customers = Vec::with_capacity(CUSTOMERS);
    for i in 0..CUSTOMERS {
        let account = consumer(&run.entity, &format!("Customer {i}"));
        let price = Decimal::from(10 + (i % 7) as i64);
        let qty = Decimal::from(1 + (i % 3) as i64);
        let mut kinds = vec![i % KINDS, (i * 7 + 3) % KINDS];
        if i % 3 == 0 {
            kinds.push((i * 5 + 1) % KINDS);
        }
        if i % 20 == 19 {
            // Contracts that are not due on 1 July: nothing to bill.
            kinds = vec![4, 10];
        }
        kinds.sort_unstable();
        kinds.dedup();
        let mut contracts = Vec::new();
        let mut lines = Vec::new();
        for kind in kinds {
            let (contract, expected) = contract(kind, &account.id, price, qty);
            contracts.push(contract);
            lines.extend(expected);
        }
        let mut pending = Vec::new();
        let mut has_parked = false;
        if i % 4 == 0 {
            let (batch, charges, line) = parked(&account.id);
            pending.push((batch, charges));
            has_parked = true;
            if !lines.is_empty() {
                lines.push(line);
            }
        }
        run.store
            .seed_customer(&account, &contracts, &pending, chrono::Utc::now())
            .await
            .expect("the customer is stored");
        customers.push(Customer {
            account,
            lines,
            has_parked,
        });
    }
    customers
}

fn sorted(mut lines: Vec<Line>) -> Vec<Line> {
    lines.sort();
    lines
}

#[tokio::test]
async fn two_hundred_customers_preview_then_finalize_then_a_second_run_bills_nothing() {
    // GIVEN 200 customers with mixed contracts and parked charges
    let aws = local_clients().await;
    let run = LocalRun::new(&aws, isolated_entity()).await;
    let customers = seed(&run).await;
    let due: Vec<&Customer> = customers.iter().filter(|c| !c.lines.is_empty()).collect();
    assert!(
        due.len() > 150 && due.len() < CUSTOMERS,
        "the fixture has both: {}",
        due.len()
    );

    // WHEN a preview runs for 1 July
    let preview = run
        .run(RunRequest {
            run_date: Some(run_date()),
            mode: Some(RunMode::Preview),
            ..RunRequest::default()
        })
        .await;

    // THEN it is complete, shows every due customer as expected, and changed nothing
    assert_eq!(preview.status, RunStatus::Completed);
    let outcome = preview
        .outcome
        .clone()
        .expect("a completed run has an outcome");
    assert_eq!(outcome.customers, due.len());
    assert_eq!(outcome.invoices, due.len());
    assert!(outcome.failures.is_empty(), "{:?}", outcome.failures);
    let files = RunFiles::new(aws.s3.clone(), resource("DOCUMENTS_BUCKET"));
    let shown: Preview = files
        .get_json(&preview_json_key(&preview.run_id))
        .await
        .unwrap()
        .expect("preview.json is written");
    let by_account: BTreeMap<&AccountId, &billing_run::preview::PreviewCustomer> =
        shown.customers.iter().map(|c| (&c.account_id, c)).collect();
    for customer in &due {
        let entry = by_account[&customer.account.id];
        assert_eq!(entry.invoices.len(), 1);
        let lines: Vec<Line> = entry.invoices[0]
            .lines
            .iter()
            .map(|l| (l.period_start.zip(l.period_end), l.net))
            .collect();
        assert_eq!(
            sorted(lines),
            sorted(customer.lines.clone()),
            "{}",
            customer.account.id
        );
        assert_eq!(entry.invoices[0].total, customer.expected_gross());
    }
    let csv = aws
        .s3
        .get_object()
        .bucket(resource("DOCUMENTS_BUCKET"))
        .key(preview_csv_key(&preview.run_id))
        .send()
        .await
        .expect("preview.csv is written");
    let csv = String::from_utf8(csv.body.collect().await.unwrap().into_bytes().to_vec()).unwrap();
    let rows = csv.lines().count() - 1;
    assert_eq!(rows, due.iter().map(|c| c.lines.len()).sum::<usize>());
    let counter = run
        .entity
        .series_for(billing_domain::numbering::DocumentType::Invoice)
        .unwrap()
        .counter_key(&run.entity.id, run_date());
    assert_eq!(
        run.store.counter_value(&counter).await.unwrap(),
        0,
        "a preview numbers nothing"
    );
    for customer in customers.iter().take(20) {
        let state = run
            .store
            .customer_state(&customer.account.id)
            .await
            .unwrap()
            .unwrap();
        assert!(
            state.subscriptions.iter().all(|s| s.version == 1),
            "a preview changes no contract"
        );
        assert_eq!(state.pending.len(), usize::from(customer.has_parked));
    }

    // WHEN the run is finalized from the preview
    let billed = run
        .run(RunRequest {
            from_preview: Some(preview.run_id.clone()),
            ..RunRequest::default()
        })
        .await;

    // THEN every due customer has exactly the invoice the preview showed
    let outcome = billed.outcome.clone().expect("completed");
    assert_eq!(outcome.invoices, due.len(), "{outcome:?}");
    assert!(outcome.failures.is_empty(), "{:?}", outcome.failures);
    let mut numbers = Vec::new();
    for customer in &customers {
        let invoices = run.invoices_of(&customer.account.id).await;
        if customer.lines.is_empty() {
            assert!(invoices.is_empty());
            let state = run
                .store
                .customer_state(&customer.account.id)
                .await
                .unwrap()
                .unwrap();
            assert_eq!(
                state.pending.len(),
                usize::from(customer.has_parked),
                "parked charges wait"
            );
            continue;
        }
        assert_eq!(invoices.len(), 1, "{}", customer.account.id);
        let invoice = invoices[0].invoice.content();
        let lines: Vec<Line> = invoice
            .lines
            .iter()
            .map(|l| {
                (
                    l.service_period.map(|p| (p.start, p.end)),
                    l.net_amount.amount(),
                )
            })
            .collect();
        assert_eq!(
            sorted(lines),
            sorted(customer.lines.clone()),
            "{}",
            customer.account.id
        );
        assert_eq!(
            invoice.totals.gross_total.amount(),
            customer.expected_gross()
        );
        assert_eq!(invoice.issue_date, run_date());
        assert_eq!(
            invoices[0].document_status,
            billing_store::DocumentStatus::Pending
        );
        numbers.push(invoices[0].invoice.number().to_string());
        let state = run
            .store
            .customer_state(&customer.account.id)
            .await
            .unwrap()
            .unwrap();
        assert!(state.pending.is_empty(), "parked charges are billed");
    }
    numbers.sort();
    let expected: Vec<String> = (1..=due.len()).map(|n| format!("RE-2026-{n:06}")).collect();
    assert_eq!(numbers, expected, "numbers are gapless and unique");

    // WHEN the same date is run again
    let again = run
        .run(RunRequest {
            run_date: Some(run_date()),
            ..RunRequest::default()
        })
        .await;

    // THEN nothing is created
    assert_eq!(again.outcome.expect("completed").invoices, 0);
    assert_eq!(
        run.store.counter_value(&counter).await.unwrap(),
        due.len() as u64
    );
}

#[tokio::test]
async fn a_run_from_a_preview_bills_nothing_for_a_customer_changed_since() {
    let aws = local_clients().await;
    let run = LocalRun::new(&aws, isolated_entity()).await;
    let steady = consumer(&run.entity, "Steady GmbH");
    let changing = consumer(&run.entity, "Changing GmbH");
    for account in [&steady, &changing] {
        let (contract, _) = contract(0, &account.id, Decimal::from(10), Decimal::ONE);
        run.store
            .seed_customer(account, &[contract], &[], chrono::Utc::now())
            .await
            .unwrap();
    }
    let preview = run
        .run(RunRequest {
            run_date: Some(run_date()),
            mode: Some(RunMode::Preview),
            ..RunRequest::default()
        })
        .await;
    // A contract is added and a charge parked for one customer after the preview.
    let (batch, charges, _) = parked(&changing.id);
    let (extra, _) = contract(4, &changing.id, Decimal::from(10), Decimal::ONE);
    run.store
        .seed_contracts(
            &changing,
            &[extra],
            &[(batch.clone(), charges)],
            chrono::Utc::now(),
        )
        .await
        .expect("contract and charge are stored");

    let billed = run
        .run(RunRequest {
            from_preview: Some(preview.run_id.clone()),
            ..RunRequest::default()
        })
        .await;
    let outcome = billed.outcome.unwrap();
    assert_eq!(outcome.invoices, 1);
    assert_eq!(outcome.failures.len(), 1);
    let failure = &outcome.failures[0];
    assert_eq!(failure.account_id, changing.id);
    assert_eq!(failure.code, "changed_since_preview");
    assert!(failure.reason.contains("was added"), "{}", failure.reason);
    assert!(failure.reason.contains(&batch), "{}", failure.reason);
    assert!(run.invoices_of(&changing.id).await.is_empty());
    assert_eq!(run.invoices_of(&steady.id).await.len(), 1);
}
