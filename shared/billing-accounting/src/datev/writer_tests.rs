//! The writers against hand-computed rows, DATEV's sample bytes and the
//! validator.

use chrono::{TimeZone, Utc};
use rust_decimal_macros::dec;

use billing_domain::accounting::{AccountingSettings, TaxKey, TaxedAccount};
use billing_domain::journal::{BookingPeriod, JournalEventKind as K, PeriodLock, journal};
use billing_domain::money::{Currency, Money};
use billing_domain::party::{CountryCode, CustomerAccount, PostalAddress, VatId};
use billing_domain::payment::PaymentPurpose;

use super::columns::{BUCHUNGSSTAPEL_COLUMNS, Column, DEBITOREN_COLUMNS, position};
use super::tests::{rejects, sample_bookings, with_field, with_line};
use super::validator::{Field, validate};
use super::*;
use crate::fixtures::*;

/// Chosen columns of every row, `|`-separated, for hand-computed tables.
fn project(bytes: &[u8], columns: &[Column], headings: &[&str]) -> Vec<String> {
    let parsed = validate(bytes).unwrap_or_else(|e| panic!("the file is valid: {e}"));
    parsed
        .rows
        .iter()
        .map(|row: &Vec<Field>| {
            headings
                .iter()
                .map(|h| row[position(columns, h) - 1].value.as_str())
                .collect::<Vec<_>>()
                .join("|")
        })
        .collect()
}

const ROW: [&str; 8] = [
    "Umsatz (ohne Soll/Haben-Kz)",
    "Soll/Haben-Kennzeichen",
    "Konto",
    "Gegenkonto (ohne BU-Schlüssel)",
    "BU-Schlüssel",
    "Belegdatum",
    "Belegfeld 1",
    "Sachverhalt",
];

fn rows(bytes: &[u8]) -> Vec<String> {
    project(bytes, &BUCHUNGSSTAPEL_COLUMNS, &ROW)
}

fn sample_header() -> ExtfHeader {
    ExtfHeader::new(
        &settings(),
        &batch(day(2024, 1, 1), day(2024, 8, 31), "Buchungsstapel"),
    )
    .unwrap()
}

/// The research note's two bookings, as the journal books them.
fn sample_journal() -> Vec<billing_domain::journal::Booking> {
    let events = [
        event(
            "RE-2024-001",
            "RE-2024-001",
            day(2024, 1, 15),
            "10000",
            K::InvoiceIssued {
                lines: vec![taxed(dec!(1000), dec!(19), dec!(190))],
            },
        ),
        event(
            "RE-2024-001",
            "RE-2024-001",
            day(2024, 1, 31),
            "10000",
            K::PaymentReceived {
                amount: eur(dec!(1190)),
                open_before: claims(dec!(0), dec!(0), dec!(1190)),
                purpose: PaymentPurpose::Statutory,
            },
        ),
    ];
    let mut bookings = bookings(&events, BookingPeriod::containing(day(2024, 1, 1)));
    // The sample's texts (the journal's own wording may change).
    bookings[0].text = "Rechnung RE-2024-001 Müller GmbH".to_owned();
    bookings[1].text = "Zahlung RE-2024-001".to_owned();
    bookings
}

#[test]
fn the_journals_sample_bookings_give_the_research_notes_bytes() {
    let ours = buchungsstapel(&sample_header(), &sample_journal()).unwrap();
    // The sample's header carries DATEV's example initials "WD", which a
    // product export leaves empty (they name a person).
    let expected = with_field(&sample_bookings(), 1, 18, "\"\"");
    assert_eq!(
        String::from_utf8_lossy(&ours),
        String::from_utf8_lossy(&expected)
    );
    assert_eq!(ours, expected);
}

