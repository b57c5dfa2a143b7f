//! `invoice-delivery`: the delivery queue's consumer. It e-mails a finalized
//! invoice's archived documents through SES and records the outcome, so
//! every invoice ends with a visible delivery state (`sent`, `failed` with a
//! reason; SES events later add `delivered`, `bounced`, `complained`).
//!
//! - [`handler`]: queue messages in, per-message failures out;
//! - [`service`]: one delivery, guarded by a claim on the invoice;
//! - [`mailer`] and [`attachments`]: SES and the documents archive.
#![warn(missing_docs)]

pub mod attachments;
pub mod error;
pub mod handler;
pub mod mailer;
pub mod service;
