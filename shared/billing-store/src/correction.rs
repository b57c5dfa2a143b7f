//! Billing clerks' corrections, each one transaction with its audit record:
//! cancelling an invoice, a partial credit note, a manual payment, and
//! applying or refunding customer credit.
//!
//! A cancellation or credit note is a new document numbered in the
//! entity's credit-note series (the counter moved under a condition on its
//! value, as finalizing an invoice does) and stored like any finalized
//! invoice with `document_status = pending`, so the stream pipe has it
//! rendered, archived and e-mailed. The original stays as it was printed;
//! its item records what was credited (`credited_amount`, which lowers what
//! it asks for, and `credited_lines`), and a cancelled one gets
//! `status = cancelled` and leaves the dunning index. Money the customer paid
//! on an invoice that is cancelled (or credited below what was paid)
//! becomes customer credit on the account.
//!
//! Customer credit is the account's `CREDIT#` items (surpluses of bank
//! entries, payments of cancelled invoices: positive; applications and
//! refunds: negative), summed per currency. Spending it is conditioned on the
//! account's revision, so two clerks can never spend the same credit twice.

use crate::codec::credit::{CreditKind, CreditMovement};
use crate::codec::invoice::{
    ACCOUNT_ID, CANCELLED_BY, CORRECTED_AT, CREDITED_AMOUNT, CREDITED_LINES, DUNNING_AT,
    DUNNING_SHARD, OPEN_AMOUNT, OPEN_KEY, PAID_IN_FULL_ON, PAID_ON_TIME, PAYMENT_REFERENCE,
    PAYMENT_VERSION, PRECEDING_INVOICE_ID, STATUS,
};
use crate::codec::{self, ItemAttributes, PK, REVISION};
use crate::keys::CREDIT_PREFIX;
use crate::page::{Page, Paged};
use crate::payment::read_amount;
use serde::Serialize;
use std::collections::BTreeMap;

use aws_sdk_dynamodb::types::{TransactWriteItem, Update};
use billing_domain::correction::{self, CreditSelection, Credited};
use billing_domain::ids::{AccountId, InvoiceId, SubscriptionId};
use billing_domain::invoice::Invoice;
use billing_domain::matching::MatchRule;
use billing_domain::money::{Currency, Money};
use billing_domain::numbering::DocumentType;
use billing_domain::numbering::{CounterKey, InvoiceNumber};
use billing_domain::payment::PaymentSummary;
use chrono::{DateTime, NaiveDate, Utc};

use crate::attributes::{Item, key_item, n, read_body, read_optional_s, read_s, s, time};
use crate::audit::{Actor, AuditEntry, read_revision, revision_condition};
use crate::invoice::InvoiceStatus;
use crate::payment::{EntryBooking, InvoiceBooking, InvoicePayments};
use crate::transaction::{Outcome, Retry, transaction_update};
use crate::{BillingStore, StoreError, keys};

/// How often a correction is tried when a payment, a run or another number
/// raced it (the clerk's revision conflicts are never retried).
const ATTEMPTS: u32 = 5;

/// A clerk's request to cancel an invoice.
#[derive(Debug, Clone, PartialEq)]
pub struct CancelRequest {
    /// The invoice.
    pub invoice_id: InvoiceId,
    /// The revision the clerk saw (the API's `If-Match`).
    pub expected_revision: u64,
    /// Who cancels.
    pub actor: Actor,
    /// Why (kept in the audit record).
    pub reason: String,
    /// Whether the contract periods the invoice billed become billable
    /// again (the next run bills them anew).
    pub release_periods: bool,
    /// When.
    pub at: DateTime<Utc>,
}

/// What a cancellation or credit note created.
#[derive(Debug, Clone, PartialEq)]
pub struct CreditNoteIssued {
    /// The new document's id; its PDF follows through the document pipeline.
    pub credit_note_id: InvoiceId,
    /// Its number in the credit-note series.
    pub number: InvoiceNumber,
    /// Its gross amount (positive: the credit).
    pub amount: Money,
    /// The original's revision after the change (its new ETag).
    pub revision: u64,
    /// What the original still asks for.
    pub open_after: Money,
    /// Money already paid that became customer credit, if any.
    pub customer_credit: Option<Money>,
    /// Contracts whose periods became billable again.
    pub released: Vec<SubscriptionId>,
}

/// A clerk's request for a partial credit note.
#[derive(Debug, Clone, PartialEq)]
pub struct CreditNoteRequest {
    /// The invoice credited.
    pub invoice_id: InvoiceId,
    /// The revision the clerk saw.
    pub expected_revision: u64,
    /// Who.
    pub actor: Actor,
    /// Why.
    pub reason: String,
    /// Which lines or what amount.
    pub selection: CreditSelection,
    /// When.
    pub at: DateTime<Utc>,
}

