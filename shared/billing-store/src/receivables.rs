//! Receivables as of a past date: each invoice with what was recorded on it
//! (payments and returns with their value dates, credit notes and
//! cancellations with their issue dates, dunning letters with the day they
//! were sent), for [`billing_domain::receivables::ReceivableHistory::as_of`].
//!
//! Reads: the invoices and credit notes issued on or before the day (one
//! Query series on `ByEntity` or `ByAccount`); for every invoice that ever
//! had a payment, correction or letter (`payment_version` or
//! `dunning_level` set) one Query on its partition, which holds its item
//! (the letters, `dunning_sent`) and its `PAYMENT#` items; for every credit
//! note whose index copy does not name its original
//! (`preceding_invoice_id` is not projected into `ByEntity`) one GetItem.
//! The reads are sequential: a past date is a report, not the morning view
//! (today's aging reads only the open invoices).
//!
//! Every `PAYMENT#` item carries its `value_date` (every booking path writes
//! it, applied customer credit with the day it was applied), so no payment
//! lacks its day. Letters sent before the invoice kept their list
//! (`dunning_level` above the letters listed) count from the due date.

use aws_sdk_dynamodb::types::AttributeValue;
use billing_domain::dunning::{BookedCharge, SentDunningLevel};
use billing_domain::dunning_letter::DunningLetter;
use billing_domain::ids::{AccountId, BillingEntityId, InvoiceId};
use billing_domain::invoice::Invoice;
use billing_domain::matching::MatchRule;
use billing_domain::money::{Currency, Money};
use billing_domain::numbering::DocumentType;
use billing_domain::party::CustomerAccount;
use billing_domain::payment::ClaimHead;
use billing_domain::receivables::{ReceivableChange, ReceivableEvent, ReceivableHistory};
use chrono::{DateTime, NaiveDate, Utc};
use std::collections::HashMap;

use crate::attributes::{Item, read_body, read_optional_s, read_optional_time};
use crate::codec::credit::CreditKind;
use crate::codec::invoice::{ENTITY_KEY, ENTITY_SORT};
use crate::codec::{self, ACCOUNT_KEY, ACCOUNT_SORT, Attr, ItemAttributes};
use crate::invoice::InvoiceStatus;
use crate::invoice::change::WriteOff;
use crate::invoice::overview::InvoiceFilter;
use crate::keys::CREDIT_PREFIX;
use crate::page::{Page, query_page};
use crate::payment::{booked_payment, read_amount};
use crate::{BillingStore, InvoiceOverview, StoreError, keys};

impl BillingStore {
    /// The seller's invoices in `currency` issued on or before `day`, each
    /// with its recorded events (see the module documentation).
    pub async fn entity_receivable_histories(
        &self,
        entity: &BillingEntityId,
        currency: Currency,
        day: NaiveDate,
    ) -> Result<Vec<ReceivableHistory>, StoreError> {
        let partition = keys::entity_invoices(entity);
        let items = self
            .issued_through("ByEntity", ENTITY_KEY, ENTITY_SORT, &partition, day)
            .await?;
        let items: Vec<Item> = items
            .into_iter()
            .filter(|item| read_optional_s(item, codec::invoice::CURRENCY) == Some(currency.code()))
            .collect();
        self.histories(&items).await
    }

    /// An account's invoices (every currency) issued on or before `day`,
    /// each with its recorded events.
    pub async fn account_receivable_histories(
        &self,
        account: &AccountId,
        day: NaiveDate,
    ) -> Result<Vec<ReceivableHistory>, StoreError> {
        let partition = keys::account_partition(account);
        let items = self
            .issued_through("ByAccount", ACCOUNT_KEY, ACCOUNT_SORT, &partition, day)
            .await?;
        self.histories(&items).await
    }

    async fn issued_through(
        &self,
        index: &str,
        hash: Attr,
        range: Attr,
        partition: &str,
        day: NaiveDate,
    ) -> Result<Vec<Item>, StoreError> {
        let filter = InvoiceFilter {
            issued_to: Some(day),
            ..InvoiceFilter::default()
        };
        let mut all = Vec::new();
        let mut page = Page::first(crate::MAX_PAGE_LIMIT);
        loop {
            let query = self.invoice_query(index, hash, range, partition, &filter);
            let (items, next) = query_page(query, (hash, partition), &page).await?;
            all.extend(items.into_iter().filter(|item| {
                read_optional_s(item, codec::invoice::STATUS) != Some("unnumbered")
                    && read_optional_s(item, codec::invoice::INVOICE_ID).is_some()
            }));
            match next {
                Some(cursor) => page.cursor = Some(cursor),
                None => return Ok(all),
            }
        }
    }

