//! Planning a run: from the due index (or a list of customers, or a
//! preview's batches) to queued batches of customers, with bounded memory.

use billing_domain::ids::{AccountId, BillingEntityId};
use billing_domain::seller::BillingEntity;
use billing_store::BillingStore;
use billing_store::keys::INDEX_SHARDS;
use billing_store::run::{NewRun, RunMode, RunRecord, RunStatus};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::message::{CUSTOMERS_PER_BATCH, RunBatch};
use crate::preview::{RunFiles, run_prefix};
use crate::queue::RunQueue;
use crate::{RunError, RunTally};

/// Index entries read per Query page.
const DUE_PAGE_SIZE: i32 = 500;
/// Batches kept before they are sent (ten per SQS request).
const SEND_BUFFER: usize = 10;

/// How a run is asked for: by the schedule (`scheduled_time`), by an
/// operator or the CLI (the other fields).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunRequest {
    /// When the schedule fired (`<aws.scheduler.scheduled-time>`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheduled_time: Option<DateTime<Utc>>,
    /// The day to bill; default: today in the seller's time zone (of the
    /// scheduled time, if given).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_date: Option<NaiveDate>,
    /// `finalize` (default) or `preview`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<RunMode>,
    /// Only these customers.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub account_ids: Vec<AccountId>,
    /// Bill exactly what this preview showed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_preview: Option<String>,
    /// Who started it (default: `schedule` or `manual`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_by: Option<String>,
}

impl RunRequest {
    /// The request in an event, or which field is wrong.
    pub fn parse(event: serde_json::Value) -> Result<Self, RunError> {
        serde_json::from_value(event).map_err(|e| RunError::bad_request("event", e.to_string()))
    }
}

/// Plans runs: writes the run record and queues the batches.
#[derive(Debug, Clone)]
pub struct RunPlanner {
    store: BillingStore,
    queue: RunQueue,
    files: RunFiles,
    entity: BillingEntityId,
    zone: chrono_tz::Tz,
}

impl RunPlanner {
    /// A planner for one seller, whose time zone decides the run date.
    pub fn new(
        store: BillingStore,
        queue: RunQueue,
        files: RunFiles,
        entity: &BillingEntity,
    ) -> Self {
        Self {
            store,
            queue,
            files,
            entity: entity.id.clone(),
            zone: entity.time_zone,
        }
    }

    /// Plans the requested run and returns its record as it then stands.
    pub async fn plan(
        &self,
        request: &RunRequest,
        now: DateTime<Utc>,
    ) -> Result<RunRecord, RunError> {
        let mode = request.mode.unwrap_or(RunMode::Finalize);
        let preview = match &request.from_preview {
            Some(preview_id) => Some(self.usable_preview(preview_id, mode, request).await?),
            None => None,
        };
        let run_date = match (&preview, request.run_date) {
            (Some(preview), _) => preview.run_date,
            (None, Some(date)) => date,
            (None, None) => {
                billing_domain::run::run_date(request.scheduled_time.unwrap_or(now), self.zone)
            }
        };
        if mode == RunMode::Finalize {
            self.check_issue_date(preview.as_ref(), run_date, now)?;
        }
        let run = NewRun {
            run_id: run_id(&self.entity, mode, run_date, request, now),
            run_date,
            mode,
            started_by: request.started_by.clone().unwrap_or_else(|| {
                if request.scheduled_time.is_some() {
                    "schedule"
                } else {
                    "manual"
                }
                .to_owned()
            }),
            from_preview: request.from_preview.clone(),
            account_ids: request.account_ids.clone(),
        };
        let record = self.store.open_run(&run, now).await?;
        // Each planning pass names its batches apart, so a re-run of a day
        // counts its own batches; two planners in the same millisecond are
        // told apart by the planner count the record returned to each (its
        // update is atomic), or their batches would be counted as one.
        let pass = format!("p{}n{}", now.timestamp_millis(), record.planning);
        let mut planned = Planned::new(&run, &pass);
        if let Some(preview) = &preview {
            self.plan_from_preview(&preview.run_id, &mut planned)
                .await?;
        } else if !request.account_ids.is_empty() {
            for account in &request.account_ids {
                planned.add(account.clone());
                self.flush_full(&mut planned).await?;
            }
        } else {
            self.plan_due(run_date, &mut planned).await?;
        }
        planned.close_batch();
        self.queue.send(&planned.ready).await?;
        planned.ready.clear();
        let record = self
            .store
            .close_planning(&record.run_id, planned.batches, planned.customers)
            .await?;
        tracing::info!(
            run_id = %record.run_id,
            run_date = %record.run_date,
            mode = record.mode.as_str(),
            batches = planned.batches,
            customers = planned.customers,
            "invoice run planned"
        );
        // Workers may all have finished before planning closed.
        RunTally::new(self.store.clone(), self.files.clone())
            .complete_if_done(record, now)
            .await
    }

