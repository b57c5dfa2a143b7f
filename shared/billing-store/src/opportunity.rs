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
use billing_domain::subscription::Subscription;
use chrono::{DateTime, FixedOffset, Utc};
use serde::{Deserialize, Serialize};

use crate::attributes::{body, key_item, n, read_body, s};
use crate::codec::{self, ItemAttributes, Named};
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
        Ok((draft.clone().finalize(number), key, last))
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
        record_item.put(codec::RECORD_TYPE, s("opportunity"));
        record_item.put(codec::BODY, body(record, "opportunity record")?);
        record_item.put(codec::opportunity::FINGERPRINT, s(&commit.fingerprint));
        parts.push(Part::Record);
        items.push(self.put_new(record_item)?);

        let account = commit.account.account();
        let mut account_item = codec::account::item(account, &now)?;
        match &commit.account {
            AccountChange::Create {
                source,
                crm_id,
                crm_last_modified,
                ..
            } => {
                account_item.put(codec::VERSION, n(1));
                account_item.put(
                    codec::account::CRM_LAST_MODIFIED,
                    s(crm_last_modified.to_rfc3339()),
                );
                parts.push(Part::Account);
                items.push(self.put_new(account_item)?);
                let (source_system, org) = source.split_once('/').unwrap_or((source, ""));
                let mut link = key_item(keys::crm_link(source_system, org, crm_id));
                link.put(codec::RECORD_TYPE, s("crm_link"));
                link.put(codec::account::ACCOUNT_ID, s(account.id.as_str()));
                parts.push(Part::CrmLink);
                items.push(self.put_new(link)?);
            }
            AccountChange::Update {
                expected_version,
                expected_revision,
                crm_last_modified,
                ..
            } => {
                account_item.put(
                    codec::account::CRM_LAST_MODIFIED,
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
                    .named()
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
                    .condition_expression(format!("{} = :expected", codec::VERSION))
                    .expression_attribute_values(":expected", n(*expected_version))
                    .named()
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
            items.push(self.put_new(codec::invoice::item(invoice, &now)?)?);
        }

        if let Some((batch_id, charges)) = &commit.parked {
            let mut pending = key_item(keys::pending_charges(&account.id, batch_id));
            pending.put(codec::RECORD_TYPE, s("pending_charges"));
            pending.put(codec::BODY, body(charges, "pending charges")?);
            pending.put(codec::subscription::LINE_COUNT, n(charges.len()));
            pending.put(codec::subscription::CREATED_AT, s(&now));
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
            let item =
                codec::subscription::item(subscription, &account.billing_entity_id, version, &now)?;
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
