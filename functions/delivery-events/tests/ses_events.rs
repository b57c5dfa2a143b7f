//! SES events (as SNS delivers them into the delivery-events queue) → the
//! invoice's delivery status, the account's suppression list and the
//! entity's needs-attention list; replays, late events and malformed
//! notifications change nothing more.
//!
//! Runs against the local AWS endpoint (`make test-rust`), with the queue
//! trigger played by calling the real handler with a real SQS event shape.
//! The notifications are the fixtures in `tests/fixtures/ses-events/` with the
//! invoice id tag and the SES message id replaced, since tests share the
//! emulator.

use std::collections::HashMap;

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use aws_sdk_dynamodb::types::AttributeValue;
use billing_documents::samples;
use billing_domain::ids::{AccountId, BillingEntityId, InvoiceId};
use billing_domain::invoice::Invoice;
use billing_lambda::{Disposition, Failure};
use billing_store::{
    AttentionEntry, BillingStore, DeliveryClaim, DeliveryState, DeliveryStatus, DocumentStatus,
    OutcomeRecorded, Suppression, keys,
};
use billing_tests::{local_clients, resource, unique_id};
use chrono::{DateTime, Utc};
use delivery_events::event::parse_notification;
use delivery_events::handler::handle;
use delivery_events::service::DeliveryEventService;
use lambda_runtime::{Context, LambdaEvent};
use serde_json::Value;

type Item = HashMap<String, AttributeValue>;

struct Fixture {
    aws: billing_lambda::aws::AwsClients,
    store: BillingStore,
    service: DeliveryEventService,
}

async fn fixture() -> Fixture {
    let aws = local_clients().await;
    let store = BillingStore::new(aws.dynamodb.clone(), resource("BILLING_TABLE"));
    let service = DeliveryEventService::new(store.clone());
    Fixture {
        aws,
        store,
        service,
    }
}

/// A finalized, archived sample invoice of its own account and entity (so
/// the suppression and attention lists hold only this test's entries),
/// stored the way `invoice-pdf` leaves it.
async fn archived_invoice(f: &Fixture) -> Invoice {
    let invoice = billing_tests::isolated(&samples::german_consumer().unwrap());
    billing_tests::put_finalized_invoice(
        &f.aws,
        f.store.table(),
        &invoice,
        DocumentStatus::Archived,
    )
    .await;
    invoice
}

/// An invoice whose delivery worker claimed it but never recorded a result.
async fn sending_invoice(f: &Fixture) -> Invoice {
    let invoice = archived_invoice(f).await;
    let claim = f
        .store
        .claim_delivery(
            id(&invoice),
            "token",
            Utc::now(),
            chrono::Duration::minutes(5),
        )
        .await
        .unwrap();
    assert_eq!(claim, DeliveryClaim::Claimed { taken_over: false });
    invoice
}

/// An invoice SES accepted as message `message_id` (state `sent`).
async fn sent_invoice(f: &Fixture, message_id: &str) -> Invoice {
    let invoice = sending_invoice(f).await;
    let recorded = f
        .store
        .record_sent(id(&invoice), "token", message_id, Utc::now())
        .await
        .unwrap();
    assert_eq!(recorded, OutcomeRecorded::Recorded);
    invoice
}

fn id(invoice: &Invoice) -> &InvoiceId {
    &invoice.content().id
}

fn account(invoice: &Invoice) -> &AccountId {
    &invoice.content().buyer.id
}

fn entity(invoice: &Invoice) -> &BillingEntityId {
    &invoice.content().billing_entity_id
}

