//! SQS consumers report per-item failures, so one bad message never makes
//! AWS redeliver the good ones of its batch.
//!
//! The event source must have `FunctionResponseTypes: [ReportBatchItemFailures]`
//! (the template sets it on every queue-triggered function).

use std::future::Future;
use std::time::Duration;

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent, SqsMessage};

use crate::{Disposition, Failure};

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
    process(event, None, handle).await
}

/// [`process_batch`], and a message that failed for a passing reason
/// (throttling, a busy claim) stays invisible for a growing delay instead of
/// the queue's fixed visibility timeout, so a struggling dependency is not
/// hammered and a short hiccup is retried soon.
pub async fn process_batch_with_backoff<F, Fut, E>(
    event: SqsEvent,
    backoff: &RetryBackoff,
    handle: F,
) -> SqsBatchResponse
where
    F: Fn(SqsMessage) -> Fut,
    Fut: Future<Output = Result<(), E>>,
    E: Failure,
{
    process(event, Some(backoff), handle).await
}

/// Exponential backoff for retried messages: `first` after the first
/// receive, doubling with each receive, at most `max` (SQS allows 12 hours).
#[derive(Debug, Clone)]
pub struct RetryBackoff {
    sqs: aws_sdk_sqs::Client,
    queue_url: String,
    first: Duration,
    max: Duration,
}

impl RetryBackoff {
    /// Backoff on the queue at `queue_url` (the function's own trigger).
    pub fn new(
        sqs: aws_sdk_sqs::Client,
        queue_url: impl Into<String>,
        first: Duration,
        max: Duration,
    ) -> Self {
        Self {
            sqs,
            queue_url: queue_url.into(),
            first,
            max: max.min(Duration::from_secs(12 * 60 * 60)),
        }
    }

    /// How long a message received `receive_count` times waits before the
    /// next try.
    pub fn delay(&self, receive_count: u32) -> Duration {
        let doublings = receive_count.saturating_sub(1).min(20);
        self.first.saturating_mul(1u32 << doublings).min(self.max)
    }

    /// Keep a failed message invisible for its delay. Failing to do so only
    /// means the queue's own visibility timeout applies: logged, not fatal.
    async fn postpone(&self, message_id: &str, receipt_handle: &str, receive_count: u32) {
        let delay = self.delay(receive_count);
        let seconds = i32::try_from(delay.as_secs()).unwrap_or(i32::MAX);
        let result = self
            .sqs
            .change_message_visibility()
            .queue_url(&self.queue_url)
            .receipt_handle(receipt_handle)
            .visibility_timeout(seconds)
            .send()
            .await;
        match result {
            Ok(_) => tracing::info!(message_id, retry_in_seconds = seconds, "retry postponed"),
            Err(err) => tracing::warn!(
                message_id,
                error = %aws_sdk_sqs::error::DisplayErrorContext(&err),
                "could not postpone the retry; the queue's visibility timeout applies"
            ),
        }
    }
}

/// Which message a task belongs to, kept apart from the message the handler
/// consumes.
struct Receipt {
    message_id: String,
    receipt_handle: Option<String>,
    receive_count: u32,
}

async fn process<F, Fut, E>(
    event: SqsEvent,
    backoff: Option<&RetryBackoff>,
    handle: F,
) -> SqsBatchResponse
where
    F: Fn(SqsMessage) -> Fut,
    Fut: Future<Output = Result<(), E>>,
    E: Failure,
{
    let (receipts, tasks): (Vec<_>, Vec<_>) = event
        .records
        .into_iter()
        .map(|message| {
            let receipt = Receipt {
                message_id: message.message_id.clone().unwrap_or_default(),
                receipt_handle: message.receipt_handle.clone(),
                receive_count: message
                    .attributes
                    .get("ApproximateReceiveCount")
                    .and_then(|count| count.parse().ok())
                    .unwrap_or(1),
            };
            (receipt, handle(message))
        })
        .unzip();
    let outcomes = futures_util::future::join_all(tasks).await;
    let mut batch_item_failures = Vec::new();
    for (receipt, outcome) in receipts.into_iter().zip(outcomes) {
        let Err(error) = outcome else { continue };
        tracing::warn!(
            message_id = %receipt.message_id,
            code = error.code(),
            disposition = ?error.disposition(),
            error = %error,
            "message failed; it returns to the queue"
        );
        if let (Some(backoff), Some(handle), Disposition::Retryable) =
            (backoff, &receipt.receipt_handle, error.disposition())
        {
            backoff
                .postpone(&receipt.message_id, handle, receipt.receive_count)
                .await;
        }
        let mut failure = BatchItemFailure::default();
        failure.item_identifier = receipt.message_id;
        batch_item_failures.push(failure);
    }
    let mut response = SqsBatchResponse::default();
    response.batch_item_failures = batch_item_failures;
    response
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[tokio::test]
    async fn backoff_doubles_per_receive_up_to_its_cap() {
        let config = aws_sdk_sqs::Config::builder()
            .behavior_version(aws_sdk_sqs::config::BehaviorVersion::latest())
            .build();
        let backoff = RetryBackoff::new(
            aws_sdk_sqs::Client::from_conf(config),
            "https://sqs.example/q",
            Duration::from_secs(10),
            Duration::from_secs(300),
        );
        let delays: Vec<u64> = [0, 1, 2, 3, 5, 6, 40]
            .into_iter()
            .map(|n| backoff.delay(n).as_secs())
            .collect();
        assert_eq!(delays, vec![10, 10, 20, 40, 160, 300, 300]);
    }
}
