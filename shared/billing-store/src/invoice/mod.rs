//! Finalized invoices as stored, and the record of their archived documents.

use aws_sdk_dynamodb::types::AttributeValue;
use billing_domain::ids::{AccountId, InvoiceId};
use billing_domain::invoice::Invoice;
use billing_domain::payment::PaymentStatus;
use serde::{Deserialize, Serialize};

use crate::attributes::{
    key_item, n, read_body, read_optional_s, read_s, read_time, read_u64, s, time,
};
use crate::codec::PK;
use crate::codec::invoice::{
    ACCOUNT_ID, DOCUMENT_ATTEMPTS, DOCUMENT_FAILED_AT, DOCUMENT_FAILURE, DOCUMENT_FAILURE_CODE,
    DOCUMENT_STATUS, DOCUMENTS,
};
use crate::{BillingStore, StoreError, keys};

pub(crate) mod change;
pub(crate) mod overview;

/// Whether an invoice's documents still have to be produced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DocumentStatus {
    /// Finalized; rendering requested (the stream pipe announces it).
    Pending,
    /// PDF and XML are in the archive.
    Archived,
}

impl DocumentStatus {
    /// The stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            DocumentStatus::Pending => "pending",
            DocumentStatus::Archived => "archived",
        }
    }

    pub(crate) fn parse(stored: &str) -> Option<Self> {
        Some(match stored {
            "pending" => DocumentStatus::Pending,
            "archived" => DocumentStatus::Archived,
            _ => return None,
        })
    }
}

/// Where an invoice stands (its stored `status`): what its payments, a
/// cancellation or a write-off made of it. Staff lists filter by it, the
/// dunning rules and the API's write checks decide by it; it leaves the
/// store as this type, never as a string.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InvoiceStatus {
    /// Nothing (net) received yet.
    Open,
    /// Some received, some still open.
    PartiallyPaid,
    /// Settled (an overpayment's surplus is customer credit).
    Paid,
    /// Cancelled by a credit note for its whole amount.
    Cancelled,
    /// Written off as uncollectible (§17 UStG).
    WrittenOff,
    /// A credit note: nothing is payable on it, it settled its original.
    Applied,
}

impl InvoiceStatus {
    /// Every status, in the order staff see them.
    pub const ALL: [Self; 6] = [
        Self::Open,
        Self::PartiallyPaid,
        Self::Paid,
        Self::Cancelled,
        Self::WrittenOff,
        Self::Applied,
    ];

    /// The stored (and API) form.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::PartiallyPaid => "partially_paid",
            Self::Paid => "paid",
            Self::Cancelled => "cancelled",
            Self::WrittenOff => "written_off", // a value, not an attribute
            Self::Applied => "applied",
        }
    }

    /// The status stored as `stored`, if it is one.
    pub fn parse(stored: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|status| status.as_str() == stored)
    }

    /// Whether something is still to be paid on it.
    pub fn is_open(self) -> bool {
        matches!(self, Self::Open | Self::PartiallyPaid)
    }
}

impl From<PaymentStatus> for InvoiceStatus {
    fn from(status: PaymentStatus) -> Self {
        match status {
            PaymentStatus::Open => Self::Open,
            PaymentStatus::PartiallyPaid => Self::PartiallyPaid,
            PaymentStatus::Paid | PaymentStatus::Overpaid => Self::Paid,
        }
    }
}

impl std::fmt::Display for InvoiceStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One archived file of an invoice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArchivedDocument {
    /// S3 key in the documents bucket.
    pub key: String,
    /// Hex SHA-256 of the stored bytes.
    pub sha256: String,
    /// MIME type, e.g. `application/pdf`.
    pub content_type: String,
}

/// An invoice as stored: the immutable document plus its processing state.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredInvoice {
    /// The finalized invoice (never changes).
    pub invoice: Invoice,
    /// The customer's account.
    pub account_id: AccountId,
    /// Whether its documents are archived.
    pub document_status: DocumentStatus,
    /// The archived files, once recorded.
    pub documents: Vec<ArchivedDocument>,
    /// The e-mail's state, once delivery was attempted.
    pub delivery: Option<crate::DeliveryState>,
    /// Why the last attempt to produce the documents failed, while they
    /// are still pending.
    pub document_failure: Option<DocumentFailure>,
    /// Staff-write revision (the API's ETag `"r<revision>"`); 0 before the
    /// first staff change.
    pub revision: u64,
}

/// The last failed attempt at an invoice's documents: the queue message
/// that ends in the dead-letter queue names the invoice, and the invoice
/// says why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocumentFailure {
    /// Stable code, e.g. `render_failed`.
    pub code: String,
    /// The error text (never personal data).
    pub reason: String,
    /// When it failed.
    pub at: chrono::DateTime<chrono::Utc>,
    /// How many attempts have failed so far.
    pub attempts: u64,
}

/// What happened when documents were recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DocumentsRecorded {
    /// First record: the invoice is now archived.
    Recorded,
    /// The same documents were recorded before: nothing changed.
    AlreadyRecorded,
    /// Different documents were recorded before: nothing changed, and the
    /// caller must report it (an archived invoice is never replaced).
    Different(Vec<ArchivedDocument>),
}

