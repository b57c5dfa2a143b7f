//! Delivery as the local endpoint sees it: the queue messages a function
//! would be triggered with, and the e-mails SES "sent".

use aws_lambda_events::event::sqs::{SqsEvent, SqsMessage};
use aws_sdk_sqs::types::{Message, MessageSystemAttributeName};
use billing_documents::mail::MailTemplates;
use billing_lambda::aws::AwsClients;
use billing_store::BillingStore;
use invoice_delivery::attachments::ArchivedFiles;
use invoice_delivery::mailer::Mailer;
use invoice_delivery::service::DeliveryService;
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
