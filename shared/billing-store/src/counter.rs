//! Invoice number counters: one per (entity, document type, year or all).

use aws_sdk_dynamodb::types::{TransactWriteItem, Update};
use billing_domain::numbering::CounterKey;

use crate::attributes::{key_item, n, read_u64, s};
use crate::codec::counter::LAST_VALUE;
use crate::codec::{Named, PK, RECORD_TYPE};
use crate::transaction::transaction_update;
use crate::{BillingStore, StoreError, keys};

impl BillingStore {
    /// The last number drawn from a counter; 0 before the first.
    pub async fn counter_value(&self, key: &CounterKey) -> Result<u64, StoreError> {
        let what = format!("counter {}", key.storage_key());
        let output = self.get(keys::counter(key)).await?;
        match output.as_ref() {
            Some(item) => read_u64(item, LAST_VALUE, &what),
            None => Ok(0),
        }
    }

    /// Moves a counter from `last` to `next` (several numbers at once when a
    /// run numbers many invoices in one transaction), conditioned on `last`.
    pub(crate) fn advance_counter(
        &self,
        key: &CounterKey,
        last: u64,
        next: u64,
    ) -> Result<TransactWriteItem, StoreError> {
        // The first draw may also find a counter someone created at 0.
        let condition = if last == 0 {
            format!("attribute_not_exists({PK}) OR {LAST_VALUE} = :last")
        } else {
            format!("{LAST_VALUE} = :last")
        };
        transaction_update(
            Update::builder()
                .table_name(&self.table)
                .set_key(Some(key_item(keys::counter(key))))
                .update_expression(format!("SET {LAST_VALUE} = :next, {RECORD_TYPE} = :type"))
                .condition_expression(condition)
                .expression_attribute_values(":next", n(next))
                .expression_attribute_values(":last", n(last))
                .expression_attribute_values(":type", s("counter"))
                .named(),
        )
    }
}
