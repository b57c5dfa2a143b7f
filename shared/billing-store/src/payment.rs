//! Payments on invoices: bank lines booked against invoices, customer
//! credit, the review list, and imported statements.
//!
//! One bank entry is booked in one transaction: a `PAYMENT#` item per
//! invoice it pays (put with `attribute_not_exists`), each invoice's open
//! amount and status (conditioned on the `payment_version` read), the
//! removal of a paid invoice's dunning index keys, customer credit for a
//! surplus, and the entry's marker in its statement's partition. A replay
//! fails on the first condition and changes nothing.

use crate::codec::credit::{CreditKind, CreditMovement};
use crate::codec::{self, Attr, ItemAttributes, Named, PK, REVISION};
use crate::keys::CREDIT_PREFIX;
use crate::page::{Page, Paged};
use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem, Update};
use billing_domain::ids::{AccountId, BillingEntityId, InvoiceId};
use billing_domain::matching::{MatchRule, OpenInvoice};
use billing_domain::money::{Currency, Money};
use billing_domain::numbering::DocumentType;
use billing_domain::numbering::InvoiceNumber;
use billing_domain::payment::{ChargedBooking, Charges, Claims, PaymentStatus, PaymentSummary};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::attributes::{Item, key_item, n, read_optional_s, read_s, s, time};
use crate::invoice::InvoiceStatus;
use crate::transaction::{Outcome, Retry, transaction_update};
use crate::{BillingStore, StoreError, keys};

/// An invoice's payment state as stored beside the immutable body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvoicePayments {
    /// Which invoice.
    pub invoice_id: InvoiceId,
    /// Its number.
    pub number: InvoiceNumber,
    /// Its customer.
    pub account_id: AccountId,
    /// Its seller.
    pub billing_entity_id: BillingEntityId,
    /// Invoice or credit note.
    pub document_type: DocumentType,
    /// Issue date (splits pay the oldest first).
    pub issue_date: NaiveDate,
    /// Due date (on-time rates).
    pub due_date: NaiveDate,
    /// Open, partially paid or paid, with the amounts: of the principal
    /// (the invoice's gross amount), so `open` is the principal still open.
    pub summary: PaymentSummary,
    /// Costs and interest its dunning letters claimed (`fees_charged`,
    /// `interest_claimed`) and what payments settled of them (`costs_paid`,
    /// `interest_paid`): a payment settles these first (§367(1) BGB).
    pub charges: Charges,
    /// Highest dunning level sent (0: none); a payment's booking is
    /// conditioned on it, so a letter claiming more costs in between makes
    /// the payment read again.
    pub dunning_level: u32,
    /// Version the next payment booking must expect.
    pub payment_version: u64,
    /// The day it was last paid in full (payment behaviour data).
    pub paid_in_full_on: Option<NaiveDate>,
    /// Whether it was cancelled (nothing can be booked on it any more).
    pub cancelled: bool,
    /// Whether it was written off (a late payment goes to review: the
    /// clerk decides, nothing is booked on it automatically).
    pub written_off: bool,
    /// Staff-write revision (see [`crate::audit`]).
    pub revision: u64,
}

