//! Payment behaviour and aging through the API equal hand-computed values
//! for 12 invoices and 9 payments (the same figures as the domain's
//! fixture in `shared/billing-domain/tests/receivables.rs`), including
//! invoices exactly 30, 31, 60, 61 and 90 days overdue on 2026-06-30.

mod common;

use billing_api::handler::handle;
use billing_domain::matching::MatchRule;
use billing_domain::money::{Currency, Money};
use billing_domain::party::CustomerKind;
use billing_store::{BillingStore, EntryBooked, EntryBooking, InvoiceBooking};
use billing_tests::billing::{customer, invoice, stored_seller};
use billing_tests::{local_clients, resource, unique_id};
use chrono::{Days, NaiveDate, Utc};
use common::{Who, json, request};
use serde_json::Value;

/// Due date, net (gross is net + 19 %), payments (value date, amount),
/// dunning level.
type Fixture = (
    &'static str,
    &'static str,
    &'static [(&'static str, &'static str)],
    u32,
);

fn day(text: &str) -> NaiveDate {
    text.parse().expect("a date")
}

fn eur(text: &str) -> Money {
    Money::new(text.parse().expect("an amount"), Currency::EUR)
}

fn money(value: &Value) -> Money {
    serde_json::from_value(value.clone()).expect("money")
}

#[tokio::test]
async fn behaviour_and_aging_equal_the_hand_computed_fixture() {
    let aws = local_clients().await;
    let store = BillingStore::new(aws.dynamodb.clone(), resource("BILLING_TABLE"));
    let entity = stored_seller(&store).await;
    let account = customer(&entity.id, CustomerKind::Business);
    // (due date, net; gross is net + 19 %, payments (value date, amount), dunning level)
    let fixture: [Fixture; 12] = [
        ("2026-01-19", "100.00", &[("2026-01-15", "119.00")], 0),
        (
            "2026-02-16",
            "200.00",
            &[("2026-02-10", "80.00"), ("2026-02-26", "158.00")],
            1,
        ),
        (
            "2026-03-16",
            "300.00",
            &[("2026-03-10", "150.00"), ("2026-03-20", "207.00")],
            0,
        ),
        ("2026-04-15", "400.00", &[("2026-04-15", "476.00")], 0),
        ("2026-06-15", "120.00", &[("2026-06-12", "142.80")], 0),
        ("2026-05-31", "110.00", &[], 0), // 30 days overdue
        ("2026-05-30", "210.00", &[("2026-06-05", "60.00")], 1), // 31
        ("2026-05-01", "160.00", &[], 1), // 60
        ("2026-04-30", "260.00", &[("2026-05-10", "100.00")], 2), // 61
        ("2026-04-01", "90.00", &[], 2),  // 90
        ("2026-03-27", "70.00", &[], 3),  // 95
        ("2026-07-10", "500.00", &[], 0), // not yet due
    ];
    let mut payments = 0;
    for (due, net, paid, level) in fixture {
        let issued = day(due) - Days::new(14);
        let stored = invoice(
            &store,
            &entity,
            &account,
            issued,
            net.parse().expect("a net"),
        )
        .await;
        assert_eq!(stored.content().due_date, day(due));
        for (value_date, amount) in paid {
            let booking = EntryBooking {
                statement_id: unique_id("stmt"),
                entry_id: "E1".into(),
                invoices: vec![InvoiceBooking {
                    invoice_id: stored.content().id.clone(),
                    amount: eur(amount),
                }],
                credit: None,
                value_date: day(value_date),
                rule: MatchRule::CreditorReference,
                reason: "fixture".into(),
                booked_at: Utc::now(),
            };
            let booked = store.book_entry(&booking).await.expect("booked");
            assert!(matches!(booked, EntryBooked::Booked(_)), "{booked:?}");
            payments += 1;
        }
        if level > 0 {
            let (pk, sk) = billing_store::keys::invoice(&stored.content().id);
            aws.dynamodb
                .update_item()
                .table_name(store.table())
                .key("pk", aws_sdk_dynamodb::types::AttributeValue::S(pk))
                .key("sk", aws_sdk_dynamodb::types::AttributeValue::S(sk))
                .update_expression("SET dunning_level = :level")
                .expression_attribute_values(
                    ":level",
                    aws_sdk_dynamodb::types::AttributeValue::N(level.to_string()),
                )
                .send()
                .await
                .expect("level set");
        }
    }
    assert_eq!(payments, 9);
    let state = common::state(&entity, None).await;

    // WHEN sales asks for the customer's payment behaviour on 2026-06-30
    let path = format!(
        "/v1/accounts/{}/payment-behaviour?as_of=2026-06-30",
        account.id
    );
    let response = handle(&state, request(Who::Sales, "GET", &path, None, None)).await;
    assert_eq!(response.status(), 200);
    let b = json(&response);
    // THEN every figure is the hand-computed one
    assert_eq!(
        (b["invoices"].as_u64(), b["settled"].as_u64()),
        (Some(12), Some(5))
    );
    // (10 + 24 + 18 + 14 + 11) / 5 and (-4 + 10 + 4 + 0 - 3) / 5
    assert_eq!(b["average_days_to_pay_from_issue"], "15.4");
    assert_eq!(b["average_days_to_pay_from_due"], "1.4");
    // on time: 3 of 5 settled + 6 open overdue
    assert_eq!(b["share_paid_on_time"], "0.2727");
    // (30 + 31 + 60 + 61 + 90 + 95) / 6
    assert_eq!(b["average_days_overdue"], "61.2");
    assert_eq!(money(&b["open_balance"][0]), eur("1506.00"));
    assert_eq!(money(&b["overdue_balance"][0]), eur("911.00"));
    assert_eq!(b["highest_dunning_level"], 3);
    let trend = b["trend"].as_array().expect("a trend");
    assert_eq!(trend.len(), 12);
    assert_eq!(trend[6]["month"], "2026-01");
    assert_eq!(trend[7]["average_days_from_due"], "10.0");
    assert_eq!(trend[11]["on_time"], 1);

    // WHEN billing asks for the seller's EUR aging on the same day
    let response = handle(
        &state,
        request(
            Who::Billing,
            "GET",
            "/v1/receivables/aging?currency=EUR&as_of=2026-06-30",
            None,
            None,
        ),
    )
    .await;
    assert_eq!(response.status(), 200);
    let aged = json(&response);
    let buckets = &aged["buckets"];
    assert_eq!(money(&buckets["current"]), eur("595.00"));
    assert_eq!(money(&buckets["days_1_30"]), eur("130.90")); // exactly 30
    assert_eq!(money(&buckets["days_31_60"]), eur("380.30")); // 31 (189.90 open) and 60
    assert_eq!(money(&buckets["days_61_90"]), eur("316.50")); // 61 (209.40 open) and 90
    assert_eq!(money(&buckets["over_90"]), eur("83.30"));
    assert_eq!(aged["counts"], serde_json::json!([1, 1, 2, 2, 1]));
    assert_eq!(money(&aged["total"]), eur("1506.00"));
}