    /// A finalizing run's invoices carry the day they are issued (the
    /// domain's rule): an operator's past date is refused as `run_date`, and
    /// a preview planned for another day can be planned anew but not
    /// finalized.
    fn check_issue_date(
        &self,
        preview: Option<&RunRecord>,
        run_date: NaiveDate,
        now: DateTime<Utc>,
    ) -> Result<(), RunError> {
        let today = billing_domain::run::run_date(now, self.zone);
        match preview {
            Some(preview) => billing_domain::run::check_issue_date("from_preview", run_date, today)
                .map_err(|_| RunError::Preview {
                    run_id: preview.run_id.clone(),
                    reason: format!(
                        "shows the run of {run_date}, but invoices issued today carry today's date \
                         ({today}, §14(4) no. 3 UStG): preview again and finalize that preview"
                    ),
                }),
            None => billing_domain::run::check_issue_date("run_date", run_date, today).map_err(
                |billing_domain::DomainError::Invalid { field, message }| {
                    RunError::bad_request(field, message)
                },
            ),
        }
    }

    /// Reads the due index shard by shard, page by page; a customer's due
    /// contracts are neighbours in its shard, so comparing with the previous
    /// entry groups them without holding the index.
    async fn plan_due(&self, run_date: NaiveDate, planned: &mut Planned) -> Result<(), RunError> {
        for shard in 0..INDEX_SHARDS {
            let mut start = None;
            let mut previous: Option<AccountId> = None;
            loop {
                let page = self
                    .store
                    .due_page(&self.entity, shard, run_date, start, DUE_PAGE_SIZE)
                    .await?;
                for account in page.accounts {
                    if previous.as_ref() != Some(&account) {
                        previous = Some(account.clone());
                        planned.add(account);
                    }
                }
                self.flush_full(planned).await?;
                start = page.next;
                if start.is_none() {
                    break;
                }
            }
        }
        Ok(())
    }

    /// The same customers in the same batches as the preview, so each batch
    /// is checked against the preview's part of the same id.
    async fn plan_from_preview(
        &self,
        preview_id: &str,
        planned: &mut Planned,
    ) -> Result<(), RunError> {
        let prefix = format!("{}batches/", run_prefix(preview_id));
        for key in self.files.list(&prefix).await? {
            let Some(batch_id) = key
                .strip_prefix(&prefix)
                .and_then(|k| k.strip_suffix(".json"))
            else {
                continue;
            };
            let part: Option<crate::preview::PreviewBatch> = self.files.get_json(&key).await?;
            let Some(part) = part else { continue };
            let accounts: Vec<AccountId> = part
                .customers
                .iter()
                .map(|c| c.account_id.clone())
                .collect();
            if accounts.is_empty() {
                continue;
            }
            planned.push_batch(batch_id.to_owned(), accounts);
            self.flush_full(planned).await?;
        }
        Ok(())
    }

    async fn flush_full(&self, planned: &mut Planned) -> Result<(), RunError> {
        if planned.ready.len() >= SEND_BUFFER {
            self.queue.send(&planned.ready).await?;
            planned.ready.clear();
        }
        Ok(())
    }

    async fn usable_preview(
        &self,
        preview_id: &str,
        mode: RunMode,
        request: &RunRequest,
    ) -> Result<RunRecord, RunError> {
        if mode != RunMode::Finalize {
            return Err(RunError::bad_request(
                "from_preview",
                "only a finalize run bills a preview",
            ));
        }
        if request.run_date.is_some() || !request.account_ids.is_empty() {
            return Err(RunError::bad_request(
                "from_preview",
                "a run from a preview takes the preview's date and customers; drop run_date and account_ids",
            ));
        }
        let refuse = |reason: &str| RunError::Preview {
            run_id: preview_id.to_owned(),
            reason: reason.to_owned(),
        };
        let preview = self
            .store
            .run(preview_id)
            .await?
            .ok_or_else(|| refuse("no such run"))?;
        if preview.mode != RunMode::Preview {
            return Err(refuse("is not a preview"));
        }
        if preview.status != RunStatus::Completed {
            return Err(refuse("is not complete yet"));
        }
        Ok(preview)
    }
}