    async fn histories(&self, items: &[Item]) -> Result<Vec<ReceivableHistory>, StoreError> {
        let records = self.recorded_documents(items, false).await?;
        let credit_notes = credit_notes_by_original(&records);
        Ok(records
            .iter()
            .map(|record| {
                let notes = credit_notes
                    .get(&record.overview.invoice_id)
                    .map_or(&[][..], Vec::as_slice);
                record.receivable_history(notes)
            })
            .collect())
    }

    /// The seller's documents with everything recorded on them that the
    /// booking journal of the months `from..=through` needs: every
    /// invoice and credit note issued in them, and every earlier invoice
    /// something was recorded on since (a payment, a return, a letter, a
    /// write-off), each read in full (its body carries the VAT breakdown);
    /// the customer credit movements and debtor accounts
    /// of their customers. The same read as the receivables histories
    /// ([`BillingStore::entity_receivable_histories`]), with the bodies.
    pub async fn journal_inputs(
        &self,
        entity: &BillingEntityId,
        from: NaiveDate,
        through: NaiveDate,
    ) -> Result<JournalInputs, StoreError> {
        let partition = keys::entity_invoices(entity);
        let items = self
            .issued_through("ByEntity", ENTITY_KEY, ENTITY_SORT, &partition, through)
            .await?;
        let items: Vec<Item> = items
            .into_iter()
            .filter(|item| {
                let issued_in_range = read_optional_s(item, codec::invoice::ISSUE_DATE)
                    .and_then(|d| d.parse::<NaiveDate>().ok())
                    .is_some_and(|d| d >= from);
                issued_in_range || touched(item)
            })
            .collect();
        let documents = self.recorded_documents(&items, true).await?;
        let mut accounts: Vec<AccountId> = documents
            .iter()
            .map(|d| d.overview.account_id.clone())
            .collect();
        accounts.sort();
        accounts.dedup();
        let mut customers = Vec::with_capacity(accounts.len());
        let mut credits = Vec::new();
        for account in &accounts {
            let what = format!("account {account}");
            let Some(stored) = self.account(account).await? else {
                return Err(StoreError::corrupt(
                    &what,
                    "its invoices name a missing account",
                ));
            };
            customers.push(RecordedCustomer {
                debtor_account: self.debtor_account(account).await?,
                account: stored.account,
            });
            for item in self
                .query_prefix(keys::account_partition(account), CREDIT_PREFIX)
                .await?
            {
                credits.push(RecordedCredit::read(account, &item, &what)?);
            }
        }
        Ok(JournalInputs {
            documents,
            customers,
            credits,
        })
    }

