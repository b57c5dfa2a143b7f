//! One sweep for one day.
//!
//! 1. If the base-rate table has no rate for the current half-year, the
//!    sweep goes on with the last known rate and puts a warning on the
//!    needs-attention list (never a silent assumption).
//! 2. It reads only the `DunningDue` index (invoices whose next dunning
//!    date is today or earlier), then each such invoice strongly consistent.
//! 3. The dunning policy decides each invoice: a letter level, a later
//!    look (the index key moves there), hand-over to collection, review
//!    (open amount below the dunning minimum: no letter, the invoice leaves
//!    the index and goes on the needs-attention list once), or nothing
//!    ever again (the key is removed).
//! 4. Each customer gets one letter listing its invoices due a notice
//!    today; the letter and every listed invoice's level advance are one
//!    transaction conditioned on the level, payment version and block read,
//!    so a second sweep on the same day (or one racing a payment) sends
//!    nothing twice.

use std::collections::BTreeMap;

use billing_domain::dunning::{DunningAction, DunningNotice, DunningStage, SentDunningLevel};
use billing_domain::dunning_letter::DunningLetter;
use billing_domain::ids::{AccountId, BillingEntityId};
use billing_domain::money::Money;
use billing_lambda::metrics::{self, MetricLine};
use billing_store::{
    BillingStore, DunningState, LetterCommit, LetterInvoice, LetterRecorded,
    MAX_INVOICES_PER_LETTER, keys,
};
use chrono::{DateTime, NaiveDate, Utc};

use crate::error::SweepError;

/// Which day to sweep.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SweepDay {
    /// This calendar day of the seller (on demand, tests, the demo).
    Date(NaiveDate),
    /// The schedule's time (`<aws.scheduler.scheduled-time>`).
    ScheduledAt(DateTime<Utc>),
}

/// What a sweep did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SweepReport {
    /// Index items read (DynamoDB's `ScannedCount` over all shards).
    pub index_items_read: u64,
    /// Invoices looked at.
    pub due: usize,
    /// Letters recorded now (the documents function renders and sends them).
    pub letters: Vec<DunningLetter>,
    /// Letters a previous run of the same day had recorded already.
    pub already_recorded: usize,
    /// Invoices that moved on between reading and writing (paid, blocked):
    /// left for the next sweep.
    pub stale: usize,
    /// Invoices handed over to collection.
    pub handed_over: usize,
    /// Invoices below the dunning minimum, put on the needs-attention list
    /// for review instead of being dunned.
    pub below_minimum: usize,
    /// Invoices whose next look moved to a later day or out of the index.
    pub rescheduled: usize,
    /// Whether the base-rate table was missing the current half-year.
    pub base_rate_warning: bool,
    /// Invoices the policy refused (noted on the needs-attention list).
    pub failed: usize,
}

/// The sweep over one billing table and seller.
#[derive(Debug)]
pub struct SweepService {
    store: BillingStore,
    entity_id: BillingEntityId,
}

impl SweepService {
    /// A sweep for `entity_id` (the template's `BILLING_ENTITY_ID`). It
    /// records letters; the stream hands each recorded letter to the
    /// documents function, which renders, archives and sends it on, so a
    /// letter cannot be recorded without being sent.
    pub fn new(store: BillingStore, entity_id: BillingEntityId) -> Self {
        Self { store, entity_id }
    }

