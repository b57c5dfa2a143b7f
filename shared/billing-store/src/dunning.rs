//! Dunning state on invoices: what the sweep reads (only through the
//! sparse `DunningDue` index), the letters it records, hand-over to
//! collection, and the blocks and disputes billing staff set.
//!
//! The invoice item carries, beside its body and payment state:
//! `dunning_level` (highest level sent, absent = 0), `dunning_sent` (JSON
//! list of the letters sent), `flat_fee_charged`, `fees_charged` and
//! `interest_claimed` (what the letters claimed beyond the principal, which
//! a payment settles first, see [`crate::payment::InvoicePayments::book`]),
//! `dunning_block` and `dispute` (JSON), `collection_since`, and the index
//! keys `dunning_shard`/`dunning_at` while the sweep must look at it.
//! Letters are recorded together with the level advance of every invoice
//! they list, each conditioned on the level and payment version read, so a
//! sweep run twice, or racing a payment, sends nothing twice.

use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem, Update};
use billing_domain::dunning::{
    BookedCharge, BookedPayment, DunningFacts, InvoiceState, SentDunningLevel,
};
use billing_domain::dunning_letter::DunningLetter;
use billing_domain::ids::{AccountId, BillingEntityId, InvoiceId};
use billing_domain::invoice::Invoice;
use billing_domain::money::Money;
use billing_domain::payment::PaymentStatus;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::attributes::{Item, key_item, n, read_body, read_optional_s, read_s, s, time};
use crate::codec::invoice::{
    COLLECTION_SINCE, DISPUTE, DUNNING_AT, DUNNING_BLOCK, DUNNING_LEVEL, DUNNING_SENT,
    DUNNING_SHARD, FEES_CHARGED, FLAT_FEE_CHARGED, INTEREST_CLAIMED, LAST_DUNNED_ON,
    PAYMENT_VERSION,
};
use crate::codec::letter::{LETTER_STATUS, PDF_KEY, PDF_SHA256};
use crate::codec::{self, Attr, ItemAttributes};
use crate::codec::{Named, PK};
use crate::payment::InvoicePayments;
use crate::transaction::{Outcome, transaction_update};
use crate::{BillingStore, StoreError, keys};

/// A dunning block set by billing staff (e.g. a promise to pay).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DunningBlock {
    /// Why (shown to staff; no personal data).
    pub reason: String,
    /// Last day it holds; none: until lifted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<NaiveDate>,
    /// Who set it (staff user id), if known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by: Option<String>,
    /// When.
    pub since: DateTime<Utc>,
}

/// A dispute flagged by billing staff: the invoice is never dunned while
/// it stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dispute {
    /// What the customer disputes.
    pub reason: String,
    /// Who flagged it, if known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by: Option<String>,
    /// When.
    pub since: DateTime<Utc>,
}

/// An invoice as the `DunningDue` index shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueInvoice {
    /// The invoice.
    pub invoice_id: InvoiceId,
    /// Its customer (letters are per customer).
    pub account_id: AccountId,
    /// Its seller.
    pub billing_entity_id: BillingEntityId,
}

/// What one pass over the index read.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DueScan {
    /// Invoices whose next dunning date has come.
    pub invoices: Vec<DueInvoice>,
    /// Index items DynamoDB read (its `ScannedCount`), to show the sweep
    /// reads only what is due.
    pub items_read: u64,
    /// Query requests sent (one per shard and page).
    pub requests: u64,
}

