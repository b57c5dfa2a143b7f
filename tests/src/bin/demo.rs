//! `make demo`: the billing pipeline, run locally against the local AWS
//! endpoint that `tools/local_aws.py` started and provisioned from the
//! template. Each stage prints what it did; produced files go under `out/`.
//!
//! Stages: the infrastructure the template defines, seen through the SDK
//! clients the functions use; a CRM closing the documented example
//! opportunity, posted signed through the real webhook handler; then its
//! invoice announced on the documents queue (the pipe's message) and handed
//! to the real invoice-pdf handler as Lambda would, which archives the
//! PDF/A-3 and XML and requests delivery; then that request through the
//! real invoice-delivery handler, which e-mails the invoice through (local)
//! SES and records it as sent; then a bank statement through the real
//! payment-import handler and a month of dunning sweeps, letters to `out/`;
//! then a month of direct-debit invoices and the SEPA collection step, its
//! pain.008 files to `out/sepa/`.
//! Last, the invoice run: the demo customers
//! (`tests/fixtures/run/demo-customers.json`) are previewed for today,
//! the run is finalized from the preview, and each invoice takes the same
//! documents and delivery path. Then the revenue figures, and the
//! accounting handover of the dunning stage's month: the period closed
//! and exported as DATEV files and a CSV journal into the archive bucket,
//! fetched back into `out/`.

use std::fmt::Write as _;

use aws_lambda_events::event::sqs::{SqsEvent, SqsMessage};
use billing_domain::ids::InvoiceId;
use billing_lambda::sqs::RetryBackoff;
use billing_tests::delivery::{delivery_service, recorded_mails, sqs_event, take_messages};
use billing_tests::webhook::{example_entity, example_opportunity, post, signed, webhook_state};
use billing_tests::{local_clients, resource};
use invoice_delivery::handler::{RETRY_FIRST, RETRY_MAX};
use lambda_runtime::{Context, LambdaEvent};

type DemoResult<T = ()> = Result<T, Box<dyn std::error::Error>>;

#[tokio::main]
async fn main() -> DemoResult {
    std::fs::create_dir_all("out")?;
    // The functions' metric lines go to stdout as on Lambda; a copy is
    // kept to add up at the end.
    let metrics = billing_lambda::metrics::Recorder::start();
    let mut summary = Vec::new();
    summary.push(infrastructure().await?);
    let (line, invoice_id) = opportunity_closed().await?;
    summary.push(line);
    summary.push(documents(&invoice_id).await?);
    summary.push(delivery(&invoice_id).await?);
    let store = billing_tests::webhook::local_store().await;
    summary.push(billing_tests::demo_dunning::run(&store, "default").await?);
    summary.push(billing_tests::demo_collection::run(&store, "default").await?);
    summary.extend(invoice_run().await?);
    summary.push(revenue_report().await?);
    summary.push(accounting_handover().await?);
    summary.push(metric_totals(&metrics.lines())?);
    println!("\n== Summary ==");
    for line in summary {
        println!("- {line}");
    }
    Ok(())
}

/// The business metrics of the run (namespace `Billing`), added up over
/// the embedded-metric-format lines the functions printed; the lines go to
/// `out/metrics.jsonl` as CloudWatch Logs would receive them.
fn metric_totals(lines: &[String]) -> DemoResult<String> {
    std::fs::write("out/metrics.jsonl", lines.join("\n") + "\n")?;
    println!("\n== Business metrics (CloudWatch embedded metric format) ==");
    let totals = billing_lambda::metrics::totals(lines.iter().map(String::as_str));
    for (name, total) in &totals {
        println!("{name:<28} {total}");
    }
    Ok(format!(
        "metrics: {} lines, {} metrics (out/metrics.jsonl); dashboard body: out/dashboard.json",
        lines.len(),
        totals.len()
    ))
}

