//! One statement file: read, reconcile, match and book each entry.
//!
//! Nothing is booked unless every statement in the file reconciles. Each
//! entry is then handled once: booked (one transaction per entry, see
//! `billing_store::payment`) or put on the review list, and marked in its
//! statement's partition, so an import that crashed half-way resumes where
//! it stopped and a second import of the same file changes nothing.
//!
//! Credits are matched by the first rule that finds something:
//! 1. the structured creditor reference (`Strd/CdtrRefInf/Ref`),
//! 2. invoice numbers in the unstructured remittance text,
//! 3. the open amount (within the entity's tolerance) of exactly one open
//!    invoice of the payer, known from an earlier match of their account.
//!
//! Debits with a return reason, and reversals, take back what they name
//! (less the bank's charges inside the entry): the invoice is open again,
//! the bank's fee and reason are kept on the return and the invoice's
//! audit trail, dunning resumes, and a reason that means the mandate is
//! gone blocks the mandate (`after_return`). A pain.002 status report
//! (`status_report`) applies its rejections the same way.

use billing_domain::direct_debit::{ReturnConsequence, return_consequence};
use billing_domain::ids::{AccountId, BillingEntityId};
use billing_domain::matching::{InvoiceNumberFinder, MatchRule, OpenInvoice, split_oldest_first};
use billing_domain::money::{Currency, Money};
use billing_domain::numbering::InvoiceNumber;
use billing_domain::payment::PaymentStatus;
use billing_domain::reference::CreditorReference;
use billing_domain::seller::BillingEntity;
use billing_store::{
    Actor, BillingStore, DirectDebitReturn, EntryBooked, EntryBooking, InvoiceBooking,
    InvoicePayments, MandateBlocked, ReviewEntry, StatementRecord, statement_key,
};
use chrono::{DateTime, NaiveDate, Utc};

use crate::camt::{self, AccountStatement, Entry};
use crate::error::ImportError;

/// What happened to one entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntryOutcome {
    /// Booked against these invoices (numbers), by this rule; `credit` is
    /// the surplus put on the customer's account.
    Booked {
        /// The rule that matched.
        rule: MatchRule,
        /// The invoices paid (or reopened), oldest first.
        invoices: Vec<InvoiceNumber>,
        /// Customer credit, if any.
        credit: Option<Money>,
        /// A return whose reason means the mandate is gone blocked it.
        mandate_blocked: bool,
    },
    /// A collection the bank rejected before settlement (pain.002): the
    /// invoice stays open and is dunned.
    Rejected {
        /// The invoice.
        invoice: InvoiceNumber,
        /// The bank's reason code.
        reason_code: Option<String>,
        /// The reason means the mandate is gone: it was blocked.
        mandate_blocked: bool,
    },
    /// Put on the review list, with the reason.
    Review(String),
    /// Not a payment (bank fees, pending entries): left alone.
    Ignored,
    /// Handled by an earlier import of this statement.
    AlreadyHandled,
}

/// One entry and what happened to it, for the log and the demo.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryReport {
    /// The statement.
    pub statement: String,
    /// The entry's reference.
    pub entry: String,
    /// Signed amount.
    pub amount: Money,
    /// What happened.
    pub outcome: EntryOutcome,
}

/// What importing a file did.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ImportReport {
    /// Statements imported now.
    pub imported: usize,
    /// Statements imported before (nothing changed).
    pub already_imported: usize,
    /// Every entry of the statements imported now.
    pub entries: Vec<EntryReport>,
}

/// Everything an import needs.
#[derive(Debug, Clone)]
pub struct ImportService {
    pub(crate) store: BillingStore,
    s3: aws_sdk_s3::Client,
    pub(crate) entity_id: BillingEntityId,
}

impl ImportService {
    /// Wires the service; `entity_id` is the seller whose bank account the
    /// statements are for (the template's `BILLING_ENTITY_ID`).
    pub fn new(store: BillingStore, s3: aws_sdk_s3::Client, entity_id: BillingEntityId) -> Self {
        Self {
            store,
            s3,
            entity_id,
        }
    }

