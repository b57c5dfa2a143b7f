//! Parties and lines shared by the invoice tests and the invoice bench.
#![allow(dead_code)]

use billing_domain::DomainError;
use billing_domain::ids::{AccountId, BillingEntityId, CrmAccountId, InvoiceId};
use billing_domain::invoice::{InvoiceDraft, InvoiceRequest};
use billing_domain::item::BillableLine;
use billing_domain::item::{Item, UnitCode};
use billing_domain::money::{Currency, Money};
use billing_domain::numbering::DocumentType;
use billing_domain::numbering::NumberSeries;
use billing_domain::party::{
    BankAccount, Bic, CountryCode, CustomerAccount, CustomerKind, ElectronicAddress, EmailAddress,
    Iban, Language, LeitwegId, PostalAddress, SellerContact, SellerIdentity, TaxNumber, Telephone,
    VatId,
};
use billing_domain::period::ServicePeriod;
use billing_domain::seller::BillingEntity;
use billing_domain::tax::TaxCategory;
use chrono::NaiveDate;
use rust_decimal::Decimal;

/// A date from literal numbers.
pub fn date(year: i32, month: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(year, month, day).unwrap()
}

/// A German GmbH with VAT ID, tax number, bank account and default series.
pub fn german_entity() -> BillingEntity {
    BillingEntity {
        id: BillingEntityId::new("ent_de"),
        identity: SellerIdentity {
            legal_name: "Beispiel Software GmbH".into(),
            address: address("Musterstraße 1", "10115", "Berlin", CountryCode::DE),
            vat_id: Some(VatId::parse("DE123456789").unwrap()),
            tax_number: Some(TaxNumber::parse("21/815/08150").unwrap()),
            bank_account: BankAccount {
                account_holder: None,
                iban: Iban::parse("DE89 3704 0044 0532 0130 00").unwrap(),
                bic: Some(Bic::parse("COBADEFFXXX").unwrap()),
                bank_name: Some("Commerzbank".into()),
            },
            contact: Some(SellerContact {
                name: "Buchhaltung".into(),
                telephone: Telephone::parse("+49 30 1234567").unwrap(),
                email: EmailAddress::parse("buchhaltung@beispiel-software.de").unwrap(),
            }),
            electronic_address: Some(
                ElectronicAddress::parse("EM", "rechnung@beispiel-software.de").unwrap(),
            ),
        },
        time_zone: chrono_tz::Europe::Berlin,
        default_language: Language::De,
        number_series: vec![
            NumberSeries::german_default(DocumentType::Invoice),
            NumberSeries::german_default(DocumentType::CreditNote),
        ],
        tax_rules: billing_domain::taxation::TaxRules::germany(),
        max_invoice_lines: 500,
        dunning: billing_domain::dunning::DunningPolicy::german_default(),
        payment_tolerance: Default::default(),
        mid_period_changes: Default::default(),
        accounting: Default::default(),
        direct_debit: None,
        mail: billing_domain::seller::InvoiceMailSender {
            address: billing_domain::party::EmailAddress::parse("rechnung@beispiel-software.de")
                .unwrap(),
            display_name: Some("Beispiel Software GmbH".into()),
            reply_to: None,
        },
    }
}

/// A postal address.
pub fn address(street: &str, postal_code: &str, city: &str, country: CountryCode) -> PostalAddress {
    PostalAddress {
        street: street.into(),
        additional_line: None,
        postal_code: Some(postal_code.into()),
        city: city.into(),
        country,
    }
}

/// A customer of [`german_entity`] in Germany, paying in EUR within 14 days.
pub fn german_consumer() -> CustomerAccount {
    CustomerAccount {
        id: AccountId::new("acc_1"),
        crm_id: CrmAccountId::new("crm_1"),
        billing_entity_id: BillingEntityId::new("ent_de"),
        name: "Erika Mustermann".into(),
        address: address("Heidestraße 17", "51147", "Köln", CountryCode::DE),
        vat_id: None,
        invoice_emails: vec![EmailAddress::parse("erika@example.org").unwrap()],
        language: Language::De,
        currency: Currency::EUR,
        payment_terms_days: 14,
        payment_date_agreed: false,
        kind: CustomerKind::Consumer,
        leitweg_id: None,
        electronic_address: None,
    }
}

/// An Austrian business with an ATU VAT ID, paying within 30 days.
pub fn austrian_business() -> CustomerAccount {
    CustomerAccount {
        name: "Alpen Consulting GmbH".into(),
        address: address("Kärntner Straße 5", "1010", "Wien", CountryCode::AT),
        vat_id: Some(VatId::parse("ATU12345678").unwrap()),
        language: Language::En,
        payment_terms_days: 30,
        payment_date_agreed: false,
        kind: CustomerKind::Business,
        ..german_consumer()
    }
}

