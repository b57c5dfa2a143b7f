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
use crate::codec::{Named, PK, VERSION};
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
        let put = put.named();
        let put = put
            .build()
            .map_err(|e| StoreError::corrupt("transaction item", e))?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    /// A Put of an item that must not exist yet: a replay fails its
    /// condition instead of writing twice.
    pub(crate) fn put_new(&self, item: Item) -> Result<TransactWriteItem, StoreError> {
        self.transaction_put(item, Some(&format!("attribute_not_exists({PK})")), None)
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
            Some(&format!("{VERSION} = :expected")),
            Some((":expected", n(expected))),
        )
    }
}

/// One Update of a transaction, its attribute placeholders named.
pub(crate) fn transaction_update(update: UpdateBuilder) -> Result<TransactWriteItem, StoreError> {
    let update = update
        .named()
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

/// How each cancellation shape is read, and that [`Retry`] retries races
/// only and stops at its limit: failures the local emulator cannot produce
/// on demand, so DynamoDB's answers are played with `aws-smithy-mocks`.
#[cfg(test)]
mod tests {
    use aws_sdk_dynamodb::Client;
    use aws_sdk_dynamodb::config::retry::RetryConfig;
    use aws_sdk_dynamodb::error::ErrorMetadata;
    use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsOutput;
    use aws_sdk_dynamodb::types::error::{
        ProvisionedThroughputExceededException, ResourceNotFoundException,
        TransactionCanceledException,
    };
    use aws_smithy_mocks::{Rule, RuleMode, mock, mock_client};

    use super::*;
    use crate::attributes::key_item;

    /// A cancellation with one reason per item; `None` leaves the code out.
    fn cancelled(codes: &[Option<&str>]) -> TransactWriteItemsError {
        let reasons = codes
            .iter()
            .map(|code| {
                CancellationReason::builder()
                    .set_code(code.map(str::to_owned))
                    .build()
            })
            .collect();
        TransactWriteItemsError::TransactionCanceledException(
            TransactionCanceledException::builder()
                .message(
                    "Transaction cancelled, please refer cancellation reasons for specific reasons",
                )
                .set_cancellation_reasons(Some(reasons))
                .meta(meta("TransactionCanceledException"))
                .build(),
        )
    }

    fn mocked(rule: &Rule) -> BillingStore {
        let client = mock_client!(aws_sdk_dynamodb, RuleMode::MatchAny, [rule], |config| {
            config.retry_config(RetryConfig::disabled())
        });
        BillingStore::new(client, "billing")
    }

    fn items(store: &BillingStore, count: usize) -> Vec<TransactWriteItem> {
        (0..count)
            .map(|i| {
                store
                    .put_new(key_item((format!("TEST#{i}"), "TEST".to_owned())))
                    .unwrap()
            })
            .collect()
    }

    /// Sends a transaction DynamoDB cancels with `codes` and reads it.
    async fn cancellation(codes: &'static [Option<&'static str>]) -> Cancelled {
        let rule = mock!(Client::transact_write_items).then_error(|| cancelled(codes));
        let store = mocked(&rule);
        match store.transact(items(&store, codes.len())).await.unwrap() {
            Outcome::Cancelled(cancelled) => cancelled,
            Outcome::Written => panic!("a cancelled transaction read as written"),
        }
    }

    fn is_retryable_aws(error: &StoreError) -> Option<bool> {
        match error {
            StoreError::Aws {
                operation: "TransactWriteItems",
                retryable,
                ..
            } => Some(*retryable),
            _ => None,
        }
    }

    #[tokio::test]
    async fn a_written_transaction_is_written() {
        let rule = mock!(Client::transact_write_items)
            .then_output(|| TransactWriteItemsOutput::builder().build());
        let store = mocked(&rule);
        let outcome = store.transact(items(&store, 2)).await.unwrap();
        assert!(matches!(outcome, Outcome::Written), "{outcome:?}");
        assert_eq!(rule.num_calls(), 1);
    }

    #[tokio::test]
    async fn a_failed_condition_is_reported_on_its_item_and_is_final() {
        let cancelled = cancellation(&[Some("None"), Some("ConditionalCheckFailed"), None]).await;
        assert_eq!(
            cancelled.items(),
            [
                ItemOutcome::Fine,
                ItemOutcome::ConditionFailed,
                ItemOutcome::Fine
            ]
        );
        assert!(cancelled.condition_failed(1));
        assert!(!cancelled.condition_failed(0));
        assert!(!cancelled.condition_failed(3));
        assert!(cancelled.any_condition_failed());
        // Not a race, unless the caller expects item 1 to move (a counter).
        assert!(!cancelled.only_races(|_| false));
        assert!(cancelled.only_races(|index| index == 1));
        let error = cancelled.into_error();
        assert_eq!(is_retryable_aws(&error), Some(false), "{error}");
        assert!(!error.is_retryable());
    }

    #[tokio::test]
    async fn a_transaction_conflict_is_a_race() {
        let cancelled = cancellation(&[Some("TransactionConflict"), Some("None")]).await;
        assert_eq!(
            cancelled.items(),
            [ItemOutcome::Conflict, ItemOutcome::Fine]
        );
        assert!(!cancelled.any_condition_failed());
        assert!(cancelled.only_races(|_| false));
        assert_eq!(is_retryable_aws(&cancelled.into_error()), Some(true));
    }

    #[tokio::test]
    async fn every_throttling_reason_is_a_race() {
        let cancelled = cancellation(&[
            Some("ThrottlingError"),
            Some("ProvisionedThroughputExceeded"),
            Some("RequestLimitExceeded"),
        ])
        .await;
        assert_eq!(
            cancelled.items(),
            [
                ItemOutcome::Throttled,
                ItemOutcome::Throttled,
                ItemOutcome::Throttled
            ]
        );
        assert!(cancelled.only_races(|_| false));
        assert_eq!(is_retryable_aws(&cancelled.into_error()), Some(true));
    }

    #[tokio::test]
    async fn a_failed_condition_beside_a_race_is_both() {
        let cancelled =
            cancellation(&[Some("ConditionalCheckFailed"), Some("TransactionConflict")]).await;
        assert_eq!(
            cancelled.items(),
            [ItemOutcome::ConditionFailed, ItemOutcome::Conflict]
        );
        assert!(cancelled.condition_failed(0));
        assert!(!cancelled.only_races(|_| false));
        assert!(cancelled.only_races(|index| index == 0));
        // Unexpected by its caller, it is still worth retrying later: an
        // item lost a race.
        assert_eq!(is_retryable_aws(&cancelled.into_error()), Some(true));
    }

    #[tokio::test]
    async fn items_without_a_code_are_fine_and_other_codes_are_final() {
        let cancelled = cancellation(&[None, Some("None"), Some("ValidationError")]).await;
        assert_eq!(
            cancelled.items(),
            [
                ItemOutcome::Fine,
                ItemOutcome::Fine,
                ItemOutcome::Other("ValidationError".to_owned())
            ]
        );
        assert!(!cancelled.any_condition_failed());
        assert!(!cancelled.only_races(|_| true));
        assert_eq!(is_retryable_aws(&cancelled.into_error()), Some(false));
    }

    /// Sends a transaction that fails with `error` (no cancellation).
    async fn failed_with(error: fn() -> TransactWriteItemsError) -> StoreError {
        let rule = mock!(Client::transact_write_items).then_error(error);
        let store = mocked(&rule);
        store.transact(items(&store, 1)).await.unwrap_err()
    }

    fn meta(code: &str) -> ErrorMetadata {
        ErrorMetadata::builder().code(code).build()
    }

    #[tokio::test]
    async fn a_failure_that_is_no_cancellation_is_a_store_error() {
        let missing = || {
            let error = ResourceNotFoundException::builder();
            TransactWriteItemsError::ResourceNotFoundException(
                error.meta(meta("ResourceNotFoundException")).build(),
            )
        };
        let throttled = || {
            let error = ProvisionedThroughputExceededException::builder();
            TransactWriteItemsError::ProvisionedThroughputExceededException(
                error
                    .meta(meta("ProvisionedThroughputExceededException"))
                    .build(),
            )
        };
        let cases: [(fn() -> TransactWriteItemsError, bool); 2] =
            [(missing, false), (throttled, true)];
        for (error, retryable) in cases {
            let error = failed_with(error).await;
            assert_eq!(is_retryable_aws(&error), Some(retryable), "{error}");
        }
    }

    /// `update_if`: a failed condition is `None` (the flow decides what it
    /// means), any other failure a store error that says whether a retry
    /// can help, and nothing is read as written that was not.
    #[tokio::test]
    async fn a_single_update_tells_a_lost_condition_from_a_failure() {
        use aws_sdk_dynamodb::operation::update_item::{UpdateItemError, UpdateItemOutput};
        use aws_sdk_dynamodb::types::error::ConditionalCheckFailedException;

        let update = |store: &BillingStore| {
            store
                .update_item()
                .set_key(Some(key_item(("INVOICE#i".into(), "INVOICE".into()))))
                .update_expression(format!("SET {VERSION} = :v"))
                .condition_expression(format!("attribute_exists({PK})"))
                .expression_attribute_values(":v", n(2))
        };
        let written =
            mock!(Client::update_item).then_output(|| UpdateItemOutput::builder().build());
        let store = mocked(&written);
        assert!(store.update_if(update(&store)).await.unwrap().is_some());

        let lost = mock!(Client::update_item).then_error(|| {
            UpdateItemError::ConditionalCheckFailedException(
                ConditionalCheckFailedException::builder()
                    .meta(meta("ConditionalCheckFailedException"))
                    .build(),
            )
        });
        let store = mocked(&lost);
        assert!(store.update_if(update(&store)).await.unwrap().is_none());

        let missing = || {
            UpdateItemError::ResourceNotFoundException(
                ResourceNotFoundException::builder()
                    .meta(meta("ResourceNotFoundException"))
                    .build(),
            )
        };
        let throttled = || {
            UpdateItemError::ProvisionedThroughputExceededException(
                ProvisionedThroughputExceededException::builder()
                    .meta(meta("ProvisionedThroughputExceededException"))
                    .build(),
            )
        };
        let cases: [(fn() -> UpdateItemError, bool); 2] = [(missing, false), (throttled, true)];
        for (error, transient) in cases {
            let rule = mock!(Client::update_item).then_error(error);
            let store = mocked(&rule);
            match store.update_if(update(&store)).await {
                Err(StoreError::Aws {
                    operation: "UpdateItem",
                    retryable,
                    ..
                }) => assert_eq!(retryable, transient),
                other => panic!("not a store error: {other:?}"),
            }
        }
    }

    /// A write as the flow modules write them: retried while only races
    /// failed, a failed condition on item 0 ends it.
    async fn write(store: &BillingStore, policy: Retry) -> Result<bool, StoreError> {
        let mut retry = policy.start();
        while retry.next().await {
            match store.transact(items(store, 2)).await? {
                Outcome::Written => return Ok(true),
                Outcome::Cancelled(cancelled) if cancelled.condition_failed(0) => {
                    return Ok(false);
                }
                Outcome::Cancelled(cancelled) if cancelled.only_races(|_| false) => {}
                Outcome::Cancelled(cancelled) => return Err(cancelled.into_error()),
            }
        }
        Err(retry.gave_up("test items"))
    }

    #[tokio::test(start_paused = true)]
    async fn races_are_retried_until_the_limit_then_contended() {
        let rule = mock!(Client::transact_write_items)
            .then_error(|| cancelled(&[Some("TransactionConflict"), Some("None")]));
        let error = write(&mocked(&rule), Retry::Attempts(3)).await.unwrap_err();
        assert!(
            matches!(&error, StoreError::Contended { attempts: 3, .. }),
            "{error}"
        );
        assert!(error.is_retryable());
        assert_eq!(rule.num_calls(), 3);
    }

    #[tokio::test(start_paused = true)]
    async fn a_race_then_a_write_is_written() {
        let rule = mock!(Client::transact_write_items)
            .sequence()
            .error(|| cancelled(&[Some("None"), Some("ThrottlingError")]))
            .times(2)
            .output(|| TransactWriteItemsOutput::builder().build())
            .build();
        assert!(write(&mocked(&rule), Retry::Attempts(3)).await.unwrap());
        assert_eq!(rule.num_calls(), 3);
    }

    #[tokio::test(start_paused = true)]
    async fn what_is_no_race_is_not_retried() {
        let refused = mock!(Client::transact_write_items)
            .then_error(|| cancelled(&[Some("ConditionalCheckFailed"), Some("None")]));
        assert!(!write(&mocked(&refused), Retry::Attempts(5)).await.unwrap());
        assert_eq!(refused.num_calls(), 1);

        let invalid = mock!(Client::transact_write_items)
            .then_error(|| cancelled(&[Some("None"), Some("ValidationError")]));
        let error = write(&mocked(&invalid), Retry::Attempts(5))
            .await
            .unwrap_err();
        assert!(!error.is_retryable(), "{error}");
        assert_eq!(invalid.num_calls(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn a_deadline_stops_the_attempts_and_a_passed_one_makes_none() {
        let rule = mock!(Client::transact_write_items)
            .then_error(|| cancelled(&[Some("TransactionConflict")]));
        let store = mocked(&rule);
        let deadline = Instant::now() + Duration::from_millis(300);
        let error = write(&store, Retry::Until(deadline)).await.unwrap_err();
        let StoreError::Contended { attempts, .. } = error else {
            panic!("{error}");
        };
        assert!(attempts > 1, "{attempts}");
        assert_eq!(rule.num_calls(), attempts as usize);
        assert!(Instant::now() >= deadline);

        let error = write(&store, Retry::Until(Instant::now()))
            .await
            .unwrap_err();
        assert!(
            matches!(error, StoreError::Contended { attempts: 0, .. }),
            "{error}"
        );
        assert_eq!(rule.num_calls(), attempts as usize);
    }

    #[test]
    fn the_backoff_grows_to_its_ceiling() {
        for attempt in 1..20 {
            let ceiling = 5u64.saturating_mul(1 << attempt.min(6)).min(200);
            let wait = backoff(attempt).as_millis() as u64;
            assert!(wait >= ceiling / 2 && wait < ceiling, "{attempt}: {wait}");
        }
    }
}