impl RunPlanner {
    /// Whether the completed preview `preview_id` can be finalized now, as
    /// it showed: it is a completed preview of today, and no customer's
    /// account or contracts changed since (the worker's check of each
    /// customer, [`billing_store::run::BillInputs::differences`], made for
    /// all of them before anything starts). Reads each customer once,
    /// [`CHECK_CONCURRENCY`] at a time. The worker still checks each
    /// customer when it bills it: a change in between is reported on the run.
    pub async fn check_preview(
        &self,
        preview_id: &str,
        now: DateTime<Utc>,
    ) -> Result<(), RunError> {
        use futures_util::stream::{self, StreamExt, TryStreamExt};
        let request = RunRequest {
            from_preview: Some(preview_id.to_owned()),
            ..RunRequest::default()
        };
        let record = self
            .usable_preview(preview_id, RunMode::Finalize, &request)
            .await?;
        self.check_issue_date(Some(&record), record.run_date, now)?;
        let preview: crate::preview::Preview = self
            .files
            .get_json(&crate::preview::preview_json_key(preview_id))
            .await?
            .ok_or_else(|| RunError::Preview {
                run_id: preview_id.to_owned(),
                reason: "has no preview.json".to_owned(),
            })?;
        // Owned futures (no closure borrowing the preview), so the check is
        // `Send` for any caller's runtime.
        let checks = preview.customers.into_iter().map(|customer| {
            let store = self.store.clone();
            async move {
                let differences = match store.customer_state(&customer.account_id).await? {
                    Some(state) => customer.inputs.differences(&state.inputs()),
                    None => vec!["the account no longer exists".to_owned()],
                };
                Ok::<_, RunError>((customer.account_id, differences))
            }
        });
        let checked: Vec<(AccountId, Vec<String>)> = stream::iter(checks)
            .buffer_unordered(CHECK_CONCURRENCY)
            .try_collect()
            .await?;
        let mut changes: Vec<(AccountId, Vec<String>)> = checked
            .into_iter()
            .filter(|(_, differences)| !differences.is_empty())
            .collect();
        if changes.is_empty() {
            return Ok(());
        }
        changes.sort_by(|a, b| a.0.cmp(&b.0));
        Err(RunError::PreviewStale {
            run_id: preview_id.to_owned(),
            changes,
        })
    }
}

/// Customers of a preview read at once by [`RunPlanner::check_preview`].
pub const CHECK_CONCURRENCY: usize = 16;

/// The id of the finalize run that bills the preview `preview_id` (one per
/// preview: starting it again plans the same run).
pub fn finalize_run_id(preview_id: &str) -> String {
    format!("run-from-{preview_id}")
}

/// Batches being assembled: at most one open batch and [`SEND_BUFFER`]
/// closed ones are held, whatever the number of due contracts.
struct Planned {
    run: NewRun,
    pass: String,
    open: Vec<AccountId>,
    ready: Vec<RunBatch>,
    batches: u64,
    customers: u64,
}

impl Planned {
    fn new(run: &NewRun, pass: &str) -> Self {
        Self {
            run: run.clone(),
            pass: pass.to_owned(),
            open: Vec::with_capacity(CUSTOMERS_PER_BATCH),
            ready: Vec::with_capacity(SEND_BUFFER),
            batches: 0,
            customers: 0,
        }
    }

    fn add(&mut self, account: AccountId) {
        if self.open.contains(&account) {
            return;
        }
        self.open.push(account);
        if self.open.len() >= CUSTOMERS_PER_BATCH {
            self.close_batch();
        }
    }

    fn close_batch(&mut self) {
        if self.open.is_empty() {
            return;
        }
        let accounts = std::mem::take(&mut self.open);
        let id = format!("{}-{:06}", self.pass, self.batches + 1);
        self.push_batch(id, accounts);
    }

