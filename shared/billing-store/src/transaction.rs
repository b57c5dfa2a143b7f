//! The transaction kernel: every `TransactWriteItems` on the billing table
//! is sent by [`BillingStore::transact`], its cancellation reasons are read
//! here once into a typed outcome per item, and "try again while only races
//! failed" is [`Retry`], with one backoff policy.
//!
//! A flow module builds its items (with the builders below where they fit),
//! sends them here and decides what a failed condition on item `i` means for
//! it (already recorded, stale, someone else's change); it never reads
//! cancellation codes itself.

use std::time::Duration;

use aws_sdk_dynamodb::config::http::HttpResponse;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::builders::UpdateBuilder;
use aws_sdk_dynamodb::types::{AttributeValue, CancellationReason, Put, TransactWriteItem};
use tokio::time::Instant;

use crate::attributes::{Item, n};
use crate::{BillingStore, StoreError};

/// How one item of a cancelled transaction fared, read from its
/// cancellation reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ItemOutcome {
    /// Nothing wrong with this item (reason `None`): another item cancelled
    /// the transaction.
    Fine,
    /// Its condition expression was false (`ConditionalCheckFailed`).
    ConditionFailed,
    /// Another transaction held the item (`TransactionConflict`).
    Conflict,
    /// DynamoDB asked to slow down (`ThrottlingError`,
    /// `ProvisionedThroughputExceeded`, `RequestLimitExceeded`).
    Throttled,
    /// Anything else (a validation error, an item too large): retrying the
    /// same write fails the same way.
    Other(String),
}

impl ItemOutcome {
    fn read(reason: &CancellationReason) -> Self {
        match reason.code() {
            None | Some("None") => Self::Fine,
            Some("ConditionalCheckFailed") => Self::ConditionFailed,
            Some("TransactionConflict") => Self::Conflict,
            Some("ThrottlingError" | "ProvisionedThroughputExceeded" | "RequestLimitExceeded") => {
                Self::Throttled
            }
            Some(other) => Self::Other(other.to_owned()),
        }
    }

    /// A lost race or a request to slow down: the same write may succeed
    /// on a later attempt.
    pub(crate) fn is_race(&self) -> bool {
        matches!(self, Self::Conflict | Self::Throttled)
    }
}

/// A transaction DynamoDB cancelled: nothing of it was written.
#[derive(Debug)]
pub(crate) struct Cancelled {
    /// One outcome per item, in the order the items were sent.
    items: Vec<ItemOutcome>,
    /// The cancellation as a store error, for callers that do not expect it.
    error: StoreError,
}

impl Cancelled {
    /// How each item fared, in the order sent.
    pub(crate) fn items(&self) -> &[ItemOutcome] {
        &self.items
    }

    /// Whether item `index`'s condition failed.
    pub(crate) fn condition_failed(&self, index: usize) -> bool {
        self.items.get(index) == Some(&ItemOutcome::ConditionFailed)
    }

    /// Whether any item's condition failed.
    pub(crate) fn any_condition_failed(&self) -> bool {
        self.items.contains(&ItemOutcome::ConditionFailed)
    }

    /// Whether only races cancelled it, so reading again and retrying can
    /// succeed: every item is fine, conflicted or throttled, or its
    /// condition failed where `expected(index)` says another writer moving
    /// it is a race too (a number counter, a payment on the same invoice).
    pub(crate) fn only_races(&self, expected: impl Fn(usize) -> bool) -> bool {
        self.items
            .iter()
            .enumerate()
            .all(|(index, item)| match item {
                ItemOutcome::Fine => true,
                ItemOutcome::ConditionFailed => expected(index),
                other => other.is_race(),
            })
    }

    /// The cancellation as a store error: retryable when any item lost a
    /// race or was throttled, permanent otherwise.
    pub(crate) fn into_error(self) -> StoreError {
        self.error
    }
}

/// How a sent transaction ended, when DynamoDB answered it.
#[derive(Debug)]
pub(crate) enum Outcome {
    /// Every item was written.
    Written,
    /// Nothing was written; the reasons per item.
    Cancelled(Cancelled),
}

impl Outcome {
    /// For a transaction whose conditions a caller does not expect to fail:
    /// a cancellation becomes its store error.
    pub(crate) fn written(self) -> Result<(), StoreError> {
        match self {
            Outcome::Written => Ok(()),
            Outcome::Cancelled(cancelled) => Err(cancelled.into_error()),
        }
    }
}

