//! Representative finalized invoices, built through the real domain rules,
//! so the validation tests, the golden file, the benchmark and the demo
//! all render the shapes that matter: a German consumer with two rates, a
//! reverse-charge business abroad, a public-sector customer with a
//! Leitweg-ID, and long invoices that span pages.

use billing_domain::DomainError;
use billing_domain::ids::{AccountId, BillingEntityId, CrmAccountId, InvoiceId, ProductCode};
use billing_domain::invoice::{BillableLine, DocumentType, Invoice, InvoiceDraft, InvoiceRequest};
use billing_domain::item::{Item, UnitCode};
use billing_domain::money::{Currency, Money};
use billing_domain::numbering::{InvoiceNumber, NumberSeries};
use billing_domain::party::{
    BankAccount, Bic, BillingEntity, CountryCode, CustomerAccount, CustomerKind, ElectronicAddress,
    EmailAddress, Iban, Language, LeitwegId, PostalAddress, SellerContact, SellerIdentity,
    TaxNumber, Telephone, VatId,
};
use billing_domain::period::ServicePeriod;
use billing_domain::tax::{TaxCategory, TaxRules};
use chrono::NaiveDate;
use rust_decimal::Decimal;

/// The samples by name, as the fixture renderer writes them.
pub fn all() -> Result<Vec<(&'static str, Invoice)>, DomainError> {
    Ok(vec![
        ("german-consumer", german_consumer()?),
        ("reverse-charge-austria", reverse_charge_austria()?),
        ("public-sector-leitweg", public_sector()?),
        ("long-200-lines", long(200)?),
        ("cancellation", cancellation()?),
        ("partial-credit-note", partial_credit_note()?),
    ])
}

/// The cancellation document of the German consumer invoice: every line
/// credited, type 381, referring to RE-2026-000042 of 31.01.2026.
pub fn cancellation() -> Result<Invoice, DomainError> {
    let original = german_consumer()?;
    let correction = billing_domain::correction::cancellation(
        &original,
        &Default::default(),
        InvoiceId::new("inv_sample_cancellation"),
        date(2026, 2, 10)?,
    )?;
    Ok(correction
        .draft
        .finalize(InvoiceNumber::new("GS-2026-000001")))
}

/// A partial credit note on the reverse-charge invoice: 5 of its 25
/// quarterly licences (reverse charge carries over with its legal note).
pub fn partial_credit_note() -> Result<Invoice, DomainError> {
    let original = reverse_charge_austria()?;
    let selection = billing_domain::correction::CreditSelection::Lines {
        lines: vec![billing_domain::correction::LineCredit {
            position: 1,
            quantity: Some(Decimal::new(5, 0)),
        }],
    };
    let correction = billing_domain::correction::partial_credit(
        &original,
        &Default::default(),
        &selection,
        InvoiceId::new("inv_sample_partial_credit"),
        date(2026, 2, 12)?,
    )?;
    Ok(correction
        .draft
        .finalize(InvoiceNumber::new("GS-2026-000002")))
}

/// A German consumer: licences at 19 %, a book at 7 %, a service period.
pub fn german_consumer() -> Result<Invoice, DomainError> {
    let january = period(date(2026, 1, 1)?, date(2026, 1, 31)?)?;
    let mut licence = item(
        "Cloud-Buchhaltung Basis (Monatslizenz)",
        Decimal::new(1, 0),
        UnitCode::month(),
        Decimal::new(2990, 2),
        TaxCategory::Standard,
    );
    licence.product_code = Some(ProductCode::new("CB-BASIS"));
    let lines = vec![
        BillableLine::new(licence).with_period(january),
        BillableLine::new(item(
            "Zusätzliche Benutzer",
            Decimal::new(3, 0),
            UnitCode::month(),
            Decimal::new(495, 2),
            TaxCategory::Standard,
        ))
        .with_period(january),
        BillableLine::new(item(
            "Handbuch „Buchhaltung für Selbstständige“ (gedruckt)",
            Decimal::new(1, 0),
            UnitCode::piece(),
            Decimal::new(2450, 2),
            TaxCategory::Reduced,
        )),
    ];
    finalize(
        &consumer(),
        request("inv_sample_de", lines),
        "RE-2026-000042",
    )
}

