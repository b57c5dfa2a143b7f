//! Key formats of the billing table (see `docs/architecture.md`).
//!
//! Kept in one place so that every writer and reader agrees, and so that the
//! sparse, sharded index keys are computed the same way everywhere.

use billing_domain::ids::{AccountId, BillingEntityId, InvoiceId, SubscriptionId};
use billing_domain::numbering::CounterKey;
use chrono::NaiveDate;
use sha2::{Digest, Sha256};

/// Shards of the due-subscription and dunning indexes. Spreading keys over
/// 16 partitions keeps a large run from hammering one; readers query every
/// shard. Changing it strands items in old shards: treat it as fixed.
pub const INDEX_SHARDS: u8 = 16;

/// Billing entity (seller configuration) item.
pub fn entity(id: &BillingEntityId) -> (String, String) {
    (format!("ENTITY#{id}"), "ENTITY".to_owned())
}

/// The partition of an account: the account item, its contracts and its
/// pending charges, and (as `ByAccount` key) its documents.
pub fn account_partition(id: &AccountId) -> String {
    format!("ACCOUNT#{id}")
}

/// Account item.
pub fn account(id: &AccountId) -> (String, String) {
    (account_partition(id), "ACCOUNT".to_owned())
}

/// The item that maps a CRM account to ours.
pub fn crm_link(source: &str, org: &str, crm_id: &str) -> (String, String) {
    (format!("CRM#{source}#{org}#{crm_id}"), "ACCOUNT".to_owned())
}

/// Prefix of an account's subscription items.
pub const SUBSCRIPTION_PREFIX: &str = "SUBSCRIPTION#";

/// Subscription item, in its account's partition.
pub fn subscription(account: &AccountId, id: &SubscriptionId) -> (String, String) {
    (
        account_partition(account),
        format!("{SUBSCRIPTION_PREFIX}{id}"),
    )
}

/// Prefix of an account's pending one-off charges.
pub const PENDING_PREFIX: &str = "PENDING#";

/// Pending-charges item of one opportunity, in its account's partition.
pub fn pending_charges(account: &AccountId, batch_id: &str) -> (String, String) {
    (
        account_partition(account),
        format!("{PENDING_PREFIX}{batch_id}"),
    )
}

/// Prefix of an account's SEPA mandates.
pub const MANDATE_PREFIX: &str = "MANDATE#";

/// A SEPA mandate, in its account's partition. The id is fixed when the
/// mandate is recorded ([`mandate_id`]), so an amended reference does not
/// move the item.
pub fn mandate(account: &AccountId, mandate_id: &str) -> (String, String) {
    (
        account_partition(account),
        format!("{MANDATE_PREFIX}{mandate_id}"),
    )
}

/// The id of a mandate recorded for `account` under `creditor` and
/// `reference` at `recorded_at` (RFC 3339): the same input gives the same
/// id, so a retried create addresses the same item, and a reference given
/// again after a rename gets a new item.
pub fn mandate_id(
    account: &AccountId,
    creditor: &str,
    reference: &str,
    recorded_at: &str,
) -> String {
    derived_id("mdt", &[account.as_str(), creditor, reference, recorded_at])
}

/// The guard that keeps a mandate reference unique per creditor
/// identifier: put with `attribute_not_exists(pk)` in the transaction that
/// records (or re-references) the mandate, deleted when the reference
/// moves. SEPA references cannot contain `#`.
pub fn mandate_reference(creditor: &str, reference: &str) -> (String, String) {
    (
        format!("MANDATEREF#{creditor}#{reference}"),
        "MANDATEREF".to_owned(),
    )
}

/// Invoice item.
pub fn invoice(id: &InvoiceId) -> (String, String) {
    (format!("INVOICE#{id}"), "INVOICE".to_owned())
}

/// Prefix of an account's suppressed e-mail addresses.
pub const SUPPRESSION_PREFIX: &str = "SUPPRESSED#";

/// An address the account's mail must not go to, in its partition. The
/// address is lower-cased: mail systems treat it case-insensitively in practice.
pub fn suppression(account: &AccountId, address: &str) -> (String, String) {
    (
        account_partition(account),
        format!("{SUPPRESSION_PREFIX}{}", address.to_lowercase()),
    )
}

/// Prefix of the entries of an entity's needs-attention list.
pub const ATTENTION_PREFIX: &str = "INVOICE#";

/// An entity's needs-attention list: one partition, so the list is one
/// Query (it stays small: staff work it off).
pub fn attention_partition(entity: &BillingEntityId) -> String {
    format!("ATTENTION#{entity}")
}

