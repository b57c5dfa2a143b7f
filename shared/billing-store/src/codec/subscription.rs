//! Contracts (`ACCOUNT#<id>` / `SUBSCRIPTION#<id>`) and parked one-off
//! charges (`PENDING#<batch>`).

use billing_domain::ids::BillingEntityId;
use billing_domain::schedule::next_due_date;
use billing_domain::subscription::Subscription;

use super::{Attr, BODY, ItemAttributes, RECORD_TYPE, VERSION};
use crate::attributes::{Item, body, key_item, n, s};
use crate::{StoreError, keys};

/// `DueSubscriptions` index partition, while the contract bills.
pub(crate) const DUE_SHARD: Attr = Attr::new("due_shard");
/// `DueSubscriptions` index sort key (next due date).
pub(crate) const DUE_AT: Attr = Attr::new("due_at");
/// The seller.
pub(crate) const BILLING_ENTITY_ID: Attr = Attr::new("billing_entity_id");
/// The contract id.
pub(crate) const SUBSCRIPTION_ID: Attr = Attr::new("subscription_id");
/// The customer.
pub(crate) const ACCOUNT_ID: Attr = Attr::new("account_id");
/// When the contract was last written.
pub(crate) const UPDATED_AT: Attr = Attr::new("updated_at");
/// Number of parked charge lines.
pub(crate) const LINE_COUNT: Attr = Attr::new("line_count");
/// When the charges were parked.
pub(crate) const CREATED_AT: Attr = Attr::new("created_at");

/// The stored contract, carrying the due-index keys of its next due date
/// (none once it has nothing left to bill, which drops it from the index).
pub(crate) fn item(
    subscription: &Subscription,
    billing_entity_id: &BillingEntityId,
    version: u64,
    now: &str,
) -> Result<Item, StoreError> {
    let what = format!("subscription {}", subscription.id);
    let mut item = key_item(keys::subscription(
        &subscription.account_id,
        &subscription.id,
    ));
    item.put(RECORD_TYPE, s("subscription"));
    item.put(BODY, body(subscription, &what)?);
    item.put(VERSION, n(version));
    item.put(SUBSCRIPTION_ID, s(subscription.id.as_str()));
    item.put(ACCOUNT_ID, s(subscription.account_id.as_str()));
    item.put(BILLING_ENTITY_ID, s(billing_entity_id.as_str()));
    item.put(UPDATED_AT, s(now));
    if let Some(date) = next_due_date(subscription).map_err(|e| StoreError::corrupt(&what, e))? {
        let (shard, at) = keys::due_subscription(&subscription.account_id, &subscription.id, date);
        item.put(DUE_SHARD, s(shard));
        item.put(DUE_AT, s(at));
    }
    Ok(item)
}
