//! Invoice number counters: one per (entity, document type, year or all).

use billing_domain::numbering::CounterKey;

use crate::attributes::read_u64;
use crate::{BillingStore, StoreError, keys};

impl BillingStore {
    /// The last number drawn from a counter; 0 before the first.
    pub async fn counter_value(&self, key: &CounterKey) -> Result<u64, StoreError> {
        let what = format!("counter {}", key.storage_key());
        let output = self.get(keys::counter(key)).await?;
        match output.as_ref() {
            Some(item) => read_u64(item, "last_value", &what),
            None => Ok(0),
        }
    }
}