/// A payment a clerk records by hand (cash, cheque, a transfer the rules
/// could not match).
#[derive(Debug, Clone, PartialEq)]
pub struct ManualPayment {
    /// The invoice paid.
    pub invoice_id: InvoiceId,
    /// The revision the clerk saw.
    pub expected_revision: u64,
    /// Who records it.
    pub actor: Actor,
    /// How much (positive; more than is open becomes customer credit).
    pub amount: Money,
    /// Value date.
    pub value_date: NaiveDate,
    /// The payment's reference (cheque number, bank reference).
    pub reference: String,
    /// Why, if worth saying.
    pub reason: Option<String>,
    /// When.
    pub at: DateTime<Utc>,
}

/// What a staff booking (manual payment, applied credit) did.
#[derive(Debug, Clone, PartialEq)]
pub struct StaffBooked {
    /// The invoice after the booking.
    pub summary: PaymentSummary,
    /// The invoice's revision after the change.
    pub revision: u64,
    /// Surplus that became customer credit.
    pub customer_credit: Option<Money>,
}

/// A clerk's request to pay an open invoice from the account's credit.
#[derive(Debug, Clone, PartialEq)]
pub struct CreditApplication {
    /// The invoice paid from credit.
    pub invoice_id: InvoiceId,
    /// The invoice's revision the clerk saw.
    pub expected_revision: u64,
    /// Who.
    pub actor: Actor,
    /// How much (at most the invoice's open amount and the credit).
    pub amount: Money,
    /// Why, if worth saying.
    pub reason: Option<String>,
    /// When.
    pub at: DateTime<Utc>,
}

/// A clerk's request to pay customer credit back.
#[derive(Debug, Clone, PartialEq)]
pub struct CreditRefund {
    /// The account.
    pub account_id: AccountId,
    /// The account's revision the clerk saw.
    pub expected_revision: u64,
    /// Who.
    pub actor: Actor,
    /// How much (at most the credit in that currency).
    pub amount: Money,
    /// The refund's reference (the outgoing transfer).
    pub reference: String,
    /// Why, if worth saying.
    pub reason: Option<String>,
    /// When.
    pub at: DateTime<Utc>,
}

/// A refund recorded.
#[derive(Debug, Clone, PartialEq)]
pub struct CreditRefunded {
    /// The credit left in that currency.
    pub balance: Money,
    /// The account's revision after the change.
    pub revision: u64,
}

/// The original invoice as a correction reads it: one strongly consistent
/// read of its item.
struct Original {
    invoice: Invoice,
    account_id: AccountId,
    payments: InvoicePayments,
    credited: Credited,
}

impl Original {
    fn read(item: &Item, what: &str) -> Result<Self, StoreError> {
        let credited = match read_optional_s(item, CREDITED_LINES) {
            Some(text) => serde_json::from_str(text)
                .map_err(|e| StoreError::corrupt(what, format!("credited_lines: {e}")))?,
            None => Credited::default(),
        };
        Ok(Self {
            invoice: read_body(item, what)?,
            account_id: AccountId::new(read_s(item, ACCOUNT_ID, what)?),
            payments: InvoicePayments::read(item, what)?,
            credited,
        })
    }
}

/// Why a staff write's transaction failed, once read again.
enum Failed {
    /// Try again with fresh reads.
    Retry,
    /// Give up with this error.
    Stop(StoreError),
}

impl Failed {
    /// Gives up with the error, or lets the caller's [`Retry`] try again.
    fn or_retry(self) -> Result<(), StoreError> {
        match self {
            Failed::Stop(e) => Err(e),
            Failed::Retry => Ok(()),
        }
    }
}

