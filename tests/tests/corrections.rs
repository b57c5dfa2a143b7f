//! A billing clerk's corrections against the local AWS, through the real
//! invoice run, invoice-pdf and invoice-delivery handlers: cancelling an
//! invoice (a cancellation document with its own number, a PDF whose
//! embedded XML passes the project's EN 16931 checks, a delivered e-mail,
//! the original cancelled and out of dunning, refused a second time, the
//! audit trail naming the clerk and the reason, the billed period billable
//! again only when asked), partial credit notes within what is creditable,
//! manual payments, and customer credit applied and refunded.

use aws_sdk_dynamodb::types::AttributeValue;
use billing_domain::correction::{CreditSelection, LineCredit};
use billing_domain::ids::{AccountId, InvoiceId};
use billing_domain::money::{Currency, Money};
use billing_domain::numbering::DocumentType;
use billing_domain::numbering::NumberSeries;
use billing_domain::party::CustomerAccount;
use billing_domain::staff::StaffRole;
use billing_domain::tax::VatCategoryCode;
use billing_lambda::aws::AwsClients;
use billing_lambda::sqs::RetryBackoff;
use billing_run::RunRequest;
use billing_store::{
    Actor, CancelRequest, CreditApplication, CreditNoteRequest, CreditRefund, ManualPayment, Page,
    StoreError, StoredInvoice,
};
use billing_tests::delivery::{
    delivery_service, document_service, recorded_mails, sqs_event, take_messages,
};
use billing_tests::run::{LocalRun, consumer, isolated_entity, monthly_contract};
use billing_tests::{local_clients, resource, unique_id};
use chrono::{NaiveDate, Utc};
use invoice_delivery::handler::{RETRY_FIRST, RETRY_MAX};
use lambda_runtime::{Context, LambdaEvent};
use rust_decimal::Decimal;

fn d(text: &str) -> NaiveDate {
    text.parse().unwrap()
}

fn eur(text: &str) -> Money {
    Money::new(text.parse::<Decimal>().unwrap(), Currency::EUR)
}

fn clerk() -> Actor {
    Actor {
        user: unique_id("clerk-sub"),
        role: StaffRole::Billing,
    }
}

/// A seller with a customer on a monthly 100 EUR licence billed through
/// June, and the July invoice the run billed for it (119.00 EUR).
async fn billed_customer(aws: &AwsClients) -> (LocalRun, CustomerAccount, StoredInvoice) {
    let run = LocalRun::new(aws, isolated_entity()).await;
    let account = consumer(&run.entity, &unique_id("Storno GmbH"));
    let contract = monthly_contract(&account.id, "100.00", Some(d("2026-06-30")));
    run.store
        .seed_customer(&account, &[contract], &[], Utc::now())
        .await
        .unwrap();
    bill(&run, &account, "2026-07-01").await;
    let invoices = invoices(&run, &account.id, DocumentType::Invoice).await;
    assert_eq!(invoices.len(), 1);
    (run, account, invoices.into_iter().next().unwrap())
}

/// Runs the invoice run for `account` on `date` and returns how many
/// invoices it made. Batches are taken from the shared run queue until the
/// run is complete: a parallel test may hold this run's batch for a moment.
async fn bill(run: &LocalRun, account: &CustomerAccount, date: &str) -> u64 {
    let planned = run
        .plan(RunRequest {
            run_date: Some(d(date)),
            account_ids: vec![account.id.clone()],
            ..RunRequest::default()
        })
        .await;
    for _ in 0..50 {
        let failures = run.deliver(&planned.run_id).await;
        assert!(failures.is_empty(), "batches failed: {failures:?}");
        if let Some(outcome) = run.record(&planned.run_id).await.outcome {
            return outcome.invoices as u64;
        }
    }
    panic!("run {} did not complete", planned.run_id);
}

async fn invoices(run: &LocalRun, account: &AccountId, kind: DocumentType) -> Vec<StoredInvoice> {
    run.invoices_of(account)
        .await
        .into_iter()
        .filter(|i| i.invoice.content().document_type == kind)
        .collect()
}

