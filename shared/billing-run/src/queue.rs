//! Sending batches to the invoice-run queue, ten per request.

use aws_sdk_sqs::types::SendMessageBatchRequestEntry;

use crate::RunError;
use crate::message::RunBatch;

/// The invoice-run queue.
#[derive(Debug, Clone)]
pub struct RunQueue {
    sqs: aws_sdk_sqs::Client,
    url: String,
}

/// SQS accepts at most ten messages per `SendMessageBatch`.
const SQS_BATCH: usize = 10;

impl RunQueue {
    /// The queue at `url` (the template's `INVOICE_RUN_QUEUE_URL`).
    pub fn new(sqs: aws_sdk_sqs::Client, url: impl Into<String>) -> Self {
        Self {
            sqs,
            url: url.into(),
        }
    }

    /// Sends the batches; every one must be accepted, or the call fails and
    /// the planner is retried (duplicate batches are harmless).
    pub async fn send(&self, batches: &[RunBatch]) -> Result<(), RunError> {
        for chunk in batches.chunks(SQS_BATCH) {
            let mut entries = Vec::with_capacity(chunk.len());
            for (index, batch) in chunk.iter().enumerate() {
                let body = serde_json::to_string(batch)
                    .map_err(|e| RunError::bad_request("batch", e.to_string()))?;
                let entry = SendMessageBatchRequestEntry::builder()
                    .id(index.to_string())
                    .message_body(body)
                    .build()
                    .map_err(|e| RunError::bad_request("batch", e.to_string()))?;
                entries.push(entry);
            }
            let output = self
                .sqs
                .send_message_batch()
                .queue_url(&self.url)
                .set_entries(Some(entries))
                .send()
                .await
                .map_err(|e| RunError::aws("SendMessageBatch", "invoice-run queue", &e))?;
            if let Some(failed) = output.failed().first() {
                return Err(RunError::Aws {
                    operation: "SendMessageBatch",
                    target: "invoice-run queue".to_owned(),
                    disposition: billing_lambda::Disposition::Retryable,
                    message: format!(
                        "{} of {} messages refused, first: {}",
                        output.failed().len(),
                        chunk.len(),
                        failed.code()
                    ),
                });
            }
        }
        Ok(())
    }
}
