//! The invoice-run queue's messages in, one [`RunWorker::bill_batches`]
//! call for the whole delivery, per-batch failures out.

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use billing_lambda::Failure;
use billing_lambda::metrics::{self, MetricLine};
use billing_run::{BatchReport, RunBatch, RunWorker};
use billing_store::run::RunMode;
use chrono::{DateTime, Utc};
use lambda_runtime::LambdaEvent;

/// The function's name in its business metrics.
pub const FUNCTION: &str = "invoice-run-worker";

/// Handles a delivery of batches; a failed batch returns to the queue
/// (and after five receives lands in its dead-letter queue). Customers
/// that cannot be billed are not failures: they are on the run's outcome.
/// The batches of one delivery are numbered together, so concurrent
/// batches do not race each other for the series counter.
pub async fn handle(
    worker: &RunWorker,
    event: LambdaEvent<SqsEvent>,
) -> Result<SqsBatchResponse, lambda_runtime::Error> {
    handle_at(worker, event, Utc::now()).await
}

/// [`handle`] at a given instant: the worker dates what it issues by the
/// seller's day of `now`, so tests play a run on the day it bills.
pub async fn handle_at(
    worker: &RunWorker,
    event: LambdaEvent<SqsEvent>,
    now: DateTime<Utc>,
) -> Result<SqsBatchResponse, lambda_runtime::Error> {
    let mut response = SqsBatchResponse::default();
    let mut batches = Vec::new();
    let mut ids = Vec::new();
    for message in event.payload.records {
        let id = message.message_id.clone().unwrap_or_default();
        match RunBatch::parse(message.body.as_deref()) {
            Ok(batch) => {
                batches.push(batch);
                ids.push(id);
            }
            Err(error) => {
                tracing::error!(message_id = %id, code = error.code(), error = %error, "run batch unreadable");
                response.batch_item_failures.push(failure(id));
            }
        }
    }
    let results = worker.bill_batches(&batches, now).await;
    let mut counted = MetricLine::new(FUNCTION);
    for ((batch, id), result) in batches.iter().zip(ids).zip(results) {
        match result {
            Ok(report) if batch.mode == RunMode::Finalize => {
                counted = counted
                    .count(metrics::RUN_CUSTOMERS_BILLED, report.billed)
                    .count(metrics::RUN_CUSTOMERS_FAILED, report.failed)
                    .count(metrics::INVOICES_FINALIZED, report.numbered)
                    .count(
                        metrics::INVOICE_RUNS_COMPLETED,
                        usize::from(report.completed_run),
                    );
                log_done(batch, &report);
            }
            Ok(report) => log_done(batch, &report),
            Err(error) => {
                tracing::warn!(
                    run_id = %batch.run_id,
                    batch_id = %batch.batch_id,
                    code = error.code(),
                    retryable = matches!(error.disposition(), billing_lambda::Disposition::Retryable),
                    error = %error,
                    "invoice run batch failed; the queue retries it"
                );
                response.batch_item_failures.push(failure(id));
            }
        }
    }
    counted.emit();
    Ok(response)
}

fn log_done(batch: &RunBatch, report: &BatchReport) {
    tracing::info!(
        run_id = %batch.run_id,
        batch_id = %batch.batch_id,
        customers = batch.account_ids.len(),
        billed = report.billed,
        numbered = report.numbered,
        failed = report.failed,
        nothing_due = report.nothing_due,
        "invoice run batch done"
    );
}

fn failure(id: String) -> BatchItemFailure {
    let mut failure = BatchItemFailure::default();
    failure.item_identifier = id;
    failure
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lambda_events::event::sqs::SqsMessage;
    use billing_run::preview::RunFiles;
    use billing_store::BillingStore;

    /// A worker whose clients point nowhere: any AWS call would fail.
    fn offline_worker() -> RunWorker {
        let config = aws_sdk_dynamodb::config::Builder::new()
            .behavior_version_latest()
            .region(aws_sdk_dynamodb::config::Region::new("eu-central-1"))
            .endpoint_url("http://127.0.0.1:9")
            .build();
        let s3 = aws_sdk_s3::config::Builder::new()
            .behavior_version_latest()
            .region(aws_sdk_s3::config::Region::new("eu-central-1"))
            .endpoint_url("http://127.0.0.1:9")
            .build();
        let entity =
            serde_json::from_str(include_str!("../../../docs/examples/billing-entity.json"))
                .expect("the example entity parses");
        RunWorker::new(
            BillingStore::new(aws_sdk_dynamodb::Client::from_conf(config), "table"),
            RunFiles::new(aws_sdk_s3::Client::from_conf(s3), "bucket"),
            entity,
        )
    }

    #[tokio::test]
    async fn unreadable_messages_fail_by_id_and_touch_nothing() {
        // GIVEN a delivery of two messages that are not run batches
        let mut event = SqsEvent::default();
        for (id, body) in [("m-1", Some("not json")), ("m-2", None)] {
            let mut message = SqsMessage::default();
            message.message_id = Some(id.to_owned());
            message.body = body.map(str::to_owned);
            event.records.push(message);
        }
        // WHEN the worker handles it
        let response = handle(
            &offline_worker(),
            LambdaEvent::new(event, Default::default()),
        )
        .await
        .unwrap();
        // THEN both are reported, by id, and no AWS call was needed
        let ids: Vec<&str> = response
            .batch_item_failures
            .iter()
            .map(|f| f.item_identifier.as_str())
            .collect();
        assert_eq!(ids, ["m-1", "m-2"]);
    }
}
