//! The invoice run's access paths: the due index, one customer's billing
//! state, the customer's bill in one transaction, numbering many invoices
//! per transaction, and the run's own record.
//!
//! Exactly once, in two steps:
//!
//! 1. **Stage** ([`BillingStore::stage_bill`]): one transaction per customer
//!    puts the customer's invoices *unnumbered* (`status = unnumbered`, the
//!    draft in `draft`), advances every billed contract under a condition
//!    on the version read (which also moves its due-index key), deletes the
//!    parked charges it carries (each must still exist) and records the
//!    customer on the run. A replay, a duplicate message or a racing run
//!    finds a condition false and writes nothing.
//! 2. **Number** ([`BillingStore::number_invoices`]): up to 99 staged
//!    invoices of one series get consecutive numbers in one transaction
//!    with the series counter (moved from `last` to `last + n` under a
//!    condition on `last`), each conditioned on still being unnumbered.
//!    The invoice is then written exactly as the webhook writes a finalized
//!    one (`document_status = pending`), so the stream pipe hands it to the
//!    documents path. One counter write per 99 invoices keeps a series far
//!    below a single item's write limit, and numbers stay gapless.
//!
//! A worker that dies between the steps leaves staged invoices; the retry
//! finds nothing due for the customer, reads the run's customer record and
//! numbers what is still unnumbered.

use crate::attributes::read_body;
use crate::codec::{self, ACCOUNT_KEY, ACCOUNT_SORT, ItemAttributes, Named, PK, RECORD_TYPE};
use crate::page::{Page, Paged, query_page};
use std::collections::{BTreeMap, HashMap};

use aws_sdk_dynamodb::types::{AttributeValue, Delete, TransactWriteItem, Update};
use billing_domain::ids::{AccountId, BillingEntityId, InvoiceId};
use billing_domain::invoice::{Invoice, InvoiceDraft};
use billing_domain::item::PendingCharge;
use billing_domain::numbering::{CounterKey, InvoiceNumber};
use billing_domain::run::{CustomerBill, PendingBatch};
use billing_domain::seller::BillingEntity;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::attributes::{Item, body, key_item, n, read_optional_s, read_s, read_u64, s, time};
use crate::transaction::{Outcome, Retry};
use crate::{BillingStore, StoreError, VersionedAccount, VersionedSubscription, keys};

/// Most items in one DynamoDB transaction.
pub const MAX_TRANSACTION_ITEMS: usize = 100;

/// Bytes of invoice bodies put in one numbering transaction; DynamoDB
/// refuses transactions over 4 MB.
const MAX_NUMBERING_BYTES: usize = 3_500_000;

/// How often a numbering transaction that lost the counter race is retried
/// before the batch is handed back to the queue.
const NUMBERING_ATTEMPTS: u32 = 40;

/// One page of the `DueSubscriptions` index: the accounts of its entries,
/// in index order, and where the next page starts.
#[derive(Debug, Clone, PartialEq)]
pub struct DuePage {
    /// The account of each entry (a customer appears once per due contract).
    pub accounts: Vec<AccountId>,
    /// Pass back to read the next page; `None` after the last.
    pub next: Option<HashMap<String, AttributeValue>>,
}

/// Everything a run needs to know about one customer, from one Query of the
/// account's partition.
#[derive(Debug, Clone, PartialEq)]
pub struct CustomerState {
    /// The customer, with its version.
    pub account: VersionedAccount,
    /// Every contract, with its version.
    pub subscriptions: Vec<VersionedSubscription>,
    /// Every batch of parked one-off charges.
    pub pending: Vec<PendingBatch>,
}

impl CustomerState {
    /// The contracts without versions, as the billing engine takes them.
    pub fn contracts(&self) -> Vec<billing_domain::subscription::Subscription> {
        self.subscriptions
            .iter()
            .map(|v| v.subscription.clone())
            .collect()
    }

    /// A digest of everything a bill depends on (contract versions and
    /// parked batches): a preview is only billed as shown while it matches.
    pub fn inputs(&self) -> BillInputs {
        BillInputs {
            account_version: self.account.version,
            subscriptions: self
                .subscriptions
                .iter()
                .map(|v| (v.subscription.id.to_string(), v.version))
                .collect(),
            pending: self.pending.iter().map(|b| b.batch_id.clone()).collect(),
        }
    }
}

/// What a customer's bill was computed from; equal inputs give an equal bill.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BillInputs {
    /// The account's version.
    pub account_version: u64,
    /// Each contract's version, by id.
    pub subscriptions: BTreeMap<String, u64>,
    /// The parked batches, by id.
    pub pending: Vec<String>,
}

impl BillInputs {
    /// What changed from `self` (a preview) to `now`, in words staff can
    /// act on; empty when nothing did.
    pub fn differences(&self, now: &BillInputs) -> Vec<String> {
        let mut out = Vec::new();
        if self.account_version != now.account_version {
            out.push(format!(
                "account changed (version {} -> {})",
                self.account_version, now.account_version
            ));
        }
        for (id, version) in &self.subscriptions {
            match now.subscriptions.get(id) {
                None => out.push(format!("contract {id} was removed")),
                Some(current) if current != version => out.push(format!(
                    "contract {id} changed (version {version} -> {current})"
                )),
                Some(_) => {}
            }
        }
        for id in now.subscriptions.keys() {
            if !self.subscriptions.contains_key(id) {
                out.push(format!("contract {id} was added"));
            }
        }
        for batch in &self.pending {
            if !now.pending.contains(batch) {
                out.push(format!("parked charges {batch} were billed or removed"));
            }
        }
        for batch in &now.pending {
            if !self.pending.contains(batch) {
                out.push(format!("parked charges {batch} were added"));
            }
        }
        out
    }
}

