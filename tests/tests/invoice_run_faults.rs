//! The invoice run under faults: a worker that dies between staging and
//! numbering, racing planners, duplicated messages and a customer that
//! cannot be billed. Each period is billed once, whatever happens.

use billing_domain::ids::InvoiceId;
use billing_domain::party::CustomerAccount;
use billing_domain::run::{CustomerRunInput, bill_customer};
use billing_run::RunRequest;
use billing_store::run::Staged;
use billing_tests::local_clients;
use billing_tests::run::{LocalRun, consumer, isolated_entity, monthly_contract};
use chrono::NaiveDate;

fn july() -> NaiveDate {
    "2026-07-01".parse().unwrap()
}

async fn customers(run: &LocalRun, count: usize) -> Vec<CustomerAccount> {
    let mut accounts = Vec::new();
    for i in 0..count {
        let account = consumer(&run.entity, &format!("Customer {i}"));
        let contract = monthly_contract(&account.id, "100.00", "2026-06-30".parse().ok());
        run.store
            .seed_customer(&account, &[contract], &[], chrono::Utc::now())
            .await
            .expect("stored");
        accounts.push(account);
    }
    accounts
}

fn july_run() -> RunRequest {
    RunRequest {
        run_date: Some(july()),
        ..RunRequest::default()
    }
}

/// Every customer has exactly one invoice, and the series is 1..=n.
async fn assert_billed_once(run: &LocalRun, accounts: &[CustomerAccount]) {
    let mut numbers = Vec::new();
    for account in accounts {
        let invoices = run.invoices_of(&account.id).await;
        assert_eq!(invoices.len(), 1, "{}", account.id);
        assert_eq!(invoices[0].invoice.content().lines.len(), 1);
        numbers.push(invoices[0].invoice.number().to_string());
        let state = run
            .store
            .customer_state(&account.id)
            .await
            .unwrap()
            .unwrap();
        let item = &state.subscriptions[0].subscription.items[0];
        assert_eq!(item.billed_through, "2026-07-31".parse().ok());
    }
    numbers.sort();
    let expected: Vec<String> = (1..=accounts.len())
        .map(|n| format!("RE-2026-{n:06}"))
        .collect();
    assert_eq!(numbers, expected);
    let counter = run
        .entity
        .series_for(billing_domain::numbering::DocumentType::Invoice)
        .unwrap()
        .counter_key(&run.entity.id, july());
    assert_eq!(
        run.store.counter_value(&counter).await.unwrap(),
        accounts.len() as u64
    );
}

#[tokio::test]
async fn a_worker_that_dies_between_staging_and_numbering_is_finished_by_the_retry() {
    // GIVEN a planned run, and a worker that staged one customer's bill and died
    let aws = local_clients().await;
    let run = LocalRun::new(&aws, isolated_entity()).await;
    let accounts = customers(&run, 3).await;
    let planned = run.plan(july_run()).await;
    let batches = run.take_batches(&planned).await;
    assert_eq!(batches.len(), 1);
    let state = run
        .store
        .customer_state(&accounts[0].id)
        .await
        .unwrap()
        .unwrap();
    let contracts = state.contracts();
    let bill = bill_customer(
        &CustomerRunInput {
            entity: &run.entity,
            account: &state.account.account,
            subscriptions: &contracts,
            pending: &state.pending,
            run_date: july(),
        },
        |_, _| InvoiceId::new(billing_tests::unique_id("inv-crashed")),
    )
    .unwrap()
    .unwrap();
    let staged = run
        .store
        .stage_bill(&planned.run_id, &state, &bill, run.on_day(july()))
        .await
        .unwrap();
    assert_eq!(staged, Staged::Staged);
    // The staged invoice has no number and is not announced for rendering.
    let waiting = run
        .store
        .unnumbered(&[bill.invoices[0].id.clone()])
        .await
        .unwrap();
    assert_eq!(waiting.len(), 1);
    assert!(run.invoices_of(&accounts[0].id).await.is_empty());

    // WHEN the batch is delivered again (the crashed delivery's retry)
    run.worker
        .bill_batch(&batches[0], run.on_day(july()))
        .await
        .unwrap();

    // THEN the staged invoice is numbered, nothing is billed twice, and the run completes
    assert_billed_once(&run, &accounts).await;
    assert_eq!(
        run.invoices_of(&accounts[0].id).await[0]
            .invoice
            .content()
            .id,
        bill.invoices[0].id
    );
    let record = run.record(&planned.run_id).await;
    assert_eq!(record.outcome.unwrap().invoices, 3);
}

