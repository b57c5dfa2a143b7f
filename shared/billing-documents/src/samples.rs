//! Representative finalized invoices, built through the real domain rules,
//! so the validation tests, the golden file, the benchmark and the demo
//! all render the shapes that matter: a German consumer with two rates, a
//! reverse-charge business abroad, a public-sector customer with a
//! Leitweg-ID, long invoices that span pages, and the VAT cases of consumers
//! and sellers beyond the German standard: a consumer outside the EU
//! (category O), an EU consumer under OSS, a §19 UStG small business
//! (category E) and goods to an EU business (intra-EU supply, K).

use billing_domain::DomainError;
use billing_domain::ids::{AccountId, BillingEntityId, CrmAccountId, InvoiceId, ProductCode};
use billing_domain::invoice::{Invoice, InvoiceDraft, InvoiceRequest};
use billing_domain::item::BillableLine;
use billing_domain::item::{Item, UnitCode};
use billing_domain::money::{Currency, Money};
use billing_domain::numbering::DocumentType;
use billing_domain::numbering::{InvoiceNumber, NumberSeries};
use billing_domain::party::{
    BankAccount, Bic, CountryCode, CustomerAccount, CustomerKind, ElectronicAddress, EmailAddress,
    Iban, Language, LeitwegId, PostalAddress, SellerContact, SellerIdentity, TaxNumber, Telephone,
    VatId,
};
use billing_domain::period::ServicePeriod;
use billing_domain::seller::BillingEntity;
use billing_domain::tax::{SupplyKind, TaxCategory};
use billing_domain::taxation::{EuConsumerServices, EuStandardRates, TaxRules};
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
        ("rechnungskorrektur", rechnungskorrektur()?),
        ("consumer-english-default-notice", english_consumer()?),
        ("non-eu-consumer", non_eu_consumer()?),
        ("oss-consumer-france", oss_consumer_france()?),
        ("small-business", small_business()?),
        ("intra-eu-goods", intra_eu_goods()?),
        ("mid-period-upgrade", mid_period_upgrade()?),
        ("direct-debit-consumer", direct_debit_consumer()?),
    ])
}

/// A consumer in Germany who reads English: the payment terms carry the
/// §286(3) BGB notice in English (the German one is on
/// [`german_consumer`]), so the customer defaults 30 days after due date
/// and receipt without a reminder.
pub fn english_consumer() -> Result<Invoice, DomainError> {
    let account = CustomerAccount {
        id: AccountId::new("acc_sample_consumer_en"),
        crm_id: CrmAccountId::new("crm_sample_consumer_en"),
        name: "Jane Doe".to_owned(),
        address: address("Lindenallee 3", "10115", "Berlin", CountryCode::DE),
        language: Language::En,
        ..consumer()
    };
    let lines = vec![
        BillableLine::new(item(
            "Cloud accounting Basic (monthly licence)",
            Decimal::new(1, 0),
            UnitCode::month(),
            Decimal::new(2990, 2),
            TaxCategory::Standard,
        ))
        .with_period(period(date(2026, 1, 1)?, date(2026, 1, 31)?)?),
    ];
    finalize(
        &account,
        request("inv_sample_consumer_en", lines),
        "RE-2026-000045",
    )
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
        .finalize(InvoiceNumber::new("RK-2026-000001")))
}

/// A partial credit note on the reverse-charge invoice: 5 of its 25
/// quarterly licences (reverse charge carries over with its legal note).
pub fn partial_credit_note() -> Result<Invoice, DomainError> {
    credited_line(
        &reverse_charge_austria()?,
        (1, 5),
        "inv_sample_partial_credit",
        date(2026, 2, 12)?,
        "RK-2026-000002",
    )
}

/// `quantity` of `original`'s line `position` credited on `issued`, as
/// the finalized credit note `number`.
fn credited_line(
    original: &Invoice,
    (position, quantity): (usize, i64),
    id: &str,
    issued: NaiveDate,
    number: &str,
) -> Result<Invoice, DomainError> {
    let selection = billing_domain::correction::CreditSelection::Lines {
        lines: vec![billing_domain::correction::LineCredit {
            position,
            quantity: Some(Decimal::new(quantity, 0)),
        }],
    };
    let correction = billing_domain::correction::partial_credit(
        original,
        &Default::default(),
        &selection,
        InvoiceId::new(id),
        issued,
    )?;
    Ok(correction.draft.finalize(InvoiceNumber::new(number)))
}