/// How staging a customer's bill ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Staged {
    /// Written: the invoices wait for their numbers.
    Staged,
    /// A contract or parked charge changed since it was read (another run,
    /// a duplicate message, an amendment): nothing was written; read again.
    Stale,
}

/// A run's record of one billed customer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunCustomer {
    /// The customer.
    pub account_id: AccountId,
    /// The invoices staged for it.
    pub invoice_ids: Vec<InvoiceId>,
    /// Gross total per currency code.
    pub totals: BTreeMap<String, rust_decimal::Decimal>,
    /// Lines billed.
    pub lines: usize,
}

/// A customer a run could not bill, with a reason staff can act on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunFailure {
    /// The customer.
    pub account_id: AccountId,
    /// Stable code, e.g. `invalid_contract`.
    pub code: String,
    /// What is wrong (field-naming; never personal data).
    pub reason: String,
}

/// Finalize or preview.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunMode {
    /// Bill for real: invoices are numbered and sent.
    Finalize,
    /// Compute and write the result to the bucket; change nothing else.
    Preview,
}

impl RunMode {
    /// The stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            RunMode::Finalize => "finalize",
            RunMode::Preview => "preview",
        }
    }
}

/// Where a run stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    /// A planner is still reading the due index.
    Planning,
    /// Every batch is queued; workers are billing.
    Billing,
    /// Every batch is done; the outcome is recorded.
    Completed,
}

/// What a run did, once every batch is done.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunOutcome {
    /// Customers billed.
    pub customers: usize,
    /// Invoices (and credit notes) created.
    pub invoices: usize,
    /// Lines billed.
    pub lines: usize,
    /// Gross total per currency code.
    pub totals: BTreeMap<String, rust_decimal::Decimal>,
    /// Customers that could not be billed (retried by the next run).
    pub failures: Vec<RunFailure>,
}

/// A run as recorded: parameters, progress and, at the end, the outcome.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    /// Id.
    pub run_id: String,
    /// The day billed for.
    pub run_date: NaiveDate,
    /// Finalize or preview.
    pub mode: RunMode,
    /// Who or what started it (`schedule`, an operator's name).
    pub started_by: String,
    /// When it was started.
    pub started_at: DateTime<Utc>,
    /// The preview a finalize run bills exactly, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_preview: Option<String>,
    /// The customers it was limited to, if any.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub account_ids: Vec<AccountId>,
    /// Where it stands.
    pub status: RunStatus,
    /// Planners still reading (a run date may be planned more than once).
    pub planning: i64,
    /// Batches queued.
    pub planned_batches: u64,
    /// Customers queued (a customer may be queued by more than one pass).
    pub planned_customers: u64,
    /// Batches done.
    pub done_batches: u64,
    /// The outcome, once completed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<RunOutcome>,
}

/// Parameters of a new run.
#[derive(Debug, Clone, PartialEq)]
pub struct NewRun {
    /// Id (deterministic for scheduled runs, so racing planners share it).
    pub run_id: String,
    /// The day billed for.
    pub run_date: NaiveDate,
    /// Finalize or preview.
    pub mode: RunMode,
    /// Who or what started it.
    pub started_by: String,
    /// The preview to bill exactly.
    pub from_preview: Option<String>,
    /// Limit to these customers.
    pub account_ids: Vec<AccountId>,
}

/// An invoice staged by a run and not numbered yet.
#[derive(Debug, Clone, PartialEq)]
pub struct StagedInvoice {
    /// The frozen draft.
    pub draft: InvoiceDraft,
    /// The run that staged it.
    pub run_id: String,
}

impl BillingStore {
    /// One page of `entity`'s due contracts in `shard`, due on or before
    /// `run_date` (eventually consistent, as every GSI read; the
    /// conditional writes that follow are what make the run exact).
    pub async fn due_page(
        &self,
        entity: &BillingEntityId,
        shard: u8,
        run_date: NaiveDate,
        start: Option<HashMap<String, AttributeValue>>,
        limit: i32,
    ) -> Result<DuePage, StoreError> {
        use crate::codec::subscription::{BILLING_ENTITY_ID, DUE_AT, DUE_SHARD};
        let page = self
            .db
            .query()
            .table_name(&self.table)
            .index_name("DueSubscriptions")
            .key_condition_expression(format!("{DUE_SHARD} = :shard AND {DUE_AT} <= :until"))
            .filter_expression(format!("{BILLING_ENTITY_ID} = :entity"))
            .expression_attribute_values(":shard", s(keys::due_shard(shard)))
            .expression_attribute_values(":until", s(keys::due_until(run_date)))
            .expression_attribute_values(":entity", s(entity.as_str()))
            .named()
            .set_exclusive_start_key(start)
            .limit(limit)
            .send()
            .await
            .map_err(|e| StoreError::aws("Query", &e))?;
        let accounts = page
            .items()
            .iter()
            .filter_map(|item| read_optional_s(item, DUE_AT).and_then(keys::due_account))
            .collect();
        Ok(DuePage {
            accounts,
            next: page.last_evaluated_key,
        })
    }

