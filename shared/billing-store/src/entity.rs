//! The seller (billing entity) configuration: data in the table, loaded at
//! cold start, never compiled in.

use billing_domain::ids::BillingEntityId;
use billing_domain::seller::BillingEntity;

use crate::attributes::{body, key_item, read_body, s};
use crate::codec::{self, ItemAttributes};
use crate::{BillingStore, StoreError, keys};

impl BillingStore {
    /// The seller the functions bill as. Missing or invalid configuration is
    /// a deployment fault, reported by its key.
    pub async fn billing_entity(&self, id: &BillingEntityId) -> Result<BillingEntity, StoreError> {
        let what = format!("billing entity {id}");
        let output = self.get(keys::entity(id)).await?;
        let item = output
            .as_ref()
            .ok_or_else(|| StoreError::NotFound { what: what.clone() })?;
        let entity: BillingEntity = read_body(item, &what)?;
        entity
            .validate()
            .map_err(|e| StoreError::corrupt(&what, e))?;
        Ok(entity)
    }

    /// Store (or replace) a seller configuration; operators' and the demo's
    /// way to configure the billing entity.
    pub async fn put_billing_entity(&self, entity: &BillingEntity) -> Result<(), StoreError> {
        let what = format!("billing entity {}", entity.id);
        entity
            .validate()
            .map_err(|e| StoreError::corrupt(&what, e))?;
        let mut item = key_item(keys::entity(&entity.id));
        item.put(codec::BODY, body(entity, &what)?);
        item.put(codec::RECORD_TYPE, s("billing_entity"));
        self.put(item).await
    }
}
