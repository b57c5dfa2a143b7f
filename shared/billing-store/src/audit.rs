//! The audit trail of staff changes, and the revisions that keep two clerks
//! from overwriting each other.
//!
//! Every staff write records who did it, when, what changed and why, as one
//! item per subject: `AUDIT#INVOICE#<id>` (if an invoice is concerned) and
//! `AUDIT#ACCOUNT#<id>`, sorted by time. The items are put with
//! `attribute_not_exists(pk)` in the same transaction as the change, so a
//! change without its record (or a record without its change) cannot exist,
//! and nothing ever updates or deletes them.
//!
//! Invoice and account items carry a number `revision` (absent means 0).
//! A staff write is conditioned on the revision its caller read (the API's
//! `ETag`/`If-Match`) and sets it one higher; a failed condition is
//! [`StoreError::RevisionMismatch`].

use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem};
use billing_domain::ids::{AccountId, InvoiceId};
use billing_domain::staff::StaffRole;
use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

use crate::attributes::{Item, key_item, n, read_body, s};
use crate::codec::{self, ItemAttributes, Named, PK, REVISION};
use crate::page::{Page, Paged, query_page};
use crate::{BillingStore, StoreError, keys};

/// Who made a change: the identity provider's user (the Cognito `sub` or
/// user name, never an e-mail address) and the role they acted in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    /// The user's stable id.
    pub user: String,
    /// The role the change was made in.
    pub role: StaffRole,
}

/// One staff change, as recorded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// Who.
    pub actor: Actor,
    /// When.
    pub at: DateTime<Utc>,
    /// What kind of change, e.g. `invoice.cancel`.
    pub action: String,
    /// The invoice concerned, if any.
    pub invoice_id: Option<InvoiceId>,
    /// The account concerned (every change concerns one).
    pub account_id: AccountId,
    /// Why, in the clerk's words.
    pub reason: Option<String>,
    /// What changed: typically `{"before": ..., "after": ...}` of the
    /// changed fields (never bank details).
    pub change: serde_json::Value,
}

impl AuditEntry {
    /// The sort key: time to the millisecond, then an id derived from the
    /// whole entry (a replay of the same change hits the same key and is
    /// refused by the condition; two different changes in one millisecond
    /// get different keys).
    pub(crate) fn sort_key(&self) -> Result<String, StoreError> {
        let at = self.at.to_rfc3339_opts(SecondsFormat::Millis, true);
        let encoded = serde_json::to_string(self)
            .map_err(|e| StoreError::corrupt("audit entry", format!("cannot encode: {e}")))?;
        Ok(format!("{at}#{}", keys::derived_id("aud", &[&encoded])))
    }

    /// The puts of this entry (one per subject), each refused if its key
    /// exists, for the transaction of the change it records.
    pub(crate) fn transact_items(&self, table: &str) -> Result<Vec<TransactWriteItem>, StoreError> {
        let sk = self.sort_key()?;
        let body = crate::attributes::body(self, "audit entry")?;
        let mut partitions = Vec::with_capacity(2);
        if let Some(invoice) = &self.invoice_id {
            partitions.push(keys::invoice_audit_partition(invoice));
        }
        partitions.push(keys::account_audit_partition(&self.account_id));
        partitions
            .into_iter()
            .map(|pk| {
                let mut item = key_item((pk, sk.clone()));
                item.put(codec::RECORD_TYPE, s("audit"));
                item.put(codec::audit::ACTION, s(&self.action));
                item.put(codec::BODY, body.clone());
                let put = aws_sdk_dynamodb::types::Put::builder()
                    .table_name(table)
                    .set_item(Some(item))
                    .condition_expression(format!("attribute_not_exists({PK})"))
                    .named()
                    .build()
                    .map_err(|e| StoreError::corrupt("audit item", e))?;
                Ok(TransactWriteItem::builder().put(put).build())
            })
            .collect()
    }
}

/// The revision an invoice or account item carries (absent means 0).
pub(crate) fn read_revision(item: &Item, what: &str) -> Result<u64, StoreError> {
    match item.attr(REVISION) {
        None => Ok(0),
        Some(_) => crate::attributes::read_u64(item, REVISION, what),
    }
}

/// The condition that an item still has the revision `read`, and the value
/// its `:revision` placeholder needs (none for revision 0: the attribute is
/// then absent). Combine with other conditions by `AND`.
pub(crate) fn revision_condition(read: u64) -> (String, Option<AttributeValue>) {
    if read == 0 {
        (
            format!("attribute_exists({PK}) AND attribute_not_exists({REVISION})"),
            None,
        )
    } else {
        (format!("{REVISION} = :revision"), Some(n(read)))
    }
}