    /// The customer's account, contracts and parked charges: one strongly
    /// consistent Query of the account's partition (across pages). `None`
    /// when the account does not exist.
    pub async fn customer_state(
        &self,
        account_id: &AccountId,
    ) -> Result<Option<CustomerState>, StoreError> {
        let what = format!("account {account_id}");
        let items = self
            .query_partition(keys::account_partition(account_id))
            .await?;
        let mut account = None;
        let mut subscriptions = Vec::new();
        let mut pending = Vec::new();
        for item in &items {
            let sk = read_s(item, codec::SK, &what)?;
            if sk == "ACCOUNT" {
                account = Some(VersionedAccount::read(item, &what)?);
            } else if sk.starts_with(keys::SUBSCRIPTION_PREFIX) {
                subscriptions.push(VersionedSubscription::read(item, &what)?);
            } else if let Some(batch_id) = sk.strip_prefix(keys::PENDING_PREFIX) {
                let charges: Vec<PendingCharge> =
                    crate::attributes::read_body(item, &format!("{what} {sk}"))?;
                pending.push(PendingBatch {
                    batch_id: batch_id.to_owned(),
                    charges,
                });
            }
        }
        Ok(account.map(|account| CustomerState {
            account,
            subscriptions,
            pending,
        }))
    }

    /// Step 1: the customer's bill in one transaction, or [`Staged::Stale`]
    /// when anything it was computed from has changed.
    pub async fn stage_bill(
        &self,
        run_id: &str,
        state: &CustomerState,
        bill: &CustomerBill,
        now: DateTime<Utc>,
    ) -> Result<Staged, StoreError> {
        let items = self.stage_items(run_id, state, bill, now)?;
        if items.len() > MAX_TRANSACTION_ITEMS {
            return Err(StoreError::TooLarge {
                what: format!(
                    "bill of account {} ({} invoices, {} contracts, {} parked batches)",
                    bill.account_id,
                    bill.invoices.len(),
                    bill.advances.len(),
                    bill.pending_billed.len()
                ),
                size: items.len(),
            });
        }
        match self.transact(items).await? {
            Outcome::Written => Ok(Staged::Staged),
            Outcome::Cancelled(cancelled) if cancelled.any_condition_failed() => Ok(Staged::Stale),
            Outcome::Cancelled(cancelled) => Err(cancelled.into_error()),
        }
    }

    fn stage_items(
        &self,
        run_id: &str,
        state: &CustomerState,
        bill: &CustomerBill,
        now: DateTime<Utc>,
    ) -> Result<Vec<TransactWriteItem>, StoreError> {
        let stamp = now.to_rfc3339();
        let account = &state.account.account;
        let mut items = Vec::new();
        let mut totals: BTreeMap<String, rust_decimal::Decimal> = BTreeMap::new();
        let mut lines = 0;
        for draft in &bill.invoices {
            let what = format!("invoice {}", draft.id);
            let mut item = key_item(keys::invoice(&draft.id));
            item.put(RECORD_TYPE, s("invoice"));
            item.put(codec::invoice::STATUS, s("unnumbered"));
            item.put(codec::invoice::DRAFT, draft_body(draft, &what)?);
            item.put(codec::invoice::INVOICE_ID, s(draft.id.as_str()));
            item.put(codec::invoice::ACCOUNT_ID, s(account.id.as_str()));
            item.put(
                codec::invoice::BILLING_ENTITY_ID,
                s(draft.billing_entity_id.as_str()),
            );
            item.put(codec::invoice::RUN_ID, s(run_id));
            item.put(codec::invoice::CREATED_AT, s(&stamp));
            items.push(self.put_new(item)?);
            *totals.entry(draft.currency.code().to_owned()).or_default() +=
                draft.totals.gross_total.amount();
            lines += draft.lines.len();
        }
        for advance in &bill.advances {
            let stored = state
                .subscriptions
                .iter()
                .find(|v| v.subscription.id == advance.subscription_id)
                .ok_or_else(|| {
                    StoreError::corrupt(
                        format!("subscription {}", advance.subscription_id),
                        "billed but not read",
                    )
                })?;
            let mut subscription = stored.subscription.clone();
            subscription
                .record_progress(&advance.progress)
                .map_err(|e| StoreError::corrupt(format!("subscription {}", subscription.id), e))?;
            let item = crate::codec::subscription::item(
                &subscription,
                &account.billing_entity_id,
                stored.version + 1,
                &stamp,
            )?;
            items.push(self.put_versioned(item, stored.version)?);
        }
        for batch_id in &bill.pending_billed {
            let delete = Delete::builder()
                .table_name(&self.table)
                .set_key(Some(key_item(keys::pending_charges(&account.id, batch_id))))
                .condition_expression(format!("attribute_exists({PK})"))
                .named()
                .build()
                .map_err(|e| StoreError::corrupt("transaction item", e))?;
            items.push(TransactWriteItem::builder().delete(delete).build());
        }
        let record = RunCustomer {
            account_id: account.id.clone(),
            invoice_ids: bill.invoices.iter().map(|d| d.id.clone()).collect(),
            totals,
            lines,
        };
        let first = bill.invoices.first().map(|d| d.id.clone()).ok_or_else(|| {
            StoreError::corrupt(format!("bill of account {}", account.id), "has no invoice")
        })?;
        let mut customer = key_item(keys::run_customer(run_id, &account.id, &first));
        customer.put(RECORD_TYPE, s("run_customer"));
        customer.put(codec::BODY, body(&record, "run customer")?);
        items.push(self.transaction_put(customer, None, None)?);
        // A customer billed now no longer needs a person for an old failure.
        let attention = Delete::builder()
            .table_name(&self.table)
            .set_key(Some(key_item(keys::attention_customer(
                &account.billing_entity_id,
                &account.id,
            ))))
            .build()
            .map_err(|e| StoreError::corrupt("transaction item", e))?;
        items.push(TransactWriteItem::builder().delete(attention).build());
        Ok(items)
    }

