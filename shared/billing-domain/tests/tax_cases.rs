//! Issue 27, findings 6, 7 and 9 (tax): notes and VAT IDs from the tax
//! breakdown, intra-EU supplies of goods (K), the §19 UStG small business,
//! consumers outside Germany (category O, the EU threshold, OSS). Every
//! amount is computed by hand in the comments.

mod invoice_fixtures;

use billing_domain::invoice::InvoiceDraft;
use billing_domain::item::BillableLine;
use billing_domain::item::UnitCode;
use billing_domain::party::{CountryCode, CustomerAccount, CustomerKind};
use billing_domain::seller::BillingEntity;
use billing_domain::tax::{Exemption, SupplyKind, TaxCategory, TaxTreatment, VatCategoryCode};
use billing_domain::taxation::{EuConsumerServices, EuStandardRates};
use invoice_fixtures::*;
use rust_decimal_macros::dec;

/// A month of a service and three hardware tokens delivered on 20 January
/// 2026: to an Austrian business, reverse charge (AE) and an intra-EU
/// supply (K) side by side.
fn service_and_goods_to_austria() -> Vec<BillableLine> {
    let delivered = date(2026, 1, 20);
    let delivery = billing_domain::period::ServicePeriod::new(delivered, delivered).unwrap();
    vec![
        line(
            "Subscription Pro",
            dec!(1),
            UnitCode::month(),
            eur(dec!(499.00)),
            TaxCategory::Standard,
        )
        .with_period(january_2026()),
        goods(line(
            "Hardware token",
            dec!(3),
            UnitCode::piece(),
            eur(dec!(45.50)),
            TaxCategory::Standard,
        ))
        .with_period(delivery),
    ]
}

fn goods(mut line: BillableLine) -> BillableLine {
    line.item.kind = SupplyKind::Goods;
    line
}

fn consumer_in(country: &str) -> CustomerAccount {
    CustomerAccount {
        kind: CustomerKind::Consumer,
        vat_id: None,
        address: address(
            "Main Street 1",
            "10001",
            "Somewhere",
            CountryCode::parse(country).unwrap(),
        ),
        ..german_consumer()
    }
}

fn with_oss() -> BillingEntity {
    let mut entity = german_entity();
    entity.tax_rules.eu_consumer_services = Some(EuConsumerServices::Oss {
        standard_rates: EuStandardRates::european_commission(),
    });
    entity
}

fn small_business() -> BillingEntity {
    let mut entity = german_entity();
    entity.tax_rules.small_business = true;
    entity.identity.vat_id = None; // a §19 seller often has only a tax number
    entity
}

const RC_NOTE: &str = "Steuerschuldnerschaft des Leistungsempfängers / Reverse charge";
const SECTION_19: &str = "Gemäß § 19 UStG wird keine Umsatzsteuer berechnet.";

#[test]
fn an_eu_business_with_only_exempt_lines_gets_no_reverse_charge_note_and_no_vat_id_demand() {
    // Before: the reverse-charge note was printed and both VAT IDs demanded
    // because the customer is an EU business, although no line is AE.
    let exempt = || {
        TaxCategory::Exempt(Exemption {
            reason: "Steuerfrei nach §4 Nr. 21 UStG".into(),
            reason_code: Some("VATEX-EU-132-1I".into()),
        })
    };
    let lines = vec![
        line(
            "Seminar day",
            dec!(2),
            UnitCode::day(),
            eur(dec!(150.00)),
            exempt(),
        ),
        line(
            "Exam fee",
            dec!(1),
            UnitCode::piece(),
            eur(dec!(99.50)),
            exempt(),
        ),
    ];
    let mut seller = german_entity();
    seller.identity.vat_id = None; // the tax number is enough for category E
    let mut buyer = austrian_business();
    buyer.vat_id = None;
    let draft = InvoiceDraft::build(&seller, &buyer, request(lines)).unwrap();
    // 2 × 150.00 = 300.00; 300.00 + 99.50 = 399.50, exempt: no VAT.
    assert_eq!(
        shown(&draft),
        "lines 300.00, 99.50 | E 0%: 399.50 -> 0.00 | net 399.50 + tax 0.00 = 399.50"
    );
    assert!(draft.notes.is_empty(), "{:?}", draft.notes);
}

