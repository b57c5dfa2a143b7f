//! The accounting handover's items: debtor account numbers per customer
//! and booking periods per seller (closed, locked, exported).
//!
//! **Debtor accounts.** A customer's debtor account number (the DATEV
//! "Personenkonto" its receivables are booked on) is its own item in the
//! account's partition, `ACCOUNT#<id> / DEBTOR`, put once with
//! `attribute_not_exists` and never changed: the account item itself is
//! replaced whole by CRM refreshes and imports, which would drop anything
//! kept on it. Each number is claimed for one customer of the seller
//! (`DEBTORS#<entity> / NUMBER#<n>`, also `attribute_not_exists`), and the
//! next free number of the seller's range comes from a counter
//! (`DEBTORS#<entity> / COUNTER`, moved under a condition on its value);
//! the three are one transaction, so concurrent requests assign each
//! customer exactly one number and each number to exactly one customer.
//!
//! **Booking periods.** One item per seller and calendar month,
//! `PERIODS#<entity> / MONTH#<YYYY-MM>`, written when the month is closed
//! (`attribute_not_exists`, with `locked_at`: from then on anything
//! recorded that concerns the month books into the next open one) and
//! updated once when its export is recorded (`attribute_not_exists(export)`:
//! of two concurrent exports, one record wins and the other reads it). A
//! month without an item is open. The whole partition is one Query, which
//! is what deciding a late event's period needs.

use std::ops::RangeInclusive;

use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem, Update};
use billing_domain::ids::{AccountId, BillingEntityId};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::attributes::{
    Item, body, key_item, n, read_body, read_optional_s, read_time, read_u64, s, time,
};
use crate::audit::{Actor, AuditEntry};
use crate::codec::accounting::{
    ACCOUNT_ID, BILLING_ENTITY_ID, CLOSED_BY, DEBTOR_ACCOUNT, DEBTOR_RECORD_TYPE, EXPORT,
    EXPORTED_AT, LAST, LOCKED_AT, MONTH, REASON,
};
use crate::codec::{BODY, ItemAttributes, Named, PK, RECORD_TYPE};
use crate::keys;
use crate::transaction::{Outcome, Retry};
use crate::{BillingStore, StoreError};

/// How often assigning a debtor number is tried when other assignments
/// raced it.
const DEBTOR_ATTEMPTS: u32 = 20;

/// Where a booking period stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PeriodStatus {
    /// Nothing recorded yet: events of the month book into it.
    Open,
    /// Closed (locked): events recorded from now on that concern the month
    /// book into the next open period.
    Closed,
    /// Closed and handed over: its files are stored and fetched again byte
    /// for byte.
    Exported,
}

/// One file of a period's export, as stored in the archive bucket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportedFile {
    /// Which file: `buchungsstapel`, `debitoren` or `journal`.
    pub kind: String,
    /// Its file name (`EXTF_Buchungsstapel_…csv`, …).
    pub file_name: String,
    /// Its object key in the archive bucket.
    pub key: String,
    /// Hex SHA-256 of its bytes (checked when it is fetched again).
    pub sha256: String,
    /// Its media type with the encoding (DATEV files are Windows-1252).
    pub content_type: String,
    /// Its size in bytes.
    pub bytes: u64,
}

/// What an export recorded on its period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeriodExport {
    /// When the export was recorded.
    pub exported_at: DateTime<Utc>,
    /// Who exported.
    pub by: Actor,
    /// How many bookings it holds.
    pub bookings: usize,
    /// The files, in a fixed order.
    pub files: Vec<ExportedFile>,
}

/// A seller's booking period as stored (or open, when nothing is).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BookingPeriodRecord {
    /// The seller.
    pub billing_entity_id: BillingEntityId,
    /// The calendar month, `YYYY-MM`.
    pub month: String,
    /// Open, closed or exported.
    pub status: PeriodStatus,
    /// When it was closed; events recorded later that concern it book into
    /// the next open period.
    pub locked_at: Option<DateTime<Utc>>,
    /// Who closed it.
    pub closed_by: Option<Actor>,
    /// Why, in the clerk's words.
    pub reason: Option<String>,
    /// The export, once recorded.
    pub export: Option<PeriodExport>,
}

impl BookingPeriodRecord {
    /// A month nothing was recorded for.
    pub fn open(entity: &BillingEntityId, month: &str) -> Self {
        Self {
            billing_entity_id: entity.clone(),
            month: month.to_owned(),
            status: PeriodStatus::Open,
            locked_at: None,
            closed_by: None,
            reason: None,
            export: None,
        }
    }

