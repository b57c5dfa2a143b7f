//! `payment-import`: a bank statement (camt.053) dropped into the statements
//! bucket is read, reconciled, and each credit is matched to invoices and
//! booked; returns reopen what they paid; the rest goes to a review list.
#![warn(missing_docs)]

pub mod camt;
pub mod error;
pub mod handler;
pub mod service;
