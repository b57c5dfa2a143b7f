//! Staff changes to an invoice that are not corrections: dunning blocks,
//! disputes, re-sending after a corrected address and write-offs.
//!
//! Each is one transaction: the change, conditioned on the revision the
//! clerk read (`If-Match`) and on the payment version read (a payment
//! booked meanwhile changes what the change means), the revision bump, and
//! its audit entry. A lost race changes nothing and is
//! [`StoreError::RevisionMismatch`].

use aws_sdk_dynamodb::types::{AttributeValue, Delete, TransactWriteItem, Update};
use billing_domain::dunning::{DunningStanding, InvoiceState};
use billing_domain::ids::{BillingEntityId, InvoiceId};
use billing_domain::money::Money;
use billing_domain::numbering::DocumentType;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::attributes::{key_item, n, s};
use crate::audit::{Actor, AuditEntry, revision_condition};
use crate::codec::invoice::{
    DELIVERY_CLAIM, DELIVERY_CLAIM_EXPIRES, DELIVERY_CLAIM_EXPIRES_AT, DELIVERY_EVENT_AT,
    DELIVERY_MESSAGE_ID, DELIVERY_RANK, DELIVERY_REASON, DELIVERY_SENT_AT, DELIVERY_STATUS,
    DISPUTE, DOCUMENT_STATUS, DUNNING_AT, DUNNING_BLOCK, DUNNING_SHARD, OPEN_AMOUNT, OPEN_KEY,
    PAYMENT_VERSION, STATUS, WRITTEN_OFF, WRITTEN_OFF_AMOUNT,
};
use crate::codec::{Attr, Named, PK, REVISION};
use crate::dunning::{Dispute, DunningBlock};
use crate::invoice::InvoiceStatus;
use crate::invoice::overview::InvoiceOverview;
use crate::transaction::Outcome;
use crate::{BillingStore, StoreError, keys};

/// An invoice as a staff change starts from: what the clerk saw, and the
/// payment version a payment booking would have bumped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvoiceForChange {
    /// The summary (status, flags, revision).
    pub overview: InvoiceOverview,
    /// Payment bookings' optimistic version (absent = 0).
    pub payment_version: u64,
}

/// What a staff change to an invoice does beside the audit record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InvoiceChange {
    /// Set (or replace) a dunning block.
    Block(DunningBlock),
    /// Lift the block; dunning resumes from `today` if nothing else stops it.
    LiftBlock {
        /// The day it is lifted.
        today: NaiveDate,
    },
    /// Flag a dispute: never dunned while it stands.
    Dispute(Dispute),
    /// Resolve the dispute; dunning resumes from `today` if nothing else
    /// stops it.
    ResolveDispute {
        /// The day it is resolved.
        today: NaiveDate,
    },
    /// Forget the failed delivery (and its needs-attention entry) so that
    /// the delivery queue's next request for it sends again.
    ResetDelivery {
        /// The seller, whose attention list holds the entry.
        entity: BillingEntityId,
    },
    /// Write off what is open of an uncollectible invoice: it leaves
    /// dunning and the aging (nothing is open any more), and the journal
    /// books the amount as bad debt with the VAT correction of §17 UStG.
    WriteOff(WriteOff),
}

/// A clerk's write-off of an uncollectible invoice, as recorded on it
/// (`written_off`, JSON; `written_off_amount` lowers what it asks for, as
/// `credited_amount` does).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WriteOff {
    /// The day it was written off, in the seller's time zone.
    pub on: NaiveDate,
    /// What was open and is written off (gross).
    pub amount: Money,
    /// Why it is uncollectible, in the clerk's words.
    pub reason: String,
    /// Who wrote it off (the user id, never an e-mail address).
    pub by: String,
    /// When it was recorded (a period closed before is not reopened: the
    /// journal books it into the next open period).
    pub recorded_at: chrono::DateTime<chrono::Utc>,
}