    fn read(item: &Item, what: &str) -> Result<Self, StoreError> {
        let closed_by = match read_optional_s(item, CLOSED_BY) {
            Some(text) => Some(
                serde_json::from_str(text)
                    .map_err(|e| StoreError::corrupt(what, format!("closed_by: {e}")))?,
            ),
            None => None,
        };
        let export: Option<PeriodExport> = match item.attr(EXPORT) {
            Some(value @ AttributeValue::S(_)) => {
                let mut inner = Item::new();
                inner.put(BODY, value.clone());
                Some(read_body(&inner, what)?)
            }
            _ => None,
        };
        Ok(Self {
            billing_entity_id: BillingEntityId::new(crate::attributes::read_s(
                item,
                BILLING_ENTITY_ID,
                what,
            )?),
            month: crate::attributes::read_s(item, MONTH, what)?.to_owned(),
            status: if export.is_some() {
                PeriodStatus::Exported
            } else {
                PeriodStatus::Closed
            },
            locked_at: Some(read_time(item, LOCKED_AT, what)?),
            closed_by,
            reason: read_optional_s(item, REASON).map(str::to_owned),
            export,
        })
    }
}

impl BillingStore {
    /// The customer's debtor account number, if it has one.
    pub async fn debtor_account(&self, account: &AccountId) -> Result<Option<u32>, StoreError> {
        let what = format!("debtor account of {account}");
        let item = self.get(keys::debtor_account_key(account)).await?;
        item.as_ref()
            .map(|item| {
                read_u64(item, DEBTOR_ACCOUNT, &what).and_then(|number| {
                    u32::try_from(number)
                        .map_err(|_| StoreError::corrupt(&what, "debtor_account is too large"))
                })
            })
            .transpose()
    }

    /// The customer's debtor account number: the one it has, else the next
    /// free number of the seller's `range`, assigned exactly once (see the
    /// module documentation). An exhausted range is
    /// [`StoreError::Refused`] naming it; nothing is written then.
    pub async fn assign_debtor_account(
        &self,
        entity: &BillingEntityId,
        account: &AccountId,
        range: RangeInclusive<u32>,
    ) -> Result<u32, StoreError> {
        let what = format!("debtor accounts of seller {entity}");
        let mut retry = Retry::Attempts(DEBTOR_ATTEMPTS).start();
        while retry.next().await {
            if let Some(number) = self.debtor_account(account).await? {
                return Ok(number);
            }
            let counter = self.get(keys::debtor_counter_key(entity)).await?;
            let last = counter
                .as_ref()
                .map(|item| read_u64(item, LAST, &what))
                .transpose()?;
            let next = match last {
                Some(last) => (last + 1).max(u64::from(*range.start())),
                None => u64::from(*range.start()),
            };
            let next = u32::try_from(next)
                .ok()
                .filter(|next| next <= range.end())
                .ok_or_else(|| StoreError::Refused {
                    what: what.clone(),
                    reason: format!(
                        "the debtor account range {}..={} is used up; widen \
                         accounting.debtor_accounts in the seller configuration",
                        range.start(),
                        range.end()
                    ),
                })?;
            let counter_put = self.debtor_counter_item(entity, last, next)?;
            let claim = self.debtor_claim_item(entity, account, next)?;
            let own = self.debtor_item(account, next)?;
            let items = vec![counter_put.clone(), own, claim];
            // Item 0 the counter, 1 the customer's number, 2 the claim.
            let cancelled = match self.transact(items).await? {
                Outcome::Written => return Ok(next),
                Outcome::Cancelled(cancelled) => cancelled,
            };
            if cancelled.condition_failed(2) && !cancelled.condition_failed(0) {
                // The number was taken by an import: move the counter past
                // it (a lost race on the counter is fine) and draw again.
                if let Outcome::Cancelled(moved) = self.transact(vec![counter_put]).await?
                    && !moved.only_races(|index| index == 0)
                {
                    return Err(moved.into_error());
                }
            } else if !cancelled.only_races(|_| true) {
                // A counter moved, a number claimed or this customer's
                // number assigned meanwhile is another assignment's race:
                // read again; anything else is final.
                return Err(cancelled.into_error());
            }
        }
        Err(retry.gave_up(what))
    }

