//! Staff audit records (`AUDIT#INVOICE#…`, `AUDIT#ACCOUNT#…`).

use super::Attr;

/// What was done (`invoice.write_off`, ...).
pub(crate) const ACTION: Attr = Attr::new("action");
