//! Invoicing: the seller's rules applied to billable lines give a complete,
//! unnumbered draft ([`InvoiceDraft::build`]).
//!
//! The seller's configuration ([`BillingEntity`]) and the VAT decision
//! ([`crate::taxation`]) are asked here, above both, so the invoice
//! document itself ([`crate::invoice`]) stays a snapshot every rule below
//! the seller can read: payments, dunning, corrections and reports.

use chrono::Days;

use crate::DomainError;
use crate::invoice::{
    InvoiceDraft, InvoiceLine, InvoiceRequest, InvoiceTotals, TaxBreakdown, overall_period,
    sum_totals, tax_breakdown,
};
use crate::item::{BillableLine, Item};
use crate::money::Currency;
use crate::numbering::DocumentType;
use crate::party::{CustomerAccount, CustomerKind};
use crate::seller::BillingEntity;
use crate::tax::AppliedTax;

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
        taxation.check(&entity.identity, account, &lines)?;
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
