//! The SEPA collection stage of `make demo`: two customers on direct debit
//! (one CORE, one B2B) and one on transfer, a month of invoices, and the
//! collection step of Friday 11 December 2026 through the real
//! `direct-debit-collection` service. Its pain.008 files are copied from
//! the documents bucket to `out/sepa/`.

use billing_domain::direct_debit::{DirectDebitScheme, NewMandate};
use billing_domain::party::CustomerKind;
use billing_store::{BillingStore, StoredMandate};
use chrono::{NaiveDate, Utc};
use direct_debit_collection::service::{CollectionDay, CollectionService};
use rust_decimal::Decimal;

use crate::billing::{customer, direct_debit_invoice, invoice};
use crate::{local_clients, resource};

type DemoResult<T = ()> = Result<T, Box<dyn std::error::Error>>;

/// Runs the stage for the seller `entity_id` (stored by the webhook stage)
/// and returns its summary line.
pub async fn run(store: &BillingStore, entity_id: &str) -> DemoResult<String> {
    println!(
        "\n== SEPA collection (direct-debit invoices -> direct-debit-collection -> pain.008) =="
    );
    let entity = store
        .billing_entity(&billing_domain::ids::BillingEntityId::new(entity_id))
        .await?;
    let creditor = entity
        .direct_debit
        .as_ref()
        .map(|settings| settings.creditor_identifier.clone());
    let day = |month: u32, d: u32| NaiveDate::from_ymd_opt(2026, month, d).ok_or("date");
    let mut direct_debit = 0;
    for (n, (scheme, kind, debtor)) in [
        (
            DirectDebitScheme::Core,
            CustomerKind::Consumer,
            "Jürgen Weiß",
        ),
        (
            DirectDebitScheme::B2b,
            CustomerKind::Business,
            "Muster Handel GmbH",
        ),
    ]
    .into_iter()
    .enumerate()
    {
        let account = customer(&entity.id, kind);
        let new: NewMandate = serde_json::from_value(serde_json::json!({
            "reference": format!("DEMO-{}-{:04}", scheme.code(), n + 1),
            "signed_on": "2026-01-15",
            "scheme": scheme,
            "usage": "recurrent",
            "debtor_name": debtor,
            "debtor_iban": "DE89 3704 0044 0532 0130 00",
        }))?;
        let mandate = new.into_mandate(creditor.as_ref(), day(12, 11)?)?;
        for (issued, net) in [(day(11, 16)?, 4900), (day(11, 30)?, 4900)] {
            let invoice = direct_debit_invoice(
                store,
                &entity,
                &account,
                &mandate,
                issued,
                Decimal::new(net, 2),
            )
            .await;
            println!(
                "invoice {} over {} ({}) collected on {}",
                invoice.number(),
                invoice.amount_due(),
                scheme.code(),
                invoice.content().due_date
            );
            direct_debit += 1;
        }
        store
            .create_mandate(
                &StoredMandate::new(account.id.clone(), mandate, Utc::now()),
                None,
            )
            .await?;
    }
    let transfer = customer(&entity.id, CustomerKind::Business);
    let paid_by_transfer = invoice(
        store,
        &entity,
        &transfer,
        day(11, 20)?,
        Decimal::new(9900, 2),
    )
    .await;
    println!(
        "invoice {} paid by transfer: not collected",
        paid_by_transfer.number()
    );
    let aws = local_clients().await;
    let bucket = resource("DOCUMENTS_BUCKET");
    let service = CollectionService::new(store.clone(), aws.s3.clone(), &bucket, entity.id.clone());
    let report = service
        .collect(CollectionDay::Date(day(12, 11)?), Utc::now())
        .await?;
    std::fs::create_dir_all("out/sepa")?;
    for old in std::fs::read_dir("out/sepa")? {
        let old = old?.path();
        if old.extension().is_some_and(|e| e == "xml") {
            std::fs::remove_file(old)?;
        }
    }
    for file in &report.files {
        let bytes = aws
            .s3
            .get_object()
            .bucket(&bucket)
            .key(&file.file.key)
            .send()
            .await?
            .body
            .collect()
            .await?
            .into_bytes();
        let path = format!("out/sepa/{}.xml", file.file.message_id);
        std::fs::write(&path, &bytes)?;
        println!(
            "{} file for {}: {} collections, {} -> {path}",
            file.scheme.code(),
            file.collection_date,
            file.file.transactions,
            file.file.control_sum.amount()
        );
    }
    Ok(format!(
        "SEPA collection: {direct_debit} direct-debit invoices in {} pain.008 files (out/sepa/), {} collected, {} on the attention list",
        report.files.len(),
        report.collected,
        report.attention.len()
    ))
}