impl BillingStore {
    /// Cancels an invoice with a cancellation document (see the module
    /// docs). A stale revision is [`StoreError::RevisionMismatch`], a second
    /// cancellation [`StoreError::AlreadyCancelled`]; neither changes
    /// anything.
    pub async fn cancel_invoice(
        &self,
        request: &CancelRequest,
    ) -> Result<CreditNoteIssued, StoreError> {
        let id = &request.invoice_id;
        let credit_note_id =
            InvoiceId::new(keys::derived_id("inv", &[id.as_str(), "cancellation"]));
        let mut retry = Retry::Attempts(ATTEMPTS).start();
        while retry.next().await {
            let (original, entity, issue_date) = self
                .to_correct(id, request.expected_revision, request.at)
                .await?;
            let built = correction::cancellation(
                &original.invoice,
                &original.credited,
                credit_note_id.clone(),
                issue_date,
            )
            .map_err(|e| refused(id, e))?;
            let mut released = Vec::new();
            let mut contract_items = Vec::new();
            if request.release_periods {
                for subscription_id in released_contracts(&original.invoice) {
                    let stored = self
                        .subscription(&original.account_id, &subscription_id)
                        .await?
                        .ok_or_else(|| StoreError::Refused {
                            what: format!("contract {subscription_id}"),
                            reason: "it no longer exists; its periods cannot be released"
                                .to_owned(),
                        })?;
                    let rewound =
                        correction::release_periods(&stored.subscription, &original.invoice)
                            .map_err(|e| StoreError::Refused {
                                what: format!("contract {subscription_id}"),
                                reason: domain_message(e),
                            })?;
                    let item = crate::codec::subscription::item(
                        &rewound,
                        &entity.id,
                        stored.version + 1,
                        &request.at.to_rfc3339(),
                    )?;
                    contract_items.push(self.put_versioned(item, stored.version)?);
                    released.push(subscription_id);
                }
            }
            // What was paid and not yet given back as customer credit (an
            // earlier partial credit below what was paid gave that part).
            let summary = &original.payments.summary;
            let paid = summary
                .paid
                .checked_sub(summary.customer_credit)
                .map_err(|e| refused(id, e))?;
            let to_credit = paid.is_positive().then_some(paid);
            let audit = AuditEntry {
                actor: request.actor.clone(),
                at: request.at,
                action: "invoice.cancel".to_owned(),
                invoice_id: Some(id.clone()),
                account_id: original.account_id.clone(),
                reason: Some(request.reason.clone()),
                change: serde_json::json!({
                    "before": {"status": InvoiceStatus::from(original.payments.summary.status),
                               "open": original.payments.summary.open.amount().to_string()},
                    "after": {"status": InvoiceStatus::Cancelled, "open": "0",
                              "credit_note_id": credit_note_id.as_str(),
                              "customer_credit": to_credit.map(|m| m.amount().to_string()),
                              "released_contracts": released.iter().map(|s| s.as_str()).collect::<Vec<_>>()},
                }),
            };
            let zero = Money::zero(original.invoice.content().currency);
            match self
                .issue_credit_note(IssueCredit {
                    original: &original,
                    expected_revision: request.expected_revision,
                    built,
                    entity: &entity,
                    cancel: true,
                    open_after: zero,
                    paid_in_full_on: None,
                    to_credit,
                    audit: &audit,
                    extra: contract_items,
                    released,
                    at: request.at,
                })
                .await?
            {
                Ok(issued) => return Ok(issued),
                Err(failed) => failed.or_retry()?,
            }
        }
        Err(retry.gave_up(format!("cancellation of invoice {id}")))
    }

    /// Issues a partial credit note for chosen lines or an amount, never
    /// more than is still creditable; the original's open amount drops by
    /// the credit (below what was paid: the difference becomes customer
    /// credit).
    pub async fn credit_note(
        &self,
        request: &CreditNoteRequest,
    ) -> Result<CreditNoteIssued, StoreError> {
        let id = &request.invoice_id;
        // One credit note per revision of the original: a replay of the
        // same request addresses the same document.
        let credit_note_id = InvoiceId::new(keys::derived_id(
            "inv",
            &[
                id.as_str(),
                "credit",
                &request.expected_revision.to_string(),
            ],
        ));
        let mut retry = Retry::Attempts(ATTEMPTS).start();
        while retry.next().await {
            let (original, entity, issue_date) = self
                .to_correct(id, request.expected_revision, request.at)
                .await?;
            let built = correction::partial_credit(
                &original.invoice,
                &original.credited,
                &request.selection,
                credit_note_id.clone(),
                issue_date,
            )
            .map_err(|e| refused(id, e))?;
            let amount = built.draft.totals.gross_total;
            let summary = &original.payments.summary;
            let after = summary.credited(amount).map_err(|e| refused(id, e))?;
            let paid_in_full_on =
                summary.paid_in_full_on(original.payments.paid_in_full_on, &after, issue_date);
            let to_credit = after
                .customer_credit
                .is_positive()
                .then_some(after.customer_credit);
            let audit = AuditEntry {
                actor: request.actor.clone(),
                at: request.at,
                action: "invoice.credit_note".to_owned(),
                invoice_id: Some(id.clone()),
                account_id: original.account_id.clone(),
                reason: Some(request.reason.clone()),
                change: serde_json::json!({
                    "before": {"open": summary.open.amount().to_string(),
                               "credited": original.credited.gross_of(&original.invoice).amount().to_string()},
                    "after": {"open": after.open.amount().to_string(),
                              "credited": built.credited_after.gross.map(|g| g.amount().to_string()),
                              "credit_note_id": credit_note_id.as_str(),
                              "selection": &request.selection},
                }),
            };
            match self
                .issue_credit_note(IssueCredit {
                    original: &original,
                    expected_revision: request.expected_revision,
                    built,
                    entity: &entity,
                    cancel: false,
                    open_after: after.open,
                    paid_in_full_on,
                    to_credit,
                    audit: &audit,
                    extra: Vec::new(),
                    released: Vec::new(),
                    at: request.at,
                })
                .await?
            {
                Ok(issued) => return Ok(issued),
                Err(failed) => failed.or_retry()?,
            }
        }
        Err(retry.gave_up(format!("credit note on invoice {id}")))
    }