/// What the template provisioned, through the functions' own SDK clients.
async fn infrastructure() -> DemoResult<String> {
    let aws = local_clients().await;
    let mut report = String::new();
    writeln!(report, "== Infrastructure (from infra/template.yaml) ==")?;
    for variable in ["BILLING_TABLE", "IDEMPOTENCY_TABLE"] {
        let name = resource(variable);
        let described = aws
            .dynamodb
            .describe_table()
            .table_name(&name)
            .send()
            .await?;
        let table = described.table().ok_or("table vanished")?;
        let keys: Vec<_> = table
            .key_schema()
            .iter()
            .map(|k| k.attribute_name().to_owned())
            .collect();
        let indexes: Vec<_> = table
            .global_secondary_indexes()
            .iter()
            .filter_map(|i| i.index_name())
            .collect();
        let stream = table
            .stream_specification()
            .and_then(|s| s.stream_view_type())
            .map(|v| v.as_str().to_owned())
            .unwrap_or_else(|| "none".into());
        writeln!(
            report,
            "table  {name}: key ({}), indexes [{}], stream {stream}",
            keys.join(", "),
            indexes.join(", ")
        )?;
    }
    let bucket = resource("DOCUMENTS_BUCKET");
    let lock = aws
        .s3
        .get_object_lock_configuration()
        .bucket(&bucket)
        .send()
        .await?;
    let retention = lock
        .object_lock_configuration()
        .and_then(|c| c.rule())
        .and_then(|r| r.default_retention())
        .map(|r| {
            format!(
                "{} for {} years",
                r.mode().map(|m| m.as_str()).unwrap_or("?"),
                r.years().unwrap_or_default()
            )
        })
        .unwrap_or_else(|| "none".into());
    writeln!(report, "bucket {bucket}: object lock {retention}")?;
    let queues = aws.sqs.list_queues().send().await?;
    let queue_count = queues.queue_urls().len();
    for url in queues.queue_urls() {
        let name = url.rsplit('/').next().unwrap_or(url);
        writeln!(report, "queue  {name}")?;
    }
    std::fs::write("out/infrastructure.txt", &report)?;
    print!("{report}");
    Ok(format!(
        "infrastructure: 2 tables, bucket with {retention} retention, {queue_count} queues (out/infrastructure.txt)"
    ))
}

/// The CRM wins the example deal: signed webhook in, numbered invoice out.
async fn opportunity_closed() -> DemoResult<(String, InvoiceId)> {
    println!("\n== Opportunity closed (docs/webhooks/example-opportunity.json) ==");
    let state = webhook_state(example_entity("default")).await;
    println!("seller configuration stored from docs/examples/billing-entity.json");
    let body = serde_json::to_vec(&example_opportunity())?;
    let now = chrono::Utc::now();
    let (status, answer, _) = post(&state, signed(&body, now), now).await;
    println!("POST /webhooks/opportunity-closed (signed) -> {status} {answer}");
    if status != 201 {
        return Err(format!("expected 201 Created, got {status}: {answer}").into());
    }
    let (again, _, _) = post(&state, signed(&body, now), now).await;
    println!("the same POST again (a CRM retry) -> {again}: same invoice, no new number");

    let invoice_id = InvoiceId::new(answer["invoice_id"].as_str().ok_or("no invoice id")?);
    let store = billing_tests::webhook::local_store().await;
    let stored = store
        .invoice(&invoice_id)
        .await?
        .ok_or("invoice not stored")?;
    let invoice = stored.invoice.content();
    println!(
        "\nInvoice {} of {} to {}, due {}",
        stored.invoice.number(),
        invoice.issue_date,
        invoice.buyer.name,
        invoice.due_date
    );
    for line in &invoice.lines {
        let period = line
            .service_period
            .map(|p| format!(" ({} – {})", p.start, p.end))
            .unwrap_or_default();
        println!(
            "  {:>2}. {:<32} {:>6} {:<3} × {:>9} = {:>10}{period}",
            line.position,
            line.item.description,
            line.item.quantity,
            line.item.unit.as_str(),
            line.item.unit_price.amount(),
            line.net_amount.amount(),
        );
    }
    for tax in &invoice.tax_breakdown {
        println!(
            "      VAT {:?} {:>5} % on {:>10} = {:>10}",
            tax.category,
            tax.rate,
            tax.taxable_amount.amount(),
            tax.tax_amount.amount()
        );
    }
    println!(
        "      net {}  VAT {}  total {} {}",
        invoice.totals.net_total.amount(),
        invoice.totals.tax_total.amount(),
        invoice.totals.gross_total.amount(),
        invoice.currency.code()
    );
    println!(
        "documents: {:?} (the stream pipe hands it to invoice-pdf)",
        stored.document_status
    );
    let path = format!("out/invoice-{}.json", stored.invoice.number());
    std::fs::write(&path, serde_json::to_string_pretty(&stored.invoice)?)?;
    println!("wrote {path}");
    Ok((
        format!(
            "webhook: example deal invoiced as {} ({} {}), retry answered {again}; contract {} started ({path})",
            stored.invoice.number(),
            invoice.totals.gross_total.amount(),
            invoice.currency.code(),
            answer["subscription_id"].as_str().unwrap_or("-"),
        ),
        invoice_id,
    ))
}

