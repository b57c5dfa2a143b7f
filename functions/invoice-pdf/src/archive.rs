//! The documents bucket as an archive that never replaces a document.
//!
//! Keys are derived from the invoice alone (`invoices/<entity>/<year>/
//! <number>.pdf`), so every render of an invoice targets the same objects.
//! Each object is written with a conditional put (`If-None-Match: *`): S3
//! itself refuses to overwrite, so two concurrent renders cannot both win.
//! When the key exists, the stored SHA-256 is compared: identical bytes are
//! a no-op, anything else is a conflict that is reported and left alone.
//! Each object is locked until its retention ends, counted from the end of
//! the year the document was issued (`billing_domain::retention`).

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::primitives::DateTime as S3DateTime;
use aws_sdk_s3::types::{ChecksumAlgorithm, ChecksumMode, ObjectLockMode};
use billing_domain::invoice::Invoice;
use billing_domain::retention::{LockMode, Retention};
use billing_store::ArchivedDocument;
use chrono::{DateTime, Datelike, Utc};
use sha2::{Digest, Sha256};

use crate::error::InvoicePdfError;

/// PDF content type.
pub const PDF: &str = "application/pdf";
/// XML content type (as Factur-X declares the attachment).
pub const XML: &str = "text/xml";

/// One file to archive.
#[derive(Debug, Clone)]
pub struct Document {
    /// Deterministic key.
    pub key: String,
    /// MIME type.
    pub content_type: &'static str,
    /// The bytes.
    pub bytes: Vec<u8>,
    /// Their SHA-256, computed once: recorded on the invoice, sent to S3 as
    /// the checksum, compared with an existing object.
    sha256: [u8; 32],
}

impl Document {
    /// A document to archive under `key`.
    pub fn new(key: String, content_type: &'static str, bytes: Vec<u8>) -> Self {
        let sha256 = Sha256::digest(&bytes).into();
        Self {
            key,
            content_type,
            bytes,
            sha256,
        }
    }

    /// The record kept on the invoice: key, hex SHA-256, content type.
    pub fn record(&self) -> ArchivedDocument {
        ArchivedDocument {
            key: self.key.clone(),
            sha256: hex::encode(self.sha256),
            content_type: self.content_type.to_owned(),
        }
    }
}

/// What archiving one document did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Archived {
    /// The object was written now.
    Stored,
    /// The same bytes were already archived: nothing written.
    AlreadyStored,
}

/// The key prefix of an invoice's documents: `invoices/<entity>/<year>/<number>`.
/// Characters other than letters, digits, `-`, `_` and `.` become `_`, so a
/// number pattern with `/` cannot create extra folders.
pub fn key_stem(invoice: &Invoice) -> String {
    let content = invoice.content();
    format!(
        "invoices/{}/{}/{}",
        billing_store::keys::object_key_segment(content.billing_entity_id.as_str()),
        content.issue_date.year(),
        billing_store::keys::object_key_segment(invoice.number().as_str())
    )
}

/// The key of a dunning letter's PDF, next to the invoices:
/// `letters/<entity>/<year>/<letter id>.pdf`.
pub fn letter_key(letter: &billing_domain::dunning_letter::DunningLetter) -> String {
    format!(
        "letters/{}/{}/{}.pdf",
        billing_store::keys::object_key_segment(letter.billing_entity_id.as_str()),
        letter.date.year(),
        billing_store::keys::object_key_segment(&letter.letter_id)
    )
}

/// The retention the template configures for the archive
/// (`DOCUMENT_RETENTION_MODE`, `DOCUMENT_RETENTION_YEARS`, from the stack's
/// `DocumentRetentionMode` and `DocumentRetentionYears`).
pub fn retention_from_env() -> Result<Retention, lambda_runtime::Error> {
    let mode = billing_lambda::config::required("DOCUMENT_RETENTION_MODE")?;
    let years = billing_lambda::config::required("DOCUMENT_RETENTION_YEARS")?;
    Ok(Retention::parse(&mode, &years)?)
}

/// The documents bucket.
#[derive(Debug, Clone)]
pub struct DocumentArchive {
    s3: aws_sdk_s3::Client,
    bucket: String,
    retention: Retention,
}

impl DocumentArchive {
    /// The retention the archive locks documents for.
    pub fn retention(&self) -> Retention {
        self.retention
    }