#[test]
fn the_debtor_header_is_datevs_example_line() {
    let header = ExtfHeader::new(
        &settings(),
        &Batch {
            created_at: Utc.with_ymd_and_hms(2024, 1, 30, 14, 6, 59).unwrap()
                + chrono::Duration::milliseconds(583),
            ..batch(day(2024, 1, 1), day(2024, 1, 31), "")
        },
    )
    .unwrap();
    let file = debitoren(&header, &[]).unwrap();
    let first = file.split(|b| *b == b'\r').next().unwrap();
    assert_eq!(
        std::str::from_utf8(first).unwrap(),
        "\"EXTF\";700;16;\"Debitoren/Kreditoren\";5;20240130140659583;;\"RE\";\"\";\"\";29098;55003;20240101;4;;;\"\";\"\";;;;\"\";;\"\";;;\"03\";;;\"\";\"\""
    );
}

#[test]
fn a_month_with_every_kind_of_event_gives_the_hand_computed_rows() {
    let file = buchungsstapel(&month_header(march()), &bookings(&march_events(), march())).unwrap();
    assert_eq!(
        rows(&file),
        [
            "119,00|S|10003|8400||0103|RE-2026-004|",
            "1190,00|S|10000|8400||0203|RE-2026-001|",
            "107,00|S|10000|8300||0203|RE-2026-001|",
            "500,00|S|10001|8336||0303|RE-2026-002|",
            "800,00|S|10002|8125||0403|RE-2026-003|",
            "119,00|H|10000|8400||0503|RE-2026-001|",
            "5,00|S|10003|2747||1003|RE-2026-004|40",
            "1,23|S|10003|2650||1003|RE-2026-004|31",
            "5,00|H|10003|1200||1503|RE-2026-004|40",
            "1,23|H|10003|1200||1503|RE-2026-004|31",
            "93,77|H|10003|1200||1503|RE-2026-004|",
            "5,00|S|10003|1200||2003|RE-2026-004|40",
            "1,23|S|10003|1200||2003|RE-2026-004|31",
            "93,77|S|10003|1200||2003|RE-2026-004|",
            "3,00|S|4970|1200||2003|RE-2026-004|",
            "70,00|S|1200|1700||2103|RE-2026-002|",
            "50,00|H|10001|1700||2203|RE-2026-002|",
            "20,00|S|1700|1200||2303|RE-2026-002|",
            "1071,00|H|10000|2406||3103|RE-2026-001|",
            "107,00|H|10000|2401||3103|RE-2026-001|",
        ]
    );
}

#[test]
fn the_same_input_gives_the_same_bytes() {
    let first =
        buchungsstapel(&month_header(march()), &bookings(&march_events(), march())).unwrap();
    let again =
        buchungsstapel(&month_header(march()), &bookings(&march_events(), march())).unwrap();
    assert_eq!(first, again);
    let debtors = [debtor("10001", "Beta AG"), debtor("10000", "Alpha GmbH")];
    let reversed = [debtors[1].clone(), debtors[0].clone()];
    let header = month_header(march());
    assert_eq!(
        debitoren(&header, &debtors).unwrap(),
        debitoren(&header, &reversed).unwrap()
    );
}

#[test]
fn a_credit_note_cites_the_invoice_and_keeps_its_own_number() {
    let bookings = bookings(&march_events(), march());
    let file = buchungsstapel(&month_header(march()), &bookings).unwrap();
    let infos = project(
        &file,
        &BUCHUNGSSTAPEL_COLUMNS,
        &["Beleginfo - Art 1", "Beleginfo - Inhalt 1", "Buchungstext"],
    );
    // Rows 0 and 5 are the bookings 0 and 4 (booking 1 has two rows).
    assert_eq!(bookings[4].document_number, "GS-2026-001");
    assert_eq!(
        infos[5],
        format!("Belegnummer|GS-2026-001|{}", bookings[4].text)
    );
    assert_eq!(infos[0], format!("||{}", bookings[0].text));
}

