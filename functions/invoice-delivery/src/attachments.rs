//! The archived files an invoice e-mail carries, read back from the
//! documents bucket (never rendered again) and checked against the SHA-256
//! recorded when they were archived.

use aws_sdk_s3::error::DisplayErrorContext;
use billing_documents::mail::MailAttachment;
use billing_lambda::aws::sdk_error_disposition;
use billing_store::ArchivedDocument;
use sha2::{Digest, Sha256};

use crate::error::DeliveryError;

/// The documents bucket, read-only.
#[derive(Debug, Clone)]
pub struct ArchivedFiles {
    s3: aws_sdk_s3::Client,
    bucket: String,
}

impl ArchivedFiles {
    /// Reads from `bucket` (the template's `DOCUMENTS_BUCKET`).
    pub fn new(s3: aws_sdk_s3::Client, bucket: impl Into<String>) -> Self {
        Self {
            s3,
            bucket: bucket.into(),
        }
    }

    /// One archived file as an attachment named after its key's last part,
    /// refused if its bytes are not the ones recorded.
    pub async fn attachment(
        &self,
        document: &ArchivedDocument,
    ) -> Result<MailAttachment, DeliveryError> {
        let key = &document.key;
        let fail = |operation, error: String, disposition| DeliveryError::Archive {
            operation,
            key: key.clone(),
            disposition,
            message: error,
        };
        let object = self
            .s3
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| {
                fail(
                    "GetObject",
                    DisplayErrorContext(&e).to_string(),
                    sdk_error_disposition(&e),
                )
            })?;
        let bytes = object
            .body
            .collect()
            .await
            .map_err(|e| {
                fail(
                    "GetObject",
                    e.to_string(),
                    billing_lambda::Disposition::Retryable,
                )
            })?
            .into_bytes()
            .to_vec();
        let sha256 = hex::encode(Sha256::digest(&bytes));
        if sha256 != document.sha256 {
            return Err(DeliveryError::Document {
                key: key.clone(),
                reason: format!(
                    "its SHA-256 is {sha256}, but {} was recorded; it was not sent",
                    document.sha256
                ),
            });
        }
        Ok(MailAttachment {
            file_name: key.rsplit('/').next().unwrap_or(key).to_owned(),
            content_type: document.content_type.clone(),
            bytes,
        })
    }
}