impl WriteOff {
    /// The audit entry of writing `invoice` off like this: one record of
    /// what the API and the CLI do (`invoice.write_off`, the status and
    /// open amount before and after).
    pub fn audit_entry(&self, invoice: &InvoiceOverview, actor: Actor) -> AuditEntry {
        AuditEntry {
            actor,
            at: self.recorded_at,
            action: "invoice.write_off".to_owned(),
            invoice_id: Some(invoice.invoice_id.clone()),
            account_id: invoice.account_id.clone(),
            reason: Some(self.reason.clone()),
            change: serde_json::json!({
                "before": {"status": invoice.status,
                           "open": invoice.open_amount.amount().to_string()},
                "after": {"status": InvoiceStatus::WrittenOff, "open": "0",
                          "written_off": self.amount.amount().to_string(),
                          "on": self.on},
            }),
        }
    }
}

/// Why a re-send was refused while the revision still matched.
const NOT_RESENDABLE: &str =
    "its delivery cannot be re-sent: documents not archived or a delivery is under way";

/// Why a write-off was refused while the revision still matched.
const NOT_WRITABLE_OFF: &str = "only an open or partly paid invoice can be written off, \
     for exactly what is open";

/// Delivery attributes a re-send clears (see `delivery.rs`).
const DELIVERY_ATTRIBUTES: [Attr; 9] = [
    DELIVERY_STATUS,
    DELIVERY_RANK,
    DELIVERY_MESSAGE_ID,
    DELIVERY_SENT_AT,
    DELIVERY_REASON,
    DELIVERY_EVENT_AT,
    DELIVERY_CLAIM,
    DELIVERY_CLAIM_EXPIRES,
    DELIVERY_CLAIM_EXPIRES_AT,
];

impl BillingStore {
    /// An invoice with what a staff change is conditioned on.
    pub async fn invoice_for_change(
        &self,
        id: &InvoiceId,
    ) -> Result<Option<InvoiceForChange>, StoreError> {
        let what = format!("invoice {id}");
        let Some(item) = self.get(keys::invoice(id)).await? else {
            return Ok(None);
        };
        if crate::attributes::read_optional_s(&item, STATUS) == Some("unnumbered") {
            return Ok(None);
        }
        let payment_version = crate::payment::InvoicePayments::read(&item, &what)?.payment_version;
        Ok(Some(InvoiceForChange {
            overview: InvoiceOverview::read(&item, &what)?,
            payment_version,
        }))
    }