/// An invoice's dunning state, read strongly consistent.
#[derive(Debug, Clone, PartialEq)]
pub struct DunningState {
    /// The finalized invoice.
    pub invoice: Invoice,
    /// Its payment state.
    pub payments: InvoicePayments,
    /// Highest level sent (0: none).
    pub level: u32,
    /// The letters sent.
    pub sent: Vec<SentDunningLevel>,
    /// Whether the business flat fee was claimed.
    pub flat_fee_charged: bool,
    /// Fees claimed by earlier letters (they stay owed).
    pub fees_charged: Money,
    /// A block, if set.
    pub block: Option<DunningBlock>,
    /// A dispute, if flagged.
    pub dispute: Option<Dispute>,
    /// Handed over to collection on this day.
    pub collection_since: Option<NaiveDate>,
    /// Whether it currently carries dunning index keys.
    pub indexed: bool,
    /// The block as stored, so a letter is written only if it did not change.
    pub block_stored: Option<String>,
    /// Payments and returns booked on it, with value dates (the interest's
    /// basis per day).
    pub booked: Vec<BookedPayment>,
    /// What the letters sent so far claimed on the invoice (fees, interest),
    /// dated: payments settle these before the principal (§367 BGB).
    pub charges: Vec<BookedCharge>,
    /// When the invoice e-mail reached the customer's mail server, as SES
    /// reported it (`delivery_event_at` while the status is `delivered`,
    /// or `complained`, which needs a delivery first); none while only sent,
    /// bounced or failed.
    pub delivered_at: Option<DateTime<Utc>>,
}

impl DunningState {
    fn read(item: &Item, what: &str) -> Result<Self, StoreError> {
        let invoice: Invoice = read_body(item, what)?;
        let payments = InvoicePayments::read(item, what)?;
        let currency = invoice.content().currency;
        let json = |name: Attr| read_optional_s(item, name);
        let sent: Vec<SentDunningLevel> = match json(codec::invoice::DUNNING_SENT) {
            Some(text) => serde_json::from_str(text)
                .map_err(|e| StoreError::corrupt(what, format!("dunning_sent: {e}")))?,
            None => Vec::new(),
        };
        let block = json(codec::invoice::DUNNING_BLOCK)
            .map(serde_json::from_str)
            .transpose()
            .map_err(|e| StoreError::corrupt(what, format!("dunning_block: {e}")))?;
        let dispute = json(codec::invoice::DISPUTE)
            .map(serde_json::from_str)
            .transpose()
            .map_err(|e| StoreError::corrupt(what, format!("dispute: {e}")))?;
        let fees_charged = match json(codec::invoice::FEES_CHARGED) {
            Some(text) => Money::new(
                text.parse()
                    .map_err(|_| StoreError::corrupt(what, "fees_charged is not an amount"))?,
                currency,
            ),
            None => Money::zero(currency),
        };
        Ok(Self {
            invoice,
            level: payments.dunning_level,
            payments,
            sent,
            flat_fee_charged: matches!(
                item.attr(codec::invoice::FLAT_FEE_CHARGED),
                Some(AttributeValue::Bool(true))
            ),
            fees_charged,
            block,
            dispute,
            collection_since: json(codec::invoice::COLLECTION_SINCE).and_then(|d| d.parse().ok()),
            indexed: item.has(codec::invoice::DUNNING_SHARD),
            block_stored: json(codec::invoice::DUNNING_BLOCK).map(str::to_owned),
            booked: Vec::new(),
            charges: Vec::new(),
            delivered_at: match json(codec::invoice::DELIVERY_STATUS) {
                Some("delivered" | "complained") => crate::attributes::read_optional_time(
                    item,
                    codec::invoice::DELIVERY_EVENT_AT,
                    what,
                )?,
                _ => None,
            },
        })
    }

