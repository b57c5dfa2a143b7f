//! Needs-attention entries (`ATTENTION#<entity>`), the payment review list
//! (`REVIEW#<entity>`) and suppressed addresses (`ACCOUNT#<id>` /
//! `SUPPRESSED#<address>`).

use super::Attr;

/// The invoice concerned.
pub(crate) const INVOICE_ID: Attr = Attr::new("invoice_id");
/// Its number.
pub(crate) const INVOICE_NUMBER: Attr = Attr::new("invoice_number");
/// The dunning letter concerned.
pub(crate) const LETTER_ID: Attr = Attr::new("letter_id");
/// The customer.
pub(crate) const ACCOUNT_ID: Attr = Attr::new("account_id");
/// The delivery state that raised it.
pub(crate) const STATUS: Attr = Attr::new("status");
/// A run failure's code.
pub(crate) const CODE: Attr = Attr::new("code");
/// What happened.
pub(crate) const REASON: Attr = Attr::new("reason");
/// When it arose.
pub(crate) const SINCE: Attr = Attr::new("since");
/// A suppressed address (lower-case).
pub(crate) const ADDRESS: Attr = Attr::new("address");
/// Why it is suppressed (`bounced`, `complained`).
pub(crate) const CAUSE: Attr = Attr::new("cause");
/// The run that last failed to bill the customer.
pub(crate) const RUN_ID: Attr = Attr::new("run_id");
