//! What a template receives: the invoice with every amount, quantity and
//! date already formatted for the customer's language.
//!
//! Typst numbers are floats; money must never pass through one, so the
//! template only ever sees text it prints as is. The shape is the contract
//! with operator templates: add fields, never rename them.

use billing_domain::invoice::CorrectionKind;
use billing_domain::invoice::{Invoice, InvoiceLine, TaxBreakdown};
use billing_domain::numbering::DocumentType;
use billing_domain::party::{CountryCode, PostalAddress};
use billing_domain::period::ServicePeriod;
use serde::Serialize;

use crate::text::{self, Labels};

/// The template's `data` (`/invoice.json`).
#[derive(Debug, Serialize)]
pub struct InvoiceView {
    /// `de` or `en`: which wording the template uses.
    pub lang: &'static str,
    /// `invoice` or `credit_note`: the title printed.
    pub document_type: &'static str,
    /// The legal number.
    pub number: String,
    /// Invoice date.
    pub issue_date: String,
    /// Due date.
    pub due_date: String,
    /// Span of all line periods, when any line has one.
    pub service_period: Option<String>,
    /// Issuer.
    pub seller: SellerView,
    /// Recipient.
    pub buyer: BuyerView,
    /// The lines in printed order.
    pub lines: Vec<LineView>,
    /// Net, rate and tax per (category, rate).
    pub tax: Vec<TaxView>,
    /// Document totals.
    pub totals: TotalsView,
    /// Legal notes first (reverse charge), then free text.
    pub notes: Vec<String>,
    /// Payment-terms sentence, identical to the XML's BT-20.
    pub payment_terms: String,
    /// What the customer quotes when paying.
    pub payment_reference: Option<String>,
    /// The customer's purchase order.
    pub purchase_order: Option<String>,
    /// The invoice a credit note corrects.
    pub preceding_invoice: Option<String>,
    /// The issue date of the invoice a credit note corrects.
    pub preceding_invoice_date: Option<String>,
    /// `cancellation` or `partial_credit` on a credit note that corrects an
    /// invoice (it picks the title: "Stornorechnung" or "Rechnungskorrektur"; never
    /// "Gutschrift", the recipient's self-billing under §14(2) sentence 2 UStG).
    pub correction: Option<&'static str>,
    /// Whether the invoice has a reverse-charge (AE) or intra-EU supply (K)
    /// group, read off the tax breakdown: both VAT ids must then be printed
    /// (§14a(1), (3) UStG).
    pub reverse_charge: bool,
    /// Whether `/girocode.svg` (the EPC QR code for paying by transfer) is
    /// there to print beside the payment terms.
    pub girocode: bool,
    /// Whether the invoice is collected by SEPA direct debit: the payment
    /// terms then are the pre-notification, and no account to pay into is
    /// printed.
    pub direct_debit: bool,
}

/// The seller as printed in the letterhead and footer.
#[derive(Debug, Serialize)]
pub struct SellerView {
    /// Legal name.
    pub name: String,
    /// Address lines, country last.
    pub address: AddressView,
    /// USt-IdNr.
    pub vat_id: Option<String>,
    /// Steuernummer.
    pub tax_number: Option<String>,
    /// IBAN in groups of four.
    pub iban: String,
    /// BIC.
    pub bic: Option<String>,
    /// Bank name.
    pub bank_name: Option<String>,
    /// Account holder when it differs from the legal name.
    pub account_holder: Option<String>,
}

/// The buyer as printed in the address window.
#[derive(Debug, Serialize)]
pub struct BuyerView {
    /// Company or person.
    pub name: String,
    /// Address lines.
    pub address: AddressView,
    /// The customer's VAT ID (required on reverse-charge invoices).
    pub vat_id: Option<String>,
    /// Public-sector routing id.
    pub leitweg_id: Option<String>,
}

/// An address; `country` is an ISO code the template names in its language
/// when `foreign` is set.
#[derive(Debug, Serialize)]
pub struct AddressView {
    /// Street, additional line, postcode and city.
    pub lines: Vec<String>,
    /// ISO 3166 code.
    pub country: String,
    /// Whether the country differs from the seller's and must be printed.
    pub foreign: bool,
}

/// One printed line.
#[derive(Debug, Serialize)]
pub struct LineView {
    /// Position from 1.
    pub position: usize,
    /// Description.
    pub description: String,
    /// Article number.
    pub product_code: Option<String>,
    /// Quantity.
    pub quantity: String,
    /// UN/ECE unit code; the template names it.
    pub unit: String,
    /// Unit price without currency.
    pub unit_price: String,
    /// Net amount without currency.
    pub net: String,
    /// VAT rate in percent.
    pub rate: String,
    /// Service period.
    pub period: Option<String>,
}

/// One row of the VAT table.
#[derive(Debug, Serialize)]
pub struct TaxView {
    /// EN 16931 category code (S, Z, E, AE, O).
    pub category: &'static str,
    /// Rate in percent.
    pub rate: String,
    /// Net amount at this rate.
    pub taxable: String,
    /// Tax at this rate.
    pub tax: String,
    /// Why no VAT is charged.
    pub exemption: Option<String>,
}