    /// Each listed invoice or credit note with what was recorded on it:
    /// one Query of its partition when something was (or when `full`,
    /// which also reads its body), one GetItem for a credit note whose
    /// index copy does not name its original.
    async fn recorded_documents(
        &self,
        items: &[Item],
        full: bool,
    ) -> Result<Vec<RecordedDocument>, StoreError> {
        let mut records = Vec::with_capacity(items.len());
        for item in items {
            let overview = InvoiceOverview::read(item, "invoice")?;
            let what = format!("invoice {}", overview.invoice_id);
            let partition =
                if full || (overview.document_type != DocumentType::CreditNote && touched(item)) {
                    self.query_partition(keys::invoice(&overview.invoice_id).0)
                        .await?
                } else {
                    Vec::new()
                };
            let own = partition
                .iter()
                .find(|part| read_optional_s(part, codec::SK) == Some("INVOICE"));
            let mut preceding_invoice_id =
                read_optional_s(item, codec::invoice::PRECEDING_INVOICE_ID)
                    .or_else(|| {
                        own.and_then(|own| {
                            read_optional_s(own, codec::invoice::PRECEDING_INVOICE_ID)
                        })
                    })
                    .map(InvoiceId::new);
            if overview.document_type == DocumentType::CreditNote
                && preceding_invoice_id.is_none()
                && own.is_none()
            {
                preceding_invoice_id = self
                    .get(keys::invoice(&overview.invoice_id))
                    .await?
                    .and_then(|full| {
                        read_optional_s(&full, codec::invoice::PRECEDING_INVOICE_ID)
                            .map(InvoiceId::new)
                    });
            }
            // A credit note of the run (a negative total) credits no invoice.
            let cancellation = preceding_invoice_id.as_ref().is_some_and(|original| {
                overview.invoice_id.as_str()
                    == keys::derived_id("inv", &[original.as_str(), "cancellation"])
            });
            let mut record = RecordedDocument {
                invoice: None,
                recorded_at: None,
                preceding_invoice_id,
                cancellation,
                payments: Vec::new(),
                letters: Vec::new(),
                charges: Vec::new(),
                written_off: None,
                overview,
            };
            for part in &partition {
                match read_optional_s(part, codec::SK) {
                    Some(sk) if sk.starts_with(keys::PAYMENT_PREFIX) => {
                        let booked = booked_payment(part, &what)?;
                        record.payments.push(RecordedPayment {
                            amount: booked.amount,
                            value_date: booked.value_date,
                            booked_at: read_optional_time(part, codec::payment::BOOKED_AT, &what)?,
                            rule: crate::payment::read_rule(part, &what)?,
                            statement_id: read_optional_s(part, codec::payment::STATEMENT_ID)
                                .map(str::to_owned),
                            entry_id: read_optional_s(part, codec::payment::ENTRY_ID)
                                .map(str::to_owned),
                            return_reason: read_optional_s(part, codec::payment::RETURN_REASON)
                                .map(str::to_owned),
                            bank_fee: read_optional_s(part, codec::payment::BANK_FEE)
                                .map(|fee| {
                                    fee.parse()
                                        .map(|fee| Money::new(fee, booked.amount.currency()))
                                })
                                .transpose()
                                .map_err(|_| {
                                    StoreError::corrupt(&what, "bank_fee is not an amount")
                                })?,
                        });
                    }
                    Some("INVOICE") => {
                        if let Some(text) = read_optional_s(part, codec::invoice::DUNNING_SENT) {
                            record.letters = serde_json::from_str(text).map_err(|e| {
                                StoreError::corrupt(&what, format!("dunning_sent: {e}"))
                            })?;
                        }
                        if let Some(text) = read_optional_s(part, codec::invoice::WRITTEN_OFF) {
                            record.written_off = Some(serde_json::from_str(text).map_err(|e| {
                                StoreError::corrupt(&what, format!("written_off: {e}"))
                            })?);
                        }
                        if full {
                            record.invoice = Some(read_body(part, &what)?);
                            record.recorded_at = read_optional_s(part, codec::invoice::CREATED_AT)
                                .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
                                .map(|t| t.to_utc());
                        }
                    }
                    _ => {}
                }
            }
            // Letters sent before the invoice kept their list count from
            // the due date.
            let listed = record.letters.len() as u32;
            for _ in listed..record.overview.dunning_level {
                record.letters.push(SentDunningLevel {
                    stage: billing_domain::dunning::DunningStage::PaymentReminder,
                    sent_on: record.overview.due_date,
                    payment_deadline: record.overview.due_date,
                });
            }
            records.push(record);
        }
        // What the letters claimed (fees, interest), from each dunned
        // customer's letters: one Query per customer.
        let mut dunned: Vec<AccountId> = records
            .iter()
            .filter(|r| r.overview.dunning_level > 0)
            .map(|r| r.overview.account_id.clone())
            .collect();
        dunned.sort();
        dunned.dedup();
        for account in &dunned {
            let letters = self.letters_of_account(account).await?;
            for record in records
                .iter_mut()
                .filter(|r| &r.overview.account_id == account)
            {
                record.charges = claimed_charges(&letters, &record.overview.invoice_id)?;
            }
        }
        Ok(records)
    }
}

