//! The correction routes (`billing` only): cancellation, partial credit
//! notes, manual payments, customer credit. Each maps its body to one of
//! the store's correction use cases, which number, store and audit the
//! change in one transaction conditioned on the `If-Match` revision.

use billing_domain::correction::CreditSelection;
use billing_domain::ids::AccountId;
use billing_domain::money::Money;
use billing_store::{
    CancelRequest, CreditApplication, CreditNoteIssued, CreditNoteRequest, CreditRefund,
    ManualPayment, StaffBooked,
};
use chrono::{NaiveDate, Utc};
use serde::Deserialize;
use serde_json::json;

use super::{Ctx, reason, today};
use crate::error::ApiError;
use crate::reply::Reply;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CancelBody {
    reason: Option<String>,
    #[serde(default)]
    release_periods: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CreditNoteBody {
    reason: Option<String>,
    selection: CreditSelection,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PaymentBody {
    amount: Money,
    value_date: Option<NaiveDate>,
    reference: Option<String>,
    reason: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ApplicationBody {
    amount: Money,
    reason: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RefundBody {
    amount: Money,
    reference: Option<String>,
    reason: Option<String>,
}

/// A positive amount in whole minor units of the invoice's currency.
fn amount(amount: Money, currency: &str, pointer: &str) -> Result<Money, ApiError> {
    if !amount.is_positive() || !amount.is_rounded() {
        return Err(ApiError::invalid(
            pointer,
            "must be positive, in whole cents",
        ));
    }
    if amount.currency().code() != currency {
        return Err(ApiError::invalid(
            &format!("{pointer}/currency"),
            format!("must be {currency}, the invoice's currency"),
        ));
    }
    Ok(amount)
}

fn issued(issued: CreditNoteIssued) -> Result<Reply, ApiError> {
    let revision = issued.revision;
    Ok(Reply::with_status(
        201,
        json!({
            "credit_note_id": issued.credit_note_id,
            "credit_note_number": issued.number.as_str(),
            "amount": issued.amount,
            "open_after": issued.open_after,
            "customer_credit": issued.customer_credit,
            "released_contracts": issued.released,
            "revision": revision,
        }),
    )?
    .tagged(revision))
}

fn booked(booked: StaffBooked) -> Result<Reply, ApiError> {
    let revision = booked.revision;
    Ok(Reply::with_status(
        201,
        json!({
            "status": billing_store::status_name(booked.summary.status),
            "paid": booked.summary.paid,
            "open": booked.summary.open,
            "customer_credit": booked.customer_credit,
            "revision": revision,
        }),
    )?
    .tagged(revision))
}

/// `POST /v1/invoices/{invoice_id}/cancellation`.
pub async fn cancel(ctx: &Ctx<'_>) -> Result<Reply, ApiError> {
    let body: CancelBody = ctx.json()?;
    let why = reason(body.reason.as_deref(), "/reason", true)?.unwrap_or_default();
    let invoice = ctx.invoice_overview().await?;
    let expected =
        ctx.expected_revision(&format!("invoice {}", invoice.invoice_id), invoice.revision)?;
    let request = CancelRequest {
        invoice_id: invoice.invoice_id,
        expected_revision: expected,
        actor: ctx.caller.actor(),
        reason: why,
        release_periods: body.release_periods,
        at: Utc::now(),
    };
    issued(ctx.state.store.cancel_invoice(&request).await?)
}

/// `POST /v1/invoices/{invoice_id}/credit-notes`.
pub async fn credit_note(ctx: &Ctx<'_>) -> Result<Reply, ApiError> {
    let body: CreditNoteBody = ctx.json()?;
    let why = reason(body.reason.as_deref(), "/reason", true)?.unwrap_or_default();
    let invoice = ctx.invoice_overview().await?;
    let expected =
        ctx.expected_revision(&format!("invoice {}", invoice.invoice_id), invoice.revision)?;
    if let CreditSelection::Amount { net, .. } = &body.selection {
        amount(*net, invoice.total.currency().code(), "/selection/net")?;
    }
    let request = CreditNoteRequest {
        invoice_id: invoice.invoice_id,
        expected_revision: expected,
        actor: ctx.caller.actor(),
        reason: why,
        selection: body.selection,
        at: Utc::now(),
    };
    issued(ctx.state.store.credit_note(&request).await?)
}

/// `POST /v1/invoices/{invoice_id}/payments`: a payment recorded by hand.
pub async fn record_payment(ctx: &Ctx<'_>) -> Result<Reply, ApiError> {
    let body: PaymentBody = ctx.json()?;
    let invoice = ctx.invoice_overview().await?;
    let paid = amount(body.amount, invoice.total.currency().code(), "/amount")?;
    let reference = reason(body.reference.as_deref(), "/reference", true)?.unwrap_or_default();
    let why = reason(body.reason.as_deref(), "/reason", false)?;
    let value_date = body.value_date.unwrap_or_else(today);
    if value_date > today() {
        return Err(ApiError::invalid(
            "/value_date",
            "must not be in the future",
        ));
    }
    let expected =
        ctx.expected_revision(&format!("invoice {}", invoice.invoice_id), invoice.revision)?;
    let payment = ManualPayment {
        invoice_id: invoice.invoice_id,
        expected_revision: expected,
        actor: ctx.caller.actor(),
        amount: paid,
        value_date,
        reference,
        reason: why,
        at: Utc::now(),
    };
    booked(ctx.state.store.record_manual_payment(&payment).await?)
}

/// `POST /v1/invoices/{invoice_id}/credit-applications`: pay the invoice
/// from its account's customer credit.
pub async fn apply_credit(ctx: &Ctx<'_>) -> Result<Reply, ApiError> {
    let body: ApplicationBody = ctx.json()?;
    let invoice = ctx.invoice_overview().await?;
    let applied = amount(body.amount, invoice.total.currency().code(), "/amount")?;
    let why = reason(body.reason.as_deref(), "/reason", false)?;
    let expected =
        ctx.expected_revision(&format!("invoice {}", invoice.invoice_id), invoice.revision)?;
    let application = CreditApplication {
        invoice_id: invoice.invoice_id,
        expected_revision: expected,
        actor: ctx.caller.actor(),
        amount: applied,
        reason: why,
        at: Utc::now(),
    };
    booked(ctx.state.store.apply_credit(&application).await?)
}

/// `POST /v1/accounts/{account_id}/credit/refunds`: pay credit back.
pub async fn refund_credit(ctx: &Ctx<'_>) -> Result<Reply, ApiError> {
    let body: RefundBody = ctx.json()?;
    let account = ctx.account().await?;
    let refunded = amount(body.amount, account.account.currency.code(), "/amount")?;
    let reference = reason(body.reference.as_deref(), "/reference", true)?.unwrap_or_default();
    let why = reason(body.reason.as_deref(), "/reason", false)?;
    let id: AccountId = account.account.id.clone();
    let expected = ctx.expected_revision(&format!("account {id}"), account.revision)?;
    let refund = CreditRefund {
        account_id: id,
        expected_revision: expected,
        actor: ctx.caller.actor(),
        amount: refunded,
        reference,
        reason: why,
        at: Utc::now(),
    };
    let done = ctx.state.store.refund_credit(&refund).await?;
    Ok(Reply::with_status(
        201,
        json!({"balance": done.balance, "revision": done.revision}),
    )?
    .tagged(done.revision))
}