/// An Austrian business, English, reverse charge (§13b UStG), with a
/// purchase-order reference, a creditor reference to pay with and an
/// electronic address.
pub fn reverse_charge_austria() -> Result<Invoice, DomainError> {
    let q1 = period(date(2026, 1, 1)?, date(2026, 3, 31)?)?;
    let lines = vec![
        BillableLine::new(item(
            "Cloud accounting Professional (quarterly licence)",
            Decimal::new(25, 0),
            UnitCode::quarter(),
            Decimal::new(8970, 2),
            TaxCategory::Standard,
        ))
        .with_period(q1),
        BillableLine::new(item(
            "Onboarding workshop",
            Decimal::new(6, 0),
            UnitCode::hour(),
            Decimal::new(14000, 2),
            TaxCategory::Standard,
        ))
        .with_period(period(date(2026, 1, 15)?, date(2026, 1, 15)?)?),
    ];
    let mut request = request("inv_sample_at", lines);
    request.references.purchase_order = Some("PO-2026-0815".to_owned());
    // An ISO 11649 creditor reference: the GiroCode carries it structured.
    request.references.payment_reference = Some("RF18539007547034".to_owned());
    finalize(&austrian_business()?, request, "RE-2026-000043")
}

/// A German public-sector customer with a Leitweg-ID: gets XRechnung too.
pub fn public_sector() -> Result<Invoice, DomainError> {
    let account = CustomerAccount {
        id: AccountId::new("acc_sample_city"),
        crm_id: CrmAccountId::new("crm_sample_city"),
        name: "Stadtverwaltung Musterstadt, Amt für Digitalisierung".to_owned(),
        address: address("Rathausplatz 1", "50667", "Köln", CountryCode::DE),
        invoice_emails: vec![EmailAddress::parse("rechnungen@musterstadt.example")?],
        kind: CustomerKind::Business,
        payment_terms_days: 30,
        leitweg_id: Some(LeitwegId::parse("04011000-1234512345-06")?),
        electronic_address: Some(ElectronicAddress::parse("0204", "04011000-1234512345-06")?),
        ..consumer()
    };
    let lines = vec![
        BillableLine::new(item(
            "Fachverfahren Bürgerservice (Jahreslizenz)",
            Decimal::new(1, 0),
            UnitCode::year(),
            Decimal::new(1_200_000, 2),
            TaxCategory::Standard,
        ))
        .with_period(period(date(2026, 1, 1)?, date(2026, 12, 31)?)?),
    ];
    finalize(
        &account,
        request("inv_sample_city", lines),
        "RE-2026-000044",
    )
}

/// `count` lines of a German consumer invoice with both rates: 20 for the
/// benchmark, 200 for page breaks and peak memory.
pub fn long(count: usize) -> Result<Invoice, DomainError> {
    let january = period(date(2026, 1, 1)?, date(2026, 1, 31)?)?;
    let lines = (0..count)
        .map(|i| {
            let category = if i % 3 == 0 {
                TaxCategory::Reduced
            } else {
                TaxCategory::Standard
            };
            let price = Decimal::new(1999 + 137 * i64::try_from(i).unwrap_or(0), 2);
            let quantity = Decimal::new(1 + (i64::try_from(i).unwrap_or(0) % 4) * 5, 1);
            BillableLine::new(item(
                &format!("Lizenzpaket Arbeitsplatz {}", i + 1),
                quantity,
                UnitCode::month(),
                price,
                category,
            ))
            .with_period(january)
        })
        .collect();
    finalize(
        &consumer(),
        request(&format!("inv_sample_{count}"), lines),
        &format!("RE-2026-{:06}", 100 + count),
    )
}

/// The issuing German GmbH.
pub fn seller() -> Result<BillingEntity, DomainError> {
    Ok(BillingEntity {
        id: BillingEntityId::new("ent_sample"),
        identity: SellerIdentity {
            legal_name: "Beispiel Software GmbH".to_owned(),
            address: address("Musterstraße 1", "10115", "Berlin", CountryCode::DE),
            vat_id: Some(VatId::parse("DE123456789")?),
            tax_number: Some(TaxNumber::parse("21/815/08150")?),
            bank_account: BankAccount {
                account_holder: None,
                iban: Iban::parse("DE89 3704 0044 0532 0130 00")?,
                bic: Some(Bic::parse("COBADEFFXXX")?),
                bank_name: Some("Commerzbank".to_owned()),
            },
            contact: Some(SellerContact {
                name: "Buchhaltung".to_owned(),
                telephone: Telephone::parse("+49 30 1234567-0")?,
                email: EmailAddress::parse("buchhaltung@beispiel-software.de")?,
            }),
            electronic_address: Some(ElectronicAddress::parse(
                "EM",
                "rechnung@beispiel-software.de",
            )?),
        },
        time_zone: chrono_tz_berlin(),
        default_language: Language::De,
        number_series: vec![
            NumberSeries::german_default(DocumentType::Invoice),
            NumberSeries::german_default(DocumentType::CreditNote),
        ],
        tax_rules: TaxRules::germany(),
        max_invoice_lines: 500,
        dunning: billing_domain::dunning::DunningPolicy::german_default(),
        payment_tolerance: Default::default(),
        mid_period_changes: Default::default(),
        mail: billing_domain::party::InvoiceMailSender {
            address: EmailAddress::parse("rechnung@beispiel-software.de")?,
            display_name: Some("Beispiel Software GmbH".to_owned()),
            reply_to: Some(EmailAddress::parse("buchhaltung@beispiel-software.de")?),
        },
    })
}