#[test]
fn goods_to_an_eu_business_are_an_intra_eu_supply_k_with_its_note() {
    let lines = service_and_goods_to_austria();
    let draft = InvoiceDraft::build(
        &german_entity(),
        &austrian_business(),
        request(lines.clone()),
    )
    .unwrap();
    assert_eq!(draft.tax_treatment, TaxTreatment::ReverseCharge);
    // Service 499.00 reverse charge; goods 3 × 45.50 = 136.50 intra-EU,
    // both without VAT: 499.00 + 136.50 = 635.50.
    assert_eq!(
        shown(&draft),
        "lines 499.00, 136.50 | AE 0%: 499.00 -> 0.00 | K 0%: 136.50 -> 0.00 \
         | net 635.50 + tax 0.00 = 635.50"
    );
    let k = draft.tax_breakdown[1].exemption.as_ref().unwrap();
    assert_eq!(k.reason_code.as_deref(), Some("VATEX-EU-IC"));
    assert_eq!(
        draft.notes,
        vec![
            RC_NOTE.to_owned(),
            "Steuerfreie innergemeinschaftliche Lieferung (§4 Nr. 1 Buchst. b, §6a UStG) / \
             Tax-exempt intra-Community supply of goods"
                .to_owned()
        ]
    );

    // Goods only: K, its note, no reverse-charge note.
    let only_goods = vec![lines[1].clone()];
    let draft = InvoiceDraft::build(
        &german_entity(),
        &austrian_business(),
        request(only_goods.clone()),
    )
    .unwrap();
    assert_eq!(
        shown(&draft),
        "lines 136.50 | K 0%: 136.50 -> 0.00 | net 136.50 + tax 0.00 = 136.50"
    );
    assert_eq!(draft.notes.len(), 1);
    assert!(draft.notes[0].starts_with("Steuerfreie innergemeinschaftliche Lieferung"));

    // §14a(3) UStG, BR-IC-02: both VAT IDs; BR-IC-11: the delivery date.
    let mut buyer = austrian_business();
    buyer.vat_id = None;
    let err = InvoiceDraft::build(&german_entity(), &buyer, request(only_goods)).unwrap_err();
    assert_eq!(field_of(err), "account.vat_id");
    let undated = vec![goods(line(
        "Hardware token",
        dec!(1),
        UnitCode::piece(),
        eur(dec!(45.50)),
        TaxCategory::Standard,
    ))];
    let err =
        InvoiceDraft::build(&german_entity(), &austrian_business(), request(undated)).unwrap_err();
    assert_eq!(field_of(err), "lines[0].service_period");
}

#[test]
fn a_small_business_charges_no_vat_category_e_with_the_section_19_note() {
    let lines = || {
        vec![
            line(
                "Cloud accounting Basis",
                dec!(1),
                UnitCode::month(),
                eur(dec!(29.90)),
                TaxCategory::Standard,
            ),
            line(
                "Handbook",
                dec!(1),
                UnitCode::piece(),
                eur(dec!(24.50)),
                TaxCategory::Reduced,
            ),
        ]
    };
    let seller = small_business();
    let draft = InvoiceDraft::build(&seller, &german_consumer(), request(lines())).unwrap();
    assert_eq!(draft.tax_treatment, TaxTreatment::SmallBusiness);
    // 29.90 + 24.50 = 54.40, no VAT (before: 19 % and 7 %).
    assert_eq!(
        shown(&draft),
        "lines 29.90, 24.50 | E 0%: 54.40 -> 0.00 | net 54.40 + tax 0.00 = 54.40"
    );
    assert_eq!(draft.notes.len(), 1);
    assert!(draft.notes[0].starts_with(SECTION_19), "{:?}", draft.notes);
    let reason = draft.tax_breakdown[0].exemption.as_ref().unwrap();
    assert!(reason.reason.starts_with(SECTION_19));

    // Never reverse charge, also not to an EU business (and no VAT IDs
    // demanded: the seller has none).
    let draft = InvoiceDraft::build(&seller, &austrian_business(), request(lines())).unwrap();
    assert_eq!(
        shown(&draft),
        "lines 29.90, 24.50 | E 0%: 54.40 -> 0.00 | net 54.40 + tax 0.00 = 54.40"
    );
    assert!(draft.notes.iter().all(|n| n != RC_NOTE));
    assert!(draft.notes[0].starts_with(SECTION_19));
}

#[test]
fn a_consumer_outside_the_eu_is_not_taxable_here_category_o_with_the_note() {
    // Before: 19 % German VAT. §3a(5) UStG: electronically supplied
    // services are supplied where the consumer lives.
    let lines = vec![line(
        "Cloud accounting Basis",
        dec!(12),
        UnitCode::month(),
        eur(dec!(9.99)),
        TaxCategory::Standard,
    )];
    let draft = InvoiceDraft::build(&german_entity(), &consumer_in("US"), request(lines)).unwrap();
    assert_eq!(draft.tax_treatment, TaxTreatment::NotTaxable);
    // 12 × 9.99 = 119.88, no German VAT.
    assert_eq!(
        shown(&draft),
        "lines 119.88 | O 0%: 119.88 -> 0.00 | net 119.88 + tax 0.00 = 119.88"
    );
    assert_eq!(
        draft.notes,
        vec![
            "Nicht im Inland steuerbare Leistung / Not taxable in Germany (place of supply abroad)"
                .to_owned()
        ]
    );
}