    /// Records a payment a clerk received, booked exactly like a bank entry
    /// (rule `manual`): more than is open becomes customer credit.
    pub async fn record_manual_payment(
        &self,
        payment: &ManualPayment,
    ) -> Result<StaffBooked, StoreError> {
        let id = &payment.invoice_id;
        if !payment.amount.is_positive() {
            return Err(StoreError::Refused {
                what: format!("payment on invoice {id}"),
                reason: "a manual payment must be positive".to_owned(),
            });
        }
        let entry_id = keys::derived_id(
            "man",
            &[
                id.as_str(),
                &payment.actor.user,
                &payment.at.to_rfc3339(),
                &payment.amount.to_string(),
                &payment.reference,
            ],
        );
        let mut retry = Retry::Attempts(ATTEMPTS).start();
        while retry.next().await {
            let original = self.original(id, payment.expected_revision).await?;
            // Everything owed: the letters' costs and interest come first.
            let open = original.payments.owed()?;
            let currency = open.currency();
            payment
                .amount
                .ensure_currency(currency, "amount.currency")
                .map_err(|e| refused(id, e))?;
            let (to_invoice, surplus) = if payment
                .amount
                .compare(&open)
                .map_err(|e| refused(id, e))?
                .is_gt()
            {
                (
                    open,
                    payment
                        .amount
                        .checked_sub(open)
                        .map_err(|e| refused(id, e))?,
                )
            } else {
                (payment.amount, Money::zero(currency))
            };
            let credit = surplus
                .is_positive()
                .then(|| (original.account_id.clone(), surplus));
            let booking = EntryBooking {
                statement_id: format!("MANUAL-{}", original.account_id),
                entry_id: entry_id.clone(),
                invoices: if to_invoice.is_positive() {
                    vec![InvoiceBooking {
                        invoice_id: id.clone(),
                        amount: to_invoice,
                    }]
                } else {
                    Vec::new()
                },
                credit: credit.clone(),
                value_date: payment.value_date,
                rule: MatchRule::Manual,
                reason: format!("manual payment, reference {}", payment.reference),
                booked_at: payment.at,
            };
            if booking.invoices.is_empty() {
                return Err(StoreError::Refused {
                    what: format!("invoice {id}"),
                    reason: "nothing is open on it; record the money as customer credit instead"
                        .to_owned(),
                });
            }
            let audit = AuditEntry {
                actor: payment.actor.clone(),
                at: payment.at,
                action: "invoice.manual_payment".to_owned(),
                invoice_id: Some(id.clone()),
                account_id: original.account_id.clone(),
                reason: payment.reason.clone(),
                change: serde_json::json!({
                    "before": {"open": open.amount().to_string()},
                    "after": {"paid": payment.amount.amount().to_string(),
                              "reference": payment.reference,
                              "value_date": payment.value_date.to_string(),
                              "customer_credit": surplus.amount().to_string()},
                }),
            };
            match self
                .staff_booking(&booking, id, payment.expected_revision, &audit, Vec::new())
                .await?
            {
                Ok(summary) => {
                    return Ok(StaffBooked {
                        summary,
                        revision: payment.expected_revision + 1,
                        customer_credit: credit.map(|(_, m)| m),
                    });
                }
                Err(failed) => failed.or_retry()?,
            }
        }
        Err(retry.gave_up(format!("manual payment on invoice {id}")))
    }

    /// The account's customer credit per currency (zero balances omitted).
    pub async fn credit_balance(&self, account: &AccountId) -> Result<Vec<Money>, StoreError> {
        let mut sums: BTreeMap<&'static str, Money> = BTreeMap::new();
        for amount in self.customer_credit(account).await? {
            let currency = amount.currency();
            let sum = sums.entry(currency.code()).or_insert(Money::zero(currency));
            *sum = sum
                .checked_add(amount)
                .map_err(|e| StoreError::corrupt(format!("credit of account {account}"), e))?;
        }
        Ok(sums.into_values().filter(|m| !m.is_zero()).collect())
    }