    /// The run's records of what it billed for a customer (one Query).
    pub async fn run_customer(
        &self,
        run_id: &str,
        account: &AccountId,
    ) -> Result<Vec<RunCustomer>, StoreError> {
        self.query_prefix(
            keys::run_partition(run_id),
            &keys::run_customer_prefix(account),
        )
        .await?
        .iter()
        .map(|item| crate::attributes::read_body(item, "run customer"))
        .collect()
    }

    /// The invoices among `ids` that are staged and still unnumbered.
    pub async fn unnumbered(&self, ids: &[InvoiceId]) -> Result<Vec<StagedInvoice>, StoreError> {
        let mut out = Vec::new();
        for id in ids {
            let Some(item) = self.get(keys::invoice(id)).await? else {
                continue;
            };
            let what = format!("invoice {id}");
            if read_s(&item, codec::invoice::STATUS, &what)? != "unnumbered" {
                continue;
            }
            let text = read_s(&item, codec::invoice::DRAFT, &what)?;
            let draft: InvoiceDraft = serde_json::from_str(text).map_err(|e| {
                StoreError::corrupt(&what, format!("draft: {:?} error", e.classify()))
            })?;
            out.push(StagedInvoice {
                draft,
                run_id: read_s(&item, codec::invoice::RUN_ID, &what)?.to_owned(),
            });
        }
        Ok(out)
    }

    /// Step 2: numbers staged invoices, many per transaction, each series
    /// gapless. Returns the numbers given, in input order per series.
    /// Invoices numbered meanwhile by someone else (a duplicate worker) are
    /// left as they are.
    pub async fn number_invoices(
        &self,
        entity: &BillingEntity,
        staged: &[StagedInvoice],
        now: DateTime<Utc>,
    ) -> Result<Vec<(InvoiceId, InvoiceNumber)>, StoreError> {
        // Group by counter, keeping order inside each group.
        let mut groups: Vec<(CounterKey, Vec<&StagedInvoice>)> = Vec::new();
        for invoice in staged {
            let series = entity
                .series_for(invoice.draft.document_type)
                .map_err(|e| StoreError::corrupt(format!("billing entity {}", entity.id), e))?;
            let key = series.counter_key(&entity.id, invoice.draft.issue_date);
            match groups.iter_mut().find(|(k, _)| *k == key) {
                Some((_, list)) => list.push(invoice),
                None => groups.push((key, vec![invoice])),
            }
        }
        let mut numbered = Vec::with_capacity(staged.len());
        for (key, invoices) in groups {
            let series = entity
                .series_for(invoices[0].draft.document_type)
                .map_err(|e| StoreError::corrupt(format!("billing entity {}", entity.id), e))?;
            for chunk in numbering_chunks(&invoices)? {
                numbered.extend(self.number_chunk(series, &key, chunk, now).await?);
            }
        }
        Ok(numbered)
    }

