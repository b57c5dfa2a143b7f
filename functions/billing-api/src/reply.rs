//! The response layer: every answer of the API leaves through [`render`],
//! which masks bank data for `sales` and gives errors their one shape. A
//! route returns a [`Reply`] value and never builds a response itself, so a
//! new route cannot forget the masking.

use billing_domain::staff::StaffRole;
use billing_lambda::Failure;
use lambda_http::http::StatusCode;
use lambda_http::http::header::{CONTENT_TYPE, ETAG, HeaderValue, RETRY_AFTER};
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
    /// A report asked for as text (content type, text), answered instead
    /// of the JSON body; only for figures without bank data (revenue).
    pub text: Option<(&'static str, String)>,
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
            text: None,
        })
    }

    /// 200 with a CSV report (`text/csv`).
    pub fn csv(text: String) -> Self {
        Self {
            status: 200,
            body: Value::Null,
            etag: None,
            text: Some(("text/csv; charset=utf-8", text)),
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
        mask_bank_data(&mut body);
    }
    let (content_type, text) = reply
        .text
        .unwrap_or_else(|| ("application/json", body.to_string()));
    let mut response = Response::new(Body::from(text));
    *response.status_mut() =
        StatusCode::from_u16(reply.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Some(tag) = reply.etag.and_then(|t| HeaderValue::from_str(&t).ok()) {
        headers.insert(ETAG, tag);
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
        text: None,
    }
}

/// Attribute names whose values are bank data wherever they appear.
const BANK_FIELDS: &[&str] = &[
    "iban",
    "bic",
    "payer_iban",
    "payer_account",
    "debtor_iban",
    "debtor_account",
    "account_number",
    "creditor_account",
];

/// Masks bank data in a response body, in place: every value of a
/// [`BANK_FIELDS`] name, and every IBAN-shaped run of characters in any
/// other string (remittance texts, payment instructions of an invoice
/// body), keeping the last four characters so a person can still compare.
pub fn mask_bank_data(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for (name, inner) in map.iter_mut() {
                if BANK_FIELDS.contains(&name.to_ascii_lowercase().as_str()) {
                    if let Value::String(text) = inner {
                        *text = masked(text);
                    } else if !inner.is_null() {
                        *inner = Value::String("****".to_owned());
                    }
                } else {
                    mask_bank_data(inner);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(mask_bank_data),
        Value::String(text) => {
            if let Some(replaced) = mask_ibans_in(text) {
                *text = replaced;
            }
        }
        _ => {}
    }
}

fn masked(text: &str) -> String {
    if text.starts_with("****") {
        return text.to_owned();
    }
    let kept: String = text
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .take(4)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    if text.chars().filter(char::is_ascii_alphanumeric).count() <= 4 {
        "****".to_owned()
    } else {
        format!("****{kept}")
    }
}

/// Shortest and longest IBAN (Norway 15, Saint Lucia 32; 34 is the limit).
const IBAN_LEN: std::ops::RangeInclusive<usize> = 15..=34;

/// `text` with every IBAN-shaped token masked, if it had one: two letters,
/// two digits, then letters and digits (single spaces allowed between
/// groups, as IBANs are printed) for 15 to 34 characters in all.
fn mask_ibans_in(text: &str) -> Option<String> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut changed = false;
    let mut i = 0;
    while i < chars.len() {
        let starts_word = i == 0 || !chars[i - 1].is_ascii_alphanumeric();
        if starts_word && let Some(end) = iban_at(&chars, i) {
            let token: String = chars[i..end].iter().collect();
            out.push_str(&masked(&token));
            changed = true;
            i = end;
            continue;
        }
        out.push(chars[i]);
        i += 1;
    }
    changed.then_some(out)
}

/// End (exclusive) of an IBAN-shaped token starting at `start`.
fn iban_at(chars: &[char], start: usize) -> Option<usize> {
    let head = chars.get(start..start + 4)?;
    let upper = |c: &char| c.is_ascii_alphabetic();
    if !(upper(&head[0]) && upper(&head[1]) && head[2].is_ascii_digit() && head[3].is_ascii_digit())
    {
        return None;
    }
    // `RF` + check digits is an ISO 11649 creditor reference (what the
    // customer writes on a transfer), not an account.
    if head[0] == 'R' && head[1] == 'F' {
        return None;
    }
    let mut count = 0;
    let mut end = start;
    let mut i = start;
    while i < chars.len() {
        let c = chars[i];
        if c.is_ascii_alphanumeric() {
            count += 1;
            i += 1;
            end = i;
        } else if c == ' '
            && chars.get(i + 1).is_some_and(char::is_ascii_alphanumeric)
            && count % 4 == 0
        {
            i += 1;
        } else {
            break;
        }
        if count > *IBAN_LEN.end() {
            return None;
        }
    }
    IBAN_LEN.contains(&count).then_some(end)
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
        mask_bank_data(&mut body);
        assert_eq!(body["iban"], "****3000");
        assert_eq!(body["nested"][0]["payer_account"], "****2051");
        assert_eq!(body["nested"][0]["amount"], "10.00");
        assert_eq!(body["remittance"], "RE-2026-000017 from ****3000 thanks");
        assert_eq!(
            body["note"],
            "no bank data: DE123456789 (a VAT ID), RE-2026-000001, RF18539007547034"
        );
        assert!(body["bic"].is_null());
        let once = body.clone();
        mask_bank_data(&mut body);
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
    fn etags_round_trip() {
        assert_eq!(revision_of(&etag(7)), Some(7));
        assert_eq!(revision_of("W/\"r3\""), Some(3));
        assert_eq!(revision_of("\"x3\""), None);
        assert_eq!(revision_of("*"), None);
    }
}
