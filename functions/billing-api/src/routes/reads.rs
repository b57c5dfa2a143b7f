//! The read routes (`sales` and `billing`).

use std::time::Duration;

use aws_sdk_s3::presigning::PresigningConfig;
use billing_domain::ids::{AccountId, InvoiceId};
use billing_domain::money::Currency;
use billing_domain::receivables::{ReceivableInvoice, aging, payment_behaviour, receivables_as_of};
use billing_domain::schedule::next_due_date;
use billing_store::{
    AttentionKind, InvoiceFilter, InvoiceOverview, InvoiceStatus, Paged, VersionedAccount,
};
use serde_json::{Value, json};

use super::{Ctx, paged};
use crate::error::ApiError;
use crate::reply::Reply;

/// How long a presigned document link works.
pub const LINK_LIFETIME: Duration = Duration::from_secs(300);

/// An account as the API shows it: the stored account plus its revision.
pub fn account_view(account: &VersionedAccount) -> Result<Value, ApiError> {
    let mut view = serde_json::to_value(&account.account).map_err(|e| ApiError::Invalid {
        message: e.to_string(),
        errors: Vec::new(),
    })?;
    view["revision"] = json!(account.revision);
    Ok(view)
}

/// `GET /v1/accounts?name_prefix=`.
pub async fn search_accounts(ctx: &Ctx<'_>) -> Result<Reply, ApiError> {
    let prefix = ctx
        .query("name_prefix")
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .ok_or_else(|| ApiError::invalid("/name_prefix", "is required (at least one character)"))?;
    if prefix.chars().count() > 100 {
        return Err(ApiError::invalid(
            "/name_prefix",
            "must be at most 100 characters",
        ));
    }
    let page = ctx
        .state
        .store
        .search_accounts(&ctx.state.entity, prefix, &ctx.page()?)
        .await?;
    let items = page
        .items
        .iter()
        .map(account_view)
        .collect::<Result<Vec<_>, _>>()?;
    paged(Paged {
        items,
        next_cursor: page.next_cursor,
    })
}

/// One account as the API shows it: [`account_view`] and its debtor
/// account number (`debtor_number`, null until it has one: from the CRM or
/// an import, else assigned from the seller's range by its first export).
async fn account_with_debtor(ctx: &Ctx<'_>, account: &VersionedAccount) -> Result<Reply, ApiError> {
    let mut view = account_view(account)?;
    view["debtor_number"] = json!(ctx.state.store.debtor_account(&account.account.id).await?);
    Ok(Reply::ok(view)?.tagged(account.revision))
}

/// `GET /v1/accounts/{account_id}`.
pub async fn account(ctx: &Ctx<'_>) -> Result<Reply, ApiError> {
    let account = ctx.account().await?;
    account_with_debtor(ctx, &account).await
}

/// `GET /v1/crm-links/{source}/{org}/{crm_id}`.
pub async fn account_by_crm(ctx: &Ctx<'_>) -> Result<Reply, ApiError> {
    let (source, org, crm_id) = (
        ctx.param("source")?,
        ctx.param("org")?,
        ctx.param("crm_id")?,
    );
    match ctx.state.store.account_by_crm(source, org, crm_id).await? {
        Some(account) if account.account.billing_entity_id == ctx.state.entity => {
            account_with_debtor(ctx, &account).await
        }
        _ => Err(ApiError::not_found(format!(
            "CRM account {source}/{org}/{crm_id}"
        ))),
    }
}

/// `GET /v1/accounts/{account_id}/contracts`: each with its next due date.
pub async fn contracts(ctx: &Ctx<'_>) -> Result<Reply, ApiError> {
    let account = ctx.account().await?;
    let page = ctx
        .state
        .store
        .account_contracts(&account.account.id, &ctx.page()?)
        .await?;
    paged(page.map(|stored| contract_view(&stored)))
}