    async fn number_chunk(
        &self,
        series: &billing_domain::numbering::NumberSeries,
        key: &CounterKey,
        mut chunk: Vec<&StagedInvoice>,
        now: DateTime<Utc>,
    ) -> Result<Vec<(InvoiceId, InvoiceNumber)>, StoreError> {
        let stamp = now.to_rfc3339();
        let mut retry = Retry::Attempts(NUMBERING_ATTEMPTS).start();
        while retry.next().await {
            if chunk.is_empty() {
                return Ok(Vec::new());
            }
            let last = self.counter_value(key).await?;
            let mut items = Vec::with_capacity(chunk.len() + 1);
            items.push(self.advance_counter(key, last, last + chunk.len() as u64)?);
            let mut numbers = Vec::with_capacity(chunk.len());
            for (offset, staged) in chunk.iter().enumerate() {
                let number = series
                    .format(staged.draft.issue_date, last + 1 + offset as u64)
                    .map_err(|e| {
                        StoreError::corrupt(format!("counter {}", key.storage_key()), e)
                    })?;
                let invoice: Invoice = staged.draft.clone().finalize(number.clone());
                let mut item = crate::codec::invoice::item(&invoice, &stamp)?;
                item.put(codec::invoice::RUN_ID, s(&staged.run_id));
                item.put(codec::invoice::NUMBERED_AT, time(now));
                // Still unnumbered: a duplicate worker may have numbered it.
                let put = aws_sdk_dynamodb::types::Put::builder()
                    .table_name(&self.table)
                    .set_item(Some(item))
                    .condition_expression(format!("{} = :unnumbered", codec::invoice::STATUS))
                    .expression_attribute_values(":unnumbered", s("unnumbered"))
                    .named()
                    .build()
                    .map_err(|e| StoreError::corrupt("transaction item", e))?;
                items.push(TransactWriteItem::builder().put(put).build());
                numbers.push((staged.draft.id.clone(), number));
            }
            let cancelled = match self.transact(items).await? {
                Outcome::Written => return Ok(numbers),
                Outcome::Cancelled(cancelled) => cancelled,
            };
            if (1..cancelled.items().len()).any(|index| cancelled.condition_failed(index)) {
                // Someone numbered some of these: keep only the rest.
                let ids: Vec<InvoiceId> = chunk.iter().map(|i| i.draft.id.clone()).collect();
                let still: Vec<InvoiceId> = self
                    .unnumbered(&ids)
                    .await?
                    .into_iter()
                    .map(|i| i.draft.id)
                    .collect();
                chunk.retain(|i| still.contains(&i.draft.id));
                continue;
            }
            // Item 0 is the counter: another worker moving it is a race.
            if !cancelled.only_races(|index| index == 0) {
                return Err(cancelled.into_error());
            }
        }
        Err(retry.gave_up(format!("counter {}", key.storage_key())))
    }

    /// Records that a run could not bill a customer: on the run, and (when
    /// a person must fix something) on the entity's needs-attention list
    /// until a later run bills it.
    pub async fn record_run_failure(
        &self,
        run_id: &str,
        entity: &BillingEntityId,
        failure: &RunFailure,
        needs_attention: bool,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut on_run = key_item(keys::run_failure(run_id, &failure.account_id));
        on_run.put(RECORD_TYPE, s("run_failure"));
        on_run.put(codec::BODY, body(failure, "run failure")?);
        let mut attention = key_item(keys::attention_customer(entity, &failure.account_id));
        attention.put(RECORD_TYPE, s("attention"));
        attention.put(codec::attention::ACCOUNT_ID, s(failure.account_id.as_str()));
        attention.put(codec::attention::STATUS, s("run_failed"));
        attention.put(codec::attention::CODE, s(&failure.code));
        attention.put(codec::attention::REASON, s(&failure.reason));
        attention.put(codec::attention::RUN_ID, s(run_id));
        attention.put(codec::attention::SINCE, time(now));
        let mut items = vec![self.transaction_put(on_run, None, None)?];
        if needs_attention {
            items.push(self.transaction_put(attention, None, None)?);
        }
        self.transact(items).await?.written()
    }

