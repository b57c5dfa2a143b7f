//! The schedule's input (`{"scheduled_time": "..."}`) or an on-demand
//! request (`{"date": "YYYY-MM-DD"}`) in, one [`SweepService::sweep`] call,
//! a summary out. Invoked asynchronously: an error is retried by Lambda
//! (the sweep is idempotent) and then lands in `FailedInvocationsQueue`.

use chrono::Utc;
use lambda_runtime::LambdaEvent;
use serde::Serialize;

use crate::error::SweepError;
use crate::service::{SweepDay, SweepService};

/// The invocation's result, for logs and callers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SweepSummary {
    /// Index items read.
    pub index_items_read: u64,
    /// Invoices looked at.
    pub due: usize,
    /// Letters recorded now.
    pub letters: usize,
    /// Invoices handed over to collection.
    pub handed_over: usize,
    /// Whether the base-rate table needs extending.
    pub base_rate_warning: bool,
}

/// Handles one invocation.
pub async fn handle(
    service: &SweepService,
    event: LambdaEvent<serde_json::Value>,
) -> Result<SweepSummary, SweepError> {
    let day = day(event.payload)?;
    let report = service.sweep(day, Utc::now()).await?;
    let summary = SweepSummary {
        index_items_read: report.index_items_read,
        due: report.due,
        letters: report.letters.len(),
        handed_over: report.handed_over,
        base_rate_warning: report.base_rate_warning,
    };
    tracing::info!(
        index_items_read = summary.index_items_read,
        due = summary.due,
        letters = summary.letters,
        handed_over = summary.handed_over,
        stale = report.stale,
        failed = report.failed,
        "dunning sweep done"
    );
    Ok(summary)
}

/// The day a request names.
pub fn day(payload: serde_json::Value) -> Result<SweepDay, SweepError> {
    match billing_lambda::schedule::RequestedDay::from_payload(payload) {
        Ok(billing_lambda::schedule::RequestedDay::Date(date)) => Ok(SweepDay::Date(date)),
        Ok(billing_lambda::schedule::RequestedDay::ScheduledAt(at)) => {
            Ok(SweepDay::ScheduledAt(at))
        }
        Err(reason) => Err(SweepError::BadRequest { reason }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use billing_lambda::{Disposition, Failure};
    use chrono::NaiveDate;

    #[test]
    fn schedule_and_on_demand_inputs_name_the_day() {
        assert_eq!(
            day(serde_json::json!({"scheduled_time": "2026-02-01T06:00:00Z"})).unwrap(),
            SweepDay::ScheduledAt("2026-02-01T06:00:00Z".parse().unwrap())
        );
        assert_eq!(
            day(serde_json::json!({"date": "2026-02-01"})).unwrap(),
            SweepDay::Date(NaiveDate::from_ymd_opt(2026, 2, 1).unwrap())
        );
    }

    #[test]
    fn a_malformed_request_is_rejected_naming_the_problem() {
        for (payload, expected) in [
            (serde_json::json!({}), "exactly one"),
            (
                serde_json::json!({"date": "2026-02-01", "scheduled_time": "x"}),
                "exactly one",
            ),
            (
                serde_json::json!({"date": "01.02.2026"}),
                "date \"01.02.2026\"",
            ),
            (
                serde_json::json!({"scheduled_time": "tomorrow"}),
                "scheduled_time",
            ),
            (serde_json::json!({"day": "2026-02-01"}), "unknown field"),
            (serde_json::json!("2026-02-01"), "expected"),
        ] {
            let err = day(payload).unwrap_err();
            assert!(err.to_string().contains(expected), "{err}");
            assert_eq!(err.disposition(), Disposition::Rejected(400));
        }
    }
}
