//! Committing a closed opportunity: everything it changes, in one
//! transaction, exactly once.
//!
//! The transaction writes the opportunity record with
//! `attribute_not_exists`, so however often the CRM retries and however many
//! copies race, one commit wins and every other one learns that the
//! opportunity was already recorded. The invoice number is drawn from its
//! counter with a condition on the counter's current value inside the same
//! transaction, so numbers are sequential without gaps: a lost race draws
//! again instead of burning a number.

use tokio::time::Instant;

use aws_sdk_dynamodb::types::{ConditionCheck, TransactWriteItem};
use billing_domain::ids::{AccountId, InvoiceId, SubscriptionId};
use billing_domain::invoice::{Invoice, InvoiceDraft};
use billing_domain::item::PendingCharge;
use billing_domain::money::Money;
use billing_domain::numbering::DocumentType;
use billing_domain::numbering::{CounterKey, InvoiceNumber, NumberSeries};
use billing_domain::party::CustomerAccount;
use billing_domain::reference::CreditorReference;
use billing_domain::schedule::next_due_date;
use billing_domain::subscription::Subscription;
use chrono::{DateTime, FixedOffset, Utc};
use serde::{Deserialize, Serialize};

use crate::attributes::{Item, body, key_item, n, read_body, s};
use crate::transaction::{Outcome, Retry};
use crate::{BillingStore, StoreError, keys};

/// Identifies an opportunity across retries: the CRM it came from and its id there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpportunityKey {
    /// Source system and org, e.g. `salesforce/00D5g000004XyZ`.
    pub source: String,
    /// The CRM's opportunity id.
    pub opportunity_id: String,
}

/// The invoice an opportunity produced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvoiceSummary {
    /// Storage id.
    pub invoice_id: InvoiceId,
    /// Legal number.
    pub number: InvoiceNumber,
    /// Invoice or credit note.
    pub document_type: DocumentType,
    /// Gross total (amount due).
    pub total: Money,
}

/// One-off charges parked for the account's next recurring invoice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParkedCharges {
    /// The pending-charges item's id.
    pub batch_id: String,
    /// How many lines wait.
    pub line_count: usize,
}

/// What processing an opportunity did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpportunityOutcome {
    /// The customer's account.
    pub account_id: AccountId,
    /// The invoice, when one-off items were invoiced now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invoice: Option<InvoiceSummary>,
    /// Parked one-off items, when billed with the next run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parked: Option<ParkedCharges>,
    /// The contract created or extended by recurring items.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subscription_id: Option<SubscriptionId>,
}

/// The permanent record that an opportunity was processed, and how.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpportunityRecord {
    /// Which opportunity.
    pub key: OpportunityKey,
    /// Hash of the billing-relevant content; a later request with another
    /// fingerprint is a change after the fact (a conflict), not a retry.
    pub fingerprint: String,
    /// What was done.
    pub outcome: OpportunityOutcome,
    /// When it was committed.
    pub recorded_at: DateTime<Utc>,
}

/// The account part of a commit.
#[derive(Debug, Clone, PartialEq)]
pub enum AccountChange {
    /// First sight of this CRM account: create it and its CRM link.
    Create {
        /// The new account.
        account: CustomerAccount,
        /// Source system and org of the CRM link.
        source: String,
        /// The CRM's account id.
        crm_id: String,
        /// The CRM's modification time of this data.
        crm_last_modified: DateTime<FixedOffset>,
    },
    /// Refresh a known account from the CRM's data.
    Update {
        /// The account as it should be.
        account: CustomerAccount,
        /// The version read; a concurrent change makes the commit stale.
        expected_version: u64,
        /// The staff revision read; a staff write since makes the commit
        /// stale, and the refreshed account carries `revision + 1`.
        expected_revision: u64,
        /// The CRM's modification time of this data, so that a late,
        /// older delivery never overwrites newer data.
        crm_last_modified: DateTime<FixedOffset>,
    },
    /// The account is as stored (or the CRM's data is older): only check
    /// that it did not change meanwhile, without rewriting it.
    Unchanged {
        /// The stored account.
        account: CustomerAccount,
        /// The version read.
        expected_version: u64,
    },
}

