//! The dunning letter: one per customer and sweep, listing every invoice
//! that gets a notice that day, with what is owed on each and in all.
//!
//! The letter is data (this struct, as JSON) so the PDF template and the
//! e-mail render exactly the figures that were recorded.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::DomainError;
use crate::dunning::{DefaultInterest, DunningNotice, DunningStage};
use crate::ids::{AccountId, BillingEntityId, InvoiceId};
use crate::invoice::Invoice;
use crate::money::Money;
use crate::party::Language;

/// One overdue invoice on a letter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LetterLine {
    /// The invoice.
    pub invoice_id: InvoiceId,
    /// Its number.
    pub number: String,
    /// Its date.
    pub issue_date: NaiveDate,
    /// Its due date.
    pub due_date: NaiveDate,
    /// What is open of the invoice (the interest's basis).
    pub open_amount: Money,
    /// Level sent now, from 1.
    pub level: u32,
    /// Which letter that level is.
    pub stage: DunningStage,
    /// This letter's fee.
    pub fee: Money,
    /// The business flat fee claimed now (§288(5) BGB), once per invoice.
    pub flat_fee: Money,
    /// Fees claimed by earlier letters, still owed.
    pub earlier_fees: Money,
    /// Default interest to the letter's date, per base-rate period.
    pub interest: DefaultInterest,
    /// Open amount + fees + interest.
    pub total: Money,
}

/// A dunning letter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DunningLetter {
    /// Stable id of the letter.
    pub letter_id: String,
    /// The seller.
    pub billing_entity_id: BillingEntityId,
    /// The customer.
    pub account_id: AccountId,
    /// Language of the letter (the customer's).
    pub language: Language,
    /// The sweep's day: the letter's date.
    pub date: NaiveDate,
    /// The highest stage on the letter: its title.
    pub stage: DunningStage,
    /// The invoices, oldest first.
    pub lines: Vec<LetterLine>,
    /// Sum of the line totals.
    pub total_due: Money,
    /// New payment deadline (the latest of the lines' deadlines).
    pub payment_deadline: NaiveDate,
}

impl DunningLetter {
    /// The letter for a customer's notices of one day. Every invoice must
    /// be in the same currency; `earlier_fees` are each invoice's fees from
    /// letters before this one.
    pub fn build(
        letter_id: String,
        date: NaiveDate,
        language: Language,
        notices: &[(&Invoice, Money, Money, &DunningNotice)],
    ) -> Result<Self, DomainError> {
        let Some((first, ..)) = notices.first() else {
            return Err(DomainError::invalid("notices", "a letter needs an invoice"));
        };
        let currency = first.content().currency;
        let mut lines = Vec::with_capacity(notices.len());
        for (index, (invoice, open, earlier_fees, notice)) in notices.iter().enumerate() {
            let field = format!("notices[{index}]");
            open.ensure_currency(currency, &format!("{field}.open_amount.currency"))?;
            let total = Money::sum(currency, [notice.total_claim, *earlier_fees])?;
            lines.push(LetterLine {
                invoice_id: invoice.content().id.clone(),
                number: invoice.number().to_string(),
                issue_date: invoice.content().issue_date,
                due_date: invoice.content().due_date,
                open_amount: *open,
                level: notice.level,
                stage: notice.stage,
                fee: notice.fee,
                flat_fee: notice.flat_fee,
                earlier_fees: *earlier_fees,
                interest: notice.interest.clone(),
                total,
            });
        }
        lines.sort_by(|a, b| {
            a.issue_date
                .cmp(&b.issue_date)
                .then_with(|| a.number.cmp(&b.number))
        });
        let total_due = Money::sum(currency, lines.iter().map(|line| line.total))?;
        let stage = notices
            .iter()
            .map(|(.., notice)| notice.stage)
            .max()
            .unwrap_or(DunningStage::PaymentReminder);
        let payment_deadline = notices
            .iter()
            .map(|(.., notice)| notice.payment_deadline)
            .max()
            .unwrap_or(date);
        Ok(Self {
            letter_id,
            billing_entity_id: first.content().billing_entity_id.clone(),
            account_id: first.content().buyer.id.clone(),
            language,
            date,
            stage,
            lines,
            total_due,
            payment_deadline,
        })
    }
}

impl DunningLetter {
    /// What the customer should quote on the transfer. For one invoice its
    /// structured creditor reference (`reference`, the invoice's RF
    /// reference) or its number; for several, their numbers, so the bank
    /// statement names each invoice and the payment is split between them
    /// (one invoice's reference would book the whole sum on that invoice).
    pub fn payment_reference(&self, reference: Option<&str>) -> String {
        match (self.lines.as_slice(), reference) {
            ([_], Some(reference)) => reference.to_owned(),
            (lines, _) => lines
                .iter()
                .map(|line| line.number.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        }
    }
}