#[test]
fn an_eu_consumer_under_oss_pays_the_standard_rate_of_their_country() {
    let seller = with_oss();
    let case = |country: &str, quantity, price| {
        let lines = vec![line(
            "Cloud accounting Basis",
            quantity,
            UnitCode::month(),
            eur(price),
            TaxCategory::Standard,
        )];
        let draft = InvoiceDraft::build(&seller, &consumer_in(country), request(lines)).unwrap();
        assert_eq!(draft.tax_treatment, TaxTreatment::Oss);
        assert!(draft.notes.is_empty());
        shown(&draft)
    };
    // Austria 20 %: 3 × 33.33 = 99.99; 99.99 × 20 % = 19.998 → 20.00.
    assert_eq!(
        case("AT", dec!(3), dec!(33.33)),
        "lines 99.99 | S 20%: 99.99 -> 20.00 | net 99.99 + tax 20.00 = 119.99"
    );
    // France 20 %: 49.95 × 20 % = 9.99.
    assert_eq!(
        case("FR", dec!(1), dec!(49.95)),
        "lines 49.95 | S 20%: 49.95 -> 9.99 | net 49.95 + tax 9.99 = 59.94"
    );
    // Hungary 27 %: 12 × 9.99 = 119.88; 119.88 × 27 % = 32.3676 → 32.37.
    assert_eq!(
        case("HU", dec!(12), dec!(9.99)),
        "lines 119.88 | S 27%: 119.88 -> 32.37 | net 119.88 + tax 32.37 = 152.25"
    );
    // A reduced-rate item abroad is refused, not taxed at the wrong rate.
    let reduced = vec![line(
        "Book",
        dec!(1),
        UnitCode::piece(),
        eur(dec!(20)),
        TaxCategory::Reduced,
    )];
    let err = InvoiceDraft::build(&seller, &consumer_in("AT"), request(reduced)).unwrap_err();
    assert_eq!(field_of(err), "lines[0].item.tax_category");
}

#[test]
fn an_eu_consumer_without_the_sellers_declaration_is_refused_naming_the_setting() {
    // Before: 19 % German VAT without a word.
    let lines = || {
        vec![line(
            "Cloud accounting Basis",
            dec!(1),
            UnitCode::month(),
            eur(dec!(29.90)),
            TaxCategory::Standard,
        )]
    };
    let err =
        InvoiceDraft::build(&german_entity(), &consumer_in("FR"), request(lines())).unwrap_err();
    let text = err.to_string();
    assert!(
        text.starts_with("billing_entity.tax_rules.eu_consumer_services:"),
        "{text}"
    );
    assert!(
        text.contains("below_threshold") && text.contains("oss"),
        "{text}"
    );

    // Goods to consumers abroad (distance sales) are out of scope: refused
    // by name under any declaration.
    let parcel = vec![goods(line(
        "Hardware token",
        dec!(1),
        UnitCode::piece(),
        eur(dec!(45.50)),
        TaxCategory::Standard,
    ))];
    let err = InvoiceDraft::build(&with_oss(), &consumer_in("FR"), request(parcel)).unwrap_err();
    assert_eq!(field_of(err), "lines[0].item.kind");
    // The same seller's German consumers are unaffected.
    let draft =
        InvoiceDraft::build(&german_entity(), &german_consumer(), request(lines())).unwrap();
    assert_eq!(draft.tax_breakdown[0].category, VatCategoryCode::S);
}