impl AccountChange {
    fn account(&self) -> &CustomerAccount {
        match self {
            AccountChange::Create { account, .. }
            | AccountChange::Update { account, .. }
            | AccountChange::Unchanged { account, .. } => account,
        }
    }
}

/// The contract part of a commit.
#[derive(Debug, Clone, PartialEq)]
pub enum SubscriptionChange {
    /// A new contract.
    Create(Subscription),
    /// An amended contract (new items, changed quantities).
    Update {
        /// The contract as it should be.
        subscription: Subscription,
        /// The version read.
        expected_version: u64,
    },
}

impl SubscriptionChange {
    fn subscription(&self) -> &Subscription {
        match self {
            SubscriptionChange::Create(subscription)
            | SubscriptionChange::Update { subscription, .. } => subscription,
        }
    }
}

/// Everything one opportunity changes.
#[derive(Debug, Clone, PartialEq)]
pub struct OpportunityCommit {
    /// Which opportunity.
    pub key: OpportunityKey,
    /// Fingerprint of its billing-relevant content.
    pub fingerprint: String,
    /// Create or refresh the account.
    pub account: AccountChange,
    /// A one-off invoice to number and store now, with its series.
    pub invoice: Option<(InvoiceDraft, NumberSeries)>,
    /// One-off charges to park, under this batch id.
    pub parked: Option<(String, Vec<PendingCharge>)>,
    /// A contract to create or amend.
    pub subscription: Option<SubscriptionChange>,
    /// Commit time.
    pub recorded_at: DateTime<Utc>,
}

/// How a commit ended.
#[derive(Debug, Clone, PartialEq)]
pub enum CommitOutcome {
    /// Written; this is the record.
    Committed(OpportunityRecord),
    /// Another request had already recorded this opportunity; nothing was
    /// written. Compare fingerprints to tell a retry from a change.
    AlreadyRecorded(OpportunityRecord),
    /// The account or contract changed while this commit was built; nothing
    /// was written. Re-read and build again.
    Stale,
}

/// Which part of the transaction an item is, to read cancellation reasons.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Part {
    Record,
    Account,
    CrmLink,
    Counter,
    Invoice,
    Pending,
    Subscription,
}

impl BillingStore {
    /// The record of an opportunity, if it was processed.
    pub async fn opportunity(
        &self,
        key: &OpportunityKey,
    ) -> Result<Option<OpportunityRecord>, StoreError> {
        let what = format!("opportunity {}/{}", key.source, key.opportunity_id);
        let output = self
            .get(keys::opportunity(&key.source, &key.opportunity_id))
            .await?;
        output
            .as_ref()
            .map(|item| read_body(item, &what))
            .transpose()
    }

