//! The schedule's or an operator's request in, one [`RunPlanner::plan`]
//! call, the run's record out (or a typed Lambda error).

use billing_lambda::failure::diagnostic;
use billing_run::{RunError, RunPlanner, RunRequest};
use billing_store::run::RunRecord;
use chrono::Utc;
use lambda_runtime::{Diagnostic, LambdaEvent};

/// Plans one run. A refused request is `NonRetryable` (Lambda's
/// asynchronous retries would fail the same way); a passing fault is
/// `Retryable`, and planning again is harmless.
pub async fn handle(
    planner: &RunPlanner,
    event: LambdaEvent<serde_json::Value>,
) -> Result<RunRecord, Diagnostic> {
    plan(planner, event.payload).await.map_err(|error| {
        tracing::error!(code = billing_lambda::Failure::code(&error), error = %error, "invoice run not planned");
        diagnostic(&error)
    })
}

async fn plan(planner: &RunPlanner, event: serde_json::Value) -> Result<RunRecord, RunError> {
    let request = RunRequest::parse(event)?;
    planner.plan(&request, Utc::now()).await
}
