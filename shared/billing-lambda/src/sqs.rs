//! SQS consumers report per-item failures, so one bad message never makes
//! AWS redeliver the good ones of its batch.
//!
//! The event source must have `FunctionResponseTypes: [ReportBatchItemFailures]`
//! (the template sets it on every queue-triggered function).

use std::future::Future;

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent, SqsMessage};

use crate::Failure;

/// Handle every message of a batch concurrently and report the ones that
/// failed. A failed message returns to its queue and, after the queue's
/// `maxReceiveCount`, lands in its dead-letter queue; handlers that decide a
/// failure is final record that outcome themselves and return `Ok`.
///
/// A message without an id cannot be reported alone: an empty identifier
/// makes Lambda retry the whole batch, which is safe because every consumer
/// is idempotent.
pub async fn process_batch<F, Fut, E>(event: SqsEvent, handle: F) -> SqsBatchResponse
where
    F: Fn(SqsMessage) -> Fut,
    Fut: Future<Output = Result<(), E>>,
    E: Failure,
{
    let (ids, tasks): (Vec<_>, Vec<_>) = event
        .records
        .into_iter()
        .map(|message| {
            (
                message.message_id.clone().unwrap_or_default(),
                handle(message),
            )
        })
        .unzip();
    let outcomes = futures_util::future::join_all(tasks).await;
    let batch_item_failures = ids
        .into_iter()
        .zip(outcomes)
        .filter_map(|(message_id, outcome)| {
            let error = outcome.err()?;
            tracing::warn!(
                message_id = %message_id,
                code = error.code(),
                disposition = ?error.disposition(),
                error = %error,
                "message failed; it returns to the queue"
            );
            let mut failure = BatchItemFailure::default();
            failure.item_identifier = message_id;
            Some(failure)
        })
        .collect();
    let mut response = SqsBatchResponse::default();
    response.batch_item_failures = batch_item_failures;
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Disposition;

    #[derive(Debug, thiserror::Error)]
    #[error("invoice {0} could not be rendered")]
    struct RenderFailed(String);

    impl Failure for RenderFailed {
        fn disposition(&self) -> Disposition {
            Disposition::Retryable
        }
        fn code(&self) -> &'static str {
            "render_failed"
        }
    }

    fn message(id: Option<&str>, body: &str) -> SqsMessage {
        let mut message = SqsMessage::default();
        message.message_id = id.map(str::to_owned);
        message.body = Some(body.to_owned());
        message
    }

    async fn fail_on_bad(message: SqsMessage) -> Result<(), RenderFailed> {
        match message.body.as_deref() {
            Some("bad") => Err(RenderFailed(message.message_id.unwrap_or_default())),
            _ => Ok(()),
        }
    }

    #[tokio::test]
    async fn only_failed_messages_are_reported() {
        // GIVEN a batch with one bad message between two good ones
        let mut event = SqsEvent::default();
        event.records = vec![
            message(Some("m-1"), "good"),
            message(Some("m-2"), "bad"),
            message(Some("m-3"), "good"),
        ];
        // WHEN the batch is processed
        let response = process_batch(event, fail_on_bad).await;
        // THEN only the bad one returns to the queue
        let failed: Vec<_> = response
            .batch_item_failures
            .iter()
            .map(|f| f.item_identifier.as_str())
            .collect();
        assert_eq!(failed, vec!["m-2"]);
    }

    #[tokio::test]
    async fn a_failed_message_without_id_fails_the_whole_batch() {
        let mut event = SqsEvent::default();
        event.records = vec![message(None, "bad")];
        let response = process_batch(event, fail_on_bad).await;
        assert_eq!(response.batch_item_failures.len(), 1);
        assert_eq!(response.batch_item_failures[0].item_identifier, "");
    }

    #[tokio::test]
    async fn an_all_good_batch_reports_nothing() {
        let mut event = SqsEvent::default();
        event.records = vec![message(Some("m-1"), "good")];
        let response = process_batch(event, fail_on_bad).await;
        assert!(response.batch_item_failures.is_empty());
    }
}
