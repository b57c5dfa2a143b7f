//! The documents queue's messages in, one [`DocumentService::produce`] call
//! each, per-message failures out.

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use billing_domain::ids::InvoiceId;
use billing_lambda::metrics::{self, MetricLine};
use billing_lambda::sqs::process_batch;
use lambda_runtime::LambdaEvent;
use serde::Deserialize;

use crate::error::InvoicePdfError;
use crate::service::{DocumentService, Produced};

/// What the EventBridge Pipes put on the documents queue: exactly one of
/// the two ids.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DocumentsRequest {
    #[serde(default)]
    invoice_id: Option<String>,
    #[serde(default)]
    letter_id: Option<String>,
}

/// What one documents message asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DocumentsJob {
    /// A finalized invoice's PDF and XML.
    Invoice(InvoiceId),
    /// A recorded dunning letter's PDF.
    Letter(String),
}

/// The function's name in its business metrics.
pub const FUNCTION: &str = "invoice-pdf";

/// Handles a batch; failed messages return to the queue (and after the
/// queue's `maxReceiveCount` land in its dead-letter queue).
pub async fn handle(
    service: &DocumentService,
    event: LambdaEvent<SqsEvent>,
) -> Result<SqsBatchResponse, lambda_runtime::Error> {
    Ok(process_batch(event.payload, |message| handle_message(service, message)).await)
}

/// One message: which invoice or letter, then produce its documents.
pub async fn handle_message(
    service: &DocumentService,
    message: SqsMessage,
) -> Result<(), InvoicePdfError> {
    match job(message.body.as_deref())? {
        DocumentsJob::Invoice(invoice_id) => match service.produce(&invoice_id).await? {
            Produced::Archived { documents, written } => {
                tracing::info!(
                    invoice_id = %invoice_id,
                    documents = documents.len(),
                    written,
                    "invoice documents archived and delivery requested"
                );
                MetricLine::new(FUNCTION)
                    .count(metrics::INVOICES_RENDERED, 1)
                    .emit();
            }
            Produced::AlreadyArchived => tracing::info!(
                invoice_id = %invoice_id,
                "invoice documents were already archived; nothing to do"
            ),
        },
        DocumentsJob::Letter(letter_id) => match service.produce_letter(&letter_id).await? {
            Produced::Archived { written, .. } => tracing::info!(
                letter_id = %letter_id,
                written,
                "dunning letter archived and delivery requested"
            ),
            Produced::AlreadyArchived => tracing::info!(
                letter_id = %letter_id,
                "dunning letter was already archived; nothing to do"
            ),
        },
    }
    Ok(())
}

/// The job a message body names, or why the body is unusable.
pub fn job(body: Option<&str>) -> Result<DocumentsJob, InvoicePdfError> {
    let bad = |reason: String| InvoicePdfError::BadRequest { reason };
    let body = body.ok_or_else(|| bad("message has no body".to_owned()))?;
    let request: DocumentsRequest = serde_json::from_str(body).map_err(|e| {
        bad(format!(
            "expected {{\"invoice_id\": \"...\"}} or {{\"letter_id\": \"...\"}}: {e}"
        ))
    })?;
    match (request.invoice_id, request.letter_id) {
        (Some(id), None) => InvoiceId::parse(&id)
            .map(DocumentsJob::Invoice)
            .map_err(|e| bad(e.to_string())),
        (None, Some(id)) if is_letter_id(&id) => Ok(DocumentsJob::Letter(id)),
        (None, Some(_)) => Err(bad(
            "letter_id: must be 1 to 64 ASCII letters, digits, '_' or '-'".to_owned(),
        )),
        _ => Err(bad(
            "expected exactly one of invoice_id and letter_id".to_owned()
        )),
    }
}

/// Letter ids are minted by the sweep (`dun_<hex>`); anything else is not
/// ours, and must never reach a key or an SES tag.
fn is_letter_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use billing_lambda::{Disposition, Failure};

    #[test]
    fn the_pipe_messages_name_an_invoice_or_a_letter() {
        assert_eq!(
            job(Some(r#"{"invoice_id":"inv_123"}"#)).unwrap(),
            DocumentsJob::Invoice(InvoiceId::new("inv_123"))
        );
        assert_eq!(
            job(Some(r#"{"letter_id":"dun_0a1b"}"#)).unwrap(),
            DocumentsJob::Letter("dun_0a1b".to_owned())
        );
    }

    #[test]
    fn a_malformed_message_is_a_permanent_failure() {
        for body in [
            None,
            Some("{}"),
            Some("not json"),
            Some(r#"{"invoice_id":""}"#),
            Some(r#"{"letter_id":""}"#),
            Some(r#"{"letter_id":"../x"}"#),
            Some(r#"{"invoice_id":"inv_1","letter_id":"dun_1"}"#),
            Some(r#"{"letter":"dun_1"}"#),
        ] {
            let err = job(body).unwrap_err();
            assert_eq!(err.code(), "bad_request", "{body:?}");
            assert_eq!(err.disposition(), Disposition::Permanent);
        }
    }
}
