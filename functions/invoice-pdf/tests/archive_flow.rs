//! invoice finalized → PDF and XML in the bucket at the expected keys with
//! the recorded SHA-256 → a delivery message; a second trigger changes
//! nothing; a different archived document is reported, never replaced.
//!
//! Runs against the local AWS endpoint (`make test-rust`), with the queue
//! trigger played by calling the real handler with a real SQS event shape.

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use aws_sdk_dynamodb::types::AttributeValue;
use billing_documents::samples;
use billing_domain::invoice::Invoice;
use billing_store::{BillingStore, DeliveryRequest, DocumentStatus, keys};
use billing_tests::{local_clients, resource, unique_id};
use chrono::Datelike;
use invoice_pdf::archive::key_stem;
use invoice_pdf::handler::handle;
use invoice_pdf::service::DocumentService;
use lambda_runtime::{Context, LambdaEvent};
use sha2::{Digest, Sha256};

struct Fixture {
    aws: billing_lambda::aws::AwsClients,
    service: DocumentService,
    store: BillingStore,
    bucket: String,
    delivery_queue: String,
}

async fn fixture() -> Fixture {
    let aws = local_clients().await;
    let table = resource("BILLING_TABLE");
    let bucket = resource("DOCUMENTS_BUCKET");
    let delivery_queue = resource("DELIVERY_QUEUE_URL");
    let store = BillingStore::new(aws.dynamodb.clone(), &table);
    let service = billing_tests::delivery::document_service(&aws, store.clone());
    Fixture {
        aws,
        service,
        store,
        bucket,
        delivery_queue,
    }
}

/// A finalized sample invoice with an id and number no other test uses,
/// stored the way the finalizing transaction leaves it (document pending).
async fn finalized_invoice(f: &Fixture) -> Invoice {
    let invoice = billing_tests::isolated(&samples::reverse_charge_austria().unwrap());
    billing_tests::put_finalized_invoice(
        &f.aws,
        f.store.table(),
        &invoice,
        DocumentStatus::Pending,
    )
    .await;
    invoice
}

async fn trigger(f: &Fixture, invoice: &Invoice) -> SqsBatchResponse {
    let mut message = SqsMessage::default();
    message.message_id = Some(unique_id("msg"));
    message.body = Some(format!(
        r#"{{"invoice_id":"{}"}}"#,
        invoice.content().id.as_str()
    ));
    let mut event = SqsEvent::default();
    event.records = vec![message];
    handle(&f.service, LambdaEvent::new(event, Context::default()))
        .await
        .unwrap()
}

/// Delivery requests for `invoice` now on the queue (deleted once read).
/// Tests share the queue, so other tests' messages are released at once.
async fn delivery_requests(f: &Fixture, invoice: &Invoice) -> Vec<DeliveryRequest> {
    let mut found = Vec::new();
    for _ in 0..4 {
        let received = f
            .aws
            .sqs
            .receive_message()
            .queue_url(&f.delivery_queue)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .send()
            .await
            .unwrap();
        for message in received.messages() {
            let request: DeliveryRequest =
                serde_json::from_str(message.body().unwrap_or_default()).unwrap();
            if request.invoice_id == invoice.content().id.as_str() {
                f.aws
                    .sqs
                    .delete_message()
                    .queue_url(&f.delivery_queue)
                    .receipt_handle(message.receipt_handle().unwrap_or_default())
                    .send()
                    .await
                    .unwrap();
                found.push(request);
            } else {
                // Another test's message: make it visible again at once.
                f.aws
                    .sqs
                    .change_message_visibility()
                    .queue_url(&f.delivery_queue)
                    .receipt_handle(message.receipt_handle().unwrap_or_default())
                    .visibility_timeout(0)
                    .send()
                    .await
                    .unwrap();
            }
        }
    }
    found
}

async fn object_versions(f: &Fixture, prefix: &str) -> usize {
    let listed = f
        .aws
        .s3
        .list_object_versions()
        .bucket(&f.bucket)
        .prefix(prefix)
        .send()
        .await
        .unwrap();
    listed.versions().len()
}

