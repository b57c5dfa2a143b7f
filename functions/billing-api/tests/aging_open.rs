//! Today's receivables aging reads what is open (issue 20): the sparse
//! `OpenInvoices` index holds an invoice while something is open on it,
//! and the writers that pay, cancel or write it off take it out, so the
//! aging's reads follow the open invoices, not the seller's history. A
//! past day is still rebuilt from the histories (issue 24).

mod common;

use billing_api::handler::handle;
use billing_domain::party::CustomerKind;
use billing_store::BillingStore;
use billing_tests::billing::{customer, invoice, stored_seller};
use billing_tests::counting::{RequestCounter, counting_dynamodb};
use billing_tests::{drop_scratch_table, local_clients, scratch_billing_table};
use common::{Who, etag, json, pay, request};
use rust_decimal::Decimal;
use serde_json::json;

/// The items DynamoDB reads for the seller's EUR partition of
/// `OpenInvoices` (its `ScannedCount`).
async fn open_index(
    aws: &billing_lambda::aws::AwsClients,
    table: &str,
    entity: &billing_domain::ids::BillingEntityId,
) -> i32 {
    aws.dynamodb
        .query()
        .table_name(table)
        .index_name("OpenInvoices")
        .key_condition_expression("open_key = :k")
        .expression_attribute_values(
            ":k",
            aws_sdk_dynamodb::types::AttributeValue::S(billing_store::keys::open_invoices(
                entity, "EUR",
            )),
        )
        .send()
        .await
        .expect("the index can be read")
        .scanned_count()
}

#[tokio::test]
async fn todays_aging_reads_only_the_open_invoices_and_a_past_day_stays_right() {
    // GIVEN on a table of its own (clean counts): four invoices of 4 May
    let aws = local_clients().await;
    let table = scratch_billing_table(&aws).await;
    let store = BillingStore::new(aws.dynamodb.clone(), &table);
    let entity = stored_seller(&store).await;
    let account = customer(&entity.id, CustomerKind::Business);
    let issued = common::day("2026-05-04");
    let mut made = Vec::new();
    for net in [10_000, 20_000, 5_000, 1_000] {
        made.push(invoice(&store, &entity, &account, issued, Decimal::new(net, 2)).await);
    }
    let id = |i: usize| made[i].content().id.clone();
    // one paid in full (119.00), one partly (38.00 of 238.00), one left
    // open (59.50), one cancelled (11.90)
    pay(&store, &id(0), "2026-05-20", "119.00").await;
    pay(&store, &id(1), "2026-05-20", "38.00").await;
    let counter = RequestCounter::default();
    let state = common::state_on(&entity, Some(counting_dynamodb(&counter).await), &table).await;
    let path = format!("/v1/invoices/{}", id(3));
    let tag = etag(&handle(&state, request(Who::Billing, "GET", &path, None, None)).await);
    let cancel = handle(
        &state,
        request(
            Who::Billing,
            "POST",
            &format!("{path}/cancellation"),
            Some(&json!({"reason": "billed twice"})),
            Some(&tag),
        ),
    )
    .await;
    assert!(cancel.status().is_success(), "{:?}", cancel.body());

    // WHEN sales reads today's aging
    counter.take();
    let response = handle(
        &state,
        request(
            Who::Sales,
            "GET",
            "/v1/receivables/aging?currency=EUR",
            None,
            None,
        ),
    )
    .await;
    let counts = counter.take();
    // THEN it is what is open: the partly paid and the open invoice
    assert_eq!(response.status(), 200);
    let aging = json(&response);
    assert_eq!(aging["total"]["amount"], "259.50", "{aging}");
    assert_eq!(
        aging["counts"]
            .as_array()
            .map(|c| c.iter().filter_map(|n| n.as_u64()).sum::<u64>()),
        Some(2)
    );
    // AND it read them with one Query of the open invoices' index, which
    // holds those two and nothing else of the seller's
    assert_eq!(counts.total(), 1, "{counts:?}");
    assert_eq!(counts.of("Query"), 1, "{counts:?}");
    assert_eq!(open_index(&aws, &table, &entity.id).await, 2);

    // AND a day before the payments and the cancellation shows all four
    let response = handle(
        &state,
        request(
            Who::Sales,
            "GET",
            "/v1/receivables/aging?currency=EUR&as_of=2026-05-10",
            None,
            None,
        ),
    )
    .await;
    assert_eq!(json(&response)["total"]["amount"], "428.40");

    // AND paying the rest takes the partly paid invoice out of the index
    pay(&store, &id(1), "2026-05-21", "200.00").await;
    counter.take();
    let response = handle(
        &state,
        request(
            Who::Sales,
            "GET",
            "/v1/receivables/aging?currency=EUR",
            None,
            None,
        ),
    )
    .await;
    assert_eq!(json(&response)["total"]["amount"], "59.50");
    assert_eq!(open_index(&aws, &table, &entity.id).await, 1);
    drop_scratch_table(&aws, &table).await;
}
