//! SEPA direct-debit collections: invoices awaiting collection, the batch
//! that puts them into one `pain.008` file, and the file's hand-over.
//!
//! A direct-debit invoice is finalized with the sparse `CollectionDue`
//! index keys (`collection_shard`, `collection_at`). The collection step
//! gathers what is due, then, per seller, scheme and collection date:
//!
//! 1. puts the **batch item** `COLLECTION#<batch>` / `BATCH` with
//!    `attribute_not_exists(pk)`: the id is derived from seller, scheme and
//!    date, so a second run meets the first one's batch and joins it;
//! 2. **claims** invoices: per invoice `collection_batch` is set on the
//!    invoice (only if it has none) and a `MEMBER#<invoice>` item recording
//!    the file line is put, in one transaction with the batch item's member
//!    count raised under the condition that the batch is still `open`;
//! 3. **seals** the batch: `open` → `sealed` with the file's key, digest and
//!    totals, conditioned on the member count it read, so no claim can slip
//!    in between reading the members and sealing. From here the members
//!    are fixed: whoever writes the file writes the same bytes;
//! 4. the file is written to S3 (by the caller);
//! 5. **marks** the members collected (their index keys are removed, the
//!    mandate's last collection is recorded), then the batch `collected`.
//!
//! A crash anywhere leaves a batch a rerun finishes: an invoice is in at
//! most one batch, and a sealed batch's file is rewritten from its members,
//! never extended, so nothing is debited twice.

use std::collections::BTreeMap;

use aws_sdk_dynamodb::types::{AttributeValue, Update};
use billing_domain::direct_debit::{DirectDebitScheme, Mandate};
use billing_domain::ids::{AccountId, BillingEntityId, InvoiceId};
use billing_domain::invoice::Invoice;
use billing_domain::money::Money;
use billing_domain::party::Language;
use chrono::{DateTime, NaiveDate, Utc};
use futures_util::{StreamExt, TryStreamExt};
use serde::{Deserialize, Serialize};

use crate::attributes::{
    Item, body, key_item, n, read_body, read_optional_s, read_s, read_time, read_u64, s, time,
};
use crate::audit::Actor;
use crate::codec::collection::{
    BATCH_ID, BATCH_RECORD_TYPE, COLLECTION_FILE, DOWNLOADS, HANDED_OVER_AT, HANDED_OVER_BY,
    INVOICE_ID, MEMBERS, STATE,
};
use crate::codec::invoice::{
    BILLING_ENTITY_ID, COLLECTED_ON, COLLECTION_AT, COLLECTION_BATCH, COLLECTION_SHARD,
};
use crate::codec::{
    ACCOUNT_KEY, ACCOUNT_SORT, BODY, ItemAttributes, Named, PK, RECORD_TYPE, REVISION,
};
use crate::mandate::StoredMandate;
use crate::page::{Page, Paged, query_page};
use crate::payment::InvoicePayments;
use crate::transaction::{Outcome, Retry, transaction_update};
use crate::{BillingStore, StoreError, keys};

/// Invoices claimed per transaction: two items each (invoice, member) and
/// the batch item, within DynamoDB's 100 items.
const CLAIMS_PER_TRANSACTION: usize = 49;

/// Attempts of one collection write while it only loses races.
const ATTEMPTS: u32 = 10;

/// Customers marked collected at once (their requests in flight).
const WRITES_IN_FLIGHT: usize = 32;

/// An invoice the `CollectionDue` index lists (eventually consistent: the
/// invoice itself is read again before it is claimed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwaitingCollection {
    /// The invoice.
    pub invoice_id: InvoiceId,
    /// Its seller.
    pub billing_entity_id: BillingEntityId,
    /// The collection date it printed.
    pub collection_date: NaiveDate,
}

/// What a read of the `CollectionDue` index found.
#[derive(Debug, Clone, Default)]
pub struct CollectionScan {
    /// The invoices due, in index order.
    pub invoices: Vec<AwaitingCollection>,
    /// Query requests sent.
    pub requests: u64,
}

