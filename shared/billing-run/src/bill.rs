//! Billing one batch of customers, exactly once, and noticing when the
//! run's last batch is done.

use std::collections::HashMap;

use billing_domain::ids::{AccountId, InvoiceId};
use billing_domain::run::{CustomerRunInput, bill_customer};
use billing_domain::seller::BillingEntity;
use billing_lambda::privacy::redact_email_addresses;
use billing_store::run::{
    CustomerState, RunFailure, RunMode, RunOutcome, RunRecord, RunStatus, Staged, StagedInvoice,
};
use billing_store::{BillingStore, StoreError, keys};
use chrono::{DateTime, Utc};

use crate::RunError;
use crate::message::RunBatch;
use crate::preview::{
    Preview, PreviewBatch, PreviewCustomer, PreviewInvoice, PreviousInvoice, RunFiles, batch_key,
    preview_csv_key, preview_json_key, run_prefix,
};

/// How often a customer whose contracts changed under the worker is read
/// and billed again before the batch is handed back to the queue.
const STALE_ATTEMPTS: usize = 3;

/// What one batch did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BatchReport {
    /// Customers billed (or previewed) in this delivery.
    pub billed: usize,
    /// Invoices numbered in this delivery.
    pub numbered: usize,
    /// Customers that could not be billed.
    pub failed: usize,
    /// Customers with nothing due.
    pub nothing_due: usize,
    /// Whether this delivery's last batch completed a finalize run (the
    /// worker counts it in the metric the run-deadline alarm watches).
    pub completed_run: bool,
}

/// One customer's result.
enum Billed {
    Staged(Vec<StagedInvoice>),
    Previewed(PreviewCustomer),
    Failed {
        failure: RunFailure,
        needs_attention: bool,
    },
    NothingDue,
}

/// Bills batches of one seller's customers.
#[derive(Debug, Clone)]
pub struct RunWorker {
    store: BillingStore,
    files: RunFiles,
    entity: BillingEntity,
}

impl RunWorker {
    /// A worker billing as `entity` (read once per cold start).
    pub fn new(store: BillingStore, files: RunFiles, entity: BillingEntity) -> Self {
        Self {
            store,
            files,
            entity,
        }
    }

    /// Bills (or previews) every customer of the batch, numbers what it
    /// staged, marks the batch done and completes the run after its last
    /// batch. Safe to repeat: a redelivered batch bills nothing twice.
    pub async fn bill_batch(
        &self,
        batch: &RunBatch,
        now: DateTime<Utc>,
    ) -> Result<BatchReport, RunError> {
        let mut results = self.bill_batches(std::slice::from_ref(batch), now).await;
        results
            .pop()
            .unwrap_or_else(|| Err(RunError::bad_request("batch", "no batch")))
    }

    /// [`Self::bill_batch`] for one delivery of several batches: customers
    /// are staged batch by batch (concurrently), and everything staged is
    /// numbered together, so the series counter is written once per 99
    /// invoices of the whole delivery rather than raced for by each batch.
    /// One result per batch, in order; a numbering failure fails every batch
    /// that staged something (their retries number what is left).
    pub async fn bill_batches(
        &self,
        batches: &[RunBatch],
        now: DateTime<Utc>,
    ) -> Vec<Result<BatchReport, RunError>> {
        let staged =
            futures_util::future::join_all(batches.iter().map(|b| self.stage_batch(b, now))).await;
        // Two batches of one delivery may name the same customer (two
        // planning passes): the one that lost the race finds the winner's
        // staged invoices, and each invoice is numbered once.
        let mut seen = std::collections::HashSet::new();
        let invoices: Vec<StagedInvoice> = staged
            .iter()
            .filter_map(|r| r.as_ref().ok())
            .flat_map(|(_, invoices)| invoices.iter().cloned())
            .filter(|invoice| seen.insert(invoice.draft.id.clone()))
            .collect();
        let numbered = if invoices.is_empty() {
            Ok(Vec::new())
        } else {
            self.store
                .number_invoices(&self.entity, &invoices, now)
                .await
        };
        let mut results = Vec::with_capacity(batches.len());
        for (batch, staged) in batches.iter().zip(staged) {
            let result = match (staged, &numbered) {
                (Err(error), _) => Err(error),
                (Ok((_, invoices)), Err(error)) if !invoices.is_empty() => {
                    Err(RunError::Store(error.clone()))
                }
                (Ok((mut report, invoices)), _) => {
                    report.numbered = invoices.len();
                    self.finish(batch, now).await.map(|completed| {
                        report.completed_run = completed && batch.mode == RunMode::Finalize;
                        report
                    })
                }
            };
            results.push(result);
        }
        results
    }

