//! SEPA mandates of an account: one item per mandate in the account's
//! partition (`MANDATE#<mandate id>`, the domain's `Mandate` as `body`), and
//! one guard item per creditor identifier and reference
//! (`MANDATEREF#<creditor>#<reference>`) that keeps the reference unique
//! per creditor, as the scheme requires.
//!
//! Recording a mandate puts both with `attribute_not_exists(pk)` in one
//! transaction, so two clerks (or a clerk and an import) cannot give the
//! same reference twice. A change is conditioned on the mandate's
//! `revision` (the API's ETag) and sets it one higher; when the reference
//! or the creditor changes, the old guard is deleted and the new one put
//! in the same transaction. Amendments are the domain's (`Mandate::amend`):
//! this module stores what the domain decided and never rewrites a
//! reference, an IBAN or a creditor silently.

use aws_sdk_dynamodb::types::{ConditionCheck, Delete, TransactWriteItem};
use billing_domain::direct_debit::Mandate;
use billing_domain::ids::AccountId;
use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;

use crate::attributes::{Item, body, key_item, n, read_body, read_s, read_u64, s};
use crate::audit::AuditEntry;
use crate::codec::mandate::{ACCOUNT_ID, CREDITOR_IDENTIFIER, MANDATE_ID, RECORDED_AT, REFERENCE};
use crate::codec::{BODY, ItemAttributes, Named, PK, RECORD_TYPE, REVISION};
use crate::transaction::{Outcome, Retry};

/// Attempts of a clerk's mandate write while it only loses races (the
/// limit staff corrections use).
const STAFF_ATTEMPTS: u32 = 5;
use crate::{BillingStore, StoreError, keys};

/// A stored mandate with the revision a change must name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StoredMandate {
    /// The account whose mandate it is.
    pub account_id: AccountId,
    /// The mandate's stable id (its item key; the reference may change).
    pub mandate_id: String,
    /// When it was recorded here (RFC 3339).
    pub recorded_at: String,
    /// Staff-write revision (the API's ETag `"r<revision>"`), 1 when
    /// recorded.
    pub revision: u64,
    /// The mandate.
    #[serde(flatten)]
    pub mandate: Mandate,
}

impl StoredMandate {
    /// A mandate as first recorded for `account` at `recorded_at`
    /// (revision 1).
    pub fn new(account_id: AccountId, mandate: Mandate, recorded_at: DateTime<Utc>) -> Self {
        let recorded_at = recorded_at.to_rfc3339_opts(SecondsFormat::Micros, true);
        let mandate_id = keys::mandate_id(
            &account_id,
            mandate.creditor_identifier.as_str(),
            mandate.reference.as_str(),
            &recorded_at,
        );
        Self {
            account_id,
            mandate_id,
            recorded_at,
            revision: 1,
            mandate,
        }
    }

    /// The item: the one codec of a mandate. `reference` and
    /// `creditor_identifier` are kept beside the body so an operator can
    /// read them in the console (no IBAN outside the body).
    pub(crate) fn item(&self) -> Result<Item, StoreError> {
        let what = format!("mandate {}", self.mandate_id);
        let mut item = key_item(keys::mandate(&self.account_id, &self.mandate_id));
        item.put(RECORD_TYPE, s("mandate"));
        item.put(ACCOUNT_ID, s(self.account_id.as_str()));
        item.put(MANDATE_ID, s(&self.mandate_id));
        item.put(RECORDED_AT, s(&self.recorded_at));
        item.put(REFERENCE, s(self.mandate.reference.as_str()));
        item.put(
            CREDITOR_IDENTIFIER,
            s(self.mandate.creditor_identifier.as_str()),
        );
        item.put(REVISION, n(self.revision));
        item.put(BODY, body(&self.mandate, &what)?);
        Ok(item)
    }

    pub(crate) fn read(item: &Item, what: &str) -> Result<Self, StoreError> {
        Ok(Self {
            account_id: AccountId::new(read_s(item, ACCOUNT_ID, what)?),
            mandate_id: read_s(item, MANDATE_ID, what)?.to_owned(),
            recorded_at: read_s(item, RECORDED_AT, what)?.to_owned(),
            revision: read_u64(item, REVISION, what)?,
            mandate: read_body(item, what)?,
        })
    }

    /// The key of this mandate's uniqueness guard.
    fn guard_key(&self) -> (String, String) {
        keys::mandate_reference(
            self.mandate.creditor_identifier.as_str(),
            self.mandate.reference.as_str(),
        )
    }

    fn guard(&self) -> Item {
        let mut item = key_item(self.guard_key());
        item.put(RECORD_TYPE, s("mandate_reference"));
        item.put(ACCOUNT_ID, s(self.account_id.as_str()));
        item.put(MANDATE_ID, s(&self.mandate_id));
        item
    }

    fn duplicate(&self) -> StoreError {
        StoreError::Refused {
            what: format!("mandate reference {}", self.mandate.reference),
            reason: format!(
                "is already given to a mandate for creditor identifier {}",
                self.mandate.creditor_identifier
            ),
        }
    }
}