    /// Sweeps for `day`: a calendar day of the seller, or the schedule's
    /// time, which is turned into the seller's day in its time zone (so a
    /// late retry still sweeps the day it was meant for).
    pub async fn sweep(
        &self,
        day: SweepDay,
        now: DateTime<Utc>,
    ) -> Result<SweepReport, SweepError> {
        let entity = self.store.billing_entity(&self.entity_id).await?;
        let today = match day {
            SweepDay::Date(date) => date,
            SweepDay::ScheduledAt(at) => at.with_timezone(&entity.time_zone).date_naive(),
        };
        let policy = &entity.dunning;
        let mut report = SweepReport::default();
        if let Some(missing) = policy.base_rates.missing_half_year(today) {
            let last = policy
                .base_rates
                .rates()
                .last()
                .map(|rate| rate.rate_percent);
            self.store
                .put_attention_note(
                    &entity.id,
                    &format!("base_rate_missing#{missing}"),
                    &format!(
                        "the base-rate table has no rate from {missing}; interest uses the last known rate ({} %) until it is extended",
                        last.map(|r| r.to_string()).unwrap_or_default()
                    ),
                    now,
                )
                .await?;
            tracing::warn!(%missing, "base-rate table is missing the current half-year");
            report.base_rate_warning = true;
        }
        let scan = self.store.dunning_due(today).await?;
        report.index_items_read = scan.items_read;
        let mut by_account: BTreeMap<AccountId, Vec<(DunningState, DunningNotice)>> =
            BTreeMap::new();
        for due in scan.invoices {
            if due.billing_entity_id != entity.id {
                continue;
            }
            let Some(state) = self.store.dunning_state(&due.invoice_id).await? else {
                continue;
            };
            report.due += 1;
            let action = match policy.next_action(&state.facts(&entity.time_zone), today) {
                Ok(action) => action,
                Err(source) => {
                    let error = SweepError::Policy {
                        invoice_id: due.invoice_id.to_string(),
                        source,
                    };
                    tracing::error!(invoice_id = %due.invoice_id, error = %error, "invoice cannot be dunned");
                    self.store
                        .put_attention_note(
                            &entity.id,
                            &format!("dunning_failed#{}", due.invoice_id),
                            &error.to_string(),
                            now,
                        )
                        .await?;
                    report.failed += 1;
                    continue;
                }
            };
            match action {
                DunningAction::Send(notice) => {
                    by_account
                        .entry(state.payments.account_id.clone())
                        .or_default()
                        .push((state, notice));
                }
                DunningAction::HandOver { .. } => {
                    if self
                        .store
                        .hand_over_to_collection(&state, today, now)
                        .await?
                    {
                        report.handed_over += 1;
                    } else {
                        report.stale += 1;
                    }
                }
                DunningAction::BelowMinimum { minimum, .. } => {
                    if self.store.send_to_review(&state, minimum, now).await? {
                        report.below_minimum += 1;
                    } else {
                        report.stale += 1;
                    }
                }
                DunningAction::None { next_check, .. } => {
                    let next = next_check.filter(|date| *date > today);
                    self.store
                        .reschedule_dunning(&due.invoice_id, state.level, next)
                        .await?;
                    report.rescheduled += 1;
                }
            }
        }
        for (account, notices) in by_account {
            for chunk in notices.chunks(MAX_INVOICES_PER_LETTER) {
                self.letter(&account, today, now, chunk, &mut report)
                    .await?;
            }
        }
        count(&report);
        Ok(report)
    }

