//! The dunning sweep against the local AWS: invoices committed through the
//! real store path, payments booked as the statement import books them.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{AttributeValue, PutRequest, WriteRequest};
use billing_domain::dunning::DunningStage;
use billing_domain::ids::InvoiceId;
use billing_domain::invoice::Invoice;
use billing_domain::matching::MatchRule;
use billing_domain::money::{Currency, Money};
use billing_domain::party::CustomerKind;
use billing_domain::staff::StaffRole;
use billing_store::{
    Actor, AuditEntry, BillingStore, Dispute, DunningBlock, EntryBooked, EntryBooking,
    InvoiceBooking, InvoiceChange,
};
use billing_tests::billing::{customer, invoice, stored_seller};
use billing_tests::webhook::local_store;
use billing_tests::{local_clients, resource, unique_id};
use chrono::{NaiveDate, Utc};
use dunning_sweep::service::{SweepDay, SweepService};
use rust_decimal::Decimal;

fn day(month: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, month, d).unwrap()
}

/// A clerk's change to an invoice, through the one audited staff path the
/// staff API uses (revision-checked, with its audit entry).
async fn clerk(store: &BillingStore, invoice: &Invoice, action: &str, change: InvoiceChange) {
    let read = store
        .invoice_for_change(&invoice.content().id)
        .await
        .unwrap()
        .unwrap();
    let entry = AuditEntry {
        actor: Actor {
            user: "clerk-1".to_owned(),
            role: StaffRole::Billing,
        },
        at: Utc::now(),
        action: action.to_owned(),
        invoice_id: Some(invoice.content().id.clone()),
        account_id: read.overview.account_id.clone(),
        reason: Some("test".to_owned()),
        change: serde_json::json!({}),
    };
    store
        .change_invoice(&read, read.overview.revision, &change, &entry)
        .await
        .unwrap();
}

async fn pay(store: &BillingStore, invoice: &Invoice, amount: Money, on: NaiveDate) {
    let booking = EntryBooking {
        statement_id: unique_id("stm"),
        entry_id: "1".to_owned(),
        invoices: vec![InvoiceBooking {
            invoice_id: invoice.content().id.clone(),
            amount,
        }],
        credit: None,
        value_date: on,
        rule: MatchRule::CreditorReference,
        reason: "test".to_owned(),
        booked_at: Utc::now(),
    };
    assert!(matches!(
        store.book_entry(&booking).await.unwrap(),
        EntryBooked::Booked(_)
    ));
}

async fn level(store: &BillingStore, invoice: &Invoice) -> u32 {
    store
        .dunning_state(&invoice.content().id)
        .await
        .unwrap()
        .unwrap()
        .level
}