fn fixture_text(name: &str) -> String {
    let path = format!(
        "{}/../../tests/fixtures/ses-events/{name}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The fixture's SNS body with the SES event changed by `change`, encoded
/// again as SNS does (the event as a JSON string in `Message`).
fn notification_with(name: &str, change: impl FnOnce(&mut Value)) -> String {
    let mut envelope: Value = serde_json::from_str(&fixture_text(name)).unwrap();
    let mut event: Value = serde_json::from_str(envelope["Message"].as_str().unwrap()).unwrap();
    change(&mut event);
    envelope["Message"] = Value::String(event.to_string());
    serde_json::to_string_pretty(&envelope).unwrap()
}

/// The fixture `name` about invoice `invoice_id`, SES message `message_id`.
fn notification(name: &str, invoice_id: &str, message_id: &str) -> String {
    notification_with(name, |event| {
        event["mail"]["tags"]["invoice_id"][0] = invoice_id.into();
        event["mail"]["messageId"] = message_id.into();
        event["mail"]["commonHeaders"]["messageId"] = message_id.into();
    })
}

/// Plays one SQS batch of these bodies through the real handler; returns
/// the SQS message ids that failed.
async fn deliver(f: &Fixture, bodies: &[String]) -> Vec<String> {
    let mut event = SqsEvent::default();
    event.records = bodies
        .iter()
        .map(|body| {
            let mut message = SqsMessage::default();
            message.message_id = Some(unique_id("sqs"));
            message.body = Some(body.clone());
            message
        })
        .collect();
    let ids: Vec<String> = event
        .records
        .iter()
        .map(|m| m.message_id.clone().unwrap())
        .collect();
    let response: SqsBatchResponse =
        handle(&f.service, LambdaEvent::new(event, Context::default()))
            .await
            .unwrap();
    let failed: Vec<String> = response
        .batch_item_failures
        .into_iter()
        .map(|failure| failure.item_identifier)
        .collect();
    assert!(failed.iter().all(|id| ids.contains(id)), "{failed:?}");
    failed
}

async fn deliver_ok(f: &Fixture, body: String) {
    let failed = deliver(f, &[body]).await;
    assert!(failed.is_empty(), "the event should be recorded");
}

async fn state(f: &Fixture, invoice: &Invoice) -> DeliveryState {
    f.store
        .delivery_state(id(invoice))
        .await
        .unwrap()
        .expect("delivery state")
}

async fn suppressed(f: &Fixture, invoice: &Invoice) -> Vec<Suppression> {
    let mut list = f
        .store
        .suppressed_addresses(account(invoice))
        .await
        .unwrap();
    list.sort_by(|a, b| a.address.cmp(&b.address));
    list
}

async fn attention(f: &Fixture, invoice: &Invoice) -> Vec<AttentionEntry> {
    f.store.needs_attention(entity(invoice)).await.unwrap()
}

async fn raw_item(f: &Fixture, invoice: &Invoice) -> Item {
    let (pk, sk) = keys::invoice(id(invoice));
    f.aws
        .dynamodb
        .get_item()
        .table_name(f.store.table())
        .key("pk", AttributeValue::S(pk))
        .key("sk", AttributeValue::S(sk))
        .consistent_read(true)
        .send()
        .await
        .unwrap()
        .item
        .expect("invoice item")
}

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap()
        .with_timezone(&Utc)
}

/// The fixtures' SES timestamps.
const BOUNCED_AT: &str = "2026-11-20T09:15:45.233Z";
const TRANSIENT_AT: &str = "2026-11-20T21:40:10.745Z";
const COMPLAINED_AT: &str = "2026-11-21T07:02:38Z";
const DELIVERED_AT: &str = "2026-11-20T09:15:42.884Z";
const SENT_AT: &str = "2026-11-20T09:15:40.127Z";

#[tokio::test]
async fn a_permanent_bounce_marks_the_invoice_suppresses_the_addresses_and_asks_for_attention() {
    // GIVEN an invoice SES accepted
    let f = fixture().await;
    let message_id = unique_id("ses");
    let invoice = sent_invoice(&f, &message_id).await;

    // WHEN SES reports a permanent bounce of both recipients
    deliver_ok(
        &f,
        notification("bounce-permanent", id(&invoice).as_str(), &message_id),
    )
    .await;

    // THEN the invoice is bounced, with a readable reason per recipient ...
    let state = state(&f, &invoice).await;
    assert_eq!(state.status, DeliveryStatus::Bounced);
    assert_eq!(state.message_id.as_deref(), Some(message_id.as_str()));
    let reason = state.reason.expect("reason");
    assert!(
        reason.starts_with("permanent bounce (General): smtp; 550 5.1.1 "),
        "{reason}"
    );
    assert!(reason.contains(" | smtp; 550 5.2.1 "), "{reason}");
    // (the diagnostic quoted the address: the reason does not)
    assert!(!reason.contains('@'), "{reason}");
    // ... both addresses are suppressed for the account, lower-cased ...
    let list = suppressed(&f, &invoice).await;
    let addresses: Vec<_> = list.iter().map(|s| s.address.as_str()).collect();
    assert_eq!(
        addresses,
        ["accounts.payable@example.org", "ap-archive@example.org"]
    );
    for suppression in &list {
        assert_eq!(suppression.cause, DeliveryStatus::Bounced);
        assert_eq!(suppression.invoice_id, id(&invoice).as_str());
        assert_eq!(suppression.since, at(BOUNCED_AT));
        assert_eq!(suppression.reason, reason);
    }
    // ... and the invoice is on its entity's attention list
    let entries = attention(&f, &invoice).await;
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].invoice_id, id(&invoice).as_str());
    assert_eq!(entries[0].invoice_number, invoice.number().as_str());
    assert_eq!(entries[0].account_id, account(&invoice).as_str());
    assert_eq!(entries[0].status, DeliveryStatus::Bounced);
    assert_eq!(entries[0].reason, reason);
    assert_eq!(entries[0].since, at(BOUNCED_AT));
}

