//! What the staff API reads: accounts by name, an account's contracts and
//! invoices, a seller's invoices, payments, credit, the review list, run
//! failures and the needs-attention list — every list one Query with
//! `Limit` (a page), every figure a series of such Queries.
//!
//! Invoice lists read the summary attributes kept beside each invoice body
//! (status, amounts, dunning level, delivery status), never the body, so the
//! `ByEntity` index projects only those and a page of 200 stays far below
//! DynamoDB's 1 MB response.

use aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder;
use aws_sdk_dynamodb::types::AttributeValue;
use billing_domain::dunning::InvoiceState;
use billing_domain::ids::{AccountId, BillingEntityId, InvoiceId};
use billing_domain::money::{Currency, Money};
use billing_domain::receivables::ReceivableInvoice;
use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

use crate::attributes::{Item, read_body, read_optional_s, read_s, read_time};
use crate::delivery::DeliveryStatus;
use crate::dunning::AttentionNote;
use crate::invoice::{DocumentStatus, InvoiceStatus};
use crate::page::{Page, Paged, query_page};
use crate::payment::{InvoicePayments, ReviewEntry, read_amount};
use crate::run::RunFailure;
use crate::{BillingStore, StoreError, VersionedAccount, VersionedSubscription, keys};

/// An invoice (or credit note) as staff lists show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InvoiceOverview {
    /// The invoice.
    pub invoice_id: InvoiceId,
    /// Its legal number.
    pub invoice_number: String,
    /// The customer.
    pub account_id: AccountId,
    /// The seller.
    pub billing_entity_id: BillingEntityId,
    /// UNTDID 1001 type code: `380` invoice, `381` credit note, `384`
    /// corrected invoice.
    pub document_type: String,
    /// Where it stands (`open`, `partially_paid`, `paid`, `cancelled`,
    /// `written_off`; a credit note `applied`).
    pub status: InvoiceStatus,
    /// Issue date.
    pub issue_date: NaiveDate,
    /// Due date.
    pub due_date: NaiveDate,
    /// Amount due.
    pub total: Money,
    /// What is still open.
    pub open_amount: Money,
    /// The day it was paid in full, if it was.
    pub paid_in_full_on: Option<NaiveDate>,
    /// Highest dunning level sent (0: none).
    pub dunning_level: u32,
    /// The e-mail's state, once delivery was attempted.
    pub delivery_status: Option<DeliveryStatus>,
    /// `pending` until PDF and XML are archived, then `archived`.
    pub document_status: Option<DocumentStatus>,
    /// Whether a dunning block is set.
    pub dunning_blocked: bool,
    /// Whether a dispute is flagged.
    pub disputed: bool,
    /// Handed over to collection on this day.
    pub collection_since: Option<NaiveDate>,
    /// Staff-write revision (ETag `"r<revision>"`).
    pub revision: u64,
}

impl InvoiceOverview {
    pub(crate) fn read(item: &Item, what: &str) -> Result<Self, StoreError> {
        // Amounts, dates and ids as payment booking reads them (credit notes
        // already deducted from what is open).
        let payments = InvoicePayments::read(item, what)?;
        let currency = payments.summary.amount_due.currency();
        let total = read_s(item, "total", what)?
            .parse()
            .map(|amount| Money::new(amount, currency))
            .map_err(|_| StoreError::corrupt(what, "total is not an amount"))?;
        let document_type = match item.get("document_type") {
            Some(AttributeValue::N(code) | AttributeValue::S(code)) => code.clone(),
            _ => "380".to_owned(),
        };
        let dunning_level = match item.get("dunning_level") {
            Some(AttributeValue::N(level)) => level
                .parse()
                .map_err(|_| StoreError::corrupt(what, "dunning_level is not a number"))?,
            _ => 0,
        };
        Ok(Self {
            invoice_id: payments.invoice_id,
            invoice_number: payments.number.to_string(),
            account_id: payments.account_id,
            billing_entity_id: payments.billing_entity_id,
            document_type,
            status: read_status(item, "status", what, InvoiceStatus::parse)?
                .ok_or_else(|| StoreError::corrupt(what, "status is missing"))?,
            issue_date: payments.issue_date,
            due_date: payments.due_date,
            total,
            open_amount: payments.summary.open,
            paid_in_full_on: payments.paid_in_full_on,
            dunning_level,
            delivery_status: read_status(item, "delivery_status", what, DeliveryStatus::parse)?,
            document_status: read_status(item, "document_status", what, DocumentStatus::parse)?,
            dunning_blocked: item.contains_key("dunning_block"),
            disputed: item.contains_key("dispute"),
            collection_since: read_optional_s(item, "collection_since")
                .map(|d| {
                    d.parse()
                        .map_err(|_| StoreError::corrupt(what, "collection_since is not a date"))
                })
                .transpose()?,
            revision: payments.revision,
        })
    }