#[test]
fn a_payment_recorded_after_its_month_was_locked_books_on_the_next_months_first_day() {
    let february = BookingPeriod::containing(day(2026, 2, 1));
    let mut late = event(
        "RE-2026-004",
        "RE-2026-004",
        day(2026, 2, 27),
        "10003",
        K::PaymentReceived {
            amount: eur(dec!(119)),
            open_before: claims(dec!(0), dec!(0), dec!(119)),
            purpose: PaymentPurpose::Statutory,
        },
    );
    late.recorded_at = Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap();
    let locks = [PeriodLock {
        period: february,
        locked_at: Utc.with_ymd_and_hms(2026, 3, 1, 8, 0, 0).unwrap(),
    }];
    let bookings = journal(&[late], &settings(), march(), &locks).unwrap();
    let file = buchungsstapel(&month_header(march()), &bookings).unwrap();
    assert_eq!(rows(&file), ["119,00|H|10003|1200||0103|RE-2026-004|"]);
    let infos = project(
        &file,
        &BUCHUNGSSTAPEL_COLUMNS,
        &["Beleginfo - Art 1", "Beleginfo - Inhalt 1"],
    );
    assert_eq!(infos, ["Belegdatum|27.02.2026"]);
}

#[test]
fn a_locked_batch_is_locked_in_the_header_and_every_row() {
    let header = ExtfHeader::new(
        &settings(),
        &Batch {
            locked: true,
            ..batch(march().first_day(), march().last_day(), "Buchungen 2026-03")
        },
    )
    .unwrap();
    let file = buchungsstapel(&header, &bookings(&march_events(), march())).unwrap();
    let parsed = validate(&file).unwrap();
    assert_eq!(parsed.header[20].value, "1");
    let locks = project(&file, &BUCHUNGSSTAPEL_COLUMNS, &["Festschreibung"]);
    assert!(locks.iter().all(|l| l == "1"), "{locks:?}");
    let open = buchungsstapel(&month_header(march()), &bookings(&march_events(), march())).unwrap();
    assert!(
        project(&open, &BUCHUNGSSTAPEL_COLUMNS, &["Festschreibung"])
            .iter()
            .all(|l| l == "0")
    );
}

#[test]
fn vat_datev_would_derive_otherwise_is_booked_on_its_own_row() {
    // 10,00 net with 1,91 VAT: DATEV would derive 1,90 from 11,91 at 19 %.
    let events = [event(
        "RE-2026-009",
        "RE-2026-009",
        day(2026, 3, 9),
        "10000",
        K::InvoiceIssued {
            lines: vec![taxed(dec!(10), dec!(19), dec!(1.91))],
        },
    )];
    let file = buchungsstapel(&month_header(march()), &bookings(&events, march())).unwrap();
    assert_eq!(
        rows(&file),
        [
            "10,00|S|10000|8400|40|0903|RE-2026-009|",
            "1,91|S|10000|1776||0903|RE-2026-009|"
        ]
    );
}

#[test]
fn a_revenue_account_that_takes_a_tax_key_carries_it() {
    let mut settings = settings();
    settings.accounts.taxable[0].revenue = TaxedAccount {
        account: account("8409"),
        tax_key: Some(TaxKey::new(3, "tax_key").unwrap()),
    };
    let events = [event(
        "RE-2026-010",
        "RE-2026-010",
        day(2026, 3, 9),
        "10000",
        K::InvoiceIssued {
            lines: vec![taxed(dec!(100), dec!(19), dec!(19))],
        },
    )];
    let bookings = journal(&events, &settings, march(), &[]).unwrap();
    let header = ExtfHeader::new(
        &settings,
        &batch(march().first_day(), march().last_day(), "x"),
    )
    .unwrap();
    let file = buchungsstapel(&header, &bookings).unwrap();
    assert_eq!(rows(&file), ["119,00|S|10000|8409|3|0903|RE-2026-010|"]);
}

