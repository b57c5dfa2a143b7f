//! The write routes (`billing` only; the handler refuses `sales` before
//! any of these runs). Every write goes through one store transaction that
//! also appends its audit entry; writes to an invoice need `If-Match`.

use billing_domain::ids::{AccountId, InvoiceId};
use billing_store::{
    AttentionKind, AuditEntry, DeliveryRequest, Dispute, DunningBlock, InvoiceChange,
    InvoiceForChange, WriteOff,
};
use chrono::{NaiveDate, Utc};
use serde::Deserialize;
use serde_json::json;

use super::{Ctx, reason, today};
use crate::error::ApiError;
use crate::reply::Reply;

/// Body of `PUT …/dunning-block`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct BlockBody {
    reason: Option<String>,
    until: Option<NaiveDate>,
}

/// Body of the routes that only take a reason.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ReasonBody {
    reason: Option<String>,
}

/// The invoice a write addresses, checked against `If-Match`.
async fn invoice_for_change(ctx: &Ctx<'_>) -> Result<(InvoiceForChange, u64), ApiError> {
    let id = InvoiceId::new(ctx.param("invoice_id")?);
    let read = match ctx.state.store.invoice_for_change(&id).await? {
        Some(read) if read.overview.billing_entity_id == ctx.state.entity => read,
        _ => return Err(ApiError::not_found(format!("invoice {id}"))),
    };
    let expected = ctx.expected_revision(&format!("invoice {id}"), read.overview.revision)?;
    Ok((read, expected))
}

/// The audit entry of a clerk's change.
pub(super) fn audit(
    ctx: &Ctx<'_>,
    action: &str,
    invoice: Option<&InvoiceId>,
    account: &AccountId,
    reason: Option<String>,
    change: serde_json::Value,
) -> AuditEntry {
    AuditEntry {
        actor: ctx.caller.actor(),
        at: Utc::now(),
        action: action.to_owned(),
        invoice_id: invoice.cloned(),
        account_id: account.clone(),
        reason,
        change,
    }
}

/// Runs `change` on the invoice and answers with its new state and ETag.
async fn change(
    ctx: &Ctx<'_>,
    read: &InvoiceForChange,
    expected: u64,
    change: InvoiceChange,
    entry: AuditEntry,
) -> Result<Reply, ApiError> {
    let id = &read.overview.invoice_id;
    let revision = ctx
        .state
        .store
        .change_invoice(read, expected, &change, &entry)
        .await?;
    let now = ctx
        .state
        .store
        .invoice_overview(id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("invoice {id}")))?;
    Ok(Reply::ok(now)?.tagged(revision))
}

/// `PUT /v1/invoices/{invoice_id}/dunning-block`.
pub async fn set_dunning_block(ctx: &Ctx<'_>) -> Result<Reply, ApiError> {
    let body: BlockBody = ctx.json()?;
    let why = reason(body.reason.as_deref(), "/reason", true)?;
    if let Some(until) = body.until
        && until < today()
    {
        return Err(ApiError::invalid("/until", "must not be in the past"));
    }
    let (read, expected) = invoice_for_change(ctx).await?;
    let block = DunningBlock {
        reason: why.clone().unwrap_or_default(),
        until: body.until,
        by: Some(ctx.caller.user.clone()),
        since: Utc::now(),
    };
    let entry = audit(
        ctx,
        "invoice.dunning_block.set",
        Some(&read.overview.invoice_id),
        &read.overview.account_id,
        why,
        json!({"before": {"dunning_blocked": read.overview.dunning_blocked},
               "after": {"dunning_blocked": true, "until": body.until}}),
    );
    change(ctx, &read, expected, InvoiceChange::Block(block), entry).await
}

