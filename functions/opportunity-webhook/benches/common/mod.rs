//! What both webhook benchmarks need: the German seller and a signable
//! opportunity body built from the published schema's fields.
#![allow(dead_code)]

use std::path::PathBuf;

use billing_domain::seller::BillingEntity;
use serde_json::{Value, json};

/// The signing secret the benchmarks configure (`WEBHOOK_SECRETS`).
pub const SECRET: &str = "bench-secret";

/// 2026-03-10T09:00:00Z: the signature's timestamp and the handler's "now".
pub const NOW_UNIX: i64 = 1_773_133_200;

/// The repository's example seller, `docs/examples/billing-entity.json`.
pub fn example_entity_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/examples/billing-entity.json")
}

/// The German seller: the repository's example entity (a GmbH in Berlin,
/// 19 % and 7 %, default number series). The second value names the source.
pub fn german_entity() -> (BillingEntity, &'static str) {
    let path = example_entity_path();
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let entity: BillingEntity = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("{} is not a billing entity: {e}", path.display()));
    entity.validate().expect("the example entity is valid");
    (entity, "docs/examples/billing-entity.json")
}

/// A 10-line (or `lines`-line) opportunity for a German business customer,
/// invoiced now: one-off items at 19 % and 7 %, each with a service period
/// or date, quantities and prices as decimal strings as the schema prefers.
pub fn opportunity_body(lines: usize) -> Vec<u8> {
    let items: Vec<Value> = (0..lines)
        .map(|i| {
            let mut item = json!({
                "product_code": format!("SKU-{i:03}"),
                "description": format!("Implementation package {i}"),
                "quantity": format!("{}.{}", 1 + i % 4, (i * 5) % 10),
                "unit": if i % 2 == 0 { "HUR" } else { "C62" },
                "unit_price": format!("{}.{:02}", 120 + 37 * i, (i * 13) % 100),
                "tax_category": if i % 3 == 0 { "reduced" } else { "standard" },
            });
            if i % 2 == 0 {
                item["service_period"] = json!({ "start": "2026-02-01", "end": "2026-02-28" });
            } else {
                item["service_date"] = json!("2026-03-09");
            }
            item
        })
        .collect();
    let body = json!({
        "source_system": "salesforce",
        "crm_org_id": "00D5g000004bench",
        "opportunity_id": "0065g00000BenchA",
        "last_modified": "2026-03-10T08:59:12Z",
        "close_date": "2026-03-09",
        "currency": "EUR",
        "purchase_order": "PO-2026-0042",
        "billing_option": "invoice_now",
        "account": {
            "crm_id": "0015g00000Bench1",
            "name": "Nordlicht Analytics GmbH",
            "address": {
                "street": "Speicherstadt 12",
                "postal_code": "20457",
                "city": "Hamburg",
                "country": "DE"
            },
            "vat_id": "DE811907980",
            "invoice_emails": ["rechnung@nordlicht.example", "einkauf@nordlicht.example"],
            "language": "de",
            "currency": "EUR",
            "kind": "business",
            "payment_terms_days": 30
        },
        "items": items,
    });
    serde_json::to_vec(&body).unwrap()
}
