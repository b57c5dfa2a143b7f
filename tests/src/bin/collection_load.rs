//! Load bench of the SEPA collection step on the local AWS
//! (`make bench-collection`).
//!
//! Seeds N direct-debit invoices due on one date, each for a customer of
//! its own with its own mandate (the most requests per invoice: nothing is
//! shared), through the real finalizing path; then runs the real
//! `direct-debit-collection` step once and reports its time, the process's
//! peak resident memory during the step, and the DynamoDB requests per
//! collected invoice counted by an SDK interceptor.
//!
//! The emulator does a few hundred writes a second on one thread: the time
//! says little about AWS; request counts and memory are what carry over.
//!
//! `collection_load [--invoices N]` (default 2,000).

use std::time::Instant;

use billing_domain::direct_debit::NewMandate;
use billing_domain::party::CustomerKind;
use billing_lambda::aws::{AwsClients, load_sdk_config};
use billing_store::{BillingStore, StoredMandate};
use billing_tests::billing::{customer, direct_debit_invoice};
use billing_tests::counting::RequestCounter;
use billing_tests::run::isolated_entity;
use billing_tests::{resource, unique_id};
use chrono::{NaiveDate, Utc};
use direct_debit_collection::service::{CollectionDay, CollectionService};
use rust_decimal::Decimal;

/// The process's peak resident set (VmHWM) in KiB, from /proc.
fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let invoices: usize = args
        .iter()
        .position(|a| a == "--invoices")
        .and_then(|i| args.get(i + 1))
        .map(|n| n.parse())
        .transpose()?
        .unwrap_or(2_000);

    let sdk = load_sdk_config().await;
    let counter = RequestCounter::default();
    let mut aws = AwsClients::new(&sdk);
    aws.dynamodb = aws_sdk_dynamodb::Client::from_conf(
        aws_sdk_dynamodb::config::Builder::from(&sdk)
            .interceptor(counter.clone())
            .build(),
    );
    let store = BillingStore::new(aws.dynamodb.clone(), resource("BILLING_TABLE"));
    let entity = isolated_entity();
    store.put_billing_entity(&entity).await?;
    let creditor = entity
        .direct_debit
        .as_ref()
        .map(|settings| settings.creditor_identifier.clone());
    // Issued 30 November: collected on Monday 14 December.
    let issued = NaiveDate::from_ymd_opt(2026, 11, 30).ok_or("date")?;
    let run_day = NaiveDate::from_ymd_opt(2026, 12, 11).ok_or("date")?;
    let seeding = Instant::now();
    for n in 0..invoices {
        let account = customer(&entity.id, CustomerKind::Business);
        let new: NewMandate = serde_json::from_value(serde_json::json!({
            "reference": unique_id("LOAD").to_uppercase(),
            "signed_on": "2026-01-15",
            "scheme": "CORE",
            "usage": "recurrent",
            "debtor_name": "Muster Handel GmbH",
            "debtor_iban": "DE89 3704 0044 0532 0130 00",
        }))?;
        let mandate = new.into_mandate(creditor.as_ref(), run_day)?;
        let net = Decimal::new(4900 + i64::try_from(n % 100)?, 2);
        direct_debit_invoice(&store, &entity, &account, &mandate, issued, net).await;
        store
            .create_mandate(
                &StoredMandate::new(account.id.clone(), mandate, Utc::now()),
                None,
            )
            .await?;
        if (n + 1) % 1000 == 0 {
            eprintln!("seeded {} invoices", n + 1);
        }
    }
    eprintln!(
        "seeded {invoices} invoices in {:.1} s",
        seeding.elapsed().as_secs_f64()
    );

    // Only the step's own peak counts (Linux: "5" resets VmHWM).
    std::fs::write("/proc/self/clear_refs", "5")?;
    counter.take();
    let service = CollectionService::new(
        store.clone(),
        aws.s3.clone(),
        resource("DOCUMENTS_BUCKET"),
        entity.id.clone(),
    );
    // The three phases `collect` runs, timed one by one.
    let started = Instant::now();
    let mut report = service
        .claim(CollectionDay::Date(run_day), Utc::now())
        .await?;
    let claimed = started.elapsed();
    for batch_id in report.batches.clone() {
        if let Some(file) = service.write_file(&batch_id).await? {
            report.files.push(file);
        }
    }
    let written = started.elapsed();
    for batch_id in report.batches.clone() {
        report.collected += service.mark(&batch_id).await?;
    }
    let elapsed = started.elapsed();
    println!(
        "claim {:.1} s, seal and write the file {:.1} s, mark collected {:.1} s",
        claimed.as_secs_f64(),
        (written - claimed).as_secs_f64(),
        (elapsed - written).as_secs_f64()
    );
    let counts = counter.take();
    let collected = report.collected.max(1) as f64;
    let per_operation: Vec<String> = counts
        .requests
        .iter()
        .map(|(operation, n)| format!("{operation} {:.3}", *n as f64 / collected))
        .collect();
    println!(
        "{} invoices collected into {} file(s) in {:.1} s ({:.0} invoices/s); peak RSS during the step {} MiB",
        report.collected,
        report.files.len(),
        elapsed.as_secs_f64(),
        report.collected as f64 / elapsed.as_secs_f64(),
        peak_rss_kib().unwrap_or(0) / 1024
    );
    println!(
        "DynamoDB requests per collected invoice: {:.3} ({}); transaction items per invoice {:.2}",
        counts.total() as f64 / collected,
        per_operation.join(", "),
        counts.transaction_items as f64 / collected
    );
    if let Some(file) = report.files.first() {
        println!(
            "file {}: {} transactions, {}",
            file.file.key,
            file.file.transactions,
            file.file.control_sum.amount()
        );
    }
    Ok(())
}