/// A due invoice as read strongly consistent before it is claimed.
#[derive(Debug, Clone)]
pub struct CollectionCandidate {
    /// The finalized invoice (its direct-debit notice names the mandate).
    pub invoice: Invoice,
    /// Its payment state: what is open, whether it was cancelled.
    pub payments: InvoicePayments,
    /// The batch that claimed it, if any.
    pub claimed_by: Option<String>,
}

/// One invoice in a collection file, as claimed: everything its file line
/// needs, so a file written again after a crash has the same bytes even if
/// the mandate changed meanwhile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CollectionMember {
    /// The invoice.
    pub invoice_id: InvoiceId,
    /// Its number (end-to-end id and remittance text).
    pub invoice_number: String,
    /// Its customer.
    pub account_id: AccountId,
    /// The stored mandate collected on.
    pub mandate_id: String,
    /// What is collected: the open amount when claimed.
    pub amount: Money,
    /// The invoice's language (remittance text).
    pub language: Language,
    /// The mandate as it was when claimed.
    pub mandate: Mandate,
}

/// Where a collection batch stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BatchState {
    /// Invoices may still be claimed.
    Open,
    /// Members fixed, file recorded; its invoices are being marked.
    Sealed,
    /// Every member is marked collected.
    Collected,
}

impl BatchState {
    fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Sealed => "sealed",
            Self::Collected => "collected",
        }
    }

    fn parse(text: &str, what: &str) -> Result<Self, StoreError> {
        match text {
            "open" => Ok(Self::Open),
            "sealed" => Ok(Self::Sealed),
            "collected" => Ok(Self::Collected),
            other => Err(StoreError::corrupt(what, format!("unknown state {other}"))),
        }
    }
}

/// The written file of a sealed batch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CollectionFileRecord {
    /// S3 key in the documents bucket.
    pub key: String,
    /// Hex SHA-256 of the file's bytes.
    pub sha256: String,
    /// `GrpHdr/MsgId`.
    pub message_id: String,
    /// Number of collections.
    pub transactions: u64,
    /// Sum of the collected amounts.
    pub control_sum: Money,
}

/// The first download of a file: from then on it is with the bank.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HandedOver {
    /// When it was first downloaded.
    pub at: DateTime<Utc>,
    /// Who downloaded it (the identity provider's user id).
    pub by: String,
}

/// The audit record of a file's download (the batch partition's
/// `AUDIT#…` items), in the order its body has always been written.
#[derive(Serialize)]
struct DownloadRecord<'a> {
    actor: &'a Actor,
    at: DateTime<Utc>,
    action: &'static str,
    batch_id: &'a str,
    download: u64,
}

/// The fixed facts of a batch, set when it is opened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct BatchFacts {
    batch_id: String,
    billing_entity_id: BillingEntityId,
    scheme: DirectDebitScheme,
    collection_date: NaiveDate,
    sent_on: NaiveDate,
    created_at: DateTime<Utc>,
}

/// One collection file's batch: one per seller, scheme and collection date.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CollectionBatch {
    /// Derived from seller, scheme and date ([`CollectionBatch::id`]).
    pub batch_id: String,
    /// The seller (creditor).
    pub billing_entity_id: BillingEntityId,
    /// CORE or B2B.
    pub scheme: DirectDebitScheme,
    /// The requested collection date.
    pub collection_date: NaiveDate,
    /// The seller's day the file is sent (checked against D-1).
    pub sent_on: NaiveDate,
    /// When the batch was opened; the file's `CreDtTm`, so a file written
    /// again has the same bytes.
    pub created_at: DateTime<Utc>,
    /// Open, sealed or collected.
    pub state: BatchState,
    /// Invoices claimed.
    pub members: u64,
    /// The file, once sealed.
    pub file: Option<CollectionFileRecord>,
    /// The first download, if any.
    pub handed_over: Option<HandedOver>,
    /// Downloads so far.
    pub downloads: u64,
}

impl CollectionBatch {
    /// The batch id of a seller's file for `scheme` on `collection_date`.
    pub fn id(
        entity: &BillingEntityId,
        scheme: DirectDebitScheme,
        collection_date: NaiveDate,
    ) -> String {
        keys::derived_id(
            "dd",
            &[entity.as_str(), scheme.code(), &collection_date.to_string()],
        )
    }

