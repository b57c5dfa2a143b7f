//! The revenue routes (`sales` and `billing`): MRR, ARR and their movements
//! per month, and deferred revenue per month and customer (definitions in
//! [`billing_domain::revenue`]). JSON by default; CSV for `Accept: text/csv`.

use billing_domain::ids::AccountId;
use billing_domain::revenue::{
    Month, billed_lines, deferred_csv, deferred_revenue, mrr_csv, mrr_months,
};
use billing_store::RevenueBasis;
use serde_json::json;

use super::{Ctx, today};
use crate::error::ApiError;
use crate::reply::Reply;

/// The longest MRR range one request may ask for (five years).
pub const MAX_MONTHS: usize = 60;

/// `GET /v1/revenue/mrr?from=YYYY-MM&to=YYYY-MM[&account_id=]`: `to`
/// defaults to this month, `from` to eleven months before `to`.
pub async fn mrr(ctx: &Ctx<'_>) -> Result<Reply, ApiError> {
    let to = month(ctx, "to")?.unwrap_or_else(|| Month::of(today()));
    let from = match month(ctx, "from")? {
        Some(from) => from,
        None => (0..11).fold(to, |m, _| m.previous()),
    };
    if from > to {
        return Err(ApiError::invalid("/from", "must not be after to"));
    }
    if from.through(to).len() > MAX_MONTHS {
        return Err(ApiError::invalid(
            "/to",
            format!("a range covers at most {MAX_MONTHS} months"),
        ));
    }
    let (account, basis) = basis(ctx).await?;
    let rows = mrr_months(&basis.contracts, from, to).map_err(domain)?;
    if wants_csv(ctx) {
        return Ok(Reply::csv(mrr_csv(&rows)));
    }
    Reply::ok(json!({
        "billing_entity_id": ctx.state.entity,
        "account_id": account,
        "from": from,
        "to": to,
        "items": rows,
    }))
}

/// `GET /v1/revenue/deferred?month=YYYY-MM[&account_id=]`: `month`
/// defaults to this month.
pub async fn deferred(ctx: &Ctx<'_>) -> Result<Reply, ApiError> {
    let month = month(ctx, "month")?.unwrap_or_else(|| Month::of(today()));
    let (account, basis) = basis(ctx).await?;
    let lines = billed_lines(&basis.documents).map_err(domain)?;
    let rows = deferred_revenue(&lines, month).map_err(domain)?;
    if wants_csv(ctx) {
        return Ok(Reply::csv(deferred_csv(&rows)));
    }
    Reply::ok(json!({
        "billing_entity_id": ctx.state.entity,
        "account_id": account,
        "month": month,
        "items": rows,
    }))
}

/// Whether the caller asked for CSV (`Accept: text/csv`).
fn wants_csv(ctx: &Ctx<'_>) -> bool {
    ctx.accept.as_deref().is_some_and(|accept| {
        accept
            .split(',')
            .any(|kind| kind.trim().to_ascii_lowercase().starts_with("text/csv"))
    })
}

/// An optional `YYYY-MM` query parameter.
fn month(ctx: &Ctx<'_>, name: &str) -> Result<Option<Month>, ApiError> {
    ctx.query(name)
        .map(|text| {
            text.parse()
                .map_err(|_| ApiError::invalid(&format!("/{name}"), "must be a month YYYY-MM"))
        })
        .transpose()
}

/// The `account_id` filter (an account of this seller, or 404) and the
/// contracts and documents of that account, or of every account.
async fn basis(ctx: &Ctx<'_>) -> Result<(Option<AccountId>, RevenueBasis), ApiError> {
    let account = match ctx.query("account_id").filter(|id| !id.is_empty()) {
        None => None,
        Some(id) => {
            let id = AccountId::parse(id)
                .map_err(|_| ApiError::invalid("/account_id", "must be an account id"))?;
            match ctx.state.store.account(&id).await? {
                Some(found) if found.account.billing_entity_id == ctx.state.entity => Some(id),
                _ => return Err(ApiError::not_found(format!("account {id}"))),
            }
        }
    };
    let basis = ctx
        .state
        .store
        .revenue_basis(&ctx.state.entity, account.as_ref())
        .await?;
    Ok((account, basis))
}

fn domain(error: billing_domain::DomainError) -> ApiError {
    ApiError::Store(billing_store::StoreError::Corrupt {
        what: "revenue".to_owned(),
        reason: error.to_string(),
    })
}
