//! What the revenue figures read ([`billing_domain::revenue`]): a seller's
//! contracts and the invoices and credit notes billed for them, per
//! customer. Reads: the seller's accounts (Queries on their name partition
//! of `ByAccount`), then per account one Query for its contracts and one
//! Query series on `ByAccount` for its documents (that index projects the
//! whole item, bodies included). A report, not the morning view: a seller
//! with many customers pays one pair of Queries per customer.

use aws_sdk_dynamodb::types::AttributeValue;
use billing_domain::ids::{AccountId, BillingEntityId};
use billing_domain::invoice::Invoice;
use billing_domain::subscription::Subscription;

use crate::attributes::{read_body, read_optional_s};
use crate::codec::invoice::STATUS;
use crate::codec::{ACCOUNT_KEY, ACCOUNT_SORT, Named};
use crate::page::{Page, query_page};
use crate::{BillingStore, StoreError, keys};

/// Contracts and finalized documents, for the revenue figures.
#[derive(Debug, Clone, Default)]
pub struct RevenueBasis {
    /// Every contract.
    pub contracts: Vec<Subscription>,
    /// Every finalized invoice and credit note.
    pub documents: Vec<Invoice>,
}

impl BillingStore {
    /// The contracts and documents of one account of `entity`, or of all
    /// its accounts.
    pub async fn revenue_basis(
        &self,
        entity: &BillingEntityId,
        account: Option<&AccountId>,
    ) -> Result<RevenueBasis, StoreError> {
        let accounts = match account {
            Some(account) => vec![account.clone()],
            None => self.entity_account_ids(entity).await?,
        };
        let mut basis = RevenueBasis::default();
        for account in &accounts {
            basis.contracts.extend(
                self.subscriptions_of(account)
                    .await?
                    .into_iter()
                    .map(|stored| stored.subscription),
            );
            basis
                .documents
                .extend(self.account_documents(account).await?);
        }
        Ok(basis)
    }

    async fn entity_account_ids(
        &self,
        entity: &BillingEntityId,
    ) -> Result<Vec<AccountId>, StoreError> {
        let mut ids = Vec::new();
        let mut page = Page::first(crate::MAX_PAGE_LIMIT);
        loop {
            let paged = self.search_accounts(entity, "", &page).await?;
            ids.extend(paged.items.into_iter().map(|a| a.account.id));
            match paged.next_cursor {
                Some(cursor) => page.cursor = Some(cursor),
                None => return Ok(ids),
            }
        }
    }

    async fn account_documents(&self, account: &AccountId) -> Result<Vec<Invoice>, StoreError> {
        let partition = keys::account_partition(account);
        let what = format!("invoice of account {account}");
        let mut documents = Vec::new();
        let mut page = Page::first(crate::MAX_PAGE_LIMIT);
        loop {
            let query = self
                .db
                .query()
                .table_name(&self.table)
                .index_name("ByAccount")
                .key_condition_expression(format!(
                    "{ACCOUNT_KEY} = :pk AND begins_with({ACCOUNT_SORT}, :p)"
                ))
                .expression_attribute_values(":pk", AttributeValue::S(partition.clone()))
                .expression_attribute_values(
                    ":p",
                    AttributeValue::S(keys::INVOICE_SORT_PREFIX.into()),
                )
                .named();
            let (items, next) = query_page(query, (ACCOUNT_KEY, &partition), &page).await?;
            for item in &items {
                if read_optional_s(item, STATUS) == Some("unnumbered") {
                    continue;
                }
                documents.push(read_body(item, &what)?);
            }
            match next {
                Some(cursor) => page.cursor = Some(cursor),
                None => return Ok(documents),
            }
        }
    }
}