/// An invoice on its entity's needs-attention list.
pub fn attention(entity: &BillingEntityId, invoice: &InvoiceId) -> (String, String) {
    (
        attention_partition(entity),
        format!("{ATTENTION_PREFIX}{invoice}"),
    )
}

/// The record that an opportunity was processed.
pub fn opportunity(source: &str, opportunity_id: &str) -> (String, String) {
    (
        format!("OPPORTUNITY#{source}#{opportunity_id}"),
        "OPPORTUNITY".to_owned(),
    )
}

/// Number counter of one series and period.
pub fn counter(key: &CounterKey) -> (String, String) {
    (
        format!("COUNTER#{}", key.storage_key()),
        "COUNTER".to_owned(),
    )
}

/// `ByAccount` index: invoices sort by issue date, then id.
pub fn account_invoice_sort(issue_date: NaiveDate, id: &InvoiceId) -> String {
    format!("{INVOICE_SORT_PREFIX}{issue_date}#{id}")
}

/// `ByInvoiceNumber` index key: numbers are unique per entity.
pub fn invoice_number(entity: &BillingEntityId, number: &str) -> String {
    format!("{entity}#{number}")
}

/// Shard of an id for the sharded indexes; stable across builds and
/// platforms (SHA-256, not the std hasher).
pub fn shard_of(id: &str) -> u8 {
    let digest = Sha256::digest(id.as_bytes());
    digest[0] % INDEX_SHARDS
}

/// `DueSubscriptions` index keys for a subscription next due on `date`.
///
/// Sharded by the *account*, and sorted by date, then account: every due
/// contract of one customer sits in one shard, next to the customer's other
/// contracts due that day, so the planner groups a customer's contracts by
/// looking at neighbouring entries only and never holds the index in memory.
pub fn due_subscription(
    account: &AccountId,
    id: &SubscriptionId,
    date: NaiveDate,
) -> (String, String) {
    (
        due_shard(shard_of(account.as_str())),
        format!("{date}#{account}#{id}"),
    )
}

/// The partition key of one `DueSubscriptions` shard.
pub fn due_shard(shard: u8) -> String {
    format!("DUE#{shard}")
}

/// The account of a `DueSubscriptions` sort key (`<date>#<account>#<id>`).
pub fn due_account(due_at: &str) -> Option<AccountId> {
    let mut parts = due_at.splitn(3, '#');
    let (_date, account, _id) = (parts.next()?, parts.next()?, parts.next()?);
    (!account.is_empty()).then(|| AccountId::new(account))
}

/// Upper bound of the `DueSubscriptions` sort keys due on or before `date`.
pub fn due_until(date: NaiveDate) -> String {
    format!("{date}#~")
}

/// The partition of one invoice run: its record, its batches, its
/// customers and their failures.
pub fn run_partition(run_id: &str) -> String {
    format!("RUN#{run_id}")
}

/// An invoice run's record.
pub fn run(run_id: &str) -> (String, String) {
    (run_partition(run_id), "RUN".to_owned())
}

/// Prefix of a run's finished batches.
pub const RUN_BATCH_PREFIX: &str = "BATCH#";
/// Prefix of a run's billed customers.
pub const RUN_CUSTOMER_PREFIX: &str = "CUSTOMER#";
/// Prefix of a run's customers that could not be billed.
pub const RUN_FAILED_PREFIX: &str = "FAILED#";

/// Prefix of a run's records of what it billed for one customer.
pub fn run_customer_prefix(account: &AccountId) -> String {
    format!("{RUN_CUSTOMER_PREFIX}{account}#")
}

/// A run's record of one bill of one customer, named by the bill's first
/// invoice (a run date planned twice may bill a customer twice: a contract
/// added in between).
pub fn run_customer(run_id: &str, account: &AccountId, first: &InvoiceId) -> (String, String) {
    (
        run_partition(run_id),
        format!("{}{first}", run_customer_prefix(account)),
    )
}

/// A run's record of a customer it could not bill, and why.
pub fn run_failure(run_id: &str, account: &AccountId) -> (String, String) {
    (
        run_partition(run_id),
        format!("{RUN_FAILED_PREFIX}{account}"),
    )
}

/// A run's marker that one of its batches is done.
pub fn run_batch(run_id: &str, batch_id: &str) -> (String, String) {
    (
        run_partition(run_id),
        format!("{RUN_BATCH_PREFIX}{batch_id}"),
    )
}

