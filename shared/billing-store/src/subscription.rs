//! Subscription contracts, in their account's partition.

use crate::page::{Page, Paged, query_page};
use aws_sdk_dynamodb::types::AttributeValue;
use billing_domain::ids::{AccountId, SubscriptionId};
use billing_domain::subscription::Subscription;

use crate::attributes::{Item, read_body, read_u64};
use crate::codec::{Named, PK, SK, VERSION};
use crate::{BillingStore, StoreError, keys};

/// A contract with the version its next update must expect.
#[derive(Debug, Clone, PartialEq)]
pub struct VersionedSubscription {
    /// The contract.
    pub subscription: Subscription,
    /// Optimistic-locking version of the stored item.
    pub version: u64,
}

impl VersionedSubscription {
    pub(crate) fn read(item: &Item, what: &str) -> Result<Self, StoreError> {
        Ok(Self {
            subscription: read_body(item, what)?,
            version: read_u64(item, VERSION, what)?,
        })
    }
}

impl BillingStore {
    /// One contract of an account.
    pub async fn subscription(
        &self,
        account: &AccountId,
        id: &SubscriptionId,
    ) -> Result<Option<VersionedSubscription>, StoreError> {
        let what = format!("subscription {id}");
        self.get_as(keys::subscription(account, id), |item| {
            VersionedSubscription::read(item, &what)
        })
        .await
    }

    /// Every contract of an account (one Query on its partition), e.g. to
    /// know whether parked charges will ever ride on a recurring invoice.
    pub async fn subscriptions_of(
        &self,
        account: &AccountId,
    ) -> Result<Vec<VersionedSubscription>, StoreError> {
        let what = format!("subscription of account {account}");
        self.query_prefix(keys::account_partition(account), keys::SUBSCRIPTION_PREFIX)
            .await?
            .iter()
            .map(|item| VersionedSubscription::read(item, &what))
            .collect()
    }
}

impl BillingStore {
    /// An account's contracts, one Query on its partition.
    pub async fn account_contracts(
        &self,
        account: &AccountId,
        page: &Page,
    ) -> Result<Paged<VersionedSubscription>, StoreError> {
        let partition = keys::account_partition(account);
        let query = self
            .query()
            .key_condition_expression(format!("{PK} = :pk AND begins_with({SK}, :prefix)"))
            .expression_attribute_values(":pk", AttributeValue::S(partition.clone()))
            .expression_attribute_values(
                ":prefix",
                AttributeValue::S(keys::SUBSCRIPTION_PREFIX.into()),
            )
            .consistent_read(true)
            .named();
        let (items, next) = query_page(query, (PK, &partition), page).await?;
        let what = format!("subscription of account {account}");
        Paged::read(&items, next, |item| {
            VersionedSubscription::read(item, &what)
        })
    }
}
