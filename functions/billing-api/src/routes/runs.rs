//! The invoice run from the console (`billing` only for the writes): start
//! a preview of a day, read it customer by customer beside the previous
//! period, and finalize exactly that preview. Planning, the preview's files
//! and the staleness check are `billing_run`'s (the CLI's `run start
//! --preview` / `--from-preview` share them); this module only maps the
//! request and the answer.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use billing_run::plan::finalize_run_id;
use billing_run::preview::{Preview, PreviewCustomer, RunFiles, preview_json_key};
use billing_run::queue::RunQueue;
use billing_run::{RunPlanner, RunRequest};
use billing_store::run::{RunMode, RunRecord, RunStatus};
use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::BTreeMap;

use super::Ctx;
use crate::error::ApiError;
use crate::reply::Reply;

/// The body of `POST /v1/run-previews`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PreviewRequest {
    run_date: NaiveDate,
}

/// The planner the CLI and the scheduled planner use, for this seller.
async fn planner(ctx: &Ctx<'_>) -> Result<RunPlanner, ApiError> {
    let seller = ctx.state.store.billing_entity(&ctx.state.entity).await?;
    Ok(RunPlanner::new(
        ctx.state.store.clone(),
        RunQueue::new(ctx.state.sqs.clone(), &ctx.state.run_queue_url),
        files(ctx),
        &seller,
    ))
}

fn files(ctx: &Ctx<'_>) -> RunFiles {
    RunFiles::new(ctx.state.s3.clone(), &ctx.state.documents_bucket)
}

/// Who started a run, as its record names them: the staff member's stable
/// id (Cognito `sub`), never a name or address.
fn started_by(ctx: &Ctx<'_>) -> String {
    format!("staff:{}", ctx.caller.user)
}

/// `POST /v1/run-previews`: plans the preview of `run_date`.
pub async fn start_preview(ctx: &Ctx<'_>) -> Result<Reply, ApiError> {
    let body: PreviewRequest = ctx.json()?;
    let request = RunRequest {
        run_date: Some(body.run_date),
        mode: Some(RunMode::Preview),
        started_by: Some(started_by(ctx)),
        ..RunRequest::default()
    };
    let planner = planner(ctx).await?;
    let record = detached(async move { planner.plan(&request, chrono::Utc::now()).await }).await?;
    Reply::with_status(202, record)
}

/// Runs planning work as a task of its own: the planner's store, queue and
/// bucket calls nest deep, and a task is polled from the runtime's base
/// rather than below the request's frames (a debug build's 2 MB thread
/// stack overflowed otherwise).
async fn detached<T: Send + 'static>(
    work: impl Future<Output = Result<T, billing_run::RunError>> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::spawn(work)
        .await
        .map_err(|e| ApiError::Interrupted(e.to_string()))?
        .map_err(ApiError::from)
}

/// The preview run `run_id` of this seller, or 404.
async fn preview_record(ctx: &Ctx<'_>) -> Result<RunRecord, ApiError> {
    let run_id = ctx.param("run_id")?;
    match ctx.state.store.run(run_id).await? {
        Some(run) if run.mode == RunMode::Preview && belongs(&run, ctx) => Ok(run),
        _ => Err(ApiError::not_found(format!("preview {run_id}"))),
    }
}

/// Preview ids name their seller (`preview-<entity>-<date>-<time>`).
fn belongs(run: &RunRecord, ctx: &Ctx<'_>) -> bool {
    run.run_id
        .strip_prefix("preview-")
        .and_then(|rest| rest.strip_prefix(ctx.state.entity.as_str()))
        .is_some_and(|rest| rest.starts_with('-'))
}