    /// Records a debtor number the CRM or an import gives for a customer
    /// that has none yet. The number must be free at the seller; a customer
    /// that has a number keeps it (another number is refused by name).
    pub async fn set_debtor_account(
        &self,
        entity: &BillingEntityId,
        account: &AccountId,
        number: u32,
    ) -> Result<u32, StoreError> {
        let what = format!("debtor account of {account}");
        if let Some(existing) = self.debtor_account(account).await? {
            return if existing == number {
                Ok(existing)
            } else {
                Err(StoreError::Refused {
                    what,
                    reason: format!(
                        "the customer has debtor account {existing}; a debtor account is \
                         assigned once and kept"
                    ),
                })
            };
        }
        let items = vec![
            self.debtor_item(account, number)?,
            self.debtor_claim_item(entity, account, number)?,
        ];
        // Item 0 the customer's number, 1 the claim.
        match self.transact(items).await? {
            Outcome::Written => Ok(number),
            Outcome::Cancelled(cancelled) if cancelled.condition_failed(1) => {
                Err(StoreError::Refused {
                    what,
                    reason: format!(
                        "debtor account {number} belongs to another customer of the seller"
                    ),
                })
            }
            Outcome::Cancelled(cancelled) if cancelled.condition_failed(0) => {
                // Assigned concurrently: read what won.
                match self.debtor_account(account).await? {
                    Some(existing) if existing == number => Ok(existing),
                    _ => Err(StoreError::RevisionMismatch { what }),
                }
            }
            Outcome::Cancelled(cancelled) => Err(cancelled.into_error()),
        }
    }

    fn debtor_item(
        &self,
        account: &AccountId,
        number: u32,
    ) -> Result<TransactWriteItem, StoreError> {
        let mut item = key_item(keys::debtor_account_key(account));
        item.put(RECORD_TYPE, s(DEBTOR_RECORD_TYPE));
        item.put(ACCOUNT_ID, s(account.as_str()));
        item.put(DEBTOR_ACCOUNT, n(number));
        self.put_new(item)
    }

    fn debtor_claim_item(
        &self,
        entity: &BillingEntityId,
        account: &AccountId,
        number: u32,
    ) -> Result<TransactWriteItem, StoreError> {
        let mut item = key_item(keys::debtor_claim_key(entity, number));
        item.put(RECORD_TYPE, s("debtor_claim"));
        item.put(ACCOUNT_ID, s(account.as_str()));
        self.put_new(item)
    }

