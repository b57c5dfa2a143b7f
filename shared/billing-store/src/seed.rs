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
use crate::codec::{self, ItemAttributes};
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
        let mut account_item = codec::account::item(account, &stamp)?;
        account_item.put(codec::VERSION, n(1));
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
            let item =
                codec::subscription::item(subscription, &account.billing_entity_id, 1, stamp)?;
            items.push(self.put_new(item)?);
        }
        for (batch_id, charges) in pending {
            let mut item = key_item(keys::pending_charges(&account.id, batch_id));
            item.put(codec::RECORD_TYPE, s("pending_charges"));
            item.put(codec::BODY, body(charges, "pending charges")?);
            item.put(codec::subscription::LINE_COUNT, n(charges.len()));
            item.put(codec::subscription::CREATED_AT, s(stamp));
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
                    let mut item = codec::invoice::item(invoice, &now)?;
                    if paid {
                        let due = invoice.content().due_date.to_string();
                        let total = invoice.amount_due().amount().to_string();
                        for attr in [
                            codec::invoice::OPEN_KEY,
                            codec::invoice::DUNNING_SHARD,
                            codec::invoice::DUNNING_AT,
                        ] {
                            item.remove(attr.name());
                        }
                        item.put(codec::invoice::STATUS, s("paid"));
                        item.put(codec::invoice::OPEN_AMOUNT, s("0"));
                        item.put(codec::invoice::PAID_AMOUNT, s(total));
                        item.put(codec::invoice::PAYMENT_VERSION, n(1u64));
                        item.put(codec::invoice::LAST_PAYMENT_ON, s(&due));
                        item.put(codec::invoice::PAID_IN_FULL_ON, s(&due));
                        item.put(
                            codec::invoice::PAID_ON_TIME,
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