#[tokio::test]
async fn a_finalized_invoice_is_archived_and_handed_to_delivery_once() {
    // GIVEN a finalized invoice whose documents are pending
    let f = fixture().await;
    let invoice = finalized_invoice(&f).await;
    let stem = key_stem(&invoice);

    // WHEN the documents queue delivers its request
    let response = trigger(&f, &invoice).await;

    // THEN PDF and XML are archived at the expected keys ...
    assert!(response.batch_item_failures.is_empty());
    let stored = stored_invoice(&f, &invoice).await;
    assert_eq!(stored.document_status, DocumentStatus::Archived);
    assert_eq!(stored.document_failure, None);
    let keys: Vec<_> = stored.documents.iter().map(|d| d.key.as_str()).collect();
    assert_eq!(keys, [format!("{stem}.pdf"), format!("{stem}.xml")]);
    // ... with the SHA-256 recorded on the invoice, content type and metadata
    for document in &stored.documents {
        let object = f
            .aws
            .s3
            .get_object()
            .bucket(&f.bucket)
            .key(&document.key)
            .send()
            .await
            .unwrap();
        assert_eq!(object.content_type(), Some(document.content_type.as_str()));
        let metadata = object.metadata().cloned().unwrap_or_default();
        assert_eq!(
            metadata.get("invoice-id").map(String::as_str),
            Some(invoice.content().id.as_str())
        );
        assert_eq!(
            metadata.get("invoice-number").map(String::as_str),
            Some(invoice.number().as_str())
        );
        let bytes = object.body.collect().await.unwrap().into_bytes();
        assert_eq!(hex_sha256(&bytes), document.sha256);
        // ... locked until 8 years after the end of the issuing year
        // (§147(4) AO), in the template's default mode, not 8 years from
        // today's upload
        // (read from HEAD: the emulator answers GetObjectRetention with
        // the object itself)
        let head = f
            .aws
            .s3
            .head_object()
            .bucket(&f.bucket)
            .key(&document.key)
            .send()
            .await
            .unwrap();
        assert_eq!(
            head.object_lock_mode(),
            Some(&aws_sdk_s3::types::ObjectLockMode::Governance)
        );
        let next_year_plus_eight = invoice.content().issue_date.year() + 9;
        assert_eq!(
            head.object_lock_retain_until_date().map(|d| d.secs()),
            Some(
                chrono::NaiveDate::from_ymd_opt(next_year_plus_eight, 1, 1)
                    .unwrap()
                    .and_hms_opt(0, 0, 0)
                    .unwrap()
                    .and_utc()
                    .timestamp()
            )
        );
    }
    assert_eq!(stored.documents[0].content_type, "application/pdf");
    // ... and the invoice is on the delivery queue with those documents
    let requests = delivery_requests(&f, &invoice).await;
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].documents, stored.documents);
    assert_eq!(requests[0].invoice_number, invoice.number().as_str());

    // WHEN the same invoice is triggered again
    let response = trigger(&f, &invoice).await;

    // THEN nothing changes: no new object versions, no new delivery request,
    // the same record
    assert!(response.batch_item_failures.is_empty());
    assert_eq!(object_versions(&f, &stem).await, 2);
    assert!(delivery_requests(&f, &invoice).await.is_empty());
    let again = stored_invoice(&f, &invoice).await;
    assert_eq!(again.documents, stored.documents);

    // WHEN a re-render is requested (status set back to pending) and the
    // same bytes come out
    let (pk, sk) = keys::invoice(&invoice.content().id);
    f.aws
        .dynamodb
        .update_item()
        .table_name(f.store.table())
        .key("pk", AttributeValue::S(pk))
        .key("sk", AttributeValue::S(sk))
        .update_expression("SET document_status = :pending")
        .expression_attribute_values(":pending", AttributeValue::S("pending".into()))
        .send()
        .await
        .unwrap();
    let response = trigger(&f, &invoice).await;

    // THEN the identical archived files are a no-op: still one version each
    assert!(response.batch_item_failures.is_empty());
    assert_eq!(object_versions(&f, &stem).await, 2);
    let _ = delivery_requests(&f, &invoice).await;
}