/// The finalized invoice through the documents queue and the real
/// invoice-pdf handler; the archived files are copied to `out/`.
async fn documents(invoice_id: &InvoiceId) -> DemoResult<String> {
    println!("\n== Invoice documents (documents queue -> invoice-pdf) ==");
    let aws = local_clients().await;
    let documents_queue = resource("DOCUMENTS_QUEUE_URL");
    // What the EventBridge Pipe sends for an invoice with pending documents.
    let announcement = serde_json::json!({ "invoice_id": invoice_id.as_str() }).to_string();
    aws.sqs
        .send_message()
        .queue_url(&documents_queue)
        .message_body(&announcement)
        .send()
        .await?;
    println!("documents queue <- {announcement}");
    let received = aws
        .sqs
        .receive_message()
        .queue_url(&documents_queue)
        .max_number_of_messages(10)
        .wait_time_seconds(2)
        .send()
        .await?;
    let mut event = SqsEvent::default();
    event.records = received
        .messages()
        .iter()
        .map(|m| {
            let mut message = SqsMessage::default();
            message.message_id = m.message_id().map(str::to_owned);
            message.receipt_handle = m.receipt_handle().map(str::to_owned);
            message.body = m.body().map(str::to_owned);
            message
        })
        .collect();
    let service = billing_tests::delivery::document_service(
        &aws,
        billing_tests::webhook::local_store().await,
    );
    let batch = event.records.clone();
    let response =
        invoice_pdf::handler::handle(&service, LambdaEvent::new(event, Context::default()))
            .await
            .map_err(|e| e.to_string())?;
    println!(
        "invoice-pdf handled {} message(s), {} failed",
        batch.len(),
        response.batch_item_failures.len()
    );
    if !response.batch_item_failures.is_empty() {
        return Err("invoice-pdf reported failed messages".into());
    }
    // What Lambda does with a successfully handled batch.
    for message in &batch {
        if let Some(handle) = &message.receipt_handle {
            aws.sqs
                .delete_message()
                .queue_url(&documents_queue)
                .receipt_handle(handle)
                .send()
                .await?;
        }
    }
    let bucket = resource("DOCUMENTS_BUCKET");
    let exported = invoice_pdf::local::export_archived(
        &service,
        &aws.s3,
        &bucket,
        invoice_id,
        std::path::Path::new("out"),
    )
    .await
    .map_err(|e| e.to_string())?;
    let mut written = Vec::new();
    for (path, document) in exported {
        let path = path.display().to_string();
        println!(
            "archived s3://{bucket}/{} ({}, sha256 {}) -> {path}",
            document.key,
            document.content_type,
            &document.sha256[..16]
        );
        written.push(path);
    }
    Ok(format!(
        "documents: PDF/A-3 with embedded factur-x.xml archived under Object Lock, delivery requested ({})",
        written.join(", ")
    ))
}

