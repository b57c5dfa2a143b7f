//! The collection step against the local AWS: direct-debit invoices
//! finalized through the real store path, mandates recorded as the staff
//! API records them, files read back from the documents bucket and checked
//! by the project's pain.008 XSD and bank-rule check.

use std::collections::BTreeMap;

use billing_domain::direct_debit::{
    CollectionAccount, CreditorSettings, DirectDebitScheme, Mandate, MandateStatus, MandateUpdate,
};
use billing_domain::invoice::Invoice;
use billing_domain::matching::MatchRule;
use billing_domain::party::{CustomerAccount, CustomerKind, Iban};
use billing_domain::seller::BillingEntity;
use billing_domain::staff::StaffRole;
use billing_sepa::samples;
use billing_store::{
    Actor, AuditEntry, BatchState, BillingStore, EntryBooked, EntryBooking, InvoiceBooking, Page,
    StoredMandate,
};
use billing_tests::billing::{customer, direct_debit_invoice, invoice};
use billing_tests::webhook::{example_entity, local_store};
use billing_tests::{local_clients, resource, unique_id};
use chrono::{NaiveDate, Utc};
use direct_debit_collection::service::{CollectionDay, CollectionService, WrittenFile};
use rust_decimal::Decimal;

fn day(month: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, month, d).unwrap()
}

/// Friday 11 December 2026: a file sent today collects on Monday the 14th.
const RUN_DAY: (u32, u32) = (12, 11);

fn run_day() -> CollectionDay {
    CollectionDay::Date(day(RUN_DAY.0, RUN_DAY.1))
}

/// A seller that collects by direct debit (the EPC's sample creditor).
async fn collecting_seller(store: &BillingStore) -> BillingEntity {
    let mut entity = example_entity(&unique_id("ent"));
    let creditor = samples::creditor().unwrap();
    entity.direct_debit = Some(CreditorSettings {
        creditor_identifier: creditor.identifier,
        collection_account: CollectionAccount {
            iban: creditor.iban,
            bic: creditor.bic,
        },
        pre_notification_days: 14,
    });
    store.put_billing_entity(&entity).await.unwrap();
    entity
}

/// A recurrent mandate with a reference no other test uses.
fn mandate(scheme: DirectDebitScheme) -> Mandate {
    let reference = unique_id("M").replace('-', "");
    let reference: String = reference
        .chars()
        .rev()
        .take(30)
        .collect::<String>()
        .chars()
        .rev()
        .collect();
    samples::mandate(
        &format!("M{reference}"),
        "Muster Handel GmbH",
        "DE89 3704 0044 0532 0130 00",
        scheme,
    )
    .unwrap()
}

async fn record(
    store: &BillingStore,
    account: &CustomerAccount,
    mandate: &Mandate,
) -> StoredMandate {
    let stored = StoredMandate::new(account.id.clone(), mandate.clone(), Utc::now());
    store.create_mandate(&stored, None).await.unwrap();
    stored
}

fn service(
    store: &BillingStore,
    s3: &aws_sdk_s3::Client,
    entity: &BillingEntity,
) -> CollectionService {
    CollectionService::new(
        store.clone(),
        s3.clone(),
        resource("DOCUMENTS_BUCKET"),
        entity.id.clone(),
    )
}

async fn file_bytes(s3: &aws_sdk_s3::Client, file: &WrittenFile) -> Vec<u8> {
    s3.get_object()
        .bucket(resource("DOCUMENTS_BUCKET"))
        .key(&file.file.key)
        .send()
        .await
        .unwrap()
        .body
        .collect()
        .await
        .unwrap()
        .to_vec()
}

/// The end-to-end ids of a file, in order.
fn end_to_end_ids(xml: &str) -> Vec<String> {
    xml.split("<EndToEndId>")
        .skip(1)
        .filter_map(|part| part.split("</EndToEndId>").next())
        .map(str::to_owned)
        .collect()
}

/// Runs the project's pain.008 checks (XSD + German bank rules) on `xml`.
fn passes_sepa_checks(xml: &[u8]) -> Result<(), String> {
    billing_tests::python_check("check_sepa.py", xml, "xml")
}

async fn still_awaiting(aws: &billing_lambda::aws::AwsClients, invoice: &Invoice) -> bool {
    let (pk, sk) = billing_store::keys::invoice(&invoice.content().id);
    let item = aws
        .dynamodb
        .get_item()
        .table_name(resource("BILLING_TABLE"))
        .key("pk", aws_sdk_dynamodb::types::AttributeValue::S(pk))
        .key("sk", aws_sdk_dynamodb::types::AttributeValue::S(sk))
        .consistent_read(true)
        .send()
        .await
        .unwrap()
        .item
        .unwrap();
    item.contains_key("collection_shard")
}

