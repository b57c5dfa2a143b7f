//! Delivery against the local AWS endpoint: the e-mail goes out once, with
//! the archived bytes; a redelivery sends nothing; an unverified sender
//! ends `failed` with a reason; suppressed addresses are skipped; a
//! throttled SES (played with aws-smithy-mocks, which the emulator cannot
//! produce) is retried with backoff.
//!
//! Invoices come from the real webhook handler; their "archived" files are
//! small stand-ins stored through the real archive (rendering is covered by
//! the documents tests and the end-to-end test).

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use aws_sdk_sesv2::operation::send_email::{SendEmailError, SendEmailOutput};
use aws_sdk_sesv2::types::error::TooManyRequestsException;
use aws_smithy_mocks::{RuleMode, mock, mock_client};
use billing_documents::mail::MailTemplates;
use billing_domain::ids::InvoiceId;
use billing_domain::party::EmailAddress;
use billing_domain::seller::BillingEntity;
use billing_lambda::aws::AwsClients;
use billing_lambda::sqs::RetryBackoff;
use billing_store::{BillingStore, DeliveryRequest, DeliveryStatus, TroubleReport};
use billing_tests::delivery::{RecordedMail, delivery_service, recorded_mails};
use billing_tests::webhook::{example_entity, example_opportunity, post, signed, webhook_state};
use billing_tests::{local_clients, resource, unique_id};
use invoice_delivery::attachments::ArchivedFiles;
use invoice_delivery::handler::handle;
use invoice_delivery::mailer::Mailer;
use invoice_delivery::service::DeliveryService;
use invoice_pdf::archive::{Document, DocumentArchive, PDF, key_stem};
use lambda_runtime::{Context, LambdaEvent};
use std::time::Duration;

struct Fixture {
    aws: AwsClients,
    store: BillingStore,
    state: opportunity_webhook::handler::WebhookState,
    entity: BillingEntity,
}

async fn fixture(sender: &str) -> Fixture {
    let aws = local_clients().await;
    let mut entity = example_entity(&unique_id("ent"));
    entity.mail.address = EmailAddress::parse(sender).unwrap();
    let state = webhook_state(entity.clone()).await;
    let store = BillingStore::new(aws.dynamodb.clone(), resource("BILLING_TABLE"));
    Fixture {
        aws,
        store,
        state,
        entity,
    }
}

/// A finalized invoice for a new customer with `emails`, its stand-in PDF
/// archived, and the delivery request the documents function would send.
async fn archived_invoice(f: &Fixture, emails: &[String], language: &str) -> DeliveryRequest {
    archived_invoice_for(f, &unique_id("crm"), emails, language).await
}

/// [`archived_invoice`] for the CRM account `crm_id` (same id, same account).
async fn archived_invoice_for(
    f: &Fixture,
    crm_id: &str,
    emails: &[String],
    language: &str,
) -> DeliveryRequest {
    let mut deal = example_opportunity();
    deal["opportunity_id"] = unique_id("opp").into();
    deal["account"]["crm_id"] = crm_id.into();
    deal["account"]["invoice_emails"] = serde_json::json!(emails);
    deal["account"]["language"] = language.into();
    let body = serde_json::to_vec(&deal).unwrap();
    let now = chrono::Utc::now();
    let (status, answer, _) = post(&f.state, signed(&body, now), now).await;
    assert_eq!(status, 201, "{answer}");
    let id = InvoiceId::new(answer["invoice_id"].as_str().unwrap());
    let invoice = f.store.invoice(&id).await.unwrap().unwrap().invoice;
    let pdf = Document::new(
        format!("{}.pdf", key_stem(&invoice)),
        PDF,
        format!("%PDF-1.7 stand-in for {}", invoice.number()).into_bytes(),
    );
    DocumentArchive::new(
        f.aws.s3.clone(),
        resource("DOCUMENTS_BUCKET"),
        invoice_pdf::archive::retention_from_env().unwrap(),
    )
    .put_once(&invoice, &pdf)
    .await
    .unwrap();
    DeliveryRequest {
        invoice_id: id.to_string(),
        invoice_number: invoice.number().to_string(),
        documents: vec![pdf.record()],
    }
}

/// The delivery state the invoice of `request` records (it must have one).
async fn recorded(f: &Fixture, request: &DeliveryRequest) -> billing_store::DeliveryState {
    f.store
        .delivery_state(&InvoiceId::new(&request.invoice_id))
        .await
        .unwrap()
        .expect("a delivery state is recorded")
}

