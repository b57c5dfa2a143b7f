//! One request: who is calling, which route, one store call, the answer.

use billing_domain::ids::BillingEntityId;
use billing_lambda::http::{error_response, json_response};
use billing_store::{AttentionEntry, BillingStore};
use chrono::{DateTime, Utc};
use lambda_http::{Body, Request, RequestExt, Response};
use serde::Serialize;

use crate::error::ApiError;
use crate::staff::role;

/// What every request needs, built once per cold start.
#[derive(Debug)]
pub struct ApiState {
    /// The billing table.
    pub store: BillingStore,
    /// The seller this deployment bills for.
    pub entity: BillingEntityId,
}

/// The path of the needs-attention list.
pub const NEEDS_ATTENTION: &str = "/v1/delivery/needs-attention";

/// One entry of the needs-attention list as the API shows it.
#[derive(Debug, Serialize)]
struct AttentionView<'a> {
    invoice_id: &'a str,
    invoice_number: &'a str,
    account_id: &'a str,
    status: &'static str,
    reason: &'a str,
    since: DateTime<Utc>,
}

/// Answers one staff request; every failure becomes a mapped status.
pub async fn handle(state: &ApiState, request: Request) -> Response<Body> {
    match route(state, &request).await {
        Ok(response) => response,
        Err(error) => error_response(&error),
    }
}

async fn route(state: &ApiState, request: &Request) -> Result<Response<Body>, ApiError> {
    let path = request.uri().path();
    let method = request.method().as_str();
    if path != NEEDS_ATTENTION {
        return Err(ApiError::NotFound {
            method: method.to_owned(),
            path: path.to_owned(),
        });
    }
    if method != "GET" {
        return Err(ApiError::MethodNotAllowed {
            path: path.to_owned(),
            allowed: "GET",
        });
    }
    role(&request.request_context()).ok_or(ApiError::Forbidden)?;
    let entries = state.store.needs_attention(&state.entity).await?;
    let customers = state
        .store
        .customers_needing_attention(&state.entity)
        .await?;
    let mut body = attention_body(&entries);
    // Customers an invoice run could not bill (until a later run bills them).
    body["customers"] = serde_json::json!(customers);
    Ok(json_response(200, &body))
}

fn attention_body(entries: &[AttentionEntry]) -> serde_json::Value {
    let views: Vec<AttentionView<'_>> = entries
        .iter()
        .map(|e| AttentionView {
            invoice_id: &e.invoice_id,
            invoice_number: &e.invoice_number,
            account_id: &e.account_id,
            status: e.status.as_str(),
            reason: &e.reason,
            since: e.since,
        })
        .collect();
    serde_json::json!({ "entries": views })
}