impl InvoicePayments {
    pub(crate) fn read(item: &Item, what: &str) -> Result<Self, StoreError> {
        let currency = Currency::from_code(read_s(item, codec::invoice::CURRENCY, what)?)
            .map_err(|e| StoreError::corrupt(what, e))?;
        let money = |name: Attr| -> Result<Option<Money>, StoreError> {
            read_optional_s(item, name)
                .map(|text| {
                    text.parse()
                        .map(|amount| Money::new(amount, currency))
                        .map_err(|_| {
                            StoreError::corrupt(what, format!("{} is not an amount", name.name()))
                        })
                })
                .transpose()
        };
        let total = money(codec::invoice::TOTAL)?
            .ok_or_else(|| StoreError::corrupt(what, "total is missing"))?;
        let paid = money(codec::invoice::PAID_AMOUNT)?.unwrap_or_else(|| Money::zero(currency));
        // Credit notes lower what the invoice asks for; the document's
        // `total` stays what it printed.
        let credited =
            money(codec::invoice::CREDITED_AMOUNT)?.unwrap_or_else(|| Money::zero(currency));
        // A write-off lowers it the same way: nothing is open afterwards.
        let written_off =
            money(codec::invoice::WRITTEN_OFF_AMOUNT)?.unwrap_or_else(|| Money::zero(currency));
        let due = total
            .checked_sub(credited)
            .and_then(|due| due.checked_sub(written_off))
            .map_err(|e| StoreError::corrupt(what, e))?;
        let summary =
            PaymentSummary::from_paid(due, paid).map_err(|e| StoreError::corrupt(what, e))?;
        let zero = Money::zero(currency);
        let charges = Charges {
            claimed: Claims {
                costs: money(codec::invoice::FEES_CHARGED)?.unwrap_or(zero),
                interest: money(codec::invoice::INTEREST_CLAIMED)?.unwrap_or(zero),
                principal: zero,
            },
            paid: Claims {
                costs: money(codec::invoice::COSTS_PAID)?.unwrap_or(zero),
                interest: money(codec::invoice::INTEREST_PAID)?.unwrap_or(zero),
                principal: zero,
            },
        };
        let date = |name: Attr| -> Result<Option<NaiveDate>, StoreError> {
            read_optional_s(item, name)
                .map(|text| {
                    text.parse().map_err(|_| {
                        StoreError::corrupt(what, format!("{} is not a date", name.name()))
                    })
                })
                .transpose()
        };
        let document_type = match read_optional_s(item, codec::invoice::DOCUMENT_TYPE).or(
            match item.attr(codec::invoice::DOCUMENT_TYPE) {
                Some(AttributeValue::N(code)) => Some(code.as_str()),
                _ => None,
            },
        ) {
            Some("381") => DocumentType::CreditNote,
            _ => DocumentType::Invoice,
        };
        Ok(Self {
            invoice_id: InvoiceId::new(read_s(item, codec::invoice::INVOICE_ID, what)?),
            number: InvoiceNumber::new(read_s(item, codec::invoice::INVOICE_NUMBER, what)?),
            account_id: AccountId::new(read_s(item, codec::invoice::ACCOUNT_ID, what)?),
            billing_entity_id: BillingEntityId::new(read_s(
                item,
                codec::invoice::BILLING_ENTITY_ID,
                what,
            )?),
            document_type,
            issue_date: date(codec::invoice::ISSUE_DATE)?
                .ok_or_else(|| StoreError::corrupt(what, "issue_date is missing"))?,
            due_date: date(codec::invoice::DUE_DATE)?
                .ok_or_else(|| StoreError::corrupt(what, "due_date is missing"))?,
            summary,
            charges,
            dunning_level: match item.attr(codec::invoice::DUNNING_LEVEL) {
                Some(AttributeValue::N(v)) => v
                    .parse()
                    .map_err(|_| StoreError::corrupt(what, "dunning_level is not a number"))?,
                _ => 0,
            },
            payment_version: match item.attr(codec::invoice::PAYMENT_VERSION) {
                Some(AttributeValue::N(v)) => v
                    .parse()
                    .map_err(|_| StoreError::corrupt(what, "payment_version is not a number"))?,
                _ => 0,
            },
            paid_in_full_on: date(codec::invoice::PAID_IN_FULL_ON)?,
            cancelled: read_optional_s(item, codec::invoice::STATUS)
                == Some(InvoiceStatus::Cancelled.as_str()),
            written_off: item.has(codec::invoice::WRITTEN_OFF),
            revision: crate::audit::read_revision(item, what)?,
        })
    }

    /// Everything still owed on it: the open principal and the open costs
    /// and interest its letters claimed (what a letter's total asks for).
    pub fn owed(&self) -> Result<Money, StoreError> {
        let what = || format!("invoice {}", self.invoice_id);
        self.charges
            .open()
            .and_then(|open| open.total())
            .and_then(|charges| charges.checked_add(self.summary.open))
            .map_err(|e| StoreError::corrupt(what(), e))
    }

    /// What booking `amount` (negative: a return) on it does: costs, then
    /// interest, then the principal (§367(1) BGB); see
    /// [`PaymentSummary::book_with_charges`], the one decision every
    /// payment path (bank entries, assigned review entries, manual
    /// payments, applied customer credit, returns) takes.
    pub fn book(&self, amount: Money) -> Result<ChargedBooking, billing_domain::DomainError> {
        self.summary.book_with_charges(&self.charges, amount)
    }

    /// The invoice as matching sees it: open is everything owed on it, so
    /// a transfer of a dunning letter's total settles the invoice rather
    /// than leaving the letter's charges as customer credit.
    pub fn open_invoice(&self) -> Result<OpenInvoice, StoreError> {
        Ok(OpenInvoice {
            invoice_id: self.invoice_id.clone(),
            number: self.number.clone(),
            issue_date: self.issue_date,
            open: self.owed()?,
        })
    }
}

/// One part of a bank entry, booked against one invoice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvoiceBooking {
    /// The invoice.
    pub invoice_id: InvoiceId,
    /// Positive: a payment; negative: a return that reopens.
    pub amount: Money,
}

