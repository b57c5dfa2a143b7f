//! The account item (`ACCOUNT#<id>` / `ACCOUNT`, the customer in `body`), its
//! CRM link and name-search keys.

use super::Attr;

/// The customer.
pub(crate) const ACCOUNT_ID: Attr = Attr::new("account_id");
/// The CRM's last-modified time of what was applied.
pub(crate) const CRM_LAST_MODIFIED: Attr = Attr::new("crm_last_modified");
/// When it was last written.
pub(crate) const UPDATED_AT: Attr = Attr::new("updated_at");
/// When staff last changed it (its credit included).
pub(crate) const STAFF_CHANGED_AT: Attr = Attr::new("staff_changed_at");
