//! The account item (`ACCOUNT#<id>` / `ACCOUNT`, the customer in `body`), its
//! CRM link and name-search keys.

use billing_domain::party::CustomerAccount;

use super::{Attr, BODY, ItemAttributes, RECORD_TYPE};
use crate::attributes::{Item, body, key_item, s};
use crate::{StoreError, keys};

/// The customer.
pub(crate) const ACCOUNT_ID: Attr = Attr::new("account_id");
/// The CRM's last-modified time of what was applied.
pub(crate) const CRM_LAST_MODIFIED: Attr = Attr::new("crm_last_modified");
/// When it was last written.
pub(crate) const UPDATED_AT: Attr = Attr::new("updated_at");
/// When staff last changed it (its credit included).
pub(crate) const STAFF_CHANGED_AT: Attr = Attr::new("staff_changed_at");

/// The stored account with its name-search keys, as every account writer
/// (the webhook, the import, the seeders) puts it; the writer adds its
/// version and what it knows of the CRM.
pub(crate) fn item(account: &CustomerAccount, now: &str) -> Result<Item, StoreError> {
    let mut item = key_item(keys::account(&account.id));
    item.put(RECORD_TYPE, s("account"));
    item.put(ACCOUNT_ID, s(account.id.as_str()));
    item.put(BODY, body(account, "account")?);
    item.put(UPDATED_AT, s(now));
    item.extend(name_index(account));
    Ok(item)
}

/// The name-search index attributes of an account item (see
/// [`keys::account_name_index`]); every account writer adds them.
fn name_index(
    account: &CustomerAccount,
) -> impl Iterator<Item = (String, aws_sdk_dynamodb::types::AttributeValue)> {
    keys::account_name_index(&account.billing_entity_id, &account.name, &account.id)
        .into_iter()
        .map(|(name, value)| (name, s(value)))
}
