//! Reading and writing item attributes without panicking on what is stored.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::StoreError;
use crate::codec::{Attr, BODY, PK, SK};

/// A DynamoDB item.
pub(crate) type Item = HashMap<String, AttributeValue>;

pub(crate) fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

pub(crate) fn n(value: impl ToString) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

/// The JSON body of a domain value, stored in the `body` attribute.
/// Largest `body` stored in one item. DynamoDB refuses items over 400 KB;
/// the rest of an item (keys, index attributes) stays far below the margin.
pub const MAX_BODY_BYTES: usize = 350_000;

/// Encodes a domain value for the `body` attribute, refusing one DynamoDB
/// could not store before anything is sent.
pub(crate) fn body<T: Serialize>(value: &T, what: &str) -> Result<AttributeValue, StoreError> {
    let text = serde_json::to_string(value)
        .map_err(|e| StoreError::corrupt(what, format!("cannot encode: {e}")))?;
    if text.len() > MAX_BODY_BYTES {
        return Err(StoreError::TooLarge {
            what: what.to_owned(),
            size: text.len(),
        });
    }
    Ok(AttributeValue::S(text))
}

pub(crate) fn read_body<T: DeserializeOwned>(item: &Item, what: &str) -> Result<T, StoreError> {
    let text = read_s(item, BODY, what)?;
    // serde's message may quote the stored value (personal data): report
    // only the kind of problem and where it is.
    serde_json::from_str(text).map_err(|e| {
        StoreError::corrupt(
            what,
            format!(
                "body: {:?} error at line {} column {}",
                e.classify(),
                e.line(),
                e.column()
            ),
        )
    })
}

pub(crate) fn read_s<'a>(item: &'a Item, name: Attr, what: &str) -> Result<&'a str, StoreError> {
    let name = name.name();
    match item.get(name) {
        Some(AttributeValue::S(value)) => Ok(value),
        Some(_) => Err(StoreError::corrupt(what, format!("{name} is not a string"))),
        None => Err(StoreError::corrupt(what, format!("{name} is missing"))),
    }
}

pub(crate) fn read_optional_s(item: &Item, name: Attr) -> Option<&str> {
    match item.get(name.name()) {
        Some(AttributeValue::S(value)) => Some(value),
        _ => None,
    }
}

pub(crate) fn read_u64(item: &Item, name: Attr, what: &str) -> Result<u64, StoreError> {
    let name = name.name();
    match item.get(name) {
        Some(AttributeValue::N(value)) => value
            .parse()
            .map_err(|_| StoreError::corrupt(what, format!("{name} is not a whole number"))),
        Some(_) => Err(StoreError::corrupt(what, format!("{name} is not a number"))),
        None => Err(StoreError::corrupt(what, format!("{name} is missing"))),
    }
}

/// A timestamp as stored: RFC 3339, UTC, milliseconds.
pub(crate) fn time(at: chrono::DateTime<chrono::Utc>) -> AttributeValue {
    s(at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
}

/// A stored timestamp, if present.
pub(crate) fn read_optional_time(
    item: &Item,
    name: Attr,
    what: &str,
) -> Result<Option<chrono::DateTime<chrono::Utc>>, StoreError> {
    read_optional_s(item, name)
        .map(|text| {
            chrono::DateTime::parse_from_rfc3339(text)
                .map(|t| t.to_utc())
                .map_err(|e| StoreError::corrupt(what, format!("{}: {e}", name.name())))
        })
        .transpose()
}

/// A stored timestamp that must be there.
pub(crate) fn read_time(
    item: &Item,
    name: Attr,
    what: &str,
) -> Result<chrono::DateTime<chrono::Utc>, StoreError> {
    read_optional_time(item, name, what)?
        .ok_or_else(|| StoreError::corrupt(what, format!("{} is missing", name.name())))
}

pub(crate) fn key_item(key: (String, String)) -> Item {
    let (pk, sk) = key;
    HashMap::from([(PK.name().to_owned(), s(pk)), (SK.name().to_owned(), s(sk))])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_body_over_the_item_limit_is_refused_before_sending() {
        let big = "x".repeat(MAX_BODY_BYTES);
        assert!(matches!(
            body(&big, "invoice"),
            Err(StoreError::TooLarge { size, .. }) if size == MAX_BODY_BYTES + 2
        ));
        assert!(body(&"small", "invoice").is_ok());
    }
}
