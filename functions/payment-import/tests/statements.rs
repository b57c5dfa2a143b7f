//! Bank statements against the local AWS: the real handler reads fixture
//! files (written for this project, `tests/fixtures/camt/`) from the
//! statements bucket and books them in the billing table.

use aws_lambda_events::event::s3::S3Event;
use billing_domain::invoice::Invoice;
use billing_domain::money::{Currency, Money};
use billing_domain::party::CustomerKind;
use billing_domain::payment::PaymentStatus;
use billing_store::BillingStore;
use billing_tests::billing::{customer, invoice, stored_seller};
use billing_tests::webhook::{local_store, repo_path};
use billing_tests::{local_clients, stack_name, unique_id};
use chrono::NaiveDate;
use lambda_runtime::{Context, LambdaEvent};
use payment_import::handler::{ObjectResult, handle};
use payment_import::service::ImportService;
use rust_decimal::Decimal;

fn eur(cents: i64) -> Money {
    Money::from_minor(cents, Currency::EUR)
}

fn day(month: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, month, d).unwrap()
}

/// Uploads a fixture under `statements/` and plays the S3 event.
async fn import(service: &ImportService, fixture: &str) -> Result<Vec<ObjectResult>, String> {
    let aws = local_clients().await;
    let bucket = stack_name("StatementsBucket");
    let key = format!("statements/{}/{fixture}", unique_id("run"));
    let body = std::fs::read(repo_path(&format!("tests/fixtures/camt/{fixture}"))).unwrap();
    aws.s3
        .put_object()
        .bucket(&bucket)
        .key(&key)
        .body(body.into())
        .send()
        .await
        .unwrap();
    let event = s3_event(
        serde_json::json!({"name": bucket}),
        serde_json::json!({"key": key.replace(' ', "+"), "size": body_len(fixture)}),
    );
    handle(service, LambdaEvent::new(event, Context::default()))
        .await
        .map_err(|e| e.to_string())
}

/// An S3 notification as S3 sends it (event version 2.1).
fn s3_event(bucket: serde_json::Value, object: serde_json::Value) -> S3Event {
    serde_json::from_value(serde_json::json!({
        "Records": [{
            "eventVersion": "2.1",
            "eventSource": "aws:s3",
            "awsRegion": "eu-central-1",
            "eventTime": "2026-03-01T06:00:00.000Z",
            "eventName": "ObjectCreated:Put",
            "userIdentity": {"principalId": "AWS:AIDAEXAMPLE"},
            "requestParameters": {"sourceIPAddress": "127.0.0.1"},
            "responseElements": {"x-amz-request-id": "EXAMPLE"},
            "s3": {
                "s3SchemaVersion": "1.0",
                "configurationId": "StatementUploaded",
                "bucket": bucket,
                "object": object
            }
        }]
    }))
    .expect("an S3 event")
}

fn body_len(fixture: &str) -> u64 {
    std::fs::metadata(repo_path(&format!("tests/fixtures/camt/{fixture}")))
        .map(|m| m.len())
        .unwrap_or_default()
}

struct Fixture {
    store: BillingStore,
    service: ImportService,
    entity: billing_domain::seller::BillingEntity,
    a: billing_domain::party::CustomerAccount,
    b: billing_domain::party::CustomerAccount,
    invoices: Vec<Invoice>,
}

/// A seller, customers A and B, and invoices RE-2026-000001..5 that the
/// fixture statements name: A owes 119.00, 238.00, 59.50 and 357.00, B 95.20.
async fn fixture() -> Fixture {
    let store = local_store().await;
    let entity = stored_seller(&store).await;
    let a = customer(&entity.id, CustomerKind::Business);
    let b = customer(&entity.id, CustomerKind::Business);
    let mut invoices = Vec::new();
    for (account, issued, net) in [
        (&a, day(1, 5), Decimal::new(10000, 2)),
        (&a, day(1, 10), Decimal::new(20000, 2)),
        (&a, day(1, 12), Decimal::new(5000, 2)),
        (&a, day(1, 15), Decimal::new(30000, 2)),
        (&b, day(1, 20), Decimal::new(8000, 2)),
    ] {
        invoices.push(invoice(&store, &entity, account, issued, net).await);
    }
    let aws = local_clients().await;
    let service = ImportService::new(store.clone(), aws.s3, entity.id.clone());
    Fixture {
        store,
        service,
        entity,
        a,
        b,
        invoices,
    }
}