    fn push_batch(&mut self, batch_id: String, account_ids: Vec<AccountId>) {
        self.batches += 1;
        self.customers += account_ids.len() as u64;
        self.ready.push(RunBatch {
            run_id: self.run.run_id.clone(),
            batch_id,
            run_date: self.run.run_date,
            mode: self.run.mode,
            from_preview: self.run.from_preview.clone(),
            account_ids,
        });
    }
}

/// Scheduled and manual finalize runs of a day share one id (two planners
/// racing on a date share its record); runs limited to customers or billed
/// from a preview get their own; every preview is a run of its own.
fn run_id(
    entity: &BillingEntityId,
    mode: RunMode,
    run_date: NaiveDate,
    request: &RunRequest,
    now: DateTime<Utc>,
) -> String {
    match (mode, &request.from_preview) {
        (RunMode::Preview, _) => format!("preview-{entity}-{run_date}-{}", now.format("%H%M%S%3f")),
        (RunMode::Finalize, Some(preview)) => finalize_run_id(preview),
        (RunMode::Finalize, None) if request.account_ids.is_empty() => {
            format!("run-{entity}-{run_date}")
        }
        (RunMode::Finalize, None) => {
            let ids: Vec<&str> = request.account_ids.iter().map(|a| a.as_str()).collect();
            let digest = billing_store::keys::derived_id("acc", &ids);
            format!("run-{entity}-{run_date}-{digest}")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    #[test]
    fn scheduled_and_manual_runs_of_a_day_share_an_id_previews_do_not() {
        let date = NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
        let e = BillingEntityId::new("de");
        let plain = RunRequest::default();
        assert_eq!(
            run_id(
                &e,
                RunMode::Finalize,
                date,
                &plain,
                at("2026-12-01T05:00:00Z")
            ),
            "run-de-2026-12-01"
        );
        assert_eq!(
            run_id(
                &e,
                RunMode::Finalize,
                date,
                &plain,
                at("2026-12-01T09:00:00Z")
            ),
            "run-de-2026-12-01"
        );
        let a = run_id(
            &e,
            RunMode::Preview,
            date,
            &plain,
            at("2026-12-01T05:00:00Z"),
        );
        let b = run_id(
            &e,
            RunMode::Preview,
            date,
            &plain,
            at("2026-12-01T05:00:01Z"),
        );
        assert_ne!(a, b);
        let limited = RunRequest {
            account_ids: vec![AccountId::new("acc_1")],
            ..RunRequest::default()
        };
        assert_ne!(
            run_id(
                &e,
                RunMode::Finalize,
                date,
                &limited,
                at("2026-12-01T05:00:00Z")
            ),
            "run-de-2026-12-01"
        );
    }

    #[test]
    fn requests_refuse_unknown_fields_by_name() {
        let err = RunRequest::parse(serde_json::json!({"run_dat": "2026-12-01"})).unwrap_err();
        assert!(err.to_string().contains("run_dat"), "{err}");
        let ok = RunRequest::parse(serde_json::json!({"scheduled_time": "2026-12-01T05:00:00Z"}))
            .unwrap();
        assert!(ok.scheduled_time.is_some());
    }

    #[test]
    fn batches_hold_each_customer_once_and_close_when_full() {
        let run = NewRun {
            run_id: "r".into(),
            run_date: NaiveDate::from_ymd_opt(2026, 12, 1).unwrap(),
            mode: RunMode::Finalize,
            started_by: "t".into(),
            from_preview: None,
            account_ids: Vec::new(),
        };
        let mut planned = Planned::new(&run, "p1");
        for i in 0..(CUSTOMERS_PER_BATCH * 2 + 3) {
            planned.add(AccountId::new(format!("a{i}")));
            // A customer seen again while its batch is open is not added twice.
            if i % CUSTOMERS_PER_BATCH != CUSTOMERS_PER_BATCH - 1 {
                planned.add(AccountId::new(format!("a{i}")));
            }
        }
        planned.close_batch();
        let sizes: Vec<usize> = planned.ready.iter().map(|b| b.account_ids.len()).collect();
        assert_eq!(sizes, [CUSTOMERS_PER_BATCH, CUSTOMERS_PER_BATCH, 3]);
        assert_eq!(planned.customers, (CUSTOMERS_PER_BATCH * 2 + 3) as u64);
        assert_eq!(planned.ready[1].batch_id, "p1-000002");
    }
}
