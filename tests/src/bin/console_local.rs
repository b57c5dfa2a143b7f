//! The console's local stack (`make console`, `make test-console`,
//! `make bench-console`; started by `console/dev/stack.mjs` inside
//! `tools/local_aws.py run`): what the billing table's stream pipe and
//! `invoice-pdf` do in AWS. The emulator has no stream pipe, so every
//! half second this reads the newest page of the seller's invoices and
//! credit notes and has the real documents service render and archive each
//! one still pending. So an invoice or a cancellation a clerk issues in the
//! console gets its PDF, as it would deployed.
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
use billing_store::{BillingStore, InvoiceFilter, Page};
use billing_tests::billing::{customer, invoice};
use billing_tests::delivery::document_service;
use billing_tests::resource;
use chrono::{Days, Utc};
use rust_decimal::Decimal;

/// How often the pending documents are looked for.
const POLL: Duration = Duration::from_millis(500);

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let aws = AwsClients::new(&load_sdk_config().await);
    let store = BillingStore::new(aws.dynamodb.clone(), resource("BILLING_TABLE"));
    let entity = BillingEntityId::parse(&resource("BILLING_ENTITY_ID"))?;
    let args: Vec<String> = std::env::args().collect();
    if let Some(at) = args.iter().position(|a| a == "--seed-invoices") {
        let count: u64 = args.get(at + 1).ok_or("--seed-invoices needs a number")?.parse()?;
        seed_bench_customer(&store, &entity, count).await?;
    }
    if std::env::var("CONSOLE_DOCUMENTS").as_deref() == Ok("off") {
        // Stay up: the stack stops when one of its processes ends.
        std::future::pending::<()>().await;
    }
    let documents = document_service(&aws, store.clone());
    let newest = InvoiceFilter::default();
    loop {
        match store
            .entity_invoices(&entity, &newest, &Page::first(50))
            .await
        {
            Ok(page) => {
                for pending in page
                    .items
                    .iter()
                    .filter(|i| i.document_status.as_deref() == Some("pending"))
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

/// A customer with `count` weekly invoices, the newest issued today.
async fn seed_bench_customer(
    store: &BillingStore,
    entity: &BillingEntityId,
    count: u64,
) -> Result<(), Box<dyn Error>> {
    let seller = billing_tests::webhook::example_entity(entity.as_str());
    store.put_billing_entity(&seller).await?;
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