/// A contract as the API shows it: as stored, with its next due date and
/// version.
pub fn contract_view(stored: &billing_store::VersionedSubscription) -> Value {
    let mut view = serde_json::to_value(&stored.subscription).unwrap_or(Value::Null);
    // A contract the rules refuse shows no due date rather than failing the list.
    view["next_due_date"] = json!(next_due_date(&stored.subscription).ok().flatten());
    view["version"] = json!(stored.version);
    view
}

fn filter(ctx: &Ctx<'_>) -> Result<InvoiceFilter, ApiError> {
    let status = ctx
        .query("status")
        .map(|given| {
            InvoiceStatus::parse(given).ok_or_else(|| {
                let statuses: Vec<&str> = InvoiceStatus::ALL.iter().map(|s| s.as_str()).collect();
                ApiError::invalid("/status", format!("must be one of {}", statuses.join(", ")))
            })
        })
        .transpose()?;
    let filter = InvoiceFilter {
        status,
        issued_from: ctx.date("issued_from")?,
        issued_to: ctx.date("issued_to")?,
    };
    if let (Some(from), Some(to)) = (filter.issued_from, filter.issued_to)
        && from > to
    {
        return Err(ApiError::invalid(
            "/issued_to",
            "must not be before issued_from",
        ));
    }
    Ok(filter)
}

/// `GET /v1/accounts/{account_id}/invoices`.
pub async fn account_invoices(ctx: &Ctx<'_>) -> Result<Reply, ApiError> {
    let filter = filter(ctx)?;
    let page = ctx.page()?;
    let account = ctx.account().await?;
    paged(
        ctx.state
            .store
            .account_invoices(&account.account.id, &filter, &page)
            .await?,
    )
}

/// `GET /v1/invoices`: the seller's invoices.
pub async fn invoices(ctx: &Ctx<'_>) -> Result<Reply, ApiError> {
    let filter = filter(ctx)?;
    paged(
        ctx.state
            .store
            .entity_invoices(&ctx.state.entity, &filter, &ctx.page()?)
            .await?,
    )
}

/// `GET /v1/invoices/{invoice_id}`: summary, the document, its files,
/// delivery, block and dispute.
pub async fn invoice(ctx: &Ctx<'_>) -> Result<Reply, ApiError> {
    let overview = ctx.invoice_overview().await?;
    let Some(stored) = ctx.state.store.invoice(&overview.invoice_id).await? else {
        return Err(ApiError::not_found(format!(
            "invoice {}",
            overview.invoice_id
        )));
    };
    let dunning = ctx.state.store.dunning_state(&overview.invoice_id).await?;
    let mut view = serde_json::to_value(&overview).unwrap_or(Value::Null);
    view["document"] = serde_json::to_value(&stored.invoice).unwrap_or(Value::Null);
    view["files"] = json!(
        stored
            .documents
            .iter()
            .map(|d| json!({"content_type": d.content_type, "sha256": d.sha256}))
            .collect::<Vec<_>>()
    );
    view["delivery"] = json!(stored.delivery.as_ref().map(|d| json!({
        "status": d.status.as_str(),
        "sent_at": d.sent_at,
        "reason": d.reason,
    })));
    view["dunning_block"] = json!(dunning.as_ref().and_then(|d| d.block.clone()));
    view["dispute"] = json!(dunning.as_ref().and_then(|d| d.dispute.clone()));
    Ok(Reply::ok(view)?.tagged(overview.revision))
}

/// `GET /v1/invoices/{invoice_id}/payments`.
pub async fn invoice_payments(ctx: &Ctx<'_>) -> Result<Reply, ApiError> {
    let page = ctx.page()?;
    let invoice = ctx.invoice_overview().await?;
    paged(
        ctx.state
            .store
            .invoice_payment_page(&invoice.invoice_id, &page)
            .await?,
    )
}