#[tokio::test]
async fn a_replayed_bounce_changes_nothing_more() {
    // GIVEN a bounce already recorded
    let f = fixture().await;
    let message_id = unique_id("ses");
    let invoice = sent_invoice(&f, &message_id).await;
    let bounce = notification("bounce-permanent", id(&invoice).as_str(), &message_id);
    deliver_ok(&f, bounce.clone()).await;
    let item = raw_item(&f, &invoice).await;
    let list = suppressed(&f, &invoice).await;
    let entries = attention(&f, &invoice).await;

    // WHEN SNS delivers the same notification again, twice in one batch
    let failed = deliver(&f, &[bounce.clone(), bounce.clone()]).await;

    // THEN the invoice, the suppression list (one item per address) and the
    // attention list (one entry) are as they were. (Two copies in one batch
    // run concurrently; should their transactions collide, the loser
    // returns to the queue and its retry is the same replay.)
    assert!(failed.len() <= 1, "{failed:?}");
    assert_eq!(raw_item(&f, &invoice).await, item);
    assert_eq!(suppressed(&f, &invoice).await, list);
    assert_eq!(list.len(), 2);
    assert_eq!(attention(&f, &invoice).await, entries);
    assert_eq!(entries.len(), 1);
}

#[tokio::test]
async fn a_transient_bounce_asks_for_attention_but_suppresses_nothing() {
    // GIVEN an invoice SES accepted
    let f = fixture().await;
    let message_id = unique_id("ses");
    let invoice = sent_invoice(&f, &message_id).await;

    // WHEN SES gives up on a full mailbox
    deliver_ok(
        &f,
        notification("bounce-transient", id(&invoice).as_str(), &message_id),
    )
    .await;

    // THEN the invoice is bounced and needs a person, but the address is
    // not suppressed (it may well work for the next invoice)
    let state = state(&f, &invoice).await;
    assert_eq!(state.status, DeliveryStatus::Bounced);
    assert_eq!(
        state.reason.as_deref(),
        Some(
            "transient bounce (MailboxFull): smtp; 452 4.2.2 Mailbox full: quota exceeded for this recipient"
        )
    );
    assert!(suppressed(&f, &invoice).await.is_empty());
    let entries = attention(&f, &invoice).await;
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].status, DeliveryStatus::Bounced);
    assert_eq!(entries[0].since, at(TRANSIENT_AT));
}

