//! The revenue routes on the local AWS: a customer with a yearly and a
//! monthly licence and their January invoice, read back as MRR, ARR and
//! deferred revenue (JSON and CSV), with the figures computed by hand; bad
//! parameters are refused naming the field.

mod common;

use billing_api::handler::handle;
use billing_domain::ids::InvoiceId;
use billing_domain::invoice::{InvoiceDraft, InvoiceRequest};
use billing_domain::item::BillableLine;
use billing_domain::item::Item;
use billing_domain::money::{Currency, Money};
use billing_domain::numbering::InvoiceNumber;
use billing_domain::party::CustomerKind;
use billing_domain::period::ServicePeriod;
use billing_domain::subscription::Subscription;
use billing_store::BillingStore;
use billing_tests::billing::{customer, stored_seller};
use billing_tests::run::monthly_contract;
use billing_tests::{local_clients, resource, unique_id};
use chrono::{NaiveDate, Utc};
use common::{Who, json, request};
use rust_decimal::Decimal;
use serde_json::Value;

fn day(text: &str) -> NaiveDate {
    text.parse().expect("a date")
}

fn amount(value: &Value) -> String {
    value["amount"].as_str().expect("an amount").to_owned()
}

fn line(text: &str, net: i64, start: &str, end: &str) -> BillableLine {
    BillableLine::new(Item::new(
        text,
        Decimal::ONE,
        Money::new(Decimal::from(net), Currency::EUR),
    ))
    .with_period(ServicePeriod::new(day(start), day(end)).expect("a period"))
}

#[tokio::test]
async fn mrr_and_deferred_revenue_through_the_api() {
    let aws = local_clients().await;
    let store = BillingStore::new(aws.dynamodb.clone(), resource("BILLING_TABLE"));
    let entity = stored_seller(&store).await;
    let account = customer(&entity.id, CustomerKind::Business);
    // A monthly licence of 100.00 and a yearly one of 1200.00, both in
    // advance from 1 Jan 2026.
    let monthly = monthly_contract(&account.id, "100.00", Some(day("2026-01-31")));
    let mut yearly: Subscription =
        monthly_contract(&account.id, "1200.00", Some(day("2026-12-31")));
    yearly.items[0].interval = billing_domain::period::BillingInterval::yearly();
    store
        .seed_customer(&account, &[monthly, yearly], &[], Utc::now())
        .await
        .expect("customer stored");
    // Their invoice of 1 Jan: the year and January.
    let draft = InvoiceDraft::build(
        &entity,
        &account,
        InvoiceRequest::new(
            InvoiceId::new(unique_id("inv")),
            day("2026-01-01"),
            vec![
                line("Jahreslizenz", 1200, "2026-01-01", "2026-12-31"),
                line("Lizenz", 100, "2026-01-01", "2026-01-31"),
            ],
        ),
    )
    .expect("a valid invoice");
    let invoice = draft.finalize(InvoiceNumber::new(unique_id("RE")));
    store.seed_invoices(&[invoice]).await.expect("stored");
    let state = common::state(&entity, None).await;

    // MRR: 100 + 1200 / 12 = 200.00 from January, all new; ARR 2400.00;
    // February opens and closes at 200.00.
    let response = handle(
        &state,
        request(
            Who::Sales,
            "GET",
            "/v1/revenue/mrr?from=2026-01&to=2026-02",
            None,
            None,
        ),
    )
    .await;
    assert_eq!(response.status(), 200);
    let body = json(&response);
    let items = body["items"].as_array().expect("items");
    assert_eq!(items.len(), 2);
    assert_eq!(items[0]["month"], "2026-01");
    assert_eq!(amount(&items[0]["new"]), "200.00");
    assert_eq!(amount(&items[0]["mrr"]), "200.00");
    assert_eq!(amount(&items[0]["arr"]), "2400.00");
    assert_eq!(items[0]["customers"], 1);
    assert_eq!(amount(&items[1]["opening_mrr"]), "200.00");
    assert_eq!(amount(&items[1]["new"]), "0.00");

    // Deferred in January: the year's 1200.00 is earned over 365 days; 334
    // remain after 31 Jan: 1200 × 334 / 365 = 1098.082… → 1098.08. Billed
    // 1300.00, earned 1300.00 − 1098.08 = 201.92. One customer row, then
    // the total.
    let path = format!(
        "/v1/revenue/deferred?month=2026-01&account_id={}",
        account.id
    );
    let response = handle(&state, request(Who::Billing, "GET", &path, None, None)).await;
    assert_eq!(response.status(), 200);
    let body = json(&response);
    let rows = body["items"].as_array().expect("items");
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["account_id"], account.id.as_str());
    assert_eq!(
        [
            amount(&rows[0]["opening"]),
            amount(&rows[0]["billed"]),
            amount(&rows[0]["earned"]),
            amount(&rows[0]["closing"])
        ],
        ["0.00", "1300.00", "201.92", "1098.08"]
    );
    assert_eq!(rows[1]["account_id"], Value::Null);
    assert_eq!(amount(&rows[1]["closing"]), "1098.08");

    // The same as CSV.
    let mut csv_request = request(Who::Sales, "GET", &path, None, None);
    csv_request.headers_mut().insert(
        lambda_http::http::header::ACCEPT,
        lambda_http::http::HeaderValue::from_static("text/csv"),
    );
    let response = handle(&state, csv_request).await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "text/csv; charset=utf-8"
    );
    let text = std::str::from_utf8(response.body().as_ref()).expect("UTF-8");
    let lines: Vec<&str> = text.split("\r\n").collect();
    assert_eq!(
        lines[0],
        "month,account_id,currency,opening,billed,earned,closing"
    );
    assert_eq!(
        lines[1],
        format!("2026-01,\"{}\",EUR,0.00,1300.00,201.92,1098.08", account.id)
    );

    // February: 1098.08 opens; 334 − 28 = 306 days remain after 28 Feb:
    // 1200 × 306 / 365 = 1006.027… → 1006.03; earned 1098.08 − 1006.03 = 92.05.
    let path = format!(
        "/v1/revenue/deferred?month=2026-02&account_id={}",
        account.id
    );
    let response = handle(&state, request(Who::Sales, "GET", &path, None, None)).await;
    let rows = json(&response)["items"].clone();
    assert_eq!(
        [
            amount(&rows[0]["opening"]),
            amount(&rows[0]["billed"]),
            amount(&rows[0]["earned"]),
            amount(&rows[0]["closing"])
        ],
        ["1098.08", "0.00", "92.05", "1006.03"]
    );

    // Bad parameters: named, nothing read.
    for (path, field) in [
        ("/v1/revenue/deferred?month=2026-13", "month"),
        ("/v1/revenue/mrr?from=2026-05&to=2026-01", "from"),
        ("/v1/revenue/mrr?from=2020-01&to=2026-01", "to"),
    ] {
        let response = handle(&state, request(Who::Sales, "GET", path, None, None)).await;
        assert_eq!(response.status(), 400, "{path}");
        assert!(json(&response).to_string().contains(field), "{path}");
    }
    let response = handle(
        &state,
        request(
            Who::Sales,
            "GET",
            "/v1/revenue/deferred?account_id=acc-of-nobody",
            None,
            None,
        ),
    )
    .await;
    assert_eq!(response.status(), 404);
}