    /// Marks a batch done and completes the run after its last batch;
    /// whether this call completed it.
    async fn finish(&self, batch: &RunBatch, now: DateTime<Utc>) -> Result<bool, RunError> {
        let record = self
            .store
            .finish_batch(&batch.run_id, &batch.batch_id)
            .await?;
        let was_billing = record.status == RunStatus::Billing;
        let record = RunTally::new(self.store.clone(), self.files.clone())
            .complete_if_done(record, now)
            .await?;
        Ok(was_billing && record.status == RunStatus::Completed)
    }

    /// Bills every customer of one batch up to staging; a preview's part is
    /// written here. Returns what the batch staged, for numbering.
    async fn stage_batch(
        &self,
        batch: &RunBatch,
        now: DateTime<Utc>,
    ) -> Result<(BatchReport, Vec<StagedInvoice>), RunError> {
        let expected = self.expected(batch).await?;
        let mut report = BatchReport::default();
        let mut staged = Vec::new();
        let mut part = PreviewBatch::default();
        for account in &batch.account_ids {
            let expected = expected.as_ref().map(|e| e.get(account));
            match self.bill_one(batch, account, expected, now).await? {
                Billed::Staged(invoices) => {
                    report.billed += 1;
                    staged.extend(invoices);
                }
                Billed::Previewed(customer) => {
                    report.billed += 1;
                    part.customers.push(customer);
                }
                Billed::Failed {
                    failure,
                    needs_attention,
                } => {
                    report.failed += 1;
                    tracing::warn!(
                        run_id = %batch.run_id,
                        account_id = %failure.account_id,
                        code = %failure.code,
                        reason = %failure.reason,
                        "customer not billed"
                    );
                    match batch.mode {
                        RunMode::Preview => part.failures.push(failure),
                        RunMode::Finalize => {
                            self.store
                                .record_run_failure(
                                    &batch.run_id,
                                    &self.entity.id,
                                    &failure,
                                    needs_attention,
                                    now,
                                )
                                .await?;
                        }
                    }
                }
                Billed::NothingDue => report.nothing_due += 1,
            }
        }
        if batch.mode == RunMode::Preview {
            self.files
                .put_json(&batch_key(&batch.run_id, &batch.batch_id), &part)
                .await?;
        }
        Ok((report, staged))
    }

    /// The preview's part for this batch, by customer, for a run from a preview.
    async fn expected(
        &self,
        batch: &RunBatch,
    ) -> Result<Option<HashMap<AccountId, PreviewCustomer>>, RunError> {
        let Some(preview) = &batch.from_preview else {
            return Ok(None);
        };
        let key = batch_key(preview, &batch.batch_id);
        let part: PreviewBatch =
            self.files
                .get_json(&key)
                .await?
                .ok_or_else(|| RunError::Preview {
                    run_id: preview.clone(),
                    reason: format!("has no batch {}", batch.batch_id),
                })?;
        Ok(Some(
            part.customers
                .into_iter()
                .map(|c| (c.account_id.clone(), c))
                .collect(),
        ))
    }

