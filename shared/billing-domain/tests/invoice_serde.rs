//! Every public type of money, ids, parties, items, tax, invoices, numbering
//! and payments round-trips through JSON with stable snake_case names and
//! amounts as strings: stored invoices must read back exactly.

mod invoice_fixtures;

use std::fmt::Debug;

use billing_domain::ids::*;
use billing_domain::invoice::{InvoiceDraft, InvoiceReferences, InvoiceRequest};
use billing_domain::item::LineSource;
use billing_domain::item::{Item, PendingCharge, UnitCode};
use billing_domain::money::{Currency, Money};
use billing_domain::numbering::DocumentType;
use billing_domain::numbering::{
    CounterPeriod, InvoiceNumber, NumberPattern, NumberSeries, SequenceReset,
};
use billing_domain::party::{CountryCode, CustomerKind, Language, LeitwegId};
use billing_domain::payment::{Payment, PaymentStatus, PaymentSummary};
use billing_domain::tax::{Exemption, TaxCategory, TaxTreatment, VatCategoryCode};
use billing_domain::taxation::TaxRules;
use invoice_fixtures::*;
use rust_decimal_macros::dec;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

/// Serializes, checks the names, deserializes and compares.
fn roundtrip<T: Serialize + DeserializeOwned + PartialEq + Debug>(value: &T) -> Value {
    let json = serde_json::to_value(value).unwrap();
    assert_names_and_amounts(&json);
    let back: T = serde_json::from_value(json.clone()).unwrap();
    assert_eq!(&back, value);
    json
}

/// All object keys are snake_case; every `amount`, `rate` and `quantity` is
/// a string (never a JSON number, which would lose decimals), and the only
/// numbers anywhere are integers (positions, days, years).
fn assert_names_and_amounts(value: &Value) {
    match value {
        Value::Object(map) => {
            for (key, inner) in map {
                let snake = key
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
                assert!(snake, "key `{key}` is not snake_case");
                if [
                    "amount",
                    "rate",
                    "quantity",
                    "standard_rate",
                    "reduced_rate",
                ]
                .contains(&key.as_str())
                {
                    let money = inner.get("currency").is_some();
                    assert!(
                        inner.is_string() || money,
                        "`{key}` is not a string: {inner}"
                    );
                }
                assert_names_and_amounts(inner);
            }
        }
        Value::Array(items) => items.iter().for_each(assert_names_and_amounts),
        Value::Number(n) => assert!(n.is_i64() || n.is_u64(), "fractional number {n}"),
        _ => {}
    }
}

#[test]
fn scalars_and_ids() {
    assert_eq!(roundtrip(&Currency::JPY), json!("JPY"));
    assert_eq!(
        roundtrip(&Money::new(dec!(12.34), Currency::EUR)),
        json!({"amount": "12.34", "currency": "EUR"})
    );
    assert_eq!(roundtrip(&AccountId::new("a")), json!("a"));
    roundtrip(&InvoiceId::new("i"));
    roundtrip(&SubscriptionId::new("s"));
    roundtrip(&SubscriptionItemId::new("si"));
    roundtrip(&BillingEntityId::new("e"));
    roundtrip(&CrmAccountId::new("c"));
    roundtrip(&OpportunityId::new("o"));
    roundtrip(&PendingChargeId::new("p"));
    roundtrip(&PaymentId::new("pay"));
    roundtrip(&ProductCode::new("SKU-1"));
    assert_eq!(
        roundtrip(&InvoiceNumber::new("RE-2026-000001")),
        json!("RE-2026-000001")
    );
    assert_eq!(roundtrip(&CustomerKind::Business), json!("business"));
    assert_eq!(roundtrip(&Language::De), json!("de"));
    assert_eq!(roundtrip(&CountryCode::AT), json!("AT"));
    assert_eq!(roundtrip(&UnitCode::hour()), json!("HUR"));
    roundtrip(&LeitwegId::parse("04011000-1234512345-06").unwrap());
    assert_eq!(roundtrip(&VatCategoryCode::Ae), json!("AE"));
    assert_eq!(
        roundtrip(&TaxTreatment::ReverseCharge),
        json!("reverse_charge")
    );
    assert_eq!(roundtrip(&DocumentType::CreditNote), json!("credit_note"));
    assert_eq!(roundtrip(&SequenceReset::Yearly), json!("yearly"));
    assert_eq!(roundtrip(&CounterPeriod::Year(2026)), json!({"year": 2026}));
    assert_eq!(roundtrip(&CounterPeriod::AllTime), json!("all_time"));
    assert_eq!(
        roundtrip(&PaymentStatus::PartiallyPaid),
        json!("partially_paid")
    );
    assert_eq!(
        roundtrip(&NumberPattern::parse("RE{SEQ:4}").unwrap()),
        json!("RE{SEQ:4}")
    );
}

