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
//! sum of all credit notes can never exceed the original's total, no VAT
//! group its net and VAT, and no line its quantity and net; and so the
//! credits that complete a line or a VAT group take exactly what is left of
//! it, and all credits together equal the original to the cent.
//!
//! In German documents a partial correction is a "Rechnungskorrektur" and
//! a cancellation a "Stornorechnung"; never a "Gutschrift", which in VAT
//! law is the recipient's self-billing document (§14(2) sentence 2 UStG).

use std::collections::BTreeMap;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::DomainError;
use crate::ids::{InvoiceId, SubscriptionId, SubscriptionItemId};
use crate::invoice::{
    CorrectionKind, Invoice, InvoiceDraft, InvoiceLine, InvoiceReferences, TaxBreakdown,
    overall_period, sum_totals, tax_breakdown,
};
use crate::item::LineSource;
use crate::item::{Item, UnitCode};
use crate::money::{Currency, Money};
use crate::numbering::DocumentType;
use crate::party::Language;
use crate::period::ServicePeriod;
use crate::subscription::Subscription;
use crate::tax::VatCategoryCode;

/// Net and VAT credited so far in one VAT group (category and rate) of an
/// original, so the credit that completes the group can take exactly the
/// VAT still outstanding in it (BR-CO-17 rounds per group, not per note).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreditedGroup {
    /// The group's category (BT-118).
    pub category: VatCategoryCode,
    /// The group's rate (BT-119).
    pub rate: Decimal,
    /// Net credited in it (sum of the credit notes' BT-116).
    pub net: Money,
    /// VAT credited in it (sum of the credit notes' BT-117).
    pub tax: Money,
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
    /// Net credited per line position, so the credit that completes a line
    /// takes exactly the net still open on it. Absent on items stored
    /// before it was kept (see [`Credited::completed_for`]).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub line_nets: BTreeMap<usize, Money>,
    /// Net and VAT credited per VAT group. Absent on items stored before it
    /// was kept (see [`Credited::completed_for`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<CreditedGroup>,
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

    /// Net and VAT credited so far in one VAT group (zero if none).
    pub fn group(
        &self,
        category: VatCategoryCode,
        rate: Decimal,
        currency: Currency,
    ) -> (Money, Money) {
        self.groups
            .iter()
            .find(|g| g.category == category && g.rate == rate)
            .map_or((Money::zero(currency), Money::zero(currency)), |g| {
                (g.net, g.tax)
            })
    }

    /// The net credited so far on line `position` (zero if none).
    fn line_net(&self, position: usize, currency: Currency) -> Money {
        self.line_nets
            .get(&position)
            .copied()
            .unwrap_or_else(|| Money::zero(currency))
    }

    fn add_group(
        &mut self,
        category: VatCategoryCode,
        rate: Decimal,
        net: Money,
        tax: Money,
    ) -> Result<(), DomainError> {
        match self
            .groups
            .iter_mut()
            .find(|g| g.category == category && g.rate == rate)
        {
            Some(group) => {
                group.net = group.net.checked_add(net)?;
                group.tax = group.tax.checked_add(tax)?;
            }
            None => self.groups.push(CreditedGroup {
                category,
                rate,
                net,
                tax,
            }),
        }
        Ok(())
    }

    /// This state with the per-line nets and per-group sums filled in,
    /// for items stored before they were kept. They can be derived when
    /// the original has a single VAT group and every earlier credit was a
    /// line credit: the nets follow from the credited quantities, the VAT is
    /// the gross credited less that net. Anything else (several VAT groups,
    /// or an amount credit, seen as VAT that the credited net cannot
    /// explain) is refused by name rather than guessed.
    pub fn completed_for(&self, original: &Invoice) -> Result<Credited, DomainError> {
        if self.is_empty() || !self.groups.is_empty() {
            return Ok(self.clone());
        }
        let content = original.content();
        let currency = content.currency;
        let refuse = |why: &str| {
            Err(DomainError::invalid(
                "credited",
                format!(
                    "{} was credited before VAT per group was recorded, and {why}; \
                     correct the rest by an amount per VAT group",
                    original.number()
                ),
            ))
        };
        let [group] = content.tax_breakdown.as_slice() else {
            return refuse("it has several VAT groups whose credited VAT cannot be told apart");
        };
        if self.lines.is_empty() {
            return refuse("its earlier credits were amounts whose net is not known");
        }
        let mut derived = self.clone();
        for (&position, &quantity) in &self.lines {
            let Some(line) = content.lines.iter().find(|l| l.position == position) else {
                return refuse("a credited line is not on it");
            };
            let net = if quantity == line.item.quantity {
                line.net_amount
            } else {
                let mut item = line.item.clone();
                item.quantity = quantity;
                item.net_amount()?
            };
            derived.line_nets.insert(position, net);
        }
        let net = Money::sum(currency, derived.line_nets.values().copied())?;
        let tax = self.gross_of(original).checked_sub(net)?;
        // Each earlier credit note rounded its VAT once: at most half a cent
        // per credited line away from the exact VAT of the net.
        let exact = net.times(group.rate)?.amount() / Decimal::ONE_HUNDRED;
        let slack = Decimal::new(5, 3) * Decimal::from(self.lines.len());
        if tax.is_negative() || (tax.amount() - exact).abs() > slack {
            return refuse("its earlier credits include amounts whose net is not known");
        }
        derived.groups.push(CreditedGroup {
            category: group.category,
            rate: group.rate,
            net,
            tax,
        });
        Ok(derived)
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

/// The cancellation document of `original` ("Stornorechnung"): everything
/// not yet credited, so that afterwards the original is credited in full,
/// per line and per VAT group to the cent (§17(1) UStG: the tax is
/// corrected by what was actually reduced). On an invoice without earlier
/// credits that is every line as printed. After partial credits it is each
/// line's remaining quantity at its remaining net, a "less already credited"
/// line per VAT group where earlier amount credits lowered the group
/// without touching a line, and per group exactly the net and VAT still
/// outstanding. Refused for a credit note and for an invoice credited in
/// full already.
pub fn cancellation(
    original: &Invoice,
    credited: &Credited,
    id: InvoiceId,
    issue_date: NaiveDate,
) -> Result<Correction, DomainError> {
    check_original(original, issue_date)?;
    let credited = credited.completed_for(original)?;
    let content = original.content();
    let currency = content.currency;
    if credited.remaining(original)?.is_zero() {
        return Err(DomainError::invalid(
            "invoice",
            format!("{} is credited in full already", original.number()),
        ));
    }
    let mut lines = Vec::with_capacity(content.lines.len() + 1);
    for line in &content.lines {
        let done = credited
            .lines
            .get(&line.position)
            .copied()
            .unwrap_or_default();
        let open = line.item.quantity - done;
        if done.is_zero() {
            lines.push(line.clone());
        } else if !open.is_zero() {
            let mut item = line.item.clone();
            item.quantity = open;
            lines.push(InvoiceLine {
                item,
                net_amount: line
                    .net_amount
                    .checked_sub(credited.line_net(line.position, currency))?,
                ..line.clone()
            });
        }
    }
    for group in &content.tax_breakdown {
        let (net_done, _) = credited.group(group.category, group.rate, currency);
        let net_left = group.taxable_amount.checked_sub(net_done)?;
        let in_lines = Money::sum(
            currency,
            lines
                .iter()
                .filter(|l| l.tax.category == group.category && l.tax.rate == group.rate)
                .map(|l| l.net_amount),
        )?;
        let adjustment = net_left.checked_sub(in_lines)?;
        if adjustment.is_zero() {
            continue;
        }
        let model = content
            .lines
            .iter()
            .find(|l| l.tax.category == group.category && l.tax.rate == group.rate)
            .ok_or_else(|| {
                DomainError::invalid("invoice", "a VAT group without lines cannot be cancelled")
            })?;
        let text = match content.buyer.language {
            Language::De => "Abzüglich bereits korrigierter Beträge",
            Language::En => "Less amounts already credited",
        };
        let mut item = Item::new(text, Decimal::ONE, adjustment);
        item.unit = UnitCode::lump_sum();
        item.tax_category = model.item.tax_category.clone();
        lines.push(InvoiceLine {
            position: 0,
            item,
            net_amount: adjustment,
            tax: model.tax.clone(),
            service_period: None,
            source: None,
        });
    }
    let mut draft = credit_note(
        original,
        id,
        issue_date,
        lines,
        CorrectionKind::Cancellation,
    )?;
    complete_groups(&mut draft, original, &credited)?;
    let credited_after = Credited {
        gross: Some(original.amount_due()),
        lines: content
            .lines
            .iter()
            .map(|l| (l.position, l.item.quantity))
            .collect(),
        line_nets: content
            .lines
            .iter()
            .map(|l| (l.position, l.net_amount))
            .collect(),
        groups: content
            .tax_breakdown
            .iter()
            .map(|g| CreditedGroup {
                category: g.category,
                rate: g.rate,
                net: g.taxable_amount,
                tax: g.tax_amount,
            })
            .collect(),
    };
    Ok(Correction {
        draft,
        credited_after,
    })
}

/// A partial correction ("Rechnungskorrektur") for part of `original`,
/// never more than is still creditable: per line at most its uncredited
/// quantity, per VAT group at most its uncredited net and VAT, and in
/// total at most the original's total less its earlier credit notes. The
/// credit that completes a line takes exactly the net still open on it, and
/// the one that completes a VAT group exactly the VAT still outstanding in
/// it, so credits add up to the original to the cent (§17(1) UStG).
pub fn partial_credit(
    original: &Invoice,
    credited: &Credited,
    selection: &CreditSelection,
    id: InvoiceId,
    issue_date: NaiveDate,
) -> Result<Correction, DomainError> {
    check_original(original, issue_date)?;
    let credited = &credited.completed_for(original)?;
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
                let net_done = after.line_net(line.position, currency);
                let mut item = line.item.clone();
                item.quantity = quantity;
                // What is still open on the line: the credit completing it
                // takes exactly that, and no part of it more (parts each
                // rounded could otherwise overshoot the line by a cent).
                let net_open = line.net_amount.checked_sub(net_done)?;
                let net_amount = if quantity == open {
                    net_open
                } else {
                    let part = item.net_amount().map_err(|e| {
                        DomainError::invalid(format!("{field}/quantity"), e.to_string())
                    })?;
                    if part.compare(&net_open)?.is_gt() {
                        net_open
                    } else {
                        part
                    }
                };
                after.lines.insert(line.position, done + quantity);
                after
                    .line_nets
                    .insert(line.position, net_done.checked_add(net_amount)?);
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
                .ok_or_else(|| no_vat_group(original, *category, *rate))?;
            let text = description
                .clone()
                .unwrap_or_else(|| match content.buyer.language {
                    // §17(1) UStG: the consideration is reduced.
                    Language::De => format!("Entgeltminderung zu Rechnung {}", original.number()),
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
    let mut draft = credit_note(
        original,
        id,
        issue_date,
        lines,
        CorrectionKind::PartialCredit,
    )?;
    complete_groups(&mut draft, original, credited)?;
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
    for group in &draft.tax_breakdown {
        let (net_left, _) = group_left(original, credited, group.category, group.rate)?;
        if group.taxable_amount.compare(&net_left)?.is_gt() {
            return Err(DomainError::invalid(
                "amount",
                format!(
                    "a credit of {} net at {} {} % exceeds the {net_left} net still creditable \
                     in that VAT group of {}",
                    group.taxable_amount,
                    group.category.code(),
                    group.rate,
                    original.number()
                ),
            ));
        }
        after.add_group(
            group.category,
            group.rate,
            group.taxable_amount,
            group.tax_amount,
        )?;
    }
    after.gross = Some(credited.gross_of(original).checked_add(gross)?);
    Ok(Correction {
        draft,
        credited_after: after,
    })
}

/// The refusal of a credit in a VAT group the original does not have.
fn no_vat_group(original: &Invoice, category: VatCategoryCode, rate: Decimal) -> DomainError {
    DomainError::invalid(
        "category",
        format!(
            "{} has no VAT group {} at {rate} %",
            original.number(),
            category.code()
        ),
    )
}

/// Net and VAT still creditable in one VAT group of `original`.
fn group_left(
    original: &Invoice,
    credited: &Credited,
    category: VatCategoryCode,
    rate: Decimal,
) -> Result<(Money, Money), DomainError> {
    let content = original.content();
    let group = content
        .tax_breakdown
        .iter()
        .find(|g| g.category == category && g.rate == rate)
        .ok_or_else(|| no_vat_group(original, category, rate))?;
    let (net, tax) = credited.group(category, rate, content.currency);
    Ok((
        group.taxable_amount.checked_sub(net)?,
        group.tax_amount.checked_sub(tax)?,
    ))
}

/// Sets each VAT group's tax on a credit note so its credits add up: the
/// credit that takes a group's remaining net takes exactly its remaining
/// VAT, and no credit takes more VAT than remains (each note rounding its
/// own VAT would otherwise leave or overshoot a cent). The difference to
/// the group's own rounded VAT is at most a few cents, within BR-CO-17's
/// tolerance of one currency unit. Totals are summed again (BR-CO-14/15).
fn complete_groups(
    draft: &mut InvoiceDraft,
    original: &Invoice,
    credited: &Credited,
) -> Result<(), DomainError> {
    for group in &mut draft.tax_breakdown {
        let (net_left, tax_left) = group_left(original, credited, group.category, group.rate)?;
        if group.taxable_amount == net_left
            || (tax_left.compare(&group.tax_amount)?.is_lt() && !tax_left.is_negative())
        {
            group.tax_amount = tax_left;
        }
    }
    draft.totals = sum_totals(&draft.lines, &draft.tax_breakdown, draft.currency)?;
    Ok(())
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
    let notes = credit_note_notes(content, &tax_breakdown);
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
        notes,
        references: InvoiceReferences {
            purchase_order: content.references.purchase_order.clone(),
            payment_reference: None,
            preceding_invoice: Some(original.number().clone()),
            preceding_invoice_date: Some(content.issue_date),
            correction: Some(kind),
        },
        // Nothing falls due on a credit note.
        default_notice: false,
        direct_debit: None,
    })
}

/// The original's notes less the legal notes of VAT groups the credit note
/// does not touch: a legal note follows the tax breakdown it explains
/// (§14a UStG; `Taxation::notes`), so crediting only the reverse-charge
/// line of an invoice that also supplied goods abroad repeats no
/// intra-EU note. The seller's other notes stay as they were.
fn credit_note_notes(original: &InvoiceDraft, breakdown: &[TaxBreakdown]) -> Vec<String> {
    let kept = |reason: &str| {
        breakdown
            .iter()
            .any(|g| g.exemption.as_ref().is_some_and(|e| e.reason == reason))
    };
    let dropped: Vec<&str> = original
        .tax_breakdown
        .iter()
        .filter_map(|g| g.exemption.as_ref().map(|e| e.reason.as_str()))
        .filter(|reason| !kept(reason))
        .collect();
    original
        .notes
        .iter()
        .filter(|note| !dropped.contains(&note.as_str()))
        .cloned()
        .collect()
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