#[test]
fn long_and_foreign_booking_texts_are_cut_and_replaced_as_documented() {
    let mut bookings = bookings(&march_events()[..1], march());
    bookings[0].text = format!("Rechnung für Łódź \"Nord\" {}", "x".repeat(60));
    let file = buchungsstapel(&month_header(march()), &bookings).unwrap();
    let texts = project(&file, &BUCHUNGSSTAPEL_COLUMNS, &["Buchungstext"]);
    let expected: String = format!("Rechnung für Lódz \"Nord\" {}", "x".repeat(60))
        .chars()
        .take(60)
        .collect();
    assert_eq!(texts[0], expected);
}

fn refused(result: Result<Vec<u8>, AccountingError>) -> String {
    result.expect_err("must be refused").to_string()
}

#[test]
fn a_document_number_datev_cannot_take_is_an_error_naming_the_field() {
    for number in ["RE 2026 1", "RE-Ω-1", "RE_1", &"9".repeat(37)] {
        let mut bookings = bookings(&march_events()[..1], march());
        bookings[0].invoice_number = number.to_owned();
        let err = refused(buchungsstapel(&month_header(march()), &bookings));
        assert!(err.starts_with("bookings[0].Belegfeld 1: "), "{err}");
    }
}

#[test]
fn a_booking_that_does_not_balance_is_an_error_naming_it() {
    let mut bookings = bookings(&march_events()[..1], march());
    bookings[0].lines.pop();
    let err = refused(buchungsstapel(&month_header(march()), &bookings));
    assert!(err.starts_with("bookings[0].lines: "), "{err}");
}

#[test]
fn a_booking_in_another_currency_is_an_error_naming_the_field() {
    let mut bookings = bookings(&march_events()[..1], march());
    for line in &mut bookings[0].lines {
        line.amount = Money::new(line.amount.amount(), Currency::from_code("USD").unwrap());
    }
    let err = refused(buchungsstapel(&month_header(march()), &bookings));
    assert!(err.starts_with("bookings[0].WKZ Umsatz: "), "{err}");
}

#[test]
fn a_booking_outside_the_batch_is_an_error_naming_the_field() {
    let bookings = bookings(&march_events(), march());
    let april = BookingPeriod::containing(day(2026, 4, 1));
    let err = refused(buchungsstapel(&month_header(april), &bookings));
    assert!(err.starts_with("bookings[0].Belegdatum: "), "{err}");
}

#[test]
fn an_amount_beyond_ten_digits_is_an_error_naming_the_field() {
    let events = [event(
        "RE-2026-011",
        "RE-2026-011",
        day(2026, 3, 9),
        "10000",
        K::InvoiceIssued {
            lines: vec![untaxed(
                billing_domain::tax::VatCategoryCode::K,
                dec!(10000000000),
            )],
        },
    )];
    let err = refused(buchungsstapel(
        &month_header(march()),
        &bookings(&events, march()),
    ));
    assert!(
        err.starts_with("bookings[0].Umsatz (ohne Soll/Haben-Kz): "),
        "{err}"
    );
}