/// Everything one bank entry books, in one transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryBooking {
    /// The statement the entry belongs to (see [`statement_key`]).
    pub statement_id: String,
    /// The entry's identity within the statement.
    pub entry_id: String,
    /// Parts per invoice (already split oldest first).
    pub invoices: Vec<InvoiceBooking>,
    /// Surplus for the customer's account.
    pub credit: Option<(AccountId, Money)>,
    /// Value date.
    pub value_date: NaiveDate,
    /// Which rule matched.
    pub rule: MatchRule,
    /// Why, in words, for staff (no personal data).
    pub reason: String,
    /// When it was booked.
    pub booked_at: DateTime<Utc>,
}

/// What booking an entry did.
#[derive(Debug, Clone, PartialEq)]
pub enum EntryBooked {
    /// Booked now; the invoices' new states.
    Booked(Vec<PaymentSummary>),
    /// This entry was booked before: nothing changed.
    AlreadyBooked,
    /// The amounts cannot be booked (e.g. a return larger than what was
    /// paid): nothing changed; the entry belongs on the review list.
    Refused(String),
}

/// A bank entry a person must look at: no rule matched, or more than one
/// invoice could be meant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReviewEntry {
    /// The statement.
    pub statement_id: String,
    /// The entry's identity within it.
    pub entry_id: String,
    /// Credit or debit, signed.
    pub amount: Money,
    /// Booking date.
    pub booking_date: NaiveDate,
    /// Value date.
    pub value_date: Option<NaiveDate>,
    /// Structured reference, if the entry had one.
    pub creditor_reference: Option<String>,
    /// Remittance text as received.
    pub remittance: Option<String>,
    /// The bank's return reason code, for debits.
    pub return_reason: Option<String>,
    /// Why it is here.
    pub reason: String,
    /// Invoices it might be meant for (ambiguous matches).
    #[serde(default)]
    pub candidates: Vec<InvoiceNumber>,
    /// When it was put here.
    pub since: DateTime<Utc>,
}

/// The record that a statement was imported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatementRecord {
    /// See [`statement_key`].
    pub statement_id: String,
    /// Where the file came from (bucket key).
    pub source: String,
    /// Entries booked.
    pub booked: usize,
    /// Entries put on the review list.
    pub for_review: usize,
    /// Entries skipped (debits without return reason, zero).
    pub ignored: usize,
    /// When the import finished.
    pub imported_at: DateTime<Utc>,
}

/// The identity of a statement: message id and statement id, as the bank
/// assigns them (a statement is the same statement in any file name), for
/// the entity whose account it is.
pub fn statement_key(entity: &BillingEntityId, message_id: &str, statement_id: &str) -> String {
    keys::derived_id("stm", &[entity.as_str(), message_id, statement_id])
}

/// Stable id of the payment an entry books on an invoice.
pub fn payment_id(statement_id: &str, entry_id: &str, invoice: &InvoiceId) -> String {
    keys::derived_id("pay", &[statement_id, entry_id, invoice.as_str()])
}

/// How often an entry's booking is tried when a payment on one of its
/// invoices raced it.
const BOOKING_ATTEMPTS: u32 = 5;

/// The `amount` and `currency` of a payment or credit item.
/// A `PAYMENT#` item as dunning sees it: amount and value date.
pub(crate) fn booked_payment(
    item: &Item,
    what: &str,
) -> Result<billing_domain::dunning::BookedPayment, StoreError> {
    Ok(billing_domain::dunning::BookedPayment {
        value_date: read_s(item, codec::payment::VALUE_DATE, what)?
            .parse()
            .map_err(|_| StoreError::corrupt(what, "value_date is not a date"))?,
        amount: read_amount(item, what)?,
    })
}

pub(crate) fn read_amount(item: &Item, what: &str) -> Result<Money, StoreError> {
    let currency = Currency::from_code(read_s(item, codec::payment::CURRENCY, what)?)
        .map_err(|e| StoreError::corrupt(what, e))?;
    let amount = read_s(item, codec::payment::AMOUNT, what)?
        .parse()
        .map_err(|_| StoreError::corrupt(what, "amount is not an amount"))?;
    Ok(Money::new(amount, currency))
}

/// The rule that booked a payment; an unknown name is corrupt data, not a
/// new rule to pass on.
pub(crate) fn read_rule(item: &Item, what: &str) -> Result<Option<MatchRule>, StoreError> {
    crate::attributes::read_optional_named(item, codec::payment::RULE, what, MatchRule::parse)
}

