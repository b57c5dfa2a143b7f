//! Corrections of finalized invoices: a cancellation document for the whole
//! invoice, or a partial credit note for chosen lines or an amount.
//!
//! A finalized invoice never changes; it is corrected by a new document in
//! the credit-note series (UNTDID 1001 code 381) that refers to it (BG-3:
//! number BT-25, date BT-26). Amounts on a credit note are positive: the
//! type code already says "credit", which is how EN 16931 and Factur-X
//! expect it (BR-CO-xx sums, no negative totals), and what the project's
//! negative-total drafts already produce. Relative to the original, every
//! amount of a credit note counts negatively.
//!
//! What was credited on an original ([`Credited`]) is kept with it, so the
//! sum of all credit notes can never exceed the original's total, and no
//! line more than its quantity.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::DomainError;
use crate::ids::{InvoiceId, SubscriptionId, SubscriptionItemId};
use crate::invoice::{
    DocumentType, Invoice, InvoiceDraft, InvoiceLine, InvoiceReferences, LineSource,
    overall_period, sum_totals, tax_breakdown,
};
use crate::item::{Item, UnitCode};
use crate::money::Money;
use crate::party::Language;
use crate::period::ServicePeriod;
use crate::subscription::Subscription;
use crate::tax::VatCategoryCode;

/// What a credit note does to its original.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CorrectionKind {
    /// Cancels the whole invoice ("Stornorechnung").
    Cancellation,
    /// Credits chosen lines or an amount ("Gutschrift").
    PartialCredit,
}

/// How much of an original has been credited so far.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Credited {
    /// Gross sum of its credit notes; `None` before the first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gross: Option<Money>,
    /// Quantity credited per line position (BT-126).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub lines: BTreeMap<usize, Decimal>,
}

impl Credited {
    /// Whether nothing was credited yet.
    pub fn is_empty(&self) -> bool {
        self.gross.is_none_or(|g| g.is_zero()) && self.lines.is_empty()
    }

    /// The gross credited so far, in the original's currency.
    pub fn gross_of(&self, original: &Invoice) -> Money {
        self.gross
            .unwrap_or_else(|| Money::zero(original.content().currency))
    }

    /// What may still be credited on `original` (gross).
    pub fn remaining(&self, original: &Invoice) -> Result<Money, DomainError> {
        original.amount_due().checked_sub(self.gross_of(original))
    }
}

/// One line of the original to credit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineCredit {
    /// The line's position on the original (BT-126), from 1.
    pub position: usize,
    /// How much of its quantity; all that is still creditable if absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quantity: Option<Decimal>,
}

/// What a partial credit note credits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum CreditSelection {
    /// Chosen lines, at their original prices.
    Lines {
        /// The lines.
        lines: Vec<LineCredit>,
    },
    /// A net amount at one of the original's VAT groups (category and rate).
    Amount {
        /// Net amount to credit (positive, whole minor units).
        net: Money,
        /// The original's VAT category of the credited part (BT-118).
        category: VatCategoryCode,
        /// The original's rate of it (BT-119).
        rate: Decimal,
        /// The line's text; a default naming the original if absent.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        description: Option<String>,
    },
}

/// A built credit note and what its original has credited afterwards.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Correction {
    /// The unnumbered credit note.
    pub draft: InvoiceDraft,
    /// The original's credited state once this credit note exists.
    pub credited_after: Credited,
}

/// The cancellation document of `original`: every line credited in full.
/// Refused for a credit note, and for an invoice already partly credited
/// (its remaining lines are credited with a partial credit note instead, so
/// no line is ever credited twice).
pub fn cancellation(
    original: &Invoice,
    credited: &Credited,
    id: InvoiceId,
    issue_date: NaiveDate,
) -> Result<Correction, DomainError> {
    check_original(original, issue_date)?;
    if !credited.is_empty() {
        return Err(DomainError::invalid(
            "invoice",
            format!(
                "{} is partly credited already ({}); credit the rest with a credit note",
                original.number(),
                credited.gross_of(original)
            ),
        ));
    }
    let lines = original.content().lines.clone();
    let credited_after = Credited {
        gross: Some(original.amount_due()),
        lines: lines
            .iter()
            .map(|l| (l.position, l.item.quantity))
            .collect(),
    };
    let draft = credit_note(
        original,
        id,
        issue_date,
        lines,
        CorrectionKind::Cancellation,
    )?;
    Ok(Correction {
        draft,
        credited_after,
    })
}

