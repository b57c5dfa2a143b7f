//! Invoice number counters: one per (entity, document type, year or all).

use billing_domain::numbering::CounterKey;

use crate::attributes::{key_item, read_u64};
use crate::{BillingStore, StoreError, keys};

impl BillingStore {
    /// The last number drawn from a counter; 0 before the first.
    pub async fn counter_value(&self, key: &CounterKey) -> Result<u64, StoreError> {
        let what = format!("counter {}", key.storage_key());
        let output = self
            .db
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key_item(keys::counter(key))))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| StoreError::aws("GetItem", &e))?;
        match output.item() {
            Some(item) => read_u64(item, "last_value", &what),
            None => Ok(0),
        }
    }
}