/// Reads a failed `TransactWriteItems` once: a cancellation into its
/// per-item outcomes, anything else into a store error.
fn read_failure(
    error: &SdkError<TransactWriteItemsError, HttpResponse>,
) -> Result<Cancelled, StoreError> {
    let mut wrapped = StoreError::aws("TransactWriteItems", error);
    let Some(TransactWriteItemsError::TransactionCanceledException(cancelled)) =
        error.as_service_error()
    else {
        return Err(wrapped);
    };
    let items: Vec<ItemOutcome> = cancelled
        .cancellation_reasons()
        .iter()
        .map(ItemOutcome::read)
        .collect();
    if let StoreError::Aws { retryable, .. } = &mut wrapped
        && items.iter().any(ItemOutcome::is_race)
    {
        *retryable = true;
    }
    Ok(Cancelled {
        items,
        error: wrapped,
    })
}

impl BillingStore {
    /// Sends one transaction: the one place the store calls
    /// `TransactWriteItems`. A cancellation comes back as
    /// [`Outcome::Cancelled`] with a typed outcome per item; any other
    /// failure is a [`StoreError::Aws`] (retryable when transient).
    pub(crate) async fn transact(
        &self,
        items: Vec<TransactWriteItem>,
    ) -> Result<Outcome, StoreError> {
        match self
            .db
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await
        {
            Ok(_) => Ok(Outcome::Written),
            Err(error) => read_failure(&error).map(Outcome::Cancelled),
        }
    }

    /// One Put of a transaction, with an optional condition and its value.
    pub(crate) fn transaction_put(
        &self,
        item: Item,
        condition: Option<&str>,
        value: Option<(&str, AttributeValue)>,
    ) -> Result<TransactWriteItem, StoreError> {
        let mut put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .set_condition_expression(condition.map(str::to_owned));
        if let Some((name, value)) = value {
            put = put.expression_attribute_values(name, value);
        }
        let put = put
            .build()
            .map_err(|e| StoreError::corrupt("transaction item", e))?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    /// A Put of an item that must not exist yet: a replay fails its
    /// condition instead of writing twice.
    pub(crate) fn put_new(&self, item: Item) -> Result<TransactWriteItem, StoreError> {
        self.transaction_put(item, Some("attribute_not_exists(pk)"), None)
    }

    /// A Put replacing the item at version `expected` (the item carries its
    /// next version).
    pub(crate) fn put_versioned(
        &self,
        item: Item,
        expected: u64,
    ) -> Result<TransactWriteItem, StoreError> {
        self.transaction_put(
            item,
            Some("version = :expected"),
            Some((":expected", n(expected))),
        )
    }
}

/// One Update of a transaction.
pub(crate) fn transaction_update(update: UpdateBuilder) -> Result<TransactWriteItem, StoreError> {
    let update = update
        .build()
        .map_err(|e| StoreError::corrupt("transaction item", e))?;
    Ok(TransactWriteItem::builder().update(update).build())
}

/// How long a write may keep losing races before it gives up with
/// [`StoreError::Contended`]. Between attempts it waits [`backoff`].
#[derive(Debug, Clone, Copy)]
pub(crate) enum Retry {
    /// At most this many attempts.
    Attempts(u32),
    /// Attempts until this instant: the caller keeps it inside its own time
    /// limit (an answer beats a timeout).
    Until(Instant),
}

impl Retry {
    /// Starts counting attempts under this policy.
    pub(crate) fn start(self) -> Retrying {
        Retrying {
            policy: self,
            attempts: 0,
        }
    }
}

/// The attempts of one write under a [`Retry`] policy:
///
/// ```ignore
/// let mut retry = Retry::Attempts(5).start();
/// while retry.next().await {
///     // read, build, transact; `continue` after a race, `return` otherwise
/// }
/// Err(retry.gave_up("what was contended"))
/// ```
#[derive(Debug)]
pub(crate) struct Retrying {
    policy: Retry,
    attempts: u32,
}

impl Retrying {
    /// Whether to make another attempt; after the first it waits
    /// [`backoff`] first. False once the policy allows no more.
    pub(crate) async fn next(&mut self) -> bool {
        if self.attempts > 0 {
            if let Retry::Attempts(max) = self.policy
                && self.attempts >= max
            {
                return false;
            }
            tracing::debug!(attempt = self.attempts, "transaction raced; retrying");
            tokio::time::sleep(backoff(self.attempts)).await;
        }
        if let Retry::Until(deadline) = self.policy
            && Instant::now() >= deadline
        {
            return false;
        }
        self.attempts += 1;
        true
    }

    /// The error once no attempt is left: `what` kept changing concurrently.
    pub(crate) fn gave_up(&self, what: impl Into<String>) -> StoreError {
        StoreError::Contended {
            what: what.into(),
            attempts: self.attempts,
        }
    }
}

/// The one backoff policy: 5 ms doubling per attempt up to 200 ms, with
/// jitter so racing writers spread out.
pub(crate) fn backoff(attempt: u32) -> Duration {
    let ceiling = 5u64.saturating_mul(1 << attempt.min(6)).min(200);
    let jitter = u64::from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or_default(),
    ) % ceiling.max(1);
    Duration::from_millis(ceiling / 2 + jitter / 2)
}
