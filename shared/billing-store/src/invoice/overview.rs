//! Invoices as staff lists show them: the summary attributes kept beside
//! each invoice body (status, amounts, dunning level, delivery status),
//! never the body, so the `ByEntity` index projects only those and a page
//! of 200 stays far below DynamoDB's 1 MB response.

use aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder;
use aws_sdk_dynamodb::types::AttributeValue;
use billing_domain::dunning::InvoiceState;
use billing_domain::ids::{AccountId, BillingEntityId, InvoiceId};
use billing_domain::money::{Currency, Money};
use billing_domain::numbering::DocumentType;
use billing_domain::receivables::ReceivableInvoice;
use chrono::NaiveDate;
use serde::Serialize;

use crate::attributes::{Item, read_named, read_optional_named, read_optional_s, read_s};
use crate::codec::invoice::{
    COLLECTION_SINCE, DELIVERY_STATUS, DISPUTE, DOCUMENT_STATUS, DUNNING_BLOCK, DUNNING_LEVEL,
    ENTITY_KEY, ENTITY_SORT, OPEN_KEY, STATUS, TOTAL,
};
use crate::codec::{ACCOUNT_KEY, ACCOUNT_SORT, Attr, ItemAttributes, Named};
use crate::delivery::DeliveryStatus;
use crate::invoice::{DocumentStatus, InvoiceStatus};
use crate::page::{Page, Paged, query_page};
use crate::payment::InvoicePayments;
use crate::{BillingStore, StoreError, keys};

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
    /// Invoice or credit note; the API shows its UNTDID 1001 code (`380`,
    /// `381`), as the e-invoice does.
    #[serde(serialize_with = "untdid_code")]
    pub document_type: DocumentType,
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
        let total = read_s(item, TOTAL, what)?
            .parse()
            .map(|amount| Money::new(amount, currency))
            .map_err(|_| StoreError::corrupt(what, "total is not an amount"))?;
        let dunning_level = match item.attr(DUNNING_LEVEL) {
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
            document_type: payments.document_type,
            status: read_named(item, STATUS, what, InvoiceStatus::parse)?,
            issue_date: payments.issue_date,
            due_date: payments.due_date,
            total,
            open_amount: payments.summary.open,
            paid_in_full_on: payments.paid_in_full_on,
            dunning_level,
            delivery_status: read_optional_named(
                item,
                DELIVERY_STATUS,
                what,
                DeliveryStatus::parse,
            )?,
            document_status: read_optional_named(
                item,
                DOCUMENT_STATUS,
                what,
                DocumentStatus::parse,
            )?,
            dunning_blocked: item.has(DUNNING_BLOCK),
            disputed: item.has(DISPUTE),
            collection_since: read_optional_s(item, COLLECTION_SINCE)
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
            receivable: self.document_type == DocumentType::Invoice
                && self.status != InvoiceStatus::Cancelled,
        }
    }
}

/// A document type as its UNTDID 1001 code, the form staff and the API
/// know from the e-invoice.
fn untdid_code<S: serde::Serializer>(kind: &DocumentType, to: S) -> Result<S::Ok, S::Error> {
    to.serialize_str(&kind.code().to_string())
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

impl BillingStore {
    /// An account's invoices and credit notes, newest first; one Query on
    /// `ByAccount`.
    pub async fn account_invoices(
        &self,
        account: &AccountId,
        filter: &InvoiceFilter,
        page: &Page,
    ) -> Result<Paged<InvoiceOverview>, StoreError> {
        let partition = keys::account_partition(account);
        let query = self.invoice_query("ByAccount", ACCOUNT_KEY, ACCOUNT_SORT, &partition, filter);
        let (items, next) = query_page(query, (ACCOUNT_KEY, &partition), page).await?;
        Paged::read(&items, next, |item| InvoiceOverview::read(item, "invoice"))
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
        let query = self.invoice_query("ByEntity", ENTITY_KEY, ENTITY_SORT, &partition, filter);
        let (items, next) = query_page(query, (ENTITY_KEY, &partition), page).await?;
        Paged::read(&items, next, |item| InvoiceOverview::read(item, "invoice"))
    }

    pub(crate) fn invoice_query(
        &self,
        index: &str,
        hash: Attr,
        range: Attr,
        partition: &str,
        filter: &InvoiceFilter,
    ) -> QueryFluentBuilder {
        let (from, to) = keys::invoice_sort_range(filter.issued_from, filter.issued_to);
        let mut query = self
            .query()
            .index_name(index)
            .key_condition_expression(format!("{hash} = :pk AND {range} BETWEEN :from AND :to"))
            .expression_attribute_values(":pk", AttributeValue::S(partition.to_owned()))
            .expression_attribute_values(":from", AttributeValue::S(from))
            .expression_attribute_values(":to", AttributeValue::S(to))
            .scan_index_forward(false);
        if let Some(status) = &filter.status {
            query = query
                .filter_expression(format!("{STATUS} = :status"))
                .expression_attribute_values(":status", AttributeValue::S(status.as_str().into()));
        }
        query.named()
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
            .filter(|item| read_optional_s(item, STATUS) != Some("unnumbered"))
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
                .query()
                .index_name("OpenInvoices")
                .key_condition_expression(format!("{OPEN_KEY} = :pk"))
                .expression_attribute_values(":pk", AttributeValue::S(partition.clone()))
                .filter_expression(format!("{STATUS} IN (:open, :partly)"))
                .expression_attribute_values(":open", AttributeValue::S("open".into()))
                .expression_attribute_values(":partly", AttributeValue::S("partially_paid".into()))
                .named();
            let (items, next) = query_page(query, (OPEN_KEY, &partition), &page).await?;
            all.extend(read_overviews(&items)?);
            match next {
                Some(cursor) => page.cursor = Some(cursor),
                None => return Ok(all),
            }
        }
    }
}

fn read_overviews(items: &[Item]) -> Result<Vec<InvoiceOverview>, StoreError> {
    items
        .iter()
        .map(|item| InvoiceOverview::read(item, "invoice"))
        .collect()
}