/// A German public-sector customer with a Leitweg-ID (receives XRechnung)
/// and its electronic address.
pub fn public_sector() -> CustomerAccount {
    CustomerAccount {
        name: "Stadtverwaltung Musterstadt".into(),
        address: address("Rathausplatz 1", "50667", "Köln", CountryCode::DE),
        payment_terms_days: 30,
        payment_date_agreed: false,
        kind: CustomerKind::Business,
        leitweg_id: Some(LeitwegId::parse("04011000-1234512345-06").unwrap()),
        electronic_address: Some(
            ElectronicAddress::parse("0204", "04011000-1234512345-06").unwrap(),
        ),
        ..german_consumer()
    }
}

/// An amount in euros.
pub fn eur(amount: Decimal) -> Money {
    Money::new(amount, Currency::EUR)
}

/// A line of `quantity` × `unit_price` in `unit` at `category`.
pub fn line(
    description: &str,
    quantity: Decimal,
    unit: UnitCode,
    unit_price: Money,
    category: TaxCategory,
) -> BillableLine {
    let mut item = Item::new(description, quantity, unit_price);
    item.unit = unit;
    item.tax_category = category;
    BillableLine::new(item)
}

/// January 2026, the period most examples bill.
pub fn january_2026() -> ServicePeriod {
    ServicePeriod::new(date(2026, 1, 1), date(2026, 1, 31)).unwrap()
}

/// A request issued on 31 Jan 2026.
pub fn request(lines: Vec<BillableLine>) -> InvoiceRequest {
    InvoiceRequest::new(InvoiceId::new("inv_1"), date(2026, 1, 31), lines)
}

/// `count` monthly lines with varied prices, quantities and both German
/// rates: the shape of a typical run's invoice.
pub fn typical_lines(count: usize) -> Vec<BillableLine> {
    (0..count)
        .map(|i| {
            let category = if i % 3 == 0 {
                TaxCategory::Reduced
            } else {
                TaxCategory::Standard
            };
            let price = Decimal::new(1999 + 137 * i as i64, 2);
            let quantity = Decimal::new(1 + (i as i64 % 4) * 5, 1);
            line(
                &format!("Licence seat package {i}"),
                quantity,
                UnitCode::month(),
                eur(price),
                category,
            )
            .with_period(january_2026())
        })
        .collect()
}

/// The amounts a document shows, on one line: line nets | per group
/// "category rate%: taxable -> tax" | net + tax = gross.
pub fn shown(draft: &InvoiceDraft) -> String {
    let nets: Vec<String> = draft
        .lines
        .iter()
        .map(|l| l.net_amount.amount().to_string())
        .collect();
    let groups: Vec<String> = draft
        .tax_breakdown
        .iter()
        .map(|g| {
            let (base, tax) = (g.taxable_amount.amount(), g.tax_amount.amount());
            format!("{} {}%: {base} -> {tax}", g.category.code(), g.rate)
        })
        .collect();
    let t = &draft.totals;
    format!(
        "lines {} | {} | net {} + tax {} = {}",
        nets.join(", "),
        groups.join(" | "),
        t.net_total.amount(),
        t.tax_total.amount(),
        t.gross_total.amount()
    )
}

/// The field an error names (the text before the first colon).
pub fn field_of(err: DomainError) -> String {
    let text = err.to_string();
    text.split(':').next().unwrap_or_default().to_owned()
}

/// A consumer's recurrent CORE mandate, granted to the creditor identifier
/// `DE98ZZZ09999999999`, signed on `signed_on`.
pub fn mandate(signed_on: chrono::NaiveDate) -> billing_domain::direct_debit::Mandate {
    use billing_domain::direct_debit::{
        CreditorIdentifier, DirectDebitScheme, Mandate, MandateReference, MandateStatus, MandateUse,
    };
    Mandate {
        reference: MandateReference::parse("NL-0002").unwrap(),
        creditor_identifier: CreditorIdentifier::parse("DE98ZZZ09999999999").unwrap(),
        signed_on,
        scheme: DirectDebitScheme::Core,
        usage: MandateUse::Recurrent,
        debtor_name: "Erika Mustermann".to_owned(),
        debtor_iban: billing_domain::party::Iban::parse("DE75512108001245126199").unwrap(),
        debtor_bic: None,
        status: MandateStatus::Active,
        last_collected_on: None,
        agreed_pre_notification_days: None,
        amendments: Vec::new(),
    }
}
