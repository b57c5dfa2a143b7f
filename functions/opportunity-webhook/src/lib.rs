//! The `opportunity-webhook` function: a signed CRM "opportunity closed"
//! webhook becomes a finalized invoice, parked charges and contract changes.
//!
//! `handler` answers HTTP; `contract` turns bytes into a validated
//! opportunity; `service` is the one use case; `signature` authenticates;
//! `startup` reads the configuration and loads what the answers need.
#![warn(missing_docs)]

pub mod contract;
pub mod error;
pub mod handler;
pub mod service;
pub mod signature;
pub mod startup;
