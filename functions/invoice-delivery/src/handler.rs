//! The delivery queue's messages in, one [`DeliveryService::deliver`] call
//! each, per-message failures out (passing ones with backoff).

use std::time::Duration;

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use billing_lambda::sqs::{RetryBackoff, process_batch_with_backoff};
use billing_store::DeliveryRequest;
use chrono::Utc;
use lambda_runtime::LambdaEvent;

use crate::error::DeliveryError;
use crate::service::{Delivered, DeliveryService};

/// First retry of a throttled or busy delivery after this long...
pub const RETRY_FIRST: Duration = Duration::from_secs(15);
/// ...doubling up to this (with the queue's 8 receives: about half an hour in
/// all before the dead-letter queue).
pub const RETRY_MAX: Duration = Duration::from_secs(15 * 60);

/// Handles a batch; failed messages return to the queue (and after the
/// queue's `maxReceiveCount` land in its dead-letter queue).
pub async fn handle(
    service: &DeliveryService,
    backoff: &RetryBackoff,
    event: LambdaEvent<SqsEvent>,
) -> Result<SqsBatchResponse, lambda_runtime::Error> {
    Ok(
        process_batch_with_backoff(event.payload, backoff, |message| {
            handle_message(service, message)
        })
        .await,
    )
}

/// One message: which invoice, then deliver it.
pub async fn handle_message(
    service: &DeliveryService,
    message: SqsMessage,
) -> Result<(), DeliveryError> {
    let request = request(message.body.as_deref())?;
    // The SQS message id names this attempt's claim: unique per message,
    // and the same on a redelivery of it.
    let token = message.message_id.as_deref().unwrap_or("unnamed");
    match service.deliver(&request, token, Utc::now()).await? {
        Delivered::Sent {
            message_id,
            recipients,
            taken_over,
        } => tracing::info!(
            invoice_id = %request.invoice_id,
            ses_message_id = %message_id,
            recipients,
            taken_over,
            "invoice e-mail sent"
        ),
        Delivered::SentAfterClaimLapsed { message_id } => tracing::warn!(
            invoice_id = %request.invoice_id,
            ses_message_id = %message_id,
            "invoice e-mail sent, but another worker had recorded an outcome first"
        ),
        Delivered::AlreadySettled(status) => tracing::info!(
            invoice_id = %request.invoice_id,
            status = status.as_str(),
            "invoice delivery already settled; nothing sent"
        ),
        Delivered::Failed { .. } => tracing::warn!(
            invoice_id = %request.invoice_id,
            "invoice delivery failed; recorded on the invoice and the needs-attention list"
        ),
    }
    Ok(())
}

/// The delivery request in a message body, or why the body is unusable.
pub fn request(body: Option<&str>) -> Result<DeliveryRequest, DeliveryError> {
    let body = body.ok_or_else(|| DeliveryError::BadRequest {
        reason: "message has no body".to_owned(),
    })?;
    serde_json::from_str(body).map_err(|e| DeliveryError::BadRequest {
        reason: format!(
            "expected {{\"invoice_id\", \"invoice_number\", \"documents\"}}: {:?} error at line {} column {}",
            e.classify(),
            e.line(),
            e.column()
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use billing_lambda::{Disposition, Failure};

    #[test]
    fn the_documents_function_message_parses() {
        let request = request(Some(
            r#"{"invoice_id":"inv_1","invoice_number":"RE-2026-000001","documents":[{"key":"invoices/e/2026/RE-2026-000001.pdf","sha256":"00","content_type":"application/pdf"}]}"#,
        ))
        .unwrap();
        assert_eq!(request.invoice_id, "inv_1");
        assert_eq!(request.documents.len(), 1);
    }

    #[test]
    fn a_malformed_message_is_a_permanent_failure_naming_the_problem() {
        for body in [
            None,
            Some("{}"),
            Some("not json"),
            Some(r#"{"invoice_id":1}"#),
        ] {
            let err = request(body).unwrap_err();
            assert_eq!(err.code(), "bad_request", "{body:?}");
            assert_eq!(err.disposition(), Disposition::Permanent);
        }
    }
}