    /// Pays an open invoice from the account's customer credit (rule
    /// `credit`): at most what is open and what the credit holds. Paid in
    /// full, the invoice leaves dunning.
    pub async fn apply_credit(
        &self,
        application: &CreditApplication,
    ) -> Result<StaffBooked, StoreError> {
        let id = &application.invoice_id;
        let entry_id = keys::derived_id(
            "apl",
            &[
                id.as_str(),
                &application.expected_revision.to_string(),
                &application.amount.to_string(),
            ],
        );
        let mut retry = Retry::Attempts(ATTEMPTS).start();
        while retry.next().await {
            let original = self.original(id, application.expected_revision).await?;
            let account = &original.account_id;
            // Everything owed: the letters' costs and interest come first.
            let owed = original.payments.owed()?;
            let amount = application.amount;
            let what = || format!("credit of account {account}");
            amount
                .ensure_currency(owed.currency(), "amount.currency")
                .map_err(|e| refused(id, e))?;
            if !amount.is_positive() || amount.compare(&owed).map_err(|e| refused(id, e))?.is_gt() {
                return Err(StoreError::Refused {
                    what: format!("invoice {id}"),
                    reason: format!("{amount} is not between zero and the {owed} owed"),
                });
            }
            let (balance, account_revision) = self
                .balance_and_revision(account, amount.currency())
                .await?;
            if amount
                .compare(&balance)
                .map_err(|e| refused(id, e))?
                .is_gt()
            {
                return Err(StoreError::Refused {
                    what: what(),
                    reason: format!("{amount} exceeds the {balance} of credit"),
                });
            }
            let booking = EntryBooking {
                statement_id: format!("CREDIT-{account}"),
                entry_id: entry_id.clone(),
                invoices: vec![InvoiceBooking {
                    invoice_id: id.clone(),
                    amount,
                }],
                credit: None,
                value_date: application.at.date_naive(),
                rule: MatchRule::Credit,
                reason: "customer credit applied".to_owned(),
                booked_at: application.at,
            };
            let spend = self.credit_item(
                account,
                &entry_id,
                -amount,
                CreditKind::Applied,
                &format!("to invoice {id}"),
                application.at,
            )?;
            let guard = self.account_revision_update(account, account_revision, application.at)?;
            let audit = AuditEntry {
                actor: application.actor.clone(),
                at: application.at,
                action: "invoice.apply_credit".to_owned(),
                invoice_id: Some(id.clone()),
                account_id: account.clone(),
                reason: application.reason.clone(),
                change: serde_json::json!({
                    "before": {"open": owed.amount().to_string(),
                               "credit": balance.amount().to_string()},
                    "after": {"applied": amount.amount().to_string(),
                              "credit": balance.checked_sub(amount).map_err(|e| refused(id, e))?.amount().to_string()},
                }),
            };
            match self
                .staff_booking(
                    &booking,
                    id,
                    application.expected_revision,
                    &audit,
                    vec![spend, guard],
                )
                .await?
            {
                Ok(summary) => {
                    return Ok(StaffBooked {
                        summary,
                        revision: application.expected_revision + 1,
                        customer_credit: None,
                    });
                }
                Err(failed) => failed.or_retry()?,
            }
        }
        Err(retry.gave_up(format!("credit applied to invoice {id}")))
    }

    /// Records that customer credit was paid back (never more than there
    /// is), conditioned on the account's revision the clerk read.
    pub async fn refund_credit(&self, refund: &CreditRefund) -> Result<CreditRefunded, StoreError> {
        let account = &refund.account_id;
        let what = format!("credit of account {account}");
        if !refund.amount.is_positive() || !refund.amount.is_rounded() {
            return Err(StoreError::Refused {
                what,
                reason: "a refund must be positive, in whole minor units".to_owned(),
            });
        }
        let (balance, revision) = self
            .balance_and_revision(account, refund.amount.currency())
            .await?;
        if revision != refund.expected_revision {
            return Err(StoreError::RevisionMismatch {
                what: format!("account {account}"),
            });
        }
        if refund
            .amount
            .compare(&balance)
            .map_err(|e| StoreError::corrupt(&what, e))?
            .is_gt()
        {
            return Err(StoreError::Refused {
                what,
                reason: format!(
                    "a refund of {} exceeds the {balance} of credit",
                    refund.amount
                ),
            });
        }
        let left = balance
            .checked_sub(refund.amount)
            .map_err(|e| StoreError::corrupt(&what, e))?;
        let id = keys::derived_id("rfd", &[account.as_str(), &revision.to_string()]);
        let audit = AuditEntry {
            actor: refund.actor.clone(),
            at: refund.at,
            action: "account.refund_credit".to_owned(),
            invoice_id: None,
            account_id: account.clone(),
            reason: refund.reason.clone(),
            change: serde_json::json!({
                "before": {"credit": balance.amount().to_string()},
                "after": {"credit": left.amount().to_string(),
                          "refunded": refund.amount.amount().to_string(),
                          "reference": refund.reference},
            }),
        };
        let mut items = vec![
            self.account_revision_update(account, revision, refund.at)?,
            self.credit_item(
                account,
                &id,
                -refund.amount,
                CreditKind::Refund,
                &refund.reference,
                refund.at,
            )?,
        ];
        items.extend(audit.transact_items(&self.table)?);
        match self.transact(items).await? {
            Outcome::Written => Ok(CreditRefunded {
                balance: left,
                revision: revision + 1,
            }),
            Outcome::Cancelled(cancelled) if cancelled.condition_failed(0) => {
                Err(StoreError::RevisionMismatch {
                    what: format!("account {account}"),
                })
            }
            Outcome::Cancelled(cancelled) => Err(cancelled.into_error()),
        }
    }

