//! Customer accounts, found by id or by the CRM's id.

use crate::codec::account::{ACCOUNT_ID, CRM_LAST_MODIFIED};
use crate::codec::{ACCOUNT_KEY, ACCOUNT_SORT, ItemAttributes, Named, PK, REVISION, VERSION};
use crate::page::{Page, Paged, query_page};
use billing_domain::ids::AccountId;
use billing_domain::ids::BillingEntityId;
use billing_domain::party::CustomerAccount;

use chrono::{DateTime, FixedOffset};

use std::collections::HashMap;
use std::future::Future;

use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes};

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
    item.put(VERSION, n(version + 1));
    item.put(REVISION, n(revision + 1));
    let (revision_condition, revision_value) = crate::audit::revision_condition(revision);
    let mut values = HashMap::from([(":expected".to_owned(), n(version))]);
    if let Some(value) = revision_value {
        values.insert(":revision".to_owned(), value);
    }
    (
        format!("{VERSION} = :expected AND {revision_condition}"),
        values,
    )
}

/// Most keys one BatchGetItem may ask for (DynamoDB's limit).
pub(crate) const BATCH_GET_KEYS: usize = 100;

impl BillingStore {
    /// The accounts of `ids` (each asked once, however often it is named),
    /// keyed by id; ids without an account are left out. Read with
    /// BatchGetItem, strongly consistent like [`BillingStore::account`]:
    /// `ceil(ids / 100)` requests, plus one per round of keys DynamoDB
    /// leaves unprocessed under load (asked again after a backoff). What
    /// lists of many customers (the aging's rows) need to show names,
    /// without one GetItem per customer.
    pub async fn accounts(
        &self,
        ids: &[AccountId],
    ) -> Result<HashMap<AccountId, VersionedAccount>, StoreError> {
        let mut ids: Vec<&AccountId> = ids.iter().collect();
        ids.sort();
        ids.dedup();
        let keys = ids
            .iter()
            .map(|id| crate::attributes::key_item(keys::account(id)))
            .collect();
        let items = batch_get(keys, |keys| async move {
            let request = KeysAndAttributes::builder()
                .set_keys(Some(keys))
                .consistent_read(true)
                .build()
                .map_err(|e| StoreError::corrupt("BatchGetItem request", e))?;
            let output = self
                .db
                .batch_get_item()
                .request_items(&self.table, request)
                .send()
                .await
                .map_err(|e| StoreError::aws("BatchGetItem", &e))?;
            let items = output
                .responses
                .and_then(|mut found| found.remove(&self.table))
                .unwrap_or_default();
            let unprocessed = output
                .unprocessed_keys
                .and_then(|mut left| left.remove(&self.table))
                .map(|left| left.keys)
                .unwrap_or_default();
            Ok((items, unprocessed))
        })
        .await?;
        let mut accounts = HashMap::with_capacity(items.len());
        for item in &items {
            let what = format!("account {}", read_optional_s(item, PK).unwrap_or_default());
            let account = VersionedAccount::read(item, &what)?;
            accounts.insert(account.account.id.clone(), account);
        }
        Ok(accounts)
    }

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
        let account_id = AccountId::new(read_s(link, ACCOUNT_ID, &what)?);
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
        self.get_as(keys::account(id), |item| {
            VersionedAccount::read(item, &what)
        })
        .await
    }
}

/// Every item of `keys`, asked `BATCH_GET_KEYS` at a time through `send`
/// (one BatchGetItem: the items found and the keys left unprocessed); the
/// unprocessed keys are asked again, after a backoff, until none is left.
async fn batch_get<F, Fut>(mut keys: Vec<Item>, send: F) -> Result<Vec<Item>, StoreError>
where
    F: Fn(Vec<Item>) -> Fut,
    Fut: Future<Output = Result<(Vec<Item>, Vec<Item>), StoreError>>,
{
    let mut items = Vec::with_capacity(keys.len());
    let mut attempt = 0;
    while !keys.is_empty() {
        let rest = keys.split_off(keys.len().min(BATCH_GET_KEYS));
        let (found, unprocessed) = send(keys).await?;
        items.extend(found);
        if unprocessed.is_empty() {
            attempt = 0;
        } else {
            attempt += 1;
            tokio::time::sleep(crate::transaction::backoff(attempt)).await;
        }
        keys = unprocessed;
        keys.extend(rest);
    }
    Ok(items)
}

impl VersionedAccount {
    pub(crate) fn read(item: &crate::attributes::Item, what: &str) -> Result<Self, StoreError> {
        Ok(VersionedAccount {
            account: read_body(item, what)?,
            version: read_u64(item, VERSION, what)?,
            crm_last_modified: read_optional_s(item, CRM_LAST_MODIFIED)
                .and_then(|t| DateTime::parse_from_rfc3339(t).ok()),
            revision: crate::audit::read_revision(item, what)?,
        })
    }
}