/// `GET /v1/invoices/{invoice_id}/documents`: PDF and XML through links
/// that expire after five minutes.
pub async fn invoice_documents(ctx: &Ctx<'_>) -> Result<Reply, ApiError> {
    let id = InvoiceId::new(ctx.param("invoice_id")?);
    let stored = match ctx.state.store.invoice(&id).await? {
        Some(stored) if stored.invoice.content().billing_entity_id == ctx.state.entity => stored,
        _ => return Err(ApiError::not_found(format!("invoice {id}"))),
    };
    if stored.documents.is_empty() {
        return Err(ApiError::not_found(format!(
            "archived documents of invoice {id}"
        )));
    }
    let config = PresigningConfig::expires_in(LINK_LIFETIME)
        .map_err(|e| ApiError::Presign(e.to_string()))?;
    let expires_at = chrono::Utc::now() + chrono::Duration::seconds(LINK_LIFETIME.as_secs() as i64);
    let mut links = Vec::new();
    for document in &stored.documents {
        let request = ctx
            .state
            .s3
            .get_object()
            .bucket(&ctx.state.documents_bucket)
            .key(&document.key)
            .presigned(config.clone())
            .await
            .map_err(|e| {
                ApiError::Presign(aws_sdk_s3::error::DisplayErrorContext(e).to_string())
            })?;
        let kind = if document.content_type == "application/pdf" {
            "pdf"
        } else {
            "xml"
        };
        links.push(json!({
            "kind": kind,
            "content_type": document.content_type,
            "sha256": document.sha256,
            "url": request.uri(),
            "expires_at": expires_at,
        }));
    }
    Reply::ok(json!({"invoice_id": id, "documents": links}))
}

/// `GET /v1/invoices/{invoice_id}/audit`.
pub async fn invoice_audit(ctx: &Ctx<'_>) -> Result<Reply, ApiError> {
    let page = ctx.page()?;
    let invoice = ctx.invoice_overview().await?;
    paged(
        ctx.state
            .store
            .invoice_audit(&invoice.invoice_id, &page)
            .await?,
    )
}

/// `GET /v1/accounts/{account_id}/audit`.
pub async fn account_audit(ctx: &Ctx<'_>) -> Result<Reply, ApiError> {
    let page = ctx.page()?;
    let account = ctx.account().await?;
    paged(
        ctx.state
            .store
            .account_audit(&account.account.id, &page)
            .await?,
    )
}

/// `GET /v1/accounts/{account_id}/credit`.
pub async fn account_credit(ctx: &Ctx<'_>) -> Result<Reply, ApiError> {
    let page = ctx.page()?;
    let account = ctx.account().await?;
    paged(
        ctx.state
            .store
            .account_credit_page(&account.account.id, &page)
            .await?,
    )
}

/// `GET /v1/accounts/{account_id}/payment-behaviour`.
pub async fn payment_behaviour_of(ctx: &Ctx<'_>) -> Result<Reply, ApiError> {
    let as_of = ctx.as_of()?;
    let account = ctx.account().await?;
    // Rebuilt from what was recorded, so a past date shows that day's state.
    let histories = ctx
        .state
        .store
        .account_receivable_histories(&account.account.id, as_of)
        .await?;
    let facts = receivables_as_of(&histories, as_of).map_err(domain)?;
    let behaviour = payment_behaviour(&facts, as_of).map_err(domain)?;
    let mut view = serde_json::to_value(&behaviour).unwrap_or(Value::Null);
    view["account_id"] = json!(account.account.id);
    Reply::ok(view)
}

