//! The invoice-run queue's messages in, one [`RunWorker::bill_batch`] call
//! each, per-batch failures out.

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use billing_lambda::sqs::process_batch;
use billing_run::{RunBatch, RunError, RunWorker};
use chrono::Utc;
use lambda_runtime::LambdaEvent;

/// Handles a delivery of batches; a failed batch returns to the queue
/// (and after five receives lands in its dead-letter queue). Customers
/// that cannot be billed are not failures: they are on the run's outcome.
pub async fn handle(
    worker: &RunWorker,
    event: LambdaEvent<SqsEvent>,
) -> Result<SqsBatchResponse, lambda_runtime::Error> {
    Ok(process_batch(event.payload, |message| handle_message(worker, message)).await)
}

/// One message: which batch, then bill it.
pub async fn handle_message(worker: &RunWorker, message: SqsMessage) -> Result<(), RunError> {
    let batch = RunBatch::parse(message.body.as_deref())?;
    let report = worker.bill_batch(&batch, Utc::now()).await?;
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
    Ok(())
}
