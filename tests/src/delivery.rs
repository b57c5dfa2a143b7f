//! Delivery as the local endpoint sees it: the queue messages a function
//! would be triggered with, and the e-mails SES "sent".

use aws_lambda_events::event::sqs::{SqsEvent, SqsMessage};
use aws_sdk_sqs::types::{Message, MessageSystemAttributeName};
use billing_documents::InvoiceRenderer;
use billing_documents::letter::LetterRenderer;
use billing_documents::mail::MailTemplates;
use billing_lambda::aws::AwsClients;
use billing_store::{BillingStore, StoredLetter};
use invoice_delivery::attachments::ArchivedFiles;
use invoice_delivery::mailer::Mailer;
use invoice_delivery::service::DeliveryService;
use invoice_pdf::archive::DocumentArchive;
use invoice_pdf::service::DocumentService;
use serde::Deserialize;

use crate::resource;

/// One e-mail the local SES recorded, byte-identical to what was sent.
#[derive(Debug, Clone, Deserialize)]
pub struct RecordedMail {
    /// SES's message id.
    pub id: String,
    /// The From address as given to SendEmail.
    pub source: String,
    /// Every recipient (To and Cc headers).
    pub destinations: Vec<String>,
    /// The raw RFC 5322 message.
    pub raw_data: String,
}

/// Every e-mail the local endpoint recorded since it started.
///
/// # Panics
/// When the endpoint's state API cannot be read.
pub fn recorded_mails() -> Vec<RecordedMail> {
    let url = format!("{}/moto-api/data.json", resource("AWS_ENDPOINT_URL"));
    let text = ureq::get(&url)
        .call()
        .and_then(|mut r| r.body_mut().read_to_string())
        .unwrap_or_else(|e| panic!("GET {url}: {e}"));
    let data: serde_json::Value = serde_json::from_str(&text).expect("the state API answers JSON");
    let mails = data["ses"]["RawMessage"].clone();
    if mails.is_null() {
        return Vec::new();
    }
    serde_json::from_value(mails)
        .expect("RawMessage entries have id, source, destinations, raw_data")
}

/// The delivery function wired as its `main` does, on the local endpoint.
///
/// # Panics
/// When the built-in mail templates do not compile.
pub fn delivery_service(aws: &AwsClients, store: BillingStore) -> DeliveryService {
    DeliveryService::new(
        store,
        ArchivedFiles::new(aws.s3.clone(), resource("DOCUMENTS_BUCKET")),
        Mailer::new(aws.ses.clone(), resource("SES_CONFIGURATION_SET")),
        MailTemplates::built_in().expect("the built-in mail templates compile"),
    )
}

/// The documents function (invoices and dunning letters) wired as its
/// `main` does, on the local endpoint.
///
/// # Panics
/// When the built-in templates or fonts do not load.
pub fn document_service(aws: &AwsClients, store: BillingStore) -> DocumentService {
    DocumentService::new(
        store,
        InvoiceRenderer::built_in().expect("the built-in invoice templates load"),
        LetterRenderer::from_env().expect("the built-in letter template loads"),
        DocumentArchive::new(
            aws.s3.clone(),
            resource("DOCUMENTS_BUCKET"),
            invoice_pdf::archive::retention_from_env()
                .expect("the template sets the archive retention"),
        ),
        aws.sqs.clone(),
        resource("DELIVERY_QUEUE_URL"),
    )
}

/// The messages on `queue` that `wanted` picks (deleted from the queue, as
/// Lambda deletes a handled batch); other tests' messages are made visible
/// again at once. Tries for a few seconds.
///
/// # Panics
/// When the queue cannot be read.
pub async fn take_messages(
    aws: &AwsClients,
    queue: &str,
    wanted: impl Fn(&str) -> bool,
) -> Vec<Message> {
    let mut found = Vec::new();
    for _ in 0..4 {
        let received = aws
            .sqs
            .receive_message()
            .queue_url(queue)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
            .send()
            .await
            .expect("the queue can be read");
        for message in received.messages() {
            let handle = message.receipt_handle().unwrap_or_default();
            if wanted(message.body().unwrap_or_default()) {
                aws.sqs
                    .delete_message()
                    .queue_url(queue)
                    .receipt_handle(handle)
                    .send()
                    .await
                    .expect("the message can be deleted");
                found.push(message.clone());
            } else {
                aws.sqs
                    .change_message_visibility()
                    .queue_url(queue)
                    .receipt_handle(handle)
                    .visibility_timeout(0)
                    .send()
                    .await
                    .expect("the message can be released");
            }
        }
        if !found.is_empty() {
            break;
        }
    }
    found
}

/// The event Lambda's SQS trigger builds from received messages.
pub fn sqs_event(messages: &[Message]) -> SqsEvent {
    let mut event = SqsEvent::default();
    event.records = messages.iter().map(sqs_message).collect();
    event
}

/// One received message in the trigger's shape.
pub fn sqs_message(m: &Message) -> SqsMessage {
    let mut message = SqsMessage::default();
    message.message_id = m.message_id().map(str::to_owned);
    message.receipt_handle = m.receipt_handle().map(str::to_owned);
    message.body = m.body().map(str::to_owned);
    if let Some(count) = m
        .attributes()
        .and_then(|a| a.get(&MessageSystemAttributeName::ApproximateReceiveCount))
    {
        message
            .attributes
            .insert("ApproximateReceiveCount".to_owned(), count.clone());
    }
    message
}

/// Plays what the stream pipe and the two queues do with a recorded dunning
/// letter, through the real handlers: the documents function archives its
/// PDF and asks for delivery, the delivery function e-mails it. Returns the
/// letter as stored afterwards and the e-mail the local SES recorded.
///
/// # Panics
/// When a step fails or the e-mail was not recorded.
pub async fn deliver_dunning_letter(
    aws: &AwsClients,
    store: &BillingStore,
    letter_id: &str,
) -> (StoredLetter, RecordedMail) {
    let documents = document_service(aws, store.clone());
    let mut pipe_message = SqsMessage::default();
    pipe_message.message_id = Some(format!("pipe-{letter_id}"));
    pipe_message.body = Some(serde_json::json!({ "letter_id": letter_id }).to_string());
    invoice_pdf::handler::handle_message(&documents, pipe_message)
        .await
        .expect("the documents function archives the letter");
    let queue = resource("DELIVERY_QUEUE_URL");
    let requests = take_messages(aws, &queue, |body| body.contains(letter_id)).await;
    assert_eq!(requests.len(), 1, "one delivery request for {letter_id}");
    let delivery = delivery_service(aws, store.clone());
    invoice_delivery::handler::handle_message(&delivery, sqs_message(&requests[0]))
        .await
        .expect("the delivery function sends the letter");
    let stored = store
        .dunning_letter(letter_id)
        .await
        .expect("the letter can be read")
        .expect("the letter exists");
    let message_id = stored
        .delivery
        .as_ref()
        .and_then(|d| d.message_id.clone())
        .expect("the letter records its SES message id");
    let mail = recorded_mails()
        .into_iter()
        .find(|mail| mail.id == message_id)
        .expect("the local SES recorded the letter's e-mail");
    (stored, mail)
}
