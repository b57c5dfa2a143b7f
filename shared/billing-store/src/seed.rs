//! Writing customers, contracts, parked charges and finalized invoices
//! directly, as the webhook and the run would have left them: the demo's,
//! the load tests' and the integration tests' way to set up a customer base
//! without a CRM. Compiled only with the `seeding` feature, which the
//! tests, the demo and the benchmarks enable and no function does.

use aws_sdk_dynamodb::types::{PutRequest, WriteRequest};
use billing_domain::invoice::Invoice;
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

    /// Stores finalized invoices exactly as the finalizing transaction
    /// writes them (body, summary, every index key), 25 per BatchWriteItem,
    /// for demos and load tests that need many invoices quickly. Returns
    /// the requests sent. Never for production data: no numbering counter
    /// is advanced.
    pub async fn seed_invoices(&self, invoices: &[Invoice]) -> Result<u64, StoreError> {
        self.seed_invoice_items(invoices, false).await
    }

    /// [`BillingStore::seed_invoices`], each invoice stored as paid in full
    /// on its due date, as the payment path leaves it (out of the dunning
    /// and open-invoice indexes): the paid history of a load test.
    pub async fn seed_paid_invoices(&self, invoices: &[Invoice]) -> Result<u64, StoreError> {
        self.seed_invoice_items(invoices, true).await
    }

    async fn seed_invoice_items(
        &self,
        invoices: &[Invoice],
        paid: bool,
    ) -> Result<u64, StoreError> {
        let now = Utc::now().to_rfc3339();
        let mut requests = 0;
        for chunk in invoices.chunks(25) {
            let mut pending = chunk
                .iter()
                .map(|invoice| {
                    let mut item = crate::opportunity::invoice_item(invoice, &now)?;
                    if paid {
                        let due = invoice.content().due_date.to_string();
                        let total = invoice.amount_due().amount().to_string();
                        for name in ["open_key", "dunning_shard", "dunning_at"] {
                            item.remove(name);
                        }
                        item.insert("status".into(), s("paid"));
                        item.insert("open_amount".into(), s("0"));
                        item.insert("paid_amount".into(), s(total));
                        item.insert("payment_version".into(), n(1u64));
                        item.insert("last_payment_on".into(), s(&due));
                        item.insert("paid_in_full_on".into(), s(&due));
                        item.insert(
                            "paid_on_time".into(),
                            aws_sdk_dynamodb::types::AttributeValue::Bool(true),
                        );
                    }
                    let put = PutRequest::builder()
                        .set_item(Some(item))
                        .build()
                        .map_err(|e| StoreError::corrupt("seed invoice", e))?;
                    Ok(WriteRequest::builder().put_request(put).build())
                })
                .collect::<Result<Vec<_>, StoreError>>()?;
            let mut attempt = 0;
            while !pending.is_empty() {
                requests += 1;
                let output = self
                    .db
                    .batch_write_item()
                    .request_items(&self.table, pending)
                    .send()
                    .await
                    .map_err(|e| StoreError::aws("BatchWriteItem", &e))?;
                pending = output
                    .unprocessed_items
                    .and_then(|mut left| left.remove(&self.table))
                    .unwrap_or_default();
                if !pending.is_empty() {
                    attempt += 1;
                    tokio::time::sleep(crate::transaction::backoff(attempt)).await;
                }
            }
        }
        Ok(requests)
    }
}
