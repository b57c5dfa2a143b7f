//! The delivery of an invoice or a dunning letter by e-mail: who may send
//! it, what happened to it, which addresses must not be mailed again, and
//! what needs a person.
//!
//! Both are a [`Dispatch`]: the invoice item, or the letter's item, carries
//! the delivery state beside its immutable body, so one claim and outcome
//! protocol serves both:
//!
//! - `delivery_status`: absent (never attempted), `sending` (claimed by one
//!   worker until `delivery_claim_expires`), then `sent`, `delivered`,
//!   `failed`, `bounced` or `complained`;
//! - `delivery_rank`: how far the outcome has come (see [`DeliveryStatus::rank`]);
//!   SES events arrive in any order, and one never lowers it;
//! - `delivery_message_id`, `delivery_sent_at`, `delivery_reason`,
//!   `delivery_event_at`.
//!
//! Beside it, in the account's partition, one `SUPPRESSED#<address>` item per
//! address that bounced for good or complained, and, in the entity's
//! `ATTENTION#` partition, one item per invoice that billing staff must look at.

use aws_sdk_dynamodb::types::{ReturnValue, TransactWriteItem, Update};
use billing_domain::ids::{AccountId, BillingEntityId, InvoiceId};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::attributes::{
    Item, key_item, n, read_optional_s, read_optional_time, read_s, read_time, s, time,
};
use crate::codec::invoice::{
    DELIVERY_CLAIM, DELIVERY_CLAIM_EXPIRES, DELIVERY_CLAIM_EXPIRES_AT, DELIVERY_EVENT_AT,
    DELIVERY_MESSAGE_ID, DELIVERY_RANK, DELIVERY_REASON, DELIVERY_SENT_AT, DELIVERY_STATUS,
};
use crate::codec::{self, ItemAttributes};
use crate::codec::{Named, PK};
use crate::invoice::ArchivedDocument;
use crate::transaction::Outcome;
use crate::{BillingStore, StoreError, keys};

/// What one e-mail delivers. The invoice (or credit note) and the dunning
/// letter each keep their delivery state on their own item.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Dispatch {
    /// An invoice or credit note, with its archived PDF and XML.
    Invoice(InvoiceId),
    /// A dunning letter (its id), with its archived PDF.
    DunningLetter(String),
}

impl Dispatch {
    /// The item that carries the delivery state.
    pub fn key(&self) -> (String, String) {
        match self {
            Dispatch::Invoice(id) => keys::invoice(id),
            Dispatch::DunningLetter(id) => keys::letter_key(id),
        }
    }

    /// The id alone (an SES tag value, a log field).
    pub fn id(&self) -> &str {
        match self {
            Dispatch::Invoice(id) => id.as_str(),
            Dispatch::DunningLetter(id) => id,
        }
    }
}

impl std::fmt::Display for Dispatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Dispatch::Invoice(id) => write!(f, "invoice {id}"),
            Dispatch::DunningLetter(id) => write!(f, "dunning letter {id}"),
        }
    }
}

impl From<InvoiceId> for Dispatch {
    fn from(id: InvoiceId) -> Self {
        Dispatch::Invoice(id)
    }
}

impl From<&Dispatch> for Dispatch {
    fn from(dispatch: &Dispatch) -> Self {
        dispatch.clone()
    }
}

impl From<&InvoiceId> for Dispatch {
    fn from(id: &InvoiceId) -> Self {
        Dispatch::Invoice(id.clone())
    }
}

/// The delivery queue's message for a dunning letter, sent by the
/// documents function once the letter's PDF is archived. Delivered at
/// least once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LetterDeliveryRequest {
    /// The letter to send.
    pub letter_id: String,
    /// Its archived PDF.
    pub document: ArchivedDocument,
}

/// The delivery queue's message, sent by the documents function once an
/// invoice's files are archived. Delivered at least once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryRequest {
    /// The invoice to send.
    pub invoice_id: String,
    /// Its legal number (for logs and the mail subject).
    pub invoice_number: String,
    /// The archived files: PDF first, then XML(s).
    pub documents: Vec<ArchivedDocument>,
}

/// Where an invoice's e-mail stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    /// A worker holds the claim and is sending (or crashed while sending).
    Sending,
    /// SES accepted the message.
    Sent,
    /// The recipient's mail server accepted it.
    Delivered,
    /// It could not be sent and will not be retried (reason recorded).
    Failed,
    /// A recipient's server refused it.
    Bounced,
    /// A recipient marked it as spam.
    Complained,
}

