//! Invoice building: from billable lines to a complete, unnumbered draft,
//! and from a draft plus a number to a finalized invoice.
//!
//! The draft is a full snapshot (seller, buyer, lines, tax breakdown, notes,
//! dates) because the PDF and the EN 16931 XML are rendered from it later and
//! a finalized invoice never changes. Amounts follow rule 5 of the design:
//! line nets rounded to the minor unit, VAT per (category, rate) on the sum
//! of that group's nets, rounded once; totals are sums of what is shown.

use chrono::{Days, NaiveDate};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::DomainError;
use crate::direct_debit::{CreditorIdentifier, Mandate, MandateReference, collection_date};
use crate::ids::{
    BillingEntityId, InvoiceId, OpportunityId, PendingChargeId, SubscriptionId, SubscriptionItemId,
};
use crate::item::Item;
use crate::money::{Currency, Money};
use crate::numbering::InvoiceNumber;
use crate::party::{BillingEntity, CustomerAccount, CustomerKind, SellerIdentity, require_text};
use crate::period::ServicePeriod;
use crate::tax::{AppliedTax, Exemption, TaxTreatment, VatCategoryCode, tax_amount};

/// The kind of document, with its UNTDID 1001 code; each has its own number
/// series.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DocumentType {
    /// Commercial invoice (380).
    Invoice,
    /// Credit note (381): what a negative total becomes.
    CreditNote,
}

impl DocumentType {
    /// The UNTDID 1001 code written into the XML (BT-3).
    pub fn code(self) -> u16 {
        match self {
            Self::Invoice => 380,
            Self::CreditNote => 381,
        }
    }
}

/// Where a line came from, so the run can mark exactly that period or charge
/// as billed in the same transaction that stores the invoice.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum LineSource {
    /// A recurring item of a subscription (the period is on the line).
    Subscription {
        /// The subscription billed.
        subscription_id: SubscriptionId,
        /// The item within it, when the subscription has several.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        item_id: Option<SubscriptionItemId>,
    },
    /// A parked one-off charge.
    PendingCharge {
        /// The charge billed.
        pending_charge_id: PendingChargeId,
    },
    /// An opportunity invoiced directly.
    Opportunity {
        /// The opportunity billed.
        opportunity_id: OpportunityId,
    },
}

/// One line to bill, as the schedule and pending charges produce it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BillableLine {
    /// What is sold, at which price and tax category.
    pub item: Item,
    /// The period or day the line pays for (§14 UStG service date).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_period: Option<ServicePeriod>,
    /// Where the line came from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<LineSource>,
}

impl BillableLine {
    /// A line without period or source; add them with the `with_` methods.
    pub fn new(item: Item) -> Self {
        Self {
            item,
            service_period: None,
            source: None,
        }
    }

    /// The line pays for `period`.
    pub fn with_period(mut self, period: ServicePeriod) -> Self {
        self.service_period = Some(period);
        self
    }

