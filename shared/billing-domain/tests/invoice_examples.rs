//! Worked examples with every number written out, checked by hand.

mod invoice_fixtures;

use billing_domain::ids::{PaymentId, PendingChargeId};
use billing_domain::invoice::InvoiceDraft;
use billing_domain::item::LineSource;
use billing_domain::item::{Item, PendingCharge, UnitCode};
use billing_domain::money::{Currency, Money};
use billing_domain::numbering::DocumentType;
use billing_domain::party::{CountryCode, CustomerKind, VatId};
use billing_domain::payment::{Payment, PaymentStatus, PaymentSummary};
use billing_domain::tax::{Exemption, TaxCategory, TaxTreatment, VatCategoryCode};
use invoice_fixtures::*;
use rust_decimal_macros::dec;

#[test]
fn reverse_charge_to_austrian_business() {
    let lines = vec![
        line(
            "Software subscription Pro",
            dec!(1),
            UnitCode::month(),
            eur(dec!(499.00)),
            TaxCategory::Standard,
        )
        .with_period(january_2026()),
        line(
            "Onboarding workshop",
            dec!(3),
            UnitCode::hour(),
            eur(dec!(120.00)),
            TaxCategory::Standard,
        ),
    ];
    let draft =
        InvoiceDraft::build(&german_entity(), &austrian_business(), request(lines)).unwrap();

    assert_eq!(draft.document_type, DocumentType::Invoice);
    assert_eq!(draft.tax_treatment, TaxTreatment::ReverseCharge);
    assert_eq!(
        shown(&draft),
        "lines 499.00, 360.00 | AE 0%: 859.00 -> 0.00 | net 859.00 + tax 0.00 = 859.00"
    );
    assert!(
        draft
            .lines
            .iter()
            .all(|l| l.tax.category == VatCategoryCode::Ae)
    );
    let exemption = draft.tax_breakdown[0].exemption.as_ref().unwrap();
    assert_eq!(exemption.reason_code.as_deref(), Some("VATEX-EU-AE"));
    assert_eq!(
        draft.notes,
        vec!["Steuerschuldnerschaft des Leistungsempfängers / Reverse charge".to_owned()]
    );
    assert_eq!(
        draft.seller.vat_id.as_ref().unwrap().as_str(),
        "DE123456789"
    );
    assert_eq!(draft.buyer.vat_id.as_ref().unwrap().as_str(), "ATU12345678");
    assert_eq!(draft.due_date, date(2026, 3, 2)); // 31 Jan + 30 days
    assert_eq!(draft.service_period, Some(january_2026()));
}

#[test]
fn reverse_charge_needs_both_vat_ids() {
    let lines = || {
        vec![line(
            "Support",
            dec!(1),
            UnitCode::piece(),
            eur(dec!(10)),
            TaxCategory::Standard,
        )]
    };
    let mut buyer = austrian_business();
    buyer.vat_id = None;
    let err = InvoiceDraft::build(&german_entity(), &buyer, request(lines())).unwrap_err();
    assert_eq!(field_of(err), "account.vat_id");

    let mut seller = german_entity();
    seller.identity.vat_id = None;
    let err = InvoiceDraft::build(&seller, &austrian_business(), request(lines())).unwrap_err();
    assert_eq!(field_of(err), "billing_entity.identity.vat_id");
}

#[test]
fn german_consumer_with_19_and_7_percent() {
    let s = TaxCategory::Standard;
    let lines = vec![
        line(
            "Online course basics",
            dec!(1),
            UnitCode::piece(),
            eur(dec!(10.07)),
            s.clone(),
        ),
        line(
            "Online course advanced",
            dec!(1),
            UnitCode::piece(),
            eur(dec!(10.07)),
            s.clone(),
        ),
        line(
            "Online course expert",
            dec!(1),
            UnitCode::piece(),
            eur(dec!(10.07)),
            s.clone(),
        ),
        line(
            "Accounting handbook",
            dec!(2),
            UnitCode::piece(),
            eur(dec!(24.95)),
            TaxCategory::Reduced,
        ),
        line(
            "Consulting",
            dec!(1.5),
            UnitCode::hour(),
            eur(dec!(80.00)),
            s.clone(),
        ),
        // 1234 × 0.0125 = 15.425 → 15.43 (half away from zero)
        line(
            "API calls",
            dec!(1234),
            UnitCode::piece(),
            eur(dec!(0.0125)),
            s,
        ),
    ];
    let draft = InvoiceDraft::build(&german_entity(), &german_consumer(), request(lines)).unwrap();

    // S 19 %: 165.64 × 19 % = 31.4716 → 31.47 (per-line rounding would give 31.46)
    // S 7 %: 49.90 × 7 % = 3.493 → 3.49
    assert_eq!(
        shown(&draft),
        "lines 10.07, 10.07, 10.07, 49.90, 120.00, 15.43 \
         | S 19%: 165.64 -> 31.47 | S 7%: 49.90 -> 3.49 \
         | net 215.54 + tax 34.96 = 250.50"
    );
    assert_eq!(draft.tax_treatment, TaxTreatment::Domestic);
    assert_eq!(draft.due_date, date(2026, 2, 14));
    assert!(draft.notes.is_empty());
    assert_eq!(draft.service_period, None);
}

