//! The booking-period routes: read a period (both roles), close and
//! export it and fetch an exported file (`billing` only). One call each
//! into [`billing_periods::Periods`], which `billing-admin periods` uses
//! too.

use billing_domain::revenue::Month;
use billing_periods::{ExportFileKind, Periods, parse_month};
use chrono::Utc;
use serde::Deserialize;

use super::{Ctx, reason};
use crate::error::ApiError;
use crate::reply::Reply;

/// Body of `POST …/close`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CloseBody {
    reason: Option<String>,
}

fn periods(ctx: &Ctx<'_>) -> Periods {
    Periods::new(
        ctx.state.store.clone(),
        ctx.state.s3.clone(),
        ctx.state.documents_bucket.clone(),
    )
}

fn month(ctx: &Ctx<'_>) -> Result<Month, ApiError> {
    Ok(parse_month(ctx.param("month")?)?)
}

/// `GET /v1/periods/{month}`: open, closed or exported, with the files.
pub async fn show(ctx: &Ctx<'_>) -> Result<Reply, ApiError> {
    let month = month(ctx)?;
    let period = periods(ctx).show(&ctx.state.entity, month).await?;
    Reply::ok(period)
}

/// `POST /v1/periods/{month}/close`: only a month that has ended.
pub async fn close(ctx: &Ctx<'_>) -> Result<Reply, ApiError> {
    let body: CloseBody = ctx.json()?;
    let why = reason(body.reason.as_deref(), "/reason", false)?;
    let month = month(ctx)?;
    let period = periods(ctx)
        .close(
            &ctx.state.entity,
            month,
            &ctx.caller.actor(),
            why.as_deref(),
            Utc::now(),
        )
        .await?;
    Reply::ok(period)
}

/// `POST /v1/periods/{month}/export`: closes the month if it is open,
/// exports it once; an exported month answers its stored export.
pub async fn export(ctx: &Ctx<'_>) -> Result<Reply, ApiError> {
    ctx.json::<NoBody>()?;
    let month = month(ctx)?;
    let period = periods(ctx)
        .export(&ctx.state.entity, month, &ctx.caller.actor(), Utc::now())
        .await?;
    Reply::ok(period)
}

/// An empty body (or `{}`): the export takes no parameters.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NoBody {}

/// `GET /v1/periods/{month}/export/{file}`: the stored bytes of one file.
pub async fn file(ctx: &Ctx<'_>) -> Result<Reply, ApiError> {
    let month = month(ctx)?;
    let kind = ExportFileKind::parse(ctx.param("file")?)?;
    let (file, bytes) = periods(ctx).file(&ctx.state.entity, month, kind).await?;
    Ok(Reply::file(kind.content_type(), file.file_name, bytes))
}