/// Prefix of the customers on an entity's needs-attention list (a run could
/// not bill them).
pub const ATTENTION_CUSTOMER_PREFIX: &str = "CUSTOMER#";

/// A customer on its entity's needs-attention list.
pub fn attention_customer(entity: &BillingEntityId, account: &AccountId) -> (String, String) {
    (
        attention_partition(entity),
        format!("{ATTENTION_CUSTOMER_PREFIX}{account}"),
    )
}

/// `DunningDue` index keys for an invoice next looked at on `date`.
pub fn dunning_due(id: &InvoiceId, date: NaiveDate) -> (String, String) {
    (
        format!("{DUNNING_SHARD_PREFIX}{}", shard_of(id.as_str())),
        format!("{date}#{id}"),
    )
}

/// `CollectionDue` index keys of a direct-debit invoice awaiting its
/// collection on `date`: sharded by invoice like [`dunning_due`], so a
/// month of collections on one date spreads over the index's partitions.
/// Set when the invoice is finalized, removed once it is collected.
pub fn collection_due(id: &InvoiceId, date: NaiveDate) -> (String, String) {
    (
        format!("{COLLECTION_SHARD_PREFIX}{}", shard_of(id.as_str())),
        format!("{date}#{id}"),
    )
}

/// A collection file's batch item: one per seller, scheme and collection
/// date (the id is derived from the three, so two runs meet on it).
pub fn collection_batch(batch_id: &str) -> (String, String) {
    (format!("COLLECTION#{batch_id}"), "BATCH".to_owned())
}

/// Sort-key prefix of a batch's members (one per claimed invoice).
pub const COLLECTION_MEMBER_PREFIX: &str = "MEMBER#";

/// Sort-key prefix of a batch's audit records (downloads).
pub const COLLECTION_AUDIT_PREFIX: &str = "AUDIT#";

/// An invoice claimed by a collection batch: what its file line holds.
pub fn collection_member(batch_id: &str, invoice: &InvoiceId) -> (String, String) {
    (
        format!("COLLECTION#{batch_id}"),
        format!("{COLLECTION_MEMBER_PREFIX}{invoice}"),
    )
}

/// `ByAccount` partition of a seller's collection files, sorted by
/// collection date: the staff API's list (the batch item carries the keys).
pub fn collection_files(entity: &BillingEntityId) -> String {
    format!("COLLECTIONS#{entity}")
}

/// A batch's sort key in [`collection_files`].
pub fn collection_file_sort(collection_date: NaiveDate, batch_id: &str) -> String {
    format!("FILE#{collection_date}#{batch_id}")
}

/// A stable, opaque id derived from natural keys (same input, same id), so
/// that retries address the same items instead of creating new ones.
pub fn derived_id(prefix: &str, parts: &[&str]) -> String {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update((part.len() as u64).to_be_bytes());
        hasher.update(part.as_bytes());
    }
    let digest = hasher.finalize();
    format!("{prefix}_{}", &hex::encode(digest)[..24])
}

/// `ByAccount` partition of an entity's account names (name search): the
/// account item carries `account_key = NAMES#<entity>` and `account_sort =
/// NAME#<normalized name>#<account id>`, so a name prefix is one Query on
/// the index the account's invoices already use.
pub fn account_names(entity: &BillingEntityId) -> String {
    format!("NAMES#{entity}")
}

/// Prefix of the name entries in [`account_names`].
pub const ACCOUNT_NAME_PREFIX: &str = "NAME#";

/// Longest normalized name kept in a sort key (DynamoDB allows 1,024
/// bytes; a prefix search never needs more).
const MAX_NAME_KEY_CHARS: usize = 200;

/// A name as searched: lower-case, inner whitespace collapsed to one
/// space, `#` (the key separator) dropped, at most 200 characters.
pub fn normalized_name(name: &str) -> String {
    name.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
        .replace('#', "")
        .chars()
        .take(MAX_NAME_KEY_CHARS)
        .collect()
}

/// The name-search index keys of an account item.
pub fn account_name_index(
    entity: &BillingEntityId,
    name: &str,
    id: &AccountId,
) -> [(String, String); 2] {
    [
        (
            crate::codec::ACCOUNT_KEY.name().to_owned(),
            account_names(entity),
        ),
        (
            crate::codec::ACCOUNT_SORT.name().to_owned(),
            format!("{ACCOUNT_NAME_PREFIX}{}#{id}", normalized_name(name)),
        ),
    ]
}