async fn state(f: &Fixture, index: usize) -> billing_store::DunningState {
    f.store
        .dunning_state(&f.invoices[index].content().id)
        .await
        .unwrap()
        .unwrap()
}

#[tokio::test]
async fn statements_are_matched_split_credited_returned_and_imported_once() {
    let f = fixture().await;
    let numbers: Vec<&str> = f.invoices.iter().map(|i| i.number().as_str()).collect();
    assert_eq!(
        numbers,
        [
            "RE-2026-000001",
            "RE-2026-000002",
            "RE-2026-000003",
            "RE-2026-000004",
            "RE-2026-000005"
        ]
    );
    assert_eq!(
        f.invoices[0]
            .content()
            .references
            .payment_reference
            .as_deref(),
        Some("RF69RE2026000001"),
        "invoices carry an ISO 11649 reference"
    );

    let results = import(&f.service, "february-053-001-08.xml").await.unwrap();
    assert_eq!(results[0].outcome, "imported");
    assert_eq!((results[0].booked, results[0].for_review), (4, 1));

    // By creditor reference: paid in full, out of the dunning index, the
    // day recorded.
    let first = state(&f, 0).await;
    assert_eq!(first.payments.summary.status, PaymentStatus::Paid);
    assert!(!first.indexed, "a paid invoice leaves the dunning index");
    assert_eq!(first.payments.paid_in_full_on, Some(day(2, 2)));
    // By number in lower-case free text with spaces: a partial payment.
    let second = state(&f, 1).await;
    assert_eq!(second.payments.summary.status, PaymentStatus::PartiallyPaid);
    assert_eq!(second.payments.summary.open, eur(13800));
    assert!(second.indexed);
    // One transfer for two invoices: oldest first, the surplus is credit.
    assert_eq!(
        state(&f, 2).await.payments.summary.status,
        PaymentStatus::Paid
    );
    assert_eq!(
        state(&f, 3).await.payments.summary.status,
        PaymentStatus::Paid
    );
    assert_eq!(f.store.customer_credit(&f.a.id).await.unwrap(), [eur(350)]);
    assert_eq!(state(&f, 4).await.payments.summary.open, eur(4520));
    // The unknown transfer waits for a person, with its data.
    let review = f.store.payment_review_list(&f.entity.id).await.unwrap();
    assert_eq!(review.len(), 1);
    assert_eq!(review[0].entry_id, "BANK-2026-02-0004");
    assert_eq!(review[0].amount, eur(4200));
    assert_eq!(review[0].remittance.as_deref(), Some("Spende Sommerfest"));
    assert!(
        review[0].reason.contains("no creditor reference"),
        "{}",
        review[0].reason
    );

    // The same file again (another object key): nothing changes.
    let again = import(&f.service, "february-053-001-08.xml").await.unwrap();
    assert_eq!(again[0].outcome, "already_imported");
    assert_eq!(
        f.store
            .payments_of_invoice(&f.invoices[1].content().id)
            .await
            .unwrap(),
        [eur(10000)]
    );
    assert_eq!(
        f.store
            .payment_review_list(&f.entity.id)
            .await
            .unwrap()
            .len(),
        1
    );

    // March (.001.02): the rest of B's invoice by amount from a payer known
    // since February, a returned debit that reopens invoice 1, a bank fee.
    let march = import(&f.service, "march-053-001-02.xml").await.unwrap();
    assert_eq!((march[0].booked, march[0].for_review), (2, 0));
    let fifth = state(&f, 4).await;
    assert_eq!(fifth.payments.summary.status, PaymentStatus::Paid);
    assert_eq!(fifth.payments.paid_in_full_on, Some(day(3, 2)));
    let reopened = state(&f, 0).await;
    assert_eq!(reopened.payments.summary.status, PaymentStatus::Open);
    assert_eq!(reopened.payments.summary.open, eur(11900));
    assert_eq!(reopened.payments.paid_in_full_on, None);
    assert!(reopened.indexed, "a reopened invoice is dunned again");
    assert_eq!(
        f.store
            .payments_of_invoice(&f.invoices[0].content().id)
            .await
            .unwrap()
            .len(),
        2
    );
    let _ = &f.b;
}

