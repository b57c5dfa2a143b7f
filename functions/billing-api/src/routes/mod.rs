//! The route implementations: each reads its parameters from a [`Ctx`],
//! makes one store (or domain) call and returns a [`Reply`]; the handler
//! does everything else (who is calling, which route, the response).

pub mod corrections;
pub mod reads;
pub mod revenue;
pub mod writes;

use billing_domain::ids::{AccountId, InvoiceId};
use billing_store::{InvoiceOverview, Page, VersionedAccount};
use chrono::NaiveDate;
use serde::de::DeserializeOwned;

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
        let limit = match self.query("limit") {
            None => DEFAULT_LIMIT,
            Some(text) => text
                .parse::<u16>()
                .ok()
                .filter(|l| (1..=billing_store::MAX_PAGE_LIMIT).contains(l))
                .ok_or_else(|| {
                    ApiError::invalid("/limit", "must be a whole number from 1 to 200")
                })?,
        };
        let cursor = self
            .query("cursor")
            .filter(|c| !c.is_empty())
            .map(str::to_owned);
        Ok(Page::new(limit, cursor)?)
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

    /// The JSON body as `T` (an empty body reads as `{}`).
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, ApiError> {
        let body = if self.body.iter().all(u8::is_ascii_whitespace) {
            b"{}".as_slice()
        } else {
            self.body
        };
        serde_json::from_slice(body).map_err(|e| {
            // serde's text may quote the value sent; name only the kind and place.
            let message = match e.classify() {
                serde_json::error::Category::Data => {
                    let text = e.to_string();
                    // "missing field `reason`", "unknown field `x`": field names only.
                    match text.find('`').zip(text.rfind('`')) {
                        Some((a, b)) if a < b => {
                            format!("{} `{}`", text[..a].trim(), &text[a + 1..b])
                        }
                        _ => "a value has the wrong type".to_owned(),
                    }
                }
                _ => format!("is not JSON (line {}, column {})", e.line(), e.column()),
            };
            ApiError::Invalid {
                message: format!("body: {message}"),
                errors: vec![billing_lambda::FieldError::new("", message)],
            }
        })
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