    /// Customers of an entity that a run could not bill, oldest first.
    pub async fn customers_needing_attention(
        &self,
        entity: &BillingEntityId,
    ) -> Result<Vec<CustomerAttention>, StoreError> {
        use crate::codec::attention;
        let what = format!("attention list of {entity}");
        let items = self
            .query_prefix(
                keys::attention_partition(entity),
                keys::ATTENTION_CUSTOMER_PREFIX,
            )
            .await?;
        let mut entries = items
            .iter()
            .map(|item| {
                Ok(CustomerAttention {
                    account_id: AccountId::new(read_s(item, attention::ACCOUNT_ID, &what)?),
                    code: read_s(item, attention::CODE, &what)?.to_owned(),
                    reason: read_s(item, attention::REASON, &what)?.to_owned(),
                    run_id: read_s(item, attention::RUN_ID, &what)?.to_owned(),
                    since: crate::attributes::read_time(item, attention::SINCE, &what)?,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        entries.sort_by_key(|a| a.since);
        Ok(entries)
    }

    /// Starts (or joins) a run: creates its record if new, and counts one
    /// more planner reading for it.
    pub async fn open_run(
        &self,
        run: &NewRun,
        now: DateTime<Utc>,
    ) -> Result<RunRecord, StoreError> {
        use crate::codec::run::{
            ACCOUNT_IDS, DONE_BATCHES, FROM_PREVIEW, OUTCOME, PLANNED_BATCHES, PLANNED_CUSTOMERS,
            PLANNING, RUN_DATE, RUN_ID, RUN_MODE, STARTED_AT, STARTED_BY, STATUS,
        };
        let mut values = HashMap::from([
            (":date".to_owned(), s(run.run_date.to_string())),
            (":mode".to_owned(), s(run.mode.as_str())),
            (":by".to_owned(), s(&run.started_by)),
            (":at".to_owned(), time(now)),
            (":planning".to_owned(), s(status_str(RunStatus::Planning))),
            (":one".to_owned(), n(1)),
            (":zero".to_owned(), n(0)),
            (":type".to_owned(), s("run")),
            (":id".to_owned(), s(&run.run_id)),
            (
                ":accounts".to_owned(),
                s(serde_json::to_string(&run.account_ids)
                    .map_err(|e| StoreError::corrupt("run", e))?),
            ),
        ]);
        let mut set = format!(
            "SET {RECORD_TYPE} = :type, {RUN_ID} = :id, {RUN_DATE} = if_not_exists({RUN_DATE}, :date), \
             {RUN_MODE} = if_not_exists({RUN_MODE}, :mode), {STARTED_BY} = if_not_exists({STARTED_BY}, :by), \
             {STARTED_AT} = if_not_exists({STARTED_AT}, :at), {ACCOUNT_IDS} = if_not_exists({ACCOUNT_IDS}, :accounts), \
             {STATUS} = :planning, {PLANNED_BATCHES} = if_not_exists({PLANNED_BATCHES}, :zero), \
             {PLANNED_CUSTOMERS} = if_not_exists({PLANNED_CUSTOMERS}, :zero), \
             {DONE_BATCHES} = if_not_exists({DONE_BATCHES}, :zero), \
             {ACCOUNT_KEY} = :runs, {ACCOUNT_SORT} = if_not_exists({ACCOUNT_SORT}, :run_sort)"
        );
        // Listed by the staff API through `ByAccount` (`RUNS`, by run date).
        values.insert(":runs".to_owned(), s(keys::RUNS_PARTITION));
        values.insert(
            ":run_sort".to_owned(),
            s(keys::run_list_sort(run.run_date, &run.run_id)),
        );
        if let Some(preview) = &run.from_preview {
            values.insert(":preview".to_owned(), s(preview));
            set.push_str(&format!(
                ", {FROM_PREVIEW} = if_not_exists({FROM_PREVIEW}, :preview)"
            ));
        }
        let output = self
            .db
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key_item(keys::run(&run.run_id))))
            .update_expression(format!("{set} ADD {PLANNING} :one REMOVE {OUTCOME}"))
            .set_expression_attribute_values(Some(values))
            .named()
            .return_values(aws_sdk_dynamodb::types::ReturnValue::AllNew)
            .send()
            .await
            .map_err(|e| StoreError::aws("UpdateItem", &e))?;
        read_run(output.attributes.as_ref(), &run.run_id)
    }

    /// A planner finished: its batches and customers are counted and the
    /// run moves to billing once no planner is reading.
    pub async fn close_planning(
        &self,
        run_id: &str,
        batches: u64,
        customers: u64,
    ) -> Result<RunRecord, StoreError> {
        use crate::codec::run::{PLANNED_BATCHES, PLANNED_CUSTOMERS, PLANNING};
        let output = self
            .db
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key_item(keys::run(run_id))))
            .update_expression(format!(
                "ADD {PLANNING} :minus, {PLANNED_BATCHES} :batches, {PLANNED_CUSTOMERS} :customers"
            ))
            .condition_expression(format!("attribute_exists({PK})"))
            .expression_attribute_values(":minus", n(-1))
            .expression_attribute_values(":batches", n(batches))
            .expression_attribute_values(":customers", n(customers))
            .named()
            .return_values(aws_sdk_dynamodb::types::ReturnValue::AllNew)
            .send()
            .await
            .map_err(|e| StoreError::aws("UpdateItem", &e))?;
        let record = read_run(output.attributes.as_ref(), run_id)?;
        if record.planning <= 0 && record.status == RunStatus::Planning {
            self.set_run_status(run_id, RunStatus::Billing).await?;
            return self.run(run_id).await?.ok_or_else(|| StoreError::NotFound {
                what: format!("run {run_id}"),
            });
        }
        Ok(record)
    }

