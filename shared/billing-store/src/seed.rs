//! Writing customers, contracts and parked charges directly, as the webhook
//! would have left them: the demo's and the integration tests' way to set
//! up a customer base without a CRM.

use billing_domain::item::PendingCharge;
use billing_domain::party::CustomerAccount;
use billing_domain::subscription::Subscription;
use chrono::{DateTime, Utc};

use crate::attributes::{body, key_item, n, s};
use crate::opportunity::subscription_item;
use crate::{BillingStore, StoreError, keys};

impl BillingStore {
    /// Stores a new customer with its contracts (version 1) and parked
    /// charge batches in one transaction; refused if any of them exists.
    pub async fn seed_customer(
        &self,
        account: &CustomerAccount,
        subscriptions: &[Subscription],
        pending: &[(String, Vec<PendingCharge>)],
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let stamp = now.to_rfc3339();
        let mut items = Vec::new();
        let mut account_item = key_item(keys::account(&account.id));
        account_item.insert("record_type".into(), s("account"));
        account_item.insert("account_id".into(), s(account.id.as_str()));
        account_item.insert("body".into(), body(account, "account")?);
        account_item.insert("version".into(), n(1));
        account_item.insert("updated_at".into(), s(&stamp));
        account_item.extend(crate::opportunity::name_index(account));
        items.push(self.put_new(account_item)?);
        items.extend(self.contract_puts(account, subscriptions, pending, &stamp)?);
        self.write_all(items).await
    }

    /// Adds new contracts and parked charge batches to a stored customer.
    pub async fn seed_contracts(
        &self,
        account: &CustomerAccount,
        subscriptions: &[Subscription],
        pending: &[(String, Vec<PendingCharge>)],
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let items = self.contract_puts(account, subscriptions, pending, &now.to_rfc3339())?;
        self.write_all(items).await
    }

    fn contract_puts(
        &self,
        account: &CustomerAccount,
        subscriptions: &[Subscription],
        pending: &[(String, Vec<PendingCharge>)],
        stamp: &str,
    ) -> Result<Vec<aws_sdk_dynamodb::types::TransactWriteItem>, StoreError> {
        let mut items = Vec::new();
        for subscription in subscriptions {
            let item = subscription_item(subscription, &account.billing_entity_id, 1, stamp)?;
            items.push(self.put_new(item)?);
        }
        for (batch_id, charges) in pending {
            let mut item = key_item(keys::pending_charges(&account.id, batch_id));
            item.insert("record_type".into(), s("pending_charges"));
            item.insert("body".into(), body(charges, "pending charges")?);
            item.insert("line_count".into(), n(charges.len()));
            item.insert("created_at".into(), s(stamp));
            items.push(self.put_new(item)?);
        }
        Ok(items)
    }

    async fn write_all(
        &self,
        items: Vec<aws_sdk_dynamodb::types::TransactWriteItem>,
    ) -> Result<(), StoreError> {
        for chunk in items.chunks(crate::run::MAX_TRANSACTION_ITEMS) {
            self.transact(chunk.to_vec()).await?.written()?;
        }
        Ok(())
    }
}
