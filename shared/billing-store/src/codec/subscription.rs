//! Contracts (`ACCOUNT#<id>` / `SUBSCRIPTION#<id>`) and parked one-off
//! charges (`PENDING#<batch>`).

use super::Attr;

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
