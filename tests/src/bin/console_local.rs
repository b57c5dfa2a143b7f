//! The console's local stack (`make console`, `make test-console`,
//! `make bench-console`; started by `console/dev/stack.mjs` inside
//! `tools/local_aws.py run`): what AWS does between the functions, which
//! the emulator does not. Every half second it
//! - hands the invoice-run queue's batches to the real run worker, as the
//!   queue's Lambda trigger does (the staff API plans previews and their
//!   finalize runs onto that queue), and
//! - reads the newest page of the seller's invoices and credit notes and has
//!   the real documents service render and archive each one still pending,
//!   as the table's stream pipe and `invoice-pdf` do.
//!
//! So a run a clerk previews and finalizes in the console completes, and an
//! invoice or cancellation gets its PDF, as deployed.
//!
//! At start it stores a customer "Abo Kunde GmbH" with a monthly contract
//! due this month (billed through the end of last month) and last month's
//! invoice for a smaller amount: a preview of today shows it with a
//! difference, and finalizing bills it.
//!
//! `--seed-invoices N` first stores a customer "Bench Großkunde GmbH" with
//! N finalized invoices (one per week back from today), the customer of
//! the console's page-load benchmark; with `CONSOLE_DOCUMENTS=off` it then
//! renders nothing (the benchmark's timings would share the CPU with it).

use std::error::Error;
use std::time::Duration;

use billing_domain::ids::BillingEntityId;
use billing_domain::party::CustomerKind;
use billing_lambda::aws::{AwsClients, load_sdk_config};
use billing_run::RunWorker;
use billing_run::preview::RunFiles;
use billing_store::{BillingStore, InvoiceFilter, Page};
use billing_tests::billing::{customer, invoice};
use billing_tests::delivery::{document_service, sqs_event};
use billing_tests::resource;
use billing_tests::run::monthly_contract;
use chrono::{Datelike, Days, NaiveDate, Utc};
use lambda_runtime::{Context, LambdaEvent};
use rust_decimal::Decimal;

/// How often the pending documents are looked for.
const POLL: Duration = Duration::from_millis(500);

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let aws = AwsClients::new(&load_sdk_config().await);
    let store = BillingStore::new(aws.dynamodb.clone(), resource("BILLING_TABLE"));
    let entity = BillingEntityId::parse(&resource("BILLING_ENTITY_ID"))?;
    let args: Vec<String> = std::env::args().collect();
    let seller = billing_tests::webhook::example_entity(entity.as_str());
    store.put_billing_entity(&seller).await?;
    seed_subscriber(&store, &seller).await?;
    if let Some(at) = args.iter().position(|a| a == "--seed-invoices") {
        let count: u64 = args
            .get(at + 1)
            .ok_or("--seed-invoices needs a number")?
            .parse()?;
        seed_bench_customer(&store, &entity, count).await?;
    }
    if std::env::var("CONSOLE_DOCUMENTS").as_deref() == Ok("off") {
        // Stay up: the stack stops when one of its processes ends.
        std::future::pending::<()>().await;
    }
    let documents = document_service(&aws, store.clone());
    let worker = RunWorker::new(
        store.clone(),
        RunFiles::new(aws.s3.clone(), resource("DOCUMENTS_BUCKET")),
        seller,
    );
    let run_queue = resource("INVOICE_RUN_QUEUE_URL");
    let newest = InvoiceFilter::default();
    loop {
        if let Err(err) = work_run_batches(&aws, &worker, &run_queue).await {
            eprintln!("run batches: {err}");
        }
        match store
            .entity_invoices(&entity, &newest, &Page::first(50))
            .await
        {
            Ok(page) => {
                for pending in page
                    .items
                    .iter()
                    .filter(|i| i.document_status == Some(billing_store::DocumentStatus::Pending))
                {
                    if let Err(err) = documents.produce(&pending.invoice_id).await {
                        eprintln!("documents of {}: {err}", pending.invoice_id);
                    }
                }
            }
            Err(err) => eprintln!("reading the seller's invoices: {err}"),
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Up to ten batches from the run queue through the worker's handler; the
/// handled ones are deleted, failed ones stay for the next receive.
async fn work_run_batches(
    aws: &AwsClients,
    worker: &RunWorker,
    queue: &str,
) -> Result<(), Box<dyn Error>> {
    let received = aws
        .sqs
        .receive_message()
        .queue_url(queue)
        .max_number_of_messages(10)
        .wait_time_seconds(0)
        .send()
        .await?;
    let messages = received.messages();
    if messages.is_empty() {
        return Ok(());
    }
    let event = LambdaEvent::new(sqs_event(messages), Context::default());
    let response = invoice_run_worker::handler::handle(worker, event)
        .await
        .map_err(|e| e.to_string())?;
    for message in messages {
        let id = message.message_id().unwrap_or_default();
        if response
            .batch_item_failures
            .iter()
            .any(|f| f.item_identifier == id)
        {
            continue;
        }
        aws.sqs
            .delete_message()
            .queue_url(queue)
            .receipt_handle(message.receipt_handle().unwrap_or_default())
            .send()
            .await?;
    }
    Ok(())
}

/// "Abo Kunde GmbH": a monthly contract at 59.00 EUR due this month, and
/// last month's invoice at 49.00 EUR net, so a preview shows a difference.
async fn seed_subscriber(
    store: &BillingStore,
    seller: &billing_domain::seller::BillingEntity,
) -> Result<(), Box<dyn Error>> {
    let mut account = customer(&seller.id, CustomerKind::Business);
    "Abo Kunde GmbH".clone_into(&mut account.name);
    let today = Utc::now().date_naive();
    let this_month =
        NaiveDate::from_ymd_opt(today.year(), today.month(), 1).ok_or("a first of the month")?;
    let last_month_end = this_month.pred_opt().ok_or("a day before")?;
    let last_month = NaiveDate::from_ymd_opt(last_month_end.year(), last_month_end.month(), 1)
        .ok_or("a first of the month")?;
    let contract = monthly_contract(&account.id, "59.00", Some(last_month_end));
    store
        .seed_customer(&account, &[contract], &[], Utc::now())
        .await?;
    invoice(store, seller, &account, last_month, Decimal::new(4_900, 2)).await;
    println!("seeded account {} ({})", account.id, account.name);
    Ok(())
}

/// A customer with `count` weekly invoices, the newest issued today.
async fn seed_bench_customer(
    store: &BillingStore,
    entity: &BillingEntityId,
    count: u64,
) -> Result<(), Box<dyn Error>> {
    let seller = billing_tests::webhook::example_entity(entity.as_str());
    let mut account = customer(&seller.id, CustomerKind::Business);
    "Bench Großkunde GmbH".clone_into(&mut account.name);
    let today = Utc::now().date_naive();
    for week in (0..count).rev() {
        let issued = today
            .checked_sub_days(Days::new(week * 7))
            .ok_or("date out of range")?;
        let net = Decimal::new(10_000 + i64::try_from(week % 17)? * 250, 2);
        invoice(store, &seller, &account, issued, net).await;
    }
    println!("seeded account {} with {count} invoices", account.id);
    Ok(())
}
