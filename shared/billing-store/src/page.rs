//! Pages of a list: a limit and an opaque cursor in, items and the next
//! cursor out.
//!
//! Every list the staff API serves is one DynamoDB Query with `Limit`, so a
//! page costs one request however large the table grows. The cursor is the
//! Query's `LastEvaluatedKey`, as JSON in url-safe base64: opaque to callers,
//! and checked on the way back in (a tampered cursor is refused, it never
//! reaches DynamoDB as an arbitrary key).

use std::collections::HashMap;

use aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder;
use aws_sdk_dynamodb::types::AttributeValue;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::StoreError;
use crate::attributes::Item;
use crate::codec::Attr;

/// Largest page a caller may ask for: one Query response stays well under
/// DynamoDB's 1 MB page for every item kind listed.
pub const MAX_PAGE_LIMIT: u16 = 200;

/// Longest cursor accepted (a key of a few attributes encodes far shorter).
const MAX_CURSOR_LEN: usize = 2048;

/// Which page of a list to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    /// How many items at most (1..=200).
    pub limit: u16,
    /// Where the previous page stopped; `None` for the first page.
    pub cursor: Option<String>,
}

impl Page {
    /// The first page of `limit` items.
    pub fn first(limit: u16) -> Self {
        Self {
            limit,
            cursor: None,
        }
    }

    /// A page from a caller's values, refusing a limit outside 1..=200.
    pub fn new(limit: u16, cursor: Option<String>) -> Result<Self, StoreError> {
        if limit == 0 || limit > MAX_PAGE_LIMIT {
            return Err(StoreError::BadPage {
                reason: format!("limit must be between 1 and {MAX_PAGE_LIMIT}"),
            });
        }
        Ok(Self { limit, cursor })
    }
}

/// One page of a list.
#[derive(Debug, Clone, PartialEq)]
pub struct Paged<T> {
    /// The items, in the list's order.
    pub items: Vec<T>,
    /// The cursor of the next page; `None` on the last one.
    pub next_cursor: Option<String>,
}

impl<T> Paged<T> {
    /// A page of stored items, each read as `read` makes it: how every
    /// list Query becomes its page.
    pub(crate) fn read(
        items: &[Item],
        next_cursor: Option<String>,
        read: impl FnMut(&Item) -> Result<T, StoreError>,
    ) -> Result<Self, StoreError> {
        Ok(Self {
            items: items.iter().map(read).collect::<Result<_, _>>()?,
            next_cursor,
        })
    }

    /// The same page with each item converted.
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Paged<U> {
        Paged {
            items: self.items.into_iter().map(f).collect(),
            next_cursor: self.next_cursor,
        }
    }
}

/// Encodes a `LastEvaluatedKey` as a cursor. Keys hold strings and numbers
/// only (every key attribute of the table and its indexes is one of them).
pub(crate) fn encode_cursor(key: &Item) -> Result<String, StoreError> {
    let mut plain = serde_json::Map::new();
    for (name, value) in key {
        let encoded = match value {
            AttributeValue::S(text) => serde_json::json!({ "S": text }),
            AttributeValue::N(number) => serde_json::json!({ "N": number }),
            _ => {
                return Err(StoreError::corrupt(
                    "page key",
                    format!("{name} is not S or N"),
                ));
            }
        };
        plain.insert(name.clone(), encoded);
    }
    let json = serde_json::Value::Object(plain).to_string();
    Ok(URL_SAFE_NO_PAD.encode(json.as_bytes()))
}