#[tokio::test]
async fn each_level_once_one_letter_per_customer_and_stopped_invoices_are_never_dunned() {
    let store = local_store().await;
    let entity = stored_seller(&store).await;
    let account = customer(&entity.id, CustomerKind::Business);
    let net = Decimal::new(10000, 2);
    // Issued 5 January, due 19 January; the reminder is due on the 26th.
    let mut invoices = Vec::new();
    for _ in 0..7 {
        invoices.push(invoice(&store, &entity, &account, day(1, 5), net).await);
    }
    let [
        plain,
        blocked,
        disputed,
        paid,
        expired_block,
        paid_this_morning,
        collection,
    ] = invoices.as_slice()
    else {
        unreachable!()
    };
    assert_eq!(plain.content().due_date, day(1, 19));
    let now = Utc::now();
    clerk(
        &store,
        blocked,
        "invoice.dunning_block.set",
        InvoiceChange::Block(DunningBlock {
            reason: "instalments agreed".to_owned(),
            until: None,
            by: Some("clerk-1".to_owned()),
            since: now,
        }),
    )
    .await;
    clerk(
        &store,
        disputed,
        "invoice.dispute.flag",
        InvoiceChange::Dispute(Dispute {
            reason: "service not delivered".to_owned(),
            by: None,
            since: now,
        }),
    )
    .await;
    clerk(
        &store,
        expired_block,
        "invoice.dunning_block.set",
        InvoiceChange::Block(DunningBlock {
            reason: "promised to pay by the 25th".to_owned(),
            until: Some(day(1, 25)),
            by: None,
            since: now,
        }),
    )
    .await;
    pay(&store, paid, paid.amount_due(), day(1, 20)).await;
    let state = store
        .dunning_state(&collection.content().id)
        .await
        .unwrap()
        .unwrap();
    assert!(
        store
            .hand_over_to_collection(&state, day(1, 20), now)
            .await
            .unwrap()
    );
    pay(
        &store,
        paid_this_morning,
        paid_this_morning.amount_due(),
        day(1, 26),
    )
    .await;

    let sweep = SweepService::new(store.clone(), entity.id.clone());
    let report = sweep.sweep(SweepDay::Date(day(1, 26)), now).await.unwrap();
    assert_eq!(report.letters.len(), 1, "one letter per customer and sweep");
    let letter = &report.letters[0];
    let mut numbers: Vec<&str> = letter.lines.iter().map(|l| l.number.as_str()).collect();
    numbers.sort_unstable();
    let mut expected = vec![plain.number().as_str(), expired_block.number().as_str()];
    expected.sort_unstable();
    assert_eq!(
        numbers, expected,
        "the plain invoice and the one whose block expired yesterday"
    );
    assert!(
        letter
            .lines
            .iter()
            .all(|l| l.stage == DunningStage::PaymentReminder)
    );
    assert_eq!(
        letter.total_due,
        letter
            .lines
            .iter()
            .try_fold(Money::zero(Currency::EUR), |sum, line| sum
                .checked_add(line.total))
            .unwrap()
    );

    for stopped in [blocked, disputed, paid, paid_this_morning, collection] {
        assert_eq!(
            level(&store, stopped).await,
            0,
            "{} was dunned",
            stopped.number()
        );
    }
    assert_eq!(level(&store, plain).await, 1);

    // The same day again: nothing is sent twice.
    let again = sweep
        .sweep(SweepDay::Date(day(1, 26)), Utc::now())
        .await
        .unwrap();
    assert!(again.letters.is_empty(), "{again:?}");
    assert_eq!(level(&store, plain).await, 1);
    // A later day before the reminder's deadline: still nothing.
    let later = sweep
        .sweep(SweepDay::Date(day(2, 4)), Utc::now())
        .await
        .unwrap();
    assert!(later.letters.iter().all(|l| l.account_id != account.id));

    // The hand-over is on the needs-attention list.
    let notes = store.attention_notes(&entity.id).await.unwrap();
    assert!(
        notes
            .iter()
            .any(|n| n.kind == "collection"
                && n.invoice_id.as_ref() == Some(&collection.content().id))
    );

    // Lifting the block and resolving the dispute lets them be dunned.
    clerk(
        &store,
        blocked,
        "invoice.dunning_block.lift",
        InvoiceChange::LiftBlock { today: day(2, 5) },
    )
    .await;
    clerk(
        &store,
        disputed,
        "invoice.dispute.resolve",
        InvoiceChange::ResolveDispute { today: day(2, 5) },
    )
    .await;
    let resumed = sweep
        .sweep(SweepDay::Date(day(2, 5)), Utc::now())
        .await
        .unwrap();
    let ours: Vec<_> = resumed
        .letters
        .iter()
        .filter(|l| l.account_id == account.id)
        .collect();
    assert_eq!(ours.len(), 1);
    assert_eq!(ours[0].lines.len(), 2);
}

#[tokio::test]
async fn the_sweep_reads_only_what_is_due() {
    // 5,000 open invoices in the index, 50 of them due: the sweep's index
    // reads (ScannedCount over all shards) are the 50. Keys in 2001 keep
    // other tests' invoices (2026) out of the count.
    let store = local_store().await;
    let aws = local_clients().await;
    let table = resource("BILLING_TABLE");
    let entity = stored_seller(&store).await;
    let account = customer(&entity.id, CustomerKind::Consumer);
    let template = invoice(&store, &entity, &account, day(1, 5), Decimal::new(5000, 2)).await;
    let (pk, sk) = billing_store::keys::invoice(&template.content().id);
    let stored = aws
        .dynamodb
        .get_item()
        .table_name(&table)
        .key("pk", AttributeValue::S(pk))
        .key("sk", AttributeValue::S(sk))
        .send()
        .await
        .unwrap()
        .item
        .unwrap();
    // The template itself leaves the index so only the copies count.
    store
        .reschedule_dunning(&template.content().id, 0, None)
        .await
        .unwrap();
    let prefix = unique_id("inv");
    let items: Vec<HashMap<String, AttributeValue>> = (0..5000)
        .map(|i| {
            let id = InvoiceId::new(format!("{prefix}-{i}"));
            let date = if i % 100 == 0 {
                NaiveDate::from_ymd_opt(2001, 1, 10).unwrap()
            } else {
                NaiveDate::from_ymd_opt(2001, 2, 1).unwrap() + chrono::Days::new(i % 300)
            };
            let (shard, at) = billing_store::keys::dunning_due(&id, date);
            let mut item = stored.clone();
            let (pk, _) = billing_store::keys::invoice(&id);
            item.insert("pk".into(), AttributeValue::S(pk));
            item.insert("invoice_id".into(), AttributeValue::S(id.to_string()));
            item.insert("dunning_shard".into(), AttributeValue::S(shard));
            item.insert("dunning_at".into(), AttributeValue::S(at));
            // Not a second invoice with the template's number or reference.
            item.remove("invoice_number_key");
            item.remove("payment_reference");
            item.remove("account_key");
            item
        })
        .collect();
    for chunk in items.chunks(25) {
        let mut requests: Vec<WriteRequest> = chunk
            .iter()
            .map(|item| {
                WriteRequest::builder()
                    .put_request(
                        PutRequest::builder()
                            .set_item(Some(item.clone()))
                            .build()
                            .unwrap(),
                    )
                    .build()
            })
            .collect();
        while !requests.is_empty() {
            let output = aws
                .dynamodb
                .batch_write_item()
                .request_items(&table, requests)
                .send()
                .await
                .unwrap();
            requests = output
                .unprocessed_items
                .and_then(|mut left| left.remove(&table))
                .unwrap_or_default();
        }
    }
    let sweep = SweepService::new(store.clone(), entity.id.clone());
    let today = NaiveDate::from_ymd_opt(2001, 1, 15).unwrap();
    let report = sweep
        .sweep(SweepDay::Date(today), Utc::now())
        .await
        .unwrap();
    assert_eq!(
        report.index_items_read, 50,
        "only the due invoices are read"
    );
    assert_eq!(report.due, 50);
    // Their due date (in the body) is in 2026: nothing to send, the next
    // look moves there, and a second sweep reads nothing.
    assert!(report.letters.is_empty());
    let again = sweep
        .sweep(SweepDay::Date(today), Utc::now())
        .await
        .unwrap();
    assert_eq!(again.index_items_read, 0);
}

