//! Local runs (`make demo`): play the documents queue for invoices the demo
//! created, the way Lambda would, and copy each archived PDF out of the
//! bucket so a person can open it.

use std::path::{Path, PathBuf};

use aws_lambda_events::event::sqs::SqsMessage;
use billing_domain::ids::InvoiceId;

use crate::error::InvoicePdfError;
use crate::handler::handle_message;
use crate::service::DocumentService;

/// Runs the real handler for each invoice, then writes every archived file
/// of it (PDF, XML, XRechnung) from the bucket into `out_dir`, named after
/// its key's file name. Returns the written paths.
pub async fn archive_and_export(
    service: &DocumentService,
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    invoices: &[InvoiceId],
    out_dir: &Path,
) -> Result<Vec<PathBuf>, Box<dyn std::error::Error + Send + Sync>> {
    std::fs::create_dir_all(out_dir)?;
    let mut written = Vec::new();
    for id in invoices {
        let mut message = SqsMessage::default();
        message.message_id = Some(format!("demo-{id}"));
        message.body = Some(serde_json::json!({ "invoice_id": id.as_str() }).to_string());
        handle_message(service, message).await?;
        for document in service.archived_documents(id).await? {
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
            written.push(path);
        }
    }
    Ok(written)
}