/// Decodes a cursor back into the key to start after. `partition` is the
/// attribute and value the Query is for: a cursor of another list is refused.
pub(crate) fn decode_cursor(cursor: &str, partition: (Attr, &str)) -> Result<Item, StoreError> {
    let bad = |reason: &str| StoreError::BadPage {
        reason: format!("cursor {reason}"),
    };
    if cursor.len() > MAX_CURSOR_LEN {
        return Err(bad("is too long"));
    }
    let bytes = URL_SAFE_NO_PAD
        .decode(cursor.as_bytes())
        .map_err(|_| bad("is not url-safe base64"))?;
    let value: serde_json::Value =
        serde_json::from_slice(&bytes).map_err(|_| bad("is not a page key"))?;
    let serde_json::Value::Object(plain) = value else {
        return Err(bad("is not a page key"));
    };
    let mut key = HashMap::new();
    for (name, typed) in plain {
        let attribute = match (typed.get("S"), typed.get("N")) {
            (Some(serde_json::Value::String(text)), None) => AttributeValue::S(text.clone()),
            (None, Some(serde_json::Value::String(number)))
                if number.parse::<rust_decimal::Decimal>().is_ok() =>
            {
                AttributeValue::N(number.clone())
            }
            _ => return Err(bad("is not a page key")),
        };
        key.insert(name, attribute);
    }
    let (name, value) = partition;
    match key.get(name.name()) {
        Some(AttributeValue::S(found)) if found == value => Ok(key),
        _ => Err(bad("belongs to another list")),
    }
}

/// Runs one Query of a page: at most `page.limit` items, starting after the
/// cursor. `partition` is the key attribute and value the query is for (see
/// [`decode_cursor`]). One request to DynamoDB per call.
pub(crate) async fn query_page(
    query: QueryFluentBuilder,
    partition: (Attr, &str),
    page: &Page,
) -> Result<(Vec<Item>, Option<String>), StoreError> {
    let start = page
        .cursor
        .as_deref()
        .map(|cursor| decode_cursor(cursor, partition))
        .transpose()?;
    let output = query
        .limit(i32::from(page.limit))
        .set_exclusive_start_key(start)
        .send()
        .await
        .map_err(|e| StoreError::aws("Query", &e))?;
    let next = output
        .last_evaluated_key
        .as_ref()
        .filter(|key| !key.is_empty())
        .map(encode_cursor)
        .transpose()?;
    Ok((output.items.unwrap_or_default(), next))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attributes::{n, s};
    use crate::codec::PK;

    fn key() -> Item {
        HashMap::from([
            ("pk".to_owned(), s("AUDIT#INVOICE#inv_1")),
            ("sk".to_owned(), s("2026-03-01T10:00:00.000Z#aud_1")),
            ("dunning_at".to_owned(), n(17)),
        ])
    }

    #[test]
    fn a_cursor_round_trips_and_is_url_safe() {
        let cursor = encode_cursor(&key()).unwrap();
        assert!(
            cursor
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'),
            "{cursor}"
        );
        assert_eq!(
            decode_cursor(&cursor, (PK, "AUDIT#INVOICE#inv_1")).unwrap(),
            key()
        );
    }

    #[test]
    fn a_cursor_of_another_list_or_garbage_is_refused() {
        let cursor = encode_cursor(&key()).unwrap();
        for (cursor, partition) in [
            (cursor.as_str(), (PK, "AUDIT#INVOICE#inv_2")),
            ("not base64!", (PK, "AUDIT#INVOICE#inv_1")),
            ("eyJway", (PK, "AUDIT#INVOICE#inv_1")),
            // {"pk":{"B":"x"}}: a binary attribute is never a key here.
            ("eyJwayI6eyJCIjoieCJ9fQ", (PK, "x")),
        ] {
            assert!(
                matches!(
                    decode_cursor(cursor, partition),
                    Err(StoreError::BadPage { .. })
                ),
                "{cursor}"
            );
        }
        let long = "A".repeat(MAX_CURSOR_LEN + 1);
        assert!(decode_cursor(&long, (PK, "x")).is_err());
    }

    #[test]
    fn limits_outside_one_to_two_hundred_are_refused() {
        assert!(Page::new(0, None).is_err());
        assert!(Page::new(201, None).is_err());
        assert_eq!(Page::new(200, None).unwrap(), Page::first(200));
    }
}
