//! Customer accounts, found by id or by the CRM's id.

use billing_domain::ids::AccountId;
use billing_domain::party::CustomerAccount;

use crate::attributes::{key_item, read_body, read_s, read_u64};
use crate::{BillingStore, StoreError, keys};

/// An account with the version its next update must expect.
#[derive(Debug, Clone, PartialEq)]
pub struct VersionedAccount {
    /// The account.
    pub account: CustomerAccount,
    /// Optimistic-locking version of the stored item.
    pub version: u64,
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
        let link = self
            .db
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key_item(keys::crm_link(source, org, crm_id))))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| StoreError::aws("GetItem", &e))?;
        let Some(link) = link.item() else {
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
        let output = self
            .db
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key_item(keys::account(id))))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| StoreError::aws("GetItem", &e))?;
        output
            .item()
            .map(|item| {
                Ok(VersionedAccount {
                    account: read_body(item, &what)?,
                    version: read_u64(item, "version", &what)?,
                })
            })
            .transpose()
    }
}
