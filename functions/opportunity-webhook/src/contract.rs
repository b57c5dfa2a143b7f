//! The webhook contract: raw bytes in, a validated [`ClosedOpportunity`] out.
//!
//! Three gates, each with its own answer: bytes that are not JSON or break the
//! published schema (`docs/webhooks/opportunity-closed.schema.json`, compiled
//! into the binary so the documentation is the check) are 400 with every
//! violation as a JSON pointer; content that is well-formed but cannot be
//! billed (unknown tax category, negative quantity, wrong currency, too many
//! lines, markup or control characters) is 422, again with every field named.
//! Nothing is written before all three gates pass.

use std::sync::LazyLock;

use billing_domain::DomainError;
use billing_domain::direct_debit::NewMandate;
use billing_domain::ids::{AccountId, BillingEntityId, CrmAccountId, OpportunityId, ProductCode};
use billing_domain::item::{Item, UnitCode};
use billing_domain::money::{Currency, Money};
use billing_domain::party::{
    CountryCode, CustomerAccount, CustomerKind, EasCode, ElectronicAddress, EmailAddress, Language,
    LeitwegId, PostalAddress, VatId,
};
use billing_domain::period::{BillingInterval, IntervalUnit, ServicePeriod};
use billing_domain::subscription::BillingTiming;
use billing_domain::tax::{Exemption, TaxCategory};
use billing_lambda::FieldError;
use billing_store::OpportunityKey;
use chrono::{DateTime, FixedOffset, NaiveDate};
use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::error::{WebhookError, domain_field_pointer};

/// The published schema, enforced as written.
pub const SCHEMA: &str = include_str!("../../../docs/webhooks/opportunity-closed.schema.json");

/// At most this many field errors are returned; the rest add nothing.
const MAX_FIELD_ERRORS: usize = 50;

static VALIDATOR: LazyLock<Result<jsonschema::Validator, String>> = LazyLock::new(|| {
    let schema: Value = serde_json::from_str(SCHEMA).map_err(|e| e.to_string())?;
    jsonschema::options()
        .should_validate_formats(true)
        .build(&schema)
        .map_err(|e| e.to_string())
});

/// Compile the schema at cold start, so a broken build fails before serving.
pub fn check_schema() -> Result<(), String> {
    VALIDATOR.as_ref().map(|_| ()).map_err(Clone::clone)
}

/// Invoice one-off items now, or park them for the next recurring invoice.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BillingOption {
    /// Invoice at once (the default).
    #[default]
    InvoiceNow,
    /// Park as pending charges of the account.
    WithNextRun,
}

/// How the deal's invoices are paid: by transfer (the default) or collected
/// by SEPA direct debit under the customer's mandate: the one-off invoice at
/// once (`InvoiceDraft::collect_under_first_usable`), the contract's invoices
/// by each run (the contract records it).
pub use billing_domain::subscription::PaymentMethod;

/// The customer as the CRM describes it, validated; the service adds our id.
#[derive(Debug, Clone, PartialEq)]
pub struct AccountData {
    /// The CRM's account id.
    pub crm_id: CrmAccountId,
    /// Legal name.
    pub name: String,
    /// Billing address.
    pub address: PostalAddress,
    /// VAT ID, if any.
    pub vat_id: Option<VatId>,
    /// Invoice recipients.
    pub invoice_emails: Vec<EmailAddress>,
    /// Language of documents and e-mails.
    pub language: Language,
    /// Billing currency.
    pub currency: Currency,
    /// Payment terms in days.
    pub payment_terms_days: u16,
    /// The deal records that the payment terms were agreed with the
    /// customer (§286(2) BGB: default without a notice).
    pub payment_date_agreed: bool,
    /// Business or consumer.
    pub kind: CustomerKind,
    /// Leitweg-ID for public-sector customers.
    pub leitweg_id: Option<LeitwegId>,
    /// Where the customer receives e-invoices (BT-49); present whenever a
    /// Leitweg-ID is.
    pub electronic_address: Option<ElectronicAddress>,
    /// The customer's debtor account number as the CRM knows it (the
    /// personal account in the tax advisor's books), recorded once and
    /// kept; the service checks it against the seller's range.
    pub debtor_account: Option<u32>,
    /// SEPA mandates the customer signed, as the staff API and the account
    /// import take them (checked against the seller and the store while
    /// planning: `OpportunityService`).
    pub mandates: Vec<NewMandate>,
}

impl AccountData {
    /// The account as stored: the CRM's data under our id and seller.
    pub fn to_account(&self, id: AccountId, billing_entity_id: BillingEntityId) -> CustomerAccount {
        CustomerAccount {
            id,
            crm_id: self.crm_id.clone(),
            billing_entity_id,
            name: self.name.clone(),
            address: self.address.clone(),
            vat_id: self.vat_id.clone(),
            invoice_emails: self.invoice_emails.clone(),
            language: self.language,
            currency: self.currency,
            payment_terms_days: self.payment_terms_days,
            payment_date_agreed: self.payment_date_agreed,
            kind: self.kind,
            leitweg_id: self.leitweg_id.clone(),
            electronic_address: self.electronic_address.clone(),
        }
    }
}

/// A one-off item with its date of supply.
#[derive(Debug, Clone, PartialEq)]
pub struct OneOffLine {
    /// Position in the request's `items`.
    pub index: usize,
    /// What is sold.
    pub item: Item,
    /// When it was supplied (the close date if the CRM gave none).
    pub period: ServicePeriod,
}

