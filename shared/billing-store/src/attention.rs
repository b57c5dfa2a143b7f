//! The seller's needs-attention list (failed deliveries, run failures,
//! hand-overs to collection, warnings) and the payment review list read as
//! one list, and resolving its entries. The flows that raise an entry write
//! it (`delivery.rs`, `run.rs`, `dunning.rs`, `payment.rs`).

use aws_sdk_dynamodb::types::{AttributeValue, Delete, TransactWriteItem};
use billing_domain::ids::BillingEntityId;
use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::attributes::{Item, key_item, read_body, read_optional_s, read_s, read_time};
use crate::audit::AuditEntry;
use crate::codec::{self, Attr, Named, PK};
use crate::dunning::AttentionNote;
use crate::page::{Page, Paged, query_page};
use crate::payment::ReviewEntry;
use crate::transaction::Outcome;
use crate::{BillingStore, StoreError, keys};

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
                keys::review_partition(entity),
                format!("{}{subject}", keys::REVIEW_PREFIX),
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
            AttentionKind::Collection => keys::DUNNING_ATTENTION_PREFIX,
            AttentionKind::Warning => keys::WARNING_PREFIX,
            AttentionKind::UnmatchedPayment => keys::REVIEW_PREFIX,
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

/// Marks a needs-attention cursor that continues in the review list.
const REVIEW_PHASE: &str = "review";

impl AttentionItem {
    pub(crate) fn read(kind: AttentionKind, item: &Item, what: &str) -> Result<Self, StoreError> {
        let sk = read_s(item, codec::SK, what)?;
        let subject = sk.strip_prefix(kind.prefix()).unwrap_or(sk).to_owned();
        let owned = |name: Attr| read_optional_s(item, name).map(str::to_owned);
        Ok(match kind {
            AttentionKind::Delivery | AttentionKind::RunFailure => Self {
                kind,
                subject,
                invoice_id: owned(codec::attention::INVOICE_ID),
                invoice_number: owned(codec::attention::INVOICE_NUMBER),
                account_id: owned(codec::attention::ACCOUNT_ID),
                code: match kind {
                    AttentionKind::RunFailure => {
                        read_s(item, codec::attention::CODE, what)?.to_owned()
                    }
                    _ => read_s(item, codec::attention::STATUS, what)?.to_owned(),
                },
                message: read_s(item, codec::attention::REASON, what)?.to_owned(),
                since: read_time(item, codec::attention::SINCE, what)?,
                bank_entry: None,
            },
            AttentionKind::Collection | AttentionKind::Warning => {
                let note: AttentionNote = read_body(item, what)?;
                Self {
                    kind,
                    subject,
                    invoice_id: note.invoice_id.map(|id| id.to_string()),
                    invoice_number: note.invoice_number,
                    account_id: owned(codec::attention::ACCOUNT_ID),
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

impl BillingStore {
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
                Paged::read(&items, next, |item| {
                    AttentionItem::read(kind, item, "attention entry")
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
                    .query()
                    .key_condition_expression(format!("{PK} = :pk"))
                    .expression_attribute_values(":pk", AttributeValue::S(partition.clone()))
                    .consistent_read(true)
                    .named();
                let (items, next) = query_page(query, (PK, &partition), page).await?;
                let mut entries = Vec::with_capacity(items.len());
                for item in &items {
                    let sk = read_s(item, codec::SK, "attention entry")?;
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
        let partition = keys::review_partition(entity);
        let (items, next) = self
            .prefix_page(&partition, keys::REVIEW_PREFIX, page)
            .await?;
        Paged::read(&items, next, |item| {
            AttentionItem::read(AttentionKind::UnmatchedPayment, item, "review entry")
        })
    }

    /// Removes an entry from the seller's needs-attention list (the clerk
    /// dealt with it), with its audit entry; `NotFound` if it is not there.
    pub async fn resolve_attention(
        &self,
        entity: &BillingEntityId,
        kind: AttentionKind,
        subject: &str,
        audit: &AuditEntry,
    ) -> Result<(), StoreError> {
        let delete = Delete::builder()
            .table_name(&self.table)
            .set_key(Some(key_item(kind.key(entity, subject))))
            .condition_expression(format!("attribute_exists({PK})"))
            .named()
            .build()
            .map_err(|e| StoreError::corrupt("transaction item", e))?;
        let mut items = vec![TransactWriteItem::builder().delete(delete).build()];
        items.extend(audit.transact_items(&self.table)?);
        // Item 0 is the entry's delete: it was not there.
        match self.transact(items).await? {
            Outcome::Written => Ok(()),
            Outcome::Cancelled(cancelled) if cancelled.condition_failed(0) => {
                Err(StoreError::NotFound {
                    what: format!("{} entry {subject}", kind.as_str()),
                })
            }
            Outcome::Cancelled(cancelled) => Err(cancelled.into_error()),
        }
    }

    /// The item of an attention entry, to learn whom it concerns before it
    /// is resolved.
    pub async fn attention_entry(
        &self,
        entity: &BillingEntityId,
        kind: AttentionKind,
        subject: &str,
    ) -> Result<Option<crate::AttentionItem>, StoreError> {
        self.get_as(kind.key(entity, subject), |item| {
            crate::AttentionItem::read(kind, item, "attention entry")
        })
        .await
    }
}

fn review_phase(paged: Paged<AttentionItem>) -> Paged<AttentionItem> {
    Paged {
        items: paged.items,
        next_cursor: paged.next_cursor.map(|c| format!("{REVIEW_PHASE}.{c}")),
    }
}
