//! `run start` / `run status`: an invoice run planned from the operator's
//! terminal with the same planner the daily schedule invokes, and its
//! progress and outcome read back from the run record.

use std::time::{Duration, Instant};

use billing_domain::ids::{AccountId, BillingEntityId};
use billing_lambda::{Disposition, Failure};
use billing_run::preview::{RunFiles, preview_csv_key, preview_json_key};
use billing_run::queue::RunQueue;
use billing_run::{RunError, RunPlanner, RunRequest};
use billing_store::run::{RunMode, RunRecord, RunStatus};
use chrono::NaiveDate;
use clap::Subcommand;

use crate::Context;
use crate::error::{AdminError, EXIT_CODES_HELP};

/// `billing-admin run ...`
#[derive(Debug, Subcommand)]
pub enum RunCommand {
    /// Plan an invoice run: the due customers are queued in batches for the
    /// invoice-run worker, exactly as the daily schedule does.
    ///
    /// Without --date the run bills today in the seller's time zone. A
    /// finalize run of a date can be started again safely: nothing is billed
    /// twice. Invoices carry the day they are issued (§14(4) no. 3 UStG), so
    /// a finalize run's --date is today (a day either side for a run across
    /// midnight); any date can be previewed. --preview computes the run and
    /// writes it to the documents bucket (runs/<run id>/preview.csv and
    /// .json) without changing anything; --from-preview bills exactly what
    /// that preview showed, if it was made for today.
    #[command(after_help = format!("{EXIT_CODES_HELP}\n\nExamples:\n  billing-admin --stack billing-prod run start --preview\n  billing-admin --stack billing-prod run start --from-preview preview-default-2026-12-01-060000123 --wait\n  billing-admin run start --preview --date 2027-01-01 --account acc_42"))]
    Start {
        /// The day to bill (YYYY-MM-DD); default today in the seller's zone.
        /// A finalize run takes only today; a preview any day.
        #[arg(long, value_name = "DATE")]
        date: Option<NaiveDate>,
        /// Compute and write the result without billing anything.
        #[arg(long, conflicts_with = "from_preview")]
        preview: bool,
        /// Bill exactly what this preview run showed.
        #[arg(long, value_name = "RUN_ID", conflicts_with_all = ["date", "account"])]
        from_preview: Option<String>,
        /// Only this customer (repeat for several).
        #[arg(long, value_name = "ACCOUNT_ID")]
        account: Vec<String>,
        /// The seller (default: BILLING_ENTITY_ID, else `default`).
        #[arg(long, value_name = "ID")]
        entity: Option<String>,
        /// Wait for the run to complete, with a progress bar.
        #[arg(long)]
        wait: bool,
        /// How long --wait waits, in seconds.
        #[arg(long, value_name = "SECONDS", default_value_t = 1800)]
        timeout: u64,
    },
    /// Show a run: its progress and, once complete, its outcome.
    #[command(after_help = format!("{EXIT_CODES_HELP}\n\nExamples:\n  billing-admin run status run-default-2026-12-01\n  billing-admin --json run status run-default-2026-12-01 --wait"))]
    Status {
        /// The run id (printed by `run start`).
        run_id: String,
        /// Wait for the run to complete, with a progress bar.
        #[arg(long)]
        wait: bool,
        /// How long --wait waits, in seconds.
        #[arg(long, value_name = "SECONDS", default_value_t = 1800)]
        timeout: u64,
    },
}

/// Runs a `run` command.
pub async fn run(command: RunCommand, context: &Context) -> Result<(), AdminError> {
    match command {
        RunCommand::Start {
            date,
            preview,
            from_preview,
            account,
            entity,
            wait,
            timeout,
        } => {
            let request = RunRequest {
                scheduled_time: None,
                run_date: date,
                mode: Some(if preview {
                    RunMode::Preview
                } else {
                    RunMode::Finalize
                }),
                account_ids: account.into_iter().map(AccountId::new).collect(),
                from_preview,
                started_by: Some(operator()),
            };
            let entity = BillingEntityId::new(entity.unwrap_or_else(|| {
                billing_lambda::config::optional("BILLING_ENTITY_ID")
                    .unwrap_or_else(|| "default".into())
            }));
            let planner = planner(context, &entity).await?;
            let record = planner
                .plan(&request, chrono::Utc::now())
                .await
                .map_err(AdminError::from)?;
            finish(context, record, wait, timeout).await
        }
        RunCommand::Status {
            run_id,
            wait,
            timeout,
        } => {
            let record =
                context
                    .store()
                    .await?
                    .run(&run_id)
                    .await?
                    .ok_or_else(|| AdminError::NotFound {
                        what: format!("run {run_id}"),
                    })?;
            finish(context, record, wait, timeout).await
        }
    }
}