    /// Applies one staff change to the invoice read as `read`, if its
    /// revision (`expected_revision`, from `If-Match`) and payment version
    /// are still the stored ones, with its audit entry, in one transaction.
    /// Returns the new revision.
    pub async fn change_invoice(
        &self,
        read: &InvoiceForChange,
        expected_revision: u64,
        change: &InvoiceChange,
        audit: &AuditEntry,
    ) -> Result<u64, StoreError> {
        let invoice = &read.overview;
        let id = &invoice.invoice_id;
        let what = format!("invoice {id}");
        if expected_revision != invoice.revision {
            return Err(StoreError::RevisionMismatch { what });
        }
        let (revision_check, revision_value) = revision_condition(expected_revision);
        let mut set = vec![format!("{REVISION} = :next_revision")];
        let mut remove: Vec<Attr> = Vec::new();
        let mut values: Vec<(&str, AttributeValue)> =
            vec![(":next_revision", n(expected_revision + 1))];
        let mut extra: Vec<TransactWriteItem> = Vec::new();
        let mut condition = format!("attribute_exists({PK}) AND {revision_check}");
        // Whether lifting a block or dispute returns the invoice to the sweep
        // on `day`: the domain's one rule, for invoices (credit notes and
        // corrections are never dunned).
        let dunnable_on = |day: NaiveDate, blocked: bool, disputed: bool| {
            invoice.document_type == DocumentType::Invoice
                && DunningStanding {
                    state: invoice.state(),
                    handed_over: invoice.collection_since.is_some(),
                    blocked,
                    block_until: None,
                    disputed,
                }
                .may_be_dunned(day)
        };
        let mut resume: Option<NaiveDate> = None;
        let mut refusal = NOT_RESENDABLE;
        match change {
            InvoiceChange::Block(block) => {
                let encoded = serde_json::to_string(block)
                    .map_err(|e| StoreError::corrupt("dunning block", e))?;
                set.push(format!("{DUNNING_BLOCK} = :block"));
                values.push((":block", s(encoded)));
                // With an end date it returns to the sweep the day after.
                match block.until.and_then(|until| until.succ_opt()) {
                    Some(day) if dunnable_on(day, false, invoice.disputed) => resume = Some(day),
                    _ => {
                        remove.push(DUNNING_SHARD);
                        remove.push(DUNNING_AT);
                    }
                }
            }
            InvoiceChange::LiftBlock { today } => {
                remove.push(DUNNING_BLOCK);
                if dunnable_on(*today, false, invoice.disputed) {
                    resume = Some((*today).max(invoice.due_date));
                }
            }
            InvoiceChange::Dispute(dispute) => {
                let encoded = serde_json::to_string(dispute)
                    .map_err(|e| StoreError::corrupt(DISPUTE.name(), e))?;
                set.push(format!("{DISPUTE} = :dispute"));
                values.push((":dispute", s(encoded)));
                remove.push(DUNNING_SHARD);
                remove.push(DUNNING_AT);
            }
            InvoiceChange::ResolveDispute { today } => {
                remove.push(DISPUTE);
                if dunnable_on(*today, invoice.dunning_blocked, false) {
                    resume = Some((*today).max(invoice.due_date));
                }
            }
            InvoiceChange::ResetDelivery { entity } => {
                remove.extend(DELIVERY_ATTRIBUTES);
                condition.push_str(&format!(
                    " AND {DOCUMENT_STATUS} = :archived \
                     AND (attribute_not_exists({DELIVERY_STATUS}) \
                     OR {DELIVERY_STATUS} IN (:failed, :bounced, :complained))"
                ));
                values.push((":archived", s("archived")));
                values.push((":failed", s("failed")));
                values.push((":bounced", s("bounced")));
                values.push((":complained", s("complained")));
                let delete = Delete::builder()
                    .table_name(&self.table)
                    .set_key(Some(key_item(keys::attention(entity, id))))
                    .build()
                    .map_err(|e| StoreError::corrupt("transaction item", e))?;
                extra.push(TransactWriteItem::builder().delete(delete).build());
            }
            InvoiceChange::WriteOff(write_off) => {
                refusal = NOT_WRITABLE_OFF;
                if invoice.document_type != DocumentType::Invoice
                    || invoice.state() != InvoiceState::Open
                    || write_off.amount != invoice.open_amount
                {
                    return Err(StoreError::Refused {
                        what,
                        reason: NOT_WRITABLE_OFF.to_owned(),
                    });
                }
                let encoded = serde_json::to_string(write_off)
                    .map_err(|e| StoreError::corrupt("write-off", e))?;
                set.push(format!("{WRITTEN_OFF} = :written_off"));
                set.push(format!("{WRITTEN_OFF_AMOUNT} = :written_off_amount"));
                set.push(format!("{OPEN_AMOUNT} = :zero"));
                set.push(format!("{STATUS} = :written_off_status"));
                values.push((":written_off", s(encoded)));
                values.push((
                    ":written_off_amount",
                    s(write_off.amount.amount().to_string()),
                ));
                values.push((":zero", s("0")));
                values.push((":written_off_status", s(InvoiceStatus::WrittenOff.as_str())));
                values.push((":open", s("open")));
                values.push((":partially_paid", s("partially_paid")));
                condition.push_str(&format!(
                    " AND {STATUS} IN (:open, :partially_paid) \
                     AND attribute_not_exists({WRITTEN_OFF})"
                ));
                remove.push(DUNNING_SHARD);
                remove.push(DUNNING_AT);
                remove.push(OPEN_KEY);
            }
        }
        if let Some(day) = resume {
            let (shard, at) = keys::dunning_due(id, day);
            set.push(format!("{DUNNING_SHARD} = :shard"));
            set.push(format!("{DUNNING_AT} = :at"));
            values.push((":shard", s(shard)));
            values.push((":at", s(at)));
        }
        // A payment booked since the read may have paid the invoice: then
        // putting it back into the dunning index would dun a paid invoice.
        if read.payment_version == 0 {
            condition.push_str(&format!(" AND attribute_not_exists({PAYMENT_VERSION})"));
        } else {
            condition.push_str(&format!(" AND {PAYMENT_VERSION} = :payment_version"));
            values.push((":payment_version", n(read.payment_version)));
        }
        let mut expression = format!("SET {}", set.join(", "));
        if !remove.is_empty() {
            let remove: Vec<String> = remove.iter().map(Attr::to_string).collect();
            expression.push_str(&format!(" REMOVE {}", remove.join(", ")));
        }
        let mut update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key_item(keys::invoice(id))))
            .update_expression(expression)
            .condition_expression(condition);
        if let Some(value) = revision_value {
            update = update.expression_attribute_values(":revision", value);
        }
        for (name, value) in values {
            update = update.expression_attribute_values(name, value);
        }
        let update = update
            .named()
            .build()
            .map_err(|e| StoreError::corrupt("transaction item", e))?;
        let mut items = vec![TransactWriteItem::builder().update(update).build()];
        items.extend(extra);
        items.extend(audit.transact_items(&self.table)?);
        // Item 0 is the change (the audit puts after it are new keys).
        match self.transact(items).await? {
            Outcome::Written => Ok(expected_revision + 1),
            Outcome::Cancelled(cancelled) if cancelled.condition_failed(0) => {
                match self.invoice_for_change(id).await? {
                    None => Err(StoreError::NotFound { what }),
                    Some(now)
                        if now.overview.revision == expected_revision
                            && now.payment_version == read.payment_version =>
                    {
                        Err(StoreError::Refused {
                            what,
                            reason: refusal.to_owned(),
                        })
                    }
                    Some(_) => Err(StoreError::RevisionMismatch { what }),
                }
            }
            Outcome::Cancelled(cancelled) => Err(cancelled.into_error()),
        }
    }
}

