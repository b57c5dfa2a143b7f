//! The schedule's or an operator's request in, one [`RunPlanner::plan`]
//! call, the run's record out (or a typed Lambda error).

use billing_lambda::failure::diagnostic;
use billing_lambda::metrics::{self, MetricLine};
use billing_run::{RunError, RunPlanner, RunRequest};
use billing_store::run::{RunMode, RunRecord, RunStatus};
use chrono::Utc;
use lambda_runtime::{Diagnostic, LambdaEvent};

/// The function's name in its business metrics.
pub const FUNCTION: &str = "invoice-run-planner";

/// Plans one run. A refused request is `NonRetryable` (Lambda's
/// asynchronous retries would fail the same way); a passing fault is
/// `Retryable`, and planning again is harmless.
pub async fn handle(
    planner: &RunPlanner,
    event: LambdaEvent<serde_json::Value>,
) -> Result<RunRecord, Diagnostic> {
    let record = plan(planner, event.payload).await.map_err(|error| {
        tracing::error!(code = billing_lambda::Failure::code(&error), error = %error, "invoice run not planned");
        diagnostic(&error)
    })?;
    // A run with nothing due (or whose workers finished before planning
    // closed) is completed by the planner: counted here, as the worker
    // counts the others. A 0 is written too, so the run-deadline alarm's
    // series exists on every scheduled day.
    if record.mode == RunMode::Finalize {
        MetricLine::new(FUNCTION)
            .count(
                metrics::INVOICE_RUNS_COMPLETED,
                usize::from(record.status == RunStatus::Completed),
            )
            .emit();
    }
    Ok(record)
}

async fn plan(planner: &RunPlanner, event: serde_json::Value) -> Result<RunRecord, RunError> {
    let request = RunRequest::parse(event)?;
    planner.plan(&request, Utc::now()).await
}