    async fn set_run_status(&self, run_id: &str, status: RunStatus) -> Result<(), StoreError> {
        self.db
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key_item(keys::run(run_id))))
            .update_expression(format!("SET {} = :status", codec::run::STATUS))
            .expression_attribute_values(":status", s(status_str(status)))
            .named()
            .send()
            .await
            .map_err(|e| StoreError::aws("UpdateItem", &e))?;
        Ok(())
    }

    /// Marks a batch done, once however often it is delivered, and returns
    /// the run as it now stands.
    pub async fn finish_batch(
        &self,
        run_id: &str,
        batch_id: &str,
    ) -> Result<RunRecord, StoreError> {
        let mut marker = key_item(keys::run_batch(run_id, batch_id));
        marker.put(RECORD_TYPE, s("run_batch"));
        let count = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key_item(keys::run(run_id))))
            .update_expression(format!("ADD {} :one", codec::run::DONE_BATCHES))
            .condition_expression(format!("attribute_exists({PK})"))
            .expression_attribute_values(":one", n(1))
            .named()
            .build()
            .map_err(|e| StoreError::corrupt("transaction item", e))?;
        let mut retry = Retry::Attempts(NUMBERING_ATTEMPTS).start();
        loop {
            if !retry.next().await {
                return Err(retry.gave_up(format!("batch count of run {run_id}")));
            }
            let items = vec![
                self.put_new(marker.clone())?,
                TransactWriteItem::builder().update(count.clone()).build(),
            ];
            match self.transact(items).await? {
                Outcome::Written => break,
                // Done before: counted once already.
                Outcome::Cancelled(cancelled) if cancelled.condition_failed(0) => break,
                Outcome::Cancelled(cancelled) if cancelled.only_races(|_| false) => {}
                Outcome::Cancelled(cancelled) => return Err(cancelled.into_error()),
            }
        }
        self.run(run_id).await?.ok_or_else(|| StoreError::NotFound {
            what: format!("run {run_id}"),
        })
    }

    /// A run's record.
    pub async fn run(&self, run_id: &str) -> Result<Option<RunRecord>, StoreError> {
        let item = self.get(keys::run(run_id)).await?;
        match item {
            Some(item) => read_run(Some(&item), run_id).map(Some),
            None => Ok(None),
        }
    }

    /// Adds up a run's customer and failure records (one Query of the run's
    /// partition) into its outcome.
    pub async fn tally_run(&self, run_id: &str) -> Result<RunOutcome, StoreError> {
        let items = self.query_partition(keys::run_partition(run_id)).await?;
        let mut outcome = RunOutcome::default();
        let mut customers = std::collections::BTreeSet::new();
        for item in &items {
            let sk = read_s(item, codec::SK, "run")?;
            if sk.starts_with(keys::RUN_CUSTOMER_PREFIX) {
                let customer: RunCustomer = crate::attributes::read_body(item, "run customer")?;
                customers.insert(customer.account_id.clone());
                outcome.invoices += customer.invoice_ids.len();
                outcome.lines += customer.lines;
                for (currency, total) in customer.totals {
                    *outcome.totals.entry(currency).or_default() += total;
                }
            } else if sk.starts_with(keys::RUN_FAILED_PREFIX) {
                outcome
                    .failures
                    .push(crate::attributes::read_body(item, "run failure")?);
            }
        }
        // A customer failed in one pass and billed in a later one is billed.
        outcome
            .failures
            .retain(|failure| !customers.contains(&failure.account_id));
        outcome.customers = customers.len();
        Ok(outcome)
    }

    /// Records the outcome and completes the run.
    pub async fn complete_run(
        &self,
        run_id: &str,
        outcome: &RunOutcome,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        use crate::codec::run::{COMPLETED_AT, OUTCOME, STATUS};
        self.db
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key_item(keys::run(run_id))))
            .update_expression(format!(
                "SET {STATUS} = :done, {OUTCOME} = :outcome, {COMPLETED_AT} = :at"
            ))
            .condition_expression(format!("attribute_exists({PK})"))
            .expression_attribute_values(":done", s(status_str(RunStatus::Completed)))
            .expression_attribute_values(":outcome", body(outcome, "run outcome")?)
            .expression_attribute_values(":at", time(now))
            .named()
            .send()
            .await
            .map_err(|e| StoreError::aws("UpdateItem", &e))?;
        Ok(())
    }
}

/// A customer a run could not bill, as the needs-attention list shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CustomerAttention {
    /// The customer.
    pub account_id: AccountId,
    /// Stable code.
    pub code: String,
    /// What to fix.
    pub reason: String,
    /// The run that last failed.
    pub run_id: String,
    /// Since when.
    pub since: DateTime<Utc>,
}

/// The draft of a staged invoice, within the item size limit.
fn draft_body(draft: &InvoiceDraft, what: &str) -> Result<AttributeValue, StoreError> {
    body(draft, what)
}

/// Chunks of one series for one transaction each: at most 99 invoices (the
/// counter is the 100th item) and [`MAX_NUMBERING_BYTES`] of bodies.
fn numbering_chunks<'a>(
    invoices: &[&'a StagedInvoice],
) -> Result<Vec<Vec<&'a StagedInvoice>>, StoreError> {
    let mut chunks: Vec<Vec<&StagedInvoice>> = Vec::new();
    let mut current = Vec::new();
    let mut bytes = 0;
    for invoice in invoices {
        let size = serde_json::to_vec(&invoice.draft)
            .map_err(|e| StoreError::corrupt("invoice", e))?
            .len();
        if !current.is_empty()
            && (current.len() + 1 >= MAX_TRANSACTION_ITEMS || bytes + size > MAX_NUMBERING_BYTES)
        {
            chunks.push(std::mem::take(&mut current));
            bytes = 0;
        }
        bytes += size;
        current.push(*invoice);
    }
    if !current.is_empty() {
        chunks.push(current);
    }
    Ok(chunks)
}

fn status_str(status: RunStatus) -> &'static str {
    match status {
        RunStatus::Planning => "planning", // a value, not an attribute
        RunStatus::Billing => "billing",
        RunStatus::Completed => "completed",
    }
}