#[test]
fn a_header_datev_would_refuse_is_an_error_naming_the_field() {
    let march = (march().first_day(), march().last_day());
    let header = |settings: &AccountingSettings, batch: Batch<'_>| {
        ExtfHeader::new(settings, &batch)
            .expect_err("must be refused")
            .to_string()
    };
    let no_consultant = AccountingSettings {
        consultant_number: None,
        ..settings()
    };
    assert!(
        header(&no_consultant, batch(march.0, march.1, "x"))
            .starts_with("accounting.consultant_number: ")
    );
    let no_client = AccountingSettings {
        client_number: None,
        ..settings()
    };
    assert!(
        header(&no_client, batch(march.0, march.1, "x")).starts_with("accounting.client_number: ")
    );
    let wrong_length = AccountingSettings {
        account_length: 9,
        ..settings()
    };
    assert!(
        header(&wrong_length, batch(march.0, march.1, "x"))
            .starts_with("accounting.account_length: ")
    );
    let err = header(&settings(), batch(march.0, march.1, "Buchungen März"));
    assert!(err.starts_with("header.Bezeichnung: "), "{err}");
    let err = header(&settings(), batch(march.0, march.1, &"x".repeat(31)));
    assert!(err.starts_with("header.Bezeichnung: "), "{err}");
    let err = header(&settings(), batch(day(2026, 12, 1), day(2027, 1, 31), "x"));
    assert!(err.starts_with("header.Datum bis: "), "{err}");
    let err = header(&settings(), batch(march.1, march.0, "x"));
    assert!(err.starts_with("header.Datum vom: "), "{err}");
    let july_fiscal_year = AccountingSettings {
        fiscal_year_start: 7,
        ..settings()
    };
    let err = header(
        &july_fiscal_year,
        batch(day(2026, 6, 1), day(2026, 7, 31), "x"),
    );
    assert!(err.starts_with("header.Datum bis: "), "{err}");
    let mut old = batch(march.0, march.1, "x");
    old.created_at = Utc.with_ymd_and_hms(1999, 12, 31, 0, 0, 0).unwrap();
    assert!(header(&settings(), old).starts_with("header.Erzeugt am: "));
}

#[test]
fn a_fiscal_year_from_july_starts_the_header_in_the_july_before() {
    let settings = AccountingSettings {
        fiscal_year_start: 7,
        ..settings()
    };
    let header =
        ExtfHeader::new(&settings, &batch(day(2026, 3, 1), day(2026, 3, 31), "x")).unwrap();
    let file = buchungsstapel(&header, &[]).unwrap();
    let parsed = validate(&file).unwrap();
    assert_eq!(parsed.header[12].value, "20250701");
    assert_eq!(parsed.header[14].value, "20260301");
    assert_eq!(parsed.header[15].value, "20260331");
}

// Debitoren/Kreditoren.

const DEBTOR: [&str; 14] = [
    "Konto",
    "Name (Adressattyp Unternehmen)",
    "Name (Adressattyp natürl. Person)",
    "Vorname (Adressattyp natürl. Person)",
    "Name (Adressattyp keine Angabe)",
    "Adressattyp",
    "EU-Land",
    "EU-UStID",
    "Straße",
    "Adresszusatz",
    "Postleitzahl",
    "Ort",
    "Land",
    "Fälligkeit in Tagen (Debitor)",
];

fn address(street: &str, code: Option<&str>, city: &str, country: &str) -> PostalAddress {
    PostalAddress {
        street: street.to_owned(),
        additional_line: None,
        postal_code: code.map(str::to_owned),
        city: city.to_owned(),
        country: CountryCode::parse(country).unwrap(),
    }
}

fn debtor(account_digits: &str, company: &str) -> DebtorMasterData {
    DebtorMasterData {
        account: account(account_digits),
        name: DebtorName::Company(company.to_owned()),
        address: address("Hauptstraße 1", Some("10115"), "Berlin", "DE"),
        vat_id: None,
        payment_terms_days: Some(14),
    }
}

fn customer(json: serde_json::Value) -> CustomerAccount {
    let mut base = serde_json::json!({
        "id": "acc_1", "crm_id": "crm_1", "billing_entity_id": "ent_de",
        "name": "Kunde",
        "address": {"street": "Straße 1", "postal_code": "10115", "city": "Berlin", "country": "DE"},
        "invoice_emails": ["kunde@example.org"],
        "language": "de", "currency": "EUR", "payment_terms_days": 30,
        "kind": "business",
    });
    for (key, value) in json.as_object().unwrap() {
        base[key] = value.clone();
    }
    serde_json::from_value(base).unwrap()
}

