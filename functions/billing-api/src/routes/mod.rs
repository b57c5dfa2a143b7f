//! The route implementations: each reads its parameters from a [`Ctx`],
//! makes one store (or domain) call and returns a [`Reply`]; the handler
//! does everything else (who is calling, which route, the response).

pub mod collections;
pub mod corrections;
pub mod customers;
pub mod mandates;
pub mod periods;
pub mod reads;
pub mod revenue;
pub mod runs;
pub mod writes;

use billing_domain::ids::{AccountId, InvoiceId};
use billing_domain::money::{Currency, Money};
use billing_store::{InvoiceOverview, Page, VersionedAccount};
use chrono::NaiveDate;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use serde_path_to_error::Segment;

use crate::error::ApiError;
use crate::handler::ApiState;
use crate::reply::{Reply, revision_of};
use crate::router::Matched;
use crate::staff::Caller;

/// Default page size of every list.
pub const DEFAULT_LIMIT: u16 = 50;

/// Everything a route may read of its request.
#[derive(Debug)]
pub struct Ctx<'a> {
    /// Clients and configuration.
    pub state: &'a ApiState,
    /// Who is calling.
    pub caller: &'a Caller,
    /// The route and its path parameters.
    pub matched: Matched,
    /// Decoded query parameters.
    pub query: Vec<(String, String)>,
    /// The raw body.
    pub body: &'a [u8],
    /// The `Content-Type` header, if sent.
    pub content_type: Option<String>,
    /// The `If-Match` header, if sent.
    pub if_match: Option<String>,
    /// The `Accept` header, if sent (reports answer CSV for `text/csv`).
    pub accept: Option<String>,
}

impl Ctx<'_> {
    /// A path parameter.
    pub fn param(&self, name: &str) -> Result<&str, ApiError> {
        self.matched.param(name)
    }

    /// A query parameter (the first, if repeated).
    pub fn query(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// `limit` (1..=200, default 50) and `cursor`.
    pub fn page(&self) -> Result<Page, ApiError> {
        let limit = self.limit("limit", DEFAULT_LIMIT)?;
        let cursor = self
            .query("cursor")
            .filter(|c| !c.is_empty())
            .map(str::to_owned);
        Ok(Page::new(limit, cursor)?)
    }

    /// A page size in query parameter `name`: 1..=200, `default` without.
    pub fn limit(&self, name: &str, default: u16) -> Result<u16, ApiError> {
        match self.query(name) {
            None => Ok(default),
            Some(text) => text
                .parse::<u16>()
                .ok()
                .filter(|l| (1..=billing_store::MAX_PAGE_LIMIT).contains(l))
                .ok_or_else(|| {
                    ApiError::invalid(&format!("/{name}"), "must be a whole number from 1 to 200")
                }),
        }
    }

    /// An optional `YYYY-MM-DD` query parameter.
    pub fn date(&self, name: &str) -> Result<Option<NaiveDate>, ApiError> {
        self.query(name)
            .map(|text| {
                text.parse().map_err(|_| {
                    ApiError::invalid(&format!("/{name}"), "must be a date YYYY-MM-DD")
                })
            })
            .transpose()
    }

    /// The body as a JSON object: an empty body reads as `{}`; anything
    /// else must be sent as `application/json` (415 otherwise) and be one
    /// JSON object (400 naming what it is instead).
    pub fn body_object(&self) -> Result<Value, ApiError> {
        if self.body.iter().all(u8::is_ascii_whitespace) {
            return Ok(Value::Object(serde_json::Map::new()));
        }
        if !self.content_type.as_deref().is_some_and(is_json_media_type) {
            return Err(ApiError::UnsupportedMediaType);
        }
        let value: Value = serde_json::from_slice(self.body).map_err(|e| {
            body_error(
                "",
                format!("is not JSON (line {}, column {})", e.line(), e.column()),
            )
        })?;
        if !value.is_object() {
            return Err(body_error(
                "",
                format!("must be a JSON object, not {}", json_type(&value)),
            ));
        }
        Ok(value)
    }

    /// The JSON body as `T`: [`Ctx::body_object`], then `T`'s fields, each
    /// error naming the field by its JSON pointer (never quoting the value
    /// sent).
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, ApiError> {
        typed(self.body_object()?)
    }

    /// The revision `If-Match` names: 428 without it, 412 when it names
    /// none of ours or not `current`.
    pub fn expected_revision(&self, what: &str, current: u64) -> Result<u64, ApiError> {
        let header = self
            .if_match
            .as_deref()
            .ok_or_else(|| ApiError::PreconditionRequired {
                what: what.to_owned(),
            })?;
        match revision_of(header) {
            Some(revision) if revision == current => Ok(revision),
            _ => Err(ApiError::PreconditionFailed {
                what: what.to_owned(),
                current: crate::reply::etag(current),
            }),
        }
    }

    /// The account `account_id` of this deployment's seller, or 404.
    pub async fn account(&self) -> Result<VersionedAccount, ApiError> {
        let id = AccountId::new(self.param("account_id")?);
        match self.state.store.account(&id).await? {
            Some(account) if account.account.billing_entity_id == self.state.entity => Ok(account),
            _ => Err(ApiError::not_found(format!("account {id}"))),
        }
    }

    /// The invoice `invoice_id` of this deployment's seller, or 404.
    pub async fn invoice_overview(&self) -> Result<InvoiceOverview, ApiError> {
        let id = InvoiceId::new(self.param("invoice_id")?);
        match self.state.store.invoice_overview(&id).await? {
            Some(invoice) if invoice.billing_entity_id == self.state.entity => Ok(invoice),
            _ => Err(ApiError::not_found(format!("invoice {id}"))),
        }
    }

    /// Today in the seller's time zone (Europe/Berlin), or `as_of` if given.
    pub fn as_of(&self) -> Result<NaiveDate, ApiError> {
        Ok(self.date("as_of")?.unwrap_or_else(today))
    }
}