#[tokio::test]
async fn a_complaint_suppresses_the_complainant_and_outweighs_everything() {
    // GIVEN an invoice that was delivered
    let f = fixture().await;
    let message_id = unique_id("ses");
    let invoice = sent_invoice(&f, &message_id).await;
    let invoice_id = id(&invoice).as_str();
    deliver_ok(&f, notification("delivery", invoice_id, &message_id)).await;

    // WHEN the recipient reports it as spam
    deliver_ok(&f, notification("complaint", invoice_id, &message_id)).await;

    // THEN the invoice is complained with the feedback type ...
    let state = state(&f, &invoice).await;
    assert_eq!(state.status, DeliveryStatus::Complained);
    let reason = "complaint: the recipient reported the e-mail as spam (feedback type abuse)";
    assert_eq!(state.reason.as_deref(), Some(reason));
    // ... the complaining address is suppressed ...
    let list = suppressed(&f, &invoice).await;
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].address, "accounts.payable@example.org");
    assert_eq!(list[0].cause, DeliveryStatus::Complained);
    assert_eq!(list[0].since, at(COMPLAINED_AT));
    // ... and the invoice needs attention
    let entries = attention(&f, &invoice).await;
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].status, DeliveryStatus::Complained);
    assert_eq!(entries[0].reason, reason);

    // WHEN a bounce arrives late for the same message
    deliver_ok(
        &f,
        notification("bounce-transient", invoice_id, &message_id),
    )
    .await;

    // THEN the complaint stays
    assert_eq!(
        self::state(&f, &invoice).await.status,
        DeliveryStatus::Complained
    );
    assert_eq!(
        attention(&f, &invoice).await[0].status,
        DeliveryStatus::Complained
    );
}

#[tokio::test]
async fn a_delivery_marks_the_invoice_delivered() {
    // GIVEN an invoice SES accepted
    let f = fixture().await;
    let message_id = unique_id("ses");
    let invoice = sent_invoice(&f, &message_id).await;

    // WHEN SES reports the delivery
    deliver_ok(
        &f,
        notification("delivery", id(&invoice).as_str(), &message_id),
    )
    .await;

    // THEN it is delivered, nothing is suppressed and nobody is bothered
    let state = state(&f, &invoice).await;
    assert_eq!(state.status, DeliveryStatus::Delivered);
    assert_eq!(state.message_id.as_deref(), Some(message_id.as_str()));
    assert_eq!(state.reason, None);
    assert!(suppressed(&f, &invoice).await.is_empty());
    assert!(attention(&f, &invoice).await.is_empty());
    let item = raw_item(&f, &invoice).await;
    assert_eq!(
        item.get("delivery_event_at"),
        Some(&AttributeValue::S(DELIVERED_AT.into()))
    );

    // WHEN the Send event arrives after the delivery (SNS does not keep order)
    deliver_ok(&f, notification("send", id(&invoice).as_str(), &message_id)).await;

    // THEN the invoice stays delivered
    assert_eq!(raw_item(&f, &invoice).await, item);
}

#[tokio::test]
async fn a_later_delivery_does_not_lower_a_bounce() {
    // GIVEN an invoice whose e-mail bounced
    let f = fixture().await;
    let message_id = unique_id("ses");
    let invoice = sent_invoice(&f, &message_id).await;
    let invoice_id = id(&invoice).as_str();
    deliver_ok(
        &f,
        notification("bounce-permanent", invoice_id, &message_id),
    )
    .await;
    let item = raw_item(&f, &invoice).await;

    // WHEN a Delivery event (e.g. for another recipient) arrives afterwards
    deliver_ok(&f, notification("delivery", invoice_id, &message_id)).await;

    // THEN the message is acknowledged and the invoice stays bounced
    assert_eq!(state(&f, &invoice).await.status, DeliveryStatus::Bounced);
    assert_eq!(raw_item(&f, &invoice).await, item);
}

