//! S3 "object created" events in, one [`ImportService::import_object`] call
//! per object, a summary out.
//!
//! S3 invokes the function asynchronously: an error is retried by Lambda and
//! then lands in `FailedInvocationsQueue`. A refused file is not an error
//! in that sense (retrying cannot fix the bank's file): it is logged with
//! the reason, noted on the needs-attention list, and acknowledged.

use aws_lambda_events::event::s3::S3Event;
use billing_lambda::metrics::{self, MetricLine};
use billing_lambda::{Disposition, Failure};
use chrono::Utc;
use lambda_runtime::LambdaEvent;
use serde::Serialize;

use crate::error::ImportError;
use crate::service::{EntryOutcome, ImportService};

/// The function's name in its business metrics.
pub const FUNCTION: &str = "payment-import";

/// What the invocation did, per object (returned for logs and tests).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ObjectResult {
    /// The object key.
    pub key: String,
    /// `imported`, `already_imported` or `refused`.
    pub outcome: &'static str,
    /// Entries booked now.
    pub booked: usize,
    /// Entries put on the review list now.
    pub for_review: usize,
    /// Collections a pain.002 status report rejected, applied now.
    pub rejected: usize,
    /// Mandates blocked now because a return or rejection said the
    /// mandate or account is gone.
    pub mandates_blocked: usize,
    /// Why a file was refused.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// Handles one S3 event (usually one object).
pub async fn handle(
    service: &ImportService,
    event: LambdaEvent<S3Event>,
) -> Result<Vec<ObjectResult>, ImportError> {
    let mut results = Vec::new();
    for record in event.payload.records {
        let bucket = record.s3.bucket.name.ok_or_else(|| ImportError::BadEvent {
            reason: "record has no bucket name".to_owned(),
        })?;
        let key = record
            .s3
            .object
            .url_decoded_key
            .or(record.s3.object.key.map(|key| decode_key(&key)))
            .ok_or_else(|| ImportError::BadEvent {
                reason: "record has no object key".to_owned(),
            })?;
        results.push(import_one(service, &bucket, &key).await?);
    }
    Ok(results)
}

async fn import_one(
    service: &ImportService,
    bucket: &str,
    key: &str,
) -> Result<ObjectResult, ImportError> {
    match service.import_object(bucket, key, Utc::now()).await {
        Ok(report) => {
            let count = |f: fn(&EntryOutcome) -> bool| {
                report.entries.iter().filter(|e| f(&e.outcome)).count()
            };
            let booked = count(|o| matches!(o, EntryOutcome::Booked { .. }));
            let for_review = count(|o| matches!(o, EntryOutcome::Review(_)));
            let rejected = count(|o| matches!(o, EntryOutcome::Rejected { .. }));
            let mandates_blocked = count(|o| {
                matches!(
                    o,
                    EntryOutcome::Booked {
                        mandate_blocked: true,
                        ..
                    } | EntryOutcome::Rejected {
                        mandate_blocked: true,
                        ..
                    }
                )
            });
            let returned = report
                .entries
                .iter()
                .filter(|e| {
                    matches!(e.outcome, EntryOutcome::Booked { .. }) && e.amount.is_negative()
                })
                .count();
            MetricLine::new(FUNCTION)
                .count(metrics::STATEMENTS_IMPORTED, 1)
                .count(metrics::PAYMENTS_MATCHED, booked - returned)
                .count(metrics::PAYMENTS_FOR_REVIEW, for_review)
                .count(metrics::PAYMENTS_RETURNED, returned + rejected)
                .emit();
            let outcome = if report.imported == 0 && report.already_imported > 0 {
                "already_imported"
            } else {
                "imported"
            };
            tracing::info!(
                key,
                outcome,
                booked,
                for_review,
                rejected,
                mandates_blocked,
                "bank statement imported"
            );
            Ok(ObjectResult {
                key: key.to_owned(),
                outcome,
                booked,
                for_review,
                rejected,
                mandates_blocked,
                reason: None,
            })
        }
        Err(error) if matches!(error.disposition(), Disposition::Rejected(_)) => {
            tracing::warn!(key, code = error.code(), error = %error, "bank statement refused");
            MetricLine::new(FUNCTION)
                .count(metrics::STATEMENTS_REFUSED, 1)
                .emit();
            Ok(ObjectResult {
                key: key.to_owned(),
                outcome: "refused",
                booked: 0,
                for_review: 0,
                rejected: 0,
                mandates_blocked: 0,
                reason: Some(error.to_string()),
            })
        }
        Err(error) => {
            tracing::error!(key, code = error.code(), error = %error, "bank statement import failed");
            Err(error)
        }
    }
}

/// S3 event keys are URL-encoded (`+` for spaces, `%xx`).
fn decode_key(key: &str) -> String {
    let bytes = key.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => match key.get(i + 1..i + 3).map(|hex| u8::from_str_radix(hex, 16)) {
                Some(Ok(byte)) => {
                    out.push(byte);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            other => out.push(other),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_keys_are_url_decoded() {
        assert_eq!(
            decode_key("statements/2026+02/camt%2053.xml"),
            "statements/2026 02/camt 53.xml"
        );
        assert_eq!(decode_key("statements/a%zz.xml"), "statements/a%zz.xml");
        assert_eq!(decode_key("statements/a%2"), "statements/a%2");
    }
}
