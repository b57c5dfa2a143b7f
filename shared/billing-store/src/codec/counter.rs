//! Number counters (`COUNTER#…`) and numbering audits.

use super::Attr;

/// The last number given.
pub(crate) const LAST_VALUE: Attr = Attr::new("last_value");
