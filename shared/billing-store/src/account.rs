//! Customer accounts, found by id or by the CRM's id.

use billing_domain::ids::AccountId;
use billing_domain::party::CustomerAccount;

use chrono::{DateTime, FixedOffset};

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;

use crate::attributes::{Item, n, read_body, read_optional_s, read_s, read_u64};
use crate::{BillingStore, StoreError, keys};

/// An account with the version its next update must expect.
#[derive(Debug, Clone, PartialEq)]
pub struct VersionedAccount {
    /// The account.
    pub account: CustomerAccount,
    /// Optimistic-locking version of the stored item.
    pub version: u64,
    /// When the CRM last changed the data stored here, if known.
    pub crm_last_modified: Option<DateTime<FixedOffset>>,
    /// Staff-write revision (the API's ETag `"r<revision>"`), separate from
    /// the CRM sync's `version`; 0 before the first staff change.
    pub revision: u64,
}

/// Replacing a stored account item (a CRM refresh, an import): the
/// condition that it is still at the `version` and staff `revision` read,
/// with its values, and the replacement carries `version + 1` and
/// `revision + 1`. Without the revision the whole-item put would drop it
/// and an ETag handed out before could match again.
pub(crate) fn replace_account(
    item: &mut Item,
    version: u64,
    revision: u64,
) -> (String, HashMap<String, AttributeValue>) {
    item.insert("version".into(), n(version + 1));
    item.insert("revision".into(), n(revision + 1));
    let (revision_condition, revision_value) = crate::audit::revision_condition(revision);
    let mut values = HashMap::from([(":expected".to_owned(), n(version))]);
    if let Some(value) = revision_value {
        values.insert(":revision".to_owned(), value);
    }
    (
        format!("version = :expected AND {revision_condition}"),
        values,
    )
}

impl BillingStore {
    /// The account a CRM account maps to, if it was ever seen.
    pub async fn account_by_crm(
        &self,
        source: &str,
        org: &str,
        crm_id: &str,
    ) -> Result<Option<VersionedAccount>, StoreError> {
        let what = format!("CRM link {source}/{org}/{crm_id}");
        let link = self.get(keys::crm_link(source, org, crm_id)).await?;
        let Some(link) = link.as_ref() else {
            return Ok(None);
        };
        let account_id = AccountId::new(read_s(link, "account_id", &what)?);
        match self.account(&account_id).await? {
            Some(account) => Ok(Some(account)),
            None => Err(StoreError::corrupt(
                what,
                format!("links to missing account {account_id}"),
            )),
        }
    }

    /// An account by id.
    pub async fn account(&self, id: &AccountId) -> Result<Option<VersionedAccount>, StoreError> {
        let what = format!("account {id}");
        let output = self.get(keys::account(id)).await?;
        output
            .as_ref()
            .map(|item| VersionedAccount::read(item, &what))
            .transpose()
    }
}

impl VersionedAccount {
    pub(crate) fn read(item: &crate::attributes::Item, what: &str) -> Result<Self, StoreError> {
        Ok(VersionedAccount {
            account: read_body(item, what)?,
            version: read_u64(item, "version", what)?,
            crm_last_modified: read_optional_s(item, "crm_last_modified")
                .and_then(|t| DateTime::parse_from_rfc3339(t).ok()),
            revision: crate::audit::read_revision(item, what)?,
        })
    }
}
