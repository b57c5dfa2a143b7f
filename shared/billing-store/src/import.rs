//! Operator imports (`billing-admin`): accounts and contracts from files.
//!
//! Each item is one conditional PutItem on what the importer read: absent
//! for a new item, the stored `version` for an amendment. An import may hold
//! thousands of items, far more than one TransactWriteItems takes (100), so
//! it is not atomic at the storage level; the importer validates the whole
//! file first and writes only when nothing was refused. If AWS fails
//! half-way, the items written so far are complete and re-running the same
//! file is safe: written items compare unchanged and are skipped, the rest
//! are written. A concurrent change (the webhook amending the same contract)
//! is never overwritten: the put fails its condition and is reported stale.

use aws_sdk_dynamodb::operation::put_item::PutItemError;
use billing_domain::ids::BillingEntityId;
use billing_domain::party::CustomerAccount;
use chrono::{DateTime, Utc};

use crate::attributes::{Item, n};
use crate::codec::{ItemAttributes, Named, PK, VERSION};
use crate::{BillingStore, StoreError, SubscriptionChange};

/// An account to create or to replace with a changed version.
#[derive(Debug, Clone, PartialEq)]
pub enum AccountWrite {
    /// Not stored yet: written with `version` 1 if still absent.
    Create(CustomerAccount),
    /// Stored and changed: written with `version + 1` if still at
    /// `expected_version` and `expected_revision`.
    Update {
        /// The account as it should be.
        account: CustomerAccount,
        /// The version read.
        expected_version: u64,
        /// The staff revision read (carried on as `revision + 1`).
        expected_revision: u64,
    },
}

/// How a conditional import write ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportWrite {
    /// The item was written.
    Written,
    /// The item changed (or appeared) since it was read; nothing was
    /// written. Re-running the import reads it again.
    Stale,
}

impl BillingStore {
    /// Creates or updates one account item, shaped like the webhook's
    /// (`body`, `account_id`, `version`, `updated_at`). CRM links are the
    /// webhook's business: an imported account has none until a deal for it
    /// arrives.
    pub async fn import_account(
        &self,
        write: &AccountWrite,
        now: DateTime<Utc>,
    ) -> Result<ImportWrite, StoreError> {
        let (account, expected) = match write {
            AccountWrite::Create(account) => (account, None),
            AccountWrite::Update {
                account,
                expected_version,
                expected_revision,
            } => (account, Some((*expected_version, *expected_revision))),
        };
        let mut item = crate::codec::account::item(account, &now.to_rfc3339())?;
        let put = match expected {
            None => {
                item.put(VERSION, n(1));
                self.db
                    .put_item()
                    .condition_expression(format!("attribute_not_exists({PK})"))
            }
            Some((version, revision)) => {
                let (condition, values) =
                    crate::account::replace_account(&mut item, version, revision);
                self.db
                    .put_item()
                    .condition_expression(condition)
                    .set_expression_attribute_values(Some(values))
            }
        };
        self.send_conditional(put.table_name(&self.table).set_item(Some(item)))
            .await
    }

    /// Creates or amends one contract. The item (body and `DueSubscriptions`
    /// keys) is built by the same function as the webhook's, so the index
    /// keys are computed in one place.
    pub async fn import_subscription(
        &self,
        change: &SubscriptionChange,
        billing_entity_id: &BillingEntityId,
        now: DateTime<Utc>,
    ) -> Result<ImportWrite, StoreError> {
        let (subscription, expected) = match change {
            SubscriptionChange::Create(subscription) => (subscription, None),
            SubscriptionChange::Update {
                subscription,
                expected_version,
            } => (subscription, Some(*expected_version)),
        };
        let version = expected.map_or(1, |v| v + 1);
        let item = crate::codec::subscription::item(
            subscription,
            billing_entity_id,
            version,
            &now.to_rfc3339(),
        )?;
        self.put_conditional(item, expected).await
    }

    /// PutItem if the item is absent (`expected` none) or at `expected`.
    async fn put_conditional(
        &self,
        item: Item,
        expected: Option<u64>,
    ) -> Result<ImportWrite, StoreError> {
        let put = self
            .db
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item));
        let put = match expected {
            None => put.condition_expression(format!("attribute_not_exists({PK})")),
            Some(version) => put
                .condition_expression(format!("{VERSION} = :expected"))
                .expression_attribute_values(":expected", n(version)),
        };
        self.send_conditional(put).await
    }

    /// Sends a conditional put (naming the attributes its condition uses):
    /// a failed condition is `Stale`.
    async fn send_conditional(
        &self,
        put: aws_sdk_dynamodb::operation::put_item::builders::PutItemFluentBuilder,
    ) -> Result<ImportWrite, StoreError> {
        match put.named().send().await {
            Ok(_) => Ok(ImportWrite::Written),
            Err(err)
                if matches!(
                    err.as_service_error(),
                    Some(PutItemError::ConditionalCheckFailedException(_))
                ) =>
            {
                Ok(ImportWrite::Stale)
            }
            Err(err) => Err(StoreError::aws("PutItem", &err)),
        }
    }
}