    /// The facts the dunning policy decides on. The invoice counts as
    /// received (Zugang, §130 BGB; the start of §286(3) BGB's 30 days) on
    /// the seller's calendar day (`time_zone`) SES reported its delivery to
    /// the customer's mail server: the e-mail is then in the customer's
    /// sphere. Without a recorded delivery receipt is unknown, and the
    /// 30-day rule is not relied on.
    pub fn facts<Tz: chrono::TimeZone>(&self, time_zone: &Tz) -> DunningFacts {
        let content = self.invoice.content();
        DunningFacts {
            due_date: content.due_date,
            open_amount: self.payments.summary.open,
            customer_kind: content.buyer.kind,
            state: match self.payments.summary.status {
                PaymentStatus::Paid | PaymentStatus::Overpaid => InvoiceState::Paid,
                PaymentStatus::Open | PaymentStatus::PartiallyPaid => InvoiceState::Open,
            },
            blocked: self.block.is_some(),
            block_until: self.block.as_ref().and_then(|b| b.until),
            handed_over: self.collection_since.is_some(),
            disputed: self.dispute.is_some(),
            sent: self.sent.clone(),
            flat_fee_charged: self.flat_fee_charged,
            payments: self.booked.clone(),
            charges: self.charges.clone(),
            payment_date_agreed: content.buyer.payment_date_agreed,
            invoice_received_on: self
                .delivered_at
                .map(|at| at.with_timezone(time_zone).date_naive()),
            default_notice_printed: content.default_notice,
        }
    }
}

/// One invoice's part of a letter: the level it advances to.
#[derive(Debug, Clone, PartialEq)]
pub struct LetterInvoice {
    /// The invoice.
    pub invoice_id: InvoiceId,
    /// Level read before deciding; the write is conditioned on it.
    pub expected_level: u32,
    /// Payment version read; a payment booked since cancels the letter.
    pub payment_version: u64,
    /// The (expired) block read, if any; a block set or changed since
    /// cancels the letter.
    pub block_read: Option<String>,
    /// The new level.
    pub level: u32,
    /// Every letter sent for the invoice, this one included (the list is
    /// rewritten under the level condition).
    pub sent: Vec<SentDunningLevel>,
    /// The sweep's day.
    pub sent_on: NaiveDate,
    /// Whether the flat fee is claimed (now or before).
    pub flat_fee_charged: bool,
    /// Fees claimed so far, including this letter's.
    pub fees_charged: Money,
    /// Default interest claimed so far: the highest total any letter,
    /// this one included, stated for the invoice (each letter restates the
    /// interest up to its day).
    pub interest_claimed: Money,
    /// When the sweep must look again; none: leaves the index.
    pub next_check: Option<NaiveDate>,
}

/// A dunning letter to record: one per customer and sweep.
#[derive(Debug, Clone, PartialEq)]
pub struct LetterCommit {
    /// Stable id (same customer, day and contents: same id).
    pub letter_id: String,
    /// The customer.
    pub account_id: AccountId,
    /// The seller.
    pub billing_entity_id: BillingEntityId,
    /// The sweep's day.
    pub date: NaiveDate,
    /// The letter's content as JSON (what the template renders).
    pub body: serde_json::Value,
    /// The invoices it advances.
    pub invoices: Vec<LetterInvoice>,
    /// When it was recorded.
    pub at: DateTime<Utc>,
}

/// How recording a letter ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LetterRecorded {
    /// Recorded; send it.
    Recorded,
    /// Recorded before (a rerun): send nothing.
    AlreadyRecorded,
    /// An invoice moved on (paid, dunned, blocked) since it was read:
    /// nothing was written; decide again.
    Stale,
}

/// A recorded dunning letter with where its PDF and e-mail stand.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredLetter {
    /// What was recorded: the figures the PDF and the e-mail show.
    pub letter: DunningLetter,
    /// The archived PDF, once the documents function stored it.
    pub document: Option<crate::ArchivedDocument>,
    /// The e-mail's state, once delivery was attempted.
    pub delivery: Option<crate::DeliveryState>,
}

impl StoredLetter {
    fn read(item: &Item, what: &str) -> Result<Self, StoreError> {
        let letter: DunningLetter = read_body(item, what)?;
        let document = match (
            read_optional_s(item, codec::letter::PDF_KEY),
            read_optional_s(item, codec::letter::PDF_SHA256),
        ) {
            (Some(key), Some(sha256)) => Some(crate::ArchivedDocument {
                key: key.to_owned(),
                sha256: sha256.to_owned(),
                content_type: "application/pdf".to_owned(),
            }),
            _ => None,
        };
        Ok(Self {
            letter,
            document,
            delivery: crate::DeliveryState::read(item, what)?,
        })
    }
}