impl DeliveryStatus {
    /// The stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sending => "sending",
            Self::Sent => "sent",
            Self::Delivered => "delivered",
            Self::Failed => "failed",
            Self::Bounced => "bounced",
            Self::Complained => "complained",
        }
    }

    pub(crate) fn parse(value: &str) -> Option<Self> {
        Some(match value {
            "sending" => Self::Sending,
            "sent" => Self::Sent,
            "delivered" => Self::Delivered,
            "failed" => Self::Failed,
            "bounced" => Self::Bounced,
            "complained" => Self::Complained,
            _ => return None,
        })
    }

    /// Order of outcomes: a later SES event never replaces a weightier one
    /// (one recipient's delivery does not hide another's bounce, and a
    /// complaint outweighs everything).
    pub fn rank(self) -> u8 {
        match self {
            Self::Sending => 0,
            Self::Sent => 1,
            Self::Delivered => 2,
            Self::Failed | Self::Bounced => 3,
            Self::Complained => 4,
        }
    }

    /// Whether the e-mail was handed to SES or given up: nothing more to send.
    pub fn is_settled(self) -> bool {
        self != Self::Sending
    }
}

/// The recorded delivery state of one invoice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryState {
    /// Where it stands.
    pub status: DeliveryStatus,
    /// SES's message id, once sent.
    pub message_id: Option<String>,
    /// When SES accepted it.
    pub sent_at: Option<DateTime<Utc>>,
    /// Why it failed, bounced or drew a complaint.
    pub reason: Option<String>,
    /// While `sending`: until when the claim holds.
    pub claim_expires: Option<DateTime<Utc>>,
}

impl DeliveryState {
    pub(crate) fn read(item: &Item, what: &str) -> Result<Option<Self>, StoreError> {
        let Some(status) = crate::attributes::read_optional_named(
            item,
            codec::invoice::DELIVERY_STATUS,
            what,
            DeliveryStatus::parse,
        )?
        else {
            return Ok(None);
        };
        Ok(Some(Self {
            status,
            message_id: read_optional_s(item, codec::invoice::DELIVERY_MESSAGE_ID)
                .map(str::to_owned),
            sent_at: read_optional_time(item, codec::invoice::DELIVERY_SENT_AT, what)?,
            reason: read_optional_s(item, codec::invoice::DELIVERY_REASON).map(str::to_owned),
            claim_expires: read_optional_time(
                item,
                codec::invoice::DELIVERY_CLAIM_EXPIRES_AT,
                what,
            )?,
        }))
    }
}

/// The answer to "may I send this invoice now?".
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeliveryClaim {
    /// Yes: the caller holds the claim until the lease ends.
    Claimed {
        /// A previous worker's claim had expired without an outcome: it may
        /// have crashed after SES accepted its message (see the delivery
        /// function's docs for how that window is bounded).
        taken_over: bool,
    },
    /// Another worker's claim is still running; try later.
    Busy {
        /// When that claim lapses.
        until: DateTime<Utc>,
    },
    /// The invoice already has an outcome: send nothing.
    Settled(DeliveryState),
}

/// What recording an outcome changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OutcomeRecorded {
    /// Recorded now.
    Recorded,
    /// The invoice had moved on (the claim was lost, or a weightier outcome
    /// is recorded); nothing on the invoice changed.
    Superseded(Option<DeliveryState>),
}

/// An address the account's e-mails must not go to any more.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Suppression {
    /// The address, lower-cased.
    pub address: String,
    /// `bounced` or `complained`.
    pub cause: DeliveryStatus,
    /// SES's description (bounce type, diagnostic code, feedback type).
    pub reason: String,
    /// The invoice or letter whose e-mail taught us.
    pub invoice_id: String,
    /// When SES reported it.
    pub since: DateTime<Utc>,
}

/// An invoice whose delivery needs a person (failed, bounced, complained),
/// or a dunning letter about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttentionEntry {
    /// The invoice (for a letter: the oldest invoice it lists).
    pub invoice_id: String,
    /// The dunning letter whose e-mail needs a person, if it was a letter.
    pub letter_id: Option<String>,
    /// Its number, for the clerk.
    pub invoice_number: String,
    /// The customer.
    pub account_id: String,
    /// The outcome that put it here.
    pub status: DeliveryStatus,
    /// Why.
    pub reason: String,
    /// When it happened.
    pub since: DateTime<Utc>,
}

