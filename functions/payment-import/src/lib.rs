//! `payment-import`: a bank statement (camt.053) dropped into the statements
//! bucket is read, reconciled, and each credit is matched to invoices and
//! booked; returns reopen what they paid; the rest goes to a review list.
//! A pain.002 status report dropped there applies the bank's rejections of
//! collections before settlement.
#![warn(missing_docs)]

pub mod camt;
pub mod error;
pub mod handler;
pub mod service;
pub mod status_report;