    /// Write everything an opportunity changes, all or nothing. Races for
    /// the number counter are retried until `deadline`, which the caller
    /// keeps inside its own time limit (an answer beats a timeout).
    pub async fn commit_opportunity(
        &self,
        commit: &OpportunityCommit,
        deadline: Instant,
    ) -> Result<CommitOutcome, StoreError> {
        let mut retry = Retry::Until(deadline).start();
        while retry.next().await {
            let numbered = match &commit.invoice {
                Some((draft, series)) => Some(self.number(draft, series).await?),
                None => None,
            };
            let record = OpportunityRecord {
                key: commit.key.clone(),
                fingerprint: commit.fingerprint.clone(),
                outcome: OpportunityOutcome {
                    account_id: commit.account.account().id.clone(),
                    invoice: numbered.as_ref().map(|(invoice, _, _)| InvoiceSummary {
                        invoice_id: invoice.content().id.clone(),
                        number: invoice.number().clone(),
                        document_type: invoice.content().document_type,
                        total: invoice.amount_due(),
                    }),
                    parked: commit
                        .parked
                        .as_ref()
                        .map(|(batch_id, charges)| ParkedCharges {
                            batch_id: batch_id.clone(),
                            line_count: charges.len(),
                        }),
                    subscription_id: commit
                        .subscription
                        .as_ref()
                        .map(|change| change.subscription().id.clone()),
                },
                recorded_at: commit.recorded_at,
            };
            let (parts, items) = self.transaction(commit, &record, numbered.as_ref())?;
            let cancelled = match self.transact(items).await? {
                Outcome::Written => return Ok(CommitOutcome::Committed(record)),
                Outcome::Cancelled(cancelled) => cancelled,
            };
            let failed_part = |part: Part| {
                parts
                    .iter()
                    .enumerate()
                    .any(|(index, p)| *p == part && cancelled.condition_failed(index))
            };
            if failed_part(Part::Record) {
                let stored = self.opportunity(&commit.key).await?.ok_or_else(|| {
                    StoreError::corrupt(
                        format!("opportunity {}", commit.key.opportunity_id),
                        "its condition failed but it cannot be read",
                    )
                })?;
                return Ok(CommitOutcome::AlreadyRecorded(stored));
            }
            if [
                Part::Account,
                Part::CrmLink,
                Part::Subscription,
                Part::Pending,
                Part::Invoice,
            ]
            .into_iter()
            .any(failed_part)
            {
                return Ok(CommitOutcome::Stale);
            }
            // The counter moved or a concurrent transaction held an item:
            // draw again.
            if !cancelled.only_races(|index| parts.get(index) == Some(&Part::Counter)) {
                return Err(cancelled.into_error());
            }
        }
        Err(retry.gave_up("invoice number counter"))
    }

    /// Finalize a draft with the next number of its series.
    async fn number(
        &self,
        draft: &InvoiceDraft,
        series: &NumberSeries,
    ) -> Result<(Invoice, CounterKey, u64), StoreError> {
        let key = series.counter_key(&draft.billing_entity_id, draft.issue_date);
        let last = self.counter_value(&key).await?;
        let number = series
            .format(draft.issue_date, last + 1)
            .map_err(|e| StoreError::corrupt(format!("counter {}", key.storage_key()), e))?;
        Ok((finalize(draft.clone(), number), key, last))
    }