fn numbers(invoices: &[&Invoice]) -> Vec<String> {
    let mut numbers: Vec<String> = invoices.iter().map(|i| i.number().to_string()).collect();
    numbers.sort();
    numbers
}

#[tokio::test]
async fn a_month_of_billing_collects_exactly_the_direct_debit_invoices_once() {
    let aws = local_clients().await;
    let store = local_store().await;
    let entity = collecting_seller(&store).await;
    let net = |euros: i64| Decimal::new(euros * 100, 2);
    // Three customers on direct debit (two CORE, one B2B), two on transfer.
    let core_a = customer(&entity.id, CustomerKind::Business);
    let core_b = customer(&entity.id, CustomerKind::Consumer);
    let b2b = customer(&entity.id, CustomerKind::Business);
    let transfer_a = customer(&entity.id, CustomerKind::Business);
    let transfer_b = customer(&entity.id, CustomerKind::Consumer);
    let (mandate_a, mandate_b) = (
        mandate(DirectDebitScheme::Core),
        mandate(DirectDebitScheme::Core),
    );
    let mandate_c = mandate(DirectDebitScheme::B2b);
    let a1 = direct_debit_invoice(&store, &entity, &core_a, &mandate_a, day(11, 2), net(100)).await;
    let stored_a = record(&store, &core_a, &mandate_a).await;
    let a2 =
        direct_debit_invoice(&store, &entity, &core_a, &mandate_a, day(11, 30), net(100)).await;
    let b1 = direct_debit_invoice(&store, &entity, &core_b, &mandate_b, day(11, 20), net(40)).await;
    record(&store, &core_b, &mandate_b).await;
    let c1 = direct_debit_invoice(&store, &entity, &b2b, &mandate_c, day(11, 25), net(2000)).await;
    record(&store, &b2b, &mandate_c).await;
    // Issued 1 December: collected on the 15th, not in this file.
    let later =
        direct_debit_invoice(&store, &entity, &core_a, &mandate_a, day(12, 1), net(100)).await;
    for (account, issued) in [
        (&transfer_a, day(11, 5)),
        (&transfer_b, day(11, 20)),
        (&transfer_a, day(11, 30)),
    ] {
        let paid_by_transfer = invoice(&store, &entity, account, issued, net(80)).await;
        assert!(paid_by_transfer.content().direct_debit.is_none());
        assert!(!still_awaiting(&aws, &paid_by_transfer).await);
    }
    assert_eq!(a2.content().due_date, day(12, 14));
    assert!(still_awaiting(&aws, &a1).await);

    let collection = service(&store, &aws.s3, &entity);
    let report = collection.collect(run_day(), Utc::now()).await.unwrap();

    // One file per scheme, for Monday the 14th.
    assert_eq!(report.files.len(), 2, "{report:?}");
    assert_eq!(report.collected, 4);
    assert!(report.attention.is_empty(), "{:?}", report.attention);
    let by_scheme: BTreeMap<DirectDebitScheme, &WrittenFile> =
        report.files.iter().map(|f| (f.scheme, f)).collect();
    let core = by_scheme[&DirectDebitScheme::Core];
    let b2b_file = by_scheme[&DirectDebitScheme::B2b];
    assert_eq!(core.collection_date, day(12, 14));
    let core_xml = file_bytes(&aws.s3, core).await;
    let b2b_xml = file_bytes(&aws.s3, b2b_file).await;
    let core_text = String::from_utf8(core_xml.clone()).unwrap();
    // Exactly the direct-debit invoices due, each once, RCUR, named in
    // the remittance text.
    assert_eq!(end_to_end_ids(&core_text), numbers(&[&a1, &a2, &b1]));
    assert_eq!(
        end_to_end_ids(&String::from_utf8(b2b_xml.clone()).unwrap()),
        numbers(&[&c1])
    );
    assert!(core_text.contains(&format!("<Ustrd>Rechnung {}</Ustrd>", a1.number())));
    assert_eq!(core_text.matches("<SeqTp>RCUR</SeqTp>").count(), 1);
    assert!(core_text.contains("<Cd>CORE</Cd>"));
    assert_eq!(core.file.transactions, 3);
    for xml in [&core_xml, &b2b_xml] {
        passes_sepa_checks(xml).unwrap();
    }
    // Collected invoices leave the index; the mandate records the day.
    for collected in [&a1, &a2, &b1, &c1] {
        assert!(!still_awaiting(&aws, collected).await);
    }
    assert!(still_awaiting(&aws, &later).await);
    let stored = store.mandates(&core_a.id).await.unwrap();
    assert_eq!(stored[0].mandate.last_collected_on, Some(day(12, 14)));
    assert_eq!(stored[0].revision, stored_a.revision + 1);

    // The same day again: nothing new, the same files.
    let again = collection.collect(run_day(), Utc::now()).await.unwrap();
    assert_eq!(again.collected, 0);
    assert!(again.files.is_empty(), "{again:?}");
    let listed = store
        .collection_file_page(&entity.id, &Page::first(50))
        .await
        .unwrap();
    assert_eq!(listed.items.len(), 2);
    assert!(
        listed
            .items
            .iter()
            .all(|b| b.state == BatchState::Collected)
    );

    // The next day's step collects the invoice due on the 15th alone.
    let next = collection
        .collect(CollectionDay::Date(day(12, 14)), Utc::now())
        .await
        .unwrap();
    assert_eq!(next.files.len(), 1);
    let next_xml = String::from_utf8(file_bytes(&aws.s3, &next.files[0]).await).unwrap();
    assert_eq!(end_to_end_ids(&next_xml), numbers(&[&later]));
}

