//! Invoice runs (`RUN#<id>` / `RUN`), their customers, failures and batches.

use super::Attr;

/// The run.
pub(crate) const RUN_ID: Attr = Attr::new("run_id");
/// The billing date.
pub(crate) const RUN_DATE: Attr = Attr::new("run_date");
/// Preview or finalize.
pub(crate) const RUN_MODE: Attr = Attr::new("run_mode");
/// Where the run stands.
pub(crate) const STATUS: Attr = Attr::new("status");
/// Whether planning is under way.
pub(crate) const PLANNING: Attr = Attr::new("planning");
/// Batches planned.
pub(crate) const PLANNED_BATCHES: Attr = Attr::new("planned_batches");
/// Batches finished.
pub(crate) const DONE_BATCHES: Attr = Attr::new("done_batches");
/// Customers planned.
pub(crate) const PLANNED_CUSTOMERS: Attr = Attr::new("planned_customers");
/// When it started.
pub(crate) const STARTED_AT: Attr = Attr::new("started_at");
/// Who started it.
pub(crate) const STARTED_BY: Attr = Attr::new("started_by");
/// When it completed.
pub(crate) const COMPLETED_AT: Attr = Attr::new("completed_at");
/// The preview it finalizes.
pub(crate) const FROM_PREVIEW: Attr = Attr::new("from_preview");
/// The customers of a batch.
pub(crate) const ACCOUNT_IDS: Attr = Attr::new("account_ids");
/// What the batch did.
pub(crate) const OUTCOME: Attr = Attr::new("outcome");
