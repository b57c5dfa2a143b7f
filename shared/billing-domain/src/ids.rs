//! Typed identifiers.
//!
//! Each kind of record gets its own newtype so an account id can never be
//! passed where an invoice id is expected. The adapters mint ids (the domain
//! never generates randomness); the domain only carries and compares them.
//! All serialize as plain JSON strings.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::DomainError;

/// Longest id accepted from outside; keys beyond this would not fit
/// comfortably into DynamoDB sort keys next to prefixes and dates.
pub const MAX_ID_LEN: usize = 256;

/// Declares a string newtype with the common id behaviour.
macro_rules! string_id {
    ($(#[$doc:meta])* $name:ident, $field:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// Wraps a value the caller already trusts (minted by an adapter
            /// or read back from storage).
            pub fn new(value: impl Into<String>) -> Self {
                Self(value.into())
            }

            /// Accepts a value from outside (CRM payload, API call),
            /// refusing blank or overlong values with the field named.
            pub fn parse(value: &str) -> Result<Self, DomainError> {
                crate::ids::check_id(value, $field).map(|v| Self(v.to_owned()))
            }

            /// The raw value, for keys and rendering.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<&str> for $name {
            fn from(value: &str) -> Self {
                Self::new(value)
            }
        }
    };
}

pub(crate) use string_id;

/// Declares a string newtype whose value is checked (and normalized) by
/// `$check` on every way in, including deserialization, so an invalid value
/// cannot exist in memory.
macro_rules! checked_string {
    ($(#[$doc:meta])* $name:ident, $check:path) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// Checks and normalizes a value from outside; the error names
            /// the field.
            pub fn parse(value: &str) -> Result<Self, DomainError> {
                $check(value).map(Self)
            }

            /// The normalized value, for storage and rendering.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = DomainError;

            fn try_from(value: String) -> Result<Self, DomainError> {
                Self::parse(&value)
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> String {
                value.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

pub(crate) use checked_string;

/// Trims nothing and accepts non-blank values up to [`MAX_ID_LEN`] bytes
/// without control characters, naming `field` otherwise.
pub(crate) fn check_id<'a>(value: &'a str, field: &str) -> Result<&'a str, DomainError> {
    if value.trim().is_empty() {
        return Err(DomainError::invalid(field, "must not be blank"));
    }
    if value.len() > MAX_ID_LEN {
        return Err(DomainError::invalid(
            field,
            format!("longer than {MAX_ID_LEN} bytes"),
        ));
    }
    if value.chars().any(char::is_control) {
        return Err(DomainError::invalid(field, "contains control characters"));
    }
    Ok(value)
}

string_id!(
    /// Our own customer account; invoices, subscriptions and charges hang off it.
    AccountId,
    "account_id"
);
string_id!(
    /// The account's id in the CRM, used to find the account from a webhook.
    CrmAccountId,
    "crm_account_id"
);
string_id!(
    /// A CRM opportunity; at most one invoice is ever created per opportunity.
    OpportunityId,
    "opportunity_id"
);
string_id!(
    /// A stored invoice (draft or finalized); distinct from its legal number,
    /// which is assigned only at finalization.
    InvoiceId,
    "invoice_id"
);
string_id!(
    /// A subscription whose periods are billed exactly once each.
    SubscriptionId,
    "subscription_id"
);
string_id!(
    /// One recurring item inside a subscription, so a billed period can be
    /// traced back to the item that produced the line.
    SubscriptionItemId,
    "subscription_item_id"
);
string_id!(
    /// A one-off charge parked for the account's next invoice.
    PendingChargeId,
    "pending_charge_id"
);
string_id!(
    /// The legal entity that issues invoices (its own number series, tax
    /// settings and bank account).
    BillingEntityId,
    "billing_entity_id"
);
string_id!(
    /// A recorded payment, so a bank statement line is applied only once.
    PaymentId,
    "payment_id"
);
string_id!(
    /// The seller's article or product number (EN 16931 BT-155).
    ProductCode,
    "product_code"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serializes_as_plain_string() {
        let id = AccountId::new("acc_1");
        assert_eq!(serde_json::to_string(&id).unwrap(), "\"acc_1\"");
        let back: AccountId = serde_json::from_str("\"acc_1\"").unwrap();
        assert_eq!(back, id);
    }

    #[test]
    fn parse_names_the_field() {
        let err = OpportunityId::parse("  ").unwrap_err();
        assert!(err.to_string().starts_with("opportunity_id:"));
        assert!(CrmAccountId::parse(&"x".repeat(300)).is_err());
        assert!(CrmAccountId::parse("a\nb").is_err());
        assert_eq!(CrmAccountId::parse("001XY").unwrap().as_str(), "001XY");
    }
}
