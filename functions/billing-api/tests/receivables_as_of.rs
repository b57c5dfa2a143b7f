//! The aging for a past date through the staff API shows what was open on
//! that date: invoices paid, part-paid, credited, cancelled, returned and
//! issued after the date, booked through the store's own paths (bank
//! entries, a return, a credit note and a cancellation dated in the past),
//! checked at each month end of the test and today against hand-computed
//! buckets, for the seller and per customer (two customers, by name). The
//! same ledger as the domain's test in `billing_domain::receivables`, with
//! gross amounts (net + 19 %).

mod common;

use billing_api::handler::handle;
use billing_domain::correction::CreditSelection;
use billing_domain::ids::InvoiceId;
use billing_domain::money::Money;
use billing_domain::party::{CustomerAccount, CustomerKind};
use billing_domain::staff::StaffRole;
use billing_domain::tax::VatCategoryCode;
use billing_store::{Actor, BillingStore, CancelRequest, CreditNoteRequest};
use billing_tests::billing::{customer, invoice, stored_seller};
use billing_tests::{local_clients, resource, unique_id};
use chrono::{DateTime, Utc};
use common::{Who, day, eur, json, pay, request};
use rust_decimal::Decimal;
use serde_json::Value;

fn noon(text: &str) -> DateTime<Utc> {
    format!("{text}T10:00:00Z").parse().expect("a time")
}

fn clerk() -> Actor {
    Actor {
        user: unique_id("clerk"),
        role: StaffRole::Billing,
    }
}

async fn revision(store: &BillingStore, invoice: &InvoiceId) -> u64 {
    store
        .invoice_overview(invoice)
        .await
        .expect("read")
        .expect("stored")
        .revision
}

/// `[current, 1–30, 31–60, 61–90, over 90, total]` of an aging or one of
/// its customer rows.
fn amounts(figures: &Value) -> [Money; 6] {
    let money = |v: &Value| -> Money { serde_json::from_value(v.clone()).expect("money") };
    let b = &figures["buckets"];
    [
        money(&b["current"]),
        money(&b["days_1_30"]),
        money(&b["days_31_60"]),
        money(&b["days_61_90"]),
        money(&b["over_90"]),
        money(&figures["total"]),
    ]
}

/// One customer row: name, amounts, counts.
type CustomerRow = (String, [Money; 6], Value);

/// The amounts and counts of the aging on `as_of` through the API (read
/// by sales), and its customer rows in the order given, after checking
/// that the rows add up to the seller's figures.
async fn aging(
    state: &billing_api::handler::ApiState,
    as_of: &str,
) -> ([Money; 6], Value, Vec<CustomerRow>) {
    let path = format!("/v1/receivables/aging?currency=EUR&as_of={as_of}");
    let response = handle(state, request(Who::Sales, "GET", &path, None, None)).await;
    assert_eq!(response.status(), 200, "{as_of}");
    let body = json(&response);
    let seller = amounts(&body);
    let rows: Vec<CustomerRow> = body["customers"]
        .as_array()
        .expect("customer rows")
        .iter()
        .map(|row| {
            let name = row["name"].as_str().expect("a name").to_owned();
            (name, amounts(row), row["counts"].clone())
        })
        .collect();
    let mut columns = [eur("0.00"); 6];
    let mut counts = [0u64; 5];
    for (_, row, row_counts) in &rows {
        for (column, amount) in columns.iter_mut().zip(row) {
            *column = column.checked_add(*amount).expect("one currency");
        }
        for (i, count) in counts.iter_mut().enumerate() {
            *count += row_counts[i].as_u64().expect("a count");
        }
    }
    assert_eq!(columns, seller, "customer columns add up on {as_of}");
    assert_eq!(serde_json::json!(counts), body["counts"], "{as_of}");
    (seller, body["counts"].clone(), rows)
}