#[test]
fn parties_and_configuration() {
    let entity = german_entity();
    let json = roundtrip(&entity);
    assert_eq!(json["time_zone"], json!("Europe/Berlin"));
    assert_eq!(
        json["identity"]["bank_account"]["iban"],
        json!("DE89370400440532013000")
    );
    assert_eq!(json["tax_rules"]["standard_rate"], json!("19"));
    roundtrip(&entity.identity);
    roundtrip(&entity.identity.address);
    roundtrip(&entity.identity.bank_account);
    roundtrip(&entity.tax_rules);
    roundtrip(&TaxRules::germany());
    roundtrip(
        &NumberSeries::new(
            DocumentType::Invoice,
            NumberPattern::parse("{SEQ:9}").unwrap(),
            SequenceReset::Never,
        )
        .unwrap(),
    );
    let account = austrian_business();
    assert_eq!(roundtrip(&account)["vat_id"], json!("ATU12345678"));
    roundtrip(&german_consumer());
    let key = entity.number_series[0].counter_key(&entity.id, date(2026, 5, 1));
    assert_eq!(
        roundtrip(&key),
        json!({"billing_entity_id": "ent_de", "document_type": "invoice", "period": {"year": 2026}})
    );
    roundtrip(&entity.number_series[0].parse("RE-2026-000123").unwrap());

    // A missing line limit falls back to the default.
    let mut without_limit = serde_json::to_value(&entity).unwrap();
    without_limit
        .as_object_mut()
        .unwrap()
        .remove("max_invoice_lines");
    let back: billing_domain::seller::BillingEntity =
        serde_json::from_value(without_limit).unwrap();
    assert_eq!(
        back.max_invoice_lines,
        billing_domain::seller::DEFAULT_MAX_INVOICE_LINES
    );
}

#[test]
fn invalid_values_are_refused_when_read() {
    let mut account = serde_json::to_value(german_consumer()).unwrap();
    account["address"]["country"] = json!("Germany");
    let err =
        serde_json::from_value::<billing_domain::party::CustomerAccount>(account).unwrap_err();
    assert!(err.to_string().contains("country"), "{err}");
    assert!(serde_json::from_value::<Money>(json!({"amount": "1", "currency": "XXX"})).is_err());
    assert!(serde_json::from_value::<NumberPattern>(json!("RE-{YYYY}")).is_err());
    assert!(serde_json::from_value::<UnitCode>(json!("hour")).is_err());
}

#[test]
fn items_requests_invoices_payments() {
    let exempt = TaxCategory::Exempt(Exemption {
        reason: "Steuerfrei nach §4 Nr. 21 UStG".into(),
        reason_code: Some("VATEX-EU-132-1I".into()),
    });
    assert_eq!(
        roundtrip(&exempt),
        json!({"kind": "exempt", "reason": "Steuerfrei nach §4 Nr. 21 UStG", "reason_code": "VATEX-EU-132-1I"})
    );
    let mut item = Item::new("Licence", dec!(2.5), eur(dec!(10.0125)));
    item.product_code = Some(ProductCode::new("LIC"));
    assert_eq!(roundtrip(&item)["quantity"], json!("2.5"));
    let charge = PendingCharge {
        id: PendingChargeId::new("pc"),
        account_id: AccountId::new("acc_1"),
        opportunity_id: Some(OpportunityId::new("opp")),
        item: item.clone(),
        service_period: Some(january_2026()),
    };
    roundtrip(&charge);
    let sources = [
        LineSource::Subscription {
            subscription_id: SubscriptionId::new("s"),
            item_id: Some(SubscriptionItemId::new("si")),
        },
        LineSource::PendingCharge {
            pending_charge_id: PendingChargeId::new("pc"),
        },
        LineSource::Opportunity {
            opportunity_id: OpportunityId::new("opp"),
        },
    ];
    assert_eq!(roundtrip(&sources[0])["kind"], json!("subscription"));
    roundtrip(&sources[2]);

    let mut lines = vec![
        charge.to_billable_line(),
        line("Training", dec!(1), UnitCode::day(), eur(dec!(800)), exempt)
            .with_source(sources[2].clone()),
        line(
            "Subscription",
            dec!(1),
            UnitCode::month(),
            eur(dec!(99)),
            TaxCategory::Standard,
        )
        .with_period(january_2026())
        .with_source(sources[0].clone()),
    ];
    lines[0].item.tax_category = TaxCategory::Reduced;
    let request = InvoiceRequest {
        references: InvoiceReferences {
            purchase_order: Some("PO-4711".into()),
            payment_reference: None,
            preceding_invoice: Some(InvoiceNumber::new("RE-2025-000099")),
            ..Default::default()
        },
        notes: vec!["Thank you".into()],
        ..request(lines)
    };
    roundtrip(&request);
    roundtrip(&request.lines[0]);

    let draft = InvoiceDraft::build(&german_entity(), &austrian_business(), request).unwrap();
    let json = roundtrip(&draft);
    assert_eq!(json["document_type"], json!("invoice"));
    assert_eq!(json["tax_breakdown"][0]["category"], json!("AE"));
    assert_eq!(
        json["totals"]["gross_total"],
        json!({"amount": "924.03", "currency": "EUR"})
    );
    roundtrip(&draft.seller);
    roundtrip(&draft.buyer);
    roundtrip(&draft.lines[0]);
    roundtrip(&draft.tax_breakdown[0]);
    roundtrip(&draft.lines[0].tax);
    roundtrip(&draft.totals);
    roundtrip(&draft.references);

    let invoice = draft.finalize(InvoiceNumber::new("RE-2026-000001"));
    let json = roundtrip(&invoice);
    assert_eq!(json["number"], json!("RE-2026-000001"));
    // Finalizing fixes the ISO 11649 reference derived from the number.
    assert_eq!(
        json["content"]["references"]["payment_reference"],
        json!("RF69RE2026000001")
    );

    let payment = Payment {
        id: PaymentId::new("p"),
        amount: eur(dec!(100.00)),
        received_on: date(2026, 2, 3),
        reference: None,
    };
    roundtrip(&payment);
    roundtrip(&PaymentSummary::for_invoice(&invoice, &[payment]).unwrap());
}