/// A credit note for part of `original`, never more than is still
/// creditable: per line at most its uncredited quantity, and in total at
/// most the original's total less its earlier credit notes.
pub fn partial_credit(
    original: &Invoice,
    credited: &Credited,
    selection: &CreditSelection,
    id: InvoiceId,
    issue_date: NaiveDate,
) -> Result<Correction, DomainError> {
    check_original(original, issue_date)?;
    let content = original.content();
    let currency = content.currency;
    let mut after = credited.clone();
    let lines = match selection {
        CreditSelection::Lines { lines } => {
            if lines.is_empty() {
                return Err(DomainError::invalid("lines", "choose at least one line"));
            }
            let mut credit_lines = Vec::with_capacity(lines.len());
            for (index, choice) in lines.iter().enumerate() {
                let field = format!("lines/{index}");
                let line = content
                    .lines
                    .iter()
                    .find(|l| l.position == choice.position)
                    .ok_or_else(|| {
                        DomainError::invalid(
                            format!("{field}/position"),
                            format!("{} has no line {}", original.number(), choice.position),
                        )
                    })?;
                if !line.net_amount.is_positive() {
                    return Err(DomainError::invalid(
                        format!("{field}/position"),
                        "a discount line cannot be credited on its own",
                    ));
                }
                let done = after.lines.get(&line.position).copied().unwrap_or_default();
                let open = line.item.quantity - done;
                let quantity = choice.quantity.unwrap_or(open);
                if quantity <= Decimal::ZERO {
                    return Err(DomainError::invalid(
                        format!("{field}/quantity"),
                        if open <= Decimal::ZERO {
                            "the line is credited in full already".to_owned()
                        } else {
                            "must be positive".to_owned()
                        },
                    ));
                }
                if quantity > open {
                    return Err(DomainError::invalid(
                        format!("{field}/quantity"),
                        format!("{quantity} exceeds the {open} still creditable on this line"),
                    ));
                }
                after.lines.insert(line.position, done + quantity);
                let mut item = line.item.clone();
                item.quantity = quantity;
                let net_amount = if quantity == line.item.quantity {
                    line.net_amount
                } else {
                    item.net_amount().map_err(|e| {
                        DomainError::invalid(format!("{field}/quantity"), e.to_string())
                    })?
                };
                credit_lines.push(InvoiceLine {
                    item,
                    net_amount,
                    ..line.clone()
                });
            }
            credit_lines
        }
        CreditSelection::Amount {
            net,
            category,
            rate,
            description,
        } => {
            net.ensure_currency(currency, "net/currency")?;
            if !net.is_positive() || !net.is_rounded() {
                return Err(DomainError::invalid(
                    "net",
                    format!("must be positive, in whole minor units of {currency}"),
                ));
            }
            let model = content
                .lines
                .iter()
                .find(|l| l.tax.category == *category && l.tax.rate == *rate)
                .ok_or_else(|| {
                    DomainError::invalid(
                        "category",
                        format!(
                            "{} has no VAT group {} at {rate} %",
                            original.number(),
                            category.code()
                        ),
                    )
                })?;
            let text = description
                .clone()
                .unwrap_or_else(|| match content.buyer.language {
                    Language::De => format!("Gutschrift zu Rechnung {}", original.number()),
                    Language::En => format!("Credit on invoice {}", original.number()),
                });
            let mut item = Item::new(text, Decimal::ONE, *net);
            item.unit = UnitCode::lump_sum();
            item.tax_category = model.item.tax_category.clone();
            vec![InvoiceLine {
                position: 1,
                item,
                net_amount: *net,
                tax: model.tax.clone(),
                service_period: None,
                source: None,
            }]
        }
    };
    let draft = credit_note(
        original,
        id,
        issue_date,
        lines,
        CorrectionKind::PartialCredit,
    )?;
    let remaining = credited.remaining(original)?;
    let gross = draft.totals.gross_total;
    if gross.compare(&remaining)?.is_gt() {
        return Err(DomainError::invalid(
            "amount",
            format!(
                "a credit of {gross} exceeds the {remaining} still creditable on {}",
                original.number()
            ),
        ));
    }
    after.gross = Some(credited.gross_of(original).checked_add(gross)?);
    Ok(Correction {
        draft,
        credited_after: after,
    })
}

fn check_original(original: &Invoice, issue_date: NaiveDate) -> Result<(), DomainError> {
    let content = original.content();
    if content.document_type != DocumentType::Invoice {
        return Err(DomainError::invalid(
            "invoice",
            format!(
                "{} is a credit note; only invoices are corrected",
                original.number()
            ),
        ));
    }
    if issue_date < content.issue_date {
        return Err(DomainError::invalid(
            "issue_date",
            "a credit note cannot predate the invoice it corrects",
        ));
    }
    Ok(())
}