fn message(request: &DeliveryRequest) -> SqsMessage {
    let mut message = SqsMessage::default();
    message.message_id = Some(unique_id("msg"));
    message.receipt_handle = Some(unique_id("receipt"));
    message.body = Some(serde_json::to_string(request).unwrap());
    message
}

async fn deliver_with(
    service: &DeliveryService,
    backoff: &RetryBackoff,
    messages: Vec<SqsMessage>,
) -> SqsBatchResponse {
    let mut event = SqsEvent::default();
    event.records = messages;
    handle(
        service,
        backoff,
        LambdaEvent::new(event, Context::default()),
    )
    .await
    .unwrap()
}

fn backoff(aws: &AwsClients) -> RetryBackoff {
    RetryBackoff::new(
        aws.sqs.clone(),
        resource("DELIVERY_QUEUE_URL"),
        Duration::from_secs(15),
        Duration::from_secs(900),
    )
}

/// A mail domain no other test uses (invoice numbers repeat across tests,
/// since each test has its own seller and so its own number series).
fn customer_domain() -> String {
    format!("{}.example", unique_id("kunde"))
}

/// What the local SES recorded for recipients at `domain`.
fn mails_to(domain: &str) -> Vec<RecordedMail> {
    recorded_mails()
        .into_iter()
        .filter(|m| m.destinations.iter().any(|d| d.contains(domain)))
        .collect()
}

#[tokio::test]
async fn an_invoice_is_sent_once_and_a_redelivery_sends_nothing_new() {
    // GIVEN an archived invoice for a customer with two invoice addresses
    let f = fixture("invoices@example.com").await;
    let domain = customer_domain();
    let request =
        archived_invoice(&f, &[format!("ap@{domain}"), format!("cfo@{domain}")], "en").await;
    let service = delivery_service(&f.aws, f.store.clone());
    let first = message(&request);

    // WHEN the delivery request arrives, and then again (redelivered), and
    // once more as a second message (the documents function retried)
    let response = deliver_with(&service, &backoff(&f.aws), vec![first.clone()]).await;
    assert!(response.batch_item_failures.is_empty());
    let again = deliver_with(&service, &backoff(&f.aws), vec![first, message(&request)]).await;
    assert!(again.batch_item_failures.is_empty());

    // THEN exactly one e-mail went out, To the first address, Cc the second
    let mails = mails_to(&domain);
    assert_eq!(mails.len(), 1, "one e-mail, not {}", mails.len());
    let mail = &mails[0];
    assert_eq!(mail.source, "invoices@example.com");
    let parsed = mail_parser::MessageParser::default()
        .parse(mail.raw_data.as_bytes())
        .unwrap();
    let to: Vec<_> = parsed
        .to()
        .unwrap()
        .iter()
        .filter_map(|a| a.address())
        .collect();
    let cc: Vec<_> = parsed
        .cc()
        .unwrap()
        .iter()
        .filter_map(|a| a.address())
        .collect();
    assert_eq!(to, vec![format!("ap@{domain}")]);
    assert_eq!(cc, vec![format!("cfo@{domain}")]);
    // in English, as the account asks
    assert!(
        parsed.subject().unwrap().starts_with("Invoice "),
        "{:?}",
        parsed.subject()
    );
    // AND the invoice records `sent` with SES's message id
    let state = recorded(&f, &request).await;
    assert_eq!(state.status, DeliveryStatus::Sent);
    assert_eq!(state.message_id.as_deref(), Some(mail.id.as_str()));
    assert!(state.sent_at.is_some());
}

#[tokio::test]
async fn an_unverified_sender_ends_failed_with_a_readable_reason() {
    // GIVEN a seller whose From address is on no verified identity
    let f = fixture("invoices@unverified.example.net").await;
    let domain = customer_domain();
    let request = archived_invoice(&f, &[format!("ap@{domain}")], "de").await;
    let service = delivery_service(&f.aws, f.store.clone());

    // WHEN its invoice is delivered
    let response = deliver_with(&service, &backoff(&f.aws), vec![message(&request)]).await;

    // THEN the message is done (no retry), nothing was sent, and the
    // invoice records `failed` with SES's reason, on the attention list
    assert!(response.batch_item_failures.is_empty());
    assert!(mails_to(&domain).is_empty());
    let id = InvoiceId::new(&request.invoice_id);
    let state = f.store.delivery_state(&id).await.unwrap().unwrap();
    assert_eq!(state.status, DeliveryStatus::Failed);
    let reason = state.reason.unwrap();
    assert!(reason.contains("MessageRejected"), "{reason}");
    assert!(reason.contains("authority to send"), "{reason}");
    assert!(
        !reason.contains("unverified.example.net"),
        "address redacted: {reason}"
    );
    let attention = f.store.needs_attention(&f.entity.id).await.unwrap();
    assert_eq!(attention.len(), 1);
    assert_eq!(attention[0].invoice_id, request.invoice_id);
    assert_eq!(attention[0].status, DeliveryStatus::Failed);
    assert_eq!(attention[0].reason, reason);

    // AND a redelivery changes nothing
    let again = deliver_with(&service, &backoff(&f.aws), vec![message(&request)]).await;
    assert!(again.batch_item_failures.is_empty());
    assert_eq!(
        f.store
            .delivery_state(&id)
            .await
            .unwrap()
            .unwrap()
            .reason
            .unwrap(),
        reason
    );
}