/// `DELETE /v1/invoices/{invoice_id}/dunning-block`.
pub async fn lift_dunning_block(ctx: &Ctx<'_>) -> Result<Reply, ApiError> {
    let body: ReasonBody = ctx.json()?;
    let why = reason(body.reason.as_deref(), "/reason", false)?;
    let (read, expected) = invoice_for_change(ctx).await?;
    if !read.overview.dunning_blocked {
        return Err(conflict(&read, "has no dunning block"));
    }
    let entry = audit(
        ctx,
        "invoice.dunning_block.lift",
        Some(&read.overview.invoice_id),
        &read.overview.account_id,
        why,
        json!({"before": {"dunning_blocked": true}, "after": {"dunning_blocked": false}}),
    );
    change(
        ctx,
        &read,
        expected,
        InvoiceChange::LiftBlock { today: today() },
        entry,
    )
    .await
}

/// `PUT /v1/invoices/{invoice_id}/dispute`.
pub async fn flag_dispute(ctx: &Ctx<'_>) -> Result<Reply, ApiError> {
    let body: ReasonBody = ctx.json()?;
    let why = reason(body.reason.as_deref(), "/reason", true)?;
    let (read, expected) = invoice_for_change(ctx).await?;
    let dispute = Dispute {
        reason: why.clone().unwrap_or_default(),
        by: Some(ctx.caller.user.clone()),
        since: Utc::now(),
    };
    let entry = audit(
        ctx,
        "invoice.dispute.flag",
        Some(&read.overview.invoice_id),
        &read.overview.account_id,
        why,
        json!({"before": {"disputed": read.overview.disputed}, "after": {"disputed": true}}),
    );
    change(ctx, &read, expected, InvoiceChange::Dispute(dispute), entry).await
}

/// `DELETE /v1/invoices/{invoice_id}/dispute`.
pub async fn resolve_dispute(ctx: &Ctx<'_>) -> Result<Reply, ApiError> {
    let body: ReasonBody = ctx.json()?;
    let why = reason(body.reason.as_deref(), "/reason", false)?;
    let (read, expected) = invoice_for_change(ctx).await?;
    if !read.overview.disputed {
        return Err(conflict(&read, "is not disputed"));
    }
    let entry = audit(
        ctx,
        "invoice.dispute.resolve",
        Some(&read.overview.invoice_id),
        &read.overview.account_id,
        why,
        json!({"before": {"disputed": true}, "after": {"disputed": false}}),
    );
    change(
        ctx,
        &read,
        expected,
        InvoiceChange::ResolveDispute { today: today() },
        entry,
    )
    .await
}

/// `POST /v1/invoices/{invoice_id}/write-off`: what is open of an
/// uncollectible invoice is written off (a reason is required); the invoice
/// leaves dunning and the aging, and the journal books the bad debt with
/// the VAT correction of §17 UStG in the period of the day it is recorded.
pub async fn write_off(ctx: &Ctx<'_>) -> Result<Reply, ApiError> {
    let body: ReasonBody = ctx.json()?;
    let why = reason(body.reason.as_deref(), "/reason", true)?;
    let (read, expected) = invoice_for_change(ctx).await?;
    let invoice = &read.overview;
    if invoice.document_type != billing_domain::numbering::DocumentType::Invoice
        || !invoice.status.is_open()
    {
        return Err(conflict(
            &read,
            &format!(
                "is {}; only an open or partly paid invoice can be written off",
                invoice.status
            ),
        ));
    }
    let write_off = WriteOff {
        on: today(),
        amount: invoice.open_amount,
        reason: why.unwrap_or_default(),
        by: ctx.caller.user.clone(),
        recorded_at: Utc::now(),
    };
    let entry = write_off.audit_entry(invoice, ctx.caller.actor());
    change(
        ctx,
        &read,
        expected,
        InvoiceChange::WriteOff(write_off),
        entry,
    )
    .await
}