#[test]
fn debtors_are_written_by_kind_with_their_eu_vat_id_split() {
    let business = customer(serde_json::json!({
        "name": "Müller \"Möbel\" GmbH; Berlin", "vat_id": "DE123456789",
        "address": {"street": "Karl-Marx-Allee 1", "additional_line": "Hinterhaus", "postal_code": "10178", "city": "Berlin", "country": "DE"},
    }));
    let consumer =
        customer(serde_json::json!({"name": "Ursula von der Leyen", "kind": "consumer"}));
    let greek = customer(serde_json::json!({
        "name": "Ελληνική Α.Ε.", "vat_id": "EL123456789",
        "address": {"street": "Odos 1", "postal_code": "10431", "city": "Athina", "country": "GR"},
    }));
    let swiss = customer(serde_json::json!({
        "name": "Zürich AG", "vat_id": "CHE123456789",
        "address": {"street": "Bahnhofstrasse 1", "postal_code": "8001", "city": "Zürich", "country": "CH"},
    }));
    let british = customer(serde_json::json!({
        "name": "London Ltd",
        "address": {"street": "1 Downing St", "postal_code": "SW1A 2AA", "city": "London", "country": "GB"},
    }));
    let person = DebtorMasterData {
        name: DebtorName::Person {
            surname: "Mustermann".to_owned(),
            first_name: "Erika".to_owned(),
        },
        payment_terms_days: None,
        ..debtor("10005", "")
    };
    let debtors = [
        DebtorMasterData::from_customer(account("10004"), &british),
        DebtorMasterData::from_customer(account("10000"), &business),
        DebtorMasterData::from_customer(account("10001"), &consumer),
        DebtorMasterData::from_customer(account("10002"), &greek),
        DebtorMasterData::from_customer(account("10003"), &swiss),
        person,
    ];
    let file = debitoren(&month_header(march()), &debtors).unwrap();
    assert_eq!(
        project(&file, &DEBITOREN_COLUMNS, &DEBTOR),
        [
            "10000|Müller \"Möbel\" GmbH; Berlin||||2|DE|123456789|Karl-Marx-Allee 1|Hinterhaus|10178|Berlin|DE|30",
            "10001||||Ursula von der Leyen|0|||Straße 1||10115|Berlin|DE|30",
            "10002|???????? ?.?.||||2|EL|123456789|Odos 1||10431|Athina|GR|30",
            "10003|Zürich AG||||2|||Bahnhofstrasse 1||8001|Zürich|CH|30",
            "10004|London Ltd||||2|||1 Downing St||SW1A 2AA|London|GB|30",
            "10005||Mustermann|Erika||1|||Hauptstraße 1||10115|Berlin|DE|",
        ]
    );
}

#[test]
fn long_debtor_names_and_streets_are_cut_at_datevs_lengths() {
    let mut long = debtor("10000", &"N".repeat(60));
    long.address.street = "S".repeat(40);
    long.address.city = "C".repeat(40);
    let file = debitoren(&month_header(march()), &[long]).unwrap();
    let row = project(
        &file,
        &DEBITOREN_COLUMNS,
        &["Name (Adressattyp Unternehmen)", "Straße", "Ort"],
    );
    assert_eq!(
        row,
        [format!(
            "{}|{}|{}",
            "N".repeat(50),
            "S".repeat(36),
            "C".repeat(30)
        )]
    );
}

#[test]
fn the_same_customer_twice_is_written_once_two_on_one_account_is_an_error() {
    let header = month_header(march());
    let once = debitoren(&header, &[debtor("10000", "Alpha GmbH")]).unwrap();
    let twice = debitoren(
        &header,
        &[debtor("10000", "Alpha GmbH"), debtor("10000", "Alpha GmbH")],
    )
    .unwrap();
    assert_eq!(once, twice);
    let err = refused(debitoren(
        &header,
        &[debtor("10000", "Alpha GmbH"), debtor("10000", "Beta AG")],
    ));
    assert!(err.starts_with("debtors[1].Konto: "), "{err}");
}