/// The delivery request through the real invoice-delivery handler: SES
/// (local) sends the e-mail, the invoice records it; each e-mail the local
/// endpoint recorded is written to `out/` as an `.eml` file.
async fn delivery(invoice_id: &InvoiceId) -> DemoResult<String> {
    let already = recorded_mails().len();
    println!("\n== Delivery (delivery queue -> invoice-delivery -> SES) ==");
    let aws = local_clients().await;
    let queue = resource("DELIVERY_QUEUE_URL");
    let messages = take_messages(&aws, &queue, |body| body.contains(invoice_id.as_str())).await;
    for message in &messages {
        println!("delivery queue -> {}", message.body().unwrap_or_default());
    }
    if messages.is_empty() {
        return Err("no delivery request arrived".into());
    }
    let store = billing_tests::webhook::local_store().await;
    let service = delivery_service(&aws, store.clone());
    let backoff = RetryBackoff::new(aws.sqs.clone(), &queue, RETRY_FIRST, RETRY_MAX);
    let response = invoice_delivery::handler::handle(
        &service,
        &backoff,
        LambdaEvent::new(sqs_event(&messages), Context::default()),
    )
    .await
    .map_err(|e| e.to_string())?;
    if !response.batch_item_failures.is_empty() {
        return Err("invoice-delivery reported failed messages".into());
    }
    let state = store
        .delivery_state(invoice_id)
        .await?
        .ok_or("the invoice records no delivery")?;
    let message_id = state.message_id.clone().unwrap_or_default();
    println!(
        "invoice delivery: {} (SES message id {message_id})",
        state.status.as_str()
    );
    let number = store
        .invoice(invoice_id)
        .await?
        .ok_or("invoice not stored")?
        .invoice
        .number()
        .to_string();
    let mut written = Vec::new();
    for (index, mail) in recorded_mails().into_iter().skip(already).enumerate() {
        let path = match index {
            0 => format!("out/{number}.eml"),
            n => format!("out/{number}-{n}.eml"),
        };
        std::fs::write(&path, &mail.raw_data)?;
        println!(
            "SES recorded an e-mail to {} recipient(s) -> {path}",
            mail.destinations.len()
        );
        written.push(path);
    }
    Ok(format!(
        "delivery: invoice e-mailed with its PDF attached, status {} ({})",
        state.status.as_str(),
        written.join(", ")
    ))
}