/// A delivery outcome that needs a person, as reported by SES or the sender.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TroubleReport {
    /// The invoice or letter.
    pub dispatch: Dispatch,
    /// `failed`, `bounced` or `complained`.
    pub status: DeliveryStatus,
    /// Readable reason, kept on the invoice and the attention entry.
    pub reason: String,
    /// When it happened (SES's timestamp for events: replays are identical).
    pub at: DateTime<Utc>,
    /// Addresses to suppress for the invoice's account (lower-cased here).
    pub suppress: Vec<String>,
}

/// What a trouble report is about, for the attention entry.
struct TroubleSubject {
    account_id: AccountId,
    entity_id: BillingEntityId,
    invoice_id: InvoiceId,
    invoice_number: String,
    letter_id: Option<String>,
}

/// The claim's attributes, removed together when an outcome settles it.
fn claim_attributes() -> String {
    format!("{DELIVERY_CLAIM}, {DELIVERY_CLAIM_EXPIRES}, {DELIVERY_CLAIM_EXPIRES_AT}")
}

impl BillingStore {
    /// The recorded delivery state of an invoice (`None` before the first
    /// attempt); `NotFound` if the invoice does not exist.
    pub async fn delivery_state(
        &self,
        id: impl Into<Dispatch>,
    ) -> Result<Option<DeliveryState>, StoreError> {
        let id: Dispatch = id.into();
        let what = id.to_string();
        let item = self
            .get(id.key())
            .await?
            .ok_or_else(|| StoreError::NotFound { what: what.clone() })?;
        DeliveryState::read(&item, &what)
    }

    /// Claims the right to send invoice `id` until `now + lease`: granted
    /// when nobody tried yet, or when the last claim lapsed without an
    /// outcome. `token` identifies the claimant in the later calls.
    pub async fn claim_delivery(
        &self,
        id: impl Into<Dispatch>,
        token: &str,
        now: DateTime<Utc>,
        lease: chrono::Duration,
    ) -> Result<DeliveryClaim, StoreError> {
        let id = &id.into();
        let expires = now + lease;
        let update = self
            .update_item()
            .set_key(Some(key_item(id.key())))
            .update_expression(
                format!("SET {DELIVERY_STATUS} = :sending, {DELIVERY_RANK} = :zero, {DELIVERY_CLAIM} = :token, \
                 {DELIVERY_CLAIM_EXPIRES} = :expires, {DELIVERY_CLAIM_EXPIRES_AT} = :expires_at"),
            )
            .condition_expression(
                format!("attribute_exists({PK}) AND (attribute_not_exists({DELIVERY_STATUS}) \
                 OR ({DELIVERY_STATUS} = :sending AND {DELIVERY_CLAIM_EXPIRES} < :now))"),
            )
            .expression_attribute_values(":sending", s(DeliveryStatus::Sending.as_str()))
            .expression_attribute_values(":zero", n(0))
            .expression_attribute_values(":token", s(token))
            .expression_attribute_values(":expires", n(expires.timestamp_millis()))
            .expression_attribute_values(":expires_at", time(expires))
            .expression_attribute_values(":now", n(now.timestamp_millis()))
            .return_values(ReturnValue::UpdatedOld);
        match self.update_if(update).await? {
            Some(output) => Ok(DeliveryClaim::Claimed {
                taken_over: output
                    .attributes()
                    .is_some_and(|old| old.has(codec::invoice::DELIVERY_CLAIM)),
            }),
            None => {
                match self.delivery_state(id).await? {
                    Some(state) if state.status == DeliveryStatus::Sending => {
                        Ok(DeliveryClaim::Busy {
                            until: state.claim_expires.unwrap_or(expires),
                        })
                    }
                    Some(state) => Ok(DeliveryClaim::Settled(state)),
                    // Released between our write and read: the caller retries.
                    None => Ok(DeliveryClaim::Busy { until: now }),
                }
            }
        }
    }