impl BillingStore {
    /// The payment state of an invoice, read strongly consistent.
    pub async fn invoice_payments(
        &self,
        id: &InvoiceId,
    ) -> Result<Option<InvoicePayments>, StoreError> {
        let what = format!("invoice {id}");
        self.get_as(keys::invoice(id), |item| InvoicePayments::read(item, &what))
            .await
    }

    /// Invoices carrying `reference` as payment reference (index
    /// `ByPaymentReference`; usually one).
    pub async fn invoices_by_payment_reference(
        &self,
        reference: &str,
    ) -> Result<Vec<InvoicePayments>, StoreError> {
        self.invoices_by_index(
            "ByPaymentReference",
            codec::invoice::PAYMENT_REFERENCE,
            reference,
        )
        .await
    }

    /// The invoice of an entity with a number (index `ByInvoiceNumber`).
    pub async fn invoices_by_number(
        &self,
        entity: &BillingEntityId,
        number: &InvoiceNumber,
    ) -> Result<Vec<InvoicePayments>, StoreError> {
        self.invoices_by_index(
            "ByInvoiceNumber",
            codec::invoice::INVOICE_NUMBER_KEY,
            &keys::invoice_number(entity, number.as_str()),
        )
        .await
    }

    async fn invoices_by_index(
        &self,
        index: &str,
        attribute: Attr,
        value: &str,
    ) -> Result<Vec<InvoicePayments>, StoreError> {
        let query = self
            .db
            .query()
            .table_name(&self.table)
            .index_name(index)
            .key_condition_expression(format!("{attribute} = :v"))
            .expression_attribute_values(":v", s(value))
            .named();
        let mut ids = Vec::new();
        for key in self.query_pages(query).await?.items {
            let pk = read_s(&key, codec::PK, index)?;
            if let Some(id) = pk.strip_prefix(keys::INVOICE_PARTITION_PREFIX) {
                ids.push(InvoiceId::new(id));
            }
        }
        let mut found = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(invoice) = self.invoice_payments(&id).await? {
                found.push(invoice);
            }
        }
        Ok(found)
    }

    /// The open (or partially paid) invoices of an account, oldest first
    /// (index `ByAccount`).
    pub async fn open_invoices_of_account(
        &self,
        account: &AccountId,
    ) -> Result<Vec<InvoicePayments>, StoreError> {
        let mut found = Vec::new();
        for item in self
            .account_entries(account, keys::INVOICE_SORT_PREFIX)
            .await?
        {
            let invoice = InvoicePayments::read(&item, "ByAccount entry")?;
            if invoice.document_type == DocumentType::Invoice && invoice.summary.open.is_positive()
            {
                found.push(invoice);
            }
        }
        found.sort_by(|a, b| {
            a.issue_date
                .cmp(&b.issue_date)
                .then_with(|| a.number.as_str().cmp(b.number.as_str()))
        });
        Ok(found)
    }

    /// The account a bank account paid for before, if it was ever matched.
    pub async fn payer_account(
        &self,
        entity: &BillingEntityId,
        account_number: &str,
    ) -> Result<Option<AccountId>, StoreError> {
        let item = self.get(keys::payer_key(entity, account_number)).await?;
        item.as_ref()
            .map(|item| {
                Ok(AccountId::new(read_s(
                    item,
                    codec::payment::ACCOUNT_ID,
                    "payer link",
                )?))
            })
            .transpose()
    }

    /// Remembers which customer a bank account pays for (learned from a
    /// match by reference or number), so later transfers without a
    /// reference can be matched by amount. The key is a hash: the account
    /// number itself is not stored.
    pub async fn remember_payer(
        &self,
        entity: &BillingEntityId,
        account_number: &str,
        account: &AccountId,
    ) -> Result<(), StoreError> {
        let mut item = key_item(keys::payer_key(entity, account_number));
        item.put(codec::RECORD_TYPE, s("payer_link"));
        item.put(codec::payment::ACCOUNT_ID, s(account.as_str()));
        self.put(item).await
    }

    /// Books one entry, all or nothing (see the module docs). The invoices
    /// are read fresh; a concurrent booking on one of them is retried.
    pub async fn book_entry(&self, booking: &EntryBooking) -> Result<EntryBooked, StoreError> {
        self.book_entry_with(booking, None).await
    }

    /// [`BillingStore::book_entry`], for a returned direct debit with what
    /// the bank said about it (see [`crate::DirectDebitReturn`]).
    pub(crate) async fn book_entry_with(
        &self,
        booking: &EntryBooking,
        returned: Option<&crate::DirectDebitReturn>,
    ) -> Result<EntryBooked, StoreError> {
        let mut retry = Retry::Attempts(BOOKING_ATTEMPTS).start();
        while retry.next().await {
            let (items, summaries) = match self.entry_items(booking, None, returned).await? {
                Ok(built) => built,
                Err(refused) => return Ok(EntryBooked::Refused(refused)),
            };
            let cancelled = match self.transact(items).await? {
                Outcome::Written => return Ok(EntryBooked::Booked(summaries)),
                Outcome::Cancelled(cancelled) => cancelled,
            };
            // Item 0 is the entry's marker: booked before.
            if cancelled.condition_failed(0) {
                return Ok(EntryBooked::AlreadyBooked);
            }
            // An invoice moved since it was read (another payment): read again.
            if !cancelled.only_races(|_| true) {
                return Err(cancelled.into_error());
            }
        }
        Err(retry.gave_up(format!("invoices of entry {}", booking.entry_id)))
    }

    /// The items that book one entry, from the invoices read fresh: the
    /// entry's marker first, then per invoice its payment and its new state,
    /// then the customer credit. `Err` holds why the amounts cannot be
    /// booked. A staff booking (`staff`: the invoice and the revision its
    /// clerk read) also checks and bumps that invoice's revision. A returned
    /// direct debit (`returned`) keeps the bank's reason and fee on its
    /// payment item and writes the invoice's audit entry.
    pub(crate) async fn entry_items(
        &self,
        booking: &EntryBooking,
        staff: Option<(&InvoiceId, u64)>,
        returned: Option<&crate::DirectDebitReturn>,
    ) -> Result<Result<(Vec<TransactWriteItem>, Vec<PaymentSummary>), String>, StoreError> {
        {
            let mut items = Vec::new();
            let mut summaries = Vec::new();
            let marker = keys::statement_entry_key(&booking.statement_id, &booking.entry_id);
            let mut marker_item = key_item(marker);
            marker_item.put(codec::RECORD_TYPE, s("statement_entry"));
            marker_item.put(codec::payment::OUTCOME, s("booked"));
            marker_item.put(codec::payment::RULE, s(booking.rule.as_str()));
            items.push(self.put_new(marker_item)?);
            for part in &booking.invoices {
                let what = format!("invoice {}", part.invoice_id);
                let current = self
                    .invoice_payments(&part.invoice_id)
                    .await?
                    .ok_or_else(|| StoreError::NotFound { what: what.clone() })?;
                if current.cancelled {
                    return Ok(Err(format!("{what} is cancelled")));
                }
                if current.written_off {
                    return Ok(Err(format!("{what} is written off")));
                }
                let applied = match current.book(part.amount) {
                    Ok(applied) => applied,
                    Err(e) => return Ok(Err(format!("{what}: {e}"))),
                };
                if !applied.to_credit.is_zero() {
                    return Ok(Err(format!(
                        "{what}: {} exceeds what is owed on it",
                        part.amount
                    )));
                }
                let id = payment_id(&booking.statement_id, &booking.entry_id, &part.invoice_id);
                let mut payment = key_item(keys::payment(&part.invoice_id, &id));
                payment.put(codec::RECORD_TYPE, s("payment"));
                payment.put(codec::payment::PAYMENT_ID, s(&id));
                payment.put(codec::payment::AMOUNT, s(part.amount.amount().to_string()));
                payment.put(codec::payment::CURRENCY, s(part.amount.currency().code()));
                payment.put(
                    codec::payment::VALUE_DATE,
                    s(booking.value_date.to_string()),
                );
                payment.put(codec::payment::RULE, s(booking.rule.as_str()));
                payment.put(codec::payment::REASON, s(&booking.reason));
                payment.put(codec::payment::STATEMENT_ID, s(&booking.statement_id));
                payment.put(codec::payment::ENTRY_ID, s(&booking.entry_id));
                payment.put(codec::payment::BOOKED_AT, time(booking.booked_at));
                if let Some(returned) = returned {
                    if let Some(code) = &returned.reason_code {
                        payment.put(codec::payment::RETURN_REASON, s(code));
                    }
                    if let Some(fee) = returned.bank_fee {
                        if fee.currency() != part.amount.currency() {
                            return Ok(Err(format!(
                                "{what}: the bank's fee is in {}, the return in {}",
                                fee.currency(),
                                part.amount.currency()
                            )));
                        }
                        payment.put(codec::payment::BANK_FEE, s(fee.amount().to_string()));
                    }
                }
                items.push(self.put_new(payment)?);
                let revision = staff
                    .filter(|(id, _)| **id == part.invoice_id)
                    .map(|(_, revision)| revision);
                items.push(self.invoice_payment_update(&current, &applied, booking, revision)?);
                if let Some(returned) = returned {
                    let audit = returned.audit(booking, &current, part.amount, &applied.after);
                    items.extend(audit.transact_items(&self.table)?);
                }
                summaries.push(applied.after);
            }
            if let Some((account, credit)) = &booking.credit {
                let id = keys::derived_id("crd", &[&booking.statement_id, &booking.entry_id]);
                let movement = CreditMovement {
                    account,
                    id: &id,
                    amount: *credit,
                    kind: CreditKind::Overpayment,
                    value_date: booking.value_date,
                    reason: &booking.reason,
                    booked_at: booking.booked_at,
                    bank_entry: Some((&booking.statement_id, &booking.entry_id)),
                };
                items.push(self.put_new(movement.item())?);
            }
            Ok(Ok((items, summaries)))
        }
    }

    /// The invoice's new payment state, conditioned on the version and the
    /// dunning level read (a letter in between claimed more: read again).
    /// Paid (its principal, which §367(1) BGB settles last): leaves the
    /// dunning index and records the day (payment behaviour). Reopened by a
    /// return: back into the dunning index from the value date, unless
    /// blocked, disputed or handed over.
    fn invoice_payment_update(
        &self,
        current: &InvoicePayments,
        applied: &ChargedBooking,
        booking: &EntryBooking,
        revision: Option<u64>,
    ) -> Result<TransactWriteItem, StoreError> {
        use crate::codec::invoice::{
            COSTS_PAID, DUNNING_AT, DUNNING_LEVEL, DUNNING_SHARD, INTEREST_PAID, LAST_PAYMENT_ON,
            OPEN_AMOUNT, OPEN_KEY, PAID_AMOUNT, PAID_IN_FULL_ON, PAID_ON_TIME, PAYMENT_VERSION,
            STATUS, WRITTEN_OFF,
        };
        let after = &applied.after;
        let mut set = vec![
            format!("{STATUS} = :status"),
            format!("{OPEN_AMOUNT} = :open"),
            format!("{PAID_AMOUNT} = :paid"),
            format!("{COSTS_PAID} = :costs_paid"),
            format!("{INTEREST_PAID} = :interest_paid"),
            format!("{PAYMENT_VERSION} = :next"),
            format!("{LAST_PAYMENT_ON} = :day"),
        ];
        let mut remove: Vec<Attr> = Vec::new();
        let paid = after.status == PaymentStatus::Paid;
        let was_paid = current.summary.status == PaymentStatus::Paid;
        if paid {
            set.push(format!("{PAID_IN_FULL_ON} = :day"));
            set.push(format!("{PAID_ON_TIME} = :on_time"));
            remove.push(DUNNING_SHARD);
            remove.push(DUNNING_AT);
            // Leaves the seller's open invoices (today's aging).
            remove.push(OPEN_KEY);
        } else if was_paid {
            remove.push(PAID_IN_FULL_ON);
            remove.push(PAID_ON_TIME);
        }
        // Open (again, after a return): in the seller's open invoices.
        let open_key = (!paid && current.document_type == DocumentType::Invoice)
            .then(|| keys::open_invoices(&current.billing_entity_id, after.open.currency().code()));
        if open_key.is_some() {
            set.push(format!("{OPEN_KEY} = :open_key"));
        }
        if revision.is_some() {
            set.push(format!("{REVISION} = :next_revision"));
        }
        let mut expression = format!("SET {}", set.join(", "));
        if !remove.is_empty() {
            let remove: Vec<String> = remove.iter().map(Attr::to_string).collect();
            expression.push_str(&format!(" REMOVE {}", remove.join(", ")));
        }
        let mut condition = if current.payment_version == 0 {
            format!("attribute_exists({PK}) AND attribute_not_exists({PAYMENT_VERSION})")
        } else {
            format!("{PAYMENT_VERSION} = :version")
        };
        condition.push_str(&format!(
            " AND (attribute_not_exists({STATUS}) OR {STATUS} <> :cancelled) \
             AND attribute_not_exists({WRITTEN_OFF})",
        ));
        condition.push_str(&if current.dunning_level == 0 {
            format!(" AND attribute_not_exists({DUNNING_LEVEL})")
        } else {
            format!(" AND {DUNNING_LEVEL} = :level")
        });
        let revision_value = revision.map(|read| {
            let (check, value) = crate::audit::revision_condition(read);
            condition = format!("{condition} AND {check}");
            (read, value)
        });
        let mut update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key_item(keys::invoice(&current.invoice_id))))
            .update_expression(expression)
            .condition_expression(condition)
            .expression_attribute_values(":status", s(InvoiceStatus::from(after.status).as_str()))
            .expression_attribute_values(":open", s(after.open.amount().to_string()))
            .expression_attribute_values(":paid", s(after.paid.amount().to_string()))
            .expression_attribute_values(
                ":costs_paid",
                s(applied.charges_after.paid.costs.amount().to_string()),
            )
            .expression_attribute_values(
                ":interest_paid",
                s(applied.charges_after.paid.interest.amount().to_string()),
            )
            .expression_attribute_values(":next", n(current.payment_version + 1))
            .expression_attribute_values(":day", s(booking.value_date.to_string()))
            .expression_attribute_values(":cancelled", s(InvoiceStatus::Cancelled.as_str()));
        if current.payment_version > 0 {
            update = update.expression_attribute_values(":version", n(current.payment_version));
        }
        if current.dunning_level > 0 {
            update = update.expression_attribute_values(":level", n(current.dunning_level));
        }
        if let Some((read, value)) = revision_value {
            update = update.expression_attribute_values(":next_revision", n(read + 1));
            if let Some(value) = value {
                update = update.expression_attribute_values(":revision", value);
            }
        }
        if let Some(open_key) = open_key {
            update = update.expression_attribute_values(":open_key", s(open_key));
        }
        if paid {
            update = update.expression_attribute_values(
                ":on_time",
                AttributeValue::Bool(booking.value_date <= current.due_date),
            );
        }
        transaction_update(update)
    }

    /// After a return reopened a paid invoice: put it back into the dunning
    /// index from `from` (a separate write, because whether dunning may
    /// resume depends on blocks and disputes, which the dunning state holds).
    pub async fn resume_dunning_after_return(
        &self,
        id: &InvoiceId,
        from: NaiveDate,
    ) -> Result<(), StoreError> {
        use crate::codec::invoice::{
            COLLECTION_SINCE, DISPUTE, DUNNING_AT, DUNNING_BLOCK, DUNNING_SHARD, STATUS,
        };
        let (shard, at) = keys::dunning_due(id, from);
        let update = self
            .update_item()
            .set_key(Some(key_item(keys::invoice(id))))
            .update_expression(format!("SET {DUNNING_SHARD} = :shard, {DUNNING_AT} = :at"))
            .condition_expression(format!(
                "attribute_exists({PK}) AND {STATUS} <> :paid AND attribute_not_exists({DUNNING_BLOCK}) \
                 AND attribute_not_exists({DISPUTE}) AND attribute_not_exists({COLLECTION_SINCE}) \
                 AND attribute_not_exists({DUNNING_SHARD})",
            ))
            .expression_attribute_values(":shard", s(shard))
            .expression_attribute_values(":at", s(at))
            .expression_attribute_values(":paid", s("paid"));
        match self.update_if(update).await? {
            Some(_) => Ok(()),
            None => Ok(()),
        }
    }

    /// The payments booked on an invoice, in booking order.
    pub async fn payments_of_invoice(&self, id: &InvoiceId) -> Result<Vec<Money>, StoreError> {
        let what = format!("payments of invoice {id}");
        let items = self
            .query_prefix(keys::invoice(id).0, keys::PAYMENT_PREFIX)
            .await?;
        items.iter().map(|item| read_amount(item, &what)).collect()
    }

    /// The customer credit on an account (surpluses of overpayments).
    pub async fn customer_credit(&self, account: &AccountId) -> Result<Vec<Money>, StoreError> {
        let what = format!("credit of account {account}");
        let items = self
            .query_prefix(keys::account_partition(account), CREDIT_PREFIX)
            .await?;
        items.iter().map(|item| read_amount(item, &what)).collect()
    }

    /// Puts an entry on the entity's review list and marks it handled in
    /// its statement, together; a replay changes nothing.
    pub async fn put_for_review(
        &self,
        entity: &BillingEntityId,
        entry: &ReviewEntry,
    ) -> Result<bool, StoreError> {
        let mut marker = key_item(keys::statement_entry_key(
            &entry.statement_id,
            &entry.entry_id,
        ));
        marker.put(codec::RECORD_TYPE, s("statement_entry"));
        marker.put(codec::payment::OUTCOME, s("review"));
        let mut item = key_item((
            keys::review_partition(entity),
            format!(
                "{}{}#{}",
                keys::REVIEW_PREFIX,
                entry.statement_id,
                entry.entry_id
            ),
        ));
        item.put(codec::RECORD_TYPE, s("payment_review"));
        item.put(codec::BODY, crate::attributes::body(entry, "review entry")?);
        let items = vec![self.put_new(marker)?, self.put_new(item)?];
        match self.transact(items).await? {
            Outcome::Written => Ok(true),
            Outcome::Cancelled(cancelled) if cancelled.any_condition_failed() => Ok(false),
            Outcome::Cancelled(cancelled) => Err(cancelled.into_error()),
        }
    }

    /// The entity's review list: bank entries a person must match.
    pub async fn payment_review_list(
        &self,
        entity: &BillingEntityId,
    ) -> Result<Vec<ReviewEntry>, StoreError> {
        let items = self
            .query_prefix(keys::review_partition(entity), keys::REVIEW_PREFIX)
            .await?;
        let mut entries = items
            .iter()
            .map(|item| crate::attributes::read_body::<ReviewEntry>(item, "review entry"))
            .collect::<Result<Vec<_>, _>>()?;
        entries.sort_by(|a, b| a.since.cmp(&b.since).then(a.entry_id.cmp(&b.entry_id)));
        Ok(entries)
    }

    /// The record of an imported statement, if it was imported completely.
    pub async fn statement(
        &self,
        statement_id: &str,
    ) -> Result<Option<StatementRecord>, StoreError> {
        self.get_as(keys::statement_item_key(statement_id), |item| {
            crate::attributes::read_body(item, "statement record")
        })
        .await
    }

    /// Entries of a statement handled already (booked or put for review),
    /// so an import that crashed half-way resumes where it stopped.
    pub async fn handled_entries(&self, statement_id: &str) -> Result<Vec<String>, StoreError> {
        let items = self
            .query_prefix(
                keys::statement_item_key(statement_id).0,
                keys::STATEMENT_ENTRY_PREFIX,
            )
            .await?;
        Ok(items
            .iter()
            .filter_map(|item| read_optional_s(item, codec::SK))
            .filter_map(|sk| sk.strip_prefix(keys::STATEMENT_ENTRY_PREFIX))
            .map(str::to_owned)
            .collect())
    }

    /// Records that a statement was imported completely; the first record
    /// wins, a replay changes nothing.
    pub async fn record_statement(&self, record: &StatementRecord) -> Result<(), StoreError> {
        let mut item = key_item(keys::statement_item_key(&record.statement_id));
        item.put(codec::RECORD_TYPE, s("statement"));
        item.put(
            codec::BODY,
            crate::attributes::body(record, "statement record")?,
        );
        let result = self
            .db
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression(format!("attribute_not_exists({PK})"))
            .named()
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(err)
                if matches!(
                    err.as_service_error(),
                    Some(aws_sdk_dynamodb::operation::put_item::PutItemError::ConditionalCheckFailedException(_))
                ) =>
            {
                Ok(())
            }
            Err(err) => Err(StoreError::aws("PutItem", &err)),
        }
    }
}