/// A recurring item for the customer's contract.
#[derive(Debug, Clone, PartialEq)]
pub struct RecurringLine {
    /// Position in the request's `items`.
    pub index: usize,
    /// What is sold, price per period.
    pub item: Item,
    /// How often it is billed.
    pub interval: BillingInterval,
    /// In advance or in arrears.
    pub timing: BillingTiming,
    /// First day of service.
    pub start: NaiveDate,
    /// Last day of service, if fixed.
    pub end: Option<NaiveDate>,
}

/// A closed opportunity that passed every gate.
#[derive(Debug, Clone, PartialEq)]
pub struct ClosedOpportunity {
    /// Identity across retries: `<source_system>/<crm_org_id>` and the id.
    pub key: OpportunityKey,
    /// The CRM's opportunity id.
    pub opportunity_id: OpportunityId,
    /// When the CRM last changed it.
    pub last_modified: DateTime<FixedOffset>,
    /// Date the deal was won.
    pub close_date: NaiveDate,
    /// The deal's currency (equal to the account's).
    pub currency: Currency,
    /// Purchase-order reference.
    pub purchase_order: Option<String>,
    /// Invoice now or with the next run.
    pub billing_option: BillingOption,
    /// Transfer or direct debit.
    pub payment_method: PaymentMethod,
    /// The CRM contract recurring items belong to.
    pub contract_key: String,
    /// The customer.
    pub account: AccountData,
    /// One-off items.
    pub one_off: Vec<OneOffLine>,
    /// Recurring items.
    pub recurring: Vec<RecurringLine>,
}

#[derive(Deserialize)]
struct Body {
    source_system: String,
    crm_org_id: String,
    opportunity_id: String,
    last_modified: String,
    close_date: String,
    currency: String,
    #[serde(default)]
    purchase_order: Option<String>,
    #[serde(default)]
    billing_option: BillingOption,
    #[serde(default)]
    payment_method: PaymentMethod,
    #[serde(default)]
    contract_id: Option<String>,
    account: AccountBody,
    items: Vec<ItemBody>,
}

#[derive(Deserialize)]
struct AccountBody {
    crm_id: String,
    name: String,
    address: AddressBody,
    #[serde(default)]
    vat_id: Option<String>,
    invoice_emails: Vec<String>,
    language: String,
    currency: String,
    kind: String,
    #[serde(default)]
    payment_terms_days: Option<Value>,
    #[serde(default)]
    payment_date_agreed: bool,
    #[serde(default)]
    leitweg_id: Option<String>,
    #[serde(default)]
    electronic_address: Option<ElectronicAddressBody>,
    #[serde(default)]
    debtor_account: Option<Value>,
    #[serde(default)]
    mandates: Vec<Value>,
}

#[derive(Deserialize)]
struct ElectronicAddressBody {
    scheme: String,
    value: String,
}

#[derive(Deserialize)]
struct AddressBody {
    street: String,
    #[serde(default)]
    additional_line: Option<String>,
    #[serde(default)]
    postal_code: Option<String>,
    city: String,
    country: String,
}

#[derive(Deserialize)]
struct ItemBody {
    #[serde(default)]
    product_code: Option<String>,
    description: String,
    quantity: Value,
    #[serde(default)]
    unit: Option<String>,
    unit_price: Value,
    tax_category: String,
    #[serde(default)]
    exemption_reason: Option<String>,
    #[serde(default)]
    service_date: Option<String>,
    #[serde(default)]
    service_period: Option<PeriodBody>,
    #[serde(default)]
    recurring: Option<RecurringBody>,
}

#[derive(Deserialize)]
struct PeriodBody {
    start: String,
    end: String,
}

#[derive(Deserialize)]
struct RecurringBody {
    billing_interval: Value,
    #[serde(default)]
    timing: Option<String>,
    start_date: String,
    #[serde(default)]
    end_date: Option<String>,
}

/// Payment terms when the CRM sends none.
pub const DEFAULT_PAYMENT_TERMS_DAYS: u16 = 14;

/// How far before the close date a recurring item may start: catching up a
/// quarter is normal, years of back-billing are almost surely a typo.
pub const MAX_BACKDATING_DAYS: i64 = 366;

/// Parse and validate a request body. `max_lines` is the billing entity's
/// line limit per invoice.
pub fn parse(body: &[u8], max_lines: usize) -> Result<ClosedOpportunity, WebhookError> {
    let value: Value = serde_json::from_slice(body).map_err(|e| {
        WebhookError::Malformed(vec![FieldError::new("", format!("not valid JSON: {e}"))])
    })?;
    let validator = VALIDATOR.as_ref().map_err(|e| {
        WebhookError::Malformed(vec![FieldError::new(
            "",
            format!("schema unavailable: {e}"),
        )])
    })?;
    let violations: Vec<FieldError> = validator
        .iter_errors(&value)
        .take(MAX_FIELD_ERRORS)
        .map(|e| FieldError::new(e.instance_path().to_string(), e.masked().to_string()))
        .collect();
    if !violations.is_empty() {
        return Err(WebhookError::Malformed(violations));
    }
    let mut unsafe_text = Vec::new();
    find_unsafe_text(&value, &mut String::new(), &mut unsafe_text);
    if !unsafe_text.is_empty() {
        unsafe_text.truncate(MAX_FIELD_ERRORS);
        return Err(WebhookError::Unprocessable(unsafe_text));
    }
    let body: Body = serde_json::from_value(value)
        .map_err(|e| WebhookError::Malformed(vec![FieldError::new("", e.to_string())]))?;
    Checks::default().opportunity(body, max_lines)
}

