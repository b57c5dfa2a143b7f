//! `billing-api`: the staff API behind API Gateway's Cognito JWT
//! authorizer. API Gateway has already verified the token; this function
//! decides what the caller's group may see and do.
//!
//! - [`router`]: every route with the role it needs (`sales` reads,
//!   `billing` reads and writes);
//! - [`routes`]: one store or domain call per route;
//! - [`reply`]: the only way out — bank data masked for `sales`, one error
//!   shape `{code, message, errors}`, `ETag` on invoices and accounts.
//!
//! The routes are documented in `docs/openapi.yaml` (a test keeps the two
//! in step).
#![warn(missing_docs)]

pub mod error;
pub mod handler;
pub mod reply;
pub mod router;
pub mod routes;
pub mod staff;
