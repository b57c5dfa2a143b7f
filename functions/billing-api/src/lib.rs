//! `billing-api`: the staff API behind API Gateway's Cognito JWT
//! authorizer. API Gateway has already verified the token; this function
//! decides what the caller's group may see.
//!
//! Routes (all JSON):
//!
//! - `GET /v1/delivery/needs-attention`: the seller's invoices whose
//!   e-mail failed, bounced or drew a complaint, oldest first. Readable by
//!   the `billing` and `sales` groups.
#![warn(missing_docs)]

pub mod error;
pub mod handler;
pub mod staff;
