//! The payments and dunning stage of `make demo`: a bank statement with a
//! matched, a partial and an unmatched transfer through the real
//! payment-import handler, then a month of daily sweeps; the letters go to
//! `out/` as PDF and as the e-mail that carried them.

use std::fmt::Write as _;

use aws_lambda_events::event::s3::S3Event;
use billing_domain::party::CustomerKind;
use billing_store::BillingStore;
use chrono::{Days, NaiveDate, Utc};
use dunning_sweep::service::{SweepDay, SweepService};
use lambda_runtime::{Context, LambdaEvent};
use payment_import::handler::handle;
use payment_import::service::ImportService;
use rust_decimal::Decimal;

use crate::billing::{customer, invoice};
use crate::webhook::repo_path;
use crate::{local_clients, stack_name, unique_id};

type DemoResult<T = ()> = Result<T, Box<dyn std::error::Error>>;

/// Runs the stage for the seller `entity_id` (stored by the webhook stage)
/// and returns its summary line.
pub async fn run(store: &BillingStore, entity_id: &str) -> DemoResult<String> {
    println!("\n== Payments (bank statement -> payment-import) ==");
    let entity = store
        .billing_entity(&billing_domain::ids::BillingEntityId::new(entity_id))
        .await?;
    let account = customer(&entity.id, CustomerKind::Business);
    let issued = NaiveDate::from_ymd_opt(2026, 10, 1).ok_or("date")?;
    let mut invoices = Vec::new();
    for net in [
        Decimal::new(50_000, 2),
        Decimal::new(30_000, 2),
        Decimal::new(12_000, 2),
    ] {
        let invoice = invoice(store, &entity, &account, issued, net).await;
        println!(
            "invoice {} over {} due {}, payment reference {}",
            invoice.number(),
            invoice.amount_due(),
            invoice.content().due_date,
            invoice
                .content()
                .references
                .payment_reference
                .as_deref()
                .unwrap_or("-")
        );
        invoices.push(invoice);
    }
    let full = &invoices[0];
    let partial = &invoices[1];
    let spaced = partial.number().as_str().replace('-', " ").to_lowercase();
    let closing = Decimal::new(100_000, 2) + full.amount_due().amount() + Decimal::new(14_200, 2);
    let xml = std::fs::read_to_string(repo_path("tests/fixtures/camt/demo-statement.xml"))?
        .replace("{{MSG_ID}}", &unique_id("DEMO"))
        .replace("{{CLOSING}}", &closing.to_string())
        .replace("{{FULL_AMOUNT}}", &full.amount_due().amount().to_string())
        .replace(
            "{{FULL_REFERENCE}}",
            full.content()
                .references
                .payment_reference
                .as_deref()
                .unwrap_or_default(),
        )
        .replace("{{PARTIAL_TEXT}}", &format!("{spaced} Teilzahlung"));
    let aws = local_clients().await;
    let bucket = stack_name("StatementsBucket");
    let key = "statements/demo/camt053-2026-10-20.xml";
    aws.s3
        .put_object()
        .bucket(&bucket)
        .key(key)
        .body(xml.clone().into_bytes().into())
        .send()
        .await?;
    std::fs::write("out/camt053-2026-10-20.xml", &xml)?;
    println!("uploaded s3://{bucket}/{key} (copy in out/camt053-2026-10-20.xml)");
    let event: S3Event = serde_json::from_value(serde_json::json!({"Records": [{
        "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "eu-central-1",
        "eventTime": "2026-10-20T20:00:00.000Z", "eventName": "ObjectCreated:Put",
        "userIdentity": {"principalId": "demo"}, "requestParameters": {"sourceIPAddress": "127.0.0.1"},
        "responseElements": {},
        "s3": {"s3SchemaVersion": "1.0", "bucket": {"name": bucket}, "object": {"key": key}}
    }]}))?;
    let import = ImportService::new(store.clone(), aws.s3.clone(), entity.id.clone());
    let results = handle(&import, LambdaEvent::new(event, Context::default())).await?;
    for result in &results {
        println!(
            "payment-import {}: {} ({} booked, {} for review)",
            result.key, result.outcome, result.booked, result.for_review
        );
    }
    for invoice in &invoices {
        let state = store
            .invoice_payments(&invoice.content().id)
            .await?
            .ok_or("invoice vanished")?;
        println!(
            "  {}: {} ({} open)",
            invoice.number(),
            billing_store::InvoiceStatus::from(state.summary.status),
            state.summary.open
        );
    }
    for entry in store.payment_review_list(&entity.id).await? {
        println!(
            "  review: entry {} {}: {}",
            entry.entry_id, entry.amount, entry.reason
        );
    }

    println!("\n== Dunning (daily sweep 22 Oct - 20 Nov 2026) ==");
    let sweep = SweepService::new(store.clone(), entity.id.clone());
    let start = NaiveDate::from_ymd_opt(2026, 10, 22).ok_or("date")?;
    let mut written = Vec::new();
    let mut warned = false;
    for offset in 0..30u64 {
        let today = start + Days::new(offset);
        let report = sweep.sweep(SweepDay::Date(today), Utc::now()).await?;
        warned |= report.base_rate_warning;
        for letter in report.letters.iter().filter(|l| l.account_id == account.id) {
            // What the stream pipe does: invoice-pdf archives the letter,
            // invoice-delivery e-mails it.
            let (stored, mail) =
                crate::delivery::deliver_dunning_letter(&aws, store, &letter.letter_id).await;
            let document = stored.document.ok_or("the letter's PDF is not recorded")?;
            let pdf = aws
                .s3
                .get_object()
                .bucket(crate::resource("DOCUMENTS_BUCKET"))
                .key(&document.key)
                .send()
                .await?
                .body
                .collect()
                .await?
                .into_bytes();
            let path = format!("out/dunning-{today}-{}.pdf", letter.letter_id);
            std::fs::write(&path, &pdf)?;
            let eml = format!("out/dunning-{today}-{}.eml", letter.letter_id);
            std::fs::write(&eml, mail.raw_data.as_bytes())?;
            let mut lines = String::new();
            for line in &letter.lines {
                write!(
                    lines,
                    " {} level {} ({:?}) open {} fee {} flat fee {} interest {};",
                    line.number,
                    line.level,
                    line.stage,
                    line.open_amount,
                    line.fee,
                    line.flat_fee,
                    line.interest.total
                )?;
            }
            println!(
                "{today}: letter, total due {} by {}:{lines} wrote {path}, e-mailed ({eml})",
                letter.total_due, letter.payment_deadline
            );
            written.push(path);
        }
    }
    if warned {
        for note in store.attention_notes(&entity.id).await? {
            if note.kind == "base_rate_missing" {
                println!("needs attention: {}", note.message);
            }
        }
    }
    Ok(format!(
        "payments: {} booked, {} for review; dunning: {} letters sent (PDF and e-mail in out/)",
        results.iter().map(|r| r.booked).sum::<usize>(),
        results.iter().map(|r| r.for_review).sum::<usize>(),
        written.len()
    ))
}