    /// Gives a claim back after a passing failure, so the next attempt need
    /// not wait for the lease. A claim already lost is left alone.
    pub async fn release_delivery(
        &self,
        id: impl Into<Dispatch>,
        token: &str,
    ) -> Result<(), StoreError> {
        let id = &id.into();
        let update = self
            .update_item()
            .set_key(Some(key_item(id.key())))
            .update_expression(format!(
                "REMOVE {DELIVERY_STATUS}, {DELIVERY_RANK}, {}",
                claim_attributes()
            ))
            .condition_expression(format!(
                "{DELIVERY_CLAIM} = :token AND {DELIVERY_STATUS} = :sending"
            ))
            .expression_attribute_values(":token", s(token))
            .expression_attribute_values(":sending", s(DeliveryStatus::Sending.as_str()));
        match self.update_if(update).await? {
            Some(_) => Ok(()),
            None => Ok(()),
        }
    }

    /// Records that SES accepted the claimant's message. Only the holder of
    /// the claim (`token`) can; anyone else gets `Superseded`.
    pub async fn record_sent(
        &self,
        id: impl Into<Dispatch>,
        token: &str,
        message_id: &str,
        at: DateTime<Utc>,
    ) -> Result<OutcomeRecorded, StoreError> {
        let id = &id.into();
        let update = self
            .update_item()
            .set_key(Some(key_item(id.key())))
            .update_expression(format!(
                "SET {DELIVERY_STATUS} = :sent, {DELIVERY_RANK} = :rank, {DELIVERY_MESSAGE_ID} = :mid, \
                 {DELIVERY_SENT_AT} = :at REMOVE {}",
                claim_attributes()
            ))
            .condition_expression(format!("{DELIVERY_CLAIM} = :token AND {DELIVERY_STATUS} = :sending"))
            .expression_attribute_values(":sent", s(DeliveryStatus::Sent.as_str()))
            .expression_attribute_values(":rank", n(DeliveryStatus::Sent.rank()))
            .expression_attribute_values(":mid", s(message_id))
            .expression_attribute_values(":at", time(at))
            .expression_attribute_values(":token", s(token))
            .expression_attribute_values(":sending", s(DeliveryStatus::Sending.as_str()));
        self.outcome(id, update).await
    }

    /// Sends `update`: recorded, or (when its condition failed) what is
    /// there instead.
    async fn outcome(
        &self,
        id: &Dispatch,
        update: aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder,
    ) -> Result<OutcomeRecorded, StoreError> {
        match self.update_if(update).await? {
            Some(_) => Ok(OutcomeRecorded::Recorded),
            None => Ok(OutcomeRecorded::Superseded(self.delivery_state(id).await?)),
        }
    }

    /// Records what SES said about a sent message that went well: `Send`
    /// (accepted) or `Delivery`. The message id ties the event to the
    /// invoice; a `Send` event also settles a claim whose worker crashed
    /// after SES accepted the message, which is what bounds the duplicate
    /// window. A weightier outcome already recorded stays.
    pub async fn record_delivery_progress(
        &self,
        id: impl Into<Dispatch>,
        status: DeliveryStatus,
        message_id: &str,
        at: DateTime<Utc>,
    ) -> Result<OutcomeRecorded, StoreError> {
        let id = &id.into();
        // `Send` settles a claim, or an invoice whose claim was released
        // after an SES call that failed on our side but reached SES (so the
        // retry finds it sent); a replayed Send after Delivery must not step
        // back. Later events need an earlier one and never lower the rank.
        let condition = if status == DeliveryStatus::Sent {
            format!(
                "attribute_exists({PK}) AND (attribute_not_exists({DELIVERY_STATUS}) \
             OR {DELIVERY_STATUS} = :sending)"
            )
        } else {
            format!(
                "attribute_exists({PK}) AND attribute_exists({DELIVERY_STATUS}) \
             AND {DELIVERY_RANK} <= :rank \
             AND (attribute_not_exists({DELIVERY_MESSAGE_ID}) OR {DELIVERY_MESSAGE_ID} = :mid)"
            )
        };
        let mut update = self
            .update_item()
            .set_key(Some(key_item(id.key())))
            .update_expression(format!(
                "SET {DELIVERY_STATUS} = :status, {DELIVERY_RANK} = :rank, {DELIVERY_MESSAGE_ID} = :mid, \
                 {DELIVERY_EVENT_AT} = :at, {DELIVERY_SENT_AT} = if_not_exists({DELIVERY_SENT_AT}, :at) \
                 REMOVE {}",
                claim_attributes()
            ))
            .condition_expression(condition)
            .expression_attribute_values(":status", s(status.as_str()))
            .expression_attribute_values(":rank", n(status.rank()))
            .expression_attribute_values(":mid", s(message_id))
            .expression_attribute_values(":at", time(at));
        if status == DeliveryStatus::Sent {
            update =
                update.expression_attribute_values(":sending", s(DeliveryStatus::Sending.as_str()));
        }
        self.outcome(id, update).await
    }