    fn debtor_counter_item(
        &self,
        entity: &BillingEntityId,
        last: Option<u64>,
        next: u32,
    ) -> Result<TransactWriteItem, StoreError> {
        let mut item = key_item(keys::debtor_counter_key(entity));
        item.put(RECORD_TYPE, s("debtor_counter"));
        item.put(LAST, n(next));
        let put = aws_sdk_dynamodb::types::Put::builder()
            .table_name(&self.table)
            .set_item(Some(item));
        let put = match last {
            None => put.condition_expression(format!("attribute_not_exists({PK})")),
            Some(last) => put
                .condition_expression(format!("{LAST} = :last"))
                .expression_attribute_values(":last", n(last)),
        };
        let put = put
            .named()
            .build()
            .map_err(|e| StoreError::corrupt("transaction item", e))?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    /// Every stored (closed or exported) booking period of the seller, by
    /// month; months without an item are open.
    pub async fn booking_periods(
        &self,
        entity: &BillingEntityId,
    ) -> Result<Vec<BookingPeriodRecord>, StoreError> {
        let what = format!("booking periods of seller {entity}");
        let items = self
            .query_prefix(keys::periods_partition(entity), keys::PERIOD_PREFIX)
            .await?;
        items
            .iter()
            .map(|item| BookingPeriodRecord::read(item, &what))
            .collect()
    }

    /// One booking period of the seller (`month` is `YYYY-MM`), open when
    /// nothing is stored.
    pub async fn booking_period(
        &self,
        entity: &BillingEntityId,
        month: &str,
    ) -> Result<BookingPeriodRecord, StoreError> {
        let what = format!("booking period {month} of seller {entity}");
        match self.get(keys::period_key(entity, month)).await? {
            Some(item) => BookingPeriodRecord::read(&item, &what),
            None => Ok(BookingPeriodRecord::open(entity, month)),
        }
    }

    /// Closes (locks) an open booking period with its audit entry, in one
    /// transaction: locked at the entry's time, closed by its actor for
    /// its reason. A period closed already is [`StoreError::Refused`];
    /// `already_closed_ok` makes it return the stored period instead (the
    /// export closes what is still open and goes on with what is closed).
    pub async fn close_booking_period(
        &self,
        entity: &BillingEntityId,
        month: &str,
        audit: &AuditEntry,
        already_closed_ok: bool,
    ) -> Result<BookingPeriodRecord, StoreError> {
        let what = format!("booking period {month} of seller {entity}");
        let (actor, reason, at) = (&audit.actor, audit.reason.as_deref(), audit.at);
        let mut item = key_item(keys::period_key(entity, month));
        item.put(RECORD_TYPE, s("booking_period"));
        item.put(BILLING_ENTITY_ID, s(entity.as_str()));
        item.put(MONTH, s(month));
        item.put(LOCKED_AT, time(at));
        let actor_json = serde_json::to_string(actor)
            .map_err(|e| StoreError::corrupt(&what, format!("cannot encode: {e}")))?;
        item.put(CLOSED_BY, s(actor_json));
        if let Some(reason) = reason {
            item.put(REASON, s(reason));
        }
        let mut items = vec![self.put_new(item)?];
        items.extend(audit.transact_items(&self.table)?);
        // Item 0 the period (the audit puts after it are new keys).
        match self.transact(items).await? {
            Outcome::Written => self.booking_period(entity, month).await,
            Outcome::Cancelled(cancelled) if cancelled.condition_failed(0) => {
                let stored = self.booking_period(entity, month).await?;
                if already_closed_ok {
                    Ok(stored)
                } else {
                    Err(StoreError::Refused {
                        what,
                        reason: match stored.status {
                            PeriodStatus::Exported => "it is exported already".to_owned(),
                            _ => "it is closed already".to_owned(),
                        },
                    })
                }
            }
            Outcome::Cancelled(cancelled) => Err(cancelled.into_error()),
        }
    }

    /// Records a closed period's export (its files are stored already)
    /// with its audit entry. The first export recorded wins: a second one
    /// (a concurrent export) changes nothing and gets the stored period.
    pub async fn record_period_export(
        &self,
        entity: &BillingEntityId,
        month: &str,
        export: &PeriodExport,
        audit: &AuditEntry,
    ) -> Result<BookingPeriodRecord, StoreError> {
        let what = format!("booking period {month} of seller {entity}");
        let update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key_item(keys::period_key(entity, month))))
            .update_expression(format!("SET {EXPORT} = :export, {EXPORTED_AT} = :at"))
            .condition_expression(format!(
                "attribute_exists({PK}) AND attribute_not_exists({EXPORT})"
            ))
            .expression_attribute_values(":export", body(export, &what)?)
            .expression_attribute_values(":at", time(export.exported_at))
            .named()
            .build()
            .map_err(|e| StoreError::corrupt("transaction item", e))?;
        let mut items = vec![TransactWriteItem::builder().update(update).build()];
        items.extend(audit.transact_items(&self.table)?);
        match self.transact(items).await? {
            Outcome::Written => self.booking_period(entity, month).await,
            Outcome::Cancelled(cancelled) if cancelled.condition_failed(0) => {
                let stored = self.booking_period(entity, month).await?;
                match stored.status {
                    PeriodStatus::Exported => Ok(stored),
                    _ => Err(StoreError::NotFound { what }),
                }
            }
            Outcome::Cancelled(cancelled) => Err(cancelled.into_error()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_period_item_reads_back_closed_or_exported() {
        let entity = BillingEntityId::new("e1");
        let mut item = key_item(keys::period_key(&entity, "2026-05"));
        item.insert("billing_entity_id".into(), s("e1"));
        item.insert("month".into(), s("2026-05"));
        item.insert("locked_at".into(), s("2026-06-02T08:00:00.000Z"));
        let closed = BookingPeriodRecord::read(&item, "p").unwrap();
        assert_eq!(closed.status, PeriodStatus::Closed);
        let export = PeriodExport {
            exported_at: "2026-06-02T08:00:01Z".parse().unwrap(),
            by: Actor {
                user: "u1".into(),
                role: billing_domain::staff::StaffRole::Billing,
            },
            bookings: 3,
            files: Vec::new(),
        };
        item.insert("export".into(), s(serde_json::to_string(&export).unwrap()));
        let exported = BookingPeriodRecord::read(&item, "p").unwrap();
        assert_eq!(exported.status, PeriodStatus::Exported);
        assert_eq!(exported.export, Some(export));
        assert_eq!(keys::period_key(&entity, "2026-05").1, "MONTH#2026-05");
    }
}
