//! Direct debits that came back: returned after settlement (a camt.053 or
//! camt.054 debit with a return reason) or rejected before it (a pain.002
//! status report with `RJCT`).
//!
//! A return is booked like any bank entry (`book_entry`: the negative
//! payment reopens the invoice), and in the same transaction the return's
//! `PAYMENT#` item keeps the bank's reason code and fee, and the invoice's
//! and the customer's audit trails get the entry (`invoice.direct_debit_return`).
//! A rejection moved no money: it records its marker and the audit entry
//! (`invoice.direct_debit_rejected`) in one transaction. Either way the
//! import then puts the invoice back into dunning
//! ([`BillingStore::resume_dunning_after_return`]) and, for a reason that
//! means the mandate is gone, blocks it
//! ([`BillingStore::block_mandate_after_return`]) so the next collection
//! lists the customer for attention instead of failing again.

use billing_domain::direct_debit::{MandateStatus, describe_return_reason};
use billing_domain::ids::{AccountId, InvoiceId};
use billing_domain::money::Money;
use chrono::{DateTime, NaiveDate, Utc};
use serde_json::json;

use crate::attributes::{key_item, s};
use crate::audit::{Actor, AuditEntry};
use crate::codec::{self, ItemAttributes};
use crate::invoice::InvoiceStatus;
use crate::keys;
use crate::payment::{EntryBooked, EntryBooking, InvoicePayments};
use crate::transaction::Outcome;
use crate::{BillingStore, StoreError, StoredMandate};

/// What the bank said about a direct debit it returned or rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirectDebitReturn {
    /// The reason code (ISO 20022 external code, AT-R3 of the rulebooks),
    /// if the bank gave one; a reversal without a reason has none.
    pub reason_code: Option<String>,
    /// The bank's fee for the return, if the statement shows one; in the
    /// currency of the return.
    pub bank_fee: Option<Money>,
    /// Who records it on the audit trail (the import, in the billing role).
    pub actor: Actor,
}

impl DirectDebitReturn {
    /// The reason in words for the audit trail: the code and its meaning.
    pub fn reason(&self) -> String {
        self.reason_code
            .as_deref()
            .map(describe_return_reason)
            .unwrap_or_else(|| "reversal without a reason code".to_owned())
    }

    /// The audit entry of a return booked on `invoice` (as read before) that
    /// leaves it `after`.
    pub(crate) fn audit(
        &self,
        booking: &EntryBooking,
        invoice: &InvoicePayments,
        returned: Money,
        after: &billing_domain::payment::PaymentSummary,
    ) -> AuditEntry {
        AuditEntry {
            actor: self.actor.clone(),
            at: booking.booked_at,
            action: "invoice.direct_debit_return".to_owned(),
            invoice_id: Some(invoice.invoice_id.clone()),
            account_id: invoice.account_id.clone(),
            reason: Some(self.reason()),
            change: json!({
                "before": {
                    "status": InvoiceStatus::from(invoice.summary.status),
                    "open_amount": invoice.summary.open.amount().to_string(),
                },
                "after": {
                    "status": InvoiceStatus::from(after.status),
                    "open_amount": after.open.amount().to_string(),
                },
                "returned": returned.amount().abs().to_string(),
                "currency": returned.currency().code(),
                "reason_code": self.reason_code,
                "bank_fee": self.bank_fee.map(|fee| fee.amount().to_string()),
                "value_date": booking.value_date,
                "statement_id": booking.statement_id,
                "entry_id": booking.entry_id,
            }),
        }
    }
}

/// A collection the bank rejected before settlement (pain.002 `RJCT`), as
/// recorded on its invoice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirectDebitRejection {
    /// The status report's identity (see [`crate::statement_key`]): a
    /// report imported twice records nothing the second time.
    pub report_id: String,
    /// The rejected transaction within it: its original end-to-end id.
    pub transaction_id: String,
    /// The invoice it collected.
    pub invoice_id: InvoiceId,
    /// Its customer.
    pub account_id: AccountId,
    /// The reason code and who records it (no fee: nothing was booked).
    pub returned: DirectDebitReturn,
    /// The day of the report.
    pub on: NaiveDate,
    /// When it was recorded.
    pub at: DateTime<Utc>,
}

/// What blocking a mandate after a return found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MandateBlocked {
    /// Blocked now (the mandate at its new revision).
    Blocked(Box<StoredMandate>),
    /// It was blocked or revoked before: nothing changed.
    AlreadyStopped,
    /// No stored mandate has this reference for the creditor.
    Unknown,
}