#[tokio::test]
async fn suppressed_addresses_are_skipped_and_none_left_means_failed() {
    // GIVEN a customer with two addresses, the first of which bounced before
    let f = fixture("invoices@example.com").await;
    let domain = customer_domain();
    let addresses = [format!("gone@{domain}"), format!("ok@{domain}")];
    let customer = unique_id("crm");
    let bounced = archived_invoice_for(&f, &customer, &addresses, "de").await;
    let bounce = |address: &str| TroubleReport {
        dispatch: InvoiceId::new(&bounced.invoice_id).into(),
        status: DeliveryStatus::Bounced,
        reason: "permanent bounce (General)".to_owned(),
        at: chrono::Utc::now(),
        suppress: vec![address.to_owned()],
    };
    f.store
        .record_delivery_trouble(&bounce(&format!("Gone@{}", domain.to_uppercase())), None)
        .await
        .unwrap();
    let service = delivery_service(&f.aws, f.store.clone());

    // WHEN the next invoice to that customer is delivered
    let earlier = archived_invoice_for(&f, &customer, &addresses, "de").await;
    deliver_with(&service, &backoff(&f.aws), vec![message(&earlier)]).await;

    // THEN only the remaining address gets it
    let mails = mails_to(&domain);
    assert_eq!(mails.len(), 1);
    assert_eq!(
        mails[0].destinations.len(),
        1,
        "{:?}",
        mails[0].destinations
    );
    assert!(mails[0].destinations[0].contains(&format!("ok@{domain}")));

    // AND once that one is suppressed too, the next invoice fails for good
    f.store
        .record_delivery_trouble(&bounce(&format!("ok@{domain}")), None)
        .await
        .unwrap();
    let later = archived_invoice_for(&f, &customer, &addresses, "de").await;
    deliver_with(&service, &backoff(&f.aws), vec![message(&later)]).await;
    assert_eq!(mails_to(&domain).len(), 1, "nothing more was sent");
    let state = recorded(&f, &later).await;
    assert_eq!(state.status, DeliveryStatus::Failed);
    assert!(state.reason.unwrap().contains("are suppressed"));
}

#[tokio::test]
async fn a_document_that_differs_from_its_recorded_checksum_is_not_sent() {
    let f = fixture("invoices@example.com").await;
    let domain = customer_domain();
    let mut request = archived_invoice(&f, &[format!("ap@{domain}")], "de").await;
    request.documents[0].sha256 = "0".repeat(64);
    let service = delivery_service(&f.aws, f.store.clone());

    deliver_with(&service, &backoff(&f.aws), vec![message(&request)]).await;

    assert!(mails_to(&domain).is_empty());
    let state = recorded(&f, &request).await;
    assert_eq!(state.status, DeliveryStatus::Failed);
    assert!(state.reason.unwrap().contains("SHA-256"));
}

#[tokio::test]
async fn an_unknown_invoice_or_a_malformed_message_returns_to_the_queue() {
    let f = fixture("invoices@example.com").await;
    let service = delivery_service(&f.aws, f.store.clone());
    let unknown = DeliveryRequest {
        invoice_id: unique_id("inv"),
        invoice_number: "RE-2026-999999".to_owned(),
        documents: Vec::new(),
    };
    let mut malformed = SqsMessage::default();
    malformed.message_id = Some("m-bad".to_owned());
    malformed.body = Some("{\"invoice\":".to_owned());
    let mut unknown_message = message(&unknown);
    unknown_message.message_id = Some("m-unknown".to_owned());

    let response = deliver_with(&service, &backoff(&f.aws), vec![unknown_message, malformed]).await;

    let mut failed: Vec<_> = response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.as_str())
        .collect();
    failed.sort_unstable();
    assert_eq!(failed, vec!["m-bad", "m-unknown"]);
}