    /// Open, paid or cancelled, for the domain's dunning rules (`overpaid`
    /// counts as paid).
    pub fn state(&self) -> InvoiceState {
        match self.status {
            InvoiceStatus::Open | InvoiceStatus::PartiallyPaid => InvoiceState::Open,
            InvoiceStatus::Cancelled => InvoiceState::Cancelled,
            // Nothing is to be collected on a written-off invoice any more.
            InvoiceStatus::Paid | InvoiceStatus::WrittenOff | InvoiceStatus::Applied => {
                InvoiceState::Paid
            }
        }
    }

    /// The facts payment behaviour and aging need; credit notes and
    /// cancelled invoices are no receivables.
    pub fn receivable(&self) -> ReceivableInvoice {
        ReceivableInvoice {
            account_id: self.account_id.clone(),
            issue_date: self.issue_date,
            due_date: self.due_date,
            open: self.open_amount,
            paid_in_full_on: self.paid_in_full_on,
            dunning_level: self.dunning_level,
            receivable: self.document_type == "380" && self.status != InvoiceStatus::Cancelled,
        }
    }
}

/// An optional status attribute read as its type; an unknown value is
/// corrupt data, not a new status to pass on.
fn read_status<T>(
    item: &Item,
    name: &str,
    what: &str,
    parse: fn(&str) -> Option<T>,
) -> Result<Option<T>, StoreError> {
    read_optional_s(item, name)
        .map(|stored| {
            parse(stored)
                .ok_or_else(|| StoreError::corrupt(what, format!("unknown {name} {stored}")))
        })
        .transpose()
}

/// Which invoices a list shows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InvoiceFilter {
    /// Only this status (applied after the page is read: a page may hold
    /// fewer than its limit, the cursor goes on).
    pub status: Option<InvoiceStatus>,
    /// Issued on or after.
    pub issued_from: Option<NaiveDate>,
    /// Issued on or before.
    pub issued_to: Option<NaiveDate>,
}

/// A booked payment on an invoice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PaymentRecord {
    /// Its id.
    pub payment_id: String,
    /// Positive: paid; negative: a return.
    pub amount: Money,
    /// The bank's value date (or the clerk's date for a manual payment).
    pub value_date: Option<NaiveDate>,
    /// How it was matched (`reference`, `amount`, `manual`, …).
    pub rule: Option<String>,
    /// Why it was booked like this.
    pub reason: Option<String>,
    /// The statement it came from, if any.
    pub statement_id: Option<String>,
    /// When it was booked.
    pub booked_at: Option<DateTime<Utc>>,
}

/// Customer credit on an account (the surplus of an overpayment, a credit
/// note's amount), and what happened to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CreditRecord {
    /// Its id (the sort key after `CREDIT#`).
    pub credit_id: String,
    /// The amount.
    pub amount: Money,
    /// When it arose.
    pub value_date: Option<NaiveDate>,
    /// Why.
    pub reason: Option<String>,
}

/// What kind of entry of the needs-attention list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AttentionKind {
    /// An invoice's e-mail failed, bounced or drew a complaint.
    Delivery,
    /// An invoice run could not bill a customer.
    RunFailure,
    /// An invoice was handed over to collection.
    Collection,
    /// A configuration or import warning (a missing base rate, a refused
    /// statement).
    Warning,
    /// A bank entry nobody could match (the payment review list).
    UnmatchedPayment,
}