/// Direct-debit customers with `per_customer` invoices each, due by the
/// 14th, with their mandates recorded.
async fn due_invoices(
    store: &BillingStore,
    entity: &BillingEntity,
    customers: usize,
    per_customer: usize,
) -> Vec<(CustomerAccount, StoredMandate, Vec<Invoice>)> {
    let mut out = Vec::new();
    for _ in 0..customers {
        let account = customer(&entity.id, CustomerKind::Business);
        let mandate = mandate(DirectDebitScheme::Core);
        let mut invoices = Vec::new();
        for n in 0..per_customer {
            let issued = day(11, 10 + u32::try_from(n).unwrap());
            invoices.push(
                direct_debit_invoice(
                    store,
                    entity,
                    &account,
                    &mandate,
                    issued,
                    Decimal::new(5000, 2),
                )
                .await,
            );
        }
        let stored = record(store, &account, &mandate).await;
        out.push((account, stored, invoices));
    }
    out
}

#[tokio::test]
async fn two_concurrent_steps_for_the_same_date_write_one_file() {
    let aws = local_clients().await;
    let store = local_store().await;
    let entity = collecting_seller(&store).await;
    let customers = due_invoices(&store, &entity, 6, 10).await;
    let all: Vec<&Invoice> = customers.iter().flat_map(|(_, _, i)| i).collect();

    let first = service(&store, &aws.s3, &entity);
    let second = service(&store, &aws.s3, &entity);
    let now = Utc::now();
    let (one, two) = tokio::join!(
        first.collect(run_day(), now),
        second.collect(run_day(), now)
    );
    let (one, two) = (one.unwrap(), two.unwrap());

    // One batch, one file; every invoice in it once, marked once.
    let listed = store
        .collection_file_page(&entity.id, &Page::first(50))
        .await
        .unwrap();
    assert_eq!(listed.items.len(), 1, "{listed:?}");
    let batch = &listed.items[0];
    assert_eq!(batch.state, BatchState::Collected);
    assert_eq!(batch.members, 60);
    assert_eq!(one.collected + two.collected, 60);
    let written: Vec<&WrittenFile> = one.files.iter().chain(&two.files).collect();
    assert!(!written.is_empty());
    assert!(
        written
            .iter()
            .all(|f| f.file == batch.file.clone().unwrap())
    );
    let xml = file_bytes(&aws.s3, written[0]).await;
    assert_eq!(
        end_to_end_ids(&String::from_utf8(xml.clone()).unwrap()),
        numbers(&all)
    );
    passes_sepa_checks(&xml).unwrap();
}