fn throttled() -> SendEmailError {
    SendEmailError::TooManyRequestsException(
        TooManyRequestsException::builder()
            .message("Maximum sending rate exceeded.")
            .meta(
                aws_sdk_sesv2::error::ErrorMetadata::builder()
                    .code("TooManyRequestsException")
                    .message("Maximum sending rate exceeded.")
                    .build(),
            )
            .build(),
    )
}

#[tokio::test]
async fn a_throttled_send_is_retried_with_backoff_and_then_sent() {
    // GIVEN SES throttles the first send and accepts the second
    let f = fixture("invoices@example.com").await;
    let request = archived_invoice(&f, &[format!("ap@{}", customer_domain())], "de").await;
    let throttle = mock!(aws_sdk_sesv2::Client::send_email).then_error(throttled);
    let accept = mock!(aws_sdk_sesv2::Client::send_email).then_output(|| {
        SendEmailOutput::builder()
            .message_id("mocked-ses-1")
            .build()
    });
    let ses = mock_client!(aws_sdk_sesv2, RuleMode::Sequential, [&throttle, &accept]);
    let service = DeliveryService::new(
        f.store.clone(),
        ArchivedFiles::new(f.aws.s3.clone(), resource("DOCUMENTS_BUCKET")),
        Mailer::new(ses, resource("SES_CONFIGURATION_SET")),
        MailTemplates::built_in().unwrap(),
    );
    // AND a queue whose own visibility timeout is zero, so only the backoff
    // can keep a failed message out of sight
    let queue = f
        .aws
        .sqs
        .create_queue()
        .queue_name(unique_id("delivery-backoff"))
        .attributes(
            aws_sdk_sqs::types::QueueAttributeName::VisibilityTimeout,
            "0",
        )
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    f.aws
        .sqs
        .send_message()
        .queue_url(&queue)
        .message_body(serde_json::to_string(&request).unwrap())
        .send()
        .await
        .unwrap();
    let polled = f
        .aws
        .sqs
        .receive_message()
        .queue_url(&queue)
        .wait_time_seconds(1)
        .send()
        .await
        .unwrap();
    assert_eq!(polled.messages().len(), 1);
    let held = billing_tests::delivery::sqs_message(&polled.messages()[0]);
    let backoff = RetryBackoff::new(
        f.aws.sqs.clone(),
        &queue,
        Duration::from_secs(60),
        Duration::from_secs(900),
    );

    // WHEN the first attempt is throttled
    let first = deliver_with(&service, &backoff, vec![held.clone()]).await;

    // THEN the message returns to the queue, postponed by the backoff ...
    assert_eq!(first.batch_item_failures.len(), 1);
    let visible = f
        .aws
        .sqs
        .receive_message()
        .queue_url(&queue)
        .wait_time_seconds(1)
        .send()
        .await
        .unwrap();
    assert!(visible.messages().is_empty(), "the retry was postponed");
    // ... and the invoice is neither failed nor held by a stale claim
    let id = InvoiceId::new(&request.invoice_id);
    assert_eq!(f.store.delivery_state(&id).await.unwrap(), None);

    // WHEN the retry comes
    let second = deliver_with(&service, &backoff, vec![held]).await;

    // THEN it is sent and recorded
    assert!(second.batch_item_failures.is_empty());
    // (the SDK itself retried the throttled call a few times first)
    assert!(throttle.num_calls() >= 1);
    assert_eq!(accept.num_calls(), 1);
    let state = f.store.delivery_state(&id).await.unwrap().unwrap();
    assert_eq!(state.status, DeliveryStatus::Sent);
    assert_eq!(state.message_id.as_deref(), Some("mocked-ses-1"));
}

#[tokio::test]
async fn an_unknown_dunning_letter_fails_for_good_and_sends_nothing() {
    // GIVEN a letter request naming a letter that was never recorded
    let f = fixture("invoices@example.com").await;
    let service = delivery_service(&f.aws, f.store.clone());
    let request = billing_store::LetterDeliveryRequest {
        letter_id: unique_id("dun"),
        document: billing_store::ArchivedDocument {
            key: "letters/none.pdf".to_owned(),
            sha256: "00".to_owned(),
            content_type: "application/pdf".to_owned(),
        },
    };
    // WHEN it is delivered
    let error = service
        .deliver_letter(&request, "token", chrono::Utc::now())
        .await
        .expect_err("nothing to send");
    // THEN it is a final failure naming the letter (found before any claim
    // or send)
    assert_eq!(billing_lambda::Failure::code(&error), "unknown_letter");
    assert_eq!(
        billing_lambda::Failure::disposition(&error),
        billing_lambda::Disposition::Permanent
    );
    assert!(error.to_string().contains(&request.letter_id));
}