    async fn bill_one(
        &self,
        batch: &RunBatch,
        account_id: &AccountId,
        expected: Option<Option<&PreviewCustomer>>,
        now: DateTime<Utc>,
    ) -> Result<Billed, RunError> {
        let failed = |code: &str, reason: String, needs_attention: bool| Billed::Failed {
            failure: RunFailure {
                account_id: account_id.clone(),
                code: code.to_owned(),
                reason: redact_email_addresses(&reason),
            },
            needs_attention,
        };
        for _ in 0..STALE_ATTEMPTS {
            let Some(state) = self.store.customer_state(account_id).await? else {
                return Ok(failed(
                    "unknown_account",
                    format!("account {account_id} does not exist"),
                    true,
                ));
            };
            if state.account.account.billing_entity_id != self.entity.id {
                return Ok(failed(
                    "other_billing_entity",
                    format!(
                        "billed by {}, not {}",
                        state.account.account.billing_entity_id, self.entity.id
                    ),
                    true,
                ));
            }
            let inputs = state.inputs();
            if let Some(expected) = expected {
                let Some(expected) = expected else {
                    return Ok(failed(
                        "changed_since_preview",
                        "not in the preview's batch".into(),
                        false,
                    ));
                };
                let differences = expected.inputs.differences(&inputs);
                if !differences.is_empty() {
                    return Ok(failed(
                        "changed_since_preview",
                        differences.join("; "),
                        false,
                    ));
                }
            }
            let bill = match self.compute(batch, &state) {
                Ok(bill) => bill,
                Err(error) => return Ok(failed("invalid_contract", error.to_string(), true)),
            };
            let bill = match bill {
                Some(mut bill) if !bill.direct_debit.is_empty() => {
                    // As a one-off deal: without a usable mandate nothing is
                    // issued (never a transfer invoice instead); the customer
                    // goes on the needs-attention list with the reason.
                    let mandates = self.store.mandates(account_id).await?;
                    let creditor = self
                        .entity
                        .direct_debit
                        .as_ref()
                        .map(|settings| &settings.creditor_identifier);
                    if let Err(error) =
                        bill.collect_by_direct_debit(creditor, mandates.iter().map(|m| &m.mandate))
                    {
                        return Ok(failed("no_usable_mandate", error.to_string(), true));
                    }
                    Some(bill)
                }
                bill => bill,
            };
            let Some(bill) = bill else {
                return match batch.mode {
                    RunMode::Preview => Ok(Billed::NothingDue),
                    RunMode::Finalize => self.left_unnumbered(batch, account_id).await,
                };
            };
            // A batch delivered days late (a dead-letter redrive) must not
            // issue invoices dated its run's day: the customer is reported,
            // and today's run bills it with today's date.
            if batch.mode == RunMode::Finalize {
                let today = billing_domain::run::run_date(now, self.entity.time_zone);
                if let Err(error) =
                    billing_domain::run::check_issue_date("run_date", batch.run_date, today)
                {
                    return Ok(failed("issue_date", error.to_string(), true));
                }
            }
            let shown: Vec<PreviewInvoice> = bill.invoices.iter().map(PreviewInvoice::of).collect();
            if let Some(Some(expected)) = expected
                && expected.invoices != shown
            {
                return Ok(failed(
                    "changed_since_preview",
                    "the invoices computed now differ from the preview (seller configuration changed?)".into(),
                    false,
                ));
            }
            if batch.mode == RunMode::Preview {
                let previous =
                    self.store
                        .latest_invoice(account_id)
                        .await?
                        .map(|p| PreviousInvoice {
                            number: p.number,
                            issue_date: p.issue_date,
                            total: p.total,
                            currency: p.currency,
                        });
                return Ok(Billed::Previewed(PreviewCustomer {
                    account_id: account_id.clone(),
                    customer_name: state.account.account.name.clone(),
                    inputs,
                    invoices: shown,
                    previous_invoice: previous,
                }));
            }
            match self
                .store
                .stage_bill(&batch.run_id, &state, &bill, now)
                .await
            {
                Ok(Staged::Staged) => {
                    return Ok(Billed::Staged(
                        bill.invoices
                            .into_iter()
                            .map(|draft| StagedInvoice {
                                draft,
                                run_id: batch.run_id.clone(),
                            })
                            .collect(),
                    ));
                }
                Ok(Staged::Stale) => continue,
                Err(StoreError::TooLarge { what, size }) => {
                    return Ok(failed(
                        "bill_too_large",
                        format!("{what} needs {size} writes; one transaction holds at most 100"),
                        true,
                    ));
                }
                Err(error) => return Err(error.into()),
            }
        }
        Err(RunError::Busy {
            account_id: account_id.to_string(),
        })
    }

    /// The customer's bill on the run date, with invoice ids derived from
    /// the run, the customer and what the bill was computed from: a retry
    /// of the same bill addresses the same invoices.
    fn compute(
        &self,
        batch: &RunBatch,
        state: &CustomerState,
    ) -> Result<Option<billing_domain::run::CustomerBill>, billing_domain::DomainError> {
        let contracts = state.contracts();
        let input = CustomerRunInput {
            entity: &self.entity,
            account: &state.account.account,
            subscriptions: &contracts,
            pending: &state.pending,
            run_date: batch.run_date,
        };
        let inputs = serde_json::to_string(&state.inputs()).unwrap_or_default();
        let account = state.account.account.id.as_str();
        bill_customer(&input, |currency, index| {
            let index = index.to_string();
            InvoiceId::new(keys::derived_id(
                "inv",
                &[&batch.run_id, account, currency.code(), &index, &inputs],
            ))
        })
    }