    fn transaction(
        &self,
        commit: &OpportunityCommit,
        record: &OpportunityRecord,
        numbered: Option<&(Invoice, CounterKey, u64)>,
    ) -> Result<(Vec<Part>, Vec<TransactWriteItem>), StoreError> {
        let mut parts = Vec::new();
        let mut items = Vec::new();
        let now = commit.recorded_at.to_rfc3339();

        let mut record_item = key_item(keys::opportunity(
            &commit.key.source,
            &commit.key.opportunity_id,
        ));
        record_item.insert("record_type".into(), s("opportunity"));
        record_item.insert("body".into(), body(record, "opportunity record")?);
        record_item.insert("fingerprint".into(), s(&commit.fingerprint));
        parts.push(Part::Record);
        items.push(self.put_new(record_item)?);

        let account = commit.account.account();
        let mut account_item = key_item(keys::account(&account.id));
        account_item.insert("record_type".into(), s("account"));
        account_item.insert("account_id".into(), s(account.id.as_str()));
        account_item.insert("body".into(), body(account, "account")?);
        account_item.insert("updated_at".into(), s(&now));
        account_item.extend(name_index(account));
        match &commit.account {
            AccountChange::Create {
                source,
                crm_id,
                crm_last_modified,
                ..
            } => {
                account_item.insert("version".into(), n(1));
                account_item.insert(
                    "crm_last_modified".into(),
                    s(crm_last_modified.to_rfc3339()),
                );
                parts.push(Part::Account);
                items.push(self.put_new(account_item)?);
                let (source_system, org) = source.split_once('/').unwrap_or((source, ""));
                let mut link = key_item(keys::crm_link(source_system, org, crm_id));
                link.insert("record_type".into(), s("crm_link"));
                link.insert("account_id".into(), s(account.id.as_str()));
                parts.push(Part::CrmLink);
                items.push(self.put_new(link)?);
            }
            AccountChange::Update {
                expected_version,
                expected_revision,
                crm_last_modified,
                ..
            } => {
                account_item.insert(
                    "crm_last_modified".into(),
                    s(crm_last_modified.to_rfc3339()),
                );
                let (condition, values) = crate::account::replace_account(
                    &mut account_item,
                    *expected_version,
                    *expected_revision,
                );
                let put = aws_sdk_dynamodb::types::Put::builder()
                    .table_name(&self.table)
                    .set_item(Some(account_item))
                    .condition_expression(condition)
                    .set_expression_attribute_values(Some(values))
                    .build()
                    .map_err(|e| StoreError::corrupt("transaction item", e))?;
                parts.push(Part::Account);
                items.push(TransactWriteItem::builder().put(put).build());
            }
            AccountChange::Unchanged {
                expected_version, ..
            } => {
                let check = ConditionCheck::builder()
                    .table_name(&self.table)
                    .set_key(Some(key_item(keys::account(&account.id))))
                    .condition_expression("version = :expected")
                    .expression_attribute_values(":expected", n(*expected_version))
                    .build()
                    .map_err(|e| StoreError::corrupt("transaction item", e))?;
                parts.push(Part::Account);
                items.push(TransactWriteItem::builder().condition_check(check).build());
            }
        }

        if let Some((invoice, counter_key, last)) = numbered {
            parts.push(Part::Counter);
            items.push(self.advance_counter(counter_key, *last, last + 1)?);
            parts.push(Part::Invoice);
            items.push(self.put_new(invoice_item(invoice, &now)?)?);
        }

        if let Some((batch_id, charges)) = &commit.parked {
            let mut pending = key_item(keys::pending_charges(&account.id, batch_id));
            pending.insert("record_type".into(), s("pending_charges"));
            pending.insert("body".into(), body(charges, "pending charges")?);
            pending.insert("line_count".into(), n(charges.len()));
            pending.insert("created_at".into(), s(&now));
            parts.push(Part::Pending);
            items.push(self.put_new(pending)?);
        }

        if let Some(change) = &commit.subscription {
            let subscription = change.subscription();
            let version = match change {
                SubscriptionChange::Create(_) => 1,
                SubscriptionChange::Update {
                    expected_version, ..
                } => expected_version + 1,
            };
            let item = subscription_item(subscription, &account.billing_entity_id, version, &now)?;
            parts.push(Part::Subscription);
            items.push(match change {
                SubscriptionChange::Create(_) => self.put_new(item)?,
                SubscriptionChange::Update {
                    expected_version, ..
                } => self.put_versioned(item, *expected_version)?,
            });
        }
        Ok((parts, items))
    }
}

/// A draft with its number, paid by an ISO 11649 reference derived from
/// the number (the number itself when it is too long for one): the one
/// finalization of the webhook and the invoice run.
pub(crate) fn finalize(mut draft: InvoiceDraft, number: InvoiceNumber) -> Invoice {
    if draft.references.payment_reference.is_none() {
        draft.references.payment_reference = CreditorReference::for_invoice_number(&number)
            .ok()
            .map(String::from);
    }
    draft.finalize(number)
}

