//! Dunning letters as PDF in the documents bucket, next to the invoices
//! (`letters/<entity>/<year>/<letter id>.pdf`, Object Lock like every
//! archived document). Written once: a second write of the same letter
//! finds the key and changes nothing.

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{ChecksumAlgorithm, ServerSideEncryption};
use billing_documents::letter::LetterRenderer;
use billing_domain::dunning_letter::DunningLetter;
use billing_domain::invoice::Invoice;
use chrono::Datelike;
use sha2::{Digest, Sha256};

use crate::error::SweepError;

/// Renders and archives letters.
#[derive(Debug)]
pub struct LetterArchive {
    renderer: LetterRenderer,
    s3: aws_sdk_s3::Client,
    bucket: String,
}

impl LetterArchive {
    /// The archive in `bucket` (the template's `DOCUMENTS_BUCKET`).
    pub fn new(
        renderer: LetterRenderer,
        s3: aws_sdk_s3::Client,
        bucket: impl Into<String>,
    ) -> Self {
        Self {
            renderer,
            s3,
            bucket: bucket.into(),
        }
    }

    /// The key a letter is archived under.
    pub fn key(letter: &DunningLetter) -> String {
        format!(
            "letters/{}/{}/{}.pdf",
            letter.billing_entity_id,
            letter.date.year(),
            letter.letter_id
        )
    }

    /// Renders the letter (seller and customer as on the oldest invoice it
    /// lists) and stores it unless it is there; returns key and SHA-256.
    pub async fn archive(
        &self,
        letter: &DunningLetter,
        invoice: &Invoice,
    ) -> Result<(String, String), SweepError> {
        let content = invoice.content();
        let pdf = self
            .renderer
            .render(
                letter,
                &content.seller,
                &content.buyer,
                content.references.payment_reference.as_deref(),
            )
            .map_err(|e| SweepError::Document {
                letter_id: letter.letter_id.clone(),
                reason: e.to_string(),
            })?;
        let digest = Sha256::digest(&pdf);
        let sha256 = hex::encode(digest);
        let key = Self::key(letter);
        let result = self
            .s3
            .put_object()
            .bucket(&self.bucket)
            .key(&key)
            .body(ByteStream::from(pdf))
            .content_type("application/pdf")
            .server_side_encryption(ServerSideEncryption::Aes256)
            .checksum_algorithm(ChecksumAlgorithm::Sha256)
            .checksum_sha256(aws_smithy_types::base64::encode(digest.as_slice()))
            .metadata("letter-id", &letter.letter_id)
            .metadata("sha256", &sha256)
            .if_none_match("*")
            .send()
            .await;
        match result {
            Ok(_) => Ok((key, sha256)),
            Err(err)
                if err
                    .as_service_error()
                    .and_then(aws_sdk_s3::error::ProvideErrorMetadata::code)
                    == Some("PreconditionFailed") =>
            {
                Ok((key, sha256))
            }
            Err(err) => Err(SweepError::Archive {
                key,
                disposition: billing_lambda::aws::sdk_error_disposition(&err),
                message: aws_sdk_s3::error::DisplayErrorContext(&err).to_string(),
            }),
        }
    }
}