#[tokio::test]
async fn a_camt_054_notification_books_by_end_to_end_id_reopens_a_return_and_reviews_foreign_money()
{
    // GIVEN invoices RE-2026-000001..5
    let f = fixture().await;
    // WHEN a camt.054 notification (no balances) arrives with a collection
    // of invoice 3 named only by its end-to-end id, that collection's return
    // (AM04) and a credit in USD
    let results = import(&f.service, "april-054-001-08.xml").await.unwrap();
    // THEN the file is imported, not refused for lacking balances or for
    // the foreign entry
    assert_eq!(results[0].outcome, "imported");
    assert_eq!((results[0].booked, results[0].for_review), (2, 1));
    // AND invoice 3 was paid, then reopened by the return and dunned again
    let third = state(&f, 2).await;
    assert_eq!(third.payments.summary.status, PaymentStatus::Open);
    assert_eq!(third.payments.summary.open, eur(5950));
    assert!(
        third.indexed,
        "a returned debit puts the invoice back into dunning"
    );
    // (the store lists payments by id, not by date: compare as a set)
    let mut payments = f
        .store
        .payments_of_invoice(&f.invoices[2].content().id)
        .await
        .unwrap();
    payments.sort_by_key(|p| p.amount());
    assert_eq!(payments, [eur(-5950), eur(5950)]);
    // AND the USD credit waits for a person, with the reason, while B's
    // invoice it names stays open
    let review = f.store.payment_review_list(&f.entity.id).await.unwrap();
    assert_eq!(review.len(), 1);
    assert_eq!(review[0].entry_id, "FX-2026-04-0003");
    assert!(review[0].reason.contains("USD"), "{}", review[0].reason);
    assert_eq!(
        state(&f, 4).await.payments.summary.status,
        PaymentStatus::Open
    );
}

#[tokio::test]
async fn broken_files_are_refused_with_a_reason_and_change_nothing() {
    let f = fixture().await;
    for (fixture, reason) in [
        ("does-not-reconcile.xml", "does not reconcile"),
        ("malformed.xml", "not well-formed XML"),
        ("unknown-currency.xml", "unknown currency EUX"),
    ] {
        let results = import(&f.service, fixture).await.unwrap();
        assert_eq!(results[0].outcome, "refused", "{fixture}");
        let why = results[0].reason.as_deref().unwrap_or_default();
        assert!(why.contains(reason), "{fixture}: {why}");
    }
    for invoice in &f.invoices {
        let payments = f
            .store
            .payments_of_invoice(&invoice.content().id)
            .await
            .unwrap();
        assert!(payments.is_empty(), "nothing was booked");
    }
    assert!(
        f.store
            .payment_review_list(&f.entity.id)
            .await
            .unwrap()
            .is_empty()
    );
    let notes = f.store.attention_notes(&f.entity.id).await.unwrap();
    assert_eq!(
        notes.len(),
        3,
        "each refusal is on the needs-attention list"
    );
    assert!(notes.iter().all(|n| n.kind == "statement_refused"));
    // A valid file is still imported afterwards.
    let results = import(&f.service, "february-053-001-08.xml").await.unwrap();
    assert_eq!(results[0].outcome, "imported");
}

#[tokio::test]
async fn an_event_without_bucket_or_key_is_a_permanent_failure() {
    let store = local_store().await;
    let aws = local_clients().await;
    let service = ImportService::new(
        store,
        aws.s3,
        billing_domain::ids::BillingEntityId::new("none"),
    );
    use billing_lambda::{Disposition, Failure};
    let event = s3_event(serde_json::json!({}), serde_json::json!({}));
    let err = handle(&service, LambdaEvent::new(event, Context::default()))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("no bucket name"), "{err}");
    assert_eq!(err.disposition(), Disposition::Permanent);

    // An object that is not there (deleted meanwhile): S3's error, which
    // Lambda retries and then parks in the failed-invocations queue.
    let event = s3_event(
        serde_json::json!({"name": stack_name("StatementsBucket")}),
        serde_json::json!({"key": "statements/missing.xml", "size": 1}),
    );
    let err = handle(&service, LambdaEvent::new(event, Context::default()))
        .await
        .unwrap_err();
    assert_eq!(err.code(), "s3_unavailable", "{err}");
    assert!(err.to_string().contains("statements/missing.xml"), "{err}");
}