#[tokio::test]
async fn a_worker_that_dies_after_numbering_is_retried_harmlessly() {
    let aws = local_clients().await;
    let run = LocalRun::new(&aws, isolated_entity()).await;
    let accounts = customers(&run, 4).await;
    let planned = run.plan(july_run()).await;
    let batches = run.take_batches(&planned).await;
    // The first delivery bills everything; the "crash" loses its acknowledgement.
    run.worker
        .bill_batch(&batches[0], run.on_day(july()))
        .await
        .unwrap();
    // The redelivery bills nothing.
    let report = run
        .worker
        .bill_batch(&batches[0], run.on_day(july()))
        .await
        .unwrap();
    assert_eq!(report.billed, 0);
    assert_eq!(report.nothing_due, 4);
    assert_billed_once(&run, &accounts).await;
    assert_eq!(run.record(&planned.run_id).await.done_batches, 1);
}

#[tokio::test]
async fn a_message_delivered_twice_at_once_bills_once() {
    let aws = local_clients().await;
    let run = LocalRun::new(&aws, isolated_entity()).await;
    let accounts = customers(&run, 6).await;
    let planned = run.plan(july_run()).await;
    let batches = run.take_batches(&planned).await;
    let now = run.on_day(july());
    let (a, b) = tokio::join!(
        run.worker.bill_batch(&batches[0], now),
        run.worker.bill_batch(&batches[0], now)
    );
    // Either copy may hand the batch back (the other held the customers);
    // the queue's redelivery then finds everything billed.
    if a.is_err() || b.is_err() {
        run.worker.bill_batch(&batches[0], now).await.unwrap();
    }
    assert_billed_once(&run, &accounts).await;
}

#[tokio::test]
async fn two_planners_racing_on_one_date_bill_each_customer_once() {
    let aws = local_clients().await;
    let run = LocalRun::new(&aws, isolated_entity()).await;
    let accounts = customers(&run, 30).await;
    let (first, second) = tokio::join!(run.plan(july_run()), run.plan(july_run()));
    assert_eq!(first.run_id, second.run_id, "one date, one run");
    let failed = run.deliver(&first.run_id).await;
    assert!(failed.is_empty(), "{failed:?}");
    assert_billed_once(&run, &accounts).await;
    let record = run.record(&first.run_id).await;
    assert_eq!(record.planned_batches, 4, "two passes of two batches each");
    assert_eq!(record.outcome.expect("completed").invoices, 30);
}

#[tokio::test]
async fn a_customer_that_cannot_be_billed_fails_alone_and_is_billed_once_fixed() {
    // GIVEN two good customers and an Austrian business without a VAT ID
    let aws = local_clients().await;
    let run = LocalRun::new(&aws, isolated_entity()).await;
    let good = customers(&run, 2).await;
    let mut broken = consumer(&run.entity, "Alpen Consulting GmbH");
    broken.kind = billing_domain::party::CustomerKind::Business;
    broken.address.country = billing_domain::party::CountryCode::AT;
    broken.address.city = "Wien".into();
    broken.address.postal_code = Some("1010".into());
    let contract = monthly_contract(&broken.id, "100.00", "2026-06-30".parse().ok());
    run.store
        .seed_customer(&broken, &[contract], &[], chrono::Utc::now())
        .await
        .unwrap();

    // WHEN the run bills them
    let record = run.run(july_run()).await;

    // THEN the good ones are billed, the broken one is on the outcome and the attention list
    let outcome = record.outcome.expect("completed");
    assert_eq!(outcome.invoices, 2);
    assert_eq!(outcome.failures.len(), 1);
    assert_eq!(outcome.failures[0].account_id, broken.id);
    assert_eq!(outcome.failures[0].code, "invalid_contract");
    assert!(
        outcome.failures[0].reason.contains("account.vat_id"),
        "{}",
        outcome.failures[0].reason
    );
    assert_eq!(
        attention_accounts(&run).await,
        std::slice::from_ref(&broken.id)
    );
    assert!(run.invoices_of(&broken.id).await.is_empty());
    for account in &good {
        assert_eq!(run.invoices_of(&account.id).await.len(), 1);
    }

    // WHEN the VAT ID is added and the next run comes
    let mut fixed = broken.clone();
    fixed.vat_id = billing_domain::party::VatId::parse("ATU12345678").ok();
    set_account(&aws, &run, &fixed).await;
    let next = run
        .run(RunRequest {
            run_date: "2026-07-02".parse().ok(),
            ..RunRequest::default()
        })
        .await;

    // THEN it is billed (reverse charge) and leaves the attention list
    assert_eq!(next.outcome.unwrap().invoices, 1);
    let invoices = run.invoices_of(&broken.id).await;
    assert_eq!(invoices.len(), 1);
    assert_eq!(
        invoices[0].invoice.content().tax_treatment,
        billing_domain::tax::TaxTreatment::ReverseCharge
    );
    assert!(attention_accounts(&run).await.is_empty());
}