impl BillingStore {
    /// Books a returned direct debit: `booking` as [`BillingStore::book_entry`]
    /// books it (one invoice, a negative amount), with the reason code and
    /// the bank's fee on the return's payment item and the audit entry on
    /// the invoice's and the customer's trails, all in one transaction.
    pub async fn book_return(
        &self,
        booking: &EntryBooking,
        returned: &DirectDebitReturn,
    ) -> Result<EntryBooked, StoreError> {
        self.book_entry_with(booking, Some(returned)).await
    }

    /// Records a pain.002 rejection on its invoice: the report's marker
    /// for the transaction and the audit entry, in one transaction. `false`
    /// when the report's transaction was recorded before (nothing changed).
    pub async fn record_rejection(
        &self,
        rejection: &DirectDebitRejection,
    ) -> Result<bool, StoreError> {
        let mut marker = key_item(keys::statement_entry_key(
            &rejection.report_id,
            &rejection.transaction_id,
        ));
        marker.put(codec::RECORD_TYPE, s("statement_entry"));
        marker.put(codec::payment::OUTCOME, s("rejected"));
        marker.put(codec::payment::INVOICE_ID, s(rejection.invoice_id.as_str()));
        if let Some(code) = &rejection.returned.reason_code {
            marker.put(codec::payment::REASON_CODE, s(code));
        }
        let audit = AuditEntry {
            actor: rejection.returned.actor.clone(),
            at: rejection.at,
            action: "invoice.direct_debit_rejected".to_owned(),
            invoice_id: Some(rejection.invoice_id.clone()),
            account_id: rejection.account_id.clone(),
            reason: Some(rejection.returned.reason()),
            change: json!({
                "reason_code": rejection.returned.reason_code,
                "rejected_on": rejection.on,
                "report_id": rejection.report_id,
                "end_to_end_id": rejection.transaction_id,
            }),
        };
        let mut items = vec![self.put_new(marker)?];
        items.extend(audit.transact_items(&self.table)?);
        match self.transact(items).await? {
            Outcome::Written => Ok(true),
            Outcome::Cancelled(cancelled) if cancelled.condition_failed(0) => Ok(false),
            Outcome::Cancelled(cancelled) => Err(cancelled.into_error()),
        }
    }

    /// Blocks the mandate `reference` of `creditor` from `since` after a
    /// return or reject whose reason means the mandate or the account is
    /// gone, with the reason in words and the audit entry
    /// (`account.mandate.block`, naming the invoice). A mandate already
    /// blocked or revoked is left as it is; a reference no stored mandate
    /// has is reported, not an error (the bank's file may name a mandate
    /// recorded elsewhere).
    pub async fn block_mandate_after_return(
        &self,
        creditor: &str,
        reference: &str,
        since: NaiveDate,
        invoice: &InvoicePayments,
        returned: &DirectDebitReturn,
        at: DateTime<Utc>,
    ) -> Result<MandateBlocked, StoreError> {
        let Some(account) = self.mandate_reference_holder(creditor, reference).await? else {
            return Ok(MandateBlocked::Unknown);
        };
        // A clerk's change may race the import: read again and retry once
        // per lost race (the change is conditioned on the revision read).
        for _ in 0..3 {
            let Some(read) = self.mandates(&account).await?.into_iter().find(|stored| {
                stored.mandate.reference.as_str() == reference
                    && stored.mandate.creditor_identifier.as_str() == creditor
            }) else {
                return Ok(MandateBlocked::Unknown);
            };
            if !matches!(read.mandate.status, MandateStatus::Active) {
                return Ok(MandateBlocked::AlreadyStopped);
            }
            let reason = format!(
                "the direct debit of invoice {} came back with {}",
                invoice.number,
                returned.reason()
            );
            let mut changed = read.mandate.clone();
            changed.status = MandateStatus::Blocked {
                since,
                reason: reason.clone(),
            };
            let audit = AuditEntry {
                actor: returned.actor.clone(),
                at,
                action: "account.mandate.block".to_owned(),
                invoice_id: None,
                account_id: account.clone(),
                reason: Some(reason),
                change: json!({
                    "mandate_id": read.mandate_id,
                    "reference": read.mandate.reference,
                    "fields": ["status"], // a value, not an attribute
                    "before": {"status": "active"},
                    "after": {"status": "blocked", "since": since},
                    "invoice_id": invoice.invoice_id,
                    "reason_code": returned.reason_code,
                }),
            };
            match self
                .change_mandate(&read, read.revision, changed, &audit)
                .await
            {
                Ok(stored) => return Ok(MandateBlocked::Blocked(Box::new(stored))),
                Err(StoreError::RevisionMismatch { .. }) => continue,
                Err(other) => return Err(other),
            }
        }
        Err(StoreError::RevisionMismatch {
            what: format!("mandate {reference}"),
        })
    }
}