    /// Records an outcome that needs a person, in one transaction: the
    /// invoice's status and reason (unless a weightier outcome is already
    /// there), the suppressed addresses, and the attention entry. Replaying
    /// the same report writes the same values again.
    ///
    /// `claim` is the sender's token for a send failure: then the invoice
    /// changes only while that claim holds.
    pub async fn record_delivery_trouble(
        &self,
        report: &TroubleReport,
        claim: Option<&str>,
    ) -> Result<OutcomeRecorded, StoreError> {
        let what = report.dispatch.to_string();
        let about = self.trouble_subject(&report.dispatch).await?;
        let suppressions = report
            .suppress
            .iter()
            .map(|address| self.suppression_put(&about.account_id, address, report))
            .collect::<Result<Vec<_>, _>>()?;
        let attention = self.attention_put(&about, report)?;
        let mut update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key_item(report.dispatch.key())))
            .update_expression(format!(
                "SET {DELIVERY_STATUS} = :status, {DELIVERY_RANK} = :rank, {DELIVERY_REASON} = :reason, \
                 {DELIVERY_EVENT_AT} = :at REMOVE {}",
                claim_attributes()
            ))
            .expression_attribute_values(":status", s(report.status.as_str()))
            .expression_attribute_values(":rank", n(report.status.rank()))
            .expression_attribute_values(":reason", s(&report.reason))
            .expression_attribute_values(":at", time(report.at));
        update = match claim {
            Some(token) => update
                .condition_expression(format!(
                    "{DELIVERY_CLAIM} = :token AND {DELIVERY_STATUS} = :sending"
                ))
                .expression_attribute_values(":token", s(token))
                .expression_attribute_values(":sending", s(DeliveryStatus::Sending.as_str())),
            None => update.condition_expression(format!(
                "attribute_not_exists({DELIVERY_RANK}) OR {DELIVERY_RANK} <= :rank"
            )),
        };
        let update = update
            .named()
            .build()
            .map_err(|e| StoreError::corrupt(&what, format!("update: {e}")))?;
        let mut items = vec![TransactWriteItem::builder().update(update).build()];
        items.extend(suppressions.iter().cloned());
        items.push(attention);
        let cancelled = match self.transact(items).await? {
            Outcome::Written => return Ok(OutcomeRecorded::Recorded),
            Outcome::Cancelled(cancelled) => cancelled,
        };
        // Item 0 is the invoice's update.
        if !cancelled.condition_failed(0) {
            return Err(cancelled.into_error());
        }
        if claim.is_none() && !suppressions.is_empty() {
            // A weightier outcome stays on the invoice, but the addresses
            // this event names are still bad: suppress them anyway.
            self.transact(suppressions).await?.written()?;
        }
        Ok(OutcomeRecorded::Superseded(
            self.delivery_state(&report.dispatch).await?,
        ))
    }

    fn suppression_put(
        &self,
        account: &AccountId,
        address: &str,
        report: &TroubleReport,
    ) -> Result<TransactWriteItem, StoreError> {
        let mut item = key_item(keys::suppression(account, address));
        item.put(codec::attention::ADDRESS, s(address.to_lowercase()));
        item.put(codec::attention::CAUSE, s(report.status.as_str()));
        item.put(codec::attention::REASON, s(&report.reason));
        item.put(codec::attention::INVOICE_ID, s(report.dispatch.id()));
        item.put(codec::attention::SINCE, time(report.at));
        self.transaction_put(item, None, None)
    }

    /// Whose e-mail it was and what the clerk should look at: the invoice,
    /// or for a letter the oldest invoice it lists.
    async fn trouble_subject(&self, dispatch: &Dispatch) -> Result<TroubleSubject, StoreError> {
        let what = dispatch.to_string();
        match dispatch {
            Dispatch::Invoice(id) => {
                let stored = self
                    .invoice(id)
                    .await?
                    .ok_or(StoreError::NotFound { what })?;
                Ok(TroubleSubject {
                    account_id: stored.account_id.clone(),
                    entity_id: stored.invoice.content().billing_entity_id.clone(),
                    invoice_id: id.clone(),
                    invoice_number: stored.invoice.number().to_string(),
                    letter_id: None,
                })
            }
            Dispatch::DunningLetter(letter_id) => {
                let stored = self
                    .dunning_letter(letter_id)
                    .await?
                    .ok_or_else(|| StoreError::NotFound { what: what.clone() })?;
                let oldest = stored
                    .letter
                    .lines
                    .first()
                    .ok_or_else(|| StoreError::corrupt(&what, "lists no invoice"))?;
                Ok(TroubleSubject {
                    account_id: stored.letter.account_id.clone(),
                    entity_id: stored.letter.billing_entity_id.clone(),
                    invoice_id: oldest.invoice_id.clone(),
                    invoice_number: oldest.number.clone(),
                    letter_id: Some(letter_id.clone()),
                })
            }
        }
    }

    fn attention_put(
        &self,
        about: &TroubleSubject,
        report: &TroubleReport,
    ) -> Result<TransactWriteItem, StoreError> {
        let (pk, mut sk) = keys::attention(&about.entity_id, &about.invoice_id);
        if let Some(letter_id) = &about.letter_id {
            // Beside the invoice's own entry, under the same prefix, so the
            // list reads both in one query.
            sk.push_str(&format!("#LETTER#{letter_id}"));
        }
        let mut item = key_item((pk, sk));
        item.put(codec::attention::INVOICE_ID, s(about.invoice_id.as_str()));
        if let Some(letter_id) = &about.letter_id {
            item.put(codec::attention::LETTER_ID, s(letter_id));
        }
        item.put(codec::attention::INVOICE_NUMBER, s(&about.invoice_number));
        item.put(codec::attention::ACCOUNT_ID, s(about.account_id.as_str()));
        item.put(codec::attention::STATUS, s(report.status.as_str()));
        item.put(codec::attention::REASON, s(&report.reason));
        item.put(codec::attention::SINCE, time(report.at));
        self.transaction_put(item, None, None)
    }

    /// The addresses of an account that must not be mailed (lower-cased).
    pub async fn suppressed_addresses(
        &self,
        account: &AccountId,
    ) -> Result<Vec<Suppression>, StoreError> {
        let what = format!("suppression list of account {account}");
        let items = self
            .query_prefix(keys::account_partition(account), keys::SUPPRESSION_PREFIX)
            .await?;
        items
            .iter()
            .map(|item| {
                Ok(Suppression {
                    address: read_s(item, codec::attention::ADDRESS, &what)?.to_owned(),
                    cause: crate::attributes::read_named(
                        item,
                        codec::attention::CAUSE,
                        &what,
                        DeliveryStatus::parse,
                    )?,
                    reason: read_s(item, codec::attention::REASON, &what)?.to_owned(),
                    invoice_id: read_s(item, codec::attention::INVOICE_ID, &what)?.to_owned(),
                    since: read_time(item, codec::attention::SINCE, &what)?,
                })
            })
            .collect()
    }

    /// The invoices of a billing entity whose delivery needs a person,
    /// oldest first.
    pub async fn needs_attention(
        &self,
        entity: &BillingEntityId,
    ) -> Result<Vec<AttentionEntry>, StoreError> {
        let what = format!("attention list of {entity}");
        let items = self
            .query_prefix(keys::attention_partition(entity), keys::ATTENTION_PREFIX)
            .await?;
        let mut entries = items
            .iter()
            .map(|item| {
                Ok(AttentionEntry {
                    invoice_id: read_s(item, codec::attention::INVOICE_ID, &what)?.to_owned(),
                    letter_id: read_optional_s(item, codec::attention::LETTER_ID)
                        .map(str::to_owned),
                    invoice_number: read_s(item, codec::attention::INVOICE_NUMBER, &what)?
                        .to_owned(),
                    account_id: read_s(item, codec::attention::ACCOUNT_ID, &what)?.to_owned(),
                    status: crate::attributes::read_named(
                        item,
                        codec::attention::STATUS,
                        &what,
                        DeliveryStatus::parse,
                    )?,
                    reason: read_s(item, codec::attention::REASON, &what)?.to_owned(),
                    since: read_time(item, codec::attention::SINCE, &what)?,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        entries.sort_by(|a, b| a.since.cmp(&b.since).then(a.invoice_id.cmp(&b.invoice_id)));
        Ok(entries)
    }
}