/// `ByEntity` index partition: every invoice and credit note of a seller,
/// sorted by issue date (`entity_sort` is [`account_invoice_sort`]).
pub fn entity_invoices(entity: &BillingEntityId) -> String {
    format!("INVOICES#{entity}")
}

/// `OpenInvoices` partition of a seller's open invoices in one currency:
/// the `open_key` an invoice carries while something is open on it.
pub fn open_invoices(entity: &BillingEntityId, currency: &str) -> String {
    format!("OPEN#{entity}#{currency}")
}

/// `ByAccount` partition of every invoice run, sorted by run date: the
/// staff API's list of runs (the run record carries the keys).
pub const RUNS_PARTITION: &str = "RUNS";

/// A run's sort key in [`RUNS_PARTITION`].
pub fn run_list_sort(run_date: NaiveDate, run_id: &str) -> String {
    format!("RUN#{run_date}#{run_id}")
}

/// An id as one segment of an S3 object key (archived documents, exports):
/// characters outside `[A-Za-z0-9._-]` become `_`, so an id can never leave
/// its folder.
pub fn object_key_segment(value: &str) -> String {
    value
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Sort-key prefix of an account's customer credit movements.
pub(crate) const CREDIT_PREFIX: &str = "CREDIT#";

/// The partition of a seller's debtor numbers (counter and claims).
pub fn debtors_partition(entity: &BillingEntityId) -> String {
    format!("DEBTORS#{entity}")
}

/// A customer's debtor number item, in the account's partition.
pub fn debtor_account_key(account: &AccountId) -> (String, String) {
    (account_partition(account), "DEBTOR".to_owned())
}

/// The counter of a seller's debtor numbers (the last one given).
pub fn debtor_counter_key(entity: &BillingEntityId) -> (String, String) {
    (debtors_partition(entity), "COUNTER".to_owned())
}

/// A debtor number claimed by one customer of the seller.
pub fn debtor_claim_key(entity: &BillingEntityId, number: u32) -> (String, String) {
    (debtors_partition(entity), format!("NUMBER#{number}"))
}

/// The partition of a seller's booking periods.
pub fn periods_partition(entity: &BillingEntityId) -> String {
    format!("PERIODS#{entity}")
}

/// A booking period's item: `month` is `YYYY-MM`.
pub fn period_key(entity: &BillingEntityId, month: &str) -> (String, String) {
    (periods_partition(entity), format!("{PERIOD_PREFIX}{month}"))
}

/// Partition of an invoice's audit trail.
pub fn invoice_audit_partition(id: &InvoiceId) -> String {
    format!("AUDIT#INVOICE#{id}")
}

/// Partition of an account's audit trail.
pub fn account_audit_partition(id: &AccountId) -> String {
    format!("AUDIT#ACCOUNT#{id}")
}

/// The item of a recorded letter.
pub fn letter_key(letter_id: &str) -> (String, String) {
    (format!("LETTER#{letter_id}"), "LETTER".to_owned())
}

/// The needs-attention note about an invoice that left dunning
/// (handed over to collection, below the minimum).
pub fn dunning_attention_key(entity: &BillingEntityId, invoice: &InvoiceId) -> (String, String) {
    (
        attention_partition(entity),
        format!("{DUNNING_ATTENTION_PREFIX}{invoice}"),
    )
}

/// An imported statement's record.
pub fn statement_item_key(statement_id: &str) -> (String, String) {
    (format!("STATEMENT#{statement_id}"), "STATEMENT".to_owned())
}

/// A handled entry of a statement (booked or for review).
pub fn statement_entry_key(statement_id: &str, entry_id: &str) -> (String, String) {
    (
        format!("STATEMENT#{statement_id}"),
        format!("{STATEMENT_ENTRY_PREFIX}{entry_id}"),
    )
}

/// The partition of a seller's payment review list.
pub fn review_partition(entity: &BillingEntityId) -> String {
    format!("REVIEW#{entity}")
}

/// A payer link: the bank account (normalized, hashed with the seller:
/// no IBAN is stored) to the customer it paid for.
pub fn payer_key(entity: &BillingEntityId, account_number: &str) -> (String, String) {
    let normalized: String = account_number
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect::<String>()
        .to_ascii_uppercase();
    (
        format!(
            "PAYER#{}",
            derived_id("payer", &[entity.as_str(), &normalized])
        ),
        "PAYER".to_owned(),
    )
}

/// Sort-key prefix of a seller's booking periods.
pub const PERIOD_PREFIX: &str = "MONTH#";
/// Sort-key prefix of a handled statement entry.
pub const STATEMENT_ENTRY_PREFIX: &str = "ENTRY#";
/// Sort-key prefix of a payment review entry.
pub const REVIEW_PREFIX: &str = "ENTRY#";
/// Sort-key prefix of the needs-attention notes about invoices that left
/// dunning.
pub const DUNNING_ATTENTION_PREFIX: &str = "DUNNING#";
/// Sort-key prefix of configuration and import warnings.
pub const WARNING_PREFIX: &str = "WARNING#";
/// Sort-key prefix of an invoice's payments.
pub const PAYMENT_PREFIX: &str = "PAYMENT#";
/// `ByAccount` and `ByEntity` sort-key prefix of invoices (then the issue
/// date).
pub const INVOICE_SORT_PREFIX: &str = "INVOICE#";

/// The sort-key range of invoices issued from `from` through `to` (either
/// open), for a `BETWEEN` on `ByAccount` or `ByEntity`.
pub fn invoice_sort_range(from: Option<NaiveDate>, to: Option<NaiveDate>) -> (String, String) {
    let from = match from {
        Some(day) => format!("{INVOICE_SORT_PREFIX}{day}"),
        None => INVOICE_SORT_PREFIX.to_owned(),
    };
    let to = match to {
        Some(day) => format!("{INVOICE_SORT_PREFIX}{day}#~"),
        None => format!("{INVOICE_SORT_PREFIX}~"),
    };
    (from, to)
}

/// `ByAccount` sort-key prefix of a customer's dunning letters.
pub const LETTER_SORT_PREFIX: &str = "LETTER#";
/// Partition prefix of every invoice item.
pub const INVOICE_PARTITION_PREFIX: &str = "INVOICE#";
/// `DunningDue` shard prefix.
pub const DUNNING_SHARD_PREFIX: &str = "DUN#";
/// `CollectionDue` shard prefix.
pub const COLLECTION_SHARD_PREFIX: &str = "COLLECT#";

/// A configuration or import warning on the seller's needs-attention list,
/// one per `topic` (the last one stands).
pub fn warning(entity: &BillingEntityId, topic: &str) -> (String, String) {
    (
        attention_partition(entity),
        format!("{WARNING_PREFIX}{topic}"),
    )
}

/// A payment of an invoice, in the invoice's partition.
pub fn payment(invoice_id: &InvoiceId, payment_id: &str) -> (String, String) {
    (
        invoice(invoice_id).0,
        format!("{PAYMENT_PREFIX}{payment_id}"),
    )
}

/// The `ByAccount` sort key of a customer's dunning letter.
pub fn account_letter_sort(date: NaiveDate, letter_id: &str) -> String {
    format!("{LETTER_SORT_PREFIX}{date}#{letter_id}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_id_stays_one_object_key_segment() {
        assert_eq!(object_key_segment("seller-1_de.v2"), "seller-1_de.v2");
        assert_eq!(object_key_segment("a/../b c#ä"), "a_.._b_c__");
    }

    #[test]
    fn shards_are_stable_and_in_range() {
        // Pinned: a change here would strand stored index keys.
        assert_eq!(
            [shard_of("sub_1"), shard_of("inv_1"), shard_of("")],
            [3, 9, 3]
        );
        let shards: std::collections::BTreeSet<u8> =
            (0..1000).map(|i| shard_of(&format!("sub_{i}"))).collect();
        assert_eq!(shards.len(), INDEX_SHARDS as usize);
        assert!(shards.iter().all(|s| *s < INDEX_SHARDS));
    }

    #[test]
    fn names_are_searched_case_and_space_insensitively() {
        assert_eq!(
            normalized_name("  Müller   Handel#GmbH "),
            "müller handelgmbh"
        );
        let [(_, pk), (_, sk)] = account_name_index(
            &BillingEntityId::new("e1"),
            "ACME  Corp",
            &AccountId::new("a1"),
        );
        assert_eq!(
            (pk.as_str(), sk.as_str()),
            ("NAMES#e1", "NAME#acme corp#a1")
        );
    }

    #[test]
    fn derived_ids_separate_their_parts() {
        assert_ne!(
            derived_id("acc", &["ab", "c"]),
            derived_id("acc", &["a", "bc"])
        );
        assert_eq!(
            derived_id("acc", &["a", "b"]),
            derived_id("acc", &["a", "b"])
        );
        assert!(derived_id("inv", &["x"]).starts_with("inv_"));
    }
}
