//! `invoice-run-worker`: one queued batch of customers is billed, its
//! invoices numbered, and the run completed after its last batch.
#![warn(missing_docs)]

pub mod handler;