#[test]
fn the_oss_summary_sums_a_quarter_per_country_and_rate_with_credit_notes() {
    use billing_domain::correction::cancellation;
    use billing_domain::ids::InvoiceId;
    use billing_domain::invoice::{Invoice, InvoiceRequest};
    use billing_domain::numbering::InvoiceNumber;
    use billing_domain::oss::{Quarter, oss_summary};

    let seller = with_oss();
    let invoice = |n: u32, account: &CustomerAccount, on, quantity, price| -> Invoice {
        let lines = vec![line(
            "Cloud accounting",
            quantity,
            UnitCode::month(),
            eur(price),
            TaxCategory::Standard,
        )];
        let request = InvoiceRequest::new(InvoiceId::new(format!("inv_{n}")), on, lines);
        InvoiceDraft::build(&seller, account, request)
            .unwrap()
            .finalize(InvoiceNumber::new(format!("RE-2026-{n:06}")))
    };
    let cancel = |n: u32, original: &Invoice, on| -> Invoice {
        cancellation(
            original,
            &Default::default(),
            InvoiceId::new(format!("cn_{n}")),
            on,
        )
        .unwrap()
        .draft
        .finalize(InvoiceNumber::new(format!("GS-2026-{n:06}")))
    };
    let (at, fr, hu) = (consumer_in("AT"), consumer_in("FR"), consumer_in("HU"));
    let a = invoice(1, &at, date(2026, 1, 31), dec!(3), dec!(33.33)); // 99.99 → 20.00
    let b = invoice(2, &at, date(2026, 2, 15), dec!(1), dec!(50.00)); // 50.00 → 10.00
    let c = invoice(3, &fr, date(2026, 3, 31), dec!(1), dec!(49.95)); // 49.95 → 9.99
    let d = invoice(4, &hu, date(2026, 3, 31), dec!(12), dec!(9.99)); // 119.88 → 32.37
    let e = invoice(5, &at, date(2026, 4, 1), dec!(1), dec!(10.00)); // Q2: 10.00 → 2.00
    let domestic = invoice(6, &german_consumer(), date(2026, 2, 1), dec!(1), dec!(100)); // not OSS
    let c_cancelled = cancel(1, &c, date(2026, 3, 31)); // same quarter
    let d_cancelled = cancel(2, &d, date(2026, 4, 15)); // corrects Q1 in Q2
    let all = [&a, &b, &c, &d, &e, &domestic, &c_cancelled, &d_cancelled];

    let shown = |quarter: &str| -> Vec<String> {
        let summary = oss_summary(quarter.parse::<Quarter>().unwrap(), all).unwrap();
        assert_eq!(summary.quarter.to_string(), quarter);
        summary
            .rows
            .iter()
            .map(|r| {
                format!(
                    "{} {} {}%: {} -> {} ({})",
                    r.period,
                    r.country,
                    r.rate,
                    r.taxable_amount.amount(),
                    r.tax_amount.amount(),
                    r.documents
                )
            })
            .collect()
    };
    assert_eq!(
        shown("2026-Q1"),
        vec![
            // 99.99 + 50.00 = 149.99; 20.00 + 10.00 = 30.00 (VAT per invoice)
            "2026-Q1 AT 20%: 149.99 -> 30.00 (2)",
            // 49.95 − 49.95 = 0.00; 9.99 − 9.99 = 0.00
            "2026-Q1 FR 20%: 0.00 -> 0.00 (2)",
            "2026-Q1 HU 27%: 119.88 -> 32.37 (1)",
        ]
    );
    assert_eq!(
        shown("2026-Q2"),
        vec![
            "2026-Q2 AT 20%: 10.00 -> 2.00 (1)",
            // The cancellation of a Q1 invoice corrects Q1 (Art. 61 IR 282/2011).
            "2026-Q1 HU 27%: -119.88 -> -32.37 (1)",
        ]
    );
    assert!(shown("2025-Q4").is_empty());
    let err = "2026-Q5".parse::<Quarter>().unwrap_err();
    assert!(err.to_string().starts_with("quarter:"), "{err}");
    let q = "2026-Q1".parse::<Quarter>().unwrap();
    assert_eq!(
        (q.first_day(), q.last_day()),
        (date(2026, 1, 1), date(2026, 3, 31))
    );
    let q4 = "2026-Q4".parse::<Quarter>().unwrap();
    assert_eq!(q4.last_day(), date(2026, 12, 31));
}

#[test]
fn a_credit_note_carries_the_legal_notes_of_its_own_groups_only() {
    // GIVEN an invoice to an Austrian business: a service (AE, reverse
    // charge) and goods delivered to Austria (K, intra-EU supply)
    let lines = service_and_goods_to_austria();
    let original = InvoiceDraft::build(&german_entity(), &austrian_business(), request(lines))
        .unwrap()
        .finalize(billing_domain::numbering::InvoiceNumber::new(
            "RE-2026-000007",
        ));
    assert_eq!(original.content().notes.len(), 2);

    // WHEN only the service is credited
    let selection = billing_domain::correction::CreditSelection::Lines {
        lines: vec![billing_domain::correction::LineCredit {
            position: 1,
            quantity: None,
        }],
    };
    let correction = billing_domain::correction::partial_credit(
        &original,
        &Default::default(),
        &selection,
        billing_domain::ids::InvoiceId::new("inv_credit_ae"),
        date(2026, 2, 3),
    )
    .unwrap();

    // THEN it explains its reverse charge (§14a(5) UStG) and says nothing of
    // an intra-EU supply it does not correct: 499.00 AE, no K group
    assert_eq!(
        shown(&correction.draft),
        "lines 499.00 | AE 0%: 499.00 -> 0.00 | net 499.00 + tax 0.00 = 499.00"
    );
    assert_eq!(correction.draft.notes, vec![RC_NOTE.to_owned()]);
}