#[tokio::test]
async fn a_crash_after_the_file_and_before_marking_debits_nobody_twice() {
    let aws = local_clients().await;
    let store = local_store().await;
    let entity = collecting_seller(&store).await;
    let customers = due_invoices(&store, &entity, 3, 2).await;
    let all: Vec<&Invoice> = customers.iter().flat_map(|(_, _, i)| i).collect();
    let collection = service(&store, &aws.s3, &entity);

    // The step claims and writes the file, then dies before marking.
    let claimed = collection.claim(run_day(), Utc::now()).await.unwrap();
    assert_eq!(claimed.batches.len(), 1);
    let batch_id = claimed.batches.iter().next().unwrap().clone();
    let written = collection.write_file(&batch_id).await.unwrap().unwrap();
    let first_bytes = file_bytes(&aws.s3, &written).await;
    for invoice in &all {
        assert!(still_awaiting(&aws, invoice).await);
    }
    // Meanwhile a clerk moves one customer to another account: the file
    // already at the bank stays what it is.
    let (account, stored, _) = &customers[0];
    let mut changed = stored.mandate.clone();
    changed.amend(
        day(12, 11),
        MandateUpdate::DebtorAccount(Iban::parse("DE12 5001 0517 0648 4898 90").unwrap()),
    );
    let clerk = AuditEntry {
        actor: Actor {
            user: "clerk-1".to_owned(),
            role: StaffRole::Billing,
        },
        at: Utc::now(),
        action: "account.mandate.amend".to_owned(),
        invoice_id: None,
        account_id: account.id.clone(),
        reason: None,
        change: serde_json::json!({"fields": ["debtor_iban"]}),
    };
    store
        .change_mandate(stored, stored.revision, changed, &clerk)
        .await
        .unwrap();

    // Lambda retries the step: it finishes the sealed batch, writes
    // nothing new and marks each invoice once.
    let rerun = collection.collect(run_day(), Utc::now()).await.unwrap();
    assert_eq!(rerun.collected, 6);
    assert_eq!(rerun.files.len(), 1);
    assert_eq!(rerun.files[0].file, written.file);
    assert_eq!(file_bytes(&aws.s3, &rerun.files[0]).await, first_bytes);
    for invoice in &all {
        assert!(!still_awaiting(&aws, invoice).await);
    }
    let listed = store
        .collection_file_page(&entity.id, &Page::first(50))
        .await
        .unwrap();
    assert_eq!(listed.items.len(), 1);
    assert_eq!(
        end_to_end_ids(&String::from_utf8(first_bytes.clone()).unwrap()),
        numbers(&all)
    );
    passes_sepa_checks(&first_bytes).unwrap();
    // The mandate changed by the clerk still records the collection.
    let after = store.mandates(&account.id).await.unwrap();
    assert_eq!(after[0].mandate.last_collected_on, Some(day(12, 14)));
    // And later steps leave them alone.
    let later = collection
        .collect(CollectionDay::Date(day(12, 14)), Utc::now())
        .await
        .unwrap();
    assert_eq!(later.collected, 0);
    assert!(later.files.is_empty());

    // A crash right after claiming is finished the same way.
    let more = due_invoices(&store, &entity, 1, 1).await;
    let pending = collection
        .claim(CollectionDay::Date(day(12, 14)), Utc::now())
        .await
        .unwrap();
    assert_eq!(pending.batches.len(), 1);
    let finished = collection
        .collect(CollectionDay::Date(day(12, 14)), Utc::now())
        .await
        .unwrap();
    assert_eq!(finished.collected, 1);
    assert!(!still_awaiting(&aws, &more[0].2[0]).await);
}