/// Replaces the stored account body, as a CRM update would.
async fn set_account(
    aws: &billing_lambda::aws::AwsClients,
    run: &LocalRun,
    account: &CustomerAccount,
) {
    let (pk, sk) = billing_store::keys::account(&account.id);
    aws.dynamodb
        .update_item()
        .table_name(run.store.table())
        .key("pk", aws_sdk_dynamodb::types::AttributeValue::S(pk))
        .key("sk", aws_sdk_dynamodb::types::AttributeValue::S(sk))
        .update_expression("SET body = :body ADD version :one")
        .expression_attribute_values(
            ":body",
            aws_sdk_dynamodb::types::AttributeValue::S(serde_json::to_string(account).unwrap()),
        )
        .expression_attribute_values(
            ":one",
            aws_sdk_dynamodb::types::AttributeValue::N("1".into()),
        )
        .send()
        .await
        .expect("the account is updated");
}

#[tokio::test]
async fn invoices_carry_the_day_they_are_issued_not_an_old_run_date() {
    // GIVEN a customer with a July contract, and today 5 July 2026
    let aws = local_clients().await;
    let run = LocalRun::new(&aws, isolated_entity()).await;
    let accounts = customers(&run, 1).await;
    let fifth = run.on_day("2026-07-05".parse().unwrap());

    // WHEN an operator finalizes a run for 1 July on the 5th
    let refused = run.planner.plan(&july_run(), fifth).await.unwrap_err();
    // THEN it is refused by name (§14(4) no. 3 UStG: the date of issue) and no run exists
    assert!(
        refused
            .to_string()
            .starts_with("run_date: 2026-07-01 is in the past"),
        "{refused}"
    );
    assert!(
        run.store
            .run(&format!("run-{}-2026-07-01", run.entity.id))
            .await
            .unwrap()
            .is_none()
    );

    // WHEN a preview made on 1 July is confirmed on the 5th
    let preview = run
        .run(RunRequest {
            run_date: Some(july()),
            mode: Some(billing_store::run::RunMode::Preview),
            ..RunRequest::default()
        })
        .await;
    let from_preview = RunRequest {
        from_preview: Some(preview.run_id.clone()),
        ..RunRequest::default()
    };
    let stale = run.planner.plan(&from_preview, fifth).await.unwrap_err();
    // THEN the stale preview cannot be finalized; previewing again can
    assert!(stale.to_string().contains("preview again"), "{stale}");
    assert!(run.invoices_of(&accounts[0].id).await.is_empty());

    // WHEN a run planned on 1 July has its batch delivered only on the 5th
    // (a dead-letter redrive)
    let planned = run.plan(july_run()).await;
    let batches = run.take_batches(&planned).await;
    let report = run.worker.bill_batch(&batches[0], fifth).await.unwrap();
    // THEN the customer is reported, not billed with a back-dated invoice
    assert_eq!(report.billed, 0);
    assert_eq!(report.failed, 1);
    assert!(run.invoices_of(&accounts[0].id).await.is_empty());
    let failures = run.record(&planned.run_id).await.outcome.unwrap().failures;
    assert_eq!(failures[0].code, "issue_date");

    // AND today's run bills it, dated today
    let today = run
        .run(RunRequest {
            run_date: "2026-07-05".parse().ok(),
            ..RunRequest::default()
        })
        .await;
    assert_eq!(today.outcome.unwrap().invoices, 1);
    let invoices = run.invoices_of(&accounts[0].id).await;
    assert_eq!(
        invoices[0].invoice.content().issue_date,
        "2026-07-05".parse().unwrap()
    );
}

/// A recurrent CORE mandate of `account` granted to the run's seller,
/// signed before the July run.
fn mandate_of(run: &LocalRun) -> billing_domain::direct_debit::Mandate {
    use billing_domain::direct_debit::{
        DirectDebitScheme, Mandate, MandateReference, MandateStatus, MandateUse,
    };
    Mandate {
        // References are unique per creditor across the shared table.
        reference: MandateReference::parse(&billing_tests::unique_id("M")).unwrap(),
        creditor_identifier: run
            .entity
            .direct_debit
            .as_ref()
            .expect("the example seller collects")
            .creditor_identifier
            .clone(),
        signed_on: "2026-01-15".parse().unwrap(),
        scheme: DirectDebitScheme::Core,
        usage: MandateUse::Recurrent,
        debtor_name: "Erika Mustermann".to_owned(),
        debtor_iban: billing_domain::party::Iban::parse("DE02120300000000202051").unwrap(),
        debtor_bic: None,
        status: MandateStatus::Active,
        last_collected_on: None,
        agreed_pre_notification_days: None,
        amendments: Vec::new(),
    }
}