/// What `letters` claimed on one invoice, in letter order: each letter's
/// fee and flat fee as costs on its day, and the interest it adds to the
/// previous letter's (each letter states the interest up to its day).
pub(crate) fn claimed_charges(
    letters: &[DunningLetter],
    invoice: &InvoiceId,
) -> Result<Vec<BookedCharge>, StoreError> {
    let what = format!("letters of invoice {invoice}");
    let mut letters: Vec<&DunningLetter> = letters.iter().collect();
    letters.sort_by_key(|letter| letter.date);
    let mut charges = Vec::new();
    let mut interest_claimed: Option<Money> = None;
    for letter in letters {
        for line in letter
            .lines
            .iter()
            .filter(|line| &line.invoice_id == invoice)
        {
            let fee = line
                .fee
                .checked_add(line.flat_fee)
                .map_err(|e| StoreError::corrupt(&what, e))?;
            if fee.is_positive() {
                charges.push(BookedCharge {
                    claimed_on: letter.date,
                    head: ClaimHead::Costs,
                    amount: fee,
                });
            }
            let before = interest_claimed.unwrap_or_else(|| Money::zero(fee.currency()));
            let added = line
                .interest
                .total
                .checked_sub(before)
                .map_err(|e| StoreError::corrupt(&what, e))?;
            if added.is_positive() {
                interest_claimed = Some(line.interest.total);
                charges.push(BookedCharge {
                    claimed_on: letter.date,
                    head: ClaimHead::Interest,
                    amount: added,
                });
            }
        }
    }
    Ok(charges)
}

impl BillingStore {
    /// The dunning letters recorded for an account (`ByAccount`, the
    /// `LETTER#` entries), oldest first.
    pub(crate) async fn letters_of_account(
        &self,
        account: &AccountId,
    ) -> Result<Vec<DunningLetter>, StoreError> {
        let mut letters = Vec::new();
        for item in self
            .account_entries(account, keys::LETTER_SORT_PREFIX)
            .await?
        {
            let what = format!(
                "dunning letter {}",
                read_optional_s(&item, codec::letter::LETTER_ID).unwrap_or("?")
            );
            letters.push(read_body(&item, &what)?);
        }
        Ok(letters)
    }
}

/// The credit notes among `records`, by the invoice each corrects.
pub fn credit_notes_by_original(
    records: &[RecordedDocument],
) -> HashMap<&InvoiceId, Vec<&RecordedDocument>> {
    let mut notes: HashMap<&InvoiceId, Vec<&RecordedDocument>> = HashMap::new();
    for note in records {
        if let Some(original) = &note.preceding_invoice_id {
            notes.entry(original).or_default().push(note);
        }
    }
    notes
}