    /// Reads `key` from `bucket` and imports it.
    pub async fn import_object(
        &self,
        bucket: &str,
        key: &str,
        now: DateTime<Utc>,
    ) -> Result<ImportReport, ImportError> {
        let object = self
            .s3
            .get_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| ImportError::s3("GetObject", key, &e))?;
        let bytes = object
            .body
            .collect()
            .await
            .map_err(|e| ImportError::S3 {
                operation: "GetObject",
                key: key.to_owned(),
                disposition: billing_lambda::Disposition::Retryable,
                message: e.to_string(),
            })?
            .into_bytes();
        self.import(key, &bytes, now).await
    }

    /// Imports a statement file. A file that cannot be read or does not
    /// reconcile is refused before anything is booked, and noted on the
    /// needs-attention list with the reason.
    pub async fn import(
        &self,
        source: &str,
        xml: &[u8],
        now: DateTime<Utc>,
    ) -> Result<ImportReport, ImportError> {
        if crate::status_report::is_status_report(xml) {
            return self.import_status_report(source, xml, now).await;
        }
        let entity = self.store.billing_entity(&self.entity_id).await?;
        let file = match camt::parse(xml).and_then(|file| {
            file.statements
                .iter()
                .try_for_each(AccountStatement::reconcile)
                .map(|()| file)
        }) {
            Ok(file) => file,
            Err(refusal) => {
                self.store
                    .put_attention_note(
                        &entity.id,
                        &format!("statement_refused#{source}"),
                        &format!("bank statement {source} was refused: {refusal}"),
                        now,
                    )
                    .await?;
                return Err(ImportError::Refused(refusal));
            }
        };
        let finder = InvoiceNumberFinder::new(&entity.number_series);
        let mut report = ImportReport::default();
        for statement in &file.statements {
            let statement_id = statement_key(&entity.id, &file.message_id, &statement.id);
            if self.store.statement(&statement_id).await?.is_some() {
                report.already_imported += 1;
                continue;
            }
            let handled = self.store.handled_entries(&statement_id).await?;
            let mut record = StatementRecord {
                statement_id: statement_id.clone(),
                source: source.to_owned(),
                booked: 0,
                for_review: 0,
                ignored: 0,
                imported_at: now,
            };
            for entry in &statement.entries {
                let outcome = if handled.contains(&entry.reference) {
                    EntryOutcome::AlreadyHandled
                } else {
                    self.handle_entry(
                        &entity,
                        &finder,
                        &statement_id,
                        statement.currency,
                        entry,
                        now,
                    )
                    .await?
                };
                match &outcome {
                    EntryOutcome::Booked { .. } | EntryOutcome::Rejected { .. } => {
                        record.booked += 1
                    }
                    EntryOutcome::Review(_) => record.for_review += 1,
                    EntryOutcome::Ignored => record.ignored += 1,
                    EntryOutcome::AlreadyHandled => {}
                }
                tracing::info!(
                    statement = %statement.id,
                    entry = %entry.reference,
                    outcome = ?outcome_kind(&outcome),
                    "statement entry handled"
                );
                report.entries.push(EntryReport {
                    statement: statement.id.clone(),
                    entry: entry.reference.clone(),
                    amount: entry.amount,
                    outcome,
                });
            }
            self.store.record_statement(&record).await?;
            report.imported += 1;
        }
        Ok(report)
    }

    async fn handle_entry(
        &self,
        entity: &BillingEntity,
        finder: &InvoiceNumberFinder,
        statement_id: &str,
        statement_currency: Currency,
        entry: &Entry,
        now: DateTime<Utc>,
    ) -> Result<EntryOutcome, ImportError> {
        if !entry.booked || entry.amount.is_zero() {
            return Ok(EntryOutcome::Ignored);
        }
        if entry.amount.currency() != statement_currency {
            // Invoices are booked in the account's currency; a conversion
            // is a clerk's call, and the rest of the file goes on.
            return self
                .review(
                    entity,
                    statement_id,
                    entry,
                    format!(
                        "the entry is in {}, the account in {}: book it by hand",
                        entry.amount.currency(),
                        statement_currency
                    ),
                    Vec::new(),
                    now,
                )
                .await;
        }
        let is_return =
            entry.amount.is_negative() && (entry.return_reason.is_some() || entry.reversal);
        if entry.amount.is_negative() && !is_return {
            // Our own debits (fees, transfers out) are not customer payments.
            return Ok(EntryOutcome::Ignored);
        }
        let found = self
            .find_invoices(entity, finder, entry, !is_return)
            .await?;
        let (rule, reason, invoices) = match found {
            Found::Match {
                rule,
                reason,
                invoices,
            } => (rule, reason, invoices),
            Found::Review { reason, candidates } => {
                return self
                    .review(entity, statement_id, entry, reason, candidates, now)
                    .await;
            }
        };
        let value_date = entry.value_date.unwrap_or(entry.booking_date);
        let (bookings, credit, rule, reason) = if is_return {
            let [invoice] = invoices.as_slice() else {
                return self
                    .review(
                        entity,
                        statement_id,
                        entry,
                        "a return that names several invoices: which payment it takes back is unclear"
                            .to_owned(),
                        invoices.iter().map(|i| i.number.clone()).collect(),
                        now,
                    )
                    .await;
            };
            let reason = format!(
                "return (reason {}) of a payment on {}, found by {}",
                entry.return_reason.as_deref().unwrap_or("reversal"),
                invoice.number,
                reason
            );
            // Charges inside the entry are the bank's, not the invoice's.
            let taken_back = match entry.charges_included {
                Some(inside) => entry.amount.checked_add(inside).ok(),
                None => Some(entry.amount),
            };
            let Some(taken_back) = taken_back.filter(|amount| amount.is_negative()) else {
                return self
                    .review(
                        entity,
                        statement_id,
                        entry,
                        "a return whose charges are not less than its amount: what it takes back is unclear"
                            .to_owned(),
                        vec![invoice.number.clone()],
                        now,
                    )
                    .await;
            };
            (
                vec![InvoiceBooking {
                    invoice_id: invoice.invoice_id.clone(),
                    amount: taken_back,
                }],
                None,
                MatchRule::Return,
                reason,
            )
        } else {
            let open: Vec<OpenInvoice> = invoices
                .iter()
                .map(InvoicePayments::open_invoice)
                .collect::<Result<_, _>>()?;
            let split = match split_oldest_first(entry.amount, &open) {
                Ok(split) => split,
                Err(e) => {
                    return self
                        .review(
                            entity,
                            statement_id,
                            entry,
                            format!("{reason}, but it cannot be booked: {e}"),
                            invoices.iter().map(|i| i.number.clone()).collect(),
                            now,
                        )
                        .await;
                }
            };
            let account = invoices
                .first()
                .map(|i| i.account_id.clone())
                .unwrap_or_else(|| AccountId::new("unknown"));
            let bookings = split
                .allocations
                .iter()
                .filter(|a| a.amount.is_positive())
                .map(|a| InvoiceBooking {
                    invoice_id: a.invoice_id.clone(),
                    amount: a.amount,
                })
                .collect();
            let credit = split
                .credit
                .is_positive()
                .then_some((account, split.credit));
            (bookings, credit, rule, reason)
        };
        let booking = EntryBooking {
            statement_id: statement_id.to_owned(),
            entry_id: entry.reference.clone(),
            invoices: bookings,
            credit: credit.clone(),
            value_date,
            rule,
            reason: reason.clone(),
            booked_at: now,
        };
        let returned = (rule == MatchRule::Return).then(|| DirectDebitReturn {
            reason_code: entry.return_reason.clone(),
            bank_fee: entry.charges.filter(|fee| fee.is_positive()),
            actor: import_actor(),
        });
        let booked = match &returned {
            Some(returned) => self.store.book_return(&booking, returned).await?,
            None => self.store.book_entry(&booking).await?,
        };
        let mut mandate_blocked = false;
        match booked {
            EntryBooked::Booked(summaries) => {
                if let Some(returned) = &returned {
                    for (part, summary) in booking.invoices.iter().zip(&summaries) {
                        if summary.status != PaymentStatus::Paid {
                            self.store
                                .resume_dunning_after_return(&part.invoice_id, value_date)
                                .await?;
                        }
                        if let Some(invoice) =
                            invoices.iter().find(|i| i.invoice_id == part.invoice_id)
                        {
                            mandate_blocked |= self
                                .after_return(
                                    entity,
                                    invoice,
                                    entry.mandate_reference.as_deref(),
                                    returned,
                                    value_date,
                                    now,
                                )
                                .await?;
                        }
                    }
                } else if matches!(
                    rule,
                    MatchRule::CreditorReference | MatchRule::InvoiceNumber
                ) && let (Some(payer), Some(first)) =
                    (entry.counterparty_account.as_deref(), invoices.first())
                {
                    self.store
                        .remember_payer(&entity.id, payer, &first.account_id)
                        .await?;
                }
                let numbers = booking
                    .invoices
                    .iter()
                    .filter_map(|part| {
                        invoices
                            .iter()
                            .find(|i| i.invoice_id == part.invoice_id)
                            .map(|i| i.number.clone())
                    })
                    .collect();
                Ok(EntryOutcome::Booked {
                    rule,
                    invoices: numbers,
                    credit: credit.map(|(_, amount)| amount),
                    mandate_blocked,
                })
            }
            EntryBooked::AlreadyBooked => Ok(EntryOutcome::AlreadyHandled),
            EntryBooked::Refused(why) => {
                self.review(
                    entity,
                    statement_id,
                    entry,
                    format!("{reason}, but it cannot be booked: {why}"),
                    invoices.iter().map(|i| i.number.clone()).collect(),
                    now,
                )
                .await
            }
        }
    }

    /// The invoices an entry is for, by the first rule that finds any.
    async fn find_invoices(
        &self,
        entity: &BillingEntity,
        finder: &InvoiceNumberFinder,
        entry: &Entry,
        allow_amount_rule: bool,
    ) -> Result<Found, ImportError> {
        let ours = |invoices: Vec<InvoicePayments>| -> Vec<InvoicePayments> {
            invoices
                .into_iter()
                .filter(|i| i.billing_entity_id == entity.id)
                .collect()
        };
        // 1. The structured creditor reference.
        if let Some(raw) = entry.creditor_reference.as_deref() {
            let reference = CreditorReference::parse(raw)
                .map(String::from)
                .unwrap_or_else(|_| raw.trim().to_owned());
            let invoices = ours(self.store.invoices_by_payment_reference(&reference).await?);
            match invoices.len() {
                0 => {}
                1 => {
                    return Ok(Found::Match {
                        rule: MatchRule::CreditorReference,
                        reason: format!(
                            "creditor reference {reference} is the payment reference of {}",
                            invoices[0].number
                        ),
                        invoices,
                    });
                }
                _ => {
                    return Ok(Found::Review {
                        reason: format!("creditor reference {reference} names several invoices"),
                        candidates: invoices.into_iter().map(|i| i.number).collect(),
                    });
                }
            }
        }
        // 2. Invoice numbers in the remittance text, the creditor reference
        //    and the end-to-end id (our direct debits carry the invoice
        //    number there, and so do their returns).
        let text = [
            entry.remittance.as_deref(),
            entry.creditor_reference.as_deref(),
            entry.end_to_end_id.as_deref(),
        ]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
        let numbers = finder.find(&text);
        if !numbers.is_empty() {
            let mut invoices = Vec::new();
            for number in &numbers {
                invoices.extend(ours(
                    self.store.invoices_by_number(&entity.id, number).await?,
                ));
            }
            let accounts: std::collections::BTreeSet<&str> =
                invoices.iter().map(|i| i.account_id.as_str()).collect();
            if accounts.len() > 1 {
                return Ok(Found::Review {
                    reason: "the remittance text names invoices of different customers".to_owned(),
                    candidates: invoices.into_iter().map(|i| i.number).collect(),
                });
            }
            if !invoices.is_empty() {
                let named: Vec<&str> = invoices.iter().map(|i| i.number.as_str()).collect();
                return Ok(Found::Match {
                    rule: MatchRule::InvoiceNumber,
                    reason: format!("the remittance text names {}", named.join(", ")),
                    invoices,
                });
            }
        }
        // 3. The open amount of the payer's invoices.
        if allow_amount_rule
            && let Some(payer) = entry.counterparty_account.as_deref()
            && let Some(account) = self.store.payer_account(&entity.id, payer).await?
        {
            let open = self.store.open_invoices_of_account(&account).await?;
            let tolerance = entity.payment_tolerance;
            // The principal alone, or everything owed with the costs and
            // interest a letter claimed: either is a transfer for it.
            let mut fitting: Vec<InvoicePayments> = Vec::new();
            for invoice in open {
                if tolerance.accepts(invoice.summary.open, entry.amount)
                    || tolerance.accepts(invoice.owed()?, entry.amount)
                {
                    fitting.push(invoice);
                }
            }
            match fitting.len() {
                1 => {
                    return Ok(Found::Match {
                        rule: MatchRule::OpenAmount,
                        reason: format!(
                            "{} is within tolerance of the open {} of {}, the payer's only such invoice",
                            entry.amount, fitting[0].summary.open, fitting[0].number
                        ),
                        invoices: fitting,
                    });
                }
                0 => {
                    return Ok(Found::Review {
                        reason: format!(
                            "no reference or invoice number; no open invoice of the payer's account {account} matches {}",
                            entry.amount
                        ),
                        candidates: Vec::new(),
                    });
                }
                _ => {
                    return Ok(Found::Review {
                        reason: format!(
                            "{} open invoices of the payer match {}: which one is meant is unclear",
                            fitting.len(),
                            entry.amount
                        ),
                        candidates: fitting.into_iter().map(|i| i.number).collect(),
                    });
                }
            }
        }
        Ok(Found::Review {
            reason: if numbers.is_empty() {
                "no creditor reference, invoice number or known payer".to_owned()
            } else {
                "the invoice numbers in the remittance text are not ours".to_owned()
            },
            candidates: numbers,
        })
    }

    /// After a direct debit on `invoice` came back: when the reason means
    /// the mandate is gone, blocks the mandate (the one the bank names,
    /// else the one the invoice was collected under) from `on`, so the
    /// next collection lists the customer for attention instead of failing
    /// again. A mandate that is not stored goes on the needs-attention
    /// list. Returns whether a mandate was blocked now.
    pub(crate) async fn after_return(
        &self,
        entity: &BillingEntity,
        invoice: &InvoicePayments,
        named_mandate: Option<&str>,
        returned: &DirectDebitReturn,
        on: NaiveDate,
        now: DateTime<Utc>,
    ) -> Result<bool, ImportError> {
        let Some(code) = returned.reason_code.as_deref() else {
            return Ok(false);
        };
        if return_consequence(code) != ReturnConsequence::MandateBlocked {
            return Ok(false);
        }
        // The invoice's pre-notification names the mandate and creditor it
        // was collected under; the bank's `MndtId` wins if it differs.
        let notice = self
            .store
            .invoice(&invoice.invoice_id)
            .await?
            .and_then(|stored| stored.invoice.content().direct_debit.clone());
        let creditor = notice
            .as_ref()
            .map(|notice| notice.creditor_identifier.as_str().to_owned())
            .or_else(|| {
                entity
                    .direct_debit
                    .as_ref()
                    .map(|settings| settings.creditor_identifier.as_str().to_owned())
            });
        let reference = named_mandate
            .map(str::to_owned)
            .or_else(|| notice.map(|notice| notice.mandate_reference.as_str().to_owned()));
        let blocked = match (&creditor, &reference) {
            (Some(creditor), Some(reference)) => {
                self.store
                    .block_mandate_after_return(creditor, reference, on, invoice, returned, now)
                    .await?
            }
            _ => MandateBlocked::Unknown,
        };
        match blocked {
            MandateBlocked::Blocked(_) => Ok(true),
            MandateBlocked::AlreadyStopped => Ok(false),
            MandateBlocked::Unknown => {
                self.store
                    .put_attention_note(
                        &entity.id,
                        &format!("mandate_unknown#{}", invoice.invoice_id),
                        &format!(
                            "the direct debit of invoice {} came back with {}, which means the mandate is gone, \
                             but mandate {} is not on file: block the customer's mandate by hand",
                            invoice.number,
                            returned.reason(),
                            reference.as_deref().unwrap_or("(none named)")
                        ),
                        now,
                    )
                    .await?;
                Ok(false)
            }
        }
    }

    async fn review(
        &self,
        entity: &BillingEntity,
        statement_id: &str,
        entry: &Entry,
        reason: String,
        candidates: Vec<InvoiceNumber>,
        now: DateTime<Utc>,
    ) -> Result<EntryOutcome, ImportError> {
        let review = ReviewEntry {
            statement_id: statement_id.to_owned(),
            entry_id: entry.reference.clone(),
            amount: entry.amount,
            booking_date: entry.booking_date,
            value_date: entry.value_date,
            creditor_reference: entry.creditor_reference.clone(),
            remittance: entry.remittance.clone(),
            return_reason: entry.return_reason.clone(),
            reason: reason.clone(),
            candidates,
            since: now,
        };
        if self.store.put_for_review(&entity.id, &review).await? {
            Ok(EntryOutcome::Review(reason))
        } else {
            Ok(EntryOutcome::AlreadyHandled)
        }
    }
}

/// What the rules found for an entry.
enum Found {
    Match {
        rule: MatchRule,
        reason: String,
        invoices: Vec<InvoicePayments>,
    },
    Review {
        reason: String,
        candidates: Vec<InvoiceNumber>,
    },
}

/// The import as the audit trail names it: changes it records (returns,
/// rejections, blocked mandates) are the billing department's, made by
/// this function on the bank's word.
pub(crate) fn import_actor() -> Actor {
    Actor {
        user: crate::handler::FUNCTION.to_owned(),
        role: billing_domain::staff::StaffRole::Billing,
    }
}

pub(crate) fn outcome_kind(outcome: &EntryOutcome) -> &'static str {
    match outcome {
        EntryOutcome::Booked { rule, .. } => rule.as_str(),
        EntryOutcome::Rejected { .. } => "rejected",
        EntryOutcome::Review(_) => "review",
        EntryOutcome::Ignored => "ignored",
        EntryOutcome::AlreadyHandled => "already_handled",
    }
}