/// A German partial correction of the German consumer invoice: one of its
/// three additional users (4.95 + 19 % 0.94 = 5.89), titled
/// "Rechnungskorrektur" (§17(1) UStG, §31(5) UStDV), never "Gutschrift"
/// (the recipient's self-billing, §14(2) sentence 2 UStG).
pub fn rechnungskorrektur() -> Result<Invoice, DomainError> {
    credited_line(
        &german_consumer()?,
        (2, 1),
        "inv_sample_rechnungskorrektur",
        date(2026, 2, 12)?,
        "RK-2026-000003",
    )
}

/// A German consumer's contract of 10 seats at EUR 12.00 a month, billed
/// in advance from 1 January 2026, raised to 20 seats from 15 January: the
/// 1 February run bills February at 20 seats (240.00) and the ten extra
/// seats for the rest of January pro rata, 10 × 12.00 × 17/31 = 65.806…
/// → 65.81, with a line that says what changed and for which days, in
/// German. Built through the invoice run's own rules.
pub fn mid_period_upgrade() -> Result<Invoice, DomainError> {
    use billing_domain::period::BillingInterval;
    use billing_domain::run::{CustomerRunInput, bill_customer};
    use billing_domain::subscription::{
        BillingTiming, ProrationPolicy, Subscription, SubscriptionItem,
    };
    let entity = seller()?;
    let mut account = consumer();
    account
        .invoice_emails
        .push(EmailAddress::parse("erika@example.org")?);
    let seats = item(
        "Team seats",
        Decimal::new(10, 0),
        UnitCode::month(),
        Decimal::new(1200, 2),
        TaxCategory::Standard,
    );
    let item_id = billing_domain::ids::SubscriptionItemId::new("seats");
    let mut contract = Subscription {
        id: billing_domain::ids::SubscriptionId::new("sub_sample_seats"),
        account_id: account.id.clone(),
        currency: Currency::EUR,
        start: date(2026, 1, 1)?,
        end: None,
        anchor_day: None,
        proration: ProrationPolicy::ActualDays,
        mid_period_changes: None,
        payment_method: Default::default(),
        items: vec![SubscriptionItem {
            id: item_id.clone(),
            item: seats,
            interval: BillingInterval::monthly(),
            timing: BillingTiming::InAdvance,
            anchor_month: None,
            start: None,
            end: None,
            price_changes: Vec::new(),
            quantity_changes: Vec::new(),
            billed_through: None,
            changes_settled: None,
        }],
    };
    let bill_on = |contract: &Subscription, run_date| {
        let input = CustomerRunInput {
            entity: &entity,
            account: &account,
            subscriptions: std::slice::from_ref(contract),
            pending: &[],
            run_date,
        };
        bill_customer(&input, |_, index| {
            InvoiceId::new(format!("inv_sample_seats_{run_date}_{index}"))
        })?
        .ok_or_else(|| DomainError::invalid("sample", format!("nothing due on {run_date}")))
    };
    let january = bill_on(&contract, date(2026, 1, 1)?)?;
    for advance in &january.advances {
        contract.record_progress(&advance.progress)?;
    }
    contract.change_quantity(&item_id, date(2026, 1, 15)?, Decimal::new(20, 0))?;
    let february = bill_on(&contract, date(2026, 2, 1)?)?;
    let draft = february
        .invoices
        .into_iter()
        .next()
        .ok_or_else(|| DomainError::invalid("sample", "the February run billed nothing"))?;
    Ok(draft.finalize(InvoiceNumber::new("RE-2026-000120")))
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

/// The German consumer's licence collected by SEPA direct debit: the terms
/// are the pre-notification (amount, collection date 16.02.2026 after 14
/// days' notice, creditor identifier, mandate reference, the account
/// masked), the XML says payment means 59 with BT-89 to BT-91, and there is
/// no GiroCode and no account to pay into.
pub fn direct_debit_consumer() -> Result<Invoice, DomainError> {
    use billing_domain::direct_debit::{
        CreditorIdentifier, DirectDebitScheme, Mandate, MandateReference, MandateStatus, MandateUse,
    };
    let january = period(date(2026, 1, 1)?, date(2026, 1, 31)?)?;
    let lines = vec![
        BillableLine::new(item(
            "Cloud-Buchhaltung Basis (Monatslizenz)",
            Decimal::new(1, 0),
            UnitCode::month(),
            Decimal::new(2990, 2),
            TaxCategory::Standard,
        ))
        .with_period(january),
    ];
    let mandate = Mandate {
        reference: MandateReference::parse("NL-2026-0007")?,
        creditor_identifier: CreditorIdentifier::parse("DE98ZZZ09999999999")?,
        signed_on: date(2026, 1, 5)?,
        scheme: DirectDebitScheme::Core,
        usage: MandateUse::Recurrent,
        debtor_name: "Erika Mustermann".to_owned(),
        debtor_iban: Iban::parse("DE75 5121 0800 1245 1261 99")?,
        debtor_bic: None,
        status: MandateStatus::Active,
        last_collected_on: None,
        agreed_pre_notification_days: None,
        amendments: Vec::new(),
    };
    let mut draft = draft(&seller()?, &consumer(), request("inv_sample_dd", lines))?;
    draft.collect_by_direct_debit(&mandate)?;
    Ok(draft.finalize(InvoiceNumber::new("RE-2026-000049")))
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
    let mut request = request("inv_sample_city", lines);
    // The authority's cash office books transfers by its own reference
    // (Kassenzeichen): the invoice asks for it as written, so the GiroCode
    // carries it as unstructured remittance text.
    request.references.payment_reference = Some("Kassenzeichen 5.0123.456789.1".to_owned());
    finalize(&account, request, "RE-2026-000044")
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

/// A consumer in the United States buying the subscription: an
/// electronically supplied service is taxed where the consumer lives
/// (§3a(5) UStG), so category O with the "not taxable" note and no VAT ids
/// (BR-O-02).
pub fn non_eu_consumer() -> Result<Invoice, DomainError> {
    let account = CustomerAccount {
        id: AccountId::new("acc_sample_us"),
        crm_id: CrmAccountId::new("crm_sample_us"),
        name: "John Doe".to_owned(),
        address: address(
            "350 Fifth Avenue",
            "10118",
            "New York",
            CountryCode::parse("US")?,
        ),
        invoice_emails: vec![EmailAddress::parse("john.doe@example.com")?],
        language: Language::En,
        ..consumer()
    };
    let lines = vec![
        BillableLine::new(item(
            "Cloud accounting Basis (monthly licence)",
            Decimal::new(1, 0),
            UnitCode::month(),
            Decimal::new(2990, 2),
            TaxCategory::Standard,
        ))
        .with_period(period(date(2026, 1, 1)?, date(2026, 1, 31)?)?),
    ];
    finalize(&account, request("inv_sample_us", lines), "RE-2026-000045")
}

/// A consumer in France while the seller uses the One-Stop-Shop (§18j
/// UStG): the French standard rate, 20 %.
pub fn oss_consumer_france() -> Result<Invoice, DomainError> {
    let mut entity = seller()?;
    entity.tax_rules.eu_consumer_services = Some(EuConsumerServices::Oss {
        standard_rates: EuStandardRates::european_commission(),
    });
    let account = CustomerAccount {
        id: AccountId::new("acc_sample_fr"),
        crm_id: CrmAccountId::new("crm_sample_fr"),
        name: "Marie Dupont".to_owned(),
        address: address(
            "12 rue de Rivoli",
            "75004",
            "Paris",
            CountryCode::parse("FR")?,
        ),
        invoice_emails: vec![EmailAddress::parse("marie.dupont@example.fr")?],
        language: Language::En,
        ..consumer()
    };
    let january = period(date(2026, 1, 1)?, date(2026, 1, 31)?)?;
    let lines = vec![
        BillableLine::new(item(
            "Cloud accounting Basis (monthly licence)",
            Decimal::new(1, 0),
            UnitCode::month(),
            Decimal::new(2990, 2),
            TaxCategory::Standard,
        ))
        .with_period(january),
        BillableLine::new(item(
            "Additional users",
            Decimal::new(2, 0),
            UnitCode::month(),
            Decimal::new(495, 2),
            TaxCategory::Standard,
        ))
        .with_period(january),
    ];
    finalize_by(
        &entity,
        &account,
        request("inv_sample_fr", lines),
        "RE-2026-000046",
    )
}

/// A small business under §19 UStG (tax number only, no VAT ID) billing a
/// German consumer: category E with the §19 note, no VAT.
pub fn small_business() -> Result<Invoice, DomainError> {
    let mut entity = seller()?;
    entity.identity.legal_name = "Erika Beispiel Softwareentwicklung".to_owned();
    entity.identity.vat_id = None;
    entity.tax_rules.small_business = true;
    let lines = vec![
        BillableLine::new(item(
            "Webhosting Paket S (Monatslizenz)",
            Decimal::new(1, 0),
            UnitCode::month(),
            Decimal::new(1500, 2),
            TaxCategory::Standard,
        ))
        .with_period(period(date(2026, 1, 1)?, date(2026, 1, 31)?)?),
        BillableLine::new(item(
            "Einrichtung",
            Decimal::new(2, 0),
            UnitCode::hour(),
            Decimal::new(4500, 2),
            TaxCategory::Standard,
        ))
        .with_period(period(date(2026, 1, 12)?, date(2026, 1, 12)?)?),
    ];
    finalize_by(
        &entity,
        &consumer(),
        request("inv_sample_small", lines),
        "RE-2026-000047",
    )
}

/// Hardware tokens shipped to the Austrian business with a quarter's
/// licences: the goods are a tax-free intra-EU supply (K, §4 Nr. 1 Buchst. b,
/// §6a UStG) with their delivery date and country, the licences reverse
/// charge (AE).
pub fn intra_eu_goods() -> Result<Invoice, DomainError> {
    let mut token = item(
        "Hardware security token",
        Decimal::new(10, 0),
        UnitCode::piece(),
        Decimal::new(4550, 2),
        TaxCategory::Standard,
    );
    token.kind = SupplyKind::Goods;
    token.product_code = Some(ProductCode::new("HW-TOKEN"));
    let lines = vec![
        BillableLine::new(token).with_period(period(date(2026, 1, 20)?, date(2026, 1, 20)?)?),
        BillableLine::new(item(
            "Cloud accounting Professional (quarterly licence)",
            Decimal::new(10, 0),
            UnitCode::quarter(),
            Decimal::new(8970, 2),
            TaxCategory::Standard,
        ))
        .with_period(period(date(2026, 1, 1)?, date(2026, 3, 31)?)?),
    ];
    finalize(
        &austrian_business()?,
        request("inv_sample_goods", lines),
        "RE-2026-000048",
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
        accounting: Default::default(),
        direct_debit: None,
        mail: billing_domain::seller::InvoiceMailSender {
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
        payment_date_agreed: false,
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
    finalize_by(&seller()?, account, request, number)
}

fn finalize_by(
    entity: &BillingEntity,
    account: &CustomerAccount,
    request: InvoiceRequest,
    number: &str,
) -> Result<Invoice, DomainError> {
    Ok(draft(entity, account, request)?.finalize(InvoiceNumber::new(number)))
}

/// The draft every sample starts from; a customer without an invoice
/// address gets the sample one.
fn draft(
    entity: &BillingEntity,
    account: &CustomerAccount,
    request: InvoiceRequest,
) -> Result<InvoiceDraft, DomainError> {
    let mut account = account.clone();
    if account.invoice_emails.is_empty() {
        account
            .invoice_emails
            .push(EmailAddress::parse("erika@example.org")?);
    }
    InvoiceDraft::build(entity, &account, request)
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
        charges: Vec::new(),
        payment_date_agreed: content.buyer.payment_date_agreed,
        invoice_received_on: None,
        default_notice_printed: content.default_notice,
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
