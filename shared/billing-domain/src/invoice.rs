//! The invoice document: a complete, unnumbered draft and, with its
//! number, a finalized invoice; its lines, VAT breakdown, totals and
//! references. Drafts are built from billable lines by
//! [`InvoiceDraft::build`] (in [`crate::invoicing`], above the seller's
//! configuration) and finalized here.
//!
//! The draft is a full snapshot (seller, buyer, lines, tax breakdown, notes,
//! dates) because the PDF and the EN 16931 XML are rendered from it later and
//! a finalized invoice never changes. Amounts follow rule 5 of the design:
//! line nets rounded to the minor unit, VAT per (category, rate) on the sum
//! of that group's nets, rounded once; totals are sums of what is shown.

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::DomainError;
use crate::direct_debit::{CreditorIdentifier, Mandate, MandateReference, collection_date};
use crate::ids::{BillingEntityId, InvoiceId};
use crate::item::{BillableLine, Item, LineSource};
use crate::money::{Currency, Money};
use crate::numbering::{DocumentType, InvoiceNumber};
use crate::party::{CustomerAccount, SellerIdentity, require_text};
use crate::period::ServicePeriod;
use crate::reference::CreditorReference;
use crate::tax::{AppliedTax, Exemption, TaxTreatment, VatCategoryCode, tax_amount};

/// Everything that varies per invoice besides the two parties.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvoiceRequest {
    /// Id the adapter minted for the new invoice.
    pub invoice_id: InvoiceId,
    /// Invoice date in the entity's time zone.
    pub issue_date: NaiveDate,
    /// The lines to bill, in the order they are printed.
    pub lines: Vec<BillableLine>,
    /// Order, payment and preceding-invoice references.
    #[serde(default)]
    pub references: InvoiceReferences,
    /// Free-text notes printed on the invoice (BT-22).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

/// What a partial correction does to its original.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CorrectionKind {
    /// Cancels the whole invoice, or all of it not yet credited
    /// ("Stornorechnung").
    Cancellation,
    /// Credits chosen lines or an amount: the seller's
    /// "Rechnungskorrektur" (§17(1) UStG, §31(5) UStDV). Never a
    /// "Gutschrift", which in VAT law is the recipient's self-billing
    /// document (§14(2) sentence 2 UStG). The stored name stays
    /// `partial_credit`.
    PartialCredit,
}

/// References the customer or a correction brings along; copied unchanged
/// from the request into the invoice.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvoiceReferences {
    /// The customer's purchase-order reference (BT-13).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purchase_order: Option<String>,
    /// Reference the customer should quote when paying (BT-83); the invoice
    /// number is used when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_reference: Option<String>,
    /// The invoice a credit note corrects (BT-25).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preceding_invoice: Option<InvoiceNumber>,
    /// The issue date of the invoice a credit note corrects (BT-26).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preceding_invoice_date: Option<NaiveDate>,
    /// What kind of correction a credit note is (cancellation or partial
    /// credit), which decides its printed title; `None` on invoices.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correction: Option<CorrectionKind>,
}

impl InvoiceReferences {
    /// Blank references would print as empty fields; refuse them by name.
    pub fn validate(&self) -> Result<(), DomainError> {
        if let Some(po) = &self.purchase_order {
            require_text(po, "references.purchase_order")?;
        }
        match &self.payment_reference {
            Some(reference) => require_text(reference, "references.payment_reference"),
            None => Ok(()),
        }
    }
}

impl InvoiceRequest {
    /// A request with only the required parts.
    pub fn new(invoice_id: InvoiceId, issue_date: NaiveDate, lines: Vec<BillableLine>) -> Self {
        Self {
            invoice_id,
            issue_date,
            lines,
            references: InvoiceReferences::default(),
            notes: Vec::new(),
        }
    }
}

/// One printed line with its computed net and tax.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvoiceLine {
    /// Position, from 1 (BT-126).
    pub position: usize,
    /// Description, quantity, unit, unit price, article number (BT-153,
    /// BT-129, BT-130, BT-146, BT-155); on a credit note the sign of quantity
    /// or price is flipped so credited amounts show positive.
    pub item: Item,
    /// round(quantity × unit price) (BT-131).
    pub net_amount: Money,
    /// Category and rate (BT-151/152).
    pub tax: AppliedTax,
    /// Service period (BG-26).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_period: Option<ServicePeriod>,
    /// Where the line came from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<LineSource>,
}

