//! The schedule's input (`{"scheduled_time": "..."}`) or an on-demand
//! request (`{"date": "YYYY-MM-DD"}`) in, one [`CollectionService::collect`]
//! call, a summary out. Invoked asynchronously: an error is retried by
//! Lambda (the step is idempotent) and then lands in
//! `FailedInvocationsQueue`.

use chrono::Utc;
use lambda_runtime::LambdaEvent;
use serde::Serialize;

use crate::error::CollectionError;
use crate::service::{CollectionDay, CollectionService};

/// The invocation's result, for logs and callers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CollectionSummary {
    /// Invoices the index listed as due.
    pub due: usize,
    /// Files written (or found written) by this invocation.
    pub files: usize,
    /// Invoices marked collected now.
    pub collected: usize,
    /// Invoices put on the needs-attention list.
    pub attention: usize,
}

/// Handles one invocation.
pub async fn handle(
    service: &CollectionService,
    event: LambdaEvent<serde_json::Value>,
) -> Result<CollectionSummary, CollectionError> {
    let day = day(event.payload)?;
    let report = service.collect(day, Utc::now()).await?;
    let summary = CollectionSummary {
        due: report.due,
        files: report.files.len(),
        collected: report.collected,
        attention: report.attention.len(),
    };
    tracing::info!(
        due = summary.due,
        files = summary.files,
        collected = summary.collected,
        attention = summary.attention,
        waiting = report.waiting,
        "direct-debit collection done"
    );
    Ok(summary)
}

/// The day a request names.
pub fn day(payload: serde_json::Value) -> Result<CollectionDay, CollectionError> {
    CollectionDay::from_payload(payload).map_err(|reason| CollectionError::BadRequest { reason })
}

#[cfg(test)]
mod tests {
    use super::*;
    use billing_lambda::{Disposition, Failure};
    use chrono::NaiveDate;

    #[test]
    fn schedule_and_on_demand_inputs_name_the_day() {
        assert_eq!(
            day(serde_json::json!({"scheduled_time": "2026-12-10T05:00:00Z"})).unwrap(),
            CollectionDay::ScheduledAt("2026-12-10T05:00:00Z".parse().unwrap())
        );
        assert_eq!(
            day(serde_json::json!({"date": "2026-12-10"})).unwrap(),
            CollectionDay::Date(NaiveDate::from_ymd_opt(2026, 12, 10).unwrap())
        );
    }

    #[test]
    fn a_malformed_request_is_rejected_naming_the_field() {
        for (payload, expected) in [
            (serde_json::json!({}), "exactly one"),
            (
                serde_json::json!({"date": "10.12.2026"}),
                "date \"10.12.2026\"",
            ),
            (
                serde_json::json!({"scheduled_time": "soon"}),
                "scheduled_time",
            ),
            (serde_json::json!({"day": "2026-12-10"}), "unknown field"),
        ] {
            let err = day(payload).unwrap_err();
            assert!(err.to_string().contains(expected), "{err}");
            assert_eq!(err.disposition(), Disposition::Rejected(400));
        }
    }
}
