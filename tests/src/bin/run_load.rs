//! Load bench of the invoice run on the local AWS (`make bench-run`).
//!
//! Seeds customers with two monthly contracts each (every tenth with a
//! parked charge), plans a run with the real planner and works it off with
//! the real worker, ten messages per delivery like the template's trigger.
//! Reports invoices per second, the DynamoDB requests (and transaction
//! items) per invoice counted by an SDK interceptor, and the planner's peak
//! heap while it reads the due index. `--plan-only` seeds contracts only and
//! measures the planner, for the memory comparison at larger sizes.
//!
//! The emulator does ~350 writes/s on one thread: throughput here says
//! little about AWS; request counts and memory are what carry over.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use billing_lambda::aws::{AwsClients, load_sdk_config};
use billing_run::RunRequest;
use billing_tests::counting::{Counts, RequestCounter};
use billing_tests::run::{LocalRun, consumer, isolated_entity, monthly_contract};

/// Counts live and peak heap bytes, so the planner's peak can be read.
struct CountingAlloc;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

// SAFETY: delegates to the system allocator; only adds counters.
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: same contract as System.alloc.
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            let live = LIVE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(live, Ordering::Relaxed);
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as System.dealloc.
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }
}

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

const READS: [&str; 4] = ["GetItem", "Query", "BatchGetItem", "Scan"];

fn split(counts: &Counts) -> (u64, u64) {
    let reads = counts
        .requests
        .iter()
        .filter(|(op, _)| READS.contains(&op.as_str()))
        .map(|(_, n)| n)
        .sum();
    let writes = counts.requests.values().sum::<u64>() - reads;
    (reads, writes)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let subscriptions: usize = args
        .iter()
        .position(|a| a == "--subscriptions")
        .and_then(|i| args.get(i + 1))
        .map(|n| n.parse())
        .transpose()?
        .unwrap_or(10_000);
    let plan_only = args.iter().any(|a| a == "--plan-only");
    let customers = subscriptions / 2;

    let sdk = load_sdk_config().await;
    let counter = RequestCounter::default();
    let mut aws = AwsClients::new(&sdk);
    aws.dynamodb = aws_sdk_dynamodb::Client::from_conf(
        aws_sdk_dynamodb::config::Builder::from(&sdk)
            .interceptor(counter.clone())
            .build(),
    );
    let run = LocalRun::new(&aws, isolated_entity()).await;

    let started = Instant::now();
    let july: chrono::NaiveDate = "2026-07-01".parse()?;
    let june_end = "2026-06-30".parse().ok();
    let template = consumer(&run.entity, "Load GmbH");
    for i in 0..customers {
        let mut account = template.clone();
        account.id = billing_domain::ids::AccountId::new(billing_tests::unique_id("acc"));
        let contracts = [
            monthly_contract(&account.id, "49.00", june_end),
            monthly_contract(&account.id, "9.50", june_end),
        ];
        let mut pending = Vec::new();
        if i % 10 == 0 && !plan_only {
            let charge: billing_domain::item::PendingCharge =
                serde_json::from_value(serde_json::json!({
                    "id": format!("{}-setup", account.id),
                    "account_id": account.id,
                    "item": {"description": "Setup", "quantity": "1", "unit": "C62",
                             "unit_price": {"amount": "120.00", "currency": "EUR"},
                             "tax_category": {"kind": "standard"}}
                }))?;
            pending.push((format!("{}-b", account.id), vec![charge]));
        }
        if plan_only {
            run.store
                .seed_contracts(&account, &contracts, &pending, chrono::Utc::now())
                .await?;
        } else {
            run.store
                .seed_customer(&account, &contracts, &pending, chrono::Utc::now())
                .await?;
        }
    }
    eprintln!(
        "seeded {customers} customers / {subscriptions} contracts in {:.1?}",
        started.elapsed()
    );
    counter.take();

    // Plan, measuring the planner's heap above what the process already holds.
    let base = LIVE.load(Ordering::Relaxed);
    PEAK.store(base, Ordering::Relaxed);
    let started = Instant::now();
    let record = run
        .planner
        .plan(
            &RunRequest {
                run_date: Some(july),
                ..RunRequest::default()
            },
            run.on_day(july),
        )
        .await?;
    let plan_time = started.elapsed();
    let planner_peak = PEAK.load(Ordering::Relaxed).saturating_sub(base);
    let plan_counts = counter.take();
    let (plan_reads, plan_writes) = split(&plan_counts);
    println!(
        "planner: {subscriptions} due contracts, {} customers in {} batches, {:.1?}, peak heap {:.2} MiB, DynamoDB {plan_reads} reads {plan_writes} writes",
        record.planned_customers,
        record.planned_batches,
        plan_time,
        planner_peak as f64 / (1024.0 * 1024.0)
    );
    if plan_only {
        // Leave the queue clean for the next measurement.
        let _ = run.take_batches(&record).await;
        return Ok(());
    }

    let started = Instant::now();
    let failed = run.deliver(&record.run_id).await;
    let elapsed = started.elapsed();
    if !failed.is_empty() {
        return Err(format!("{} batches failed", failed.len()).into());
    }
    let worker_counts = counter.take();
    let record = run.record(&record.run_id).await;
    let outcome = record.outcome.ok_or("the run did not complete")?;
    let invoices = outcome.invoices as f64;
    let (reads, writes) = split(&worker_counts);
    let (all_reads, all_writes) = (reads + plan_reads, writes + plan_writes);
    println!(
        "worker: {} invoices ({} lines) in {:.1?}: {:.0} invoices/s on the emulator",
        outcome.invoices,
        outcome.lines,
        elapsed,
        invoices / elapsed.as_secs_f64()
    );
    println!(
        "per invoice (planner + worker): {:.2} read requests, {:.2} write requests, {:.2} transaction items",
        all_reads as f64 / invoices,
        all_writes as f64 / invoices,
        worker_counts.transaction_items as f64 / invoices
    );
    println!("worker requests by operation: {:?}", worker_counts.requests);
    println!("planner requests by operation: {:?}", plan_counts.requests);
    Ok(())
}