    /// A new, open batch (not stored yet).
    pub fn new(
        entity: &BillingEntityId,
        scheme: DirectDebitScheme,
        collection_date: NaiveDate,
        sent_on: NaiveDate,
        created_at: DateTime<Utc>,
    ) -> Self {
        Self {
            batch_id: Self::id(entity, scheme, collection_date),
            billing_entity_id: entity.clone(),
            scheme,
            collection_date,
            sent_on,
            created_at,
            state: BatchState::Open,
            members: 0,
            file: None,
            handed_over: None,
            downloads: 0,
        }
    }

    fn what(&self) -> String {
        format!("collection batch {}", self.batch_id)
    }

    /// The item as first put.
    fn item(&self) -> Result<Item, StoreError> {
        let what = self.what();
        let facts = BatchFacts {
            batch_id: self.batch_id.clone(),
            billing_entity_id: self.billing_entity_id.clone(),
            scheme: self.scheme,
            collection_date: self.collection_date,
            sent_on: self.sent_on,
            created_at: self.created_at,
        };
        let mut item = key_item(keys::collection_batch(&self.batch_id));
        item.put(RECORD_TYPE, s(BATCH_RECORD_TYPE));
        item.put(BODY, body(&facts, &what)?);
        item.put(BATCH_ID, s(&self.batch_id));
        item.put(STATE, s(self.state.as_str()));
        item.put(MEMBERS, n(self.members));
        item.put(DOWNLOADS, n(0));
        item.put(
            ACCOUNT_KEY,
            s(keys::collection_files(&self.billing_entity_id)),
        );
        item.put(
            ACCOUNT_SORT,
            s(keys::collection_file_sort(
                self.collection_date,
                &self.batch_id,
            )),
        );
        Ok(item)
    }

    fn read(item: &Item, what: &str) -> Result<Self, StoreError> {
        let facts: BatchFacts = read_body(item, what)?;
        let file = read_optional_s(item, COLLECTION_FILE)
            .map(|text| {
                serde_json::from_str(text)
                    .map_err(|e| StoreError::corrupt(what, format!("file: {e}")))
            })
            .transpose()?;
        let handed_over = match read_optional_s(item, HANDED_OVER_BY) {
            Some(by) => Some(HandedOver {
                at: read_time(item, HANDED_OVER_AT, what)?,
                by: by.to_owned(),
            }),
            None => None,
        };
        Ok(Self {
            batch_id: facts.batch_id,
            billing_entity_id: facts.billing_entity_id,
            scheme: facts.scheme,
            collection_date: facts.collection_date,
            sent_on: facts.sent_on,
            created_at: facts.created_at,
            state: BatchState::parse(read_s(item, STATE, what)?, what)?,
            members: read_u64(item, MEMBERS, what)?,
            file,
            handed_over,
            downloads: read_u64(item, DOWNLOADS, what)?,
        })
    }
}

/// What claiming a set of invoices did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Claimed {
    /// Invoices claimed now.
    pub claimed: Vec<InvoiceId>,
    /// Invoices another run (or batch) had claimed first: left alone.
    pub taken: Vec<InvoiceId>,
    /// Whether the batch was sealed meanwhile: what is not claimed waits
    /// for a later file.
    pub sealed: bool,
}

impl BillingStore {
    /// Direct-debit invoices of `entity` whose collection date is on or
    /// before `until`, read from every shard of the `CollectionDue` index.
    pub async fn collections_due(
        &self,
        entity: &BillingEntityId,
        until: NaiveDate,
    ) -> Result<CollectionScan, StoreError> {
        let entries = self
            .due_index_entries(
                "CollectionDue",
                COLLECTION_SHARD,
                keys::COLLECTION_SHARD_PREFIX,
                COLLECTION_AT,
                until,
            )
            .await?;
        let mut scan = CollectionScan {
            requests: entries.requests,
            ..CollectionScan::default()
        };
        for item in &entries.items {
            let what = "CollectionDue entry";
            let Some(id) = read_s(item, PK, what)?.strip_prefix(keys::INVOICE_PARTITION_PREFIX)
            else {
                continue;
            };
            let billing_entity_id = BillingEntityId::new(read_s(item, BILLING_ENTITY_ID, what)?);
            if &billing_entity_id != entity {
                continue;
            }
            let at = read_s(item, COLLECTION_AT, what)?;
            let collection_date = at
                .split('#')
                .next()
                .and_then(|day| day.parse().ok())
                .ok_or_else(|| StoreError::corrupt(what, "collection_at has no date"))?;
            scan.invoices.push(AwaitingCollection {
                invoice_id: InvoiceId::new(id),
                billing_entity_id,
                collection_date,
            });
        }
        Ok(scan)
    }

