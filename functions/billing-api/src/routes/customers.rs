//! What the console's customer search and customer page read: one request
//! each, every list one page (continued on the list routes by cursor).

use billing_domain::numbering::InvoiceNumber;
use billing_domain::receivables::{payment_behaviour, receivables_as_of};
use billing_store::{InvoiceFilter, InvoiceStatus, Page, Paged};
use futures_util::future::try_join_all;
use serde_json::{Value, json};

use super::reads::{account_view, contract_view};
use super::{Ctx, DEFAULT_LIMIT};
use crate::error::ApiError;
use crate::reply::Reply;

/// Invoices on the customer page's first page, unless `invoice_limit` says.
pub const OVERVIEW_INVOICES: u16 = 20;

/// `GET /v1/search?q=`: invoice number and CRM id (exact) first, then one
/// page of accounts whose name starts with `q`. A continued page (with
/// `cursor`) holds name matches only.
pub async fn search(ctx: &Ctx<'_>) -> Result<Reply, ApiError> {
    let q = ctx
        .query("q")
        .map(str::trim)
        .filter(|q| !q.is_empty())
        .ok_or_else(|| ApiError::invalid("/q", "is required (at least one character)"))?;
    if q.chars().count() > 100 {
        return Err(ApiError::invalid("/q", "must be at most 100 characters"));
    }
    let page = ctx.page()?;
    let store = &ctx.state.store;
    let entity = &ctx.state.entity;
    let mut items = Vec::new();
    if page.cursor.is_none() {
        for invoice in store
            .invoices_by_number(entity, &InvoiceNumber::new(q))
            .await?
        {
            let (Some(overview), Some(account)) = (
                store.invoice_overview(&invoice.invoice_id).await?,
                store.account(&invoice.account_id).await?,
            ) else {
                continue;
            };
            items.push(json!({
                "matched": "invoice_number",
                "account": account_view(&account)?,
                "invoice": overview,
            }));
        }
        for account in store.accounts_by_crm_id(entity, q).await? {
            items.push(json!({
                "matched": "crm_id",
                "account": account_view(&account)?,
                "invoice": null,
            }));
        }
    }
    let named = store.search_accounts(entity, q, &page).await?;
    for account in &named.items {
        items.push(json!({
            "matched": "name",
            "account": account_view(account)?,
            "invoice": null,
        }));
    }
    super::paged(Paged {
        items,
        next_cursor: named.next_cursor,
    })
}

/// `GET /v1/accounts/{account_id}/overview`: the customer page in one
/// request (see `docs/openapi.yaml`).
pub async fn overview(ctx: &Ctx<'_>) -> Result<Reply, ApiError> {
    let invoice_limit = ctx.limit("invoice_limit", OVERVIEW_INVOICES)?;
    let as_of = super::today();
    let account = ctx.account().await?;
    let id = &account.account.id;
    let store = &ctx.state.store;
    let (first, first_invoices, all) = (
        Page::first(DEFAULT_LIMIT),
        Page::first(invoice_limit),
        InvoiceFilter::default(),
    );
    let (debtor, contracts, invoices, histories) = tokio::try_join!(
        store.debtor_account(id),
        store.account_contracts(id, &first),
        store.account_invoices(id, &all, &first_invoices),
        store.account_receivable_histories(id, as_of),
    )?;
    // Payments only where something was booked: paid or partly paid.
    let with_payments: Vec<_> = invoices
        .items
        .iter()
        .filter(|i| matches!(i.status, InvoiceStatus::Paid | InvoiceStatus::PartiallyPaid))
        .collect();
    let booked = try_join_all(
        with_payments
            .iter()
            .map(|invoice| store.invoice_payment_page(&invoice.invoice_id, &first)),
    )
    .await?;
    let mut payments: Vec<Value> = Vec::new();
    for (invoice, page) in with_payments.iter().zip(booked) {
        for payment in page.items {
            payments.push(json!({
                "invoice_id": invoice.invoice_id,
                "invoice_number": invoice.invoice_number,
                "payment": payment,
            }));
        }
    }
    payments.sort_by(|a, b| {
        b["payment"]["value_date"]
            .as_str()
            .cmp(&a["payment"]["value_date"].as_str())
    });
    let facts = receivables_as_of(&histories, as_of).map_err(super::reads::domain)?;
    let mut behaviour =
        serde_json::to_value(payment_behaviour(&facts, as_of).map_err(super::reads::domain)?)
            .unwrap_or(Value::Null);
    behaviour["account_id"] = json!(id);
    let dunning = json!({
        "highest_level": invoices.items.iter().map(|i| i.dunning_level).max().unwrap_or(0),
        "blocked_invoices": invoices.items.iter().filter(|i| i.dunning_blocked).map(|i| &i.invoice_id).collect::<Vec<_>>(),
        "disputed_invoices": invoices.items.iter().filter(|i| i.disputed).map(|i| &i.invoice_id).collect::<Vec<_>>(),
    });
    let mut account_json = account_view(&account)?;
    account_json["debtor_number"] = json!(debtor);
    let contracts = contracts.map(|stored| contract_view(&stored));
    Ok(Reply::ok(json!({
        "account": account_json,
        "contracts": {"items": contracts.items, "next_cursor": contracts.next_cursor},
        "invoices": {"items": invoices.items, "next_cursor": invoices.next_cursor},
        "payments": payments,
        "dunning": dunning,
        "payment_behaviour": behaviour,
    }))?
    .tagged(account.revision))
}