#[tokio::test]
async fn what_cannot_be_collected_goes_on_the_attention_list_and_the_rest_goes_out() {
    let aws = local_clients().await;
    let store = local_store().await;
    let entity = collecting_seller(&store).await;
    let net = Decimal::new(10000, 2);
    let issued = day(11, 20);
    let good = customer(&entity.id, CustomerKind::Business);
    let good_mandate = mandate(DirectDebitScheme::Core);
    let fine = direct_debit_invoice(&store, &entity, &good, &good_mandate, issued, net).await;
    record(&store, &good, &good_mandate).await;
    // No mandate on file.
    let none = customer(&entity.id, CustomerKind::Business);
    let missing = direct_debit_invoice(
        &store,
        &entity,
        &none,
        &mandate(DirectDebitScheme::Core),
        issued,
        net,
    )
    .await;
    // Blocked after a return.
    let blocked_customer = customer(&entity.id, CustomerKind::Business);
    let mut blocked_mandate = mandate(DirectDebitScheme::Core);
    let blocked = direct_debit_invoice(
        &store,
        &entity,
        &blocked_customer,
        &blocked_mandate,
        issued,
        net,
    )
    .await;
    blocked_mandate.status = MandateStatus::Blocked {
        since: day(12, 1),
        reason: "AC04 account closed".to_owned(),
    };
    record(&store, &blocked_customer, &blocked_mandate).await;
    // Lapsed: no collection for 36 months.
    let lapsed_customer = customer(&entity.id, CustomerKind::Business);
    let mut lapsed_mandate = mandate(DirectDebitScheme::Core);
    let lapsed = direct_debit_invoice(
        &store,
        &entity,
        &lapsed_customer,
        &lapsed_mandate,
        issued,
        net,
    )
    .await;
    lapsed_mandate.signed_on = NaiveDate::from_ymd_opt(2020, 1, 10).unwrap();
    lapsed_mandate.last_collected_on = NaiveDate::from_ymd_opt(2023, 12, 10);
    record(&store, &lapsed_customer, &lapsed_mandate).await;
    // An IBAN of the wrong length for its country (mod 97 holds).
    let bad_iban_customer = customer(&entity.id, CustomerKind::Business);
    let mut bad_iban_mandate = mandate(DirectDebitScheme::Core);
    let bad_iban = direct_debit_invoice(
        &store,
        &entity,
        &bad_iban_customer,
        &bad_iban_mandate,
        issued,
        net,
    )
    .await;
    bad_iban_mandate.debtor_iban = Iban::parse("DE543704004405320130001").unwrap();
    record(&store, &bad_iban_customer, &bad_iban_mandate).await;
    // Nothing to collect: the customer paid by transfer meanwhile.
    let zero_customer = customer(&entity.id, CustomerKind::Business);
    let zero_mandate = mandate(DirectDebitScheme::Core);
    let zero =
        direct_debit_invoice(&store, &entity, &zero_customer, &zero_mandate, issued, net).await;
    record(&store, &zero_customer, &zero_mandate).await;
    let booking = EntryBooking {
        statement_id: unique_id("stm"),
        entry_id: "1".to_owned(),
        invoices: vec![InvoiceBooking {
            invoice_id: zero.content().id.clone(),
            amount: zero.amount_due(),
        }],
        credit: None,
        value_date: day(12, 1),
        rule: MatchRule::CreditorReference,
        reason: "test".to_owned(),
        booked_at: Utc::now(),
    };
    assert!(matches!(
        store.book_entry(&booking).await.unwrap(),
        EntryBooked::Booked(_)
    ));

    let collection = service(&store, &aws.s3, &entity);
    let report = collection.collect(run_day(), Utc::now()).await.unwrap();

    // The rest of the batch goes out.
    assert_eq!(report.files.len(), 1);
    let xml = file_bytes(&aws.s3, &report.files[0]).await;
    assert_eq!(
        end_to_end_ids(&String::from_utf8(xml.clone()).unwrap()),
        numbers(&[&fine])
    );
    passes_sepa_checks(&xml).unwrap();
    // Each refused invoice is on the list with its reason, no bank data.
    let notes = store.attention_notes(&entity.id).await.unwrap();
    let reason = |invoice: &Invoice| -> String {
        notes
            .iter()
            .find(|n| n.kind == "direct_debit" && n.message.contains(invoice.number().as_str()))
            .unwrap_or_else(|| panic!("no note for {}: {notes:?}", invoice.number()))
            .message
            .clone()
    };
    assert!(reason(&missing).contains("no SEPA mandate on file"));
    assert!(reason(&blocked).contains("blocked since 2026-12-01: AC04 account closed"));
    assert!(reason(&lapsed).contains("lapsed on 2026-12-10"));
    assert!(reason(&bad_iban).contains("debtor_iban is not accepted in a SEPA file"));
    assert!(!reason(&bad_iban).contains("DE5437"));
    assert!(reason(&zero).contains("nothing is open"));
    assert_eq!(report.attention.len(), 5);
    // Fixable refusals stay due (collected once fixed); nothing open leaves.
    for waiting in [&missing, &blocked, &lapsed, &bad_iban] {
        assert!(still_awaiting(&aws, waiting).await);
    }
    assert!(!still_awaiting(&aws, &zero).await);
    assert!(!still_awaiting(&aws, &fine).await);

    // The missing mandate arrives: the next step collects that invoice.
    let late_mandate = samples::mandate(
        missing
            .content()
            .direct_debit
            .as_ref()
            .unwrap()
            .mandate_reference
            .as_str(),
        "Muster Handel GmbH",
        "DE89 3704 0044 0532 0130 00",
        DirectDebitScheme::Core,
    )
    .unwrap();
    record(&store, &none, &late_mandate).await;
    let next = collection
        .collect(CollectionDay::Date(day(12, 14)), Utc::now())
        .await
        .unwrap();
    assert_eq!(next.files.len(), 1);
    let next_xml = String::from_utf8(file_bytes(&aws.s3, &next.files[0]).await).unwrap();
    assert_eq!(end_to_end_ids(&next_xml), numbers(&[&missing]));
}
