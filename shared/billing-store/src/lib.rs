//! DynamoDB repositories for the billing table.
//!
//! The item layout and access patterns are documented in
//! `docs/architecture.md`; this crate is their single implementation. Every
//! read is a GetItem or Query, and every change that must happen together is
//! one `TransactWriteItems` whose conditions make a replay fail harmlessly,
//! sent through the transaction kernel (`transaction.rs`).
#![warn(missing_docs)]

mod attributes;
mod codec;

use codec::{ACCOUNT_KEY, ACCOUNT_SORT, Attr, Named, PK, SK};
pub mod error;
pub mod keys;
pub mod page;

mod account;
mod accounting;
mod attention;
pub mod audit;
mod collection;
mod correction;
mod counter;
mod delivery;
mod direct_debit_return;
mod dunning;
mod entity;
mod import;
mod invoice;
mod mandate;
mod opportunity;
mod payment;
mod receivables;
mod revenue;
pub mod run;
#[cfg(feature = "seeding")]
mod seed;
mod subscription;
mod transaction;

pub use account::VersionedAccount;
pub use accounting::{BookingPeriodRecord, ExportedFile, PeriodExport, PeriodStatus};
pub use attention::{AttentionItem, AttentionKind};
pub use audit::{Actor, AuditEntry};
pub use codec::credit::CreditKind;
pub use collection::{
    AwaitingCollection, BatchState, Claimed, CollectionBatch, CollectionCandidate,
    CollectionFileRecord, CollectionMember, CollectionScan, HandedOver,
};
pub use correction::{
    CancelRequest, CreditApplication, CreditNoteIssued, CreditNoteRequest, CreditRecord,
    CreditRefund, CreditRefunded, ManualPayment, StaffBooked,
};
pub use delivery::{
    AttentionEntry, DeliveryClaim, DeliveryRequest, DeliveryState, DeliveryStatus, Dispatch,
    LetterDeliveryRequest, OutcomeRecorded, Suppression, TroubleReport,
};
pub use direct_debit_return::{DirectDebitRejection, DirectDebitReturn, MandateBlocked};
pub use dunning::{
    AttentionNote, Dispute, DueInvoice, DueScan, DunningBlock, DunningState, LetterCommit,
    LetterInvoice, LetterRecorded, MAX_INVOICES_PER_LETTER, StoredLetter,
};
pub use error::StoreError;
pub use import::{AccountWrite, ImportWrite};
pub use invoice::change::{InvoiceChange, InvoiceForChange, WriteOff};
pub use invoice::overview::{InvoiceFilter, InvoiceOverview};
pub use invoice::{
    ArchivedDocument, DocumentFailure, DocumentStatus, DocumentsRecorded, InvoiceStatus,
    StoredInvoice,
};
pub use keys::{debtor_account_key, letter_key, period_key};
pub use mandate::StoredMandate;
pub use opportunity::{
    AccountChange, CommitOutcome, InvoiceSummary, OpportunityCommit, OpportunityKey,
    OpportunityOutcome, OpportunityRecord, ParkedCharges, SubscriptionChange,
};
pub use page::{MAX_PAGE_LIMIT, Page, Paged};
pub use payment::{
    EntryBooked, EntryBooking, InvoiceBooking, InvoicePayments, PaymentRecord, ReviewEntry,
    StatementRecord, payment_id, statement_key,
};
pub use receivables::{
    JournalInputs, RecordedCredit, RecordedCustomer, RecordedDocument, RecordedEvent,
    RecordedPayment, credit_notes_by_original,
};
pub use revenue::RevenueBasis;
pub use subscription::VersionedSubscription;

/// The billing table, reached through one DynamoDB client.
#[derive(Clone, Debug)]
pub struct BillingStore {
    db: aws_sdk_dynamodb::Client,
    table: String,
}

impl BillingStore {
    /// A store on `table` (the template's `BILLING_TABLE`).
    pub fn new(db: aws_sdk_dynamodb::Client, table: impl Into<String>) -> Self {
        Self {
            db,
            table: table.into(),
        }
    }

    /// The table's name, for diagnostics.
    pub fn table(&self) -> &str {
        &self.table
    }

