//! The documents queue's messages in, one [`DocumentService::produce`] call
//! each, per-message failures out.

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use billing_domain::ids::InvoiceId;
use billing_lambda::sqs::process_batch;
use lambda_runtime::LambdaEvent;
use serde::Deserialize;

use crate::error::InvoicePdfError;
use crate::service::{DocumentService, Produced};

/// What the EventBridge Pipe puts on the documents queue.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DocumentsRequest {
    invoice_id: String,
}

/// Handles a batch; failed messages return to the queue (and after the
/// queue's `maxReceiveCount` land in its dead-letter queue).
pub async fn handle(
    service: &DocumentService,
    event: LambdaEvent<SqsEvent>,
) -> Result<SqsBatchResponse, lambda_runtime::Error> {
    Ok(process_batch(event.payload, |message| handle_message(service, message)).await)
}

/// One message: which invoice, then produce its documents.
pub async fn handle_message(
    service: &DocumentService,
    message: SqsMessage,
) -> Result<(), InvoicePdfError> {
    let invoice_id = invoice_id(message.body.as_deref())?;
    match service.produce(&invoice_id).await? {
        Produced::Archived { documents, written } => tracing::info!(
            invoice_id = %invoice_id,
            documents = documents.len(),
            written,
            "invoice documents archived and delivery requested"
        ),
        Produced::AlreadyArchived => tracing::info!(
            invoice_id = %invoice_id,
            "invoice documents were already archived; nothing to do"
        ),
    }
    Ok(())
}

/// The invoice id from a message body, or why the body is unusable.
pub fn invoice_id(body: Option<&str>) -> Result<InvoiceId, InvoicePdfError> {
    let body = body.ok_or_else(|| InvoicePdfError::BadRequest {
        reason: "message has no body".to_owned(),
    })?;
    let request: DocumentsRequest =
        serde_json::from_str(body).map_err(|e| InvoicePdfError::BadRequest {
            reason: format!("expected {{\"invoice_id\": \"...\"}}: {e}"),
        })?;
    InvoiceId::parse(&request.invoice_id).map_err(|e| InvoicePdfError::BadRequest {
        reason: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use billing_lambda::{Disposition, Failure};

    #[test]
    fn the_pipe_message_names_the_invoice() {
        let id = invoice_id(Some(r#"{"invoice_id":"inv_123"}"#)).unwrap();
        assert_eq!(id.as_str(), "inv_123");
    }

    #[test]
    fn a_malformed_message_is_a_permanent_failure() {
        for body in [
            None,
            Some("{}"),
            Some("not json"),
            Some(r#"{"invoice_id":""}"#),
        ] {
            let err = invoice_id(body).unwrap_err();
            assert_eq!(err.code(), "bad_request", "{body:?}");
            assert_eq!(err.disposition(), Disposition::Permanent);
        }
    }
}