/// `POST /v1/invoices/{invoice_id}/resend`: after the customer's address
/// was corrected, forget the failed delivery and hand the archived
/// documents to the delivery queue again (it sends to the account's
/// current addresses).
pub async fn resend(ctx: &Ctx<'_>) -> Result<Reply, ApiError> {
    let body: ReasonBody = ctx.json()?;
    let why = reason(body.reason.as_deref(), "/reason", false)?;
    let (read, expected) = invoice_for_change(ctx).await?;
    let id = read.overview.invoice_id.clone();
    let Some(stored) = ctx.state.store.invoice(&id).await? else {
        return Err(ApiError::not_found(format!("invoice {id}")));
    };
    if stored.documents.is_empty() {
        return Err(conflict(&read, "has no archived documents yet"));
    }
    let entry = audit(
        ctx,
        "invoice.resend",
        Some(&id),
        &read.overview.account_id,
        why,
        json!({"before": {"delivery_status": read.overview.delivery_status},
               "after": {"delivery_status": null}}),
    );
    let reset = InvoiceChange::ResetDelivery {
        entity: ctx.state.entity.clone(),
    };
    let revision = ctx
        .state
        .store
        .change_invoice(&read, expected, &reset, &entry)
        .await?;
    let request = DeliveryRequest {
        invoice_id: id.to_string(),
        invoice_number: stored.invoice.number().to_string(),
        documents: stored.documents.clone(),
    };
    let message = serde_json::to_string(&request).map_err(|e| ApiError::Queue(e.to_string()))?;
    // The reset is committed: if this send fails the clerk sends again (a
    // reset invoice may be re-sent), so the e-mail is never silently lost.
    ctx.state
        .sqs
        .send_message()
        .queue_url(&ctx.state.delivery_queue_url)
        .message_body(message)
        .send()
        .await
        .map_err(|e| ApiError::Queue(aws_sdk_sqs::error::DisplayErrorContext(e).to_string()))?;
    Ok(Reply::with_status(
        202,
        json!({"invoice_id": id, "delivery": "requested", "revision": revision}),
    )?
    .tagged(revision))
}

/// `DELETE /v1/needs-attention/{kind}/{subject}`: the clerk dealt with it.
pub async fn resolve_attention(ctx: &Ctx<'_>) -> Result<Reply, ApiError> {
    let body: ReasonBody = ctx.json()?;
    let why = reason(body.reason.as_deref(), "/reason", true)?;
    let kind = AttentionKind::parse(ctx.param("kind")?).ok_or_else(|| {
        ApiError::invalid(
            "/path/kind",
            "must be delivery, run_failure, collection, warning or unmatched_payment",
        )
    })?;
    let subject = ctx.param("subject")?;
    let entity = &ctx.state.entity;
    let Some(entry) = ctx
        .state
        .store
        .attention_entry(entity, kind, subject)
        .await?
    else {
        return Err(ApiError::not_found(format!(
            "{} entry {subject}",
            kind.as_str()
        )));
    };
    let invoice = entry.invoice_id.as_deref().map(InvoiceId::new);
    let account = match (&entry.account_id, &invoice) {
        (Some(account), _) => AccountId::new(account),
        (None, Some(invoice)) => match ctx.state.store.invoice_overview(invoice).await? {
            Some(overview) => overview.account_id,
            None => entity_account(entity),
        },
        (None, None) => entity_account(entity),
    };
    let record = audit(
        ctx,
        "attention.resolve",
        invoice.as_ref(),
        &account,
        why,
        json!({"before": {"kind": kind, "subject": subject, "code": entry.code}, "after": null}),
    );
    ctx.state
        .store
        .resolve_attention(entity, kind, subject, &record)
        .await?;
    Reply::ok(json!({"kind": kind, "subject": subject, "resolved": true}))
}

/// Changes that concern the seller rather than a customer (a configuration
/// warning, an unmatched bank entry) are audited under this pseudo-account.
pub fn entity_account(entity: &billing_domain::ids::BillingEntityId) -> AccountId {
    AccountId::new(format!("entity-{entity}"))
}

fn conflict(read: &InvoiceForChange, reason: &str) -> ApiError {
    ApiError::Store(billing_store::StoreError::Refused {
        what: format!("invoice {}", read.overview.invoice_id),
        reason: reason.to_owned(),
    })
}