pub(crate) fn read_run(item: Option<&Item>, run_id: &str) -> Result<RunRecord, StoreError> {
    let what = format!("run {run_id}");
    let item = item.ok_or_else(|| StoreError::NotFound { what: what.clone() })?;
    let number = |attr: codec::Attr| -> Result<i64, StoreError> {
        match item.attr(attr) {
            Some(AttributeValue::N(v)) => v.parse().map_err(|_| {
                StoreError::corrupt(&what, format!("{} is not a number", attr.name()))
            }),
            _ => Ok(0),
        }
    };
    let run_date = read_s(item, codec::run::RUN_DATE, &what)?
        .parse()
        .map_err(|_| StoreError::corrupt(&what, "run_date is not a date"))?;
    let mode = match read_s(item, codec::run::RUN_MODE, &what)? {
        "finalize" => RunMode::Finalize,
        "preview" => RunMode::Preview,
        other => return Err(StoreError::corrupt(&what, format!("unknown mode {other}"))),
    };
    let status = match read_s(item, codec::run::STATUS, &what)? {
        "planning" => RunStatus::Planning, // a value, not an attribute
        "billing" => RunStatus::Billing,
        "completed" => RunStatus::Completed,
        other => {
            return Err(StoreError::corrupt(
                &what,
                format!("unknown status {other}"),
            ));
        }
    };
    let account_ids = match read_optional_s(item, codec::run::ACCOUNT_IDS) {
        Some(text) => serde_json::from_str(text)
            .map_err(|_| StoreError::corrupt(&what, "account_ids is not a list"))?,
        None => Vec::new(),
    };
    let outcome = match read_optional_s(item, codec::run::OUTCOME) {
        Some(text) => Some(
            serde_json::from_str(text)
                .map_err(|_| StoreError::corrupt(&what, "outcome is not readable"))?,
        ),
        None => None,
    };
    Ok(RunRecord {
        run_id: run_id.to_owned(),
        run_date,
        mode,
        started_by: read_s(item, codec::run::STARTED_BY, &what)?.to_owned(),
        started_at: crate::attributes::read_time(item, codec::run::STARTED_AT, &what)?,
        from_preview: read_optional_s(item, codec::run::FROM_PREVIEW).map(str::to_owned),
        account_ids,
        status,
        planning: number(codec::run::PLANNING)?,
        planned_batches: read_u64(item, codec::run::PLANNED_BATCHES, &what)?,
        planned_customers: read_u64(item, codec::run::PLANNED_CUSTOMERS, &what)?,
        done_batches: read_u64(item, codec::run::DONE_BATCHES, &what)?,
        outcome,
    })
}

/// An invoice's number, date and amount, for comparisons in a preview.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvoiceHeadline {
    /// Its number.
    pub number: String,
    /// Its date.
    pub issue_date: NaiveDate,
    /// Its gross total.
    pub total: rust_decimal::Decimal,
    /// Its currency code.
    pub currency: String,
}

impl BillingStore {
    /// The customer's latest finalized invoice (newest by issue date, one
    /// item read from the `ByAccount` index).
    pub async fn latest_invoice(
        &self,
        account: &AccountId,
    ) -> Result<Option<InvoiceHeadline>, StoreError> {
        let page = self
            .db
            .query()
            .table_name(&self.table)
            .index_name("ByAccount")
            .key_condition_expression(format!(
                "{ACCOUNT_KEY} = :account AND begins_with({ACCOUNT_SORT}, :prefix)"
            ))
            .expression_attribute_values(":account", s(keys::account_partition(account)))
            .expression_attribute_values(":prefix", s(keys::INVOICE_SORT_PREFIX))
            .named()
            .scan_index_forward(false)
            .limit(1)
            .send()
            .await
            .map_err(|e| StoreError::aws("Query", &e))?;
        let Some(item) = page.items().first() else {
            return Ok(None);
        };
        let what = format!("latest invoice of {account}");
        Ok(Some(InvoiceHeadline {
            number: read_s(item, codec::invoice::INVOICE_NUMBER, &what)?.to_owned(),
            issue_date: read_s(item, codec::invoice::ISSUE_DATE, &what)?
                .parse()
                .map_err(|_| StoreError::corrupt(&what, "issue_date is not a date"))?,
            total: read_s(item, codec::invoice::TOTAL, &what)?
                .parse()
                .map_err(|_| StoreError::corrupt(&what, "total is not a number"))?,
            currency: read_s(item, codec::invoice::CURRENCY, &what)?.to_owned(),
        }))
    }
}

impl BillingStore {
    /// Every invoice a run staged (one Query of the run's partition), in
    /// the order of its customer records.
    pub async fn run_invoices(&self, run_id: &str) -> Result<Vec<InvoiceId>, StoreError> {
        let items = self
            .query_prefix(keys::run_partition(run_id), keys::RUN_CUSTOMER_PREFIX)
            .await?;
        let mut ids = Vec::new();
        for item in &items {
            let customer: RunCustomer = crate::attributes::read_body(item, "run customer")?;
            ids.extend(customer.invoice_ids);
        }
        Ok(ids)
    }
}

impl BillingStore {
    /// Invoice runs, newest run date first; one Query on `ByAccount`.
    pub async fn run_page(&self, page: &Page) -> Result<Paged<crate::run::RunRecord>, StoreError> {
        let query = self
            .query()
            .index_name("ByAccount")
            .key_condition_expression(format!("{ACCOUNT_KEY} = :pk"))
            .expression_attribute_values(":pk", AttributeValue::S(keys::RUNS_PARTITION.into()))
            .scan_index_forward(false)
            .named();
        let (items, next) = query_page(query, (ACCOUNT_KEY, keys::RUNS_PARTITION), page).await?;
        Paged::read(&items, next, |item| {
            let id = read_s(item, codec::run::RUN_ID, "run")?;
            crate::run::read_run(Some(item), id)
        })
    }

    /// The customers a run could not bill, one Query on its partition.
    pub async fn run_failure_page(
        &self,
        run_id: &str,
        page: &Page,
    ) -> Result<Paged<RunFailure>, StoreError> {
        let partition = keys::run_partition(run_id);
        let (items, next) = self
            .prefix_page(&partition, keys::RUN_FAILED_PREFIX, page)
            .await?;
        Paged::read(&items, next, |item| read_body(item, "run failure"))
    }
}