/// Most invoices one letter advances (DynamoDB transactions hold 100
/// items; the rest waits for the next letter).
pub const MAX_INVOICES_PER_LETTER: usize = 50;

/// The condition that the invoice is still at the dunning level read.
fn level_condition(level: u32) -> String {
    if level == 0 {
        format!("attribute_not_exists({DUNNING_LEVEL})")
    } else {
        format!("{DUNNING_LEVEL} = :expected")
    }
}

/// A matter on the needs-attention list besides delivery trouble: an
/// invoice handed over to collection, one below the dunning minimum, a
/// missing base rate, a refused bank statement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttentionNote {
    /// `collection`, `dunning_review`, `base_rate_missing`,
    /// `statement_refused`, ...
    pub kind: String,
    /// The invoice, for hand-overs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invoice_id: Option<InvoiceId>,
    /// Its number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invoice_number: Option<String>,
    /// What to do.
    pub message: String,
    /// Since when.
    pub since: DateTime<Utc>,
}

impl BillingStore {
    /// Invoices whose next dunning date is on or before `today`, read from
    /// every shard of the `DunningDue` index and nothing else.
    pub async fn dunning_due(&self, today: NaiveDate) -> Result<DueScan, StoreError> {
        let entries = self
            .due_index_entries(
                "DunningDue",
                DUNNING_SHARD,
                keys::DUNNING_SHARD_PREFIX,
                DUNNING_AT,
                today,
            )
            .await?;
        let mut scan = DueScan {
            requests: entries.requests,
            items_read: entries.scanned,
            ..DueScan::default()
        };
        for item in &entries.items {
            let what = "DunningDue entry";
            let pk = read_s(item, codec::PK, what)?;
            let Some(id) = pk.strip_prefix(keys::INVOICE_PARTITION_PREFIX) else {
                continue;
            };
            scan.invoices.push(DueInvoice {
                invoice_id: InvoiceId::new(id),
                account_id: AccountId::new(read_s(item, codec::invoice::ACCOUNT_ID, what)?),
                billing_entity_id: BillingEntityId::new(read_s(
                    item,
                    codec::invoice::BILLING_ENTITY_ID,
                    what,
                )?),
            });
        }
        Ok(scan)
    }

    /// An invoice's dunning state (strongly consistent: the index may lag).
    pub async fn dunning_state(&self, id: &InvoiceId) -> Result<Option<DunningState>, StoreError> {
        let what = format!("invoice {id}");
        // The invoice and its `PAYMENT#` items share the partition: one
        // strongly consistent Query reads both.
        let (pk, sk) = keys::invoice(id);
        let items = self.query_partition(pk).await?;
        let Some(item) = items
            .iter()
            .find(|item| read_optional_s(item, codec::SK) == Some(sk.as_str()))
        else {
            return Ok(None);
        };
        let mut state = DunningState::read(item, &what)?;
        state.booked = items
            .iter()
            .filter(|item| {
                read_optional_s(item, codec::SK)
                    .is_some_and(|sk| sk.starts_with(keys::PAYMENT_PREFIX))
            })
            .map(|item| crate::payment::booked_payment(item, &what))
            .collect::<Result<_, _>>()?;
        // Once a letter went out, what it claimed comes first when a
        // payment is allocated (§367 BGB): the same charges the aging and
        // the journal read, from the customer's letters (one more Query,
        // only for invoices already dunned).
        if state.level > 0 {
            let letters = self.letters_of_account(&state.payments.account_id).await?;
            state.charges = crate::receivables::claimed_charges(&letters, id)?;
        }
        Ok(Some(state))
    }