/// `GET /v1/receivables/aging?currency=EUR&as_of=YYYY-MM-DD`.
pub async fn receivables_aging(ctx: &Ctx<'_>) -> Result<Reply, ApiError> {
    let as_of = ctx.as_of()?;
    let currency = Currency::from_code(ctx.query("currency").unwrap_or("EUR"))
        .map_err(|_| ApiError::invalid("/currency", "must be an ISO 4217 currency code"))?;
    let facts: Vec<ReceivableInvoice> = if as_of < super::today() {
        // A past date: what was open then, rebuilt from what was recorded.
        let histories = ctx
            .state
            .store
            .entity_receivable_histories(&ctx.state.entity, currency, as_of)
            .await?;
        receivables_as_of(&histories, as_of).map_err(domain)?
    } else {
        // Today (or later): nothing is recorded for a later day (value
        // dates and credit notes are never in the future), so the invoices
        // open now are exactly those open then.
        ctx.state
            .store
            .open_receivables(&ctx.state.entity, currency)
            .await?
            .iter()
            .map(InvoiceOverview::receivable)
            .collect()
    };
    let aged = aging(&facts, currency, as_of).map_err(domain)?;
    // The customers' names for the clerk, in ceil(customers / 100)
    // BatchGetItem requests rather than one read per customer.
    let ids: Vec<AccountId> = aged
        .customers
        .iter()
        .map(|c| c.account_id.clone())
        .collect();
    let accounts = ctx.state.store.accounts(&ids).await?;
    let mut view = serde_json::to_value(&aged).unwrap_or(Value::Null);
    if let Some(rows) = view["customers"].as_array_mut() {
        for (row, id) in rows.iter_mut().zip(&ids) {
            let account = accounts.get(id).ok_or_else(|| {
                ApiError::Store(billing_store::StoreError::Corrupt {
                    what: format!("account {id}"),
                    reason: "open invoices name a missing account".to_owned(),
                })
            })?;
            row["name"] = json!(account.account.name);
        }
    }
    view["billing_entity_id"] = json!(ctx.state.entity);
    Reply::ok(view)
}

/// `GET /v1/payments/review`: bank entries nobody could match.
pub async fn payment_review(ctx: &Ctx<'_>) -> Result<Reply, ApiError> {
    paged(
        ctx.state
            .store
            .attention_page(
                &ctx.state.entity,
                Some(AttentionKind::UnmatchedPayment),
                &ctx.page()?,
            )
            .await?,
    )
}

/// `GET /v1/needs-attention?kind=`: everything a person must look at.
pub async fn needs_attention(ctx: &Ctx<'_>) -> Result<Reply, ApiError> {
    let kind = ctx
        .query("kind")
        .map(|name| {
            AttentionKind::parse(name).ok_or_else(|| {
                ApiError::invalid(
                    "/kind",
                    "must be delivery, run_failure, collection, warning or unmatched_payment",
                )
            })
        })
        .transpose()?;
    paged(
        ctx.state
            .store
            .attention_page(&ctx.state.entity, kind, &ctx.page()?)
            .await?,
    )
}

/// `GET /v1/runs`: invoice runs and their outcomes, newest first.
pub async fn runs(ctx: &Ctx<'_>) -> Result<Reply, ApiError> {
    paged(ctx.state.store.run_page(&ctx.page()?).await?)
}

/// `GET /v1/runs/{run_id}`: a run's progress and outcome.
pub async fn run(ctx: &Ctx<'_>) -> Result<Reply, ApiError> {
    let run_id = ctx.param("run_id")?;
    match ctx.state.store.run(run_id).await? {
        Some(run) => Reply::ok(run),
        None => Err(ApiError::not_found(format!("run {run_id}"))),
    }
}

/// `GET /v1/runs/{run_id}/failures`: customers it could not bill.
pub async fn run_failures(ctx: &Ctx<'_>) -> Result<Reply, ApiError> {
    let run_id = ctx.param("run_id")?;
    paged(
        ctx.state
            .store
            .run_failure_page(run_id, &ctx.page()?)
            .await?,
    )
}

/// A stored history the receivables rules refuse: corrupt data, not a bad request.
pub fn domain(error: billing_domain::DomainError) -> ApiError {
    ApiError::Store(billing_store::StoreError::Corrupt {
        what: "receivables".to_owned(),
        reason: error.to_string(),
    })
}

/// Account ids in a path, for the write routes.
pub fn account_id(ctx: &Ctx<'_>) -> Result<AccountId, ApiError> {
    Ok(AccountId::new(ctx.param("account_id")?))
}