    /// The original, refused early if its revision is not the one the clerk
    /// read or it is cancelled.
    async fn original(&self, id: &InvoiceId, expected: u64) -> Result<Original, StoreError> {
        let what = format!("invoice {id}");
        let item = self
            .get(keys::invoice(id))
            .await?
            .ok_or_else(|| StoreError::NotFound { what: what.clone() })?;
        let original = Original::read(&item, &what)?;
        if original.payments.cancelled {
            return Err(StoreError::AlreadyCancelled { what });
        }
        if original.payments.written_off {
            return Err(StoreError::Refused {
                what,
                reason: "it is written off; nothing more is corrected on it".to_owned(),
            });
        }
        if read_revision(&item, &what)? != expected {
            return Err(StoreError::RevisionMismatch { what });
        }
        if original.invoice.content().document_type != DocumentType::Invoice {
            return Err(StoreError::Refused {
                what,
                reason: "it is a credit note; only invoices are corrected".to_owned(),
            });
        }
        Ok(original)
    }

    /// The original, its seller, and the credit note's issue date (`at` in
    /// the seller's time zone).
    async fn to_correct(
        &self,
        id: &InvoiceId,
        expected: u64,
        at: DateTime<Utc>,
    ) -> Result<(Original, billing_domain::seller::BillingEntity, NaiveDate), StoreError> {
        let original = self.original(id, expected).await?;
        let entity = self
            .billing_entity(&original.invoice.content().billing_entity_id)
            .await?;
        let issue_date = at.with_timezone(&entity.time_zone).date_naive();
        Ok((original, entity, issue_date))
    }

    /// Why the original's write failed: cancelled or changed by a clerk
    /// meanwhile (final), or moved by a payment (worth another try).
    async fn original_failure(&self, id: &InvoiceId, expected: u64) -> Failed {
        match self.original(id, expected).await {
            Ok(_) => Failed::Retry,
            Err(e) => Failed::Stop(e),
        }
    }