/// The credit note document: the original's parties and tax treatment as
/// they were, the credited lines renumbered, VAT recomputed per group,
/// nothing to pay (due on its issue date), and the BG-3 reference.
fn credit_note(
    original: &Invoice,
    id: InvoiceId,
    issue_date: NaiveDate,
    mut lines: Vec<InvoiceLine>,
    kind: CorrectionKind,
) -> Result<InvoiceDraft, DomainError> {
    let content = original.content();
    for (index, line) in lines.iter_mut().enumerate() {
        line.position = index + 1;
    }
    let tax_breakdown = tax_breakdown(&lines, content.currency)?;
    let totals = sum_totals(&lines, &tax_breakdown, content.currency)?;
    if !totals.gross_total.is_positive() {
        return Err(DomainError::invalid("lines", "nothing to credit"));
    }
    Ok(InvoiceDraft {
        id,
        document_type: DocumentType::CreditNote,
        billing_entity_id: content.billing_entity_id.clone(),
        seller: content.seller.clone(),
        buyer: content.buyer.clone(),
        issue_date,
        due_date: issue_date,
        currency: content.currency,
        tax_treatment: content.tax_treatment,
        service_period: overall_period(&lines),
        lines,
        tax_breakdown,
        totals,
        notes: content.notes.clone(),
        references: InvoiceReferences {
            purchase_order: content.references.purchase_order.clone(),
            payment_reference: None,
            preceding_invoice: Some(original.number().clone()),
            preceding_invoice_date: Some(content.issue_date),
            correction: Some(kind),
        },
        // Nothing falls due on a credit note.
        default_notice: false,
    })
}

/// The contract periods an invoice billed, per contract item: the earliest
/// start and the latest end of its lines from that item.
pub fn billed_periods(
    invoice: &Invoice,
) -> BTreeMap<(SubscriptionId, Option<SubscriptionItemId>), ServicePeriod> {
    let mut periods: BTreeMap<_, ServicePeriod> = BTreeMap::new();
    for line in &invoice.content().lines {
        let (
            Some(LineSource::Subscription {
                subscription_id,
                item_id,
            }),
            Some(period),
        ) = (&line.source, line.service_period)
        else {
            continue;
        };
        periods
            .entry((subscription_id.clone(), item_id.clone()))
            .and_modify(|p| {
                p.start = p.start.min(period.start);
                p.end = p.end.max(period.end);
            })
            .or_insert(period);
    }
    periods
}

/// Makes the periods a cancelled invoice billed billable again: each item
/// billed by it goes back to the day before the invoice's period start.
/// Refused, naming the contract, unless each item is still billed exactly
/// through the invoice's period end (a later bill would otherwise be
/// billed twice).
pub fn release_periods(
    subscription: &Subscription,
    invoice: &Invoice,
) -> Result<Subscription, DomainError> {
    let mut released = subscription.clone();
    let mut touched = false;
    for ((subscription_id, item_id), period) in billed_periods(invoice) {
        if subscription_id != subscription.id {
            continue;
        }
        let index = match &item_id {
            Some(id) => released.items.iter().position(|i| &i.id == id),
            None if released.items.len() == 1 => Some(0),
            None => None,
        }
        .ok_or_else(|| {
            DomainError::invalid(
                "release_periods",
                format!(
                    "contract {}: the item billed by {} is not on it",
                    subscription.id,
                    invoice.number()
                ),
            )
        })?;
        let start = released.item_start(&released.items[index]);
        let item = &mut released.items[index];
        if item.billed_through != Some(period.end) {
            return Err(DomainError::invalid(
                "release_periods",
                format!(
                    "contract {} is billed through {} since, not through {} as on {}: \
                     cancel the later invoice first or leave the periods billed",
                    subscription.id,
                    item.billed_through
                        .map_or_else(|| "nothing".to_owned(), |d| d.to_string()),
                    period.end,
                    invoice.number()
                ),
            ));
        }
        item.billed_through = if period.start <= start {
            None
        } else {
            period.start.pred_opt()
        };
        touched = true;
    }
    if !touched {
        return Err(DomainError::invalid(
            "release_periods",
            format!(
                "{} billed nothing of contract {}",
                invoice.number(),
                subscription.id
            ),
        ));
    }
    Ok(released)
}
