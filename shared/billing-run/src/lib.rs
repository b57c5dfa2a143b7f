//! The invoice run: plan a run date into batches of customers
//! ([`plan::RunPlanner`]), bill each batch exactly once
//! ([`bill::RunWorker`]), preview a run without changing anything, and add
//! up the outcome when the last batch is done ([`bill::RunTally`]).
//!
//! The rules (what is due, what an invoice holds) are the billing engine's
//! (`billing_domain::run`); exactly-once is the store's
//! (`billing_store::run`); this crate composes them with the queue and the
//! bucket so the planner, the worker and the operator CLI share one
//! implementation.
#![warn(missing_docs)]

pub mod bill;
pub mod error;
pub mod message;
pub mod plan;
pub mod preview;
pub mod queue;

pub use bill::{BatchReport, RunTally, RunWorker};
pub use error::RunError;
pub use message::RunBatch;
pub use plan::{RunPlanner, RunRequest};
