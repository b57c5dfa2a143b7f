//! The billing table's stored layout: one codec module per item family,
//! each naming its item's attributes once. Flow modules refer to an
//! attribute by its constant and never spell it; in an expression the
//! constant renders as its placeholder (`#name`), and [`Named::named`] on the
//! request fills in `ExpressionAttributeNames` from the placeholders used,
//! so a name is declared here and nowhere else (`tools/check_store_codecs.py`
//! fails on a spelled attribute outside `codec/`).

use std::collections::HashMap;
use std::fmt;

use aws_sdk_dynamodb::types::AttributeValue;

pub(crate) mod account;
pub(crate) mod accounting;
pub(crate) mod attention;
pub(crate) mod audit;
pub(crate) mod collection;
pub(crate) mod counter;
pub(crate) mod credit;
pub(crate) mod invoice;
pub(crate) mod letter;
pub(crate) mod mandate;
pub(crate) mod opportunity;
pub(crate) mod payment;
pub(crate) mod run;
pub(crate) mod subscription;

/// One attribute of a stored item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct Attr(&'static str);

impl Attr {
    /// An attribute stored as `name`; only codec modules declare them.
    pub(crate) const fn new(name: &'static str) -> Self {
        Self(name)
    }

    /// The stored name.
    pub(crate) const fn name(self) -> &'static str {
        self.0
    }
}

/// In an expression an attribute is always its placeholder, so reserved
/// words (`status`, `state`) need no care at the call site.
impl fmt::Display for Attr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

/// The partition key of every item.
pub(crate) const PK: Attr = Attr::new("pk");
/// The sort key of every item.
pub(crate) const SK: Attr = Attr::new("sk");
/// What kind of item it is (`invoice`, `payment`, ...), for people reading
/// the table and for the stream's consumers.
pub(crate) const RECORD_TYPE: Attr = Attr::new("record_type");
/// A domain value as JSON (see `attributes::body`).
pub(crate) const BODY: Attr = Attr::new("body");
/// Optimistic version of items a writer reads, changes and writes back.
pub(crate) const VERSION: Attr = Attr::new("version");
/// Staff-write revision (the API's ETag `"r<revision>"`).
pub(crate) const REVISION: Attr = Attr::new("revision");
/// `ByAccount` index: partition (`ACCOUNT#id`, `NAMES#entity`, `RUNS`,
/// `COLLECTIONS#entity`).
pub(crate) const ACCOUNT_KEY: Attr = Attr::new("account_key");
/// `ByAccount` index: sort key within it.
pub(crate) const ACCOUNT_SORT: Attr = Attr::new("account_sort");

/// Writing and reading attributes of an item by their codec constants.
pub(crate) trait ItemAttributes {
    /// Sets `attr` to `value`.
    fn put(&mut self, attr: Attr, value: AttributeValue);
    /// The stored value of `attr`, if any.
    fn attr(&self, attr: Attr) -> Option<&AttributeValue>;
    /// Whether `attr` is stored.
    fn has(&self, attr: Attr) -> bool {
        self.attr(attr).is_some()
    }
}

impl ItemAttributes for HashMap<String, AttributeValue> {
    fn put(&mut self, attr: Attr, value: AttributeValue) {
        self.insert(attr.name().to_owned(), value);
    }

    fn attr(&self, attr: Attr) -> Option<&AttributeValue> {
        self.get(attr.name())
    }
}

/// The `ExpressionAttributeNames` an expression's placeholders need: every
/// `#name` not already named maps to `name` (placeholders come from
/// [`Attr`]'s `Display`).
fn placeholders<'a>(
    expressions: impl IntoIterator<Item = &'a str>,
    named: Option<&HashMap<String, String>>,
) -> Vec<(String, String)> {
    let mut found: Vec<(String, String)> = Vec::new();
    for expression in expressions {
        let mut rest = expression;
        while let Some(at) = rest.find('#') {
            let tail = &rest[at + 1..];
            let end = tail
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(tail.len());
            let name = &tail[..end];
            let placeholder = format!("#{name}");
            if !name.is_empty()
                && !named.is_some_and(|names| names.contains_key(&placeholder))
                && !found.iter().any(|(p, _)| *p == placeholder)
            {
                found.push((placeholder, name.to_owned()));
            }
            rest = &tail[end..];
        }
    }
    found
}

/// Requests whose expressions name attributes by placeholder.
pub(crate) trait Named: Sized {
    /// Adds the `ExpressionAttributeNames` of the placeholders its
    /// expressions use; call it after the last expression is set.
    fn named(self) -> Self;
}

macro_rules! named {
    ($builder:ty: $($get:ident),+) => {
        impl Named for $builder {
            fn named(self) -> Self {
                let found = placeholders(
                    [$(self.$get()),+].into_iter().flatten().map(String::as_str),
                    self.get_expression_attribute_names().as_ref(),
                );
                found.into_iter().fold(self, |builder, (placeholder, name)| {
                    builder.expression_attribute_names(placeholder, name)
                })
            }
        }
    };
}

named!(aws_sdk_dynamodb::types::builders::UpdateBuilder: get_update_expression, get_condition_expression);
named!(aws_sdk_dynamodb::types::builders::PutBuilder: get_condition_expression);
named!(aws_sdk_dynamodb::types::builders::DeleteBuilder: get_condition_expression);
named!(aws_sdk_dynamodb::types::builders::ConditionCheckBuilder: get_condition_expression);
named!(aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder: get_update_expression, get_condition_expression);
named!(aws_sdk_dynamodb::operation::put_item::builders::PutItemFluentBuilder: get_condition_expression);
named!(aws_sdk_dynamodb::operation::delete_item::builders::DeleteItemFluentBuilder: get_condition_expression);
named!(aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder: get_key_condition_expression, get_filter_expression, get_projection_expression);

#[cfg(test)]
mod tests {
    use super::*;

    const STATUS: Attr = Attr::new("status");
    const OPEN_KEY: Attr = Attr::new("open_key");

    #[test]
    fn an_attribute_in_an_expression_is_its_placeholder_and_is_named_once() {
        let update = aws_sdk_dynamodb::types::Update::builder()
            .update_expression(format!("SET {STATUS} = :s REMOVE {OPEN_KEY}"))
            .condition_expression(format!("attribute_exists({PK}) AND {STATUS} <> :s"))
            .named();
        assert_eq!(
            update.get_update_expression().as_deref(),
            Some("SET #status = :s REMOVE #open_key")
        );
        let names = update
            .get_expression_attribute_names()
            .clone()
            .unwrap_or_default();
        assert_eq!(
            names,
            HashMap::from([
                ("#status".to_owned(), "status".to_owned()),
                ("#open_key".to_owned(), "open_key".to_owned()),
                ("#pk".to_owned(), "pk".to_owned()),
            ])
        );
    }

    #[test]
    fn a_placeholder_named_before_keeps_its_name() {
        let query = aws_sdk_dynamodb::types::Update::builder()
            .update_expression("SET #at = :v")
            .expression_attribute_names("#at", "dunning_at")
            .named();
        assert_eq!(
            query
                .get_expression_attribute_names()
                .clone()
                .unwrap_or_default(),
            HashMap::from([("#at".to_owned(), "dunning_at".to_owned())])
        );
    }

    #[test]
    fn attributes_are_written_and_read_by_their_constant() {
        let mut item = HashMap::new();
        item.put(STATUS, AttributeValue::S("open".into()));
        assert_eq!(item.get("status"), Some(&AttributeValue::S("open".into())));
        assert!(item.has(STATUS));
        assert!(!item.has(OPEN_KEY));
    }
}
