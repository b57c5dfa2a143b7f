//! Subscription contracts, in their account's partition.

use billing_domain::ids::{AccountId, SubscriptionId};
use billing_domain::subscription::Subscription;

use crate::attributes::{key_item, read_body, read_u64};
use crate::{BillingStore, StoreError, keys};

/// A contract with the version its next update must expect.
#[derive(Debug, Clone, PartialEq)]
pub struct VersionedSubscription {
    /// The contract.
    pub subscription: Subscription,
    /// Optimistic-locking version of the stored item.
    pub version: u64,
}

impl BillingStore {
    /// One contract of an account.
    pub async fn subscription(
        &self,
        account: &AccountId,
        id: &SubscriptionId,
    ) -> Result<Option<VersionedSubscription>, StoreError> {
        let what = format!("subscription {id}");
        let output = self
            .db
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key_item(keys::subscription(account, id))))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| StoreError::aws("GetItem", &e))?;
        output
            .item()
            .map(|item| {
                Ok(VersionedSubscription {
                    subscription: read_body(item, &what)?,
                    version: read_u64(item, "version", &what)?,
                })
            })
            .transpose()
    }
}