#[tokio::test]
async fn a_different_archived_document_is_reported_and_not_replaced() {
    // GIVEN a different file already archived under the invoice's PDF key
    let f = fixture().await;
    let invoice = finalized_invoice(&f).await;
    let key = format!("{}.pdf", key_stem(&invoice));
    let other = b"%PDF-1.7 not this invoice".to_vec();
    f.aws
        .s3
        .put_object()
        .bucket(&f.bucket)
        .key(&key)
        .body(other.clone().into())
        .checksum_algorithm(aws_sdk_s3::types::ChecksumAlgorithm::Sha256)
        .send()
        .await
        .unwrap();

    // WHEN the invoice's documents are requested
    let response = trigger(&f, &invoice).await;

    // THEN the message fails (back to the queue, finally the DLQ) ...
    assert_eq!(response.batch_item_failures.len(), 1);
    // ... for exactly this reason, which is final ...
    let error = f
        .service
        .produce(&invoice.content().id)
        .await
        .expect_err("a different archived document is refused");
    assert_eq!(
        billing_lambda::Failure::code(&error),
        "different_document_archived"
    );
    assert_eq!(
        billing_lambda::Failure::disposition(&error),
        billing_lambda::Disposition::Permanent
    );
    // ... the archived file is untouched and the invoice still pending
    assert_eq!(object_versions(&f, &key).await, 1);
    let object = f
        .aws
        .s3
        .get_object()
        .bucket(&f.bucket)
        .key(&key)
        .send()
        .await
        .unwrap();
    let bytes = object.body.collect().await.unwrap().into_bytes();
    assert_eq!(bytes.as_ref(), other.as_slice());
    let stored = stored_invoice(&f, &invoice).await;
    assert_eq!(stored.document_status, DocumentStatus::Pending);
    assert!(delivery_requests(&f, &invoice).await.is_empty());
    // ... and the invoice says why, for whoever finds the message in the DLQ
    let failure = stored.document_failure.expect("the failure is recorded");
    assert_eq!(failure.code, "different_document_archived");
    assert!(failure.reason.contains(&key), "{}", failure.reason);
    // (two attempts so far: the queue trigger and the direct call above)
    assert_eq!(failure.attempts, 2);
    trigger(&f, &invoice).await;
    let again = stored_invoice(&f, &invoice).await.document_failure.unwrap();
    assert_eq!(again.attempts, 3);
}

async fn stored_invoice(f: &Fixture, invoice: &Invoice) -> billing_store::StoredInvoice {
    f.store
        .invoice(&invoice.content().id)
        .await
        .unwrap()
        .unwrap()
}

fn hex_sha256(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

#[tokio::test]
async fn an_unknown_invoice_fails_for_good() {
    // GIVEN an announcement for an invoice that was never stored
    let f = fixture().await;
    let id = billing_domain::ids::InvoiceId::new(unique_id("inv"));
    // WHEN its documents are requested
    let error = f.service.produce(&id).await.expect_err("nothing to render");
    // THEN it is a final failure (the queue parks it in the DLQ), not a retry
    assert_eq!(billing_lambda::Failure::code(&error), "unknown_invoice");
    assert_eq!(
        billing_lambda::Failure::disposition(&error),
        billing_lambda::Disposition::Permanent
    );
}

#[tokio::test]
async fn an_unknown_dunning_letter_fails_for_good_and_sends_nothing() {
    // GIVEN an announcement for a letter that was never recorded
    let f = fixture().await;
    let letter_id = unique_id("dun");
    // WHEN its PDF is requested
    let error = f
        .service
        .produce_letter(&letter_id)
        .await
        .expect_err("nothing to render");
    // THEN it is a final failure and no delivery request names it
    assert_eq!(billing_lambda::Failure::code(&error), "unknown_letter");
    assert_eq!(
        billing_lambda::Failure::disposition(&error),
        billing_lambda::Disposition::Permanent
    );
    let requests = billing_tests::delivery::take_messages(&f.aws, &f.delivery_queue, |body| {
        body.contains(&letter_id)
    })
    .await;
    assert!(requests.is_empty());
}