impl AttentionKind {
    /// Every kind, in list order.
    pub const ALL: [AttentionKind; 5] = [
        AttentionKind::Delivery,
        AttentionKind::RunFailure,
        AttentionKind::Collection,
        AttentionKind::Warning,
        AttentionKind::UnmatchedPayment,
    ];

    /// The name in the API.
    pub fn as_str(self) -> &'static str {
        match self {
            AttentionKind::Delivery => "delivery",
            AttentionKind::RunFailure => "run_failure",
            AttentionKind::Collection => "collection",
            AttentionKind::Warning => "warning",
            AttentionKind::UnmatchedPayment => "unmatched_payment",
        }
    }

    /// The kind of an API name.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == name)
    }

    /// Partition and sort key of the entry `subject` of this kind.
    pub(crate) fn key(self, entity: &BillingEntityId, subject: &str) -> (String, String) {
        match self {
            AttentionKind::UnmatchedPayment => (
                review_partition(entity),
                format!("{REVIEW_PREFIX}{subject}"),
            ),
            kind => (
                keys::attention_partition(entity),
                format!("{}{subject}", kind.prefix()),
            ),
        }
    }

    fn prefix(self) -> &'static str {
        match self {
            AttentionKind::Delivery => keys::ATTENTION_PREFIX,
            AttentionKind::RunFailure => keys::ATTENTION_CUSTOMER_PREFIX,
            AttentionKind::Collection => "DUNNING#",
            AttentionKind::Warning => "WARNING#",
            AttentionKind::UnmatchedPayment => REVIEW_PREFIX,
        }
    }
}

/// One entry of the needs-attention list; `subject` names it for
/// resolving (`DELETE /v1/needs-attention/{kind}/{subject}`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AttentionItem {
    /// What kind of trouble.
    pub kind: AttentionKind,
    /// The entry's key within its kind.
    pub subject: String,
    /// The invoice concerned, if any.
    pub invoice_id: Option<String>,
    /// Its number.
    pub invoice_number: Option<String>,
    /// The customer concerned, if known.
    pub account_id: Option<String>,
    /// A status or code (`bounced`, `invalid_contract`, `base_rate_missing`).
    pub code: String,
    /// What happened and what to do.
    pub message: String,
    /// When it arose.
    pub since: DateTime<Utc>,
    /// The bank entry, for unmatched payments.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bank_entry: Option<ReviewEntry>,
}

const REVIEW_PREFIX: &str = "ENTRY#";

fn review_partition(entity: &BillingEntityId) -> String {
    format!("REVIEW#{entity}")
}

/// Marks a needs-attention cursor that continues in the review list.
const REVIEW_PHASE: &str = "review";

impl AttentionItem {
    pub(crate) fn read(kind: AttentionKind, item: &Item, what: &str) -> Result<Self, StoreError> {
        let sk = read_s(item, "sk", what)?;
        let subject = sk.strip_prefix(kind.prefix()).unwrap_or(sk).to_owned();
        let owned = |name: &str| read_optional_s(item, name).map(str::to_owned);
        Ok(match kind {
            AttentionKind::Delivery | AttentionKind::RunFailure => Self {
                kind,
                subject,
                invoice_id: owned("invoice_id"),
                invoice_number: owned("invoice_number"),
                account_id: owned("account_id"),
                code: match kind {
                    AttentionKind::RunFailure => read_s(item, "code", what)?.to_owned(),
                    _ => read_s(item, "status", what)?.to_owned(),
                },
                message: read_s(item, "reason", what)?.to_owned(),
                since: read_time(item, "since", what)?,
                bank_entry: None,
            },
            AttentionKind::Collection | AttentionKind::Warning => {
                let note: AttentionNote = read_body(item, what)?;
                Self {
                    kind,
                    subject,
                    invoice_id: note.invoice_id.map(|id| id.to_string()),
                    invoice_number: note.invoice_number,
                    account_id: owned("account_id"),
                    code: note.kind,
                    message: note.message,
                    since: note.since,
                    bank_entry: None,
                }
            }
            AttentionKind::UnmatchedPayment => {
                let entry: ReviewEntry = read_body(item, what)?;
                Self {
                    kind,
                    subject,
                    invoice_id: None,
                    invoice_number: None,
                    account_id: None,
                    code: "unmatched_payment".to_owned(),
                    message: entry.reason.clone(),
                    since: entry.since,
                    bank_entry: Some(entry),
                }
            }
        })
    }