    /// A due invoice with its payment state, strongly consistent (the
    /// index may lag); `None` if it is gone or no longer awaits collection.
    pub async fn collection_candidate(
        &self,
        id: &InvoiceId,
    ) -> Result<Option<CollectionCandidate>, StoreError> {
        let what = format!("invoice {id}");
        let Some(item) = self.get(keys::invoice(id)).await? else {
            return Ok(None);
        };
        if !item.has(COLLECTION_SHARD) {
            return Ok(None);
        }
        Ok(Some(CollectionCandidate {
            invoice: read_body(&item, &what)?,
            payments: InvoicePayments::read(&item, &what)?,
            claimed_by: read_optional_s(&item, COLLECTION_BATCH).map(str::to_owned),
        }))
    }

    /// Takes an invoice with nothing left to collect (paid by transfer,
    /// cancelled, a zero total) out of the `CollectionDue` index, unless a
    /// batch claimed it meanwhile.
    pub async fn drop_from_collection(&self, id: &InvoiceId) -> Result<(), StoreError> {
        let update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key_item(keys::invoice(id))))
            .update_expression(format!("REMOVE {COLLECTION_SHARD}, {COLLECTION_AT}"))
            .condition_expression(format!(
                "attribute_exists({PK}) AND attribute_not_exists({COLLECTION_BATCH})"
            ))
            .named();
        match self.transact(vec![transaction_update(update)?]).await? {
            Outcome::Written => Ok(()),
            Outcome::Cancelled(cancelled) if cancelled.condition_failed(0) => Ok(()),
            Outcome::Cancelled(cancelled) => Err(cancelled.into_error()),
        }
    }

    /// Puts `batch` if no run did yet, and answers the stored batch (this
    /// one, or the one a concurrent or earlier run opened: its creation
    /// time and sending day win, so its file has the same bytes).
    pub async fn open_collection_batch(
        &self,
        batch: &CollectionBatch,
    ) -> Result<CollectionBatch, StoreError> {
        match self.transact(vec![self.put_new(batch.item()?)?]).await? {
            Outcome::Written => Ok(batch.clone()),
            Outcome::Cancelled(cancelled) if cancelled.condition_failed(0) => self
                .collection_batch(&batch.batch_id)
                .await?
                .ok_or_else(|| StoreError::NotFound { what: batch.what() }),
            Outcome::Cancelled(cancelled) => Err(cancelled.into_error()),
        }
    }

    /// A batch by id (strongly consistent).
    pub async fn collection_batch(
        &self,
        batch_id: &str,
    ) -> Result<Option<CollectionBatch>, StoreError> {
        let what = format!("collection batch {batch_id}");
        self.get_as(keys::collection_batch(batch_id), |item| {
            CollectionBatch::read(item, &what)
        })
        .await
    }

    /// Claims `members` for the batch: each invoice not claimed by any
    /// batch gets `collection_batch` and its member item, and the batch's
    /// count rises, in transactions conditioned on the batch being open.
    pub async fn claim_for_collection(
        &self,
        batch_id: &str,
        members: &[CollectionMember],
    ) -> Result<Claimed, StoreError> {
        let mut claimed = Claimed::default();
        for chunk in members.chunks(CLAIMS_PER_TRANSACTION) {
            let mut pending: Vec<&CollectionMember> = chunk.iter().collect();
            let mut retry = Retry::Attempts(ATTEMPTS).start();
            loop {
                if pending.is_empty() {
                    break;
                }
                if !retry.next().await {
                    return Err(retry.gave_up(format!("collection batch {batch_id}")));
                }
                let mut items = vec![transaction_update(
                    Update::builder()
                        .table_name(&self.table)
                        .set_key(Some(key_item(keys::collection_batch(batch_id))))
                        .update_expression(format!("SET {MEMBERS} = {MEMBERS} + :count"))
                        .condition_expression(format!("{STATE} = :open"))
                        .expression_attribute_values(":open", s(BatchState::Open.as_str()))
                        .expression_attribute_values(":count", n(pending.len()))
                        .named(),
                )?];
                for member in &pending {
                    items.push(transaction_update(
                        Update::builder()
                            .table_name(&self.table)
                            .set_key(Some(key_item(keys::invoice(&member.invoice_id))))
                            .update_expression(format!("SET {COLLECTION_BATCH} = :batch"))
                            .condition_expression(format!(
                                "attribute_exists({COLLECTION_SHARD}) AND attribute_not_exists({COLLECTION_BATCH})"
                            ))
                            .expression_attribute_values(":batch", s(batch_id))
                            .named(),
                    )?);
                    items.push(self.put_new(member_item(batch_id, member)?)?);
                }
                match self.transact(items).await? {
                    Outcome::Written => {
                        claimed
                            .claimed
                            .extend(pending.iter().map(|m| m.invoice_id.clone()));
                        break;
                    }
                    Outcome::Cancelled(cancelled) if cancelled.condition_failed(0) => {
                        claimed.sealed = true;
                        return Ok(claimed);
                    }
                    Outcome::Cancelled(cancelled) if cancelled.any_condition_failed() => {
                        // Item 1 + 2i is invoice i, 2 + 2i its member.
                        let mut kept = Vec::with_capacity(pending.len());
                        for (i, member) in pending.into_iter().enumerate() {
                            if cancelled.condition_failed(1 + 2 * i)
                                || cancelled.condition_failed(2 + 2 * i)
                            {
                                claimed.taken.push(member.invoice_id.clone());
                            } else {
                                kept.push(member);
                            }
                        }
                        pending = kept;
                    }
                    Outcome::Cancelled(cancelled) if cancelled.only_races(|_| false) => {}
                    Outcome::Cancelled(cancelled) => return Err(cancelled.into_error()),
                }
            }
        }
        Ok(claimed)
    }

    /// The batch's members in invoice-id order, strongly consistent.
    pub async fn collection_members(
        &self,
        batch_id: &str,
    ) -> Result<Vec<CollectionMember>, StoreError> {
        let (pk, _) = keys::collection_batch(batch_id);
        let what = format!("member of collection batch {batch_id}");
        self.query_prefix(pk, keys::COLLECTION_MEMBER_PREFIX)
            .await?
            .iter()
            .map(|item| read_body(item, &what))
            .collect()
    }

    /// Seals an open batch with its file, if its member count is still
    /// `members` (no claim came in since they were read). `false` when
    /// another run sealed it or claimed more: read again.
    pub async fn seal_collection_batch(
        &self,
        batch_id: &str,
        members: u64,
        file: &CollectionFileRecord,
    ) -> Result<bool, StoreError> {
        let what = format!("collection batch {batch_id}");
        let encoded = serde_json::to_string(file)
            .map_err(|e| StoreError::corrupt(&what, format!("file: {e}")))?;
        let update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key_item(keys::collection_batch(batch_id))))
            .update_expression(format!("SET {STATE} = :sealed, {COLLECTION_FILE} = :file"))
            .condition_expression(format!("{STATE} = :open AND {MEMBERS} = :members"))
            .expression_attribute_values(":sealed", s(BatchState::Sealed.as_str()))
            .expression_attribute_values(":open", s(BatchState::Open.as_str()))
            .expression_attribute_values(":members", n(members))
            .expression_attribute_values(":file", AttributeValue::S(encoded))
            .named();
        match self.transact(vec![transaction_update(update)?]).await? {
            Outcome::Written => Ok(true),
            Outcome::Cancelled(cancelled) if cancelled.condition_failed(0) => Ok(false),
            Outcome::Cancelled(cancelled) => Err(cancelled.into_error()),
        }
    }

    /// Marks a sealed batch's members collected: per customer one
    /// transaction records the collection date as the mandate's last
    /// collection (the 36-month lapse counts from it) and takes each
    /// invoice out of the `CollectionDue` index. Invoices marked by an
    /// earlier attempt are skipped. Then the batch is `collected`. Answers
    /// the invoices marked now.
    pub async fn mark_collected(
        &self,
        batch: &CollectionBatch,
        members: &[CollectionMember],
    ) -> Result<usize, StoreError> {
        let mut by_mandate: BTreeMap<(&AccountId, &str), Vec<&CollectionMember>> = BTreeMap::new();
        for member in members {
            by_mandate
                .entry((&member.account_id, member.mandate_id.as_str()))
                .or_default()
                .push(member);
        }
        // Customers are independent: their transactions go out together.
        let marked = futures_util::stream::iter(by_mandate)
            .map(|((account, mandate_id), invoices)| {
                self.mark_mandate_collected(batch, account, mandate_id, invoices)
            })
            .buffer_unordered(WRITES_IN_FLIGHT)
            .try_fold(0, |sum, marked| async move { Ok(sum + marked) })
            .await?;
        let update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key_item(keys::collection_batch(&batch.batch_id))))
            .update_expression(format!("SET {STATE} = :collected"))
            .condition_expression(format!("{STATE} IN (:sealed, :collected)"))
            .expression_attribute_values(":collected", s(BatchState::Collected.as_str()))
            .expression_attribute_values(":sealed", s(BatchState::Sealed.as_str()))
            .named();
        self.transact(vec![transaction_update(update)?])
            .await?
            .written()?;
        Ok(marked)
    }

    async fn mark_mandate_collected(
        &self,
        batch: &CollectionBatch,
        account: &AccountId,
        mandate_id: &str,
        invoices: Vec<&CollectionMember>,
    ) -> Result<usize, StoreError> {
        let what = format!("collection batch {} of account {account}", batch.batch_id);
        let mut pending = invoices;
        let mut retry = Retry::Attempts(ATTEMPTS).start();
        while retry.next().await {
            if pending.is_empty() {
                return Ok(0);
            }
            // The mandate as stored now (a clerk may have changed it since
            // the claim): its last collection moves forward, never back.
            let stored = self
                .get(keys::mandate(account, mandate_id))
                .await?
                .map(|item| StoredMandate::read(&item, &what))
                .transpose()?;
            let mut items = Vec::new();
            let mandate_first = match &stored {
                Some(stored)
                    if stored
                        .mandate
                        .last_collected_on
                        .is_none_or(|day| day < batch.collection_date) =>
                {
                    let mut next = stored.clone();
                    next.revision += 1;
                    next.mandate.last_collected_on = Some(batch.collection_date);
                    items.push(self.transaction_put(
                        next.item()?,
                        Some(&format!("{REVISION} = :expected")),
                        Some((":expected", n(stored.revision))),
                    )?);
                    true
                }
                _ => false,
            };
            let offset = usize::from(mandate_first);
            for member in &pending {
                items.push(transaction_update(
                    Update::builder()
                        .table_name(&self.table)
                        .set_key(Some(key_item(keys::invoice(&member.invoice_id))))
                        .update_expression(format!(
                            "SET {COLLECTED_ON} = :day REMOVE {COLLECTION_SHARD}, {COLLECTION_AT}"
                        ))
                        .condition_expression(format!(
                            "{COLLECTION_BATCH} = :batch AND attribute_exists({COLLECTION_SHARD})"
                        ))
                        .expression_attribute_values(":batch", s(&batch.batch_id))
                        .expression_attribute_values(":day", s(batch.collection_date.to_string()))
                        .named(),
                )?);
            }
            match self.transact(items).await? {
                Outcome::Written => return Ok(pending.len()),
                Outcome::Cancelled(cancelled) => {
                    let marked_before: Vec<bool> = (0..pending.len())
                        .map(|i| cancelled.condition_failed(offset + i))
                        .collect();
                    if marked_before.iter().any(|m| *m) {
                        pending = pending
                            .into_iter()
                            .zip(marked_before)
                            .filter(|(_, before)| !before)
                            .map(|(member, _)| member)
                            .collect();
                        continue;
                    }
                    // The mandate changed between reading and writing: read
                    // it again.
                    if !cancelled.only_races(|i| mandate_first && i == 0) {
                        return Err(cancelled.into_error());
                    }
                }
            }
        }
        Err(retry.gave_up(what))
    }

    /// A seller's collection files, newest collection date first.
    pub async fn collection_file_page(
        &self,
        entity: &BillingEntityId,
        page: &Page,
    ) -> Result<Paged<CollectionBatch>, StoreError> {
        let partition = keys::collection_files(entity);
        let query = self
            .db
            .query()
            .table_name(&self.table)
            .index_name("ByAccount")
            .key_condition_expression(format!("{ACCOUNT_KEY} = :pk"))
            .expression_attribute_values(":pk", s(&partition))
            .scan_index_forward(false)
            .named();
        let (items, next) = query_page(query, (ACCOUNT_KEY, &partition), page).await?;
        Paged::read(&items, next, |item| {
            CollectionBatch::read(item, "collection batch")
        })
    }

    /// Records a download of a written file by `actor`: the first one marks
    /// it handed over (to the bank, by the clerk), every one is counted and
    /// leaves an audit record in the batch's partition, in one transaction.
    /// A batch that is gone, of another seller, or not written yet is
    /// [`StoreError::NotFound`].
    pub async fn hand_over_collection_file(
        &self,
        entity: &BillingEntityId,
        batch_id: &str,
        actor: &Actor,
        at: DateTime<Utc>,
    ) -> Result<CollectionBatch, StoreError> {
        let what = format!("collection file {batch_id}");
        let mut retry = Retry::Attempts(ATTEMPTS).start();
        while retry.next().await {
            let batch = match self.collection_batch(batch_id).await? {
                Some(batch) if &batch.billing_entity_id == entity && batch.file.is_some() => batch,
                _ => return Err(StoreError::NotFound { what }),
            };
            let first = batch.handed_over.is_none();
            let mut update = Update::builder()
                .table_name(&self.table)
                .set_key(Some(key_item(keys::collection_batch(batch_id))))
                .condition_expression(format!("{DOWNLOADS} = :seen"))
                .expression_attribute_values(":seen", n(batch.downloads))
                .expression_attribute_values(":next", n(batch.downloads + 1));
            update = if first {
                update
                    .update_expression(format!(
                        "SET {DOWNLOADS} = :next, {HANDED_OVER_AT} = :at, {HANDED_OVER_BY} = :by"
                    ))
                    .expression_attribute_values(":at", time(at))
                    .expression_attribute_values(":by", s(&actor.user))
            } else {
                update.update_expression(format!("SET {DOWNLOADS} = :next"))
            };
            let update = update.named();
            let record = DownloadRecord {
                actor,
                at,
                action: if first {
                    "collection_file.hand_over"
                } else {
                    "collection_file.download"
                },
                batch_id,
                download: batch.downloads + 1,
            };
            let (pk, _) = keys::collection_batch(batch_id);
            let mut audit = key_item((
                pk,
                format!(
                    "{}{}#{:06}",
                    keys::COLLECTION_AUDIT_PREFIX,
                    at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                    batch.downloads + 1
                ),
            ));
            audit.put(RECORD_TYPE, s("audit"));
            audit.put(BODY, body(&record, "audit entry")?);
            let items = vec![transaction_update(update)?, self.put_new(audit)?];
            match self.transact(items).await? {
                Outcome::Written => {
                    // As stored (times to the millisecond).
                    return self
                        .collection_batch(batch_id)
                        .await?
                        .ok_or(StoreError::NotFound { what });
                }
                Outcome::Cancelled(cancelled) if cancelled.only_races(|_| true) => continue,
                Outcome::Cancelled(cancelled) => return Err(cancelled.into_error()),
            }
        }
        Err(retry.gave_up(what))
    }
}

fn member_item(batch_id: &str, member: &CollectionMember) -> Result<Item, StoreError> {
    let what = format!(
        "member {} of collection batch {batch_id}",
        member.invoice_id
    );
    let mut item = key_item(keys::collection_member(batch_id, &member.invoice_id));
    item.put(RECORD_TYPE, s("collection_member"));
    item.put(INVOICE_ID, s(member.invoice_id.as_str()));
    item.put(BODY, body(member, &what)?);
    Ok(item)
}
