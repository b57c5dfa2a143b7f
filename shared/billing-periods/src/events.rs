//! What the store recorded, as journal events: each invoice's life replayed
//! in order (issued, credited, dunned, paid, returned, written off) by its
//! receivable history, so that every payment knows what was open per head
//! before it (§367 BGB: costs, interest, principal) and every return what
//! had been paid. A pure function of the store's records, so a locked
//! period built again gives the same events.

use std::collections::HashMap;

use billing_domain::DomainError;
use billing_domain::accounting::AccountNumber;
use billing_domain::ids::{AccountId, InvoiceId};
use billing_domain::journal::{DocumentRef, JournalEvent, JournalEventKind, TaxLine};
use billing_domain::money::Money;
use billing_domain::payment::{ClaimHead, PaymentPurpose};
use billing_store::{
    CreditKind, JournalInputs, RecordedDocument, RecordedEvent, credit_notes_by_original,
};
use chrono::{DateTime, NaiveDate, Utc};

/// The instant an event without its own recording time is taken to be
/// recorded: the start of its day (every such event is recorded on its own
/// day, long before its month can be locked).
fn start_of(day: NaiveDate) -> DateTime<Utc> {
    day.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc()
}

/// The journal events of `inputs`; `debtors` maps each customer to its
/// debtor account (every customer of `inputs` must have one).
///
/// Each invoice is replayed by its receivable history
/// ([`billing_domain::receivables::ReceivableHistory::steps`], the same
/// §367 BGB allocation the aging uses), so a payment's `open_before`, a
/// return's `paid_before` and a write-off's `open` are the receivables'
/// state just before them.
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
    let credit_notes = credit_notes_by_original(&inputs.documents);
    let numbers: HashMap<&InvoiceId, &str> = inputs
        .documents
        .iter()
        .map(|d| (&d.overview.invoice_id, d.overview.invoice_number.as_str()))
        .collect();
    let mut events = Vec::new();
    for document in &inputs.documents {
        let overview = &document.overview;
        let account = debtor(&overview.account_id)?;
        let recorded_at = document
            .recorded_at
            .unwrap_or_else(|| start_of(overview.issue_date));
        let lines = tax_lines(document)?;
        if overview.document_type == billing_domain::numbering::DocumentType::CreditNote {
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
                        .and_then(|id| numbers.get(id).map(|n| (*n).to_owned()))
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
        let notes = credit_notes
            .get(&overview.invoice_id)
            .map_or(&[][..], Vec::as_slice);
        let mut recorded = document.receivable_events(notes);
        let history = document.receivable_history(notes);
        // The replay's order: by day, ties as recorded (a stable sort, as
        // the history sorts its events).
        recorded.sort_by_key(|(event, _)| event.on);
        let steps = history.steps()?;
        // The VAT breakdown as it stands: credit notes lower it.
        let mut standing = lines;
        for ((step, before), (own, source)) in steps.iter().zip(&recorded) {
            if step != own {
                return Err(DomainError::invalid(
                    "events",
                    format!(
                        "the history of {} replays out of order",
                        overview.invoice_id
                    ),
                ));
            }
            let day = step.on;
            match source {
                RecordedEvent::CreditNote(note) => {
                    for credited in tax_lines(note)? {
                        if let Some(line) = standing.iter_mut().find(|line| {
                            line.category == credited.category && line.rate == credited.rate
                        }) {
                            line.net = line.net.checked_sub(credited.net)?;
                            line.tax = line.tax.checked_sub(credited.tax)?;
                        }
                    }
                }
                RecordedEvent::Charge(charge) => {
                    let kind = match charge.head {
                        ClaimHead::Interest => JournalEventKind::DefaultInterestClaimed {
                            amount: charge.amount,
                        },
                        _ => JournalEventKind::DunningFeeClaimed {
                            amount: charge.amount,
                        },
                    };
                    events.push(event(day, start_of(day), kind));
                }
                RecordedEvent::Payment(payment) => {
                    let at = payment.booked_at.unwrap_or_else(|| start_of(day));
                    let kind = if payment.amount.is_negative() {
                        JournalEventKind::DirectDebitReturned {
                            amount: Money::zero(payment.amount.currency())
                                .checked_sub(payment.amount)?,
                            paid_before: before.paid,
                        }
                    } else if payment.rule == Some(billing_domain::matching::MatchRule::Credit) {
                        JournalEventKind::CustomerCreditApplied {
                            amount: payment.amount,
                            open_before: before.open,
                        }
                    } else {
                        JournalEventKind::PaymentReceived {
                            amount: payment.amount,
                            open_before: before.open,
                            purpose: PaymentPurpose::Statutory,
                        }
                    };
                    events.push(event(day, at, kind));
                    // The bank's fee for a returned direct debit is the
                    // seller's expense, booked with the return.
                    if let Some(fee) = payment.bank_fee.filter(|fee| fee.is_positive()) {
                        events.push(event(day, at, JournalEventKind::BankFee { amount: fee }));
                    }
                }
                RecordedEvent::WriteOff(write_off) => {
                    events.push(event(
                        day,
                        write_off.recorded_at,
                        JournalEventKind::WrittenOff {
                            open: before.open,
                            lines: standing.clone(),
                        },
                    ));
                }
                RecordedEvent::Cancellation(_) | RecordedEvent::Letter(_) => {}
            }
        }
    }
    for credit in &inputs.credits {
        let Some(date) = credit.value_date else {
            continue;
        };
        let kind = match credit.kind {
            // The surplus of a bank entry: money kept for the customer
            // (entries stored before movements carried a kind are these).
            None | Some(CreditKind::Overpayment) if credit.amount.is_positive() => {
                JournalEventKind::CustomerCreditCreated {
                    amount: credit.amount,
                }
            }
            Some(CreditKind::Refund) => JournalEventKind::CustomerCreditRefunded {
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

#[cfg(test)]
mod tests {
    use billing_domain::dunning::BookedCharge;
    use billing_domain::ids::{BillingEntityId, CrmAccountId};
    use billing_domain::invoice::{InvoiceDraft, InvoiceRequest};
    use billing_domain::item::{BillableLine, Item};
    use billing_domain::money::Currency;
    use billing_domain::numbering::InvoiceNumber;
    use billing_domain::party::{
        CountryCode, CustomerAccount, CustomerKind, EmailAddress, Language, PostalAddress,
    };
    use billing_domain::payment::Claims;
    use billing_domain::seller::BillingEntity;
    use billing_store::{InvoiceOverview, RecordedCustomer, RecordedPayment, WriteOff};
    use rust_decimal::Decimal;

    use super::*;

    fn eur(cents: i64) -> Money {
        Money::new(Decimal::new(cents, 2), Currency::EUR)
    }

    fn day(text: &str) -> NaiveDate {
        text.parse().expect("a date")
    }

    fn claims(costs: i64, interest: i64, principal: i64) -> Claims {
        Claims {
            costs: eur(costs),
            interest: eur(interest),
            principal: eur(principal),
        }
    }

    /// An invoice of 100.00 net at 19 % (119.00) issued on 4 May, with a
    /// letter on 1 June that claimed a 5.00 fee and 1.20 interest, a payment of
    /// 50.00 on 3 June, its return on 10 June, and its write-off on 20 June.
    fn inputs() -> JournalInputs {
        let entity: BillingEntity =
            serde_json::from_str(include_str!("../../../docs/examples/billing-entity.json"))
                .expect("the example seller");
        let account = CustomerAccount {
            id: AccountId::new("acc_1"),
            crm_id: CrmAccountId::new("crm-1"),
            billing_entity_id: entity.id.clone(),
            name: "Muster Handel GmbH".into(),
            address: PostalAddress {
                street: "Hauptstraße 5".into(),
                additional_line: None,
                postal_code: Some("50667".into()),
                city: "Köln".into(),
                country: CountryCode::DE,
            },
            vat_id: None,
            invoice_emails: vec![EmailAddress::parse("a@example.org").expect("an address")],
            language: Language::De,
            currency: Currency::EUR,
            payment_terms_days: 14,
            payment_date_agreed: false,
            kind: CustomerKind::Business,
            leitweg_id: None,
            electronic_address: None,
        };
        let request = InvoiceRequest::new(
            InvoiceId::new("inv_1"),
            day("2026-05-04"),
            vec![BillableLine::new(Item::new(
                "Beratung",
                Decimal::ONE,
                eur(10_000),
            ))],
        );
        let invoice = InvoiceDraft::build(&entity, &account, request)
            .expect("an invoice")
            .finalize(InvoiceNumber::new("RE-2026-000001"));
        let overview = InvoiceOverview {
            invoice_id: InvoiceId::new("inv_1"),
            invoice_number: "RE-2026-000001".into(),
            account_id: account.id.clone(),
            billing_entity_id: BillingEntityId::new(entity.id.as_str()),
            document_type: billing_domain::numbering::DocumentType::Invoice,
            status: billing_store::InvoiceStatus::WrittenOff,
            issue_date: day("2026-05-04"),
            due_date: day("2026-05-18"),
            total: eur(11_900),
            open_amount: eur(0),
            paid_in_full_on: None,
            dunning_level: 1,
            delivery_status: None,
            document_status: None,
            dunning_blocked: false,
            disputed: false,
            collection_since: None,
            revision: 2,
        };
        let payment = |date: &str, cents: i64| RecordedPayment {
            amount: eur(cents),
            value_date: day(date),
            booked_at: None,
            rule: Some(billing_domain::matching::MatchRule::CreditorReference),
            statement_id: Some("stmt".into()),
            entry_id: Some(date.into()),
            return_reason: None,
            bank_fee: None,
        };
        // The collection came back (AM04) and the bank charged 3.00 for it.
        let returned = RecordedPayment {
            return_reason: Some("AM04".into()),
            bank_fee: Some(eur(300)),
            ..payment("2026-06-10", -5_000)
        };
        JournalInputs {
            documents: vec![RecordedDocument {
                overview,
                invoice: Some(invoice),
                recorded_at: None,
                preceding_invoice_id: None,
                cancellation: false,
                payments: vec![payment("2026-06-03", 5_000), returned],
                letters: vec![],
                charges: vec![
                    BookedCharge {
                        claimed_on: day("2026-06-01"),
                        head: ClaimHead::Costs,
                        amount: eur(500),
                    },
                    BookedCharge {
                        claimed_on: day("2026-06-01"),
                        head: ClaimHead::Interest,
                        amount: eur(120),
                    },
                ],
                written_off: Some(WriteOff {
                    on: day("2026-06-20"),
                    amount: eur(11_900),
                    reason: "insolvent".into(),
                    by: "clerk".into(),
                    recorded_at: "2026-06-20T09:00:00Z".parse().expect("a time"),
                }),
            }],
            customers: vec![RecordedCustomer {
                account,
                debtor_account: Some(10000),
            }],
            credits: vec![],
        }
    }

    #[test]
    fn an_invoices_life_is_replayed_with_what_was_open_per_head() {
        let debtor = AccountNumber::parse("10000", "debtor").expect("an account");
        let debtors = HashMap::from([(AccountId::new("acc_1"), debtor.clone())]);
        let events = journal_events(&inputs(), &debtors).expect("events");
        let kinds: Vec<(NaiveDate, &JournalEventKind)> =
            events.iter().map(|e| (e.document.date, &e.kind)).collect();
        assert!(
            events
                .iter()
                .all(|e| e.debtor_account == debtor && e.invoice_number == "RE-2026-000001")
        );
        let lines = vec![TaxLine {
            category: billing_domain::tax::VatCategoryCode::S,
            rate: Decimal::from(19),
            net: eur(10_000),
            tax: eur(1_900),
        }];
        assert_eq!(
            kinds,
            [
                (
                    day("2026-05-04"),
                    &JournalEventKind::InvoiceIssued {
                        lines: lines.clone()
                    }
                ),
                (
                    day("2026-06-01"),
                    &JournalEventKind::DunningFeeClaimed { amount: eur(500) }
                ),
                (
                    day("2026-06-01"),
                    &JournalEventKind::DefaultInterestClaimed { amount: eur(120) }
                ),
                // §367 BGB: the fee, then the interest, then 43.80 principal.
                (
                    day("2026-06-03"),
                    &JournalEventKind::PaymentReceived {
                        amount: eur(5_000),
                        open_before: claims(500, 120, 11_900),
                        purpose: PaymentPurpose::Statutory,
                    }
                ),
                // The return reopens the principal first.
                (
                    day("2026-06-10"),
                    &JournalEventKind::DirectDebitReturned {
                        amount: eur(5_000),
                        paid_before: claims(500, 120, 4_380),
                    }
                ),
                // The bank's fee for the return is the seller's expense.
                (
                    day("2026-06-10"),
                    &JournalEventKind::BankFee { amount: eur(300) }
                ),
                (
                    day("2026-06-20"),
                    &JournalEventKind::WrittenOff {
                        open: claims(500, 120, 11_900),
                        lines,
                    }
                ),
            ]
        );
    }

    #[test]
    fn a_customer_without_a_debtor_account_is_named() {
        let error = journal_events(&inputs(), &HashMap::new()).unwrap_err();
        assert!(error.to_string().contains("acc_1"), "{error}");
    }
}