/// Today in Europe/Berlin: the day the billing business runs on.
pub fn today() -> NaiveDate {
    chrono::Utc::now()
        .with_timezone(&chrono_tz::Europe::Berlin)
        .date_naive()
}

/// A page as the API shows it: `{items, next_cursor}`.
pub fn paged<T: serde::Serialize>(page: billing_store::Paged<T>) -> Result<Reply, ApiError> {
    Reply::ok(serde_json::json!({
        "items": page.items,
        "next_cursor": page.next_cursor,
    }))
}

/// An amount a write states, `{amount, currency}` at `pointer`: a plain
/// decimal within the limit and the currency's decimal places
/// ([`Money::from_stated`]), more than zero, in `currency`.
pub fn stated_amount(
    stated: &StatedAmount,
    currency: Currency,
    pointer: &str,
) -> Result<Money, ApiError> {
    if stated.currency != currency.code() {
        return Err(ApiError::invalid(
            &format!("{pointer}/currency"),
            format!("must be {currency}, the currency of the invoice or account"),
        ));
    }
    let at = format!("{pointer}/amount");
    let money = Money::from_stated(&stated.amount, currency, &at).map_err(|e| refused(&at, e))?;
    if !money.is_positive() {
        return Err(ApiError::invalid(&at, "must be more than zero"));
    }
    Ok(money)
}

/// An amount as a write's body states it: `{"amount": "12.30", "currency":
/// "EUR"}`, both strings (a JSON number is refused as the wrong type).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatedAmount {
    /// A plain decimal: digits and an optional decimal point.
    pub amount: String,
    /// ISO 4217 code.
    pub currency: String,
}

/// `value` (a JSON object) as `T`; a field of the wrong type, a missing or
/// an unknown one is named by its JSON pointer.
pub fn typed<T: DeserializeOwned>(value: Value) -> Result<T, ApiError> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let mut pointer = String::new();
        for segment in e.path().iter() {
            match segment {
                Segment::Seq { index } => pointer.push_str(&format!("/{index}")),
                Segment::Map { key } => {
                    pointer.push('/');
                    pointer.push_str(&key.replace('~', "~0").replace('/', "~1"));
                }
                Segment::Enum { variant } => {
                    pointer.push('/');
                    pointer.push_str(variant);
                }
                Segment::Unknown => {}
            }
        }
        let text = e.inner().to_string();
        // serde's text may quote the value sent: keep the field and the
        // expected type only.
        let quoted = |t: &str| {
            let (_, rest) = t.split_once('`')?;
            rest.split_once('`').map(|(name, _)| name.to_owned())
        };
        let expected = |t: &str| t.rsplit_once("expected ").map(|(_, x)| x.to_owned());
        let (pointer, message) = if text.starts_with("missing field") {
            let field = quoted(&text).unwrap_or_default();
            (format!("{pointer}/{field}"), "is required".to_owned())
        } else if text.starts_with("unknown field") {
            // The path already ends at the unknown field.
            (pointer, "is not a known field".to_owned())
        } else if text.starts_with("unknown variant") {
            let wanted = expected(&text).unwrap_or_default();
            (pointer, format!("must be one of {wanted}"))
        } else if text.starts_with("invalid type") {
            let wanted = expected(&text).unwrap_or_else(|| "another type".to_owned());
            (
                pointer,
                format!("has the wrong JSON type; expected {wanted}"),
            )
        } else if text.starts_with("invalid value") || text.starts_with("invalid length") {
            let wanted = expected(&text).unwrap_or_else(|| "another value".to_owned());
            (pointer, format!("is not acceptable; expected {wanted}"))
        } else {
            // The domain's own messages (a currency code, a date) name the rule.
            (pointer, text)
        };
        body_error(&pointer, message)
    })
}

fn body_error(pointer: &str, message: String) -> ApiError {
    let place = if pointer.is_empty() { "body" } else { pointer };
    ApiError::Invalid {
        message: format!("{place}: {message}"),
        errors: vec![billing_lambda::FieldError::new(pointer, message)],
    }
}

/// A domain refusal of the value at `pointer`, named by it.
pub fn refused(pointer: &str, error: billing_domain::DomainError) -> ApiError {
    let billing_domain::DomainError::Invalid { message, .. } = error;
    ApiError::invalid(pointer, message)
}

/// `application/json` or a `+json` type, parameters (charset) allowed.
fn is_json_media_type(content_type: &str) -> bool {
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// The JSON type of a value, as an error names it.
fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Checks a clerk's free-text reason: present, at most 500 characters.
pub fn reason(
    text: Option<&str>,
    pointer: &str,
    required: bool,
) -> Result<Option<String>, ApiError> {
    match text.map(str::trim).filter(|t| !t.is_empty()) {
        None if required => Err(ApiError::invalid(pointer, "is required")),
        None => Ok(None),
        Some(t) if t.chars().count() > 500 => {
            Err(ApiError::invalid(pointer, "must be at most 500 characters"))
        }
        Some(t) => Ok(Some(t.to_owned())),
    }
}