/// `GET /v1/run-previews/{run_id}`: one page of a completed preview.
pub async fn preview(ctx: &Ctx<'_>) -> Result<Reply, ApiError> {
    let page = ctx.page()?;
    let changed_only = match ctx.query("changed_only") {
        None | Some("false") => false,
        Some("true") => true,
        Some(_) => return Err(ApiError::invalid("/changed_only", "must be true or false")),
    };
    let after = page
        .cursor
        .as_deref()
        .map(|cursor| {
            URL_SAFE_NO_PAD
                .decode(cursor)
                .ok()
                .and_then(|bytes| String::from_utf8(bytes).ok())
                .ok_or_else(|| ApiError::invalid("/cursor", "is not a cursor of this list"))
        })
        .transpose()?;
    let run = preview_record(ctx).await?;
    if run.status != RunStatus::Completed {
        return Err(ApiError::Run(billing_run::RunError::Preview {
            run_id: run.run_id,
            reason: "is still running: follow GET /v1/runs/{run_id} until it is completed".into(),
        }));
    }
    let preview: Preview = files(ctx)
        .get_json(&preview_json_key(&run.run_id))
        .await?
        .ok_or_else(|| ApiError::not_found(format!("preview.json of {}", run.run_id)))?;
    let compared: Vec<Compared> = preview.customers.iter().map(Compared::of).collect();
    let finalize_run = ctx
        .state
        .store
        .run(&finalize_run_id(&run.run_id))
        .await?
        .map(|r| r.run_id);
    let listed: Vec<&Compared> = compared
        .iter()
        .filter(|c| !changed_only || c.changed)
        .filter(|c| {
            after
                .as_deref()
                .is_none_or(|a| c.customer.account_id.as_str() > a)
        })
        .collect();
    let limit = usize::from(page.limit);
    let next_cursor = (listed.len() > limit)
        .then(|| URL_SAFE_NO_PAD.encode(listed[limit - 1].customer.account_id.as_str()));
    Reply::ok(json!({
        "run_date": run.run_date,
        // The planner's rule: a finalizing run is dated today (give or
        // take a run crossing midnight).
        "finalizable": finalize_run.is_none()
            && billing_domain::run::check_issue_date("from_preview", run.run_date, super::today())
                .is_ok(),
        "finalize_run_id": finalize_run,
        "summary": summary(&compared, preview.failures.len()),
        "failures": preview.failures,
        "items": listed.iter().take(limit).map(|c| c.view()).collect::<Vec<_>>(),
        "next_cursor": next_cursor,
        "run": run,
    }))
}

/// One customer of a preview beside its previous invoice.
struct Compared<'a> {
    customer: &'a PreviewCustomer,
    currency: String,
    total: Decimal,
    previous: Option<Decimal>,
    changed: bool,
}

impl<'a> Compared<'a> {
    /// This run's total for the customer: its invoices less its credit
    /// notes, in the currency of its first document (a customer bills in
    /// one currency); the previous total only when in the same currency.
    fn of(customer: &'a PreviewCustomer) -> Self {
        let currency = customer
            .invoices
            .first()
            .map(|i| i.currency.clone())
            .unwrap_or_default();
        let total = customer
            .invoices
            .iter()
            .filter(|i| i.currency == currency)
            .map(|i| {
                if i.document_type == billing_domain::numbering::DocumentType::CreditNote {
                    -i.total
                } else {
                    i.total
                }
            })
            .sum();
        let previous = customer
            .previous_invoice
            .as_ref()
            .filter(|p| p.currency == currency)
            .map(|p| p.total);
        Self {
            customer,
            currency,
            total,
            previous,
            changed: previous != Some(total),
        }
    }

    fn view(&self) -> Value {
        json!({
            "account_id": self.customer.account_id,
            "customer_name": self.customer.customer_name,
            "currency": self.currency,
            "total": self.total.to_string(),
            "previous_total": self.previous.map(|p| p.to_string()),
            "difference": self.previous.map(|p| (self.total - p).to_string()),
            "changed": self.changed,
            "previous_invoice": self.customer.previous_invoice,
            "invoices": self.customer.invoices,
        })
    }
}

/// The whole preview's totals per currency beside the previous ones.
fn summary(compared: &[Compared<'_>], failures: usize) -> Value {
    let mut totals: BTreeMap<&str, (Decimal, Decimal)> = BTreeMap::new();
    for c in compared {
        let entry = totals.entry(c.currency.as_str()).or_default();
        entry.0 += c.total;
        entry.1 += c.previous.unwrap_or_default();
    }
    json!({
        "customers": compared.len(),
        "changed": compared.iter().filter(|c| c.changed).count(),
        "failures": failures,
        "totals": totals.iter().map(|(currency, (total, previous))| json!({
            "currency": currency,
            "total": total.to_string(),
            "previous_total": previous.to_string(),
            "difference": (total - previous).to_string(),
        })).collect::<Vec<_>>(),
    })
}

/// `POST /v1/run-previews/{run_id}/finalize`: checks the preview is still
/// what would be billed ([`RunPlanner::check_preview`]), then plans the
/// run from it.
pub async fn finalize(ctx: &Ctx<'_>) -> Result<Reply, ApiError> {
    let preview = preview_record(ctx).await?;
    let planner = planner(ctx).await?;
    let request = RunRequest {
        mode: Some(RunMode::Finalize),
        from_preview: Some(preview.run_id.clone()),
        started_by: Some(started_by(ctx)),
        ..RunRequest::default()
    };
    let record = detached(async move {
        let now = chrono::Utc::now();
        planner.check_preview(&preview.run_id, now).await?;
        planner.plan(&request, now).await
    })
    .await?;
    Reply::with_status(202, record)
}