/// A booked payment on an invoice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PaymentRecord {
    /// Its id.
    pub payment_id: String,
    /// Positive: paid; negative: a return.
    pub amount: Money,
    /// The bank's value date (or the clerk's date for a manual payment).
    pub value_date: Option<NaiveDate>,
    /// The rule that booked it (a creditor reference, an invoice number, the
    /// open amount, a return, a clerk, customer credit).
    pub rule: Option<MatchRule>,
    /// Why it was booked like this.
    pub reason: Option<String>,
    /// The statement it came from, if any.
    pub statement_id: Option<String>,
    /// When it was booked.
    pub booked_at: Option<DateTime<Utc>>,
}

impl BillingStore {
    /// The payments booked on an invoice, one Query on its partition.
    pub async fn invoice_payment_page(
        &self,
        id: &InvoiceId,
        page: &Page,
    ) -> Result<Paged<PaymentRecord>, StoreError> {
        let partition = keys::invoice(id).0;
        let what = format!("payment of invoice {id}");
        let (items, next) = self
            .prefix_page(&partition, keys::PAYMENT_PREFIX, page)
            .await?;
        Paged::read(&items, next, |item| {
            Ok(PaymentRecord {
                payment_id: read_s(item, codec::payment::PAYMENT_ID, &what)?.to_owned(),
                amount: read_amount(item, &what)?,
                value_date: read_optional_s(item, codec::payment::VALUE_DATE)
                    .and_then(|d| d.parse().ok()),
                rule: read_rule(item, &what)?,
                reason: read_optional_s(item, codec::payment::REASON).map(str::to_owned),
                statement_id: read_optional_s(item, codec::payment::STATEMENT_ID)
                    .map(str::to_owned),
                booked_at: crate::attributes::read_optional_time(
                    item,
                    codec::payment::BOOKED_AT,
                    &what,
                )?,
            })
        })
    }
}