async fn raw_item(
    aws: &AwsClients,
    id: &InvoiceId,
) -> std::collections::HashMap<String, AttributeValue> {
    let (pk, sk) = billing_store::keys::invoice(id);
    aws.dynamodb
        .get_item()
        .table_name(resource("BILLING_TABLE"))
        .key("pk", AttributeValue::S(pk))
        .key("sk", AttributeValue::S(sk))
        .consistent_read(true)
        .send()
        .await
        .unwrap()
        .item
        .unwrap()
}

fn cancel(invoice: &InvoiceId, revision: u64, actor: &Actor, release: bool) -> CancelRequest {
    CancelRequest {
        invoice_id: invoice.clone(),
        expected_revision: revision,
        actor: actor.clone(),
        reason: "Kunde hat den Vertrag vor Beginn widerrufen".to_owned(),
        release_periods: release,
        at: Utc::now(),
    }
}

/// Runs the project's EN 16931 checks (XSD + Schematron, as the pytest
/// suite runs them) on the XML embedded in `pdf`.
fn passes_en16931(pdf: &[u8]) -> Result<(), String> {
    billing_tests::python_check("check_cii.py", pdf, "pdf")
}

#[tokio::test]
async fn a_cancelled_invoice_gets_its_own_document_leaves_dunning_and_bills_again_when_released() {
    let aws = local_clients().await;
    let (run, account, original) = billed_customer(&aws).await;
    let store = run.store.clone();
    let id = original.invoice.content().id.clone();
    let number = original.invoice.number().clone();
    assert!(raw_item(&aws, &id).await.contains_key("dunning_shard"));
    let series = NumberSeries::german_default(DocumentType::CreditNote);
    let counter = series.counter_key(&run.entity.id, Utc::now().date_naive());
    let clerk = clerk();

    // GIVEN the customer paid 50.00 of it, recorded by a clerk
    let paid = store
        .record_manual_payment(&ManualPayment {
            invoice_id: id.clone(),
            expected_revision: 0,
            actor: clerk.clone(),
            amount: eur("50.00"),
            value_date: d("2026-07-05"),
            reference: "Kasse 2026-07-05".to_owned(),
            reason: Some("bar bezahlt".to_owned()),
            at: Utc::now(),
        })
        .await
        .unwrap();
    assert_eq!(paid.revision, 1);
    assert_eq!(paid.summary.open, eur("69.00"));

    // WHEN a clerk cancels it with a stale revision, nothing changes
    let stale = store.cancel_invoice(&cancel(&id, 0, &clerk, true)).await;
    assert!(
        matches!(stale, Err(StoreError::RevisionMismatch { .. })),
        "{stale:?}"
    );
    assert_eq!(store.counter_value(&counter).await.unwrap(), 0);
    let unchanged = store.invoice_payments(&id).await.unwrap().unwrap();
    assert!(!unchanged.cancelled);
    assert_eq!(unchanged.summary.open, eur("69.00"));
    assert_eq!(
        store
            .invoice_audit(&id, &Page::first(10))
            .await
            .unwrap()
            .items
            .len(),
        1,
        "only the payment's record"
    );

    // WHEN the clerk cancels it, releasing the billed period
    let cancelled = store
        .cancel_invoice(&cancel(&id, 1, &clerk, true))
        .await
        .unwrap();

    // THEN a cancellation document with its own credit-note number exists
    let year = Utc::now().date_naive().format("%Y").to_string();
    assert_eq!(cancelled.number.as_str(), format!("RK-{year}-000001"));
    assert_eq!(cancelled.amount, eur("119.00"));
    assert_eq!(cancelled.customer_credit, Some(eur("50.00")));
    assert_eq!(cancelled.released.len(), 1);
    let note = store
        .invoice(&cancelled.credit_note_id)
        .await
        .unwrap()
        .unwrap();
    let content = note.invoice.content();
    assert_eq!(content.document_type, DocumentType::CreditNote);
    assert_eq!(content.references.preceding_invoice.as_ref(), Some(&number));
    assert_eq!(
        content.references.preceding_invoice_date,
        Some(original.invoice.content().issue_date)
    );
    // AND the original is cancelled, asks for nothing and is not dunned
    let after = store.invoice_payments(&id).await.unwrap().unwrap();
    assert!(after.cancelled);
    assert!(after.summary.open.is_zero());
    let item = raw_item(&aws, &id).await;
    assert_eq!(
        item.get("status"),
        Some(&AttributeValue::S("cancelled".into()))
    );
    assert!(!item.contains_key("dunning_shard") && !item.contains_key("dunning_at"));
    assert_eq!(store.invoice(&id).await.unwrap().unwrap().revision, 2);
    // AND what was paid is customer credit
    assert_eq!(
        store.credit_balance(&account.id).await.unwrap(),
        vec![eur("50.00")]
    );

    // AND a second cancellation is refused, whatever revision it names
    for revision in [1, 2] {
        let again = store
            .cancel_invoice(&cancel(&id, revision, &clerk, true))
            .await;
        assert!(
            matches!(again, Err(StoreError::AlreadyCancelled { .. })),
            "{again:?}"
        );
    }
    assert_eq!(store.counter_value(&counter).await.unwrap(), 1);

    // AND the audit record names the clerk and the reason, per invoice and account
    let trail = store.invoice_audit(&id, &Page::first(10)).await.unwrap();
    assert_eq!(trail.items.len(), 2);
    let entry = &trail.items[0];
    assert_eq!(entry.action, "invoice.cancel");
    assert_eq!(entry.actor, clerk);
    assert_eq!(
        entry.reason.as_deref(),
        Some("Kunde hat den Vertrag vor Beginn widerrufen")
    );
    assert_eq!(entry.change["after"]["status"], "cancelled");
    let first = store
        .account_audit(&account.id, &Page::first(1))
        .await
        .unwrap();
    assert_eq!(first.items[0], *entry, "newest first");
    let rest = store
        .account_audit(
            &account.id,
            &Page {
                limit: 1,
                cursor: first.next_cursor.clone(),
            },
        )
        .await
        .unwrap();
    assert_eq!(rest.items[0].action, "invoice.manual_payment");

    // WHEN its documents are produced and delivered like any invoice's
    document_service(&aws, store.clone())
        .produce(&cancelled.credit_note_id)
        .await
        .unwrap();
    let archived = store
        .invoice(&cancelled.credit_note_id)
        .await
        .unwrap()
        .unwrap();
    let pdf_record = archived
        .documents
        .iter()
        .find(|d| d.content_type == "application/pdf")
        .unwrap();
    let pdf = aws
        .s3
        .get_object()
        .bucket(resource("DOCUMENTS_BUCKET"))
        .key(&pdf_record.key)
        .send()
        .await
        .unwrap()
        .body
        .collect()
        .await
        .unwrap()
        .into_bytes();
    // THEN the PDF in the bucket carries XML that passes the EN 16931 checks
    passes_en16931(&pdf).unwrap();
    let queue = resource("DELIVERY_QUEUE_URL");
    let note_id = cancelled.credit_note_id.as_str().to_owned();
    let messages = take_messages(&aws, &queue, |body| body.contains(&note_id)).await;
    assert_eq!(messages.len(), 1);
    let backoff = RetryBackoff::new(aws.sqs.clone(), &queue, RETRY_FIRST, RETRY_MAX);
    let response = invoice_delivery::handler::handle(
        &delivery_service(&aws, store.clone()),
        &backoff,
        LambdaEvent::new(sqs_event(&messages), Context::default()),
    )
    .await
    .unwrap();
    assert!(response.batch_item_failures.is_empty());
    // AND the customer got the cancellation by e-mail
    let subject = format!(
        "Stornorechnung {} zur Rechnung {} von ",
        cancelled.number, number
    );
    let mails: Vec<_> = recorded_mails()
        .into_iter()
        .filter(|m| m.raw_data.contains(cancelled.number.as_str()))
        .collect();
    assert_eq!(mails.len(), 1);
    let parsed = mail_parser::MessageParser::default()
        .parse(mails[0].raw_data.as_bytes())
        .unwrap();
    assert!(
        parsed.subject().unwrap().starts_with(&subject),
        "{:?}",
        parsed.subject()
    );
    let text = parsed.body_text(0).unwrap();
    assert!(
        text.contains(&format!("storniert die Rechnung {number}")),
        "{text}"
    );
    let delivered = store
        .delivery_state(&cancelled.credit_note_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(delivered.status, billing_store::DeliveryStatus::Sent);

    // AND the next run (a day later: a run of its own) bills July again
    assert_eq!(bill(&run, &account, "2026-07-02").await, 1);
    assert_eq!(
        invoices(&run, &account.id, DocumentType::Invoice)
            .await
            .len(),
        2
    );
}

#[tokio::test]
async fn without_release_nothing_is_billed_again_and_a_contract_billed_further_refuses_release() {
    let aws = local_clients().await;
    let (run, account, july) = billed_customer(&aws).await;
    let store = run.store.clone();
    let clerk = clerk();

    // GIVEN August was billed after July
    assert_eq!(bill(&run, &account, "2026-08-01").await, 1);
    let july_id = july.invoice.content().id.clone();

    // WHEN July is cancelled releasing its period, the contract refuses:
    // it is billed through August now; nothing changes
    let refused = store
        .cancel_invoice(&cancel(&july_id, 0, &clerk, true))
        .await;
    match &refused {
        Err(StoreError::Refused { what, reason }) => {
            assert!(what.starts_with("contract "), "{what}");
            assert!(reason.contains("billed through 2026-08-31"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
    assert!(
        !store
            .invoice_payments(&july_id)
            .await
            .unwrap()
            .unwrap()
            .cancelled
    );

    // WHEN it is cancelled without releasing, the next run bills nothing
    store
        .cancel_invoice(&cancel(&july_id, 0, &clerk, false))
        .await
        .unwrap();
    assert_eq!(bill(&run, &account, "2026-08-02").await, 0);
    assert_eq!(
        invoices(&run, &account.id, DocumentType::Invoice)
            .await
            .len(),
        2
    );
    // AND the cancellation is the only credit note; no credit without payments
    assert_eq!(
        invoices(&run, &account.id, DocumentType::CreditNote)
            .await
            .len(),
        1
    );
    assert!(store.credit_balance(&account.id).await.unwrap().is_empty());
}

#[tokio::test]
async fn partial_credit_notes_stay_within_the_invoice_and_credit_is_applied_and_refunded() {
    let aws = local_clients().await;
    let (run, account, july) = billed_customer(&aws).await;
    let store = run.store.clone();
    let clerk = clerk();
    let id = july.invoice.content().id.clone();
    let credit = |revision: u64, selection: CreditSelection| CreditNoteRequest {
        invoice_id: id.clone(),
        expected_revision: revision,
        actor: clerk.clone(),
        reason: "Kulanz".to_owned(),
        selection,
        at: Utc::now(),
    };

    // WHEN half of the licence line is credited: 50.00 + 9.50
    let half = store
        .credit_note(&credit(
            0,
            CreditSelection::Lines {
                lines: vec![LineCredit {
                    position: 1,
                    quantity: Some(Decimal::new(5, 1)),
                }],
            },
        ))
        .await
        .unwrap();
    // THEN the credit note has the next credit-note number, and the open amount drops
    assert!(half.number.as_str().starts_with("RK-"));
    assert_eq!(half.amount, eur("59.50"));
    assert_eq!(half.open_after, eur("59.50"));
    let payments = store.invoice_payments(&id).await.unwrap().unwrap();
    assert_eq!(payments.summary.open, eur("59.50"));
    assert!(!payments.cancelled);

    // AND no more than the rest can be credited, by line or by amount
    let by_line = store
        .credit_note(&credit(
            1,
            CreditSelection::Lines {
                lines: vec![LineCredit {
                    position: 1,
                    quantity: Some(Decimal::new(6, 1)),
                }],
            },
        ))
        .await;
    assert!(
        matches!(&by_line, Err(StoreError::Refused { reason, .. }) if reason.contains("exceeds the 0.5")),
        "{by_line:?}"
    );
    let by_amount = store
        .credit_note(&credit(
            1,
            CreditSelection::Amount {
                net: eur("50.01"),
                category: VatCategoryCode::S,
                rate: Decimal::from(19),
                description: None,
            },
        ))
        .await;
    assert!(
        matches!(&by_amount, Err(StoreError::Refused { reason, .. }) if reason.contains("exceeds the 59.50")),
        "{by_amount:?}"
    );
    // WHEN 80.00 is paid by hand: 59.50 settle the invoice, 20.50 are credit
    let paid = store
        .record_manual_payment(&ManualPayment {
            invoice_id: id.clone(),
            expected_revision: 1,
            actor: clerk.clone(),
            amount: eur("80.00"),
            value_date: d("2026-07-10"),
            reference: "Scheck 4711".to_owned(),
            reason: None,
            at: Utc::now(),
        })
        .await
        .unwrap();
    assert!(paid.summary.open.is_zero());
    assert_eq!(paid.customer_credit, Some(eur("20.50")));
    assert!(!raw_item(&aws, &id).await.contains_key("dunning_shard"));
    assert_eq!(
        store.credit_balance(&account.id).await.unwrap(),
        vec![eur("20.50")]
    );

    // GIVEN August is billed (119.00 open)
    assert_eq!(bill(&run, &account, "2026-08-01").await, 1);
    let august = invoices(&run, &account.id, DocumentType::Invoice)
        .await
        .into_iter()
        .find(|i| i.invoice.content().id != id)
        .unwrap();
    let august_id = august.invoice.content().id.clone();
    let apply = |amount: &str| CreditApplication {
        invoice_id: august_id.clone(),
        expected_revision: 0,
        actor: clerk.clone(),
        amount: eur(amount),
        reason: None,
        at: Utc::now(),
    };
    // WHEN more credit is applied than there is, nothing changes
    let too_much = store.apply_credit(&apply("20.51")).await;
    assert!(
        matches!(too_much, Err(StoreError::Refused { .. })),
        "{too_much:?}"
    );
    // WHEN the credit is applied
    let applied = store.apply_credit(&apply("20.50")).await.unwrap();
    // THEN August's open amount drops and the credit is used up
    assert_eq!(applied.summary.open, eur("98.50"));
    assert!(store.credit_balance(&account.id).await.unwrap().is_empty());
    let payments = store.payments_of_invoice(&august_id).await.unwrap();
    assert_eq!(payments, vec![eur("20.50")]);

    // GIVEN August is overpaid by 1.50
    let overpaid = store
        .record_manual_payment(&ManualPayment {
            invoice_id: august_id.clone(),
            expected_revision: 1,
            actor: clerk.clone(),
            amount: eur("100.00"),
            value_date: d("2026-08-10"),
            reference: "Überweisung".to_owned(),
            reason: None,
            at: Utc::now(),
        })
        .await
        .unwrap();
    assert_eq!(overpaid.customer_credit, Some(eur("1.50")));
    let revision = store.account(&account.id).await.unwrap().unwrap().revision;
    assert_eq!(revision, 1, "applying credit changed the account");
    let refund = |amount: &str, revision: u64| CreditRefund {
        account_id: account.id.clone(),
        expected_revision: revision,
        actor: clerk.clone(),
        amount: eur(amount),
        reference: "SEPA-Rückzahlung 2026-08-12".to_owned(),
        reason: Some("Kunde bittet um Erstattung".to_owned()),
        at: Utc::now(),
    };
    // WHEN more is refunded than there is, or on a stale revision, nothing changes
    assert!(matches!(
        store.refund_credit(&refund("1.51", revision)).await,
        Err(StoreError::Refused { .. })
    ));
    assert!(matches!(
        store.refund_credit(&refund("1.50", 0)).await,
        Err(StoreError::RevisionMismatch { .. })
    ));
    // WHEN the credit is refunded
    let refunded = store
        .refund_credit(&refund("1.50", revision))
        .await
        .unwrap();
    // THEN nothing is left, and the account's trail records it
    assert!(refunded.balance.is_zero());
    assert_eq!(refunded.revision, 2);
    assert!(store.credit_balance(&account.id).await.unwrap().is_empty());
    let trail = store
        .account_audit(&account.id, &Page::first(200))
        .await
        .unwrap();
    let actions: Vec<&str> = trail.items.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(
        actions,
        [
            "account.refund_credit",
            "invoice.manual_payment",
            "invoice.apply_credit",
            "invoice.manual_payment",
            "invoice.credit_note",
        ]
    );
    assert!(trail.next_cursor.is_none());
}

#[tokio::test]
async fn of_two_clerks_writing_the_same_revision_one_wins_and_the_other_changes_nothing() {
    let aws = local_clients().await;
    let (run, _account, invoice) = billed_customer(&aws).await;
    let store = run.store.clone();
    let id = invoice.invoice.content().id.clone();
    let payment = |amount: &str, clerk: Actor| ManualPayment {
        invoice_id: id.clone(),
        expected_revision: 0,
        actor: clerk,
        amount: eur(amount),
        value_date: d("2026-07-05"),
        reference: format!("Kasse {amount}"),
        reason: None,
        at: Utc::now(),
    };
    // WHEN two clerks book different payments on the revision they both read
    let (ten, twenty) = (payment("10.00", clerk()), payment("20.00", clerk()));
    let (first, second) = tokio::join!(
        store.record_manual_payment(&ten),
        store.record_manual_payment(&twenty),
    );
    // THEN exactly one is booked and the other is told it is stale
    let results = [first, second];
    let booked: Vec<_> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
    assert_eq!(booked.len(), 1, "{results:?}");
    assert!(
        results
            .iter()
            .any(|r| matches!(r, Err(StoreError::RevisionMismatch { .. }))),
        "{results:?}"
    );
    // AND only the winner's payment and audit record exist
    let paid = store.payments_of_invoice(&id).await.unwrap();
    assert_eq!(paid.len(), 1);
    assert_eq!(paid[0], booked[0].summary.paid);
    assert_eq!(store.invoice(&id).await.unwrap().unwrap().revision, 1);
    let trail = store.invoice_audit(&id, &Page::first(10)).await.unwrap();
    assert_eq!(trail.items.len(), 1);
}

/// The credit note's issue date: today in the seller's time zone.
fn issued_today(run: &LocalRun) -> NaiveDate {
    Utc::now().with_timezone(&run.entity.time_zone).date_naive()
}

#[tokio::test]
async fn a_credit_note_that_settles_an_invoice_sets_its_paid_in_full_date() {
    let aws = local_clients().await;
    let (run, account, july) = billed_customer(&aws).await;
    let store = run.store.clone();
    let clerk = clerk();
    let id = july.invoice.content().id.clone();

    // GIVEN 59.50 of the 119.00 were paid (59.50 open)
    store
        .record_manual_payment(&ManualPayment {
            invoice_id: id.clone(),
            expected_revision: 0,
            actor: clerk.clone(),
            amount: eur("59.50"),
            value_date: d("2026-07-05"),
            reference: "Kasse".to_owned(),
            reason: None,
            at: Utc::now(),
        })
        .await
        .unwrap();
    assert_eq!(
        store
            .invoice_payments(&id)
            .await
            .unwrap()
            .unwrap()
            .paid_in_full_on,
        None
    );

    // WHEN half the licence is credited: 0.5 × 100.00 = 50.00 + 19 % 9.50
    // = 59.50, exactly what is open
    let credited = store
        .credit_note(&CreditNoteRequest {
            invoice_id: id.clone(),
            expected_revision: 1,
            actor: clerk.clone(),
            reason: "Kulanz".to_owned(),
            selection: CreditSelection::Lines {
                lines: vec![LineCredit {
                    position: 1,
                    quantity: Some(Decimal::new(5, 1)),
                }],
            },
            at: Utc::now(),
        })
        .await
        .unwrap();
    assert_eq!(credited.amount, eur("59.50"));
    assert!(credited.open_after.is_zero());

    // THEN the invoice is paid in full on the credit note's date (before:
    // no date, so it dropped out of days-to-pay and the on-time share)
    let today = issued_today(&run);
    let payments = store.invoice_payments(&id).await.unwrap().unwrap();
    assert_eq!(payments.paid_in_full_on, Some(today));
    let item = raw_item(&aws, &id).await;
    assert_eq!(item.get("status"), Some(&AttributeValue::S("paid".into())));
    assert_eq!(
        item.get("paid_on_time"),
        Some(&AttributeValue::Bool(
            today <= july.invoice.content().due_date
        ))
    );
    assert!(!item.contains_key("dunning_shard"));
    // AND the payment-behaviour read counts it as settled on that day
    let histories = store
        .account_receivable_histories(&account.id, today)
        .await
        .unwrap();
    let receivables: Vec<_> = billing_domain::receivables::receivables_as_of(&histories, today)
        .unwrap()
        .into_iter()
        .filter(|r| r.receivable)
        .collect();
    assert_eq!(receivables.len(), 1);
    assert_eq!(receivables[0].paid_in_full_on, Some(today));
    let behaviour = billing_domain::receivables::payment_behaviour(&receivables, today).unwrap();
    assert_eq!(behaviour.settled, 1);
}

#[tokio::test]
async fn a_cancellation_after_a_partial_credit_credits_exactly_the_rest() {
    let aws = local_clients().await;
    let (run, account, july) = billed_customer(&aws).await;
    let store = run.store.clone();
    let clerk = clerk();
    let id = july.invoice.content().id.clone();

    // GIVEN 100.00 of the 119.00 were paid
    store
        .record_manual_payment(&ManualPayment {
            invoice_id: id.clone(),
            expected_revision: 0,
            actor: clerk.clone(),
            amount: eur("100.00"),
            value_date: d("2026-07-05"),
            reference: "Kasse".to_owned(),
            reason: None,
            at: Utc::now(),
        })
        .await
        .unwrap();
    // AND a Rechnungskorrektur credited half the licence: 50.00 + 9.50 =
    // 59.50, so 119.00 − 59.50 = 59.50 is due and the 40.50 paid beyond it
    // are customer credit
    let half = store
        .credit_note(&CreditNoteRequest {
            invoice_id: id.clone(),
            expected_revision: 1,
            actor: clerk.clone(),
            reason: "Kulanz".to_owned(),
            selection: CreditSelection::Lines {
                lines: vec![LineCredit {
                    position: 1,
                    quantity: Some(Decimal::new(5, 1)),
                }],
            },
            at: Utc::now(),
        })
        .await
        .unwrap();
    assert_eq!(half.customer_credit, Some(eur("40.50")));

    // WHEN the invoice is cancelled (before: refused as partly credited)
    let rest = store
        .cancel_invoice(&cancel(&id, 2, &clerk, false))
        .await
        .unwrap();

    // THEN the cancellation credits exactly the rest: the other half line,
    // 50.00 net, and the 19.00 − 9.50 = 9.50 VAT outstanding: 59.50
    assert_eq!(rest.amount, eur("59.50"));
    let note = store.invoice(&rest.credit_note_id).await.unwrap().unwrap();
    let totals = note.invoice.content().totals;
    assert_eq!(
        (totals.net_total, totals.tax_total),
        (eur("50.00"), eur("9.50"))
    );
    // AND of the 100.00 paid, the 59.50 not given back yet become credit
    // too: 40.50 + 59.50 = 100.00, never the 100.00 twice
    assert_eq!(rest.customer_credit, Some(eur("59.50")));
    assert_eq!(
        store.credit_balance(&account.id).await.unwrap(),
        vec![eur("100.00")]
    );
    // AND the original is credited in full and cancelled
    let item = raw_item(&aws, &id).await;
    assert_eq!(
        item.get("credited_amount"),
        Some(&AttributeValue::S("119.00".into()))
    );
    assert!(
        store
            .invoice_payments(&id)
            .await
            .unwrap()
            .unwrap()
            .cancelled
    );

    // WHEN August (119.00) is billed, 19.00 paid, and the 100.00 of credit
    // applied to it
    assert_eq!(bill(&run, &account, "2026-08-01").await, 1);
    let august = invoices(&run, &account.id, DocumentType::Invoice)
        .await
        .into_iter()
        .find(|i| i.invoice.content().id != id)
        .unwrap();
    let august_id = august.invoice.content().id.clone();
    store
        .record_manual_payment(&ManualPayment {
            invoice_id: august_id.clone(),
            expected_revision: 0,
            actor: clerk.clone(),
            amount: eur("19.00"),
            value_date: d("2026-08-05"),
            reference: "Kasse".to_owned(),
            reason: None,
            at: Utc::now(),
        })
        .await
        .unwrap();
    let at = Utc::now();
    let applied = store
        .apply_credit(&CreditApplication {
            invoice_id: august_id.clone(),
            expected_revision: 1,
            actor: clerk.clone(),
            amount: eur("100.00"),
            reason: None,
            at,
        })
        .await
        .unwrap();
    // THEN the credit settles it: paid in full on the day it was applied
    assert!(applied.summary.open.is_zero());
    assert_eq!(
        store
            .invoice_payments(&august_id)
            .await
            .unwrap()
            .unwrap()
            .paid_in_full_on,
        Some(at.date_naive())
    );
}