    fn kind_of(sk: &str) -> Option<AttentionKind> {
        [
            AttentionKind::Delivery,
            AttentionKind::RunFailure,
            AttentionKind::Collection,
            AttentionKind::Warning,
        ]
        .into_iter()
        .find(|k| sk.starts_with(k.prefix()))
    }
}

/// A page of invoices that stops at `to` (inclusive) on the sort key.
fn invoice_range(filter: &InvoiceFilter) -> (String, String) {
    let from = match filter.issued_from {
        Some(day) => format!("INVOICE#{day}"),
        None => "INVOICE#".to_owned(),
    };
    let to = match filter.issued_to {
        Some(day) => format!("INVOICE#{day}#~"),
        None => "INVOICE#~".to_owned(),
    };
    (from, to)
}

impl BillingStore {
    /// A Query on the table or one of its indexes.
    fn staff_query(&self) -> QueryFluentBuilder {
        self.db.query().table_name(&self.table)
    }

    /// Accounts of `entity` whose name starts with `prefix` (case and
    /// spacing ignored), alphabetically; one Query on `ByAccount`.
    pub async fn search_accounts(
        &self,
        entity: &BillingEntityId,
        prefix: &str,
        page: &Page,
    ) -> Result<Paged<VersionedAccount>, StoreError> {
        let partition = keys::account_names(entity);
        let query = self
            .staff_query()
            .index_name("ByAccount")
            .key_condition_expression("account_key = :pk AND begins_with(account_sort, :prefix)")
            .expression_attribute_values(":pk", AttributeValue::S(partition.clone()))
            .expression_attribute_values(
                ":prefix",
                AttributeValue::S(format!(
                    "{}{}",
                    keys::ACCOUNT_NAME_PREFIX,
                    keys::normalized_name(prefix)
                )),
            );
        let (items, next) = query_page(query, ("account_key", &partition), page).await?;
        let accounts = items
            .iter()
            .map(|item| VersionedAccount::read(item, "account"))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Paged {
            items: accounts,
            next_cursor: next,
        })
    }

    /// The accounts of `entity` whose CRM id is `crm_id` (exact). The CRM
    /// id is kept in the account's body only, so this pages through the
    /// seller's account names (one Query per 200 accounts): its cost grows
    /// with the number of customers, never with invoices.
    pub async fn accounts_by_crm_id(
        &self,
        entity: &BillingEntityId,
        crm_id: &str,
    ) -> Result<Vec<VersionedAccount>, StoreError> {
        let mut found = Vec::new();
        let mut page = Page::first(crate::MAX_PAGE_LIMIT);
        loop {
            let accounts = self.search_accounts(entity, "", &page).await?;
            found.extend(
                accounts
                    .items
                    .into_iter()
                    .filter(|a| a.account.crm_id.as_str() == crm_id),
            );
            match accounts.next_cursor {
                Some(cursor) => page.cursor = Some(cursor),
                None => return Ok(found),
            }
        }
    }

    /// An account's contracts, one Query on its partition.
    pub async fn account_contracts(
        &self,
        account: &AccountId,
        page: &Page,
    ) -> Result<Paged<VersionedSubscription>, StoreError> {
        let partition = keys::account_partition(account);
        let query = self
            .staff_query()
            .key_condition_expression("pk = :pk AND begins_with(sk, :prefix)")
            .expression_attribute_values(":pk", AttributeValue::S(partition.clone()))
            .expression_attribute_values(
                ":prefix",
                AttributeValue::S(keys::SUBSCRIPTION_PREFIX.into()),
            )
            .consistent_read(true);
        let (items, next) = query_page(query, ("pk", &partition), page).await?;
        let what = format!("subscription of account {account}");
        Ok(Paged {
            items: items
                .iter()
                .map(|item| VersionedSubscription::read(item, &what))
                .collect::<Result<_, _>>()?,
            next_cursor: next,
        })
    }

    /// An account's invoices and credit notes, newest first; one Query on
    /// `ByAccount`.
    pub async fn account_invoices(
        &self,
        account: &AccountId,
        filter: &InvoiceFilter,
        page: &Page,
    ) -> Result<Paged<InvoiceOverview>, StoreError> {
        let partition = keys::account_partition(account);
        let query = self.invoice_query(
            "ByAccount",
            "account_key",
            "account_sort",
            &partition,
            filter,
        );
        let (items, next) = query_page(query, ("account_key", &partition), page).await?;
        Ok(Paged {
            items: read_overviews(&items)?,
            next_cursor: next,
        })
    }

    /// A seller's invoices and credit notes, newest first; one Query on
    /// `ByEntity`.
    pub async fn entity_invoices(
        &self,
        entity: &BillingEntityId,
        filter: &InvoiceFilter,
        page: &Page,
    ) -> Result<Paged<InvoiceOverview>, StoreError> {
        let partition = keys::entity_invoices(entity);
        let query = self.invoice_query("ByEntity", "entity_key", "entity_sort", &partition, filter);
        let (items, next) = query_page(query, ("entity_key", &partition), page).await?;
        Ok(Paged {
            items: read_overviews(&items)?,
            next_cursor: next,
        })
    }

    pub(crate) fn invoice_query(
        &self,
        index: &str,
        hash: &str,
        range: &str,
        partition: &str,
        filter: &InvoiceFilter,
    ) -> QueryFluentBuilder {
        let (from, to) = invoice_range(filter);
        let mut query = self
            .staff_query()
            .index_name(index)
            .key_condition_expression("#hash = :pk AND #range BETWEEN :from AND :to")
            .expression_attribute_names("#hash", hash)
            .expression_attribute_names("#range", range)
            .expression_attribute_values(":pk", AttributeValue::S(partition.to_owned()))
            .expression_attribute_values(":from", AttributeValue::S(from))
            .expression_attribute_values(":to", AttributeValue::S(to))
            .scan_index_forward(false);
        if let Some(status) = &filter.status {
            query = query
                .filter_expression("#status = :status")
                .expression_attribute_names("#status", "status")
                .expression_attribute_values(":status", AttributeValue::S(status.as_str().into()));
        }
        query
    }

    /// One invoice's summary (one GetItem), the same view the lists show.
    pub async fn invoice_overview(
        &self,
        id: &InvoiceId,
    ) -> Result<Option<InvoiceOverview>, StoreError> {
        let what = format!("invoice {id}");
        self.get(keys::invoice(id))
            .await?
            .as_ref()
            .filter(|item| read_optional_s(item, "status") != Some("unnumbered"))
            .map(|item| InvoiceOverview::read(item, &what))
            .transpose()
    }

    /// The open invoices of a seller in one currency (today's aging):
    /// Queries of 200 on the sparse `OpenInvoices` index, which holds only
    /// invoices with something open (`open_key`, kept by the writers that
    /// open, pay, settle, cancel or write off an invoice), so the cost
    /// follows what is open, not the seller's history. The status filter
    /// only guards against an item between two writes' views.
    pub async fn open_receivables(
        &self,
        entity: &BillingEntityId,
        currency: Currency,
    ) -> Result<Vec<InvoiceOverview>, StoreError> {
        let partition = keys::open_invoices(entity, currency.code());
        let mut all = Vec::new();
        let mut page = Page::first(crate::MAX_PAGE_LIMIT);
        loop {
            let query = self
                .staff_query()
                .index_name("OpenInvoices")
                .key_condition_expression("open_key = :pk")
                .expression_attribute_values(":pk", AttributeValue::S(partition.clone()))
                .filter_expression("#status IN (:open, :partly)")
                .expression_attribute_names("#status", "status")
                .expression_attribute_values(":open", AttributeValue::S("open".into()))
                .expression_attribute_values(":partly", AttributeValue::S("partially_paid".into()));
            let (items, next) = query_page(query, ("open_key", &partition), &page).await?;
            all.extend(read_overviews(&items)?);
            match next {
                Some(cursor) => page.cursor = Some(cursor),
                None => return Ok(all),
            }
        }
    }

    /// The payments booked on an invoice, one Query on its partition.
    pub async fn invoice_payment_page(
        &self,
        id: &InvoiceId,
        page: &Page,
    ) -> Result<Paged<PaymentRecord>, StoreError> {
        let partition = keys::invoice(id).0;
        let what = format!("payment of invoice {id}");
        let (items, next) = self.prefix_page(&partition, "PAYMENT#", page).await?;
        let records = items
            .iter()
            .map(|item| {
                Ok(PaymentRecord {
                    payment_id: read_s(item, "payment_id", &what)?.to_owned(),
                    amount: read_amount(item, &what)?,
                    value_date: read_optional_s(item, "value_date").and_then(|d| d.parse().ok()),
                    rule: read_optional_s(item, "rule").map(str::to_owned),
                    reason: read_optional_s(item, "reason").map(str::to_owned),
                    statement_id: read_optional_s(item, "statement_id").map(str::to_owned),
                    booked_at: crate::attributes::read_optional_time(item, "booked_at", &what)?,
                })
            })
            .collect::<Result<_, StoreError>>()?;
        Ok(Paged {
            items: records,
            next_cursor: next,
        })
    }

    /// The customer credit of an account, one Query on its partition.
    pub async fn account_credit_page(
        &self,
        account: &AccountId,
        page: &Page,
    ) -> Result<Paged<CreditRecord>, StoreError> {
        let partition = keys::account_partition(account);
        let what = format!("credit of account {account}");
        let (items, next) = self.prefix_page(&partition, "CREDIT#", page).await?;
        let records = items
            .iter()
            .map(|item| {
                let sk = read_s(item, "sk", &what)?;
                Ok(CreditRecord {
                    credit_id: sk.strip_prefix("CREDIT#").unwrap_or(sk).to_owned(),
                    amount: read_amount(item, &what)?,
                    value_date: read_optional_s(item, "value_date").and_then(|d| d.parse().ok()),
                    reason: read_optional_s(item, "reason").map(str::to_owned),
                })
            })
            .collect::<Result<_, StoreError>>()?;
        Ok(Paged {
            items: records,
            next_cursor: next,
        })
    }

    /// Invoice runs, newest run date first; one Query on `ByAccount`.
    pub async fn run_page(&self, page: &Page) -> Result<Paged<crate::run::RunRecord>, StoreError> {
        let query = self
            .staff_query()
            .index_name("ByAccount")
            .key_condition_expression("account_key = :pk")
            .expression_attribute_values(":pk", AttributeValue::S(keys::RUNS_PARTITION.into()))
            .scan_index_forward(false);
        let (items, next) = query_page(query, ("account_key", keys::RUNS_PARTITION), page).await?;
        let runs = items
            .iter()
            .map(|item| {
                let id = read_s(item, "run_id", "run")?;
                crate::run::read_run(Some(item), id)
            })
            .collect::<Result<_, _>>()?;
        Ok(Paged {
            items: runs,
            next_cursor: next,
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
        Ok(Paged {
            items: items
                .iter()
                .map(|item| read_body(item, "run failure"))
                .collect::<Result<_, _>>()?,
            next_cursor: next,
        })
    }

    /// The seller's needs-attention list: one kind, or all of them (the
    /// entity's attention partition, then the payment review list; the
    /// cursor says where a page stopped, so a page costs at most two Queries).
    pub async fn attention_page(
        &self,
        entity: &BillingEntityId,
        kind: Option<AttentionKind>,
        page: &Page,
    ) -> Result<Paged<AttentionItem>, StoreError> {
        match kind {
            Some(AttentionKind::UnmatchedPayment) => self.review_page(entity, page).await,
            Some(kind) => {
                let partition = keys::attention_partition(entity);
                let (items, next) = self.prefix_page(&partition, kind.prefix(), page).await?;
                Ok(Paged {
                    items: items
                        .iter()
                        .map(|item| AttentionItem::read(kind, item, "attention entry"))
                        .collect::<Result<_, _>>()?,
                    next_cursor: next,
                })
            }
            None => {
                if let Some(rest) = page
                    .cursor
                    .as_deref()
                    .and_then(|c| c.strip_prefix(REVIEW_PHASE))
                {
                    let inner = Page {
                        limit: page.limit,
                        cursor: rest.strip_prefix('.').map(str::to_owned),
                    };
                    return Ok(review_phase(self.review_page(entity, &inner).await?));
                }
                let partition = keys::attention_partition(entity);
                let query = self
                    .staff_query()
                    .key_condition_expression("pk = :pk")
                    .expression_attribute_values(":pk", AttributeValue::S(partition.clone()))
                    .consistent_read(true);
                let (items, next) = query_page(query, ("pk", &partition), page).await?;
                let mut entries = Vec::with_capacity(items.len());
                for item in &items {
                    let sk = read_s(item, "sk", "attention entry")?;
                    if let Some(kind) = AttentionItem::kind_of(sk) {
                        entries.push(AttentionItem::read(kind, item, "attention entry")?);
                    }
                }
                if next.is_some() {
                    return Ok(Paged {
                        items: entries,
                        next_cursor: next,
                    });
                }
                let room = page
                    .limit
                    .saturating_sub(u16::try_from(items.len()).unwrap_or(u16::MAX));
                if room == 0 {
                    return Ok(Paged {
                        items: entries,
                        next_cursor: Some(REVIEW_PHASE.to_owned()),
                    });
                }
                let review = review_phase(self.review_page(entity, &Page::first(room)).await?);
                entries.extend(review.items);
                Ok(Paged {
                    items: entries,
                    next_cursor: review.next_cursor,
                })
            }
        }
    }

    /// The payment review list as attention entries, one Query.
    async fn review_page(
        &self,
        entity: &BillingEntityId,
        page: &Page,
    ) -> Result<Paged<AttentionItem>, StoreError> {
        let partition = review_partition(entity);
        let (items, next) = self.prefix_page(&partition, REVIEW_PREFIX, page).await?;
        Ok(Paged {
            items: items
                .iter()
                .map(|item| {
                    AttentionItem::read(AttentionKind::UnmatchedPayment, item, "review entry")
                })
                .collect::<Result<_, _>>()?,
            next_cursor: next,
        })
    }

    /// One page of partition `pk` whose sort keys start with `prefix`.
    async fn prefix_page(
        &self,
        pk: &str,
        prefix: &str,
        page: &Page,
    ) -> Result<(Vec<Item>, Option<String>), StoreError> {
        let query = self
            .staff_query()
            .key_condition_expression("pk = :pk AND begins_with(sk, :prefix)")
            .expression_attribute_values(":pk", AttributeValue::S(pk.to_owned()))
            .expression_attribute_values(":prefix", AttributeValue::S(prefix.to_owned()))
            .consistent_read(true);
        query_page(query, ("pk", pk), page).await
    }
}

fn review_phase(paged: Paged<AttentionItem>) -> Paged<AttentionItem> {
    Paged {
        items: paged.items,
        next_cursor: paged.next_cursor.map(|c| format!("{REVIEW_PHASE}.{c}")),
    }
}

fn read_overviews(items: &[Item]) -> Result<Vec<InvoiceOverview>, StoreError> {
    items
        .iter()
        .map(|item| InvoiceOverview::read(item, "invoice"))
        .collect()
}
