//! Pure billing rules: what a customer owes, for which period, at which tax,
//! and what happens when they don't pay.
//!
//! This crate is deliberately free of I/O (no AWS, no tokio, no network):
//! every rule here can be tested to the cent and to the day without a cloud,
//! and every Lambda function shares exactly the same rules.
#![warn(missing_docs)]

pub mod accounting;
pub mod correction;
pub mod direct_debit;
pub mod dunning;
pub mod dunning_letter;
pub mod error;
pub mod ids;
pub mod invoice;
pub mod invoicing;
pub mod item;
pub mod journal;
pub mod matching;
pub mod mid_period;
pub mod money;
pub mod numbering;
pub mod oss;
pub mod party;
pub mod payment;
pub mod period;
pub mod privacy;
pub mod receivables;
pub mod reference;
pub mod retention;
pub mod revenue;
pub mod run;
pub mod schedule;
pub mod seller;
pub mod staff;
pub mod subscription;
pub mod tax;
pub mod taxation;

pub use error::DomainError;