    async fn letter(
        &self,
        account: &AccountId,
        today: NaiveDate,
        now: DateTime<Utc>,
        notices: &[(DunningState, DunningNotice)],
        report: &mut SweepReport,
    ) -> Result<(), SweepError> {
        let mut parts: Vec<String> = vec![account.to_string(), today.to_string()];
        parts.extend(
            notices
                .iter()
                .map(|(state, notice)| format!("{}:{}", state.invoice.content().id, notice.level)),
        );
        let refs: Vec<&str> = parts.iter().map(String::as_str).collect();
        let letter_id = keys::derived_id("dun", &refs);
        let language = notices
            .first()
            .map(|(state, _)| state.invoice.content().buyer.language)
            .unwrap_or(billing_domain::party::Language::De);
        // Earlier letters' fees as far as payments have not settled them
        // (a payment settles costs first, §367(1) BGB).
        let mut lines = Vec::with_capacity(notices.len());
        for (state, notice) in notices {
            let open_fees = state
                .payments
                .charges
                .open()
                .map_err(|source| SweepError::Policy {
                    invoice_id: state.invoice.content().id.to_string(),
                    source,
                })?
                .costs;
            lines.push((
                &state.invoice,
                state.payments.summary.open,
                open_fees,
                notice,
            ));
        }
        let letter =
            DunningLetter::build(letter_id.clone(), today, language, &lines).map_err(|source| {
                SweepError::Policy {
                    invoice_id: letter_id.clone(),
                    source,
                }
            })?;
        let mut invoices = Vec::with_capacity(notices.len());
        for (state, notice) in notices {
            let mut sent = state.sent.clone();
            sent.push(SentDunningLevel {
                stage: notice.stage,
                sent_on: today,
                payment_deadline: notice.payment_deadline,
            });
            let fees_charged = Money::sum(
                notice.fee.currency(),
                [state.fees_charged, notice.fee, notice.flat_fee],
            )
            .map_err(|source| SweepError::Policy {
                invoice_id: state.invoice.content().id.to_string(),
                source,
            })?;
            // Each letter restates the interest up to its day: the claim
            // is the highest stated (as the journal reads the letters).
            let claimed_before = state.payments.charges.claimed.interest;
            let interest_claimed = if notice
                .interest
                .total
                .compare(&claimed_before)
                .map_err(|source| SweepError::Policy {
                    invoice_id: state.invoice.content().id.to_string(),
                    source,
                })?
                .is_gt()
            {
                notice.interest.total
            } else {
                claimed_before
            };
            invoices.push(LetterInvoice {
                invoice_id: state.invoice.content().id.clone(),
                expected_level: state.level,
                payment_version: state.payments.payment_version,
                block_read: state.block_stored.clone(),
                level: notice.level,
                sent,
                sent_on: today,
                flat_fee_charged: state.flat_fee_charged || notice.flat_fee.is_positive(),
                fees_charged,
                interest_claimed,
                next_check: notice.next_check,
            });
        }
        let body = serde_json::to_value(&letter).map_err(|e| {
            SweepError::Store(billing_store::StoreError::Corrupt {
                what: format!("letter {letter_id}"),
                reason: e.to_string(),
            })
        })?;
        let commit = LetterCommit {
            letter_id: letter_id.clone(),
            account_id: account.clone(),
            billing_entity_id: letter.billing_entity_id.clone(),
            date: today,
            body,
            invoices,
            at: now,
        };
        match self.store.record_dunning_letter(&commit).await? {
            LetterRecorded::Recorded => {
                tracing::info!(letter_id = %letter_id, invoices = letter.lines.len(), "dunning letter recorded");
                report.letters.push(letter);
            }
            LetterRecorded::AlreadyRecorded => report.already_recorded += 1,
            LetterRecorded::Stale => {
                tracing::info!(letter_id = %letter_id, "an invoice moved on meanwhile; the letter waits for the next sweep");
                report.stale += 1;
            }
        }
        Ok(())
    }
}

/// The function's name in its business metrics.
pub const FUNCTION: &str = "dunning-sweep";

/// Counts a completed sweep (the sweep alarm watches it), its letters per
/// stage and its hand-overs, as one metric line.
fn count(report: &SweepReport) {
    const STAGES: [DunningStage; 4] = [
        DunningStage::PaymentReminder,
        DunningStage::FirstNotice,
        DunningStage::SecondNotice,
        DunningStage::FinalNotice,
    ];
    let mut line = MetricLine::new(FUNCTION)
        .count(metrics::DUNNING_SWEEPS_COMPLETED, 1)
        .count(metrics::COLLECTION_HANDOVERS, report.handed_over);
    for (stage, name) in STAGES.into_iter().zip(metrics::DUNNING_LETTERS) {
        let letters = report.letters.iter().filter(|l| l.stage == stage).count();
        line = line.count(name, letters);
    }
    line.emit();
}