    /// The line came from `source`.
    pub fn with_source(mut self, source: LineSource) -> Self {
        self.source = Some(source);
        self
    }
}

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
    pub correction: Option<crate::correction::CorrectionKind>,
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
    /// Builds the draft for `account` from `request`, or says which field is
    /// wrong. Negative totals become a credit note with positive amounts.
    pub fn build(
        entity: &BillingEntity,
        account: &CustomerAccount,
        request: InvoiceRequest,
    ) -> Result<Self, DomainError> {
        entity.validate()?;
        account.validate()?;
        if account.receives_xrechnung() {
            entity.identity.check_xrechnung("billing_entity.identity")?;
        }
        if account.billing_entity_id != entity.id {
            return Err(DomainError::invalid(
                "account.billing_entity_id",
                format!(
                    "account is billed by {}, not {}",
                    account.billing_entity_id, entity.id
                ),
            ));
        }
        check_line_count(request.lines.len(), entity.max_invoice_lines)?;
        request.references.validate()?;
        let due_date = request
            .issue_date
            .checked_add_days(Days::new(u64::from(account.payment_terms_days)))
            .ok_or_else(|| DomainError::invalid("issue_date", "due date is out of range"))?;
        let taxation = entity.tax_rules.taxation(account, request.issue_date)?;
        let treatment = taxation.treatment();
        let currency = account.currency;

        let mut lines = Vec::with_capacity(request.lines.len());
        for (index, line) in request.lines.into_iter().enumerate() {
            lines.push(price_line(index, line, currency, |item| {
                taxation.apply(index, item)
            })?);
        }
        if lines.iter().all(|l| l.net_amount.is_zero()) {
            return Err(DomainError::invalid(
                "lines",
                "empty invoice: every line nets to zero",
            ));
        }
        taxation.check(entity, account, &lines)?;
        let mut tax_breakdown = tax_breakdown(&lines, currency)?;
        let mut totals = sum_totals(&lines, &tax_breakdown, currency)?;
        let document_type = if totals.gross_total.is_negative() {
            flip_to_credit_note(&mut lines, &mut tax_breakdown, &mut totals);
            DocumentType::CreditNote
        } else {
            DocumentType::Invoice
        };

        let mut notes = taxation.notes(&tax_breakdown);
        notes.extend(request.notes);
        Ok(Self {
            id: request.invoice_id,
            document_type,
            billing_entity_id: entity.id.clone(),
            seller: entity.identity.clone(),
            buyer: account.clone(),
            issue_date: request.issue_date,
            due_date,
            currency,
            tax_treatment: treatment,
            service_period: overall_period(&lines),
            lines,
            tax_breakdown,
            totals,
            notes,
            references: request.references,
            default_notice: account.kind == CustomerKind::Consumer
                && document_type == DocumentType::Invoice,
            direct_debit: None,
        })
    }

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

    /// Attaches the legal number, drawn from the series of this draft's
    /// document type, and fixes the payment reference.
    pub fn finalize(mut self, number: InvoiceNumber) -> Invoice {
        self.references
            .payment_reference
            .get_or_insert_with(|| number.as_str().to_owned());
        Invoice {
            number,
            content: self,
        }
    }
}

fn check_line_count(count: usize, limit: usize) -> Result<(), DomainError> {
    if count == 0 {
        return Err(DomainError::invalid(
            "lines",
            "an invoice needs at least one line",
        ));
    }
    if count > limit {
        return Err(DomainError::invalid(
            "lines",
            format!("{count} lines exceed the limit of {limit} per invoice"),
        ));
    }
    Ok(())
}

fn price_line(
    index: usize,
    line: BillableLine,
    currency: Currency,
    apply_tax: impl Fn(&Item) -> Result<AppliedTax, DomainError>,
) -> Result<InvoiceLine, DomainError> {
    let field = || format!("lines[{index}].item");
    line.item.validate_at(currency, field)?;
    let net_amount = line
        .item
        .net_amount()
        .map_err(|e| DomainError::invalid(format!("{}.quantity", field()), e.to_string()))?;
    Ok(InvoiceLine {
        position: index + 1,
        tax: apply_tax(&line.item)?,
        item: line.item,
        net_amount,
        service_period: line.service_period,
        source: line.source,
    })
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

/// Turns a negative invoice into a credit note showing positive amounts.
/// Rounding half away from zero is symmetric, so negating the computed
/// amounts equals recomputing from negated lines.
fn flip_to_credit_note(
    lines: &mut [InvoiceLine],
    breakdown: &mut [TaxBreakdown],
    totals: &mut InvoiceTotals,
) {
    for line in lines {
        let item = &mut line.item;
        if item.unit_price.is_negative() {
            item.unit_price = -item.unit_price;
        } else {
            item.quantity = -item.quantity;
        }
        line.net_amount = -line.net_amount;
    }
    for group in breakdown {
        group.taxable_amount = -group.taxable_amount;
        group.tax_amount = -group.tax_amount;
    }
    totals.net_total = -totals.net_total;
    totals.tax_total = -totals.tax_total;
    totals.gross_total = -totals.gross_total;
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