/// Adds the revision check and bump to an update: condition on `read`, set
/// `read + 1`. `set` and `condition` are the update's own clauses, without
/// the keywords (an empty condition means none). The update's attribute
/// names are filled in ([`Named::named`]): set no expression after this.
pub(crate) fn with_revision(
    update: aws_sdk_dynamodb::types::builders::UpdateBuilder,
    set: &str,
    condition: &str,
    read: u64,
) -> aws_sdk_dynamodb::types::builders::UpdateBuilder {
    let (check, value) = revision_condition(read);
    let condition = if condition.is_empty() {
        check
    } else {
        format!("({condition}) AND {check}")
    };
    let mut update = update
        .update_expression(format!("SET {set}, {REVISION} = :next_revision"))
        .condition_expression(condition)
        .expression_attribute_values(":next_revision", n(read + 1));
    if let Some(value) = value {
        update = update.expression_attribute_values(":revision", value);
    }
    update.named()
}

impl BillingStore {
    /// Appends one audit entry on its own (for a change that is not a
    /// store transaction, e.g. an action recorded elsewhere).
    pub async fn record_audit(&self, entry: &AuditEntry) -> Result<(), StoreError> {
        let items = entry.transact_items(&self.table)?;
        self.transact(items).await?.written()
    }

    /// An invoice's audit trail, newest first, one Query per page.
    pub async fn invoice_audit(
        &self,
        id: &InvoiceId,
        page: &Page,
    ) -> Result<Paged<AuditEntry>, StoreError> {
        self.audit_page(keys::invoice_audit_partition(id), page)
            .await
    }

    /// An account's audit trail (including its invoices' changes), newest
    /// first, one Query per page.
    pub async fn account_audit(
        &self,
        id: &AccountId,
        page: &Page,
    ) -> Result<Paged<AuditEntry>, StoreError> {
        self.audit_page(keys::account_audit_partition(id), page)
            .await
    }

    async fn audit_page(&self, pk: String, page: &Page) -> Result<Paged<AuditEntry>, StoreError> {
        let query = self
            .db
            .query()
            .table_name(&self.table)
            .key_condition_expression(format!("{PK} = :pk"))
            .expression_attribute_values(":pk", s(&pk))
            .scan_index_forward(false)
            .named();
        let (items, next_cursor) = query_page(query, (PK, &pk), page).await?;
        Paged::read(&items, next_cursor, |item| read_body(item, &pk))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(reason: &str) -> AuditEntry {
        AuditEntry {
            actor: Actor {
                user: "c0ffee-sub".into(),
                role: StaffRole::Billing,
            },
            at: "2026-03-01T10:00:00.123456Z".parse().unwrap(),
            action: "invoice.cancel".into(),
            invoice_id: Some(InvoiceId::new("inv_1")),
            account_id: AccountId::new("acc_1"),
            reason: Some(reason.into()),
            change: serde_json::json!({"before": {"status": "open"}, "after": {"status": "cancelled"}}),
        }
    }

    #[test]
    fn sort_keys_order_by_time_and_separate_different_changes() {
        let a = entry("wrong address").sort_key().unwrap();
        let b = entry("duplicate").sort_key().unwrap();
        assert!(a.starts_with("2026-03-01T10:00:00.123Z#aud_"), "{a}");
        assert_ne!(a, b);
        assert_eq!(a, entry("wrong address").sort_key().unwrap());
        let mut later = entry("wrong address");
        later.at = "2026-03-01T10:00:01Z".parse().unwrap();
        assert!(later.sort_key().unwrap() > a);
    }

    #[test]
    fn an_entry_is_written_to_its_invoice_and_its_account() {
        let items = entry("x").transact_items("billing").unwrap();
        let pks: Vec<String> = items
            .iter()
            .map(|i| match i.put().and_then(|p| p.item().get("pk")) {
                Some(AttributeValue::S(pk)) => pk.clone(),
                _ => String::new(),
            })
            .collect();
        assert_eq!(pks, ["AUDIT#INVOICE#inv_1", "AUDIT#ACCOUNT#acc_1"]);
        let mut account_only = entry("x");
        account_only.invoice_id = None;
        assert_eq!(account_only.transact_items("billing").unwrap().len(), 1);
    }

    #[test]
    fn revision_zero_means_the_attribute_is_absent() {
        assert_eq!(
            revision_condition(0),
            (
                "attribute_exists(#pk) AND attribute_not_exists(#revision)".to_owned(),
                None
            )
        );
        assert_eq!(
            revision_condition(4),
            ("#revision = :revision".to_owned(), Some(n(4)))
        );
        let item: Item = key_item(("INVOICE#i".into(), "INVOICE".into()));
        assert_eq!(read_revision(&item, "invoice i").unwrap(), 0);
    }

    #[test]
    fn a_revised_update_names_the_attributes_it_uses() {
        let update = with_revision(
            aws_sdk_dynamodb::types::Update::builder(),
            "staff_changed_at = :at",
            "",
            0,
        );
        assert_eq!(
            update.get_update_expression().as_deref(),
            Some("SET staff_changed_at = :at, #revision = :next_revision")
        );
        let names = update
            .get_expression_attribute_names()
            .clone()
            .unwrap_or_default();
        assert_eq!(names.get("#revision").map(String::as_str), Some("revision"));
        assert_eq!(names.get("#pk").map(String::as_str), Some("pk"));
    }
}
