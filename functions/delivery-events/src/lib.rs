//! `delivery-events`: SES events about invoice e-mails (through SNS into the
//! delivery-events queue) become the invoice's delivery status, the account's
//! suppressed addresses and the entity's needs-attention list.
#![warn(missing_docs)]

pub mod error;
pub mod event;
pub mod handler;
pub mod service;
