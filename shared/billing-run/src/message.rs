//! The invoice-run queue's message: one batch of customers of one run.

use billing_domain::ids::AccountId;
use billing_store::run::RunMode;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::RunError;

/// Customers per batch: small enough that one batch bills within the
/// worker's time limit even for large customers, large enough that the run
/// record is touched once per 25 customers.
pub const CUSTOMERS_PER_BATCH: usize = 25;

/// One queued batch: which run, which day, which customers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunBatch {
    /// The run.
    pub run_id: String,
    /// The batch's id within the run (unique per planning pass).
    pub batch_id: String,
    /// The day billed for.
    pub run_date: NaiveDate,
    /// Finalize or preview.
    pub mode: RunMode,
    /// The preview whose batch of the same id this batch must match.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_preview: Option<String>,
    /// The customers.
    pub account_ids: Vec<AccountId>,
}

impl RunBatch {
    /// The batch in a message body, or which field is wrong.
    pub fn parse(body: Option<&str>) -> Result<Self, RunError> {
        let body = body.ok_or_else(|| RunError::bad_request("body", "message has no body"))?;
        let batch: Self = serde_json::from_str(body).map_err(|e| {
            RunError::bad_request(
                "body",
                format!(
                    "expected a run batch: {:?} error at line {} column {}",
                    e.classify(),
                    e.line(),
                    e.column()
                ),
            )
        })?;
        if batch.account_ids.is_empty() {
            return Err(RunError::bad_request("account_ids", "must not be empty"));
        }
        Ok(batch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_round_trips_and_bad_bodies_name_the_problem() {
        let batch = RunBatch {
            run_id: "run-2026-12-01".into(),
            batch_id: "p1-000001".into(),
            run_date: NaiveDate::from_ymd_opt(2026, 12, 1).unwrap(),
            mode: RunMode::Finalize,
            from_preview: None,
            account_ids: vec![AccountId::new("acc_1")],
        };
        let body = serde_json::to_string(&batch).unwrap();
        assert_eq!(RunBatch::parse(Some(&body)).unwrap(), batch);
        for (body, field) in [
            (None, "body"),
            (Some("{}"), "body"),
            (Some("not json"), "body"),
            (
                Some(
                    r#"{"run_id":"r","batch_id":"b","run_date":"2026-12-01","mode":"finalize","account_ids":[]}"#,
                ),
                "account_ids",
            ),
            (
                Some(
                    r#"{"run_id":"r","batch_id":"b","run_date":"2026-12-01","mode":"bill","account_ids":["a"]}"#,
                ),
                "body",
            ),
        ] {
            match RunBatch::parse(body) {
                Err(RunError::BadRequest { field: f, .. }) => assert_eq!(f, field, "{body:?}"),
                other => panic!("{body:?}: {other:?}"),
            }
        }
    }
}