impl BillingStore {
    /// Accounts of `entity` whose name starts with `prefix` (case and
    /// spacing ignored), alphabetically; one Query on `ByAccount`.
    pub async fn search_accounts(
        &self,
        entity: &BillingEntityId,
        prefix: &str,
        page: &Page,
    ) -> Result<Paged<VersionedAccount>, StoreError> {
        let partition = keys::account_names(entity);
        let query = self
            .query()
            .index_name("ByAccount")
            .key_condition_expression(format!(
                "{ACCOUNT_KEY} = :pk AND begins_with({ACCOUNT_SORT}, :prefix)"
            ))
            .expression_attribute_values(":pk", AttributeValue::S(partition.clone()))
            .expression_attribute_values(
                ":prefix",
                AttributeValue::S(format!(
                    "{}{}",
                    keys::ACCOUNT_NAME_PREFIX,
                    keys::normalized_name(prefix)
                )),
            )
            .named();
        let (items, next) = query_page(query, (ACCOUNT_KEY, &partition), page).await?;
        Paged::read(&items, next, |item| VersionedAccount::read(item, "account"))
    }

    /// The accounts of `entity` whose CRM id is `crm_id` (exact). The CRM
    /// id is kept in the account's body only, so this pages through the
    /// seller's account names (one Query per 200 accounts): its cost grows
    /// with the number of customers, never with invoices.
    pub async fn accounts_by_crm_id(
        &self,
        entity: &BillingEntityId,
        crm_id: &str,
    ) -> Result<Vec<VersionedAccount>, StoreError> {
        let mut found = Vec::new();
        let mut page = Page::first(crate::MAX_PAGE_LIMIT);
        loop {
            let accounts = self.search_accounts(entity, "", &page).await?;
            found.extend(
                accounts
                    .items
                    .into_iter()
                    .filter(|a| a.account.crm_id.as_str() == crm_id),
            );
            match accounts.next_cursor {
                Some(cursor) => page.cursor = Some(cursor),
                None => return Ok(found),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attributes::{key_item, s};
    use std::sync::Mutex;

    fn keys_of(n: usize) -> Vec<Item> {
        (0..n)
            .map(|i| key_item((format!("ACCOUNT#acc_{i:03}"), "ACCOUNT".to_owned())))
            .collect()
    }

    /// A table that answers every key with an item, but the first time a
    /// request asks for more than 10 keys leaves its last 10 unprocessed
    /// (what DynamoDB does under load; the emulator never does).
    #[tokio::test]
    async fn unprocessed_keys_are_asked_again_and_requests_hold_at_most_100_keys() {
        let requests: Mutex<Vec<usize>> = Mutex::new(Vec::new());
        let throttled = Mutex::new(false);
        let items = batch_get(keys_of(250), |keys| {
            requests.lock().unwrap().push(keys.len());
            let mut throttled = throttled.lock().unwrap();
            let (answered, left) = if !*throttled && keys.len() > 10 {
                *throttled = true;
                let split = keys.len() - 10;
                (keys[..split].to_vec(), keys[split..].to_vec())
            } else {
                (keys, Vec::new())
            };
            let found = answered
                .into_iter()
                .map(|mut key| {
                    key.insert("body".into(), s("{}"));
                    key
                })
                .collect();
            async move { Ok((found, left)) }
        })
        .await
        .unwrap();
        // 100 (90 answered), then the 10 again with the next 90, then the
        // last 60: still ceil(250 / 100) requests.
        assert_eq!(*requests.lock().unwrap(), [100, 100, 60]);
        let mut pks: Vec<&str> = items
            .iter()
            .filter_map(|i| i.get("pk").and_then(|v| v.as_s().ok()).map(String::as_str))
            .collect();
        pks.sort();
        pks.dedup();
        assert_eq!(pks.len(), 250, "every key read exactly once");
        assert_eq!(items.len(), 250);
    }

    #[tokio::test]
    async fn no_keys_no_request() {
        let items = batch_get(Vec::new(), |_| async {
            Err::<(Vec<Item>, Vec<Item>), _>(StoreError::corrupt("test", "no request expected"))
        })
        .await
        .unwrap();
        assert!(items.is_empty());
    }

    #[tokio::test]
    async fn a_failed_request_is_the_error() {
        let failed = batch_get(keys_of(3), |_| async {
            Err::<(Vec<Item>, Vec<Item>), _>(StoreError::corrupt("test", "refused"))
        })
        .await;
        assert!(failed.is_err());
    }
}
