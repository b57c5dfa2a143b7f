//! The correction routes (`billing` only): cancellation, partial credit
//! notes, manual payments, customer credit. Each maps its body to one of
//! the store's correction use cases, which number, store and audit the
//! change in one transaction conditioned on the `If-Match` revision.

use billing_domain::correction::CreditSelection;
use billing_domain::ids::AccountId;
use billing_domain::money::{Currency, Money, is_plain_decimal};
use billing_store::{
    CancelRequest, CreditApplication, CreditNoteIssued, CreditNoteRequest, CreditRefund,
    ManualPayment, StaffBooked,
};
use chrono::{NaiveDate, Utc};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{Ctx, StatedAmount, reason, refused, stated_amount, today, typed};
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
    amount: StatedAmount,
    value_date: Option<NaiveDate>,
    reference: Option<String>,
    reason: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ApplicationBody {
    amount: StatedAmount,
    reason: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RefundBody {
    amount: StatedAmount,
    reference: Option<String>,
    reason: Option<String>,
}

/// Whether a JSON value has the type a field needs.
type JsonType = fn(&Value) -> bool;

/// The credit note's selection, checked as written before the domain reads
/// it: a net amount as a plain decimal within the limit and its currency's
/// places, a rate and line quantities as plain decimals.
fn checked_selection(body: &Value, currency: Currency) -> Result<(), ApiError> {
    // The selection is an internally tagged enum, whose field errors serde
    // reports at `/selection`: check each field's JSON type first, so the
    // error names the field itself.
    let mut types: Vec<(String, JsonType, &str)> = vec![
        ("/selection".into(), Value::is_object, "an object"),
        ("/selection/kind".into(), Value::is_string, "a string"),
        ("/selection/lines".into(), Value::is_array, "an array"),
        ("/selection/net".into(), Value::is_object, "an object"),
        ("/selection/net/amount".into(), Value::is_string, "a string"),
        (
            "/selection/net/currency".into(),
            Value::is_string,
            "a string",
        ),
        ("/selection/category".into(), Value::is_string, "a string"),
        ("/selection/rate".into(), Value::is_string, "a string"),
        (
            "/selection/description".into(),
            Value::is_string,
            "a string",
        ),
    ];
    let lines = body
        .pointer("/selection/lines")
        .and_then(Value::as_array)
        .map_or(0, Vec::len);
    for i in 0..lines {
        types.push((
            format!("/selection/lines/{i}"),
            Value::is_object,
            "an object",
        ));
        types.push((
            format!("/selection/lines/{i}/position"),
            Value::is_u64,
            "a whole number",
        ));
        types.push((
            format!("/selection/lines/{i}/quantity"),
            Value::is_string,
            "a string",
        ));
    }
    for (pointer, is_type, name) in &types {
        if body.pointer(pointer).is_some_and(|v| !is_type(v)) {
            return Err(ApiError::invalid(
                pointer,
                format!("has the wrong JSON type; expected {name}"),
            ));
        }
    }
    let text = |pointer: &str| body.pointer(pointer).and_then(Value::as_str);
    if let Some(net) = text("/selection/net/amount") {
        Money::from_stated(net, currency, "/selection/net/amount")
            .map_err(|e| refused("/selection/net/amount", e))?;
    }
    let mut decimals = vec!["/selection/rate".to_owned()];
    decimals.extend((0..lines).map(|i| format!("/selection/lines/{i}/quantity")));
    for pointer in decimals {
        if let Some(value) = text(&pointer)
            && !is_plain_decimal(value)
        {
            return Err(ApiError::invalid(
                &pointer,
                "must be a decimal number like 19 or 1.5 (no sign or exponent)",
            ));
        }
    }
    Ok(())
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
            "status": billing_store::InvoiceStatus::from(booked.summary.status),
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
    let raw = ctx.body_object()?;
    let invoice = ctx.invoice_overview().await?;
    let currency = invoice.total.currency();
    checked_selection(&raw, currency)?;
    let body: CreditNoteBody = typed(raw)?;
    let why = reason(body.reason.as_deref(), "/reason", true)?.unwrap_or_default();
    let expected =
        ctx.expected_revision(&format!("invoice {}", invoice.invoice_id), invoice.revision)?;
    if let CreditSelection::Amount { net, .. } = &body.selection {
        if net.currency() != currency {
            return Err(ApiError::invalid(
                "/selection/net/currency",
                format!("must be {currency}, the invoice's currency"),
            ));
        }
        if !net.is_positive() {
            return Err(ApiError::invalid(
                "/selection/net/amount",
                "must be more than zero",
            ));
        }
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
    let paid = stated_amount(&body.amount, invoice.total.currency(), "/amount")?;
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
    let applied = stated_amount(&body.amount, invoice.total.currency(), "/amount")?;
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
    let refunded = stated_amount(&body.amount, account.account.currency, "/amount")?;
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