#[tokio::test]
async fn a_send_event_settles_a_claim_whose_worker_never_recorded_it() {
    // GIVEN an invoice claimed by a worker that crashed after SES accepted
    // the message (state sending, no message id)
    let f = fixture().await;
    let invoice = sending_invoice(&f).await;
    assert_eq!(state(&f, &invoice).await.status, DeliveryStatus::Sending);
    let message_id = unique_id("ses");

    // WHEN SES's Send event arrives
    deliver_ok(&f, notification("send", id(&invoice).as_str(), &message_id)).await;

    // THEN the invoice is sent with that message id, the claim is gone
    let state = state(&f, &invoice).await;
    assert_eq!(state.status, DeliveryStatus::Sent);
    assert_eq!(state.message_id.as_deref(), Some(message_id.as_str()));
    assert_eq!(state.sent_at, Some(at(SENT_AT)));
    assert_eq!(state.claim_expires, None);
    let item = raw_item(&f, &invoice).await;
    assert!(!item.contains_key("delivery_claim"));
    // ... so the worker's late record is refused
    let late = f
        .store
        .record_sent(id(&invoice), "token", "another-message", Utc::now())
        .await
        .unwrap();
    assert!(matches!(late, OutcomeRecorded::Superseded(_)), "{late:?}");
    assert_eq!(raw_item(&f, &invoice).await, item);
}

#[tokio::test]
async fn a_send_event_settles_an_invoice_whose_claim_was_released() {
    // GIVEN a worker whose SES call failed on its side (a timeout) but
    // reached SES, so it released its claim for a retry
    let f = fixture().await;
    let invoice = sending_invoice(&f).await;
    f.store
        .release_delivery(id(&invoice), "token")
        .await
        .unwrap();
    assert_eq!(f.store.delivery_state(id(&invoice)).await.unwrap(), None);
    let message_id = unique_id("ses");

    // WHEN SES's Send event arrives
    deliver_ok(&f, notification("send", id(&invoice).as_str(), &message_id)).await;

    // THEN the invoice is sent, so the retry will find it settled
    let state = state(&f, &invoice).await;
    assert_eq!(state.status, DeliveryStatus::Sent);
    assert_eq!(state.message_id.as_deref(), Some(message_id.as_str()));
    let retry = f
        .store
        .claim_delivery(
            id(&invoice),
            "retry",
            Utc::now(),
            chrono::Duration::minutes(5),
        )
        .await
        .unwrap();
    assert!(matches!(retry, DeliveryClaim::Settled(_)), "{retry:?}");
}

#[tokio::test]
async fn a_reject_fails_the_delivery_without_suppressing_anything() {
    let f = fixture().await;
    let invoice = sending_invoice(&f).await;
    deliver_ok(
        &f,
        notification("reject", id(&invoice).as_str(), &unique_id("ses")),
    )
    .await;
    let state = state(&f, &invoice).await;
    assert_eq!(state.status, DeliveryStatus::Failed);
    assert_eq!(
        state.reason.as_deref(),
        Some("SES rejected the message: Bad content")
    );
    assert!(suppressed(&f, &invoice).await.is_empty());
    let entries = attention(&f, &invoice).await;
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].status, DeliveryStatus::Failed);
    assert_eq!(entries[0].since, at(SENT_AT));
}

#[tokio::test]
async fn other_event_types_are_acknowledged_and_change_nothing() {
    let f = fixture().await;
    let message_id = unique_id("ses");
    let invoice = sent_invoice(&f, &message_id).await;
    let item = raw_item(&f, &invoice).await;
    let invoice_id = id(&invoice).as_str();
    let failed = deliver(
        &f,
        &[
            notification("delivery-delay", invoice_id, &message_id),
            notification_with("delivery-delay", |event| {
                event["eventType"] = "Open".into();
                event["mail"]["tags"]["invoice_id"][0] = invoice_id.into();
                event["mail"]["messageId"] = message_id.clone().into();
            }),
        ],
    )
    .await;
    assert!(failed.is_empty());
    assert_eq!(raw_item(&f, &invoice).await, item);
    assert!(suppressed(&f, &invoice).await.is_empty());
    assert!(attention(&f, &invoice).await.is_empty());
}

