//! `direct-debit-collection`: once a day (or on demand for a date), the
//! direct-debit invoices due are claimed into one batch per scheme and
//! collection date, written as a `pain.008.001.08` file to S3 and marked
//! collected, exactly once per invoice even when two runs race or one
//! crashes halfway (see `billing_store`'s `collection` module).
#![warn(missing_docs)]

pub mod error;
pub mod handler;
pub mod service;
