//! Lambda glue shared by every function.
//!
//! Functions stay thin because the start-up chores live here once:
//! configuration read from the environment at cold start ([`config`]), one AWS
//! SDK configuration and its clients ([`aws`]), JSON logs in the format Lambda
//! asks for ([`telemetry`]), state loaded once per execution environment
//! whose failed load is answered and retried ([`preload`]), and one
//! vocabulary for how a failure ends ([`failure`]): an HTTP status, a
//! retryable or final Lambda error, or an SQS batch item failure ([`sqs`]);
//! business metrics as embedded-metric-format log lines ([`metrics`]).
#![warn(missing_docs)]

pub mod aws;
pub mod config;
pub mod failure;
pub mod http;
pub mod metrics;
pub mod preload;
pub mod privacy;
pub mod schedule;
pub mod sqs;
pub mod telemetry;

pub use config::ConfigError;
pub use failure::{Disposition, Failure, FieldError};