    async fn issue_credit_note(
        &self,
        issue: IssueCredit<'_>,
    ) -> Result<Result<CreditNoteIssued, Failed>, StoreError> {
        let original = issue.original;
        let id = &original.invoice.content().id;
        let draft = issue.built.draft;
        let series = issue
            .entity
            .series_for(DocumentType::CreditNote)
            .map_err(|e| StoreError::corrupt(format!("billing entity {}", issue.entity.id), e))?;
        let key: CounterKey = series.counter_key(&draft.billing_entity_id, draft.issue_date);
        let last = self.counter_value(&key).await?;
        let number = series
            .format(draft.issue_date, last + 1)
            .map_err(|e| StoreError::corrupt(format!("counter {}", key.storage_key()), e))?;
        let credit_note = draft.finalize(number.clone());
        let amount = credit_note.amount_due();
        let now = issue.at.to_rfc3339();

        let mut note = crate::codec::invoice::item(&credit_note, &now)?;
        // Nothing is payable on a credit note: it settles its original.
        note.put(STATUS, s(InvoiceStatus::Applied.as_str()));
        note.put(OPEN_AMOUNT, s("0"));
        note.put(PRECEDING_INVOICE_ID, s(id.as_str()));
        // Not a payment target: a transfer quoting it goes to the review list.
        note.remove(PAYMENT_REFERENCE.name());

        let currency = original.invoice.content().currency;
        let credited_after = issue.built.credited_after;
        let credited_gross = credited_after.gross.unwrap_or(Money::zero(currency));
        let credited_lines = serde_json::to_string(&credited_after)
            .map_err(|e| StoreError::corrupt(format!("invoice {id}"), e))?;
        let summary = &original.payments.summary;
        let settled = !issue.open_after.is_positive();
        let status = if issue.cancel {
            InvoiceStatus::Cancelled
        } else if settled {
            InvoiceStatus::Paid
        } else {
            InvoiceStatus::from(summary.status)
        }
        .as_str();
        let mut set = vec![
            format!("{STATUS} = :status"),
            format!("{OPEN_AMOUNT} = :open"),
            format!("{CREDITED_AMOUNT} = :credited"),
            format!("{CREDITED_LINES} = :credited_lines"),
            format!("{PAYMENT_VERSION} = :next_payment"),
            format!("{REVISION} = :next_revision"),
            format!("{CORRECTED_AT} = :at"),
        ];
        if issue.cancel {
            set.push(format!("{CANCELLED_BY} = :credit_note"));
        }
        // Settled by the credit note: paid in full on its date, so the
        // invoice counts in days-to-pay and the on-time share.
        let settled_on = issue.paid_in_full_on.filter(|_| !issue.cancel);
        if settled_on.is_some() {
            set.push(format!("{PAID_IN_FULL_ON} = :settled_on"));
            set.push(format!("{PAID_ON_TIME} = :on_time"));
        }
        let mut expression = format!("SET {}", set.join(", "));
        if settled {
            // Nothing open: out of dunning and of the open invoices.
            expression.push_str(&format!(
                " REMOVE {DUNNING_SHARD}, {DUNNING_AT}, {OPEN_KEY}"
            ));
        }
        let (revision_check, revision_value) = revision_condition(issue.expected_revision);
        let payment_check = if original.payments.payment_version == 0 {
            format!("attribute_not_exists({PAYMENT_VERSION})")
        } else {
            format!("{PAYMENT_VERSION} = :payment_version")
        };
        let mut update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key_item(keys::invoice(id))))
            .update_expression(expression)
            .condition_expression(format!(
                "attribute_exists({PK}) AND {payment_check} AND {revision_check} \
                 AND (attribute_not_exists({STATUS}) OR {STATUS} <> :cancelled)"
            ))
            .expression_attribute_values(":status", s(status))
            .expression_attribute_values(":cancelled", s(InvoiceStatus::Cancelled.as_str()))
            .expression_attribute_values(":open", s(issue.open_after.amount().to_string()))
            .expression_attribute_values(":credited", s(credited_gross.amount().to_string()))
            .expression_attribute_values(":credited_lines", s(credited_lines))
            .expression_attribute_values(":next_payment", n(original.payments.payment_version + 1))
            .expression_attribute_values(":next_revision", n(issue.expected_revision + 1))
            .expression_attribute_values(":at", time(issue.at));
        if let Some(value) = revision_value {
            update = update.expression_attribute_values(":revision", value);
        }
        if original.payments.payment_version > 0 {
            update = update.expression_attribute_values(
                ":payment_version",
                n(original.payments.payment_version),
            );
        }
        if issue.cancel {
            update = update
                .expression_attribute_values(":credit_note", s(credit_note.content().id.as_str()));
        }
        if let Some(day) = settled_on {
            update = update
                .expression_attribute_values(":settled_on", s(day.to_string()))
                .expression_attribute_values(
                    ":on_time",
                    aws_sdk_dynamodb::types::AttributeValue::Bool(
                        day <= original.payments.due_date,
                    ),
                );
        }
        let mut items = vec![
            transaction_update(update)?,
            self.advance_counter(&key, last, last + 1)?,
            self.put_new(note)?,
        ];
        if let Some(credit) = issue.to_credit {
            let credit_id = keys::derived_id("crd", &[credit_note.content().id.as_str()]);
            items.push(self.credit_item(
                &original.account_id,
                &credit_id,
                credit,
                CreditKind::CreditNote,
                &format!(
                    "paid on invoice {}, credited by {}",
                    original.invoice.number(),
                    number
                ),
                issue.at,
            )?);
        }
        items.extend(issue.audit.transact_items(&self.table)?);
        items.extend(issue.extra);
        let written = self
            .staff_transaction(items, id, issue.expected_revision, 0)
            .await?;
        Ok(written.map(|()| CreditNoteIssued {
            credit_note_id: credit_note.content().id.clone(),
            number,
            amount,
            revision: issue.expected_revision + 1,
            open_after: issue.open_after,
            customer_credit: issue.to_credit,
            released: issue.released,
        }))
    }

    /// Sends a staff write's transaction. Item `original_at` is the
    /// invoice's conditioned update: if it failed, the invoice is read
    /// again to tell a clerk's conflict (final) from a payment's race
    /// (retried); other condition failures and races are retried.
    async fn staff_transaction(
        &self,
        items: Vec<TransactWriteItem>,
        id: &InvoiceId,
        expected_revision: u64,
        original_at: usize,
    ) -> Result<Result<(), Failed>, StoreError> {
        let cancelled = match self.transact(items).await? {
            Outcome::Written => return Ok(Ok(())),
            Outcome::Cancelled(cancelled) => cancelled,
        };
        if cancelled.condition_failed(original_at) {
            return Ok(Err(self.original_failure(id, expected_revision).await));
        }
        if cancelled.only_races(|_| true) {
            Ok(Err(Failed::Retry))
        } else {
            Err(cancelled.into_error())
        }
    }

    /// Books a staff entry on one invoice with its revision check, its audit
    /// record and `extra` items, in one transaction.
    async fn staff_booking(
        &self,
        booking: &EntryBooking,
        id: &InvoiceId,
        expected_revision: u64,
        audit: &AuditEntry,
        extra: Vec<TransactWriteItem>,
    ) -> Result<Result<PaymentSummary, Failed>, StoreError> {
        let (mut items, summaries) = match self
            .entry_items(booking, Some((id, expected_revision)), None)
            .await?
        {
            Ok(built) => built,
            Err(refusal) => {
                return Ok(Err(Failed::Stop(StoreError::Refused {
                    what: format!("invoice {id}"),
                    reason: refusal,
                })));
            }
        };
        items.extend(audit.transact_items(&self.table)?);
        items.extend(extra);
        let summary = summaries
            .into_iter()
            .next()
            .ok_or_else(|| StoreError::Refused {
                what: format!("invoice {id}"),
                reason: "nothing to book".to_owned(),
            })?;
        // The same booking exists already (its entry marker, item 0, would
        // refuse it); item 2 is the invoice's update (after its payment).
        let marker = keys::statement_entry_key(&booking.statement_id, &booking.entry_id);
        if self.get(marker).await?.is_some() {
            return Ok(Err(Failed::Stop(StoreError::Refused {
                what: format!("invoice {id}"),
                reason: "this booking was recorded already".to_owned(),
            })));
        }
        let written = self
            .staff_transaction(items, id, expected_revision, 2)
            .await?;
        Ok(written.map(|()| summary))
    }

    /// The credit in `currency` and the account's revision, read together
    /// (the revision guards the spend).
    async fn balance_and_revision(
        &self,
        account: &AccountId,
        currency: Currency,
    ) -> Result<(Money, u64), StoreError> {
        let what = format!("account {account}");
        let item = self
            .get(keys::account(account))
            .await?
            .ok_or_else(|| StoreError::NotFound { what: what.clone() })?;
        let revision = read_revision(&item, &what)?;
        let balance = self
            .credit_balance(account)
            .await?
            .into_iter()
            .find(|m| m.currency() == currency)
            .unwrap_or(Money::zero(currency));
        Ok((balance, revision))
    }

    /// A movement of customer credit (positive: credit; negative: spent),
    /// booked `at`.
    fn credit_item(
        &self,
        account: &AccountId,
        id: &str,
        amount: Money,
        kind: CreditKind,
        reference: &str,
        at: DateTime<Utc>,
    ) -> Result<TransactWriteItem, StoreError> {
        let movement = CreditMovement {
            account,
            id,
            amount,
            kind,
            value_date: at.date_naive(),
            reason: reference,
            booked_at: at,
            bank_entry: None,
        };
        self.put_new(movement.item())
    }

    /// Checks the account's revision and bumps it: every change of its
    /// credit (and every staff write to it) goes through this.
    fn account_revision_update(
        &self,
        account: &AccountId,
        read: u64,
        at: DateTime<Utc>,
    ) -> Result<TransactWriteItem, StoreError> {
        let update = crate::audit::with_revision(
            Update::builder()
                .table_name(&self.table)
                .set_key(Some(key_item(keys::account(account))))
                .expression_attribute_values(":at", time(at)),
            &format!("{} = :at", codec::account::STAFF_CHANGED_AT),
            "",
            read,
        );
        transaction_update(update)
    }
}