/// SHA-256 of what the deal means, not how it was spelled: computed from the
/// validated content with decimals normalized (`2` = `2.0` = `"2.00"`),
/// absent and `null` alike, keys sorted, `last_modified` left out. A CRM that
/// re-serializes the same deal differently is still retrying.
impl ClosedOpportunity {
    /// See [`fingerprint`]: equal for a retry, different for a changed deal.
    pub fn fingerprint(&self) -> String {
        fingerprint(self)
    }
}

fn fingerprint(opportunity: &ClosedOpportunity) -> String {
    let normalized = |item: &Item| {
        let mut item = item.clone();
        item.quantity = item.quantity.normalize();
        item.unit_price = Money::new(
            item.unit_price.amount().normalize(),
            item.unit_price.currency(),
        );
        serde_json::to_value(item).unwrap_or(Value::Null)
    };
    let account = &opportunity.account;
    let content = serde_json::json!({
        "key": [&opportunity.key.source, &opportunity.key.opportunity_id],
        "close_date": opportunity.close_date,
        "currency": opportunity.currency.code(),
        "purchase_order": opportunity.purchase_order.as_deref().map(str::trim),
        "billing_option": format!("{:?}", opportunity.billing_option),
        "contract": &opportunity.contract_key,
        "account": {
            "crm_id": &account.crm_id,
            "name": account.name.trim(),
            "address": &account.address,
            "vat_id": &account.vat_id,
            "invoice_emails": &account.invoice_emails,
            "language": account.language,
            "currency": account.currency.code(),
            "payment_terms_days": account.payment_terms_days,
            "kind": account.kind,
            "leitweg_id": &account.leitweg_id,
        },
        "one_off": opportunity.one_off.iter().map(|l| serde_json::json!({
            "index": l.index, "item": normalized(&l.item), "period": l.period,
        })).collect::<Vec<_>>(),
        "recurring": opportunity.recurring.iter().map(|l| serde_json::json!({
            "index": l.index, "item": normalized(&l.item), "interval": l.interval,
            "timing": l.timing, "start": l.start, "end": l.end,
        })).collect::<Vec<_>>(),
    });
    let mut content = content;
    // Added after deals were stored: only present when given, so a retry
    // of a deal stored before keeps its fingerprint.
    if let Some(address) = &account.electronic_address {
        content["account"]["electronic_address"] = serde_json::json!(address);
    }
    if account.payment_date_agreed {
        content["account"]["payment_date_agreed"] = Value::Bool(true);
    }
    if let Some(number) = account.debtor_account {
        content["account"]["debtor_account"] = serde_json::json!(number);
    }
    if !account.mandates.is_empty() {
        content["account"]["mandates"] = serde_json::json!(account.mandates);
    }
    if opportunity.payment_method == PaymentMethod::DirectDebit {
        content["payment_method"] = Value::from("direct_debit");
    }
    let mut canonical = String::new();
    write_canonical(&content, &mut canonical);
    hex::encode(Sha256::digest(canonical.as_bytes()))
}

fn write_canonical(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(key.clone()).to_string());
                out.push(':');
                if let Some(v) = map.get(key) {
                    write_canonical(v, out);
                }
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

/// Control characters (tab and newline allowed) and HTML-like markup have
/// no place on an invoice; refusing them here keeps them out of PDFs,
/// e-mails and the CRM's view of our answers.
fn find_unsafe_text(value: &Value, pointer: &mut String, found: &mut Vec<FieldError>) {
    match value {
        Value::String(text) => {
            if text
                .chars()
                .any(|c| c.is_control() && c != '\n' && c != '\t')
            {
                found.push(FieldError::new(
                    pointer.clone(),
                    "contains control characters",
                ));
            } else if has_markup(text) {
                found.push(FieldError::new(
                    pointer.clone(),
                    "contains markup (<…>), which invoices cannot carry",
                ));
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                let len = pointer.len();
                pointer.push_str(&format!("/{i}"));
                find_unsafe_text(item, pointer, found);
                pointer.truncate(len);
            }
        }
        Value::Object(map) => {
            for (key, item) in map {
                let len = pointer.len();
                pointer.push('/');
                pointer.push_str(&key.replace('~', "~0").replace('/', "~1"));
                find_unsafe_text(item, pointer, found);
                pointer.truncate(len);
            }
        }
        _ => {}
    }
}

fn has_markup(text: &str) -> bool {
    text.as_bytes()
        .windows(2)
        .any(|w| w[0] == b'<' && (w[1].is_ascii_alphabetic() || matches!(w[1], b'/' | b'!' | b'?')))
}

/// Collects every field error instead of stopping at the first.
#[derive(Default)]
struct Checks {
    errors: Vec<FieldError>,
    close_date: NaiveDate,
}