impl BillingStore {
    /// An invoice by id.
    pub async fn invoice(&self, id: &InvoiceId) -> Result<Option<StoredInvoice>, StoreError> {
        let what = format!("invoice {id}");
        let output = self.get(keys::invoice(id)).await?;
        let Some(item) = output.as_ref() else {
            return Ok(None);
        };
        let document_status =
            crate::attributes::read_named(item, DOCUMENT_STATUS, &what, DocumentStatus::parse)?;
        let documents = match read_optional_s(item, DOCUMENTS) {
            Some(text) => serde_json::from_str(text)
                .map_err(|e| StoreError::corrupt(&what, format!("documents: {e}")))?,
            None => Vec::new(),
        };
        Ok(Some(StoredInvoice {
            invoice: read_body(item, &what)?,
            account_id: AccountId::new(read_s(item, ACCOUNT_ID, &what)?),
            document_status,
            documents,
            delivery: crate::DeliveryState::read(item, &what)?,
            document_failure: read_optional_s(item, DOCUMENT_FAILURE)
                .map(|reason| -> Result<DocumentFailure, StoreError> {
                    Ok(DocumentFailure {
                        code: read_s(item, DOCUMENT_FAILURE_CODE, &what)?.to_owned(),
                        reason: reason.to_owned(),
                        at: read_time(item, DOCUMENT_FAILED_AT, &what)?,
                        attempts: read_u64(item, DOCUMENT_ATTEMPTS, &what)?,
                    })
                })
                .transpose()?,
            revision: crate::audit::read_revision(item, &what)?,
        }))
    }

    /// Record the archived documents of an invoice, once. A second call with
    /// the same documents changes nothing; with different ones it changes
    /// nothing and says so.
    pub async fn record_documents(
        &self,
        id: &InvoiceId,
        documents: &[ArchivedDocument],
    ) -> Result<DocumentsRecorded, StoreError> {
        let what = format!("invoice {id}");
        let encoded = serde_json::to_string(documents)
            .map_err(|e| StoreError::corrupt(&what, format!("documents: {e}")))?;
        let update = self
            .update_item()
            .set_key(Some(key_item(keys::invoice(id))))
            .update_expression(format!(
                "SET {DOCUMENT_STATUS} = :archived, {DOCUMENTS} = :documents \
                 REMOVE {DOCUMENT_FAILURE}, {DOCUMENT_FAILURE_CODE}, {DOCUMENT_FAILED_AT}"
            ))
            .condition_expression(format!(
                "attribute_exists({PK}) AND {DOCUMENT_STATUS} = :pending"
            ))
            .expression_attribute_values(":archived", s(DocumentStatus::Archived.as_str()))
            .expression_attribute_values(":pending", s(DocumentStatus::Pending.as_str()))
            .expression_attribute_values(":documents", AttributeValue::S(encoded));
        match self.update_if(update).await? {
            Some(_) => Ok(DocumentsRecorded::Recorded),
            None => {
                let stored = self
                    .invoice(id)
                    .await?
                    .ok_or_else(|| StoreError::NotFound { what: what.clone() })?;
                if stored.documents == documents {
                    Ok(DocumentsRecorded::AlreadyRecorded)
                } else {
                    Ok(DocumentsRecorded::Different(stored.documents))
                }
            }
        }
    }

    /// Records why producing the documents of a pending invoice failed
    /// (overwriting the previous attempt's reason and counting attempts).
    /// An invoice archived meanwhile, or gone, is left alone.
    pub async fn record_document_failure(
        &self,
        id: &InvoiceId,
        code: &str,
        reason: &str,
        at: chrono::DateTime<chrono::Utc>,
    ) -> Result<(), StoreError> {
        let update = self
            .update_item()
            .set_key(Some(key_item(keys::invoice(id))))
            .update_expression(format!(
                "SET {DOCUMENT_FAILURE} = :reason, {DOCUMENT_FAILURE_CODE} = :code, \
                 {DOCUMENT_FAILED_AT} = :at, \
                 {DOCUMENT_ATTEMPTS} = if_not_exists({DOCUMENT_ATTEMPTS}, :zero) + :one"
            ))
            .condition_expression(format!(
                "attribute_exists({PK}) AND {DOCUMENT_STATUS} = :pending"
            ))
            .expression_attribute_values(":reason", s(reason))
            .expression_attribute_values(":code", s(code))
            .expression_attribute_values(":at", time(at))
            .expression_attribute_values(":zero", n(0))
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":pending", s(DocumentStatus::Pending.as_str()));
        match self.update_if(update).await? {
            Some(_) => Ok(()),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invoice_statuses_keep_their_stored_and_api_spelling() {
        // The stored layout and the API's JSON: pinned, since lists filter
        // on the stored value and clients on the JSON one.
        let spelled: Vec<(&str, String)> = InvoiceStatus::ALL
            .iter()
            .map(|status| {
                (
                    status.as_str(),
                    serde_json::to_string(status).unwrap_or_default(),
                )
            })
            .collect();
        assert_eq!(
            spelled,
            [
                ("open", "\"open\"".to_owned()),
                ("partially_paid", "\"partially_paid\"".to_owned()),
                ("paid", "\"paid\"".to_owned()),
                ("cancelled", "\"cancelled\"".to_owned()),
                ("written_off", "\"written_off\"".to_owned()),
                ("applied", "\"applied\"".to_owned()),
            ]
        );
        for status in InvoiceStatus::ALL {
            assert_eq!(InvoiceStatus::parse(status.as_str()), Some(status));
        }
        assert_eq!(InvoiceStatus::parse("overpaid"), None);
        assert_eq!(
            InvoiceStatus::from(PaymentStatus::Overpaid),
            InvoiceStatus::Paid
        );
        assert!(InvoiceStatus::PartiallyPaid.is_open());
        assert!(!InvoiceStatus::WrittenOff.is_open());
    }
}