/// The invoice run for today: preview (files under `out/`), then finalize
/// from the preview, then documents and e-mail for every invoice.
async fn invoice_run() -> DemoResult<Vec<String>> {
    println!("\n== Invoice run (invoice-run-planner -> run queue -> invoice-run-worker) ==");
    let aws = local_clients().await;
    let entity = billing_tests::webhook::example_entity(&resource("BILLING_ENTITY_ID"));
    let run = billing_tests::run::LocalRun::new(&aws, entity).await;
    let customers = billing_tests::run::seed_demo_customers(&run).await;
    println!(
        "customers stored from tests/fixtures/run/demo-customers.json: {}",
        customers
            .iter()
            .map(|c| c.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    );
    let preview = run
        .run(billing_run::RunRequest {
            mode: Some(billing_store::run::RunMode::Preview),
            started_by: Some("make demo".into()),
            ..billing_run::RunRequest::default()
        })
        .await;
    let files = billing_run::preview::RunFiles::new(aws.s3.clone(), resource("DOCUMENTS_BUCKET"));
    let shown: billing_run::preview::Preview = files
        .get_json(&billing_run::preview::preview_json_key(&preview.run_id))
        .await?
        .ok_or("the preview was not written")?;
    std::fs::write(
        "out/run-preview.json",
        serde_json::to_string_pretty(&shown)?,
    )?;
    std::fs::write("out/run-preview.csv", shown.to_csv())?;
    let previewed = preview.outcome.clone().unwrap_or_default();
    println!(
        "preview {} for {}: {} customers, {} invoices, totals {:?} -> out/run-preview.csv, out/run-preview.json",
        preview.run_id, preview.run_date, previewed.customers, previewed.invoices, previewed.totals
    );
    let billed = run
        .run(billing_run::RunRequest {
            from_preview: Some(preview.run_id.clone()),
            started_by: Some("make demo".into()),
            ..billing_run::RunRequest::default()
        })
        .await;
    let outcome = billed.outcome.clone().ok_or("the run did not complete")?;
    println!("run outcome: {}", serde_json::to_string(&outcome)?);
    let mut lines = vec![format!(
        "invoice run {}: previewed, then finalized from the preview: {} customers, {} invoices, totals {:?}, {} failures (out/run-preview.csv)",
        billed.run_id,
        outcome.customers,
        outcome.invoices,
        outcome.totals,
        outcome.failures.len()
    )];
    for invoice_id in run.store.run_invoices(&billed.run_id).await? {
        documents(&invoice_id).await?;
        lines.push(delivery(&invoice_id).await?);
    }
    Ok(lines)
}

/// The revenue figures of the seller after the run: MRR, ARR and their
/// movements over the last twelve months and this month's deferred revenue
/// per customer, as the staff API's CSV (`out/revenue-*.csv`).
async fn revenue_report() -> DemoResult<String> {
    use billing_domain::revenue::{
        Month, billed_lines, deferred_csv, deferred_revenue, mrr_csv, mrr_months,
    };
    println!("\n== Revenue report (contracts and invoices -> MRR, deferred revenue) ==");
    let store = billing_tests::webhook::local_store().await;
    let entity = billing_domain::ids::BillingEntityId::new(resource("BILLING_ENTITY_ID"));
    let basis = store.revenue_basis(&entity, None).await?;
    let seller = store.billing_entity(&entity).await?;
    let today = chrono::Utc::now()
        .with_timezone(&seller.time_zone)
        .date_naive();
    let to = Month::of(today);
    let from = (0..11).fold(to, |m, _| m.previous());
    let mrr = mrr_months(&basis.contracts, from, to)?;
    std::fs::write("out/revenue-mrr.csv", mrr_csv(&mrr))?;
    let deferred = deferred_revenue(&billed_lines(&basis.documents)?, to)?;
    std::fs::write("out/revenue-deferred.csv", deferred_csv(&deferred))?;
    let now: Vec<String> = mrr
        .iter()
        .filter(|row| row.month == to)
        .map(|row| {
            format!(
                "MRR {} ARR {} {}",
                row.mrr.amount(),
                row.arr.amount(),
                row.currency.code()
            )
        })
        .collect();
    Ok(format!(
        "revenue {to}: {} from {} contracts, {} deferred rows (out/revenue-mrr.csv, out/revenue-deferred.csv)",
        now.join(", "),
        basis.contracts.len(),
        deferred.len()
    ))
}

/// The month of the payments and dunning stage (October 2026), closed and
/// exported as the staff API and `billing-admin periods export` do: its
/// journal as DATEV Buchungsstapel and Debitoren/Kreditoren and as a CSV
/// journal, stored in the archive bucket and fetched back into `out/`
/// byte for byte (a second demo run on the same emulator fetches the same
/// stored files).
async fn accounting_handover() -> DemoResult<String> {
    use billing_periods::{ExportFileKind, Periods, parse_month};
    println!("\n== Accounting handover (booking period -> DATEV, CSV journal) ==");
    let store = billing_tests::webhook::local_store().await;
    let entity = billing_domain::ids::BillingEntityId::new(resource("BILLING_ENTITY_ID"));
    let aws = local_clients().await;
    let periods = Periods::new(store, aws.s3, resource("DOCUMENTS_BUCKET"));
    let month = parse_month("2026-10")?;
    let clerk = billing_store::Actor {
        user: "demo".to_owned(),
        role: billing_domain::staff::StaffRole::Billing,
    };
    let period = periods
        .export(&entity, month, &clerk, chrono::Utc::now())
        .await?;
    let bookings = period.export.as_ref().map_or(0, |export| export.bookings);
    let mut names = Vec::new();
    for kind in ExportFileKind::ALL {
        let (file, bytes) = periods.file(&entity, month, kind).await?;
        let path = format!("out/{}", file.file_name);
        std::fs::write(&path, &bytes)?;
        println!(
            "{path}: {} bytes, sha256 {} ({})",
            bytes.len(),
            file.sha256,
            file.key
        );
        names.push(path);
    }
    Ok(format!(
        "accounting {month}: period exported with {bookings} bookings ({})",
        names.join(", ")
    ))
}
