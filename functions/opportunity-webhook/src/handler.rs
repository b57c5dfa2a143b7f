//! HTTP in, HTTP out: authenticate, parse, one call to the use case, map
//! the result. Every path answers with a mapped status; nothing panics.

use std::future::Future;

use billing_lambda::http::{error_response, json_response};
use billing_lambda::metrics::{self, MetricLine};
use billing_lambda::preload::Preload;
use billing_store::OpportunityRecord;
use chrono::{DateTime, Utc};
use lambda_http::http::HeaderValue;
use lambda_http::http::header::CONTENT_TYPE;
use lambda_http::{Body, Request, Response};
use serde::Serialize;

use crate::contract;
use crate::error::{MAX_BODY_BYTES, WebhookError};
use crate::service::{Closed, OpportunityService};
use crate::signature::{SIGNATURE_HEADER, SecretRing};
use crate::startup::StartupError;

/// The function's name in its business metrics.
pub const FUNCTION: &str = "opportunity-webhook";

/// Header set on answers to a retry, so the CRM's logs show it was one.
pub const REPLAYED_HEADER: &str = "idempotent-replayed";

/// What the function keeps between invocations (built once per cold start).
#[derive(Debug)]
pub struct WebhookState {
    /// The use case, with the store and the seller configuration.
    pub service: OpportunityService,
    /// The signing secrets, refreshed when rotated.
    pub secrets: SecretRing,
}

/// The answer's body: what was done, by id.
#[derive(Debug, Serialize)]
pub struct Answer<'a> {
    /// `invoiced`, `parked` or `subscribed`.
    pub status: &'static str,
    /// The customer's account.
    pub account_id: &'a str,
    /// The invoice's id, when one-off items were invoiced.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub invoice_id: Option<&'a str>,
    /// Its legal number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub invoice_number: Option<String>,
    /// Its gross total, as a decimal string.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total: Option<String>,
    /// Its currency.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub currency: Option<&'static str>,
    /// How many one-off lines wait for the next run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pending_charges: Option<usize>,
    /// The contract created or amended.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subscription_id: Option<&'a str>,
}

impl<'a> Answer<'a> {
    fn from_record(record: &'a OpportunityRecord) -> Self {
        let outcome = &record.outcome;
        let invoice = outcome.invoice.as_ref();
        let status = if invoice.is_some() {
            "invoiced"
        } else if outcome.parked.is_some() {
            "parked"
        } else {
            "subscribed"
        };
        Self {
            status,
            account_id: outcome.account_id.as_str(),
            invoice_id: invoice.map(|i| i.invoice_id.as_str()),
            invoice_number: invoice.map(|i| i.number.to_string()),
            total: invoice.map(|i| i.total.amount().to_string()),
            currency: invoice.map(|i| i.total.currency().code()),
            pending_charges: outcome.parked.as_ref().map(|p| p.line_count),
            subscription_id: outcome.subscription_id.as_ref().map(|s| s.as_str()),
        }
    }
}

/// Handle one request with the state loaded at cold start. If that load
/// failed, this request tries again (at most every few seconds, see
/// `billing_lambda::preload::RETRY_AFTER`) and, while it fails, is answered
/// with a 5xx (the CRM retries).
pub async fn handle_when_loaded<F, Fut>(
    state: &Preload<WebhookState, StartupError, F>,
    request: Request,
) -> Response<Body>
where
    F: Fn() -> Fut,
    Fut: Future<Output = Result<WebhookState, StartupError>>,
{
    match state.get().await {
        Ok(state) => handle(state, request).await,
        Err(error) => answered(error_response(&*error)),
    }
}

/// Handle one request at the current time.
pub async fn handle(state: &WebhookState, request: Request) -> Response<Body> {
    handle_at(state, request, Utc::now()).await
}

/// Handle one request as if at `now` (signature freshness, issue date).
pub async fn handle_at(
    state: &WebhookState,
    request: Request,
    now: DateTime<Utc>,
) -> Response<Body> {
    let response = match process(state, &request, now).await {
        Ok(response) => response,
        Err(error) => {
            if matches!(error, WebhookError::Unauthorized) {
                tracing::warn!("webhook refused: signature missing or invalid");
            }
            error_response(&error)
        }
    };
    answered(response)
}

/// Counts the answer in the webhook's request and 5xx metrics (the 5xx
/// rate alarm's inputs) and passes it on.
fn answered(response: Response<Body>) -> Response<Body> {
    MetricLine::new(FUNCTION)
        .count(metrics::WEBHOOK_REQUESTS, 1)
        .count(
            metrics::WEBHOOK_SERVER_ERRORS,
            usize::from(response.status().is_server_error()),
        )
        .emit();
    response
}

async fn process(
    state: &WebhookState,
    request: &Request,
    now: DateTime<Utc>,
) -> Result<Response<Body>, WebhookError> {
    let body: &[u8] = request.body().as_ref();
    if body.len() > MAX_BODY_BYTES {
        return Err(WebhookError::TooLarge { size: body.len() });
    }
    let signature = request
        .headers()
        .get(SIGNATURE_HEADER)
        .and_then(|v| v.to_str().ok());
    if !state.secrets.verify(signature, body, now).await {
        return Err(WebhookError::Unauthorized);
    }
    if !is_json(request.headers().get(CONTENT_TYPE)) {
        return Err(WebhookError::UnsupportedMediaType);
    }
    let opportunity = contract::parse(body, state.service.max_lines())?;
    let closed = state.service.close(&opportunity, now).await?;
    let (status, record, replayed) = match &closed {
        Closed::Recorded(record) if record.outcome.invoice.is_some() => (201, record, false),
        Closed::Recorded(record) => (202, record, false),
        Closed::Replayed(record) => (200, record, true),
    };
    if status == 201 {
        MetricLine::new(FUNCTION)
            .count(metrics::INVOICES_FINALIZED, 1)
            .emit();
    }
    tracing::info!(
        opportunity_id = %record.key.opportunity_id,
        status,
        replayed,
        invoice_number = record.outcome.invoice.as_ref().map(|i| i.number.to_string()).as_deref(),
        "opportunity processed"
    );
    let mut response = json_response(status, &Answer::from_record(record));
    if replayed {
        response
            .headers_mut()
            .insert(REPLAYED_HEADER, HeaderValue::from_static("true"));
    }
    Ok(response)
}

fn is_json(content_type: Option<&HeaderValue>) -> bool {
    content_type
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|media| media.trim().eq_ignore_ascii_case("application/json"))
}