/// The stored invoice with every index key it is found by.
pub(crate) fn invoice_item(invoice: &Invoice, now: &str) -> Result<Item, StoreError> {
    let content = invoice.content();
    let number = invoice.number().to_string();
    let mut item = key_item(keys::invoice(&content.id));
    item.insert("record_type".into(), s("invoice"));
    item.insert("body".into(), body(invoice, "invoice")?);
    item.insert("invoice_id".into(), s(content.id.as_str()));
    item.insert("invoice_number".into(), s(&number));
    item.insert("document_type".into(), n(content.document_type.code()));
    item.insert(
        "billing_entity_id".into(),
        s(content.billing_entity_id.as_str()),
    );
    item.insert("account_id".into(), s(content.buyer.id.as_str()));
    item.insert("status".into(), s("open"));
    item.insert("document_status".into(), s("pending"));
    item.insert("issue_date".into(), s(content.issue_date.to_string()));
    item.insert("due_date".into(), s(content.due_date.to_string()));
    item.insert("total".into(), s(invoice.amount_due().amount().to_string()));
    item.insert("currency".into(), s(content.currency.code()));
    item.insert("created_at".into(), s(now));
    item.insert(
        "account_key".into(),
        s(keys::account_partition(&content.buyer.id)),
    );
    item.insert(
        "account_sort".into(),
        s(keys::account_invoice_sort(content.issue_date, &content.id)),
    );
    item.insert(
        "invoice_number_key".into(),
        s(keys::invoice_number(&content.billing_entity_id, &number)),
    );
    let reference = content
        .references
        .payment_reference
        .clone()
        .unwrap_or_else(|| number.clone());
    item.insert("payment_reference".into(), s(reference));
    item.insert(
        "entity_key".into(),
        s(keys::entity_invoices(&content.billing_entity_id)),
    );
    item.insert(
        "entity_sort".into(),
        s(keys::account_invoice_sort(content.issue_date, &content.id)),
    );
    if content.document_type == DocumentType::Invoice {
        // Open until paid: in the seller's open invoices (today's aging).
        item.insert(
            "open_key".into(),
            s(keys::open_invoices(
                &content.billing_entity_id,
                content.currency.code(),
            )),
        );
        // Open invoices are looked at by the dunning sweep from their due date.
        let (shard, at) = keys::dunning_due(&content.id, content.due_date);
        item.insert("dunning_shard".into(), s(shard));
        item.insert("dunning_at".into(), s(at));
        // A direct-debit invoice waits in the sparse `CollectionDue` index
        // until the collection step puts it into a file.
        if let Some(notice) = &content.direct_debit {
            let (shard, at) = keys::collection_due(&content.id, notice.collection_date);
            item.insert("collection_shard".into(), s(shard));
            item.insert("collection_at".into(), s(at));
        }
    }
    Ok(item)
}

/// The name-search index attributes of an account item (see
/// [`keys::account_name_index`]); every account writer adds them.
pub(crate) fn name_index(
    account: &billing_domain::party::CustomerAccount,
) -> impl Iterator<Item = (String, aws_sdk_dynamodb::types::AttributeValue)> {
    keys::account_name_index(&account.billing_entity_id, &account.name, &account.id)
        .into_iter()
        .map(|(name, value)| (name, s(value)))
}

/// The stored contract, carrying the due-index keys of its next due date
/// (none once it has nothing left to bill, which drops it from the index).
pub(crate) fn subscription_item(
    subscription: &Subscription,
    billing_entity_id: &billing_domain::ids::BillingEntityId,
    version: u64,
    now: &str,
) -> Result<Item, StoreError> {
    let what = format!("subscription {}", subscription.id);
    let mut item = key_item(keys::subscription(
        &subscription.account_id,
        &subscription.id,
    ));
    item.insert("record_type".into(), s("subscription"));
    item.insert("body".into(), body(subscription, &what)?);
    item.insert("version".into(), n(version));
    item.insert("subscription_id".into(), s(subscription.id.as_str()));
    item.insert("account_id".into(), s(subscription.account_id.as_str()));
    item.insert("billing_entity_id".into(), s(billing_entity_id.as_str()));
    item.insert("updated_at".into(), s(now));
    if let Some(date) = next_due_date(subscription).map_err(|e| StoreError::corrupt(&what, e))? {
        let (shard, at) = keys::due_subscription(&subscription.account_id, &subscription.id, date);
        item.insert("due_shard".into(), s(shard));
        item.insert("due_at".into(), s(at));
    }
    Ok(item)
}
