//! `dunning-sweep`: once a day (or on demand for a date), every invoice
//! whose next dunning date has come is decided by the billing engine's
//! dunning policy; each customer gets one letter listing its overdue
//! invoices, recorded together with each invoice's level advance.
#![warn(missing_docs)]

pub mod error;
pub mod handler;
pub mod service;
