//! The request parser gets whatever the internet sends. Whatever it is, the
//! parser answers with a value or a field-naming error, and never panics.

use opportunity_webhook::contract::parse;
use opportunity_webhook::error::WebhookError;
use proptest::prelude::*;
use serde_json::Value;

fn example() -> Value {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/webhooks/example-opportunity.json"
    ))
    .unwrap();
    serde_json::from_str(&text).unwrap()
}

/// Any JSON value, a few levels deep.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        ".{0,40}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
            prop::collection::btree_map(".{0,12}", inner, 0..8)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Every JSON pointer of a document, to aim mutations at real fields.
fn pointers(value: &Value, at: String, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                let p = format!("{at}/{k}");
                out.push(p.clone());
                pointers(v, p, out);
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                let p = format!("{at}/{i}");
                out.push(p.clone());
                pointers(v, p, out);
            }
        }
        _ => {}
    }
}

fn assert_answered(result: Result<opportunity_webhook::contract::ClosedOpportunity, WebhookError>) {
    if let Err(error) = result {
        assert!(
            matches!(error, WebhookError::Malformed(ref f) | WebhookError::Unprocessable(ref f) if !f.is_empty()),
            "unexpected error without fields: {error:?}"
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
        assert_answered(parse(&bytes, 500));
    }

    #[test]
    fn arbitrary_json_never_panics(value in any_json()) {
        assert_answered(parse(&serde_json::to_vec(&value).unwrap(), 500));
    }

    #[test]
    fn a_valid_body_with_one_field_replaced_never_panics(
        index in any::<prop::sample::Index>(),
        replacement in any_json(),
    ) {
        let mut body = example();
        let mut all = Vec::new();
        pointers(&body, String::new(), &mut all);
        let pointer = index.get(&all).clone();
        if let Some(slot) = body.pointer_mut(&pointer) {
            *slot = replacement;
        }
        assert_answered(parse(&serde_json::to_vec(&body).unwrap(), 500));
    }

    #[test]
    fn a_valid_body_cut_anywhere_never_panics(cut in any::<prop::sample::Index>()) {
        let bytes = serde_json::to_vec(&example()).unwrap();
        let end = cut.index(bytes.len());
        assert_answered(parse(&bytes[..end], 500));
    }
}

#[test]
fn the_documented_example_parses() {
    let parsed = parse(&serde_json::to_vec(&example()).unwrap(), 500).unwrap();
    assert_eq!(parsed.one_off.len(), 2);
    assert_eq!(parsed.recurring.len(), 1);
    assert_eq!(parsed.key.source, "salesforce/00D5g000004XyZaEAK");
}