    /// One item by key, read strongly consistent: every read here decides
    /// a write, so it must see the latest committed state.
    async fn get(&self, key: (String, String)) -> Result<Option<attributes::Item>, StoreError> {
        let output = self
            .db
            .get_item()
            .table_name(&self.table)
            .set_key(Some(attributes::key_item(key)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| StoreError::aws("GetItem", &e))?;
        Ok(output.item)
    }

    /// One item by key, strongly consistent, as `read` makes it (`None`:
    /// no such item): the one way a single stored item becomes its type.
    async fn get_as<T>(
        &self,
        key: (String, String),
        read: impl FnOnce(&attributes::Item) -> Result<T, StoreError>,
    ) -> Result<Option<T>, StoreError> {
        self.get(key).await?.as_ref().map(read).transpose()
    }

    /// Writes `item` whole, replacing what was there: for items whose last
    /// write wins (a seller's configuration, a payer link, a warning).
    async fn put(&self, item: attributes::Item) -> Result<(), StoreError> {
        self.db
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(|e| StoreError::aws("PutItem", &e))?;
        Ok(())
    }

    /// A Query on the table or one of its indexes.
    pub(crate) fn query(&self) -> aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder {
        self.db.query().table_name(&self.table)
    }

    /// An UpdateItem on the table.
    pub(crate) fn update_item(
        &self,
    ) -> aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder {
        self.db.update_item().table_name(&self.table)
    }

    /// Sends a conditional UpdateItem, its placeholders named: the output
    /// when it was written, `None` when its condition did not hold (the
    /// flow says what that means: someone got there first, the item moved
    /// on). The store's one single-item conditional write.
    pub(crate) async fn update_if(
        &self,
        update: aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder,
    ) -> Result<Option<aws_sdk_dynamodb::operation::update_item::UpdateItemOutput>, StoreError>
    {
        use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
        match update.named().send().await {
            Ok(output) => Ok(Some(output)),
            Err(err)
                if matches!(
                    err.as_service_error(),
                    Some(UpdateItemError::ConditionalCheckFailedException(_))
                ) =>
            {
                Ok(None)
            }
            Err(err) => Err(StoreError::aws("UpdateItem", &err)),
        }
    }

    /// One page of partition `pk` whose sort keys start with `prefix`.
    pub(crate) async fn prefix_page(
        &self,
        pk: &str,
        prefix: &str,
        page: &page::Page,
    ) -> Result<(Vec<attributes::Item>, Option<String>), StoreError> {
        let query = self
            .query()
            .key_condition_expression(format!("{PK} = :pk AND begins_with({SK}, :prefix)"))
            .expression_attribute_values(":pk", attributes::s(pk))
            .expression_attribute_values(":prefix", attributes::s(prefix))
            .consistent_read(true)
            .named();
        page::query_page(query, (PK, pk), page).await
    }

    /// Every item of partition `pk` whose sort key starts with `prefix`,
    /// strongly consistent, across pages.
    pub(crate) async fn query_prefix(
        &self,
        pk: String,
        prefix: &str,
    ) -> Result<Vec<attributes::Item>, StoreError> {
        self.query_all(pk, Some(prefix)).await
    }

    /// Every item of partition `pk`, strongly consistent, across pages.
    pub(crate) async fn query_partition(
        &self,
        pk: String,
    ) -> Result<Vec<attributes::Item>, StoreError> {
        self.query_all(pk, None).await
    }

    async fn query_all(
        &self,
        pk: String,
        prefix: Option<&str>,
    ) -> Result<Vec<attributes::Item>, StoreError> {
        let condition = match prefix {
            Some(_) => format!("{PK} = :pk AND begins_with({SK}, :prefix)"),
            None => format!("{PK} = :pk"),
        };
        let mut query = self
            .query()
            .key_condition_expression(condition)
            .expression_attribute_values(":pk", attributes::s(pk))
            .consistent_read(true);
        if let Some(prefix) = prefix {
            query = query.expression_attribute_values(":prefix", attributes::s(prefix));
        }
        Ok(self.query_pages(query.named()).await?.items)
    }

    /// Every item `query` finds, across its pages: the store's one paging
    /// loop (`query` is the query without its start key).
    pub(crate) async fn query_pages(
        &self,
        query: aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder,
    ) -> Result<QueryPages, StoreError> {
        let mut pages = QueryPages::default();
        let mut start = None;
        loop {
            let page = query
                .clone()
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| StoreError::aws("Query", &e))?;
            pages.requests += 1;
            pages.scanned += u64::try_from(page.scanned_count()).unwrap_or(0);
            pages.items.extend(page.items.unwrap_or_default());
            start = page.last_evaluated_key;
            if start.is_none() {
                return Ok(pages);
            }
        }
    }

    /// Every `ByAccount` entry of a customer whose sort key starts with
    /// `prefix` (`INVOICE#`, `LETTER#`, ...), across pages.
    pub(crate) async fn account_entries(
        &self,
        account: &billing_domain::ids::AccountId,
        prefix: &str,
    ) -> Result<Vec<attributes::Item>, StoreError> {
        let query = self
            .query()
            .index_name("ByAccount")
            .key_condition_expression(format!(
                "{ACCOUNT_KEY} = :a AND begins_with({ACCOUNT_SORT}, :p)"
            ))
            .expression_attribute_values(":a", attributes::s(keys::account_partition(account)))
            .expression_attribute_values(":p", attributes::s(prefix))
            .named();
        Ok(self.query_pages(query).await?.items)
    }

    /// The entries of a sharded "due" index (`DunningDue`, `CollectionDue`)
    /// whose sort key (a date, then `#` and more) is on or before `until`,
    /// across every shard.
    pub(crate) async fn due_index_entries(
        &self,
        index: &str,
        shard_attribute: Attr,
        shard_prefix: &str,
        at_attribute: Attr,
        until: chrono::NaiveDate,
    ) -> Result<QueryPages, StoreError> {
        let mut all = QueryPages::default();
        for shard in 0..keys::INDEX_SHARDS {
            let query = self
                .query()
                .index_name(index)
                .key_condition_expression(format!(
                    "{shard_attribute} = :shard AND {at_attribute} <= :until"
                ))
                .expression_attribute_values(
                    ":shard",
                    attributes::s(format!("{shard_prefix}{shard}")),
                )
                .expression_attribute_values(":until", attributes::s(format!("{until}~")))
                .named();
            let pages = self.query_pages(query).await?;
            all.requests += pages.requests;
            all.scanned += pages.scanned;
            all.items.extend(pages.items);
        }
        Ok(all)
    }
}

/// What a paged query read: its items, and what it cost (for the scans'
/// request counts in benchmarks and logs).
#[derive(Debug, Default)]
pub(crate) struct QueryPages {
    /// Every item found, in the order DynamoDB returned them.
    pub items: Vec<attributes::Item>,
    /// Query requests sent.
    pub requests: u64,
    /// Items DynamoDB read to answer them.
    pub scanned: u64,
}