    /// Records a letter and advances every invoice it lists, in one
    /// transaction (see the module docs).
    pub async fn record_dunning_letter(
        &self,
        letter: &LetterCommit,
    ) -> Result<LetterRecorded, StoreError> {
        if letter.invoices.is_empty() || letter.invoices.len() > MAX_INVOICES_PER_LETTER {
            return Err(StoreError::corrupt(
                format!("letter {}", letter.letter_id),
                format!(
                    "lists {} invoices; 1 to {MAX_INVOICES_PER_LETTER} fit one letter",
                    letter.invoices.len()
                ),
            ));
        }
        let mut item = key_item(keys::letter_key(&letter.letter_id));
        item.put(codec::RECORD_TYPE, s("dunning_letter"));
        item.put(codec::letter::LETTER_ID, s(&letter.letter_id));
        item.put(codec::letter::ACCOUNT_ID, s(letter.account_id.as_str()));
        item.put(
            codec::letter::BILLING_ENTITY_ID,
            s(letter.billing_entity_id.as_str()),
        );
        item.put(codec::letter::LETTER_DATE, s(letter.date.to_string()));
        item.put(
            codec::BODY,
            crate::attributes::body(&letter.body, "dunning letter")?,
        );
        item.put(codec::letter::LETTER_STATUS, s("recorded"));
        item.put(codec::letter::CREATED_AT, time(letter.at));
        item.put(
            codec::ACCOUNT_KEY,
            s(keys::account_partition(&letter.account_id)),
        );
        item.put(
            codec::ACCOUNT_SORT,
            s(keys::account_letter_sort(letter.date, &letter.letter_id)),
        );
        let mut items =
            vec![self.transaction_put(item, Some(&format!("attribute_not_exists({PK})")), None)?];
        for part in &letter.invoices {
            items.push(self.advance_update(part)?);
        }
        match self.transact(items).await? {
            Outcome::Written => Ok(LetterRecorded::Recorded),
            // Item 0 is the letter: recorded before.
            Outcome::Cancelled(cancelled) if cancelled.condition_failed(0) => {
                Ok(LetterRecorded::AlreadyRecorded)
            }
            Outcome::Cancelled(cancelled) if cancelled.any_condition_failed() => {
                Ok(LetterRecorded::Stale)
            }
            Outcome::Cancelled(cancelled) => Err(cancelled.into_error()),
        }
    }

