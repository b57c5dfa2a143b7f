//! Opportunities invoiced (`OPPORTUNITY#<source>#<id>`).

use super::Attr;

/// Hash of what was invoiced, to tell a replay from a change.
pub(crate) const FINGERPRINT: Attr = Attr::new("fingerprint");