/// VAT per (category, rate): one row of the §14 UStG "net per rate, rate,
/// tax" table and one EN 16931 BG-23.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaxBreakdown {
    /// Category (BT-118).
    pub category: VatCategoryCode,
    /// Rate in percent (BT-119).
    pub rate: Decimal,
    /// Sum of the group's line nets (BT-116).
    pub taxable_amount: Money,
    /// round(taxable × rate / 100), computed once (BT-117).
    pub tax_amount: Money,
    /// Exemption reason for E, AE and O (BT-120/121).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exemption: Option<Exemption>,
}

/// Document totals; each is the sum of what is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvoiceTotals {
    /// Sum of line nets = tax basis (BT-106, BT-109).
    pub net_total: Money,
    /// Sum of the breakdown's tax amounts (BT-110).
    pub tax_total: Money,
    /// Net plus tax: the amount due (BT-112, BT-115).
    pub gross_total: Money,
}

/// A built, unnumbered invoice or credit note: the complete snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvoiceDraft {
    /// Storage id.
    pub id: InvoiceId,
    /// Invoice (380) or credit note (381).
    pub document_type: DocumentType,
    /// The issuing entity.
    pub billing_entity_id: BillingEntityId,
    /// The seller as it was when the invoice was built.
    pub seller: SellerIdentity,
    /// The customer as it was when the invoice was built (name, address,
    /// VAT ID, language, payment terms, Leitweg-ID, e-mail addresses).
    pub buyer: CustomerAccount,
    /// Invoice date (BT-2).
    pub issue_date: NaiveDate,
    /// Issue date plus payment terms (BT-9).
    pub due_date: NaiveDate,
    /// Invoice currency (BT-5).
    pub currency: Currency,
    /// How it is taxed.
    pub tax_treatment: TaxTreatment,
    /// Span of all line periods (BG-14), if any line has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_period: Option<ServicePeriod>,
    /// The lines.
    pub lines: Vec<InvoiceLine>,
    /// VAT per (category, rate), in first-seen order.
    pub tax_breakdown: Vec<TaxBreakdown>,
    /// Totals.
    pub totals: InvoiceTotals,
    /// Notes: legal wording first (e.g. reverse charge), then free text.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// Order and correction references; the payment reference is set to
    /// the number at finalization if absent.
    pub references: InvoiceReferences,
    /// The payment terms tell the customer that they are in default 30
    /// days after due date and receipt even without a reminder: a consumer
    /// defaults that way only when the invoice said so (§286(3) sentence 1
    /// BGB, second half). Every invoice (not credit note) to a consumer
    /// prints it; absent on invoices stored before it was printed.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub default_notice: bool,
    /// Set when the invoice is collected by SEPA direct debit: the
    /// pre-notification it prints instead of transfer instructions, and
    /// BG-19 of the e-invoice. Absent on invoices paid by transfer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub direct_debit: Option<DirectDebitNotice>,
}

/// What a direct-debit invoice tells the debtor before the collection (the
/// pre-notification of SDD Core Rulebook PT-03.05: amount, date, creditor
/// identifier, mandate reference) and writes as BG-19 (BT-89 to BT-91).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DirectDebitNotice {
    /// Mandate reference (BT-89).
    pub mandate_reference: MandateReference,
    /// The seller's creditor identifier (BT-90).
    pub creditor_identifier: CreditorIdentifier,
    /// The debited account (BT-91); printed masked.
    pub debited_account: crate::party::Iban,
    /// The day the amount is collected; also the invoice's due date.
    pub collection_date: NaiveDate,
}

/// A finalized invoice: a draft with its legal number. Read-only by
/// construction, because a finalized invoice never changes (corrections are
/// new documents).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Invoice {
    number: InvoiceNumber,
    content: InvoiceDraft,
}

impl Invoice {
    /// The legal number.
    pub fn number(&self) -> &InvoiceNumber {
        &self.number
    }

    /// Everything else, for rendering.
    pub fn content(&self) -> &InvoiceDraft {
        &self.content
    }

    /// What the customer owes (or is owed, for a credit note).
    pub fn amount_due(&self) -> Money {
        self.content.totals.gross_total
    }
}