/// Who started the run, for its record: the operator's login name.
pub(crate) fn operator() -> String {
    let user = std::env::var("USER").or_else(|_| std::env::var("USERNAME"));
    format!(
        "billing-admin:{}",
        user.unwrap_or_else(|_| "unknown".into())
    )
}

async fn planner(context: &Context, entity: &BillingEntityId) -> Result<RunPlanner, AdminError> {
    let resources = context.resources().await?;
    let queue = resources.run_queue_url.clone().ok_or_else(|| {
        AdminError::Usage(
            "no invoice-run queue: pass --stack NAME or set INVOICE_RUN_QUEUE_URL".into(),
        )
    })?;
    let bucket = resources.documents_bucket.clone().ok_or_else(|| {
        AdminError::Usage("no documents bucket: pass --stack NAME or set DOCUMENTS_BUCKET".into())
    })?;
    let store = context.store().await?;
    let seller = store.billing_entity(entity).await?;
    Ok(RunPlanner::new(
        store,
        RunQueue::new(aws_sdk_sqs::Client::new(context.sdk()), queue),
        RunFiles::new(aws_sdk_s3::Client::new(context.sdk()), bucket),
        &seller,
    ))
}

/// Optionally waits for completion, then prints the record.
async fn finish(
    context: &Context,
    mut record: RunRecord,
    wait: bool,
    timeout: u64,
) -> Result<(), AdminError> {
    if wait && record.status != RunStatus::Completed {
        let store = context.store().await?;
        let bar = context
            .output
            .progress(record.planned_batches.max(2) as usize, "batches");
        let deadline = Instant::now() + Duration::from_secs(timeout);
        while record.status != RunStatus::Completed {
            if Instant::now() > deadline {
                bar.abandon();
                return Err(AdminError::Usage(format!(
                    "run {} is not complete after {timeout} s ({} of {} batches done); check again with `run status`",
                    record.run_id, record.done_batches, record.planned_batches
                )));
            }
            tokio::time::sleep(Duration::from_secs(2)).await;
            record = store.run(&record.run_id).await?.unwrap_or(record);
            bar.set_length(record.planned_batches.max(1));
            bar.set_position(record.done_batches);
        }
        bar.finish_and_clear();
    }
    let text = describe(&record);
    context.output.result(&record, || text);
    Ok(())
}

/// The run for a person.
fn describe(record: &RunRecord) -> String {
    let mut lines = vec![
        format!(
            "run {} ({} of {}, started by {})",
            record.run_id,
            record.mode.as_str(),
            record.run_date,
            record.started_by
        ),
        format!(
            "status {:?}: {} of {} batches done, {} customers planned",
            record.status, record.done_batches, record.planned_batches, record.planned_customers
        ),
    ];
    if let Some(outcome) = &record.outcome {
        let totals: Vec<String> = outcome
            .totals
            .iter()
            .map(|(c, t)| format!("{t} {c}"))
            .collect();
        lines.push(format!(
            "outcome: {} customers, {} invoices, {} lines, totals {}",
            outcome.customers,
            outcome.invoices,
            outcome.lines,
            if totals.is_empty() {
                "-".to_owned()
            } else {
                totals.join(", ")
            }
        ));
        for failure in &outcome.failures {
            lines.push(format!(
                "  not billed: {} ({}): {}",
                failure.account_id, failure.code, failure.reason
            ));
        }
        if record.mode == RunMode::Preview {
            lines.push(format!(
                "preview files: s3://<documents bucket>/{} and {}",
                preview_csv_key(&record.run_id),
                preview_json_key(&record.run_id)
            ));
        }
    }
    lines.join("\n")
}

impl From<RunError> for AdminError {
    fn from(error: RunError) -> Self {
        match (&error, error.disposition()) {
            (RunError::Store(store), _) => AdminError::Store(store.clone()),
            // The request's fields are the command's options: name the one at fault.
            (RunError::BadRequest { field, reason }, _) => AdminError::Refused {
                file: "the command line".to_owned(),
                problems: vec![crate::error::Problem::new(reason.clone()).field(field.clone())],
            },
            (_, Disposition::Rejected(_)) => AdminError::Refused {
                file: "the command line".to_owned(),
                problems: vec![crate::error::Problem::new(error.to_string())],
            },
            _ => AdminError::Aws {
                service: "invoice run",
                operation: error.code(),
                message: error.to_string(),
            },
        }
    }
}