/// The parts of one credit-note transaction.
struct IssueCredit<'a> {
    original: &'a Original,
    expected_revision: u64,
    built: correction::Correction,
    entity: &'a billing_domain::seller::BillingEntity,
    cancel: bool,
    open_after: Money,
    /// The day a partial credit note settled the original (its issue
    /// date), or the day it was settled before; `None` while it is open.
    paid_in_full_on: Option<NaiveDate>,
    to_credit: Option<Money>,
    audit: &'a AuditEntry,
    extra: Vec<TransactWriteItem>,
    released: Vec<SubscriptionId>,
    at: DateTime<Utc>,
}

/// The contracts whose periods an invoice billed.
fn released_contracts(invoice: &Invoice) -> Vec<SubscriptionId> {
    let mut ids: Vec<SubscriptionId> = correction::billed_periods(invoice)
        .into_keys()
        .map(|(id, _)| id)
        .collect();
    ids.dedup();
    ids
}

fn domain_message(error: billing_domain::DomainError) -> String {
    let billing_domain::DomainError::Invalid { message, .. } = error;
    message
}

fn refused(id: &InvoiceId, error: billing_domain::DomainError) -> StoreError {
    StoreError::Refused {
        what: format!("invoice {id}"),
        reason: domain_message(error),
    }
}

/// Customer credit on an account (the surplus of an overpayment, a credit
/// note's amount), and what happened to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CreditRecord {
    /// Its id (the sort key after `CREDIT#`).
    pub credit_id: String,
    /// The amount.
    pub amount: Money,
    /// When it arose.
    pub value_date: Option<NaiveDate>,
    /// Why.
    pub reason: Option<String>,
}

impl BillingStore {
    /// The customer credit of an account, one Query on its partition.
    pub async fn account_credit_page(
        &self,
        account: &AccountId,
        page: &Page,
    ) -> Result<Paged<CreditRecord>, StoreError> {
        let partition = keys::account_partition(account);
        let what = format!("credit of account {account}");
        let (items, next) = self.prefix_page(&partition, CREDIT_PREFIX, page).await?;
        Paged::read(&items, next, |item| {
            let sk = read_s(item, codec::SK, &what)?;
            Ok(CreditRecord {
                credit_id: sk.strip_prefix(CREDIT_PREFIX).unwrap_or(sk).to_owned(),
                amount: read_amount(item, &what)?,
                value_date: read_optional_s(item, codec::credit::VALUE_DATE)
                    .and_then(|d| d.parse().ok()),
                reason: read_optional_s(item, codec::credit::REASON).map(str::to_owned),
            })
        })
    }
}