fn chrono_tz_berlin() -> chrono_tz::Tz {
    chrono_tz::Europe::Berlin
}

fn consumer() -> CustomerAccount {
    CustomerAccount {
        id: AccountId::new("acc_sample_consumer"),
        crm_id: CrmAccountId::new("crm_sample_consumer"),
        billing_entity_id: BillingEntityId::new("ent_sample"),
        name: "Erika Mustermann".to_owned(),
        address: address("Heidestraße 17", "51147", "Köln", CountryCode::DE),
        vat_id: None,
        invoice_emails: Vec::new(),
        language: Language::De,
        currency: Currency::EUR,
        payment_terms_days: 14,
        kind: CustomerKind::Consumer,
        leitweg_id: None,
        electronic_address: None,
    }
}

fn austrian_business() -> Result<CustomerAccount, DomainError> {
    Ok(CustomerAccount {
        id: AccountId::new("acc_sample_at"),
        crm_id: CrmAccountId::new("crm_sample_at"),
        name: "Alpen Consulting GmbH".to_owned(),
        address: address("Kärntner Straße 5", "1010", "Wien", CountryCode::AT),
        vat_id: Some(VatId::parse("ATU12345678")?),
        electronic_address: Some(ElectronicAddress::parse(
            "EM",
            "invoices@alpen-consulting.example",
        )?),
        language: Language::En,
        payment_terms_days: 30,
        kind: CustomerKind::Business,
        ..consumer()
    })
}

fn finalize(
    account: &CustomerAccount,
    request: InvoiceRequest,
    number: &str,
) -> Result<Invoice, DomainError> {
    let mut account = account.clone();
    if account.invoice_emails.is_empty() {
        account
            .invoice_emails
            .push(EmailAddress::parse("erika@example.org")?);
    }
    let draft = InvoiceDraft::build(&seller()?, &account, request)?;
    Ok(draft.finalize(InvoiceNumber::new(number)))
}

fn request(id: &str, lines: Vec<BillableLine>) -> InvoiceRequest {
    // Issue dates are fixed so rendered bytes (and the golden file) are stable.
    let issue_date = NaiveDate::from_ymd_opt(2026, 1, 31).unwrap_or_default();
    InvoiceRequest::new(InvoiceId::new(id), issue_date, lines)
}

fn item(
    description: &str,
    quantity: Decimal,
    unit: UnitCode,
    unit_price: Decimal,
    category: TaxCategory,
) -> Item {
    let mut item = Item::new(description, quantity, Money::new(unit_price, Currency::EUR));
    item.unit = unit;
    item.tax_category = category;
    item
}

fn address(street: &str, postal_code: &str, city: &str, country: CountryCode) -> PostalAddress {
    PostalAddress {
        street: street.to_owned(),
        additional_line: None,
        postal_code: Some(postal_code.to_owned()),
        city: city.to_owned(),
        country,
    }
}

fn date(year: i32, month: u32, day: u32) -> Result<NaiveDate, DomainError> {
    NaiveDate::from_ymd_opt(year, month, day)
        .ok_or_else(|| DomainError::invalid("date", "no such day"))
}

fn period(start: NaiveDate, end: NaiveDate) -> Result<ServicePeriod, DomainError> {
    ServicePeriod::new(start, end)
}

/// A payment reminder to the German consumer of [`german_consumer`], 40
/// days after its due date, decided by the German default policy: the
/// letter the templates are tried on at start-up.
pub fn dunning_letter(
    language: Language,
) -> Result<(billing_domain::dunning_letter::DunningLetter, Invoice), DomainError> {
    use billing_domain::dunning::{DunningAction, DunningFacts, DunningPolicy, InvoiceState};
    let invoice = german_consumer()?;
    let content = invoice.content();
    let facts = DunningFacts {
        due_date: content.due_date,
        open_amount: invoice.amount_due(),
        customer_kind: content.buyer.kind,
        state: InvoiceState::Open,
        blocked: false,
        block_until: None,
        handed_over: false,
        disputed: false,
        sent: Vec::new(),
        flat_fee_charged: false,
        payments: Vec::new(),
    };
    let today = content.due_date + chrono::Days::new(40);
    let DunningAction::Send(notice) = DunningPolicy::german_default().next_action(&facts, today)?
    else {
        return Err(DomainError::invalid(
            "sample",
            "the default policy sends no reminder 40 days after the due date",
        ));
    };
    let zero = Money::zero(content.currency);
    let letter = billing_domain::dunning_letter::DunningLetter::build(
        "dun_sample".to_owned(),
        today,
        language,
        &[(&invoice, invoice.amount_due(), zero, &notice)],
    )?;
    Ok((letter, invoice))
}