    fn advance_update(&self, part: &LetterInvoice) -> Result<TransactWriteItem, StoreError> {
        let sent_json = serde_json::to_string(&part.sent)
            .map_err(|e| StoreError::corrupt("dunning letter", e))?;
        let mut expression = format!(
            "SET {DUNNING_LEVEL} = :level, \
             {DUNNING_SENT} = :sent, {FLAT_FEE_CHARGED} = :flat, {FEES_CHARGED} = :fees, \
             {INTEREST_CLAIMED} = :interest, {LAST_DUNNED_ON} = :day"
        )
        .to_owned();
        match part.next_check {
            Some(_) => {
                expression.push_str(&format!(", {DUNNING_SHARD} = :shard, {DUNNING_AT} = :at"))
            }
            None => expression.push_str(&format!(" REMOVE {DUNNING_SHARD}, {DUNNING_AT}")),
        }
        let level_condition = level_condition(part.expected_level);
        let version_condition = if part.payment_version == 0 {
            format!("attribute_not_exists({PAYMENT_VERSION})")
        } else {
            format!("{PAYMENT_VERSION} = :version")
        };
        let block_condition = if part.block_read.is_some() {
            format!("{DUNNING_BLOCK} = :block")
        } else {
            format!("attribute_not_exists({DUNNING_BLOCK})")
        };
        let condition = format!(
            "attribute_exists({DUNNING_SHARD}) AND {level_condition} AND {version_condition} \
             AND {block_condition} AND attribute_not_exists({DISPUTE}) \
             AND attribute_not_exists({COLLECTION_SINCE})"
        );
        let mut update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key_item(keys::invoice(&part.invoice_id))))
            .update_expression(expression)
            .condition_expression(condition)
            .expression_attribute_values(":level", n(part.level))
            .expression_attribute_values(":flat", AttributeValue::Bool(part.flat_fee_charged))
            .expression_attribute_values(":fees", s(part.fees_charged.amount().to_string()))
            .expression_attribute_values(":interest", s(part.interest_claimed.amount().to_string()))
            .expression_attribute_values(":day", s(part.sent_on.to_string()));
        update = update.expression_attribute_values(":sent", s(sent_json));
        if let Some(block) = &part.block_read {
            update = update.expression_attribute_values(":block", s(block));
        }
        if let Some(next) = part.next_check {
            let (shard, at) = keys::dunning_due(&part.invoice_id, next);
            update = update
                .expression_attribute_values(":shard", s(shard))
                .expression_attribute_values(":at", s(at));
        }
        if part.expected_level > 0 {
            update = update.expression_attribute_values(":expected", n(part.expected_level));
        }
        if part.payment_version > 0 {
            update = update.expression_attribute_values(":version", n(part.payment_version));
        }
        transaction_update(update)
    }

    /// A recorded letter, read strongly consistent (`None`: no such letter).
    pub async fn dunning_letter(
        &self,
        letter_id: &str,
    ) -> Result<Option<StoredLetter>, StoreError> {
        let what = format!("dunning letter {letter_id}");
        self.get_as(keys::letter_key(letter_id), |item| {
            StoredLetter::read(item, &what)
        })
        .await
    }

    /// Records the archived PDF of a letter (`letter_status` recorded →
    /// archived); repeating it writes the same values.
    pub async fn record_letter_document(
        &self,
        letter_id: &str,
        key: &str,
        sha256: &str,
    ) -> Result<(), StoreError> {
        self.db
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key_item(keys::letter_key(letter_id))))
            .update_expression(format!(
                "SET {LETTER_STATUS} = :archived, {PDF_KEY} = :key, {PDF_SHA256} = :sha"
            ))
            .condition_expression(format!("attribute_exists({PK})"))
            .expression_attribute_values(":archived", s("archived"))
            .expression_attribute_values(":key", s(key))
            .expression_attribute_values(":sha", s(sha256))
            .named()
            .send()
            .await
            .map_err(|e| StoreError::aws("UpdateItem", &e))?;
        Ok(())
    }

    /// Moves an invoice's next look to `next` (nothing to send today), or
    /// out of the index (`None`), conditioned on the level read so a
    /// concurrent letter is not undone.
    pub async fn reschedule_dunning(
        &self,
        id: &InvoiceId,
        expected_level: u32,
        next: Option<NaiveDate>,
    ) -> Result<bool, StoreError> {
        let level_condition = level_condition(expected_level);
        let mut update = self
            .update_item()
            .set_key(Some(key_item(keys::invoice(id))))
            .condition_expression(format!("attribute_exists({PK}) AND {level_condition}"));
        update = match next {
            Some(date) => {
                let (shard, at) = keys::dunning_due(id, date);
                update
                    .update_expression(format!("SET {DUNNING_SHARD} = :shard, {DUNNING_AT} = :at"))
                    .expression_attribute_values(":shard", s(shard))
                    .expression_attribute_values(":at", s(at))
            }
            None => update.update_expression(format!("REMOVE {DUNNING_SHARD}, {DUNNING_AT}")),
        };
        if expected_level > 0 {
            update = update.expression_attribute_values(":expected", n(expected_level));
        }
        Ok(self.update_if(update).await?.is_some())
    }

    /// Hands an invoice over to collection: it leaves the dunning index for
    /// good and goes on the needs-attention list, in one transaction,
    /// conditioned on the level read.
    pub async fn hand_over_to_collection(
        &self,
        state: &DunningState,
        today: NaiveDate,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let message = format!(
            "final notice unanswered; {} open: hand over to collection",
            state.payments.summary.open
        );
        self.leave_dunning(state, Some(today), "collection", message, at)
            .await
    }

    /// Takes an invoice whose open amount is below the dunning minimum out
    /// of the sweep and puts it on the needs-attention list for review
    /// (adjust, write off or collect), in one transaction conditioned on
    /// the level read: the sweep stops looking at it, so it is put there
    /// once, not every day. It stays out of the sweep until staff act on
    /// it (the amount changes nothing by itself).
    pub async fn send_to_review(
        &self,
        state: &DunningState,
        minimum: Money,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let message = format!(
            "{} open, below the dunning minimum of {minimum}: no letter sent; review (write off or collect)",
            state.payments.summary.open
        );
        self.leave_dunning(state, None, "dunning_review", message, at)
            .await
    }

    /// Removes an invoice from the dunning index (with `collection_since`
    /// for a hand-over) and writes its needs-attention entry, in one
    /// transaction conditioned on the level read; false when it moved on.
    async fn leave_dunning(
        &self,
        state: &DunningState,
        collection_since: Option<NaiveDate>,
        kind: &str,
        message: String,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let content = state.invoice.content();
        let level_condition = level_condition(state.level);
        let mut update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key_item(keys::invoice(&content.id))))
            .condition_expression(format!(
                "attribute_exists({DUNNING_SHARD}) AND attribute_not_exists({COLLECTION_SINCE}) AND {level_condition}"
            ));
        update = match collection_since {
            Some(day) => update
                .update_expression(format!(
                    "SET {COLLECTION_SINCE} = :day REMOVE {DUNNING_SHARD}, {DUNNING_AT}"
                ))
                .expression_attribute_values(":day", s(day.to_string())),
            None => update.update_expression(format!("REMOVE {DUNNING_SHARD}, {DUNNING_AT}")),
        };
        if state.level > 0 {
            update = update.expression_attribute_values(":expected", n(state.level));
        }
        let update = update
            .named()
            .build()
            .map_err(|e| StoreError::corrupt("transaction item", e))?;
        let entry = AttentionNote {
            kind: kind.to_owned(),
            invoice_id: Some(content.id.clone()),
            invoice_number: Some(state.invoice.number().to_string()),
            message,
            since: at,
        };
        let mut attention = key_item(keys::dunning_attention_key(
            &content.billing_entity_id,
            &content.id,
        ));
        attention.put(codec::RECORD_TYPE, s("dunning_attention"));
        attention.put(
            codec::BODY,
            crate::attributes::body(&entry, "attention entry")?,
        );
        let items = vec![
            TransactWriteItem::builder().update(update).build(),
            self.transaction_put(attention, None, None)?,
        ];
        match self.transact(items).await? {
            Outcome::Written => Ok(true),
            Outcome::Cancelled(_) => Ok(false),
        }
    }

    /// Puts a note on the entity's needs-attention list (a base rate missing
    /// for the half-year, a refused statement); one entry per `topic`
    /// (e.g. `base_rate_missing`, `statement_refused#<file>`), refreshed
    /// when it recurs.
    pub async fn put_attention_note(
        &self,
        entity: &BillingEntityId,
        topic: &str,
        message: &str,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let entry = AttentionNote {
            kind: topic.split('#').next().unwrap_or(topic).to_owned(),
            invoice_id: None,
            invoice_number: None,
            message: message.to_owned(),
            since: at,
        };
        let mut item = key_item(keys::warning(entity, topic));
        item.put(codec::RECORD_TYPE, s("dunning_attention"));
        item.put(codec::BODY, crate::attributes::body(&entry, "warning")?);
        self.put(item).await
    }

    /// The notes of an entity's needs-attention list besides delivery
    /// trouble: hand-overs to collection, configuration warnings, refused
    /// statements.
    pub async fn attention_notes(
        &self,
        entity: &BillingEntityId,
    ) -> Result<Vec<AttentionNote>, StoreError> {
        let mut entries = Vec::new();
        for prefix in [keys::DUNNING_ATTENTION_PREFIX, keys::WARNING_PREFIX] {
            for item in self
                .query_prefix(keys::attention_partition(entity), prefix)
                .await?
            {
                entries.push(read_body::<AttentionNote>(&item, "attention entry")?);
            }
        }
        Ok(entries)
    }
}