#[tokio::test]
async fn below_the_minimum_no_letter_and_one_review_entry() {
    let store = local_store().await;
    let entity = stored_seller(&store).await;
    let account = customer(&entity.id, CustomerKind::Business);
    // 100.00 net + 19 % = 119.00, due 19 January; 118.99 paid on the 20th
    // leaves 0.01 open, below the default minimum of 5.00. The old sweep
    // sent a reminder on the 26th and a first notice claiming the EUR 40
    // flat fee later.
    let small = invoice(&store, &entity, &account, day(1, 5), Decimal::new(10000, 2)).await;
    pay(
        &store,
        &small,
        Money::from_minor(11_899, Currency::EUR),
        day(1, 20),
    )
    .await;
    let sweep = SweepService::new(store.clone(), entity.id.clone());
    let report = sweep
        .sweep(SweepDay::Date(day(1, 26)), Utc::now())
        .await
        .unwrap();
    assert!(report.letters.is_empty(), "{report:?}");
    assert_eq!(report.below_minimum, 1);
    let state = store
        .dunning_state(&small.content().id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(state.level, 0);
    assert_eq!(state.fees_charged, Money::zero(Currency::EUR));
    assert!(!state.indexed, "the sweep stops looking at it");
    let reviews = |notes: Vec<billing_store::AttentionNote>| -> Vec<_> {
        notes
            .into_iter()
            .filter(|n| {
                n.kind == "dunning_review" && n.invoice_id.as_ref() == Some(&small.content().id)
            })
            .collect()
    };
    let first = reviews(store.attention_notes(&entity.id).await.unwrap());
    assert_eq!(first.len(), 1);
    assert!(first[0].message.contains("0.01"), "{}", first[0].message);

    // Later sweeps (the first notice's day too) neither read it nor add or
    // refresh the entry: it is put there once.
    for later in [day(1, 27), day(2, 9)] {
        let report = sweep
            .sweep(SweepDay::Date(later), Utc::now())
            .await
            .unwrap();
        assert!(report.letters.is_empty());
        assert_eq!(report.below_minimum, 0);
        assert_eq!(report.due, 0);
    }
    assert_eq!(
        reviews(store.attention_notes(&entity.id).await.unwrap()),
        first
    );
}

#[tokio::test]
async fn the_invoice_counts_as_received_on_the_day_ses_reported_its_delivery() {
    let store = local_store().await;
    let entity = stored_seller(&store).await;
    let account = customer(&entity.id, CustomerKind::Business);
    let sent = invoice(&store, &entity, &account, day(1, 5), Decimal::new(10000, 2)).await;
    let id = &sent.content().id;
    let state = store.dunning_state(id).await.unwrap().unwrap();
    assert_eq!(state.facts(&entity.time_zone).invoice_received_on, None);
    // Accepted by SES on 5 January; delivered at 23:30 UTC, which is
    // already 6 January in Berlin (the seller's day).
    let accepted = "2026-01-05T10:00:00Z".parse().unwrap();
    let delivered = "2026-01-05T23:30:00Z".parse().unwrap();
    store
        .record_delivery_progress(id, billing_store::DeliveryStatus::Sent, "msg-1", accepted)
        .await
        .unwrap();
    let state = store.dunning_state(id).await.unwrap().unwrap();
    assert_eq!(
        state.facts(&entity.time_zone).invoice_received_on,
        None,
        "accepted by SES is not yet received"
    );
    store
        .record_delivery_progress(
            id,
            billing_store::DeliveryStatus::Delivered,
            "msg-1",
            delivered,
        )
        .await
        .unwrap();
    let state = store.dunning_state(id).await.unwrap().unwrap();
    let facts = state.facts(&entity.time_zone);
    assert_eq!(facts.invoice_received_on, Some(day(1, 6)));
    // A business: §286(3) BGB, 30 days after the later of due date
    // (19 January) and receipt (6 January): in default from 19 February.
    assert_eq!(
        entity
            .dunning
            .default_start(&facts)
            .unwrap()
            .map(|start| start.first_day),
        Some(day(2, 19))
    );
}