#[test]
fn debtor_values_datev_cannot_take_are_errors_naming_the_field() {
    let header = month_header(march());
    for account in ["1000", "70000", "100000"] {
        let err = refused(debitoren(&header, &[debtor(account, "Alpha GmbH")]));
        assert!(err.starts_with("debtors[0].Konto: "), "{err}");
    }
    let mut long_code = debtor("10000", "Alpha GmbH");
    long_code.address.postal_code = Some("12345678901".to_owned());
    let err = refused(debitoren(&header, &[long_code]));
    assert!(err.starts_with("debtors[0].Postleitzahl: "), "{err}");
    let mut long_vat = debtor("10000", "Alpha GmbH");
    long_vat.vat_id = Some(VatId::parse("FR12345678901234").unwrap());
    long_vat.address.country = CountryCode::parse("FR").unwrap();
    let err = refused(debitoren(&header, &[long_vat]));
    assert!(err.starts_with("debtors[0].EU-UStID: "), "{err}");
}

/// A Debitoren file this crate wrote, to break rules in.
fn good_debtors() -> Vec<u8> {
    debitoren(&month_header(march()), &[debtor("10000", "Alpha GmbH")]).unwrap()
}

rejects!(
    debtors_refuse_a_period_in_the_header,
    good_debtors(),
    "header field 15",
    |good| with_field(&good, 1, 15, "20260301")
);
rejects!(
    debtors_refuse_a_currency_in_the_header,
    good_debtors(),
    "header field 22",
    |good| with_field(&good, 1, 22, "\"EUR\"")
);
rejects!(
    debtors_refuse_the_booking_headings,
    good_debtors(),
    "column heading 1",
    |good| {
        let bookings = sample_bookings();
        let headings = bookings.split(|b| *b == b'\n').nth(1).unwrap();
        let mut lines: Vec<&[u8]> = good.split(|b| *b == b'\n').collect();
        lines[1] = headings;
        lines.join(&b'\n')
    }
);
rejects!(
    debtors_refuse_253_fields,
    good_debtors(),
    "253 fields",
    |good| { with_line(&good, 3, |l| l.rsplit_once(';').unwrap().0.to_owned()) }
);
rejects!(
    debtors_refuse_a_four_digit_account,
    good_debtors(),
    "Konto",
    |good| { with_field(&good, 3, 1, "1000") }
);
rejects!(
    debtors_refuse_a_creditor_account,
    good_debtors(),
    "Konto",
    |good| { with_field(&good, 3, 1, "70000") }
);
rejects!(
    debtors_refuse_adressattyp_3,
    good_debtors(),
    "Adressattyp",
    |good| { with_field(&good, 3, 7, "\"3\"") }
);
rejects!(
    debtors_refuse_a_company_without_its_name,
    good_debtors(),
    "Name (Adressattyp Unternehmen)",
    |good| with_field(&good, 3, 2, "\"\"")
);
rejects!(
    debtors_refuse_a_person_without_a_surname,
    good_debtors(),
    "Name (Adressattyp natürl. Person)",
    |good| with_field(&good, 3, 7, "\"1\"")
);
rejects!(
    debtors_refuse_a_vat_id_with_its_prefix,
    good_debtors(),
    "EU-UStID",
    |good| { with_field(&with_field(&good, 3, 9, "\"DE\""), 3, 10, "\"DE123456789\"") }
);
rejects!(
    debtors_refuse_a_name_longer_than_50,
    good_debtors(),
    "Name (Adressattyp Unternehmen)",
    |good| { with_field(&good, 3, 2, &format!("\"{}\"", "N".repeat(51))) }
);
rejects!(
    debtors_refuse_a_lower_case_country,
    good_debtors(),
    "Land",
    |good| { with_field(&good, 3, 20, "\"de\"") }
);
rejects!(
    debtors_refuse_a_filled_leerfeld,
    good_debtors(),
    "Leerfeld",
    |good| { with_field(&good, 3, 46, "1") }
);
rejects!(
    debtors_refuse_a_bank_date_without_century,
    good_debtors(),
    "Bankverb 1 Gültig von",
    |good| with_field(&good, 3, 50, "010126")
);