/// Where an event of a document's receivable history comes from.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum RecordedEvent<'a> {
    /// A credit note correcting it (its `CreditNote` event).
    CreditNote(&'a RecordedDocument),
    /// That credit note is its cancellation (its `Cancellation` event).
    Cancellation(&'a RecordedDocument),
    /// A dunning letter sent.
    Letter(&'a SentDunningLevel),
    /// Fees or interest a letter claimed.
    Charge(&'a BookedCharge),
    /// A payment or return.
    Payment(&'a RecordedPayment),
    /// Its write-off.
    WriteOff(&'a WriteOff),
}

impl RecordedDocument {
    /// The events of its receivable history, in the order recorded (on one
    /// day: credit notes, letters and what they claimed, payments, the
    /// write-off; [`ReceivableHistory`] keeps that order for ties), each
    /// with where it comes from. `credit_notes` are those correcting it.
    pub fn receivable_events<'a>(
        &'a self,
        credit_notes: &[&'a RecordedDocument],
    ) -> Vec<(ReceivableEvent, RecordedEvent<'a>)> {
        let mut events = Vec::new();
        for note in credit_notes {
            let on = note.overview.issue_date;
            events.push((
                ReceivableEvent {
                    on,
                    change: ReceivableChange::CreditNote(note.overview.total),
                },
                RecordedEvent::CreditNote(note),
            ));
            if note.cancellation {
                events.push((
                    ReceivableEvent {
                        on,
                        change: ReceivableChange::Cancellation,
                    },
                    RecordedEvent::Cancellation(note),
                ));
            }
        }
        for letter in &self.letters {
            events.push((
                ReceivableEvent {
                    on: letter.sent_on,
                    change: ReceivableChange::DunningLetter,
                },
                RecordedEvent::Letter(letter),
            ));
        }
        for charge in &self.charges {
            let change = match charge.head {
                ClaimHead::Interest => ReceivableChange::InterestClaimed(charge.amount),
                _ => ReceivableChange::CostsClaimed(charge.amount),
            };
            events.push((
                ReceivableEvent {
                    on: charge.claimed_on,
                    change,
                },
                RecordedEvent::Charge(charge),
            ));
        }
        for payment in &self.payments {
            events.push((
                ReceivableEvent {
                    on: payment.value_date,
                    change: ReceivableChange::Payment(payment.amount),
                },
                RecordedEvent::Payment(payment),
            ));
        }
        if let Some(write_off) = &self.written_off {
            events.push((
                ReceivableEvent {
                    on: write_off.on,
                    change: ReceivableChange::WriteOff,
                },
                RecordedEvent::WriteOff(write_off),
            ));
        }
        events
    }

    /// Its receivable history (see [`RecordedDocument::receivable_events`]).
    pub fn receivable_history(&self, credit_notes: &[&RecordedDocument]) -> ReceivableHistory {
        let overview = &self.overview;
        ReceivableHistory {
            account_id: overview.account_id.clone(),
            issue_date: overview.issue_date,
            due_date: overview.due_date,
            total: overview.total,
            receivable: overview.document_type == DocumentType::Invoice,
            events: self
                .receivable_events(credit_notes)
                .into_iter()
                .map(|(event, _)| event)
                .collect(),
        }
    }
}

/// Whether anything was recorded on an invoice after it was issued.
fn touched(item: &Item) -> bool {
    matches!(item.attr(codec::invoice::PAYMENT_VERSION), Some(AttributeValue::N(v)) if v != "0")
        || matches!(item.attr(codec::invoice::DUNNING_LEVEL), Some(AttributeValue::N(v)) if v != "0")
        || item.has(codec::invoice::WRITTEN_OFF)
        || read_optional_s(item, codec::invoice::STATUS) == Some(InvoiceStatus::WrittenOff.as_str())
}

/// An invoice or credit note with what was recorded on it.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedDocument {
    /// The summary (amounts, dates, status).
    pub overview: InvoiceOverview,
    /// The document as issued, when read in full (its VAT breakdown).
    pub invoice: Option<Invoice>,
    /// When it was recorded (finalized), when read in full.
    pub recorded_at: Option<DateTime<Utc>>,
    /// For a credit note: the invoice it corrects.
    pub preceding_invoice_id: Option<InvoiceId>,
    /// For a credit note: whether it is that invoice's cancellation.
    pub cancellation: bool,
    /// Payments (positive) and returns (negative), in booking order.
    pub payments: Vec<RecordedPayment>,
    /// The dunning letters sent for it.
    pub letters: Vec<SentDunningLevel>,
    /// The fees and interest its letters claimed, in letter order.
    pub charges: Vec<BookedCharge>,
    /// Its write-off, if it was written off.
    pub written_off: Option<WriteOff>,
}

/// A payment or return booked on an invoice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedPayment {
    /// Positive: paid; negative: returned.
    pub amount: Money,
    /// The bank's value date (the clerk's date for a manual payment, the
    /// day applied for customer credit).
    pub value_date: NaiveDate,
    /// When it was booked (absent on items from before it was kept).
    pub booked_at: Option<DateTime<Utc>>,
    /// How it was matched: `credit` is customer credit applied, not money
    /// from the bank.
    pub rule: Option<MatchRule>,
    /// The statement (or manual booking) it came from.
    pub statement_id: Option<String>,
    /// Its entry in that statement: a surplus kept as customer credit
    /// carries the same statement and entry.
    pub entry_id: Option<String>,
    /// For a returned direct debit: the bank's reason code.
    pub return_reason: Option<String>,
    /// For a returned direct debit: the fee the bank charged for it (the
    /// journal books it as a bank fee).
    pub bank_fee: Option<Money>,
}

/// A customer of the journal's documents, with its debtor account if it
/// has one.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedCustomer {
    /// The account.
    pub account: CustomerAccount,
    /// Its debtor account number.
    pub debtor_account: Option<u32>,
}

/// One movement of a customer's credit (`CREDIT#` item).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedCredit {
    /// The customer.
    pub account_id: AccountId,
    /// Positive: credit arose; negative: applied or refunded.
    pub amount: Money,
    /// The day it arose or was spent.
    pub value_date: Option<NaiveDate>,
    /// What moved it; absent on entries stored before every movement
    /// carried its kind (those are the surplus of a bank entry).
    pub kind: Option<CreditKind>,
    /// When it was recorded.
    pub booked_at: Option<DateTime<Utc>>,
    /// Its statement, for a bank entry's surplus.
    pub statement_id: Option<String>,
    /// Its entry in that statement.
    pub entry_id: Option<String>,
}

impl RecordedCredit {
    fn read(account: &AccountId, item: &Item, what: &str) -> Result<Self, StoreError> {
        Ok(Self {
            account_id: account.clone(),
            amount: read_amount(item, what)?,
            value_date: read_optional_s(item, codec::credit::VALUE_DATE)
                .and_then(|d| d.parse().ok()),
            kind: crate::attributes::read_optional_named(
                item,
                codec::credit::KIND,
                what,
                CreditKind::parse,
            )?,
            booked_at: read_optional_time(item, codec::credit::BOOKED_AT, what)?,
            statement_id: read_optional_s(item, codec::credit::STATEMENT_ID).map(str::to_owned),
            entry_id: read_optional_s(item, codec::credit::ENTRY_ID).map(str::to_owned),
        })
    }
}

/// What the booking journal is built from (see
/// [`BillingStore::journal_inputs`]).
#[derive(Debug, Clone, PartialEq)]
pub struct JournalInputs {
    /// Invoices and credit notes with their recorded events.
    pub documents: Vec<RecordedDocument>,
    /// Their customers.
    pub customers: Vec<RecordedCustomer>,
    /// Their customers' credit movements.
    pub credits: Vec<RecordedCredit>,
}

#[cfg(test)]
mod tests {
    use billing_domain::dunning::{DefaultInterest, DunningStage};
    use billing_domain::dunning_letter::LetterLine;
    use billing_domain::ids::BillingEntityId;
    use billing_domain::party::Language;
    use rust_decimal::Decimal;

    use super::*;

    fn eur(cents: i64) -> Money {
        Money::new(Decimal::new(cents, 2), Currency::EUR)
    }

    fn letter(date: &str, lines: Vec<(&str, i64, i64, i64)>) -> DunningLetter {
        let day: NaiveDate = date.parse().expect("a date");
        DunningLetter {
            letter_id: format!("let-{date}"),
            billing_entity_id: BillingEntityId::new("e1"),
            account_id: AccountId::new("a1"),
            language: Language::De,
            date: day,
            stage: DunningStage::FirstNotice,
            lines: lines
                .into_iter()
                .map(|(invoice, fee, flat_fee, interest)| LetterLine {
                    invoice_id: InvoiceId::new(invoice),
                    number: invoice.to_owned(),
                    issue_date: day,
                    due_date: day,
                    open_amount: eur(11_900),
                    level: 1,
                    stage: DunningStage::FirstNotice,
                    fee: eur(fee),
                    flat_fee: eur(flat_fee),
                    earlier_fees: eur(0),
                    interest: DefaultInterest {
                        principal: eur(11_900),
                        periods: Vec::new(),
                        total: eur(interest),
                    },
                    total: eur(11_900 + fee + flat_fee + interest),
                })
                .collect(),
            total_due: eur(0),
            payment_deadline: day,
        }
    }

    #[test]
    fn each_letter_claims_its_fees_and_the_interest_it_adds() {
        // Given in any order: the later letter restates the interest to
        // its day (3.00), of which 1.20 was claimed before.
        let letters = [
            letter("2026-06-20", vec![("inv_1", 0, 4_000, 300)]),
            letter(
                "2026-06-01",
                vec![("inv_1", 500, 0, 120), ("inv_2", 500, 0, 90)],
            ),
        ];
        let charges = claimed_charges(&letters, &InvoiceId::new("inv_1")).expect("charges");
        let day = |d: &str| d.parse::<NaiveDate>().expect("a date");
        let got: Vec<(NaiveDate, ClaimHead, Money)> = charges
            .iter()
            .map(|c| (c.claimed_on, c.head, c.amount))
            .collect();
        assert_eq!(
            got,
            [
                (day("2026-06-01"), ClaimHead::Costs, eur(500)),
                (day("2026-06-01"), ClaimHead::Interest, eur(120)),
                (day("2026-06-20"), ClaimHead::Costs, eur(4_000)),
                (day("2026-06-20"), ClaimHead::Interest, eur(180)),
            ]
        );
        assert!(
            claimed_charges(&letters, &InvoiceId::new("inv_3"))
                .expect("charges")
                .is_empty()
        );
    }
}