/// The customers on the seller's needs-attention list.
async fn attention_accounts(run: &LocalRun) -> Vec<billing_domain::ids::AccountId> {
    run.store
        .customers_needing_attention(&run.entity.id)
        .await
        .unwrap()
        .into_iter()
        .map(|entry| entry.account_id)
        .collect()
}

#[tokio::test]
async fn a_contract_on_direct_debit_is_billed_for_collection_under_the_mandate_or_not_at_all() {
    use billing_documents::cii::{CiiProfile, PaymentMeans, invoice_xml, payment_means};
    use billing_domain::subscription::PaymentMethod;
    // GIVEN a customer whose contract names direct debit and who signed a
    // mandate, one on direct debit without a mandate, and one by transfer
    let aws = local_clients().await;
    let run = LocalRun::new(&aws, isolated_entity()).await;
    let mut seeded = Vec::new();
    for name in [
        "Lastschrift mit Mandat",
        "Lastschrift ohne Mandat",
        "Überweisung",
    ] {
        let account = consumer(&run.entity, name);
        let mut contract = monthly_contract(&account.id, "100.00", "2026-06-30".parse().ok());
        if name.starts_with("Lastschrift") {
            contract.payment_method = PaymentMethod::DirectDebit;
        }
        run.store
            .seed_customer(&account, &[contract], &[], chrono::Utc::now())
            .await
            .expect("stored");
        seeded.push(account);
    }
    let [with_mandate, without_mandate, by_transfer] = seeded.as_slice() else {
        unreachable!("three customers")
    };
    let mandate = mandate_of(&run);
    run.store
        .create_mandate(
            &billing_store::StoredMandate::new(
                with_mandate.id.clone(),
                mandate.clone(),
                chrono::Utc::now(),
            ),
            None,
        )
        .await
        .expect("the mandate is stored");

    // WHEN the July run bills them
    let record = run.run(july_run()).await;

    // THEN the direct-debit contract's invoice is collected under the
    // mandate: payment means 59 with the mandate reference (BT-89), due on
    // the collection date after the pre-notification period
    let invoices = run.invoices_of(&with_mandate.id).await;
    let [collected] = invoices.as_slice() else {
        panic!("one invoice: {invoices:?}")
    };
    let invoice = &collected.invoice;
    assert_eq!(payment_means(invoice), PaymentMeans::SepaDirectDebit);
    let notice = invoice.content().direct_debit.clone().expect("a notice");
    assert_eq!(notice.mandate_reference, mandate.reference);
    assert_eq!(notice.debited_account, mandate.debtor_iban);
    assert_eq!(invoice.content().due_date, notice.collection_date);
    assert!(notice.collection_date >= july() + chrono::Days::new(14));
    let xml = String::from_utf8(invoice_xml(invoice, CiiProfile::FacturXEn16931).unwrap()).unwrap();
    assert!(xml.contains("<ram:TypeCode>59</ram:TypeCode>"), "{xml}");
    assert!(
        xml.contains(&format!(
            "<ram:DirectDebitMandateID>{}</ram:DirectDebitMandateID>",
            mandate.reference.as_str()
        )),
        "{xml}"
    );
    // AND it awaits the collection step, unclaimed
    let awaiting = run
        .store
        .collection_candidate(&invoice.content().id)
        .await
        .unwrap()
        .expect("in the CollectionDue index");
    assert_eq!(awaiting.claimed_by, None);
    // AND the transfer customer's invoice asks for a transfer, as before,
    // and is nothing for the collection step
    let invoices = run.invoices_of(&by_transfer.id).await;
    assert_eq!(invoices.len(), 1);
    assert_eq!(
        payment_means(&invoices[0].invoice),
        PaymentMeans::SepaCreditTransfer
    );
    assert!(
        run.store
            .collection_candidate(&invoices[0].invoice.content().id)
            .await
            .unwrap()
            .is_none()
    );
    // AND the customer without a mandate gets no invoice at all (not one
    // asking for a transfer) and is on the attention list with the reason
    assert!(run.invoices_of(&without_mandate.id).await.is_empty());
    let outcome = record.outcome.expect("completed");
    assert_eq!(outcome.invoices, 2);
    let [failure] = outcome.failures.as_slice() else {
        panic!("one failure: {:?}", outcome.failures)
    };
    assert_eq!(failure.account_id, without_mandate.id);
    assert_eq!(failure.code, "no_usable_mandate");
    assert!(
        failure.reason.contains("no SEPA mandate"),
        "{}",
        failure.reason
    );
    assert_eq!(
        attention_accounts(&run).await,
        std::slice::from_ref(&without_mandate.id)
    );
}