impl InvoiceDraft {
    /// Makes this invoice one collected by direct debit under `mandate`:
    /// the collection date (the later of the due date and the end of the
    /// pre-notification period, on a TARGET day) becomes the due date, and
    /// the notice is printed. Refused, naming `mandate`, for a credit note,
    /// an invoice not in euro, or a mandate that cannot be used on that day:
    /// such an invoice stays one paid by transfer.
    pub fn collect_by_direct_debit(&mut self, mandate: &Mandate) -> Result<(), DomainError> {
        if self.document_type != DocumentType::Invoice {
            return Err(DomainError::invalid(
                "mandate",
                "a credit note is not collected by direct debit",
            ));
        }
        if self.currency != Currency::EUR {
            return Err(DomainError::invalid(
                "mandate",
                format!(
                    "the invoice is in {}; SEPA direct debits are in euro only",
                    self.currency.code()
                ),
            ));
        }
        let collect_on = collection_date(
            self.issue_date,
            self.due_date,
            mandate.pre_notification_days(),
        );
        mandate
            .usable_on(collect_on)
            .map_err(|refusal| DomainError::invalid("mandate", refusal.to_string()))?;
        self.due_date = collect_on;
        self.direct_debit = Some(DirectDebitNotice {
            mandate_reference: mandate.reference.clone(),
            creditor_identifier: mandate.creditor_identifier.clone(),
            debited_account: mandate.debtor_iban.clone(),
            collection_date: collect_on,
        });
        Ok(())
    }

    /// Collects this invoice by direct debit under the customer's mandate
    /// chosen by [`crate::direct_debit::first_usable_mandate`] for its
    /// collection date. Refused (field `mandate`) with the reason when none
    /// is usable; the invoice is then unchanged, never silently one paid by
    /// transfer.
    pub fn collect_under_first_usable<'m>(
        &mut self,
        creditor: &CreditorIdentifier,
        mandates: impl IntoIterator<Item = &'m Mandate>,
    ) -> Result<(), DomainError> {
        let mandate = crate::direct_debit::first_usable_mandate(creditor, mandates, |mandate| {
            collection_date(
                self.issue_date,
                self.due_date,
                mandate.pre_notification_days(),
            )
        })?;
        self.collect_by_direct_debit(mandate)
    }

    /// Attaches the legal number, drawn from the series of this draft's
    /// document type, and fixes the payment reference: unless the draft
    /// names one, the ISO 11649 creditor reference derived from the number
    /// (its letters and digits after `RF` and MOD 97-10 check digits), so a
    /// bank transfer's purpose line can be checked for typing errors; a
    /// number too long for one (over 21 letters and digits) is its own
    /// reference.
    pub fn finalize(mut self, number: InvoiceNumber) -> Invoice {
        self.references.payment_reference.get_or_insert_with(|| {
            CreditorReference::for_invoice_number(&number)
                .map(String::from)
                .unwrap_or_else(|_| number.as_str().to_owned())
        });
        Invoice {
            number,
            content: self,
        }
    }
}

/// Groups line nets by (category, rate) and computes each group's tax once.
/// EN 16931 allows one exemption reason per category, so lines that would
/// put two reasons into one group are refused.
pub(crate) fn tax_breakdown(
    lines: &[InvoiceLine],
    currency: Currency,
) -> Result<Vec<TaxBreakdown>, DomainError> {
    let mut groups: Vec<TaxBreakdown> = Vec::with_capacity(2);
    for line in lines {
        let tax = &line.tax;
        match groups
            .iter_mut()
            .find(|g| g.category == tax.category && g.rate == tax.rate)
        {
            Some(group) if group.exemption != tax.exemption => {
                return Err(DomainError::invalid(
                    format!("lines[{}].item.tax_category", line.position - 1),
                    format!(
                        "one invoice can carry only one exemption reason for category {}",
                        tax.category.code()
                    ),
                ));
            }
            Some(group) => {
                group.taxable_amount = group.taxable_amount.checked_add(line.net_amount)?;
            }
            None => groups.push(TaxBreakdown {
                category: tax.category,
                rate: tax.rate,
                taxable_amount: line.net_amount,
                tax_amount: Money::zero(currency),
                exemption: tax.exemption.clone(),
            }),
        }
    }
    for group in &mut groups {
        group.tax_amount = tax_amount(group.taxable_amount, group.rate)?;
    }
    Ok(groups)
}

pub(crate) fn sum_totals(
    lines: &[InvoiceLine],
    breakdown: &[TaxBreakdown],
    currency: Currency,
) -> Result<InvoiceTotals, DomainError> {
    let net_total = Money::sum(currency, lines.iter().map(|l| l.net_amount))?;
    let tax_total = Money::sum(currency, breakdown.iter().map(|g| g.tax_amount))?;
    Ok(InvoiceTotals {
        net_total,
        tax_total,
        gross_total: net_total.checked_add(tax_total)?,
    })
}

pub(crate) fn overall_period(lines: &[InvoiceLine]) -> Option<ServicePeriod> {
    lines
        .iter()
        .filter_map(|l| l.service_period)
        .reduce(|a, b| ServicePeriod {
            start: a.start.min(b.start),
            end: a.end.max(b.end),
        })
}
