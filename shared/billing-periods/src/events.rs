//! What the store recorded, as journal events: each invoice's life replayed
//! in order (issued, credited, dunned, paid, returned, written off) so that
//! every payment knows what was open per head before it (§367 BGB: costs,
//! interest, principal) and every return what had been paid. A pure
//! function of the store's records, so a locked period built again gives
//! the same events.

use std::collections::HashMap;

use billing_domain::DomainError;
use billing_domain::accounting::AccountNumber;
use billing_domain::dunning_letter::DunningLetter;
use billing_domain::ids::{AccountId, InvoiceId};
use billing_domain::journal::{DocumentRef, JournalEvent, JournalEventKind, TaxLine};
use billing_domain::money::Money;
use billing_domain::payment::{Claims, PaymentPurpose, allocate_payment, allocate_return};
use billing_store::{JournalInputs, RecordedDocument};
use chrono::{DateTime, NaiveDate, Utc};

/// The instant an event without its own recording time is taken to be
/// recorded: the start of its day (every such event is recorded on its own
/// day, long before its month can be locked).
fn start_of(day: NaiveDate) -> DateTime<Utc> {
    day.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc()
}

/// One thing that happened to an invoice, in the order it is replayed.
enum Step<'a> {
    Credit(&'a RecordedDocument),
    Letter(&'a DunningLetter),
    Payment(usize),
    WriteOff,
}

/// The journal events of `inputs`; `debtors` maps each customer to its
/// debtor account (every customer of `inputs` must have one).
pub fn journal_events(
    inputs: &JournalInputs,
    debtors: &HashMap<AccountId, AccountNumber>,
) -> Result<Vec<JournalEvent>, DomainError> {
    let debtor = |account: &AccountId| {
        debtors.get(account).cloned().ok_or_else(|| {
            DomainError::invalid(
                "debtor_account",
                format!("customer {account} has no debtor account"),
            )
        })
    };
    let mut credits_of: HashMap<&InvoiceId, Vec<&RecordedDocument>> = HashMap::new();
    let mut numbers: HashMap<&InvoiceId, String> = HashMap::new();
    for document in &inputs.documents {
        numbers.insert(
            &document.overview.invoice_id,
            document.overview.invoice_number.clone(),
        );
        if let Some(original) = &document.preceding_invoice_id {
            credits_of.entry(original).or_default().push(document);
        }
    }
    let mut events = Vec::new();
    for document in &inputs.documents {
        let overview = &document.overview;
        let account = debtor(&overview.account_id)?;
        let recorded_at = document
            .recorded_at
            .unwrap_or_else(|| start_of(overview.issue_date));
        let lines = tax_lines(document)?;
        if overview.document_type == "381" {
            // A credit note books on the open item of the invoice it
            // corrects (a run's negative total corrects none: its own).
            let corrected = document
                .invoice
                .as_ref()
                .and_then(|invoice| invoice.content().references.preceding_invoice.clone())
                .map(|number| number.to_string())
                .or_else(|| {
                    document
                        .preceding_invoice_id
                        .as_ref()
                        .and_then(|id| numbers.get(id).cloned())
                })
                .unwrap_or_else(|| overview.invoice_number.clone());
            events.push(JournalEvent {
                document: DocumentRef {
                    number: overview.invoice_number.clone(),
                    date: overview.issue_date,
                },
                invoice_number: corrected,
                debtor_account: account,
                recorded_at,
                kind: JournalEventKind::CreditNoteIssued {
                    lines,
                    cancellation: document.cancellation,
                },
            });
            continue;
        }
        let event = |date: NaiveDate, at: DateTime<Utc>, kind: JournalEventKind| JournalEvent {
            document: DocumentRef {
                number: overview.invoice_number.clone(),
                date,
            },
            invoice_number: overview.invoice_number.clone(),
            debtor_account: account.clone(),
            recorded_at: at,
            kind,
        };
        events.push(event(
            overview.issue_date,
            recorded_at,
            JournalEventKind::InvoiceIssued {
                lines: lines.clone(),
            },
        ));
        // What happened since, by day; on one day credits and claims come
        // before the money that settles them.
        let credits = credits_of
            .remove(&overview.invoice_id)
            .unwrap_or_default();
        let letters: Vec<&DunningLetter> = inputs
            .letters
            .iter()
            .filter(|letter| {
                letter
                    .lines
                    .iter()
                    .any(|line| line.invoice_id == overview.invoice_id)
            })
            .collect();
        let mut steps: Vec<(NaiveDate, u8, Step<'_>)> = Vec::new();
        for note in &credits {
            steps.push((note.overview.issue_date, 0, Step::Credit(note)));
        }
        for letter in &letters {
            steps.push((letter.date, 1, Step::Letter(letter)));
        }
        for (i, payment) in document.payments.iter().enumerate() {
            steps.push((payment.value_date, 2, Step::Payment(i)));
        }
        if let Some(write_off) = &document.written_off {
            steps.push((write_off.on, 3, Step::WriteOff));
        }
        steps.sort_by_key(|(day, order, _)| (*day, *order));
        let currency = overview.total.currency();
        let mut open = Claims::principal(overview.total);
        let mut paid = Claims::zero(currency);
        let mut standing = lines;
        let mut interest_claimed = Money::zero(currency);
        for (day, _, step) in steps {
            match step {
                Step::Credit(note) => {
                    open.principal = open.principal.checked_sub(note.overview.total)?;
                    for credited in tax_lines(note)? {
                        if let Some(line) = standing.iter_mut().find(|line| {
                            line.category == credited.category && line.rate == credited.rate
                        }) {
                            line.net = line.net.checked_sub(credited.net)?;
                            line.tax = line.tax.checked_sub(credited.tax)?;
                        }
                    }
                }
                Step::Letter(letter) => {
                    for line in letter
                        .lines
                        .iter()
                        .filter(|line| line.invoice_id == overview.invoice_id)
                    {
                        let fee = line.fee.checked_add(line.flat_fee)?;
                        if fee.is_positive() {
                            open.costs = open.costs.checked_add(fee)?;
                            events.push(event(
                                day,
                                start_of(day),
                                JournalEventKind::DunningFeeClaimed { amount: fee },
                            ));
                        }
                        // Each letter states the interest up to its day:
                        // what it adds to the last letter's is claimed now.
                        let added = line.interest.total.checked_sub(interest_claimed)?;
                        if added.is_positive() {
                            interest_claimed = line.interest.total;
                            open.interest = open.interest.checked_add(added)?;
                            events.push(event(
                                day,
                                start_of(day),
                                JournalEventKind::DefaultInterestClaimed { amount: added },
                            ));
                        }
                    }
                }
                Step::Payment(i) => {
                    let payment = &document.payments[i];
                    let at = payment.booked_at.unwrap_or_else(|| start_of(day));
                    if payment.amount.is_negative() {
                        let amount = Money::zero(currency).checked_sub(payment.amount)?;
                        let reopened = allocate_return(&paid, amount)?;
                        events.push(event(
                            day,
                            at,
                            JournalEventKind::DirectDebitReturned {
                                amount,
                                paid_before: paid,
                            },
                        ));
                        paid = paid.checked_sub(&reopened)?;
                        open = open.checked_add(&reopened)?;
                        continue;
                    }
                    let allocation =
                        allocate_payment(&open, payment.amount, PaymentPurpose::Statutory)?;
                    let kind = if payment.rule.as_deref() == Some("credit") {
                        JournalEventKind::CustomerCreditApplied {
                            amount: payment.amount,
                            open_before: open,
                        }
                    } else {
                        JournalEventKind::PaymentReceived {
                            amount: payment.amount,
                            open_before: open,
                            purpose: PaymentPurpose::Statutory,
                        }
                    };
                    events.push(event(day, at, kind));
                    open = open.checked_sub(&allocation.settles)?;
                    paid = paid.checked_add(&allocation.settles)?;
                }
                Step::WriteOff => {
                    let at = document
                        .written_off
                        .as_ref()
                        .map_or_else(|| start_of(day), |w| w.recorded_at);
                    events.push(event(
                        day,
                        at,
                        JournalEventKind::WrittenOff {
                            open,
                            lines: standing.clone(),
                        },
                    ));
                    open = Claims::zero(currency);
                }
            }
        }
    }
    for credit in &inputs.credits {
        let Some(date) = credit.value_date else {
            continue;
        };
        let kind = match credit.kind.as_deref() {
            // The surplus of a bank entry: money kept for the customer.
            None if credit.amount.is_positive() => JournalEventKind::CustomerCreditCreated {
                amount: credit.amount,
            },
            Some("refund") => JournalEventKind::CustomerCreditRefunded {
                amount: Money::zero(credit.amount.currency()).checked_sub(credit.amount)?,
            },
            // Applications book with the payment they made on the invoice;
            // credit from a correction books with its credit note.
            _ => continue,
        };
        // The surplus of a bank entry cites the invoice the entry paid (the
        // same statement and entry); a refund has no invoice and cites
        // itself by kind and day (DATEV's Belegfeld 1 cannot stay empty).
        let paid_with = inputs.documents.iter().find(|document| {
            credit.statement_id.is_some()
                && document.payments.iter().any(|payment| {
                    payment.statement_id == credit.statement_id
                        && payment.entry_id == credit.entry_id
                })
        });
        let number = match (paid_with, &kind) {
            (Some(document), _) => document.overview.invoice_number.clone(),
            (None, JournalEventKind::CustomerCreditRefunded { .. }) => {
                format!("REFUND-{}", date.format("%Y%m%d"))
            }
            (None, _) => format!("CREDIT-{}", date.format("%Y%m%d")),
        };
        events.push(JournalEvent {
            document: DocumentRef {
                number: number.clone(),
                date,
            },
            invoice_number: number,
            debtor_account: debtor(&credit.account_id)?,
            recorded_at: credit.booked_at.unwrap_or_else(|| start_of(date)),
            kind,
        });
    }
    Ok(events)
}

/// A document's VAT breakdown, from its body (read in full).
fn tax_lines(document: &RecordedDocument) -> Result<Vec<TaxLine>, DomainError> {
    let invoice = document.invoice.as_ref().ok_or_else(|| {
        DomainError::invalid(
            "invoice",
            format!("{} was read without its body", document.overview.invoice_id),
        )
    })?;
    Ok(invoice
        .content()
        .tax_breakdown
        .iter()
        .map(TaxLine::from)
        .collect())
}