#[cfg(test)]
mod tests {
    use billing_domain::ids::AccountId;
    use billing_domain::money::Currency;
    use billing_domain::staff::StaffRole;
    use chrono::{TimeZone, Utc};
    use rust_decimal::Decimal;

    use super::*;

    /// The one record the staff API and the CLI write for a write-off:
    /// who, why, and the status and open amount before and after.
    #[test]
    fn a_write_off_is_audited_with_what_was_open_before_and_nothing_after() {
        let eur = |cents| Money::new(Decimal::new(cents, 2), Currency::EUR);
        let day = |d| NaiveDate::from_ymd_opt(2026, 3, d).unwrap();
        let invoice = InvoiceOverview {
            invoice_id: InvoiceId::new("inv_1"),
            invoice_number: "RE-2026-000001".to_owned(),
            account_id: AccountId::new("acc_1"),
            billing_entity_id: BillingEntityId::new("ent_1"),
            document_type: DocumentType::Invoice,
            status: InvoiceStatus::PartiallyPaid,
            issue_date: day(1),
            due_date: day(15),
            total: eur(11900),
            open_amount: eur(4250),
            paid_in_full_on: None,
            dunning_level: 2,
            delivery_status: None,
            document_status: None,
            dunning_blocked: false,
            disputed: false,
            collection_since: None,
            revision: 3,
        };
        let write_off = WriteOff {
            on: day(31),
            amount: invoice.open_amount,
            reason: "insolvent".to_owned(),
            by: "user-7".to_owned(),
            recorded_at: Utc.with_ymd_and_hms(2026, 3, 31, 9, 0, 0).unwrap(),
        };
        let actor = Actor {
            user: "user-7".to_owned(),
            role: StaffRole::Billing,
        };
        let entry = write_off.audit_entry(&invoice, actor.clone());
        assert_eq!(entry.actor, actor);
        assert_eq!(entry.at, write_off.recorded_at);
        assert_eq!(entry.action, "invoice.write_off");
        assert_eq!(entry.invoice_id, Some(invoice.invoice_id.clone()));
        assert_eq!(entry.account_id, invoice.account_id);
        assert_eq!(entry.reason.as_deref(), Some("insolvent"));
        assert_eq!(
            entry.change,
            serde_json::json!({
                "before": {"status": "partially_paid", "open": "42.50"},
                "after": {"status": "written_off", "open": "0",
                          "written_off": "42.50", "on": "2026-03-31"},
            })
        );
    }
}
