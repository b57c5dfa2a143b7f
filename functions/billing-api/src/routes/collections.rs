//! The collection-file routes (`billing` only: the files carry debtors'
//! names and IBANs): the list of SEPA collection files the collection step
//! wrote, and a download, which marks the file handed over (the clerk
//! takes it to the bank) and leaves an audit record.

use billing_store::Paged;
use serde::Deserialize;
use serde_json::json;

use super::{Ctx, paged};
use crate::error::ApiError;
use crate::reply::Reply;
use crate::routes::reads::LINK_LIFETIME;

/// `GET /v1/collection-files`: newest collection date first; only
/// batches with a written file.
pub async fn list(ctx: &Ctx<'_>) -> Result<Reply, ApiError> {
    let page = ctx
        .state
        .store
        .collection_file_page(&ctx.state.entity, &ctx.page()?)
        .await?;
    paged(Paged {
        items: page
            .items
            .into_iter()
            .filter(|batch| batch.file.is_some())
            .collect(),
        next_cursor: page.next_cursor,
    })
}

/// A download takes no parameters.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DownloadBody {}

/// `POST /v1/collection-files/{batch_id}/download`: records the download
/// (the first marks the file handed over) and answers a link to the file
/// that expires after five minutes.
pub async fn download(ctx: &Ctx<'_>) -> Result<Reply, ApiError> {
    ctx.json::<DownloadBody>()?;
    let batch_id = ctx.param("batch_id")?;
    let batch = ctx
        .state
        .store
        .hand_over_collection_file(
            &ctx.state.entity,
            batch_id,
            &ctx.caller.actor(),
            chrono::Utc::now(),
        )
        .await?;
    let Some(file) = &batch.file else {
        return Err(ApiError::not_found(format!("collection file {batch_id}")));
    };
    let config = aws_sdk_s3::presigning::PresigningConfig::expires_in(LINK_LIFETIME)
        .map_err(|e| ApiError::Presign(e.to_string()))?;
    let request = ctx
        .state
        .s3
        .get_object()
        .bucket(&ctx.state.documents_bucket)
        .key(&file.key)
        .presigned(config)
        .await
        .map_err(|e| ApiError::Presign(aws_sdk_s3::error::DisplayErrorContext(e).to_string()))?;
    let expires_at = chrono::Utc::now()
        + chrono::Duration::seconds(i64::try_from(LINK_LIFETIME.as_secs()).unwrap_or(300));
    Reply::ok(json!({
        "file": batch,
        "url": request.uri(),
        "expires_at": expires_at,
    }))
}