#[tokio::test]
async fn the_aging_of_a_past_date_shows_what_was_open_then() {
    let aws = local_clients().await;
    let store = BillingStore::new(aws.dynamodb.clone(), resource("BILLING_TABLE"));
    let entity = stored_seller(&store).await;
    // Two customers: J, A, C, D, E billed to the first, B, F, G to the
    // second.
    let account = customer(&entity.id, CustomerKind::Business);
    let other = CustomerAccount {
        name: "Beispiel Bau AG".to_owned(),
        ..customer(&entity.id, CustomerKind::Business)
    };
    let (first_name, other_name) = (account.name.clone(), other.name.clone());
    // Each invoice: 14 days to pay; gross = net × 1.19.
    let issue = |account: &CustomerAccount, date: &str, net: i64| {
        let (store, entity, account) = (&store, &entity, account.clone());
        let date = day(date);
        async move {
            invoice(store, entity, &account, date, Decimal::from(net))
                .await
                .content()
                .id
                .clone()
        }
    };
    let j = issue(&account, "2025-12-01", 100).await; // 119.00, due 15 Dec, never paid
    let a = issue(&account, "2026-01-05", 200).await; // 238.00, due 19 Jan
    let b = issue(&other, "2026-01-10", 300).await; // 357.00, due 24 Jan
    let c = issue(&account, "2026-01-15", 400).await; // 476.00, due 29 Jan
    let d = issue(&account, "2026-01-20", 500).await; // 595.00, due 3 Feb
    let e = issue(&account, "2026-02-01", 600).await; // 714.00, due 15 Feb
    let f = issue(&other, "2026-03-15", 700).await; // 833.00, due 29 Mar
    let g = issue(&other, "2026-04-10", 800).await; // 952.00, due 24 Apr
    let _ = &j;

    // A: paid in full on 10 Feb.
    pay(&store, &a, "2026-02-10", "238.00").await;
    // B: 57.00 on 20 Jan (300.00 left), 100.00 on 5 Mar (200.00 left).
    pay(&store, &b, "2026-01-20", "57.00").await;
    pay(&store, &b, "2026-03-05", "100.00").await;
    // C: a credit note of 100.00 net (119.00 gross) on 15 Feb, the rest
    // (357.00) paid on 20 Mar.
    let expected_revision = revision(&store, &c).await;
    store
        .credit_note(&CreditNoteRequest {
            invoice_id: c.clone(),
            expected_revision,
            actor: clerk(),
            reason: "Leistung teilweise nicht erbracht".into(),
            selection: CreditSelection::Amount {
                net: eur("100.00"),
                category: VatCategoryCode::S,
                rate: Decimal::from(19),
                description: None,
            },
            at: noon("2026-02-15"),
        })
        .await
        .expect("credited");
    pay(&store, &c, "2026-03-20", "357.00").await;
    // D: cancelled on 10 Mar.
    let expected_revision = revision(&store, &d).await;
    store
        .cancel_invoice(&CancelRequest {
            invoice_id: d.clone(),
            expected_revision,
            actor: clerk(),
            reason: "doppelt berechnet".into(),
            release_periods: false,
            at: noon("2026-03-10"),
        })
        .await
        .expect("cancelled");
    // E: paid on 20 Feb, the direct debit returned on 3 Mar.
    pay(&store, &e, "2026-02-20", "714.00").await;
    pay(&store, &e, "2026-03-03", "-714.00").await;
    let _ = (&f, &g);

    let state = common::state(&entity, None).await;
    let zero = eur("0.00");

    // 31 Jan: D not yet due → current 595.00. A (12 days), B (300.00 open,
    // 7 days), C (2 days) → 1–30: 238 + 300 + 476 = 1014.00. J 47 days →
    // 31–60: 119.00. E, F, G not issued. Total 1728.00.
    let (amounts, counts, customers) = aging(&state, "2026-01-31").await;
    assert_eq!(
        amounts,
        [
            eur("595.00"),
            eur("1014.00"),
            eur("119.00"),
            zero,
            zero,
            eur("1728.00")
        ]
    );
    assert_eq!(counts, serde_json::json!([1, 3, 1, 0, 0]));
    // Per customer: the first D current, A + C 1–30, J 31–60 (1428.00);
    // the other B 1–30 (300.00).
    assert_eq!(
        customers,
        [
            (
                first_name.clone(),
                [
                    eur("595.00"),
                    eur("714.00"),
                    eur("119.00"),
                    zero,
                    zero,
                    eur("1428.00")
                ],
                serde_json::json!([1, 2, 1, 0, 0])
            ),
            (
                other_name.clone(),
                [zero, eur("300.00"), zero, zero, zero, eur("300.00")],
                serde_json::json!([0, 1, 0, 0, 0])
            ),
        ]
    );

    // 28 Feb: A and E paid. C 476 − 119 credited = 357.00 (30 days), D
    // 595.00 (25 days) → 1–30: 952.00. B 300.00, 35 days → 31–60. J 75 days
    // → 61–90: 119.00. Total 1371.00.
    let (amounts, counts, _) = aging(&state, "2026-02-28").await;
    assert_eq!(
        amounts,
        [
            zero,
            eur("952.00"),
            eur("300.00"),
            eur("119.00"),
            zero,
            eur("1371.00")
        ]
    );
    assert_eq!(counts, serde_json::json!([0, 2, 1, 1, 0]));

    // 31 Mar: C paid, D cancelled, E returned (714.00, 44 days → 31–60),
    // F 2 days → 1–30: 833.00, B 200.00, 66 days → 61–90, J 106 days →
    // over 90. G not issued. Total 833 + 714 + 200 + 119 = 1866.00.
    let (amounts, counts, customers) = aging(&state, "2026-03-31").await;
    assert_eq!(
        amounts,
        [
            zero,
            eur("833.00"),
            eur("714.00"),
            eur("200.00"),
            eur("119.00"),
            eur("1866.00")
        ]
    );
    assert_eq!(counts, serde_json::json!([0, 1, 1, 1, 1]));
    // Per customer, largest first: the other F 1–30 and B 61–90
    // (1033.00), the first E 31–60 and J over 90 (833.00).
    assert_eq!(
        customers,
        [
            (
                other_name.clone(),
                [
                    zero,
                    eur("833.00"),
                    zero,
                    eur("200.00"),
                    zero,
                    eur("1033.00")
                ],
                serde_json::json!([0, 1, 0, 1, 0])
            ),
            (
                first_name.clone(),
                [
                    zero,
                    zero,
                    eur("714.00"),
                    zero,
                    eur("119.00"),
                    eur("833.00")
                ],
                serde_json::json!([0, 0, 1, 0, 1])
            ),
        ]
    );

    // Today (any day from 24 Jul 2026 on, when G is 91 days overdue): J,
    // B, E, F and G are open and all over 90 days:
    // 119 + 200 + 714 + 833 + 952 = 2818.00.
    let today = billing_api::routes::today().to_string();
    let (amounts, counts, customers) = aging(&state, &today).await;
    assert_eq!(
        amounts,
        [zero, zero, zero, zero, eur("2818.00"), eur("2818.00")]
    );
    assert_eq!(counts, serde_json::json!([0, 0, 0, 0, 5]));
    // The other B + F + G 1985.00, the first J + E 833.00.
    let totals: Vec<(&str, Money)> = customers
        .iter()
        .map(|(name, amounts, _)| (name.as_str(), amounts[5]))
        .collect();
    assert_eq!(
        totals,
        [
            (other_name.as_str(), eur("1985.00")),
            (first_name.as_str(), eur("833.00"))
        ]
    );
    // Yesterday is read from the recorded events, today from the open
    // invoices: the same figures (nothing happened today).
    let yesterday = (billing_api::routes::today() - chrono::Days::new(1)).to_string();
    let (amounts, _, _) = aging(&state, &yesterday).await;
    assert_eq!(amounts[5], eur("2818.00"));

    // The first customer's behaviour on 28 Feb: A (10 Feb) and E (20 Feb)
    // settled, E's return (3 Mar) not yet booked then; open J, C and D.
    let path = format!(
        "/v1/accounts/{}/payment-behaviour?as_of=2026-02-28",
        account.id
    );
    let response = handle(&state, request(Who::Sales, "GET", &path, None, None)).await;
    assert_eq!(response.status(), 200);
    let behaviour = json(&response);
    assert_eq!(behaviour["settled"], 2);
    // A: 36 days from issue, E: 19 → 27.5.
    assert_eq!(behaviour["average_days_to_pay_from_issue"], "27.5");
    let open: Money = serde_json::from_value(behaviour["open_balance"][0].clone()).expect("money");
    assert_eq!(open, eur("1071.00"));

    // A date that is no date is refused, naming the field.
    let response = handle(
        &state,
        request(
            Who::Sales,
            "GET",
            "/v1/receivables/aging?as_of=2026-02-30",
            None,
            None,
        ),
    )
    .await;
    assert_eq!(response.status(), 400);
    assert!(json(&response).to_string().contains("as_of"));
}
