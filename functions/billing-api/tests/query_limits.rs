//! With 5,000 invoices stored, every list reads one Query page and no
//! more: a page of 50 invoices costs at most 2 DynamoDB requests and reads
//! about 50 items (counted by an SDK interceptor), never a Scan.

mod common;

use std::time::Instant;

use billing_api::handler::handle;
use billing_domain::party::CustomerKind;
use billing_store::BillingStore;
use billing_tests::billing::{customer, invoice, stored_seller};
use billing_tests::counting::{RequestCounter, counting_dynamodb};
use billing_tests::{drop_scratch_table, local_clients, scratch_billing_table, unique_id};
use chrono::{Days, NaiveDate};
use common::{Who, json, request};
use rust_decimal::Decimal;

const INVOICES: usize = 5_000;

#[tokio::test]
async fn a_page_of_50_of_5000_invoices_is_one_query_of_50_items() {
    let aws = local_clients().await;
    // A table of its own: 5,000 invoices in the shared one would slow every
    // later test that queries an index (the emulator walks the table).
    let table = scratch_billing_table(&aws).await;
    let store = BillingStore::new(aws.dynamodb.clone(), &table);
    let entity = stored_seller(&store).await;
    let account = customer(&entity.id, CustomerKind::Business);
    let first_day = NaiveDate::from_ymd_opt(2020, 1, 1).expect("a date");
    let template = invoice(&store, &entity, &account, first_day, Decimal::new(9_900, 2)).await;
    // 4,999 more, the way the finalizing transaction writes them, in
    // batches of 25 (BatchWriteItem).
    let template = serde_json::to_value(&template).expect("an invoice encodes");
    let invoices: Vec<billing_domain::invoice::Invoice> = (1..INVOICES)
        .map(|i| {
            let mut json = template.clone();
            let issued = first_day + Days::new(i as u64 / 4);
            json["content"]["id"] = unique_id("inv").into();
            json["number"] = format!("RE-LOAD-{i:06}").into();
            json["content"]["issue_date"] = issued.to_string().into();
            json["content"]["due_date"] = (issued + Days::new(14)).to_string().into();
            json["content"]["references"]["payment_reference"] = json["number"].clone();
            serde_json::from_value(json).expect("an invoice decodes")
        })
        .collect();
    let started = Instant::now();
    let requests = store.seed_invoices(&invoices).await.expect("seeded");
    println!(
        "seeded {} invoices with {requests} BatchWriteItem requests in {:.1} s",
        invoices.len(),
        started.elapsed().as_secs_f64()
    );

    let counter = RequestCounter::default();
    let state = common::state_on(&entity, Some(counting_dynamodb(&counter).await), &table).await;
    for list in [
        format!("/v1/accounts/{}/invoices", account.id),
        "/v1/invoices".to_owned(),
    ] {
        // WHEN sales reads the first two pages of 50
        let mut cursor: Option<String> = None;
        let mut seen = std::collections::BTreeSet::new();
        for _ in 0..2 {
            let path = match &cursor {
                Some(c) => format!("{list}?limit=50&cursor={c}"),
                None => format!("{list}?limit=50"),
            };
            counter.take();
            let response = handle(&state, request(Who::Sales, "GET", &path, None, None)).await;
            let counts = counter.take();
            assert_eq!(response.status(), 200, "{path}");
            let body = json(&response);
            let items = body["items"].as_array().expect("items");
            // THEN each page is 50 invoices, newest first, from at most 2 requests
            assert_eq!(items.len(), 50, "{path}");
            for item in items {
                assert!(seen.insert(item["invoice_id"].as_str().unwrap_or("").to_owned()));
            }
            assert!(counts.total() <= 2, "{path}: {counts:?}");
            assert_eq!(counts.of("Query"), 1, "{path}: {counts:?}");
            assert_eq!(counts.of("Scan"), 0, "{path}: {counts:?}");
            // the page's 50 index items, plus the account checked by id
            assert!(counts.items_read <= 51, "{path}: {counts:?}");
            cursor = body["next_cursor"].as_str().map(str::to_owned);
            assert!(cursor.is_some(), "{path}: more pages follow");
        }
        let newest = seen.len();
        assert_eq!(newest, 100);
    }
    // AND filters keep reading one page: a date range is a key condition
    counter.take();
    let path = format!(
        "/v1/accounts/{}/invoices?limit=200&issued_from=2022-01-01&issued_to=2022-01-31",
        account.id
    );
    let response = handle(&state, request(Who::Sales, "GET", &path, None, None)).await;
    let counts = counter.take();
    let items = json(&response)["items"].as_array().map(Vec::len);
    assert_eq!(items, Some(124), "4 invoices a day for 31 days");
    assert!(counts.items_read <= 125, "{counts:?}");
    drop_scratch_table(&aws, &table).await;
}
