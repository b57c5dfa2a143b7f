//! The delivery queue's messages in, one [`DeliveryService::deliver`] call
//! each, per-message failures out (passing ones with backoff).

use std::time::Duration;

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use billing_lambda::metrics::{self, MetricLine};
use billing_lambda::sqs::{RetryBackoff, process_batch_with_backoff};
use billing_store::{DeliveryRequest, LetterDeliveryRequest};
use chrono::Utc;
use lambda_runtime::LambdaEvent;

use crate::error::DeliveryError;
use crate::service::{Delivered, DeliveryService};

/// The function's name in its business metrics.
pub const FUNCTION: &str = "invoice-delivery";

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

/// What one delivery message asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeliveryJob {
    /// An invoice (or credit note) with its archived files.
    Invoice(DeliveryRequest),
    /// A dunning letter with its archived PDF.
    Letter(LetterDeliveryRequest),
}

/// One message: which invoice or letter, then deliver it.
pub async fn handle_message(
    service: &DeliveryService,
    message: SqsMessage,
) -> Result<(), DeliveryError> {
    let job = request(message.body.as_deref())?;
    // The SQS message id names this attempt's claim: unique per message,
    // and the same on a redelivery of it.
    let token = message.message_id.as_deref().unwrap_or("unnamed");
    let (delivered, dispatch) = match &job {
        DeliveryJob::Invoice(request) => (
            service.deliver(request, token, Utc::now()).await?,
            format!("invoice {}", request.invoice_id),
        ),
        DeliveryJob::Letter(request) => (
            service.deliver_letter(request, token, Utc::now()).await?,
            format!("dunning letter {}", request.letter_id),
        ),
    };
    let invoice = matches!(job, DeliveryJob::Invoice(_));
    let sent = matches!(
        delivered,
        Delivered::Sent { .. } | Delivered::SentAfterClaimLapsed { .. }
    );
    MetricLine::new(FUNCTION)
        .count(metrics::INVOICES_DELIVERED, usize::from(invoice && sent))
        .count(
            metrics::DELIVERIES_FAILED,
            usize::from(matches!(delivered, Delivered::Failed { .. })),
        )
        .emit();
    match delivered {
        Delivered::Sent {
            message_id,
            recipients,
            taken_over,
        } => tracing::info!(
            dispatch,
            ses_message_id = %message_id,
            recipients,
            taken_over,
            "e-mail sent"
        ),
        Delivered::SentAfterClaimLapsed { message_id } => tracing::warn!(
            dispatch,
            ses_message_id = %message_id,
            "e-mail sent, but another worker had recorded an outcome first"
        ),
        Delivered::AlreadySettled(status) => tracing::info!(
            dispatch,
            status = status.as_str(),
            "delivery already settled; nothing sent"
        ),
        Delivered::Failed { .. } => tracing::warn!(
            dispatch,
            "delivery failed; recorded on the item and the needs-attention list"
        ),
    }
    Ok(())
}

/// The delivery request in a message body, or why the body is unusable: a
/// letter's request names `letter_id`, an invoice's `invoice_id`.
pub fn request(body: Option<&str>) -> Result<DeliveryJob, DeliveryError> {
    let body = body.ok_or_else(|| DeliveryError::BadRequest {
        reason: "message has no body".to_owned(),
    })?;
    let letter = body.contains("\"letter_id\"");
    let shape = if letter {
        "{\"letter_id\", \"document\"}"
    } else {
        "{\"invoice_id\", \"invoice_number\", \"documents\"}"
    };
    // serde's message may quote the body: report only where it failed.
    let bad = |e: serde_json::Error| DeliveryError::BadRequest {
        reason: format!(
            "expected {shape}: {:?} error at line {} column {}",
            e.classify(),
            e.line(),
            e.column()
        ),
    };
    if letter {
        serde_json::from_str(body)
            .map(DeliveryJob::Letter)
            .map_err(bad)
    } else {
        serde_json::from_str(body)
            .map(DeliveryJob::Invoice)
            .map_err(bad)
    }
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
        let DeliveryJob::Invoice(request) = request else {
            panic!("an invoice's request: {request:?}");
        };
        assert_eq!(request.invoice_id, "inv_1");
        assert_eq!(request.documents.len(), 1);
        let letter = super::request(Some(
            r#"{"letter_id":"dun_1","document":{"key":"letters/e/2026/dun_1.pdf","sha256":"00","content_type":"application/pdf"}}"#,
        ))
        .unwrap();
        assert!(matches!(letter, DeliveryJob::Letter(ref l) if l.letter_id == "dun_1"));
    }

    #[test]
    fn a_malformed_message_is_a_permanent_failure_naming_the_problem() {
        for body in [
            None,
            Some("{}"),
            Some("not json"),
            Some(r#"{"invoice_id":1}"#),
            Some(r#"{"letter_id":"dun_1"}"#),
            Some(
                r#"{"letter_id":"dun_1","document":{"key":"k","sha256":"00","content_type":"application/pdf"},"x":1}"#,
            ),
        ] {
            let err = request(body).unwrap_err();
            assert_eq!(err.code(), "bad_request", "{body:?}");
            assert_eq!(err.disposition(), Disposition::Permanent);
        }
    }
}