#[test]
fn jpy_invoice_has_no_minor_unit() {
    let mut account = german_consumer();
    account.currency = Currency::JPY;
    account.kind = CustomerKind::Business;
    let yen = |a| Money::new(a, Currency::JPY);
    let lines = vec![
        line(
            "Licence",
            dec!(3),
            UnitCode::piece(),
            yen(dec!(1234)),
            TaxCategory::Standard,
        ),
        // 2.5 × 3333 = 8332.5 → 8333
        line(
            "Translation",
            dec!(2.5),
            UnitCode::hour(),
            yen(dec!(3333)),
            TaxCategory::Standard,
        ),
    ];
    let draft = InvoiceDraft::build(&german_entity(), &account, request(lines)).unwrap();
    // 3 × 1234 = 3702; 2.5 × 3333 = 8332.5 → 8333; 12035 × 19 % = 2286.65 → 2287
    assert_eq!(
        shown(&draft),
        "lines 3702, 8333 | S 19%: 12035 -> 2287 | net 12035 + tax 2287 = 14322"
    );
    let json = serde_json::to_string(&draft.totals.gross_total).unwrap();
    assert_eq!(json, r#"{"amount":"14322","currency":"JPY"}"#);
}

#[test]
fn negative_total_becomes_credit_note() {
    let lines = vec![
        line(
            "Outage credit December",
            dec!(-1),
            UnitCode::month(),
            eur(dec!(49.00)),
            TaxCategory::Standard,
        ),
        line(
            "Add-on module",
            dec!(1),
            UnitCode::piece(),
            eur(dec!(10.00)),
            TaxCategory::Standard,
        ),
        line(
            "Goodwill discount",
            dec!(1),
            UnitCode::piece(),
            eur(dec!(-5.00)),
            TaxCategory::Standard,
        ),
    ];
    let entity = german_entity();
    let draft = InvoiceDraft::build(&entity, &german_consumer(), request(lines)).unwrap();
    assert_eq!(draft.document_type, DocumentType::CreditNote);
    assert_eq!(draft.document_type.code(), 381);
    // Shown from the customer's side: what is credited is positive.
    assert_eq!(draft.lines[0].item.quantity, dec!(1));
    assert_eq!(draft.lines[0].item.unit_price.amount(), dec!(49.00));
    assert_eq!(draft.lines[1].item.quantity, dec!(-1));
    assert_eq!(draft.lines[2].item.quantity, dec!(1));
    assert_eq!(draft.lines[2].item.unit_price.amount(), dec!(5.00));
    // 44.00 × 19 % = 8.36
    assert_eq!(
        shown(&draft),
        "lines 49.00, -10.00, 5.00 | S 19%: 44.00 -> 8.36 | net 44.00 + tax 8.36 = 52.36"
    );

    let series = entity.series_for(draft.document_type).unwrap();
    let number = series.format(draft.issue_date, 1).unwrap();
    assert_eq!(number.as_str(), "RK-2026-000001");
    let invoice = draft.finalize(number);
    // A credit note gets the ISO 11649 reference of its number too.
    assert_eq!(
        invoice.content().references.payment_reference.as_deref(),
        Some("RF85RK2026000001")
    );
}

#[test]
fn payments_partial_paid_overpaid() {
    let lines = vec![line(
        "Subscription",
        dec!(1),
        UnitCode::month(),
        eur(dec!(100.00)),
        TaxCategory::Standard,
    )];
    let entity = german_entity();
    let draft = InvoiceDraft::build(&entity, &german_consumer(), request(lines)).unwrap();
    let number = entity
        .series_for(DocumentType::Invoice)
        .unwrap()
        .format(date(2026, 1, 31), 17)
        .unwrap();
    let invoice = draft.finalize(number);
    assert_eq!(invoice.number().as_str(), "RE-2026-000017");
    assert_eq!(invoice.amount_due().amount().to_string(), "119.00");

    let pay = |id: &str, a| Payment {
        id: PaymentId::new(id),
        amount: eur(a),
        received_on: date(2026, 2, 10),
        reference: Some("RE-2026-000017".into()),
    };
    let partial = PaymentSummary::for_invoice(&invoice, &[pay("p1", dec!(50.00))]).unwrap();
    assert_eq!(partial.status, PaymentStatus::PartiallyPaid);
    assert_eq!(partial.open.amount().to_string(), "69.00");

    let paid =
        PaymentSummary::for_invoice(&invoice, &[pay("p1", dec!(50.00)), pay("p2", dec!(69.00))])
            .unwrap();
    assert_eq!(paid.status, PaymentStatus::Paid);
    assert_eq!(paid.open.amount().to_string(), "0.00");

    let over = PaymentSummary::for_invoice(&invoice, &[pay("p1", dec!(120.00))]).unwrap();
    assert_eq!(over.status, PaymentStatus::Overpaid);
    assert_eq!(over.customer_credit.amount().to_string(), "1.00");
    assert_eq!(over.open.amount().to_string(), "0.00");

    let wrong = Payment {
        amount: Money::new(dec!(119), Currency::CHF),
        ..pay("p3", dec!(0))
    };
    assert!(PaymentSummary::for_invoice(&invoice, &[wrong]).is_err());
}

#[test]
fn non_eu_business_is_not_taxable_here() {
    let mut account = austrian_business();
    account.address.country = CountryCode::parse("CH").unwrap();
    account.vat_id = Some(VatId::parse("CHE-123.456.789").unwrap());
    account.currency = Currency::CHF;
    let chf = Money::new(dec!(250), Currency::CHF);
    let exempt = TaxCategory::Exempt(Exemption {
        reason: "§4 Nr. 21 UStG".into(),
        reason_code: None,
    });
    let lines = vec![
        line(
            "Consulting",
            dec!(2),
            UnitCode::day(),
            chf,
            TaxCategory::Standard,
        ),
        line("Training", dec!(1), UnitCode::day(), chf, exempt),
    ];
    let draft = InvoiceDraft::build(&german_entity(), &account, request(lines)).unwrap();
    assert_eq!(draft.tax_treatment, TaxTreatment::NotTaxable);
    // The exempt training is "not subject to VAT" too: O must not mix.
    assert_eq!(
        shown(&draft),
        "lines 500.00, 250.00 | O 0%: 750.00 -> 0.00 | net 750.00 + tax 0.00 = 750.00"
    );
    assert!(draft.notes[0].starts_with("Nicht im Inland steuerbare Leistung"));
}

/// Changed with issue 27: German VAT for a consumer in another EU country
/// only where the seller declares it stays below the EU-wide threshold
/// (§3a(5) S.3 UStG); without a declaration the invoice is refused
/// (tests/tax_cases.rs).
#[test]
fn eu_consumer_abroad_pays_german_vat_below_the_threshold() {
    let mut account = austrian_business();
    account.kind = CustomerKind::Consumer;
    account.vat_id = None;
    let lines = vec![line(
        "Course",
        dec!(1),
        UnitCode::piece(),
        eur(dec!(100)),
        TaxCategory::Standard,
    )];
    let mut entity = german_entity();
    entity.tax_rules.eu_consumer_services =
        Some(billing_domain::taxation::EuConsumerServices::BelowThreshold);
    let draft = InvoiceDraft::build(&entity, &account, request(lines)).unwrap();
    assert_eq!(draft.tax_treatment, TaxTreatment::Domestic);
    // 100.00 × 19 % = 19.00
    assert_eq!(
        shown(&draft),
        "lines 100.00 | S 19%: 100.00 -> 19.00 | net 100.00 + tax 19.00 = 119.00"
    );
    assert!(draft.notes.is_empty());
}

#[test]
fn pending_charge_rides_along_with_recurring_line() {
    let charge = PendingCharge {
        id: PendingChargeId::new("pc_1"),
        account_id: german_consumer().id,
        opportunity_id: None,
        item: Item::new("Setup fee", dec!(1), eur(dec!(99.00))),
        service_period: None,
    };
    let lines = vec![
        line(
            "Subscription",
            dec!(1),
            UnitCode::month(),
            eur(dec!(20.00)),
            TaxCategory::Standard,
        )
        .with_period(january_2026()),
        charge.to_billable_line(),
    ];
    let draft = InvoiceDraft::build(&german_entity(), &german_consumer(), request(lines)).unwrap();
    assert_eq!(draft.lines[1].position, 2);
    assert_eq!(
        draft.lines[1].source,
        Some(LineSource::PendingCharge {
            pending_charge_id: PendingChargeId::new("pc_1")
        })
    );
    assert_eq!(draft.totals.gross_total.amount().to_string(), "141.61"); // 119.00 × 1.19
}

#[test]
fn errors_name_the_field() {
    let entity = german_entity();
    let consumer = german_consumer();
    let ok_line = || {
        line(
            "Item",
            dec!(1),
            UnitCode::piece(),
            eur(dec!(1)),
            TaxCategory::Standard,
        )
    };
    let build = |lines| {
        InvoiceDraft::build(&entity, &consumer, request(lines))
            .map(|_| ())
            .map_err(field_of)
    };

    assert_eq!(build(vec![]), Err("lines".into()));
    let usd = line(
        "Item",
        dec!(1),
        UnitCode::piece(),
        Money::new(dec!(1), Currency::USD),
        TaxCategory::Standard,
    );
    assert_eq!(
        build(vec![ok_line(), usd]),
        Err("lines[1].item.unit_price.currency".into())
    );
    let free = line(
        "Free",
        dec!(0),
        UnitCode::piece(),
        eur(dec!(1)),
        TaxCategory::Standard,
    );
    assert_eq!(build(vec![free.clone()]), Err("lines".into()));
    assert!(build(vec![free, ok_line()]).is_ok());
    let blank = line(
        " ",
        dec!(1),
        UnitCode::piece(),
        eur(dec!(1)),
        TaxCategory::Standard,
    );
    assert_eq!(build(vec![blank]), Err("lines[0].item.description".into()));
    let exempt = |reason: &str| {
        let category = TaxCategory::Exempt(Exemption {
            reason: reason.into(),
            reason_code: None,
        });
        line("Exempt", dec!(1), UnitCode::piece(), eur(dec!(1)), category)
    };
    assert_eq!(
        build(vec![exempt("A"), exempt("B")]),
        Err("lines[1].item.tax_category".into())
    );

    let mut limited = german_entity();
    limited.max_invoice_lines = 2;
    let err = InvoiceDraft::build(
        &limited,
        &consumer,
        request(vec![ok_line(), ok_line(), ok_line()]),
    )
    .unwrap_err();
    assert_eq!(field_of(err), "lines");

    let mut foreign = german_consumer();
    foreign.billing_entity_id = "ent_other".into();
    let err = InvoiceDraft::build(&entity, &foreign, request(vec![ok_line()])).unwrap_err();
    assert_eq!(field_of(err), "account.billing_entity_id");

    let mut bad_vat = austrian_business();
    bad_vat.vat_id = Some(VatId::parse("DE123456789").unwrap());
    let err = InvoiceDraft::build(&entity, &bad_vat, request(vec![ok_line()])).unwrap_err();
    assert_eq!(field_of(err), "account.vat_id");
}

#[test]
fn xrechnung_data_is_required_where_an_xrechnung_is_produced() {
    let ok_line = || {
        line(
            "Fachverfahren",
            dec!(1),
            UnitCode::year(),
            eur(dec!(1200)),
            TaxCategory::Standard,
        )
    };
    let build = |entity: &billing_domain::seller::BillingEntity, account| {
        InvoiceDraft::build(entity, account, request(vec![ok_line()]))
            .map(|_| ())
            .map_err(field_of)
    };
    let city = public_sector();
    assert_eq!(build(&german_entity(), &city), Ok(()));

    let mut no_address = city.clone();
    no_address.electronic_address = None;
    assert_eq!(
        build(&german_entity(), &no_address),
        Err("account.electronic_address".into())
    );

    let mut no_contact = german_entity();
    no_contact.identity.contact = None;
    assert_eq!(
        build(&no_contact, &city),
        Err("billing_entity.identity.contact".into())
    );
    let mut no_seller_address = german_entity();
    no_seller_address.identity.electronic_address = None;
    assert_eq!(
        build(&no_seller_address, &city),
        Err("billing_entity.identity.electronic_address".into())
    );

    // Without a Leitweg-ID no XRechnung is produced: nothing extra needed.
    let mut bare = german_entity();
    bare.identity.contact = None;
    bare.identity.electronic_address = None;
    assert_eq!(build(&bare, &german_consumer()), Ok(()));
}

#[test]
fn stored_parties_without_the_new_fields_still_load() {
    let mut entity = serde_json::to_value(german_entity()).unwrap();
    let identity = entity["identity"].as_object_mut().unwrap();
    identity.remove("contact");
    identity.remove("electronic_address");
    let entity: billing_domain::seller::BillingEntity = serde_json::from_value(entity).unwrap();
    assert_eq!(entity.identity.contact, None);

    let mut account = serde_json::to_value(public_sector()).unwrap();
    assert_eq!(
        account["electronic_address"],
        serde_json::json!({"scheme": "0204", "value": "04011000-1234512345-06"})
    );
    account["electronic_address"] = serde_json::json!({"scheme": "0204", "value": "04011000-1"});
    let err = serde_json::from_value::<billing_domain::party::CustomerAccount>(account)
        .unwrap_err()
        .to_string();
    assert!(err.contains("value"), "{err}");
}

#[test]
fn a_direct_debit_invoice_is_due_on_its_collection_date() {
    // GIVEN an invoice of 31 January 2026 to a consumer with 14 days' terms
    let lines = vec![line(
        "Software subscription",
        dec!(1),
        UnitCode::month(),
        eur(dec!(100.00)),
        TaxCategory::Standard,
    )];
    let mut draft =
        InvoiceDraft::build(&german_entity(), &german_consumer(), request(lines)).unwrap();
    assert_eq!(draft.due_date, date(2026, 2, 14));
    // WHEN it is collected by direct debit under a mandate signed in January
    draft
        .collect_by_direct_debit(&invoice_fixtures::mandate(date(2026, 1, 10)))
        .unwrap();
    // THEN the collection waits the 14 days' pre-notification from the issue
    // date (14 February is a Saturday: Monday 16 February), and that is the
    // due date the invoice prints
    let notice = draft.direct_debit.as_ref().unwrap();
    assert_eq!(notice.collection_date, date(2026, 2, 16));
    assert_eq!(draft.due_date, date(2026, 2, 16));
    assert_eq!(notice.mandate_reference.as_str(), "NL-0002");
    assert_eq!(notice.creditor_identifier.as_str(), "DE98ZZZ09999999999");
    assert_eq!(notice.debited_account.as_str(), "DE75512108001245126199");
}

#[test]
fn a_direct_debit_needs_a_usable_mandate_and_euro() {
    let lines = || {
        vec![line(
            "Software subscription",
            dec!(1),
            UnitCode::month(),
            eur(dec!(100.00)),
            TaxCategory::Standard,
        )]
    };
    let mut draft =
        InvoiceDraft::build(&german_entity(), &german_consumer(), request(lines())).unwrap();
    let before = draft.clone();
    // A mandate signed after the collection date cannot carry it.
    let err = draft
        .collect_by_direct_debit(&invoice_fixtures::mandate(date(2026, 3, 1)))
        .unwrap_err();
    assert_eq!(field_of(err), "mandate");
    assert_eq!(draft, before, "a refused mandate changes nothing");

    let mut blocked = invoice_fixtures::mandate(date(2026, 1, 10));
    blocked.status = billing_domain::direct_debit::MandateStatus::Blocked {
        since: date(2026, 1, 20),
        reason: "AC04 account closed".to_owned(),
    };
    let err = draft.collect_by_direct_debit(&blocked).unwrap_err();
    assert!(err.to_string().contains("blocked"), "{err}");
    assert!(draft.direct_debit.is_none());
}
