//! Bench of today's receivables aging over a long paid history
//! (`make bench-aging`, not part of `make test`): a seller with
//! `AGING_PAID` paid invoices (default 100,000) and `AGING_OPEN` open ones
//! (default 10,000), seeded straight into a scratch copy of the billing
//! table with BatchWriteItem (25 per request, as the finalizing
//! transaction writes them; the paid ones as the payment path leaves
//! them). Then one `GET /v1/receivables/aging` through the handler, with
//! the DynamoDB requests and items read counted by an SDK interceptor, and
//! for comparison the read the aging made before the `OpenInvoices` index:
//! the seller's whole `ByEntity` index filtered to open invoices (counted
//! by arithmetic, or run with `AGING_COMPARE=1`).
//!
//! The emulator walks a table for every index Query, so its times grow
//! with the table whatever the index; the requests and items read are what
//! carry over to DynamoDB.

use std::error::Error;
use std::time::Instant;

use aws_sdk_dynamodb::types::AttributeValue;
use billing_api::handler::handle;
use billing_domain::invoice::Invoice;
use billing_domain::party::CustomerKind;
use billing_lambda::aws::{AwsClients, load_sdk_config};
use billing_lambda::config;
use billing_store::BillingStore;
use billing_tests::billing::{customer, invoice, stored_seller};
use billing_tests::counting::{RequestCounter, counting_dynamodb};
use billing_tests::{drop_scratch_table, scratch_billing_table, unique_id};
use chrono::{Days, NaiveDate};
use lambda_http::request::RequestContext;
use lambda_http::{Body, RequestExt};

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let paid: usize = config::optional("AGING_PAID")
        .map(|v| v.parse())
        .transpose()?
        .unwrap_or(100_000);
    let open: usize = config::optional("AGING_OPEN")
        .map(|v| v.parse())
        .transpose()?
        .unwrap_or(10_000);
    let aws = AwsClients::new(&load_sdk_config().await);
    let table = scratch_billing_table(&aws).await;
    let result = bench(&aws, &table, paid, open).await;
    drop_scratch_table(&aws, &table).await;
    result
}

async fn bench(
    aws: &AwsClients,
    table: &str,
    paid: usize,
    open: usize,
) -> Result<(), Box<dyn Error>> {
    let store = BillingStore::new(aws.dynamodb.clone(), table);
    let entity = stored_seller(&store).await;
    let account = customer(&entity.id, CustomerKind::Business);
    let first_day = NaiveDate::from_ymd_opt(2020, 1, 1).ok_or("a date")?;
    let template = invoice(
        &store,
        &entity,
        &account,
        first_day,
        rust_decimal::Decimal::new(9_900, 2),
    )
    .await;
    let template = serde_json::to_value(&template)?;
    let make = |i: usize| -> Result<Invoice, serde_json::Error> {
        let mut json = template.clone();
        let issued = first_day + Days::new(i as u64 / 50);
        json["content"]["id"] = unique_id("inv").into();
        json["number"] = format!("RE-AGING-{i:07}").into();
        json["content"]["issue_date"] = issued.to_string().into();
        json["content"]["due_date"] = (issued + Days::new(14)).to_string().into();
        json["content"]["references"]["payment_reference"] = json["number"].clone();
        serde_json::from_value(json)
    };
    let started = Instant::now();
    let mut requests = 0;
    for (range, paid_history) in [(0..paid, true), (paid..paid + open, false)] {
        let indices: Vec<usize> = range.collect();
        for chunk in indices.chunks(5_000) {
            let invoices = chunk
                .iter()
                .map(|&i| make(i))
                .collect::<Result<Vec<_>, _>>()?;
            requests += if paid_history {
                store.seed_paid_invoices(&invoices).await?
            } else {
                store.seed_invoices(&invoices).await?
            };
        }
    }
    println!(
        "seeded {paid} paid and {open} open invoices (+1 open template) with {requests} BatchWriteItem requests in {:.0} s",
        started.elapsed().as_secs_f64()
    );

    let counter = RequestCounter::default();
    let dynamodb = counting_dynamodb(&counter).await;
    let state = billing_api::handler::ApiState {
        store: BillingStore::new(dynamodb.clone(), table),
        entity: entity.id.clone(),
        s3: aws.s3.clone(),
        documents_bucket: config::required("DOCUMENTS_BUCKET")?,
        sqs: aws.sqs.clone(),
        delivery_queue_url: config::required("DELIVERY_QUEUE_URL")?,
        run_queue_url: config::required("INVOICE_RUN_QUEUE_URL")?,
    };
    let context = billing_tests::oidc::authorizer_context(
        [
            ("sub".to_owned(), "bench".to_owned()),
            ("cognito:groups".to_owned(), "[sales]".to_owned()),
        ]
        .into(),
    );
    let request = lambda_http::http::Request::builder()
        .method("GET")
        .uri("/v1/receivables/aging?currency=EUR")
        .body(Body::Empty)?
        .with_request_context(RequestContext::ApiGatewayV2(context));
    counter.take();
    let started = Instant::now();
    let response = handle(&state, request).await;
    let elapsed = started.elapsed();
    let counts = counter.take();
    let body: serde_json::Value = serde_json::from_slice(response.body().as_ref())?;
    println!(
        "aging (OpenInvoices): HTTP {}, total {} {}, {} DynamoDB requests ({:?}), {} items read, {:.2} s",
        response.status().as_u16(),
        body["total"]["amount"],
        body["total"]["currency"],
        counts.total(),
        counts.requests,
        counts.items_read,
        elapsed.as_secs_f64()
    );

    // The read before: every invoice of the seller through ByEntity, 200
    // a page, filtered to open ones (with AGING_COMPARE=1: on the emulator
    // each of its pages walks the whole table).
    if config::optional("AGING_COMPARE").is_none() {
        println!(
            "before (ByEntity filtered, not run): {} Query requests reading {} items",
            (paid + open + 1).div_ceil(200),
            paid + open + 1
        );
        return Ok(());
    }
    let partition = billing_store::keys::entity_invoices(&entity.id);
    counter.take();
    let started = Instant::now();
    let (mut start, mut found) = (None, 0usize);
    loop {
        let page = dynamodb
            .query()
            .table_name(table)
            .index_name("ByEntity")
            .key_condition_expression("entity_key = :pk")
            .filter_expression("#status IN (:open, :partly) AND #currency = :currency")
            .expression_attribute_names("#status", "status")
            .expression_attribute_names("#currency", "currency")
            .expression_attribute_values(":pk", AttributeValue::S(partition.clone()))
            .expression_attribute_values(":open", AttributeValue::S("open".into()))
            .expression_attribute_values(":partly", AttributeValue::S("partially_paid".into()))
            .expression_attribute_values(":currency", AttributeValue::S("EUR".into()))
            .limit(200)
            .set_exclusive_start_key(start)
            .send()
            .await?;
        found += page.items().len();
        start = page.last_evaluated_key;
        if start.is_none() {
            break;
        }
    }
    let counts = counter.take();
    println!(
        "before (ByEntity filtered): {found} open found, {} DynamoDB requests, {} items read, {:.2} s",
        counts.total(),
        counts.items_read,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