impl Checks {
    fn check<T>(&mut self, pointer: &str, result: Result<T, DomainError>) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(DomainError::Invalid { message, .. }) => {
                self.fail(pointer, message);
                None
            }
        }
    }

    fn fail(&mut self, pointer: &str, message: impl Into<String>) {
        if self.errors.len() < MAX_FIELD_ERRORS {
            self.errors.push(FieldError::new(pointer, message));
        }
    }

    fn date(&mut self, pointer: &str, text: &str) -> Option<NaiveDate> {
        match NaiveDate::parse_from_str(text, "%Y-%m-%d") {
            Ok(date) => Some(date),
            Err(_) => {
                self.fail(pointer, "not a date (YYYY-MM-DD)");
                None
            }
        }
    }

    fn opportunity(
        mut self,
        body: Body,
        max_lines: usize,
    ) -> Result<ClosedOpportunity, WebhookError> {
        let opportunity_id = self.check(
            "/opportunity_id",
            OpportunityId::parse(&body.opportunity_id),
        );
        let last_modified = DateTime::parse_from_rfc3339(&body.last_modified)
            .map_err(|_| self.fail("/last_modified", "not an RFC 3339 timestamp"))
            .ok();
        let close_date = self.date("/close_date", &body.close_date);
        if let Some(date) = close_date {
            self.close_date = date;
        }
        let currency = self.check("/currency", Currency::from_code(&body.currency));
        let account = self.account(body.account);
        if let (Some(deal), Some(account)) = (currency, &account)
            && deal != account.currency
        {
            self.fail(
                "/currency",
                format!(
                    "deal currency {} differs from the account's currency {}",
                    deal.code(),
                    account.currency.code()
                ),
            );
        }
        if body.items.len() > max_lines {
            self.fail(
                "/items",
                format!(
                    "{} items; an invoice has at most {max_lines} lines",
                    body.items.len()
                ),
            );
        }
        let mut one_off = Vec::new();
        let mut recurring = Vec::new();
        if let (Some(currency), Some(close_date)) = (currency, close_date) {
            for (index, item) in body.items.into_iter().enumerate() {
                self.item(
                    index,
                    item,
                    currency,
                    close_date,
                    &mut one_off,
                    &mut recurring,
                );
            }
        }
        // Parked charges join whatever invoice the next run issues, which
        // the contract's payment method decides, not this deal.
        if body.payment_method == PaymentMethod::DirectDebit
            && body.billing_option == BillingOption::WithNextRun
        {
            self.fail(
                "/payment_method",
                "direct_debit is for invoice_now deals: parked charges are paid \
                 as the invoice of the next run they join",
            );
        }
        let contract_key = body
            .contract_id
            .unwrap_or_else(|| body.opportunity_id.clone());
        match (opportunity_id, last_modified, close_date, currency, account) {
            (
                Some(opportunity_id),
                Some(last_modified),
                Some(close_date),
                Some(currency),
                Some(account),
            ) if self.errors.is_empty() => Ok(ClosedOpportunity {
                key: OpportunityKey {
                    source: format!("{}/{}", body.source_system, body.crm_org_id),
                    opportunity_id: body.opportunity_id,
                },
                opportunity_id,
                last_modified,
                close_date,
                currency,
                purchase_order: body.purchase_order,
                billing_option: body.billing_option,
                payment_method: body.payment_method,
                contract_key,
                account,
                one_off,
                recurring,
            }),
            _ => Err(WebhookError::Unprocessable(self.errors)),
        }
    }

    fn account(&mut self, body: AccountBody) -> Option<AccountData> {
        let body_mandates = body.mandates.len();
        let crm_id = self.check("/account/crm_id", CrmAccountId::parse(&body.crm_id));
        let country = self.check(
            "/account/address/country",
            CountryCode::parse(&body.address.country),
        );
        let vat_id = match body
            .vat_id
            .as_deref()
            .map(str::trim)
            .filter(|v| !v.is_empty())
        {
            Some(text) => self.check("/account/vat_id", VatId::parse(text)).map(Some),
            None => Some(None),
        };
        let leitweg_id = match body
            .leitweg_id
            .as_deref()
            .map(str::trim)
            .filter(|v| !v.is_empty())
        {
            Some(text) => self
                .check("/account/leitweg_id", LeitwegId::parse(text))
                .map(Some),
            None => Some(None),
        };
        let electronic_address = match &body.electronic_address {
            None => Some(None),
            Some(address) => self
                .check(
                    "/account/electronic_address/scheme",
                    EasCode::parse(&address.scheme),
                )
                .and_then(|scheme| {
                    self.check(
                        "/account/electronic_address/value",
                        ElectronicAddress::new(scheme, &address.value),
                    )
                })
                .map(Some),
        };
        let mut emails = Vec::new();
        for (i, email) in body.invoice_emails.iter().enumerate() {
            if let Some(email) = self.check(
                &format!("/account/invoice_emails/{i}"),
                EmailAddress::parse(email),
            ) {
                emails.push(email);
            }
        }
        let currency = self.check("/account/currency", Currency::from_code(&body.currency));
        let language = match body.language.as_str() {
            "de" => Language::De,
            _ => Language::En,
        };
        let kind = match body.kind.as_str() {
            "consumer" => CustomerKind::Consumer,
            _ => CustomerKind::Business,
        };
        // JSON Schema counts 30.0 as an integer; so do we.
        let payment_terms_days = match &body.payment_terms_days {
            None | Some(Value::Null) => Some(DEFAULT_PAYMENT_TERMS_DAYS),
            Some(value) => match value.as_f64() {
                Some(days) if days.fract() == 0.0 && (0.0..=365.0).contains(&days) => {
                    Some(days as u16)
                }
                _ => {
                    self.fail(
                        "/account/payment_terms_days",
                        "a whole number of days from 0 to 365",
                    );
                    None
                }
            },
        };
        // JSON Schema counts 10001.0 as an integer; so do we.
        let debtor_account = match &body.debtor_account {
            None | Some(Value::Null) => Some(None),
            Some(value) => match value.as_f64() {
                Some(number)
                    if number.fract() == 0.0 && (1.0..=f64::from(u32::MAX)).contains(&number) =>
                {
                    Some(Some(number as u32))
                }
                _ => {
                    self.fail(
                        "/account/debtor_account",
                        "a debtor account number (a positive whole number)",
                    );
                    None
                }
            },
        };
        let debtor_account = debtor_account?;
        let (crm_id, country, vat_id, leitweg_id, currency, payment_terms_days) = (
            crm_id?,
            country?,
            vat_id?,
            leitweg_id?,
            currency?,
            payment_terms_days?,
        );
        let electronic_address = electronic_address?;
        if leitweg_id.is_some() && electronic_address.is_none() {
            self.fail(
                "/account/electronic_address",
                "a customer with a Leitweg-ID receives XRechnung, which needs the customer's \
                 electronic address (BT-49), e.g. scheme 0204 with the Leitweg-ID",
            );
            return None;
        }
        if emails.len() != body.invoice_emails.len() {
            return None;
        }
        let mut mandates = Vec::with_capacity(body.mandates.len());
        for (i, value) in body.mandates.into_iter().enumerate() {
            // The domain types check each field (reference characters,
            // creditor identifier, IBAN, BIC) as the staff API's body does.
            match serde_path_to_error::deserialize::<_, NewMandate>(value) {
                Ok(mandate) => mandates.push(mandate),
                Err(error) => {
                    let field = error.path().to_string();
                    let pointer = if field == "." {
                        format!("/account/mandates/{i}")
                    } else {
                        domain_field_pointer(&format!("/account/mandates/{i}"), &field)
                    };
                    self.fail(&pointer, error.into_inner().to_string());
                }
            }
        }
        if mandates.len() != body_mandates {
            return None;
        }
        let address = PostalAddress {
            street: body.address.street,
            additional_line: body
                .address
                .additional_line
                .filter(|l| !l.trim().is_empty()),
            postal_code: body.address.postal_code.filter(|p| !p.trim().is_empty()),
            city: body.address.city,
            country,
        };
        if let Some(vat_id) = &vat_id {
            self.check("/account/vat_id", vat_id.check_country(country, "vat_id"))?;
        }
        self.check("/account/address", address.validate("address"))?;
        Some(AccountData {
            crm_id,
            name: body.name,
            address,
            vat_id,
            invoice_emails: emails,
            language,
            currency,
            payment_terms_days,
            payment_date_agreed: body.payment_date_agreed,
            kind,
            leitweg_id,
            electronic_address,
            debtor_account,
            mandates,
        })
    }

    fn item(
        &mut self,
        index: usize,
        body: ItemBody,
        currency: Currency,
        close_date: NaiveDate,
        one_off: &mut Vec<OneOffLine>,
        recurring: &mut Vec<RecurringLine>,
    ) {
        let at = format!("/items/{index}");
        if body.description.trim().is_empty() {
            self.fail(&format!("{at}/description"), "must not be blank");
        }
        let quantity = self.decimal(&format!("{at}/quantity"), &body.quantity);
        if quantity.is_some_and(|q| q.is_sign_negative() && !q.is_zero()) {
            self.fail(
                &format!("{at}/quantity"),
                "must not be negative; refunds go through a credit note",
            );
        }
        let unit_price = self.decimal(&format!("{at}/unit_price"), &body.unit_price);
        if unit_price.is_some_and(|p| p.is_sign_negative() && !p.is_zero()) {
            self.fail(
                &format!("{at}/unit_price"),
                "must not be negative; discounts go through a credit note",
            );
        }
        let unit = match body.unit.as_deref() {
            Some(code) => self.check(&format!("{at}/unit"), UnitCode::parse(code)),
            None => Some(UnitCode::piece()),
        };
        let tax_category = match (body.tax_category.as_str(), body.exemption_reason) {
            ("standard", _) => Some(TaxCategory::Standard),
            ("reduced", _) => Some(TaxCategory::Reduced),
            ("zero", _) => Some(TaxCategory::Zero),
            ("exempt", Some(reason)) if !reason.trim().is_empty() => {
                Some(TaxCategory::Exempt(Exemption {
                    reason,
                    reason_code: None,
                }))
            }
            ("exempt", _) => {
                self.fail(
                    &format!("{at}/exemption_reason"),
                    "an exempt item needs the reason the invoice must state",
                );
                None
            }
            (other, _) => {
                self.fail(
                    &format!("{at}/tax_category"),
                    format!(
                        "unknown tax category `{other}`; use standard, reduced, zero or exempt"
                    ),
                );
                None
            }
        };
        let product_code = match body
            .product_code
            .as_deref()
            .filter(|c| !c.trim().is_empty())
        {
            Some(code) => self
                .check(&format!("{at}/product_code"), ProductCode::parse(code))
                .map(Some),
            None => Some(None),
        };
        let (Some(quantity), Some(unit_price), Some(unit), Some(tax_category), Some(product_code)) =
            (quantity, unit_price, unit, tax_category, product_code)
        else {
            return;
        };
        let item = Item {
            description: body.description,
            quantity,
            unit,
            unit_price: Money::new(unit_price, currency),
            tax_category,
            // A contract bills a subscription: services.
            kind: billing_domain::tax::SupplyKind::Services,
            product_code,
        };
        if self
            .check(&at, item.validate_at(currency, || at.clone()))
            .is_none()
        {
            return;
        }
        // Every item must be billable, also those billed later (parked or
        // recurring): quantity × price must fit an amount.
        if self
            .check(&format!("{at}/quantity"), item.net_amount())
            .is_none()
        {
            return;
        }
        match body.recurring {
            Some(recurring_body) => {
                if let Some(line) = self.recurring(index, item, recurring_body) {
                    recurring.push(line);
                }
            }
            None => {
                let period = match (body.service_period, body.service_date) {
                    (Some(period), _) => {
                        let start = self.date(&format!("{at}/service_period/start"), &period.start);
                        let end = self.date(&format!("{at}/service_period/end"), &period.end);
                        match (start, end) {
                            (Some(start), Some(end)) => self.check(
                                &format!("{at}/service_period"),
                                ServicePeriod::new(start, end),
                            ),
                            _ => None,
                        }
                    }
                    (None, Some(date)) => {
                        self.date(&format!("{at}/service_date"), &date)
                            .and_then(|d| {
                                self.check(&format!("{at}/service_date"), ServicePeriod::new(d, d))
                            })
                    }
                    (None, None) => ServicePeriod::new(close_date, close_date).ok(),
                };
                if let Some(period) = period {
                    one_off.push(OneOffLine {
                        index,
                        item,
                        period,
                    });
                }
            }
        }
    }

    fn recurring(
        &mut self,
        index: usize,
        item: Item,
        body: RecurringBody,
    ) -> Option<RecurringLine> {
        let at = format!("/items/{index}/recurring");
        let interval = match &body.billing_interval {
            Value::String(name) => match name.as_str() {
                "monthly" => Some(BillingInterval::monthly()),
                "quarterly" => Some(BillingInterval::quarterly()),
                "half_yearly" => Some(BillingInterval::half_yearly()),
                "yearly" => Some(BillingInterval::yearly()),
                other => {
                    self.fail(
                        &format!("{at}/billing_interval"),
                        format!("unknown interval `{other}`"),
                    );
                    None
                }
            },
            Value::Object(map) => {
                let count = map
                    .get("every")
                    .and_then(Value::as_u64)
                    .and_then(|c| u32::try_from(c).ok());
                let unit = match map.get("unit").and_then(Value::as_str) {
                    Some("day") => Some(IntervalUnit::Day),
                    Some("week") => Some(IntervalUnit::Week),
                    Some("month") => Some(IntervalUnit::Month),
                    Some("year") => Some(IntervalUnit::Year),
                    _ => None,
                };
                match (count, unit) {
                    (Some(count), Some(unit)) => self.check(
                        &format!("{at}/billing_interval"),
                        BillingInterval::every(count, unit),
                    ),
                    _ => {
                        self.fail(
                            &format!("{at}/billing_interval"),
                            "needs every (1-999) and unit",
                        );
                        None
                    }
                }
            }
            _ => {
                self.fail(&format!("{at}/billing_interval"), "not an interval");
                None
            }
        };
        let timing = match body.timing.as_deref() {
            Some("in_arrears") => BillingTiming::InArrears,
            _ => BillingTiming::InAdvance,
        };
        let start = self.date(&format!("{at}/start_date"), &body.start_date);
        let end = match body.end_date.as_deref() {
            Some(text) => self.date(&format!("{at}/end_date"), text).map(Some),
            None => Some(None),
        };
        let (interval, start, end) = (interval?, start?, end?);
        if (self.close_date - start).num_days() > MAX_BACKDATING_DAYS {
            self.fail(
                &format!("{at}/start_date"),
                format!(
                    "starts more than {MAX_BACKDATING_DAYS} days before the close date; \
                     that would back-bill every period since (a typo?)"
                ),
            );
            return None;
        }
        if end.is_some_and(|end| end < start) {
            self.fail(&format!("{at}/end_date"), "ends before it starts");
            return None;
        }
        Some(RecurringLine {
            index,
            item,
            interval,
            timing,
            start,
            end,
        })
    }

    /// A decimal from a string (exact) or a JSON number (up to 15
    /// significant digits, beyond which binary floating point loses digits).
    fn decimal(&mut self, pointer: &str, value: &Value) -> Option<Decimal> {
        let text = match value {
            Value::String(text) => text.clone(),
            Value::Number(number) => {
                let text = number.to_string();
                let digits = text
                    .trim_start_matches('-')
                    .split(['e', 'E'])
                    .next()
                    .unwrap_or_default()
                    .chars()
                    .filter(char::is_ascii_digit)
                    .skip_while(|c| *c == '0')
                    .count();
                if digits > 15 || text.contains(['e', 'E']) {
                    self.fail(
                        pointer,
                        "too many digits for a JSON number; send it as a decimal string",
                    );
                    return None;
                }
                text
            }
            _ => {
                self.fail(pointer, "not a decimal");
                return None;
            }
        };
        // Exact: a value with more digits than a Decimal holds is refused,
        // never silently rounded.
        match Decimal::from_str_exact(&text) {
            Ok(decimal) => Some(decimal),
            Err(_) => {
                self.fail(
                    pointer,
                    "out of range or too precise for an amount or quantity",
                );
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn example() -> Value {
        serde_json::from_str(include_str!(
            "../../../docs/webhooks/example-opportunity.json"
        ))
        .unwrap()
    }

    fn parse_value(value: &Value) -> Result<ClosedOpportunity, WebhookError> {
        parse(&serde_json::to_vec(value).unwrap(), 500)
    }

    fn pointers(error: WebhookError) -> Vec<String> {
        match error {
            WebhookError::Malformed(f) | WebhookError::Unprocessable(f) => {
                f.into_iter().map(|f| f.pointer).collect()
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn decimals_are_exact_or_refused() {
        let mut checks = Checks::default();
        assert_eq!(
            checks.decimal("/q", &json_str("1200.50")),
            Some(Decimal::new(120050, 2))
        );
        assert_eq!(
            checks.decimal("/q", &serde_json::json!(2.5)),
            Some(Decimal::new(25, 1))
        );
        assert_eq!(
            checks.decimal("/q", &json_str("9999999999999999999999999999.999999999999")),
            None
        );
        assert_eq!(
            checks.decimal("/q", &serde_json::json!(1234567890.1234567)),
            None
        );
        assert_eq!(checks.errors.len(), 2);
    }

    fn json_str(text: &str) -> Value {
        Value::String(text.to_owned())
    }

    #[test]
    fn markup_is_told_apart_from_comparisons() {
        assert!(has_markup("<script>alert(1)</script>"));
        assert!(has_markup("x</b>"));
        assert!(has_markup("<!-- hidden -->"));
        assert!(!has_markup("Lizenzen < 10 Nutzer"));
        assert!(!has_markup("a<5 and b>3"));
    }

    #[test]
    fn the_fingerprint_ignores_spelling_but_not_content() {
        let base = parse_value(&example()).unwrap().fingerprint();
        let mut respelled = example();
        respelled["items"][0]["quantity"] = serde_json::json!(2);
        respelled["items"][0]["unit_price"] = json_str("1200.000");
        respelled["last_modified"] = json_str("2027-01-01T00:00:00Z");
        respelled["account"]["vat_id"] = json_str("DE811907980");
        respelled["account"]["leitweg_id"] = Value::Null;
        assert_eq!(parse_value(&respelled).unwrap().fingerprint(), base);
        let mut changed = example();
        changed["items"][0]["quantity"] = json_str("3");
        assert_ne!(parse_value(&changed).unwrap().fingerprint(), base);
    }

    fn with_mandate(mandate: Value) -> Value {
        let mut body = example();
        body["account"]["mandates"] = serde_json::json!([mandate]);
        body
    }

    fn signed_mandate() -> Value {
        serde_json::json!({
            "reference": "MNDT-CRM-0001",
            "signed_on": "2026-01-15",
            "scheme": "CORE",
            "usage": "recurrent",
            "debtor_name": "Muster Handel GmbH",
            "debtor_iban": "DE89 3704 0044 0532 0130 00",
            "debtor_bic": null
        })
    }

    #[test]
    fn a_deal_brings_the_customers_mandates_and_they_count_in_the_fingerprint() {
        let plain = parse_value(&example()).unwrap();
        assert!(plain.account.mandates.is_empty());
        let with = parse_value(&with_mandate(signed_mandate())).unwrap();
        let [mandate] = with.account.mandates.as_slice() else {
            panic!("one mandate: {:?}", with.account.mandates);
        };
        assert_eq!(mandate.reference.as_str(), "MNDT-CRM-0001");
        assert_eq!(mandate.debtor_iban.as_str(), "DE89370400440532013000");
        assert_eq!(mandate.creditor_identifier, None, "the seller's by default");
        assert_ne!(plain.fingerprint(), with.fingerprint());
    }

    #[test]
    fn direct_debit_is_for_deals_invoiced_now_and_their_contracts() {
        let mut one_off = example();
        let first = one_off["items"][0].clone();
        one_off["items"] = serde_json::json!([first]);
        one_off["payment_method"] = json_str("direct_debit");
        let parsed = parse_value(&one_off).unwrap();
        assert_eq!(parsed.payment_method, PaymentMethod::DirectDebit);
        assert_ne!(
            parsed.fingerprint(),
            parse_value(&{
                let mut transfer = one_off.clone();
                transfer["payment_method"] = json_str("transfer");
                transfer
            })
            .unwrap()
            .fingerprint()
        );
        // A contract may name it (its runs collect); the mandate is checked
        // against the store, not here.
        let mut with_contract = example();
        with_contract["payment_method"] = json_str("direct_debit");
        assert_eq!(
            parse_value(&with_contract).unwrap().payment_method,
            PaymentMethod::DirectDebit
        );
        let mut parked = one_off.clone();
        parked["billing_option"] = json_str("with_next_run");
        assert_eq!(
            pointers(parse_value(&parked).unwrap_err()),
            ["/payment_method"]
        );
        let mut unknown = one_off;
        unknown["payment_method"] = json_str("cheque");
        assert_eq!(
            pointers(parse_value(&unknown).unwrap_err()),
            ["/payment_method"]
        );
    }

    #[test]
    fn mandate_refusals_name_the_field() {
        // Schema: a missing field, an unknown scheme, an unknown field.
        // Domain types: a wrong IBAN check digit, a reference outside the
        // SEPA characters, a creditor identifier with wrong check digits.
        // (`None`: the field is left out.)
        let cases = [
            ("debtor_iban", None, "/account/mandates/0"),
            ("scheme", Some("COR1"), "/account/mandates/0/scheme"),
            (
                "iban",
                Some("DE89370400440532013000"),
                "/account/mandates/0",
            ),
            (
                "debtor_iban",
                Some("DE88370400440532013000"),
                "/account/mandates/0/debtor_iban",
            ),
            (
                "reference",
                Some("MNDT_ÄÖ"),
                "/account/mandates/0/reference",
            ),
            (
                "creditor_identifier",
                Some("DE97ZZZ09999999999"),
                "/account/mandates/0/creditor_identifier",
            ),
        ];
        for (field, value, pointer) in cases {
            let mut mandate = signed_mandate();
            match value {
                Some(value) => mandate[field] = json_str(value),
                None => {
                    mandate.as_object_mut().unwrap().remove(field);
                }
            }
            assert_eq!(
                pointers(parse_value(&with_mandate(mandate)).unwrap_err()),
                [pointer],
                "{field}"
            );
        }
    }

    #[test]
    fn a_public_sector_customer_brings_its_electronic_address() {
        let mut body = example();
        body["account"]["leitweg_id"] = json_str("04011000-1234512345-06");
        body["account"]["electronic_address"] =
            serde_json::json!({"scheme": "0204", "value": "04011000-1234512345-06"});
        let account = parse_value(&body).unwrap().account;
        let address = account.electronic_address.clone().unwrap();
        assert_eq!(address.scheme().as_str(), "0204");
        assert_eq!(address.value(), "04011000-1234512345-06");
        let stored = account.to_account(AccountId::new("acc_1"), BillingEntityId::new("default"));
        assert_eq!(stored.electronic_address, Some(address));
        assert!(stored.validate().is_ok());
    }

    #[test]
    fn electronic_address_refusals_name_the_field() {
        let with_leitweg = || {
            let mut body = example();
            body["account"]["leitweg_id"] = json_str("04011000-1234512345-06");
            body
        };
        // A Leitweg-ID means XRechnung, which cannot go without BT-49.
        assert_eq!(
            pointers(parse_value(&with_leitweg()).unwrap_err()),
            vec!["/account/electronic_address"]
        );
        let mut body = with_leitweg();
        body["account"]["electronic_address"] = Value::Null;
        assert_eq!(
            pointers(parse_value(&body).unwrap_err()),
            vec!["/account/electronic_address"]
        );
        let mut body = with_leitweg();
        body["account"]["electronic_address"] =
            serde_json::json!({"scheme": "XX", "value": "04011000-1234512345-06"});
        assert_eq!(
            pointers(parse_value(&body).unwrap_err()),
            vec!["/account/electronic_address/scheme"]
        );
        let mut body = example();
        body["account"]["electronic_address"] =
            serde_json::json!({"scheme": "EM", "value": "no address"});
        assert_eq!(
            pointers(parse_value(&body).unwrap_err()),
            vec!["/account/electronic_address/value"]
        );
        // The schema refuses a half address before the rules run.
        let mut body = example();
        body["account"]["electronic_address"] = serde_json::json!({"scheme": "EM"});
        assert!(matches!(
            parse_value(&body).unwrap_err(),
            WebhookError::Malformed(_)
        ));
    }

    #[test]
    fn an_electronic_address_changes_the_fingerprint_only_when_given() {
        let base = parse_value(&example()).unwrap().fingerprint();
        let mut explicit_null = example();
        explicit_null["account"]["electronic_address"] = Value::Null;
        assert_eq!(parse_value(&explicit_null).unwrap().fingerprint(), base);
        let mut given = example();
        given["account"]["electronic_address"] =
            serde_json::json!({"scheme": "EM", "value": "rechnung@muster-handel.example"});
        assert_ne!(parse_value(&given).unwrap().fingerprint(), base);
    }

    #[test]
    fn an_agreed_payment_date_reaches_the_account_and_the_fingerprint() {
        // §286(2) BGB: only terms agreed in the contract make the due date
        // one "determined by the calendar"; absent means not agreed.
        let base = parse_value(&example()).unwrap();
        assert!(!base.account.payment_date_agreed);
        let mut body = example();
        body["account"]["payment_date_agreed"] = serde_json::json!(false);
        assert_eq!(
            parse_value(&body).unwrap().fingerprint(),
            base.fingerprint(),
            "false is the same deal as absent"
        );
        body["account"]["payment_date_agreed"] = serde_json::json!(true);
        let agreed = parse_value(&body).unwrap();
        assert!(agreed.account.payment_date_agreed);
        assert_ne!(agreed.fingerprint(), base.fingerprint());
        let account = agreed
            .account
            .to_account(AccountId::new("acc_1"), BillingEntityId::new("ent_1"));
        assert!(account.payment_date_agreed);
    }

    #[test]
    fn whole_float_payment_terms_are_days_and_fractions_are_not() {
        let mut body = example();
        body["account"]["payment_terms_days"] = serde_json::json!(30.0);
        assert_eq!(parse_value(&body).unwrap().account.payment_terms_days, 30);
        body["account"]["payment_terms_days"] = serde_json::json!(30.5);
        assert!(parse_value(&body).is_err());
    }

    #[test]
    fn back_billing_years_is_refused_at_the_start_date() {
        let mut body = example();
        body["items"][2]["recurring"]["start_date"] = json_str("2016-12-01");
        assert_eq!(
            pointers(parse_value(&body).unwrap_err()),
            vec!["/items/2/recurring/start_date"]
        );
    }

    #[test]
    fn a_blank_description_is_named() {
        let mut body = example();
        body["items"][1]["description"] = json_str("   ");
        assert!(
            pointers(parse_value(&body).unwrap_err()).contains(&"/items/1/description".to_owned())
        );
    }

    #[test]
    fn overflowing_recurring_amounts_are_refused_now_not_at_the_next_run() {
        let mut body = example();
        body["items"][2]["quantity"] = json_str("9999999999999999999999999999");
        body["items"][2]["unit_price"] = json_str("9999999999999999999999999999");
        assert!(
            pointers(parse_value(&body).unwrap_err()).contains(&"/items/2/quantity".to_owned())
        );
    }
}