/// The totals block.
#[derive(Debug, Serialize)]
pub struct TotalsView {
    /// Sum of nets.
    pub net: String,
    /// Sum of taxes.
    pub tax: String,
    /// Amount due.
    pub gross: String,
    /// ISO 4217 code.
    pub currency: &'static str,
}

impl InvoiceView {
    /// The view of `invoice` in its customer's language; `girocode` says
    /// whether the renderer provides the QR code image.
    pub fn of(invoice: &Invoice, girocode: bool) -> Self {
        let content = invoice.content();
        let labels = text::labels(content.buyer.language);
        let home = content.seller.address.country;
        let seller = &content.seller;
        let bank = &seller.bank_account;
        Self {
            lang: labels.code,
            document_type: match content.document_type {
                DocumentType::Invoice => "invoice",
                DocumentType::CreditNote => "credit_note",
            },
            number: invoice.number().as_str().to_owned(),
            issue_date: text::date(labels, content.issue_date),
            due_date: text::date(labels, content.due_date),
            service_period: content.service_period.map(|p| period(labels, &p)),
            seller: SellerView {
                name: seller.legal_name.clone(),
                address: address(&seller.address, home),
                vat_id: seller.vat_id.as_ref().map(|v| v.as_str().to_owned()),
                tax_number: seller.tax_number.as_ref().map(|t| t.as_str().to_owned()),
                iban: bank.iban.grouped(),
                bic: bank.bic.as_ref().map(|b| b.as_str().to_owned()),
                bank_name: bank.bank_name.clone(),
                account_holder: bank.account_holder.clone(),
            },
            buyer: BuyerView {
                name: content.buyer.name.clone(),
                address: address(&content.buyer.address, home),
                vat_id: content.buyer.vat_id.as_ref().map(|v| v.as_str().to_owned()),
                leitweg_id: content
                    .buyer
                    .leitweg_id
                    .as_ref()
                    .map(|l| l.as_str().to_owned()),
            },
            lines: content.lines.iter().map(|l| line(labels, l)).collect(),
            tax: content
                .tax_breakdown
                .iter()
                .map(|g| tax(labels, g))
                .collect(),
            totals: TotalsView {
                net: text::money(labels, content.totals.net_total),
                tax: text::money(labels, content.totals.tax_total),
                gross: text::money(labels, content.totals.gross_total),
                currency: content.currency.code(),
            },
            notes: content.notes.clone(),
            payment_terms: text::document_terms(labels, invoice),
            payment_reference: content.references.payment_reference.clone(),
            purchase_order: content.references.purchase_order.clone(),
            preceding_invoice: content
                .references
                .preceding_invoice
                .as_ref()
                .map(|n| n.as_str().to_owned()),
            preceding_invoice_date: content
                .references
                .preceding_invoice_date
                .map(|d| text::date(labels, d)),
            correction: content.references.correction.map(|kind| match kind {
                CorrectionKind::Cancellation => "cancellation",
                CorrectionKind::PartialCredit => "partial_credit",
            }),
            reverse_charge: content.tax_breakdown.iter().any(|g| {
                matches!(
                    g.category,
                    billing_domain::tax::VatCategoryCode::Ae
                        | billing_domain::tax::VatCategoryCode::K
                )
            }),
            girocode,
            direct_debit: content.direct_debit.is_some(),
        }
    }
}

fn period(labels: &Labels, period: &ServicePeriod) -> String {
    if period.start == period.end {
        text::date(labels, period.start)
    } else {
        format!(
            "{} – {}",
            text::date(labels, period.start),
            text::date(labels, period.end)
        )
    }
}

fn address(address: &PostalAddress, home: CountryCode) -> AddressView {
    let mut lines = Vec::with_capacity(3);
    lines.push(address.street.clone());
    lines.extend(address.additional_line.clone());
    lines.push(match &address.postal_code {
        Some(code) => format!("{code} {}", address.city),
        None => address.city.clone(),
    });
    AddressView {
        lines,
        country: address.country.as_str().to_owned(),
        foreign: address.country != home,
    }
}

fn line(labels: &Labels, line: &InvoiceLine) -> LineView {
    LineView {
        position: line.position,
        description: line.item.description.clone(),
        product_code: line
            .item
            .product_code
            .as_ref()
            .map(|c| c.as_str().to_owned()),
        quantity: text::number(labels, line.item.quantity),
        unit: line.item.unit.as_str().to_owned(),
        unit_price: text::unit_price(labels, line.item.unit_price),
        net: text::unit_price(labels, line.net_amount.round()),
        rate: text::number(labels, line.tax.rate),
        period: line.service_period.map(|p| period(labels, &p)),
    }
}

fn tax(labels: &Labels, group: &TaxBreakdown) -> TaxView {
    TaxView {
        category: group.category.code(),
        rate: text::number(labels, group.rate),
        taxable: text::money(labels, group.taxable_amount),
        tax: text::money(labels, group.tax_amount),
        exemption: group.exemption.as_ref().map(|e| e.reason.clone()),
    }
}
