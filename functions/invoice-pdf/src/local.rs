//! Local runs (`make demo`): copy an invoice's archived files out of the
//! bucket so a person can open them.

use std::path::{Path, PathBuf};

use billing_domain::ids::InvoiceId;

use crate::error::InvoicePdfError;
use crate::service::DocumentService;

/// Writes every archived file of `invoice` (PDF, XML, XRechnung) from the
/// bucket into `out_dir`, named after its key's file name, and returns the
/// paths with the archived records they came from.
pub async fn export_archived(
    service: &DocumentService,
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    invoice: &InvoiceId,
    out_dir: &Path,
) -> Result<Vec<(PathBuf, billing_store::ArchivedDocument)>, Box<dyn std::error::Error + Send + Sync>>
{
    std::fs::create_dir_all(out_dir)?;
    let mut written = Vec::new();
    for document in service.archived_documents(invoice).await? {
        let object = s3
            .get_object()
            .bucket(bucket)
            .key(&document.key)
            .send()
            .await
            .map_err(|e| InvoicePdfError::archive("GetObject", &document.key, &e))?;
        let bytes = object.body.collect().await?.into_bytes();
        let name = document.key.rsplit('/').next().unwrap_or(&document.key);
        let path = out_dir.join(name);
        std::fs::write(&path, &bytes)?;
        written.push((path, document));
    }
    Ok(written)
}
