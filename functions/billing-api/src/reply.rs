//! The response layer: every answer of the API leaves through [`render`],
//! which masks bank data for `sales` and gives errors their one shape. A
//! route returns a [`Reply`] value and never builds a response itself, so a
//! new route cannot forget the masking.

use std::borrow::Cow;

use billing_domain::privacy;
use billing_domain::staff::StaffRole;
use billing_lambda::Failure;
use lambda_http::http::StatusCode;
use lambda_http::http::header::{
    ALLOW, CONTENT_DISPOSITION, CONTENT_TYPE, ETAG, HeaderValue, RETRY_AFTER,
};
use lambda_http::{Body, Response};
use serde::Serialize;
use serde_json::{Value, json};

use crate::error::ApiError;

/// What a route answers: a status, a JSON body and, for an invoice or an
/// account, the ETag of the revision shown.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    /// HTTP status.
    pub status: u16,
    /// The JSON body (masked for `sales` on the way out).
    pub body: Value,
    /// `"r<revision>"`, for bodies that show one invoice or account.
    pub etag: Option<String>,
    /// The methods a path answers, for a 405 (`Allow`).
    pub allow: Option<String>,
    /// A report asked for as text (content type, text), answered instead
    /// of the JSON body; only for figures without personal or bank data
    /// (revenue: account ids and amounts), so masking has nothing to do.
    pub text: Option<(&'static str, String)>,
    /// A stored file answered as it is (content type, file name, bytes):
    /// an exported period's files, for the `billing` role only (its routes
    /// are [`crate::router::Access::Confidential`]), byte for byte.
    pub file: Option<(&'static str, String, Vec<u8>)>,
}

impl Reply {
    /// 200 with `body`.
    pub fn ok(body: impl Serialize) -> Result<Self, ApiError> {
        Self::with_status(200, body)
    }

    /// `status` with `body`.
    pub fn with_status(status: u16, body: impl Serialize) -> Result<Self, ApiError> {
        let body = serde_json::to_value(body).map_err(|e| {
            ApiError::Store(billing_store::StoreError::Corrupt {
                what: "response".to_owned(),
                reason: e.to_string(),
            })
        })?;
        Ok(Self {
            status,
            body,
            etag: None,
            allow: None,
            text: None,
            file: None,
        })
    }

    /// 200 with a CSV report (`text/csv`).
    pub fn csv(text: String) -> Self {
        Self {
            status: 200,
            body: Value::Null,
            etag: None,
            allow: None,
            text: Some(("text/csv; charset=utf-8", text)),
            file: None,
        }
    }

    /// 200 with a stored file's bytes, offered for download as `name`.
    pub fn file(content_type: &'static str, name: String, bytes: Vec<u8>) -> Self {
        Self {
            status: 200,
            body: Value::Null,
            etag: None,
            allow: None,
            text: None,
            file: Some((content_type, name, bytes)),
        }
    }

    /// The same reply carrying the ETag of `revision`.
    pub fn tagged(mut self, revision: u64) -> Self {
        self.etag = Some(etag(revision));
        self
    }
}

/// The ETag of a stored revision of an invoice or account.
pub fn etag(revision: u64) -> String {
    format!("\"r{revision}\"")
}

/// The revision an `If-Match` value names, if it names one of ours.
pub fn revision_of(if_match: &str) -> Option<u64> {
    let tag = if_match.trim();
    let tag = tag.strip_prefix("W/").unwrap_or(tag);
    tag.strip_prefix("\"r")?.strip_suffix('"')?.parse().ok()
}

/// The HTTP response for a route's outcome, as `role` may see it (`None`:
/// the caller was refused before a role was known).
pub fn render(role: Option<StaffRole>, outcome: Result<Reply, ApiError>) -> Response<Body> {
    let reply = match outcome {
        Ok(reply) => reply,
        Err(error) => error_reply(&error),
    };
    let mut body = reply.body;
    if role != Some(StaffRole::Billing) {
        mask_for_sales(&mut body);
    }
    let mut disposition = None;
    let (content_type, body) = match (reply.file, reply.text) {
        (Some((content_type, name, bytes)), _) => {
            disposition = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")).ok();
            (content_type, Body::from(bytes))
        }
        (None, Some((content_type, text))) => (content_type, Body::from(text)),
        (None, None) => ("application/json", Body::from(body.to_string())),
    };
    let mut response = Response::new(body);
    *response.status_mut() =
        StatusCode::from_u16(reply.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Some(tag) = reply.etag.and_then(|t| HeaderValue::from_str(&t).ok()) {
        headers.insert(ETAG, tag);
    }
    if let Some(allow) = reply.allow.and_then(|a| HeaderValue::from_str(&a).ok()) {
        headers.insert(ALLOW, allow);
    }
    if let Some(disposition) = disposition {
        headers.insert(CONTENT_DISPOSITION, disposition);
    }
    if reply.status == 503 {
        headers.insert(RETRY_AFTER, HeaderValue::from_static("1"));
    }
    response
}

/// The one error body: `{code, message, errors: [{pointer, message}]}`.
/// Server-side failures are logged in full and answered without internals.
fn error_reply(error: &ApiError) -> Reply {
    let status = error.disposition().http_status();
    let message = if status < 500 {
        error.to_string()
    } else {
        tracing::error!(code = error.code(), error = %error, "request failed");
        if status == 503 {
            "temporarily unavailable, please retry".to_owned()
        } else {
            "internal error".to_owned()
        }
    };
    Reply {
        status,
        body: json!({
            "code": error.code(),
            "message": message,
            "errors": error.field_errors(),
        }),
        etag: None,
        allow: match error {
            ApiError::MethodNotAllowed { allowed, .. } => Some(allowed.clone()),
            _ => None,
        },
        text: None,
        file: None,
    }
}

/// Attribute names whose values are accounts (IBANs, account numbers)
/// wherever they appear: shown as `****` and their last four characters.
const ACCOUNT_FIELDS: &[&str] = &[
    "iban",
    "payer_iban",
    "payer_account",
    "debtor_iban",
    "debtor_account",
    "account_number",
    "creditor_account",
];

/// Attribute names whose values are shown to `sales` as `****` whole: bank
/// codes and account holders.
const HIDDEN_FIELDS: &[&str] = &[
    "bic",
    "payer_bic",
    "debtor_bic",
    "account_holder",
    "payer_name",
    "debtor_name",
];

/// Attribute names `sales` is meant to see as stored: where the customer's
/// invoices go (the CRM's billing contact, which sales keeps up to date).
const SHOWN_FIELDS: &[&str] = &["invoice_emails"];

/// Masks customers' and payers' bank and personal data in a response body
/// for a `sales` caller, in place: the values of [`ACCOUNT_FIELDS`] and
/// [`HIDDEN_FIELDS`], and in every other string (remittance texts, clerks'
/// reasons, error messages) whatever
/// [`billing_domain::privacy::mask_personal_data`] finds. Only
/// [`SHOWN_FIELDS`] pass unchanged.
pub fn mask_for_sales(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for (name, inner) in map.iter_mut() {
                let name = name.to_ascii_lowercase();
                if ACCOUNT_FIELDS.contains(&name.as_str()) {
                    mask_whole(inner, privacy::masked_account);
                } else if HIDDEN_FIELDS.contains(&name.as_str()) {
                    mask_whole(inner, |_| privacy::MASK.to_owned());
                } else if !SHOWN_FIELDS.contains(&name.as_str()) {
                    mask_for_sales(inner);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(mask_for_sales),
        Value::String(text) => {
            if let Cow::Owned(masked) = privacy::mask_personal_data(text) {
                *text = masked;
            }
        }
        _ => {}
    }
}

/// A bank field's value masked by `mask` (a string) or `****` (anything
/// else but null).
fn mask_whole(value: &mut Value, mask: impl Fn(&str) -> String) {
    match value {
        Value::Null => {}
        Value::String(text) => *text = mask(text),
        other => *other = Value::String(privacy::MASK.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bank_fields_and_iban_shaped_text_are_masked() {
        let mut body = json!({
            "iban": "DE89370400440532013000",
            "nested": [{"payer_account": "DE02 1203 0000 0000 2020 51", "amount": "10.00"}],
            "remittance": "RE-2026-000017 from DE89 3704 0044 0532 0130 00 thanks",
            "note": "no bank data: DE123456789 (a VAT ID), RE-2026-000001, RF18539007547034",
            "bic": null,
        });
        mask_for_sales(&mut body);
        assert_eq!(body["iban"], "****3000");
        assert_eq!(body["nested"][0]["payer_account"], "****2051");
        assert_eq!(body["nested"][0]["amount"], "10.00");
        assert_eq!(body["remittance"], "RE-2026-000017 from ****3000 thanks");
        assert_eq!(
            body["note"],
            "no bank data: DE123456789 (a VAT ID), RE-2026-000001, RF18539007547034"
        );
        assert!(body["bic"].is_null());
        let mut contact = json!({
            "invoice_emails": ["buchhaltung@kunde.example"],
            "reason": "called jo@kunde.example, BIC COBADEFFXXX",
            "bic": "COBADEFFXXX",
            "account_holder": "Erika Muster",
        });
        mask_for_sales(&mut contact);
        assert_eq!(
            contact,
            json!({
                "invoice_emails": ["buchhaltung@kunde.example"],
                "reason": "called <e-mail address>, BIC ****",
                "bic": "****",
                "account_holder": "****",
            })
        );
        let once = body.clone();
        mask_for_sales(&mut body);
        assert_eq!(body, once, "masking twice changes nothing");
    }

    #[test]
    fn sales_responses_are_masked_billing_ones_not() {
        let reply = || Reply::ok(json!({"iban": "DE89370400440532013000"}));
        let sales = render(Some(StaffRole::Sales), reply());
        assert!(!String::from_utf8_lossy(sales.body().as_ref()).contains("0532013000"));
        let billing = render(Some(StaffRole::Billing), reply());
        assert!(
            String::from_utf8_lossy(billing.body().as_ref()).contains("DE89370400440532013000")
        );
    }

    #[test]
    fn errors_have_one_shape() {
        let response = render(None, Err(ApiError::invalid("/limit", "must be 1..=200")));
        assert_eq!(response.status(), 400);
        let body: Value = serde_json::from_slice(response.body().as_ref()).unwrap();
        assert_eq!(
            body,
            json!({"code": "invalid_request", "message": "/limit: must be 1..=200",
                   "errors": [{"pointer": "/limit", "message": "must be 1..=200"}]})
        );
    }

    #[test]
    fn a_405_names_the_methods_in_allow() {
        let response = render(
            Some(StaffRole::Billing),
            Err(ApiError::MethodNotAllowed {
                path: "/v1/invoices/i1/dispute".to_owned(),
                allowed: "PUT, DELETE".to_owned(),
            }),
        );
        assert_eq!(response.status(), 405);
        assert_eq!(response.headers()["allow"], "PUT, DELETE");
    }

    #[test]
    fn etags_round_trip() {
        assert_eq!(revision_of(&etag(7)), Some(7));
        assert_eq!(revision_of("W/\"r3\""), Some(3));
        assert_eq!(revision_of("\"x3\""), None);
        assert_eq!(revision_of("*"), None);
    }
}
