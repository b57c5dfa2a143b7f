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

/// An optional attribute holding one of a closed set of names (a status,
/// a kind, a rule) read as its type: an unknown name is corrupt data, not
/// a new value to pass on.
pub(crate) fn read_optional_named<T>(
    item: &Item,
    name: Attr,
    what: &str,
    parse: fn(&str) -> Option<T>,
) -> Result<Option<T>, StoreError> {
    read_optional_s(item, name)
        .map(|stored| {
            parse(stored).ok_or_else(|| {
                StoreError::corrupt(what, format!("unknown {} {stored}", name.name()))
            })
        })
        .transpose()
}

/// [`read_optional_named`] of an attribute that must be there.
pub(crate) fn read_named<T>(
    item: &Item,
    name: Attr,
    what: &str,
    parse: fn(&str) -> Option<T>,
) -> Result<T, StoreError> {
    read_optional_named(item, name, what, parse)?
        .ok_or_else(|| StoreError::corrupt(what, format!("{} is missing", name.name())))
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
    fn a_named_value_is_read_as_its_type_and_an_unknown_one_is_corrupt() {
        let parse = |stored: &str| (stored == "open").then_some(1u8);
        let status = Attr::new("status");
        let open: Item = HashMap::from([("status".to_owned(), s("open"))]);
        let other: Item = HashMap::from([("status".to_owned(), s("reopened"))]);
        let none: Item = HashMap::new();
        assert_eq!(read_named(&open, status, "invoice", parse).unwrap(), 1);
        assert_eq!(
            read_optional_named(&none, status, "invoice", parse).unwrap(),
            None
        );
        for (item, message) in [
            (&other, "unknown status reopened"),
            (&none, "status is missing"),
        ] {
            match read_named(item, status, "invoice", parse) {
                Err(StoreError::Corrupt { reason, .. }) => assert_eq!(reason, message),
                result => panic!("{result:?}"),
            }
        }
    }

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
