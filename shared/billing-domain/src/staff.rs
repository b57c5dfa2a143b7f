//! Staff roles: who may read and who may correct billing data.
//!
//! The staff API learns a caller's groups from the identity provider; this
//! module names the two roles the billing system knows, so the API, the audit
//! trail and the tests agree on them.

use serde::{Deserialize, Serialize};

/// A staff member's role, from their identity-provider group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StaffRole {
    /// Billing clerks: read everything, correct invoices, book payments.
    Billing,
    /// Sales and account managers: read only, never bank details.
    Sales,
}

impl StaffRole {
    /// The identity-provider group of this role.
    pub fn group(self) -> &'static str {
        match self {
            StaffRole::Billing => "billing",
            StaffRole::Sales => "sales",
        }
    }

    /// The role a group grants, if any.
    pub fn from_group(group: &str) -> Option<Self> {
        match group {
            "billing" => Some(StaffRole::Billing),
            "sales" => Some(StaffRole::Sales),
            _ => None,
        }
    }

    /// The strongest role among a caller's groups: a member of both acts as
    /// billing; of neither, has no role.
    pub fn strongest<'a>(groups: impl IntoIterator<Item = &'a str>) -> Option<Self> {
        groups.into_iter().filter_map(Self::from_group).min()
    }

    /// Whether this role may change billing data.
    pub fn may_write(self) -> bool {
        self == StaffRole::Billing
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn billing_wins_over_sales_and_unknown_groups_grant_nothing() {
        assert_eq!(
            StaffRole::strongest(["sales", "billing"]),
            Some(StaffRole::Billing)
        );
        assert_eq!(StaffRole::strongest(["sales"]), Some(StaffRole::Sales));
        assert_eq!(StaffRole::strongest(["admins", ""]), None);
        assert!(StaffRole::Billing.may_write() && !StaffRole::Sales.may_write());
        assert_eq!(
            StaffRole::from_group(StaffRole::Sales.group()),
            Some(StaffRole::Sales)
        );
    }
}