    /// Invoices this run staged for the customer that a crashed attempt
    /// left without numbers.
    async fn left_unnumbered(
        &self,
        batch: &RunBatch,
        account: &AccountId,
    ) -> Result<Billed, RunError> {
        let ids: Vec<InvoiceId> = self
            .store
            .run_customer(&batch.run_id, account)
            .await?
            .into_iter()
            .flat_map(|record| record.invoice_ids)
            .collect();
        if ids.is_empty() {
            return Ok(Billed::NothingDue);
        }
        let staged = self.store.unnumbered(&ids).await?;
        if staged.is_empty() {
            return Ok(Billed::NothingDue);
        }
        Ok(Billed::Staged(staged))
    }
}

/// Completes runs: adds up the outcome once every batch is done.
#[derive(Debug, Clone)]
pub struct RunTally {
    store: BillingStore,
    files: RunFiles,
}

impl RunTally {
    /// A tally over the billing table and the run files.
    pub fn new(store: BillingStore, files: RunFiles) -> Self {
        Self { store, files }
    }

    /// Completes `record`'s run if no planner is reading and every batch is
    /// done; returns the record as it then stands. Running it twice gives
    /// the same outcome.
    pub async fn complete_if_done(
        &self,
        record: RunRecord,
        now: DateTime<Utc>,
    ) -> Result<RunRecord, RunError> {
        let done = record.status == RunStatus::Billing
            && record.planning <= 0
            && record.done_batches >= record.planned_batches;
        if !done {
            return Ok(record);
        }
        let outcome = match record.mode {
            RunMode::Finalize => self.store.tally_run(&record.run_id).await?,
            RunMode::Preview => self.assemble_preview(&record).await?,
        };
        self.store
            .complete_run(&record.run_id, &outcome, now)
            .await?;
        let totals = serde_json::to_string(&outcome.totals).unwrap_or_default();
        tracing::info!(
            run_id = %record.run_id,
            run_date = %record.run_date,
            mode = record.mode.as_str(),
            started_by = %record.started_by,
            customers = outcome.customers,
            invoices = outcome.invoices,
            lines = outcome.lines,
            totals = %totals,
            failures = outcome.failures.len(),
            "invoice run completed"
        );
        Ok(self.store.run(&record.run_id).await?.unwrap_or(RunRecord {
            status: RunStatus::Completed,
            outcome: Some(outcome),
            ..record
        }))
    }

    /// Joins a preview's batch parts into `preview.json` and `preview.csv`.
    async fn assemble_preview(&self, record: &RunRecord) -> Result<RunOutcome, RunError> {
        let prefix = format!("{}batches/", run_prefix(&record.run_id));
        let mut preview = Preview {
            run_id: record.run_id.clone(),
            run_date: record.run_date,
            customers: Vec::new(),
            failures: Vec::new(),
        };
        for key in self.files.list(&prefix).await? {
            if let Some(part) = self.files.get_json::<PreviewBatch>(&key).await? {
                preview.customers.extend(part.customers);
                preview.failures.extend(part.failures);
            }
        }
        preview
            .customers
            .sort_by(|a, b| a.account_id.cmp(&b.account_id));
        preview
            .customers
            .dedup_by(|a, b| a.account_id == b.account_id);
        preview
            .failures
            .sort_by(|a, b| a.account_id.cmp(&b.account_id));
        preview
            .failures
            .dedup_by(|a, b| a.account_id == b.account_id);
        self.files
            .put_json(&preview_json_key(&record.run_id), &preview)
            .await?;
        self.files
            .put(
                &preview_csv_key(&record.run_id),
                preview.to_csv().into_bytes(),
                "text/csv; charset=utf-8",
            )
            .await?;
        let mut outcome = RunOutcome {
            customers: preview.customers.len(),
            failures: preview.failures.clone(),
            ..RunOutcome::default()
        };
        for invoice in preview.customers.iter().flat_map(|c| &c.invoices) {
            outcome.invoices += 1;
            outcome.lines += invoice.lines.len();
            *outcome.totals.entry(invoice.currency.clone()).or_default() += invoice.total;
        }
        Ok(outcome)
    }
}