impl BillingStore {
    /// The account's mandates, oldest id first (one strongly consistent
    /// Query of its partition's `MANDATE#` items).
    pub async fn mandates(&self, account: &AccountId) -> Result<Vec<StoredMandate>, StoreError> {
        let items = self
            .query_prefix(keys::account_partition(account), keys::MANDATE_PREFIX)
            .await?;
        items
            .iter()
            .map(|item| StoredMandate::read(item, &format!("mandate of account {account}")))
            .collect()
    }

    /// The account holding `reference` for `creditor`, if it is given (the
    /// uniqueness guard), so an import can name the conflict before writing.
    pub async fn mandate_reference_holder(
        &self,
        creditor: &str,
        reference: &str,
    ) -> Result<Option<AccountId>, StoreError> {
        let what = format!("mandate reference {reference}");
        let item = self
            .get(keys::mandate_reference(creditor, reference))
            .await?;
        item.as_ref()
            .map(|item| read_s(item, ACCOUNT_ID, &what).map(AccountId::new))
            .transpose()
    }

    /// Records a new mandate with its reference guard and, for a clerk's
    /// change, its audit entry, in one transaction conditioned on the
    /// account existing. A reference already given for the creditor is
    /// [`StoreError::Refused`] (the API's 409); a missing account is
    /// [`StoreError::NotFound`].
    pub async fn create_mandate(
        &self,
        mandate: &StoredMandate,
        audit: Option<&AuditEntry>,
    ) -> Result<(), StoreError> {
        let account = keys::account(&mandate.account_id);
        let check = ConditionCheck::builder()
            .table_name(&self.table)
            .set_key(Some(key_item(account)))
            .condition_expression(format!("attribute_exists({PK})"))
            .named()
            .build()
            .map_err(|e| StoreError::corrupt("transaction item", e))?;
        let mut items = vec![
            self.put_new(mandate.item()?)?,
            self.put_new(mandate.guard())?,
            TransactWriteItem::builder().condition_check(check).build(),
        ];
        if let Some(audit) = audit {
            items.extend(audit.transact_items(&self.table)?);
        }
        // 0: the mandate (same account, creditor and reference again),
        // 1: the guard (the reference is taken), 2: the account.
        let mut retry = Retry::Attempts(STAFF_ATTEMPTS).start();
        while retry.next().await {
            match self.transact(items.clone()).await? {
                Outcome::Written => return Ok(()),
                Outcome::Cancelled(cancelled) if cancelled.condition_failed(2) => {
                    return Err(StoreError::NotFound {
                        what: format!("account {}", mandate.account_id),
                    });
                }
                Outcome::Cancelled(cancelled)
                    if cancelled.condition_failed(0) || cancelled.condition_failed(1) =>
                {
                    return Err(mandate.duplicate());
                }
                Outcome::Cancelled(cancelled) if cancelled.only_races(|_| false) => continue,
                Outcome::Cancelled(cancelled) => return Err(cancelled.into_error()),
            }
        }
        Err(retry.gave_up(format!("mandate reference {}", mandate.mandate.reference)))
    }

    /// Replaces the mandate read as `read` by `changed` (the same mandate
    /// after the domain's amendments, a block or a revocation) if its
    /// revision is still `expected_revision`, with the audit entry; a new
    /// reference or creditor moves the uniqueness guard in the same
    /// transaction. Returns the stored mandate at its new revision.
    pub async fn change_mandate(
        &self,
        read: &StoredMandate,
        expected_revision: u64,
        changed: Mandate,
        audit: &AuditEntry,
    ) -> Result<StoredMandate, StoreError> {
        let what = format!("mandate {}", read.mandate.reference);
        if expected_revision != read.revision {
            return Err(StoreError::RevisionMismatch { what });
        }
        let next = StoredMandate {
            revision: expected_revision + 1,
            mandate: changed,
            ..read.clone()
        };
        let mut items = vec![self.transaction_put(
            next.item()?,
            Some(&format!("{REVISION} = :expected")),
            Some((":expected", n(expected_revision))),
        )?];
        let moved = next.guard_key() != read.guard_key();
        if moved {
            let delete = Delete::builder()
                .table_name(&self.table)
                .set_key(Some(key_item(read.guard_key())))
                .condition_expression(format!("{MANDATE_ID} = :mandate"))
                .expression_attribute_values(":mandate", s(&read.mandate_id))
                .named()
                .build()
                .map_err(|e| StoreError::corrupt("transaction item", e))?;
            items.push(TransactWriteItem::builder().delete(delete).build());
            items.push(self.put_new(next.guard())?);
        }
        items.extend(audit.transact_items(&self.table)?);
        // 0: the mandate at its revision, 2: the new guard (reference taken).
        let mut retry = Retry::Attempts(STAFF_ATTEMPTS).start();
        while retry.next().await {
            match self.transact(items.clone()).await? {
                Outcome::Written => return Ok(next),
                Outcome::Cancelled(cancelled) if cancelled.condition_failed(0) => {
                    return Err(StoreError::RevisionMismatch { what });
                }
                Outcome::Cancelled(cancelled) if moved && cancelled.condition_failed(2) => {
                    return Err(next.duplicate());
                }
                Outcome::Cancelled(cancelled) if cancelled.only_races(|_| false) => continue,
                Outcome::Cancelled(cancelled) => return Err(cancelled.into_error()),
            }
        }
        Err(retry.gave_up(what))
    }
}