    /// The archive in `bucket` (the template's `DOCUMENTS_BUCKET`), locking
    /// each document for `retention` (`DOCUMENT_RETENTION_MODE`, `_YEARS`).
    pub fn new(s3: aws_sdk_s3::Client, bucket: impl Into<String>, retention: Retention) -> Self {
        Self {
            s3,
            bucket: bucket.into(),
            retention,
        }
    }

    /// Stores an invoice's `document` unless it is already there with the
    /// same bytes, with the invoice id and number as metadata.
    pub async fn put_once(
        &self,
        invoice: &Invoice,
        document: &Document,
    ) -> Result<Archived, InvoicePdfError> {
        self.put_once_labelled(
            document,
            self.retention.locked_until(invoice.content().issue_date),
            &[
                ("invoice-id", invoice.content().id.as_str()),
                ("invoice-number", invoice.number().as_str()),
            ],
        )
        .await
    }

    /// Stores `document`, locked until `locked_until`, unless it is
    /// already there with the same bytes.
    ///
    /// The object carries content type, its SHA-256 as an S3 checksum
    /// (verified by S3 on upload, and satisfying Object Lock's integrity
    /// requirement), an Object Lock until the end of its retention, and
    /// `labels` as metadata (ids, never personal data). Encryption is the
    /// bucket's default: SSE-S3, or SSE-KMS with the stack's customer key.
    pub async fn put_once_labelled(
        &self,
        document: &Document,
        locked_until: DateTime<Utc>,
        labels: &[(&str, &str)],
    ) -> Result<Archived, InvoicePdfError> {
        let lock_mode = match self.retention.mode() {
            LockMode::Governance => ObjectLockMode::Governance,
            LockMode::Compliance => ObjectLockMode::Compliance,
        };
        let sha256_hex = hex::encode(document.sha256);
        let checksum = aws_smithy_types::base64::encode(document.sha256.as_slice());
        let mut put = self
            .s3
            .put_object()
            .bucket(&self.bucket)
            .key(&document.key)
            .body(ByteStream::from(document.bytes.clone()))
            .content_type(document.content_type)
            .object_lock_mode(lock_mode)
            .object_lock_retain_until_date(S3DateTime::from_secs(locked_until.timestamp()))
            .checksum_algorithm(ChecksumAlgorithm::Sha256)
            .checksum_sha256(&checksum)
            .metadata("sha256", &sha256_hex)
            .if_none_match("*");
        for (name, value) in labels {
            put = put.metadata(*name, *value);
        }
        let result = put.send().await;
        match result {
            Ok(_) => Ok(Archived::Stored),
            Err(err) if is_precondition_failed(&err) => {
                self.compare(&document.key, &sha256_hex, &checksum).await
            }
            Err(err) => Err(InvoicePdfError::archive("PutObject", &document.key, &err)),
        }
    }

    /// The key exists: identical bytes are fine, anything else is a conflict.
    async fn compare(
        &self,
        key: &str,
        sha256_hex: &str,
        sha256_base64: &str,
    ) -> Result<Archived, InvoicePdfError> {
        let head = self
            .s3
            .head_object()
            .bucket(&self.bucket)
            .key(key)
            .checksum_mode(ChecksumMode::Enabled)
            .send()
            .await
            .map_err(|err| InvoicePdfError::archive("HeadObject", key, &err))?;
        let stored_hex = head.metadata().and_then(|m| m.get("sha256"));
        let same = match (stored_hex, head.checksum_sha256()) {
            (Some(stored), _) => stored == sha256_hex,
            (None, Some(stored)) => stored == sha256_base64,
            (None, None) => false,
        };
        if same {
            Ok(Archived::AlreadyStored)
        } else {
            Err(InvoicePdfError::DifferentDocumentArchived {
                key: key.to_owned(),
            })
        }
    }
}

fn is_precondition_failed<E, R>(err: &aws_sdk_s3::error::SdkError<E, R>) -> bool
where
    E: aws_sdk_s3::error::ProvideErrorMetadata,
{
    err.as_service_error()
        .and_then(|e| e.code())
        .is_some_and(|code| code == "PreconditionFailed")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_deterministic_and_cannot_escape_their_folder() {
        let invoice = billing_documents::samples::german_consumer().unwrap();
        assert_eq!(
            key_stem(&invoice),
            "invoices/ent_sample/2026/RE-2026-000042"
        );
        assert_eq!(
            billing_store::keys::object_key_segment("RE/2026/../7"),
            "RE_2026_.._7"
        );
    }
}
