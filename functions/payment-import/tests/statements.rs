//! Bank statements against the local AWS: the real handler reads fixture
//! files (written for this project, `tests/fixtures/camt/`) from the
//! statements bucket and books them in the billing table.

use aws_lambda_events::event::s3::S3Event;
use billing_domain::direct_debit::{
    DirectDebitScheme, Mandate, MandateReference, MandateStatus, MandateUse,
};
use billing_domain::invoice::Invoice;
use billing_domain::money::{Currency, Money};
use billing_domain::party::{CustomerKind, Iban};
use billing_domain::payment::PaymentStatus;
use billing_store::{BillingStore, CreditKind, StoredMandate};
use billing_tests::billing::{customer, direct_debit_invoice, invoice, stored_seller};
use billing_tests::webhook::{local_store, repo_path};
use billing_tests::{local_clients, resource, stack_name, unique_id};
use chrono::{NaiveDate, Utc};
use direct_debit_collection::service::{CollectionDay, CollectionService, WrittenFile};
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
    let body = std::fs::read(repo_path(&format!("tests/fixtures/camt/{fixture}"))).unwrap();
    import_bytes(service, fixture, body).await
}

/// Uploads a file (a fixture with its placeholders filled in) under
/// `statements/` as `name` and plays the S3 event.
async fn import_bytes(
    service: &ImportService,
    name: &str,
    body: Vec<u8>,
) -> Result<Vec<ObjectResult>, String> {
    let aws = local_clients().await;
    let bucket = stack_name("StatementsBucket");
    let key = format!("statements/{}/{name}", unique_id("run"));
    let size = body.len() as u64;
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
        serde_json::json!({"key": key.replace(' ', "+"), "size": size}),
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

/// A returned invoice: open again for `open`, without its paid-in-full
/// day (payment behaviour), and back in the dunning index.
fn assert_reopened(state: &billing_store::DunningState, open: Money) {
    assert_eq!(state.payments.summary.status, PaymentStatus::Open);
    assert_eq!(state.payments.summary.open, open);
    assert_eq!(state.payments.paid_in_full_on, None);
    assert!(state.indexed, "a returned invoice is dunned again");
}

/// The payments and returns booked on an invoice, smallest first (the
/// store lists them by id, not by date: compared as a set).
async fn payments_by_amount(store: &BillingStore, invoice: &Invoice) -> Vec<Money> {
    let mut payments = store
        .payments_of_invoice(&invoice.content().id)
        .await
        .unwrap();
    payments.sort_by_key(|p| p.amount());
    payments
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
    // The surplus is stored as what it is: an overpayment of that bank entry.
    let journal = f
        .store
        .journal_inputs(
            &f.entity.id,
            NaiveDate::from_ymd_opt(2000, 1, 1).unwrap(),
            NaiveDate::from_ymd_opt(2100, 1, 1).unwrap(),
        )
        .await
        .unwrap();
    let surplus: Vec<_> = journal
        .credits
        .iter()
        .filter(|credit| credit.account_id == f.a.id)
        .collect();
    assert_eq!(surplus.len(), 1);
    assert_eq!(surplus[0].kind, Some(CreditKind::Overpayment));
    assert_eq!(surplus[0].amount, eur(350));
    assert!(surplus[0].statement_id.is_some() && surplus[0].entry_id.is_some());
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
    assert_reopened(&state(&f, 0).await, eur(11900));
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
    assert_reopened(&state(&f, 2).await, eur(5950));
    assert_eq!(
        payments_by_amount(&f.store, &f.invoices[2]).await,
        [eur(-5950), eur(5950)]
    );
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

/// A seller collecting by direct debit: customers A, B and C with stored
/// CORE mandates and an invoice each collected under them (RE-2026-000001
/// to 3: 119.00, 238.00, 59.50, issued 2 March, collected 16 March), and
/// customer D paying RE-2026-000004 (95.20) by transfer.
struct DirectDebits {
    store: BillingStore,
    service: ImportService,
    entity: billing_domain::seller::BillingEntity,
    accounts: Vec<billing_domain::party::CustomerAccount>,
    mandates: Vec<Mandate>,
    invoices: Vec<Invoice>,
}

async fn direct_debits() -> DirectDebits {
    let store = local_store().await;
    let entity = stored_seller(&store).await;
    let creditor = entity
        .direct_debit
        .as_ref()
        .expect("the example seller collects by direct debit")
        .creditor_identifier
        .clone();
    let mut accounts = Vec::new();
    let mut mandates = Vec::new();
    let mut invoices = Vec::new();
    for (iban, net) in [
        ("DE89370400440532013000", 10000),
        ("DE02120300000000202051", 20000),
        ("DE02500105170137075030", 5000),
    ] {
        let account = customer(&entity.id, CustomerKind::Business);
        let mandate = Mandate {
            // References are unique per creditor across the shared table.
            reference: MandateReference::parse(&unique_id("M")).unwrap(),
            creditor_identifier: creditor.clone(),
            signed_on: day(1, 15),
            scheme: DirectDebitScheme::Core,
            usage: MandateUse::Recurrent,
            debtor_name: "Muster Handel GmbH".to_owned(),
            debtor_iban: Iban::parse(iban).unwrap(),
            debtor_bic: None,
            status: MandateStatus::Active,
            last_collected_on: None,
            agreed_pre_notification_days: None,
            amendments: Vec::new(),
        };
        let invoice = direct_debit_invoice(
            &store,
            &entity,
            &account,
            &mandate,
            day(3, 2),
            Decimal::new(net, 2),
        )
        .await;
        store
            .create_mandate(
                &StoredMandate::new(account.id.clone(), mandate.clone(), Utc::now()),
                None,
            )
            .await
            .unwrap();
        accounts.push(account);
        mandates.push(mandate);
        invoices.push(invoice);
    }
    let by_transfer = customer(&entity.id, CustomerKind::Business);
    invoices.push(
        invoice(
            &store,
            &entity,
            &by_transfer,
            day(3, 2),
            Decimal::new(8000, 2),
        )
        .await,
    );
    accounts.push(by_transfer);
    let aws = local_clients().await;
    let service = ImportService::new(store.clone(), aws.s3, entity.id.clone());
    DirectDebits {
        store,
        service,
        entity,
        accounts,
        mandates,
        invoices,
    }
}

impl DirectDebits {
    /// A fixture with this run's mandate references and a message id of
    /// its own filled in.
    fn file(&self, path: &str) -> Vec<u8> {
        std::fs::read_to_string(repo_path(path))
            .unwrap()
            .replace("{MANDATE_A}", self.mandates[0].reference.as_str())
            .replace("{MANDATE_B}", self.mandates[1].reference.as_str())
            .replace("{RUN}", &unique_id("r"))
            .into_bytes()
    }

    async fn state(&self, index: usize) -> billing_store::DunningState {
        self.store
            .dunning_state(&self.invoices[index].content().id)
            .await
            .unwrap()
            .unwrap()
    }

    async fn mandate(&self, index: usize) -> Mandate {
        let stored = self.store.mandates(&self.accounts[index].id).await.unwrap();
        assert_eq!(stored.len(), 1);
        stored[0].mandate.clone()
    }

    /// The invoice's audit trail as "action: reason", newest first.
    async fn audit_actions(&self, index: usize) -> Vec<String> {
        self.store
            .invoice_audit(
                &self.invoices[index].content().id,
                &billing_store::Page::first(50),
            )
            .await
            .unwrap()
            .items
            .into_iter()
            .map(|entry| format!("{}: {}", entry.action, entry.reason.unwrap_or_default()))
            .collect()
    }
}

/// The bytes of a collection file the step wrote.
async fn collection_file(s3: &aws_sdk_s3::Client, file: &WrittenFile) -> String {
    let body = s3
        .get_object()
        .bucket(resource("DOCUMENTS_BUCKET"))
        .key(&file.file.key)
        .send()
        .await
        .unwrap()
        .body
        .collect()
        .await
        .unwrap()
        .to_vec();
    String::from_utf8(body).unwrap()
}

/// The end-to-end ids of a pain.008, in order.
fn end_to_end_ids(xml: &str) -> Vec<String> {
    xml.split("<EndToEndId>")
        .skip(1)
        .filter_map(|part| part.split("</EndToEndId>").next())
        .map(str::to_owned)
        .collect()
}

#[tokio::test]
async fn a_month_of_direct_debits_collected_once_two_returns_reopen_and_the_closed_account_is_left_out_next()
 {
    // GIVEN three invoices collected by direct debit and one paid by
    // transfer
    let f = direct_debits().await;
    let numbers: Vec<&str> = f.invoices.iter().map(|i| i.number().as_str()).collect();
    assert_eq!(
        numbers,
        [
            "RE-2026-000001",
            "RE-2026-000002",
            "RE-2026-000003",
            "RE-2026-000004"
        ]
    );
    let notice = f.invoices[0].content().direct_debit.clone().unwrap();
    assert_eq!(notice.collection_date, day(3, 16));
    assert_eq!(notice.mandate_reference, f.mandates[0].reference);
    assert!(f.invoices[3].content().direct_debit.is_none());

    // WHEN the collection step runs on Friday 13 March (the file collects
    // on Monday the 16th)
    let aws = local_clients().await;
    let collection = CollectionService::new(
        f.store.clone(),
        aws.s3.clone(),
        resource("DOCUMENTS_BUCKET"),
        f.entity.id.clone(),
    );
    let report = collection
        .collect(CollectionDay::Date(day(3, 13)), Utc::now())
        .await
        .unwrap();
    // THEN one CORE file holds exactly the three direct-debit invoices,
    // each once, and nothing needs attention
    assert!(report.attention.is_empty(), "{:?}", report.attention);
    assert_eq!(report.files.len(), 1, "{report:?}");
    assert_eq!(report.files[0].collection_date, day(3, 16));
    assert_eq!(
        end_to_end_ids(&collection_file(&aws.s3, &report.files[0]).await),
        ["RE-2026-000001", "RE-2026-000002", "RE-2026-000003"]
    );
    // AND the same step again collects nothing twice
    let again = collection
        .collect(CollectionDay::Date(day(3, 13)), Utc::now())
        .await
        .unwrap();
    assert_eq!((again.collected, again.files.len()), (0, 0), "{again:?}");

    // WHEN the March statement arrives: the collections and the transfer
    // credited on the 16th, RE-2026-000001 returned with AM04 (fee inside
    // the debit) and RE-2026-000002 with AC04 (fee debited on its own)
    let statement = f.file("tests/fixtures/camt/direct-debit-returns-053-001-08.xml");
    let results = import_bytes(&f.service, "direct-debit-returns.xml", statement.clone())
        .await
        .unwrap();
    assert_eq!(results[0].outcome, "imported");
    assert_eq!(
        (
            results[0].booked,
            results[0].for_review,
            results[0].mandates_blocked
        ),
        (6, 0, 1),
        "three collections, a transfer and two returns; the fee debit is the bank's"
    );

    // THEN the two returned invoices are open again, without their
    // paid-in-full day, and back in the dunning index
    assert_reopened(&f.state(0).await, eur(11900));
    assert_reopened(&f.state(1).await, eur(23800));
    // AND the AM04 return took back the collection, not the bank's fee
    // inside the debit
    assert_eq!(
        payments_by_amount(&f.store, &f.invoices[0]).await,
        [eur(-11900), eur(11900)]
    );
    // AND the rest are paid and out of dunning
    for index in [2, 3] {
        let paid = f.state(index).await;
        assert_eq!(paid.payments.summary.status, PaymentStatus::Paid);
        assert!(!paid.indexed);
    }
    // AND dunning picks up exactly the two returned invoices of these four
    let due = f.store.dunning_due(day(3, 31)).await.unwrap();
    let due: std::collections::HashSet<&str> =
        due.invoices.iter().map(|i| i.invoice_id.as_str()).collect();
    let picked: Vec<bool> = f
        .invoices
        .iter()
        .map(|i| due.contains(i.content().id.as_str()))
        .collect();
    assert_eq!(picked, [true, true, false, false]);

    // AND the AC04 mandate is blocked with its reason, so the next
    // collection leaves that customer out with the reason; AM04 keeps A's
    let blocked = f.mandate(1).await;
    let MandateStatus::Blocked { since, reason } = &blocked.status else {
        panic!("the AC04 mandate is blocked: {:?}", blocked.status);
    };
    assert_eq!(*since, day(3, 19));
    assert!(reason.contains("AC04 account closed"), "{reason}");
    assert!(reason.contains("RE-2026-000002"), "{reason}");
    let kept = f.mandate(0).await;
    assert_eq!(kept.status, MandateStatus::Active);
    // WHEN April's invoices (issued on the 18th, before the return came
    // back) are due and the collection step runs for them
    let april: Vec<Invoice> = {
        let mut april = Vec::new();
        for index in [0, 1] {
            april.push(
                direct_debit_invoice(
                    &f.store,
                    &f.entity,
                    &f.accounts[index],
                    &f.mandates[index],
                    day(3, 18),
                    Decimal::new(10000, 2),
                )
                .await,
            );
        }
        april
    };
    let collected_on = april[0]
        .content()
        .direct_debit
        .clone()
        .unwrap()
        .collection_date;
    let step_day = collected_on.pred_opt().unwrap();
    let next = collection
        .collect(CollectionDay::Date(step_day), Utc::now())
        .await
        .unwrap();
    // THEN A's invoice is collected and the AC04 customer's is left out,
    // listed for attention with the reason
    assert_eq!(next.files.len(), 1, "{next:?}");
    assert_eq!(
        end_to_end_ids(&collection_file(&aws.s3, &next.files[0]).await),
        [april[0].number().as_str()]
    );
    assert_eq!(next.attention.len(), 1, "{:?}", next.attention);
    assert_eq!(next.attention[0].0, april[1].content().id);
    assert!(
        next.attention[0].1.contains("blocked"),
        "{:?}",
        next.attention
    );
    let notes = f.store.attention_notes(&f.entity.id).await.unwrap();
    let note = notes
        .iter()
        .find(|n| n.kind == "direct_debit" && n.message.contains(april[1].number().as_str()))
        .unwrap_or_else(|| panic!("the left-out invoice is on the list: {notes:?}"));
    assert!(
        note.message.contains("AC04 account closed"),
        "{}",
        note.message
    );
    let account_trail = f
        .store
        .account_audit(&f.accounts[1].id, &billing_store::Page::first(50))
        .await
        .unwrap();
    assert!(
        account_trail
            .items
            .iter()
            .any(|entry| entry.action == "account.mandate.block")
    );

    // AND each return is on its invoice's audit trail with the reason
    assert_eq!(
        f.audit_actions(0).await,
        ["invoice.direct_debit_return: AM04 insufficient funds"]
    );
    assert_eq!(
        f.audit_actions(1).await,
        ["invoice.direct_debit_return: AC04 account closed"]
    );
    assert!(f.audit_actions(2).await.is_empty());

    // AND the bank's fees are recorded on the returns, where the journal
    // books them as bank fees
    let inputs = f
        .store
        .journal_inputs(&f.entity.id, day(3, 1), day(3, 31))
        .await
        .unwrap();
    let mut fees: Vec<(String, Option<String>, Money)> = inputs
        .documents
        .iter()
        .flat_map(|document| {
            document.payments.iter().filter_map(|payment| {
                payment.bank_fee.map(|fee| {
                    (
                        document.overview.invoice_number.clone(),
                        payment.return_reason.clone(),
                        fee,
                    )
                })
            })
        })
        .collect();
    fees.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        fees,
        [
            (
                "RE-2026-000001".to_owned(),
                Some("AM04".to_owned()),
                eur(300)
            ),
            (
                "RE-2026-000002".to_owned(),
                Some("AC04".to_owned()),
                eur(450)
            ),
        ]
    );

    // AND the same statement again changes nothing
    let again = import_bytes(&f.service, "direct-debit-returns.xml", statement)
        .await
        .unwrap();
    assert_eq!(again[0].outcome, "already_imported");
    assert_eq!(f.audit_actions(0).await.len(), 1);
}

#[tokio::test]
async fn a_pain_002_applies_its_rejections_like_returns_and_reviews_an_unknown_end_to_end_id() {
    // GIVEN three invoices collected by direct debit
    let f = direct_debits().await;
    // WHEN the bank's status report rejects RE-2026-000002 (MD01),
    // RE-2026-000003 (AM04) and RE-2026-000099 (not ours) before settlement
    let report = f.file("tests/fixtures/pain002/rejections-001-10.xml");
    let results = import_bytes(&f.service, "pain002.xml", report.clone())
        .await
        .unwrap();
    // THEN two rejections are applied, one waits for a person, the MD01
    // mandate is blocked
    assert_eq!(results[0].outcome, "imported");
    assert_eq!(
        (
            results[0].rejected,
            results[0].for_review,
            results[0].mandates_blocked,
            results[0].booked
        ),
        (2, 1, 1, 0)
    );
    // AND nothing was booked: the rejected invoices stay open and dunned
    for index in [1, 2] {
        let rejected = f.state(index).await;
        assert_eq!(rejected.payments.summary.status, PaymentStatus::Open);
        assert!(rejected.indexed);
        assert!(
            f.store
                .payments_of_invoice(&f.invoices[index].content().id)
                .await
                .unwrap()
                .is_empty()
        );
    }
    // AND each rejection is on its invoice's audit trail, the accepted one
    // has none
    let trails = [
        f.audit_actions(0).await,
        f.audit_actions(1).await,
        f.audit_actions(2).await,
    ];
    assert_eq!(
        trails,
        [
            vec![],
            vec!["invoice.direct_debit_rejected: MD01 no valid mandate".to_owned()],
            vec!["invoice.direct_debit_rejected: AM04 insufficient funds".to_owned()],
        ]
    );
    // AND MD01 blocked B's mandate (found by the invoice's
    // pre-notification), AM04 kept C's
    assert!(matches!(
        f.mandate(1).await.status,
        MandateStatus::Blocked { since, .. } if since == day(3, 12)
    ));
    assert_eq!(f.mandate(2).await.status, MandateStatus::Active);
    // AND the unknown end-to-end id is on the review list with the reason
    let review = f.store.payment_review_list(&f.entity.id).await.unwrap();
    assert_eq!(review.len(), 1);
    assert_eq!(review[0].entry_id, "RE-2026-000099");
    assert_eq!(review[0].return_reason.as_deref(), Some("AC04"));
    assert_eq!(review[0].amount, eur(11900));
    assert!(
        review[0].reason.contains("names no invoice of ours"),
        "{}",
        review[0].reason
    );
    // AND the block rejected whole, naming no transaction, is on the
    // needs-attention list with its reason
    let notes = f.store.attention_notes(&f.entity.id).await.unwrap();
    assert_eq!(notes.len(), 1);
    assert_eq!(notes[0].kind, "collection_rejected");
    assert!(
        notes[0].message.contains("DD-B2B-20260316") && notes[0].message.contains("FF01"),
        "{}",
        notes[0].message
    );
    // AND the same report again changes nothing
    let again = import_bytes(&f.service, "pain002.xml", report)
        .await
        .unwrap();
    assert_eq!(again[0].outcome, "already_imported");
    assert_eq!(f.audit_actions(1).await.len(), 1);
    assert_eq!(
        f.store
            .payment_review_list(&f.entity.id)
            .await
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn a_malformed_pain_002_is_refused_naming_the_element_and_changes_nothing() {
    let f = direct_debits().await;
    let broken = std::fs::read(repo_path("tests/fixtures/pain002/missing-msgid.xml")).unwrap();
    let results = import_bytes(&f.service, "missing-msgid.xml", broken)
        .await
        .unwrap();
    assert_eq!(results[0].outcome, "refused");
    let why = results[0].reason.as_deref().unwrap_or_default();
    assert!(why.contains("status report refused"), "{why}");
    assert!(why.contains("<MsgId>"), "{why}");
    for index in 0..3 {
        assert!(f.audit_actions(index).await.is_empty());
        assert_eq!(f.mandate(index).await.status, MandateStatus::Active);
    }
    assert!(
        f.store
            .payment_review_list(&f.entity.id)
            .await
            .unwrap()
            .is_empty()
    );
    let notes = f.store.attention_notes(&f.entity.id).await.unwrap();
    assert_eq!(notes.len(), 1);
    assert_eq!(notes[0].kind, "status_report_refused");
    assert!(notes[0].message.contains("<MsgId>"), "{}", notes[0].message);
}