#[tokio::test]
async fn malformed_notifications_fail_and_change_nothing() {
    // GIVEN an invoice SES accepted, and a good event for another invoice
    let f = fixture().await;
    let message_id = unique_id("ses");
    let invoice = sent_invoice(&f, &message_id).await;
    let other_message = unique_id("ses");
    let other = sent_invoice(&f, &other_message).await;
    let item = raw_item(&f, &invoice).await;
    let invoice_id = id(&invoice).as_str().to_owned();
    let ours = |name: &str, change: &dyn Fn(&mut Value)| {
        notification_with(name, |event| {
            event["mail"]["tags"]["invoice_id"][0] = invoice_id.clone().into();
            event["mail"]["messageId"] = message_id.clone().into();
            change(event);
        })
    };
    let mut subscription: Value =
        serde_json::from_str(&notification("bounce-permanent", &invoice_id, &message_id)).unwrap();
    subscription["Type"] = "SubscriptionConfirmation".into();
    let mut message_not_json: Value = serde_json::from_str(&fixture_text("complaint")).unwrap();
    message_not_json["Message"] = format!("Complaint about invoice {invoice_id}").into();
    let malformed = vec![
        "this is not JSON".to_owned(),
        subscription.to_string(),
        message_not_json.to_string(),
        ours("bounce-permanent", &|e| {
            e.as_object_mut().unwrap().remove("bounce");
        }),
        ours("bounce-permanent", &|e| {
            e["bounce"]["timestamp"] = "20.11.2026".into();
        }),
        // the second recipient is broken: the first must not be suppressed
        ours("bounce-permanent", &|e| {
            e["bounce"]["bouncedRecipients"][1]["emailAddress"] = "nobody".into();
        }),
        ours("complaint", &|e| {
            e["mail"]["tags"]
                .as_object_mut()
                .unwrap()
                .remove("invoice_id");
        }),
        ours("complaint", &|e| {
            e["mail"]["tags"]["invoice_id"][0] = format!("{}\n", id(&invoice)).into();
        }),
        ours("delivery", &|e| {
            e["mail"].as_object_mut().unwrap().remove("messageId");
        }),
        ours("delivery", &|e| {
            e.as_object_mut().unwrap().remove("eventType");
        }),
    ];
    let good = notification("delivery", id(&other).as_str(), &other_message);
    let mut batch = malformed.clone();
    batch.push(good);

    // WHEN they arrive in one batch
    let failed = deliver(&f, &batch).await;

    // THEN each malformed one returns to the queue, the good one does not ...
    assert_eq!(failed.len(), malformed.len());
    assert_eq!(state(&f, &other).await.status, DeliveryStatus::Delivered);
    // ... for good and naming what is wrong, never quoting an address ...
    for body in &malformed {
        let err = parse_notification(Some(body)).expect_err("malformed");
        assert_eq!(err.code(), "malformed_notification");
        assert_eq!(err.disposition(), Disposition::Permanent);
        assert!(!err.to_string().contains('@'), "{err}");
    }
    // ... and nothing about the invoice changed
    assert_eq!(raw_item(&f, &invoice).await, item);
    assert!(suppressed(&f, &invoice).await.is_empty());
    assert!(attention(&f, &invoice).await.is_empty());
}

#[tokio::test]
async fn an_event_for_an_unknown_invoice_fails_for_good() {
    // GIVEN events naming an invoice that was never stored
    let f = fixture().await;
    let missing = unique_id("inv");
    let message_id = unique_id("ses");
    for name in ["delivery", "bounce-permanent", "send"] {
        let body = notification(name, &missing, &message_id);

        // WHEN it arrives, THEN it returns to the queue ...
        assert_eq!(
            deliver(&f, std::slice::from_ref(&body)).await.len(),
            1,
            "{name}"
        );
        // ... as a final failure naming the invoice
        let event = parse_notification(Some(&body)).unwrap();
        let err = f.service.apply(&event).await.expect_err("unknown invoice");
        assert_eq!(err.code(), "unknown_invoice", "{name}: {err}");
        assert_eq!(err.disposition(), Disposition::Permanent);
        assert!(err.to_string().contains(&missing), "{err}");
    }
    // ... and nothing was created for it
    let (pk, sk) = keys::invoice(&InvoiceId::new(&missing));
    let item = f
        .aws
        .dynamodb
        .get_item()
        .table_name(f.store.table())
        .key("pk", AttributeValue::S(pk))
        .key("sk", AttributeValue::S(sk))
        .consistent_read(true)
        .send()
        .await
        .unwrap()
        .item;
    assert_eq!(item, None);
}
