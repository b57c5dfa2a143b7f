//! What a preview shows, per customer and invoice, and where it is kept:
//! `runs/<run id>/` in the documents bucket, as one JSON file per batch
//! while the run works and, at the end, `preview.json` and `preview.csv`
//! for people to open.

use std::fmt::Write as _;

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::ChecksumAlgorithm;
use billing_domain::ids::AccountId;
use billing_domain::invoice::InvoiceDraft;
use billing_domain::numbering::DocumentType;
use billing_store::run::{BillInputs, RunFailure};
use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::RunError;

/// One line as the preview shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PreviewLine {
    /// As printed.
    pub description: String,
    /// Quantity (prorated where the period is partial).
    pub quantity: Decimal,
    /// Price per unit.
    pub unit_price: Decimal,
    /// Line net.
    pub net: Decimal,
    /// First day of service, if the line has a period.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub period_start: Option<NaiveDate>,
    /// Last day of service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub period_end: Option<NaiveDate>,
}

/// One invoice as the preview shows it; a finalize run from the preview
/// bills exactly this.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PreviewInvoice {
    /// Invoice or credit note.
    pub document_type: DocumentType,
    /// ISO 4217 code.
    pub currency: String,
    /// The lines.
    pub lines: Vec<PreviewLine>,
    /// Net total.
    pub net: Decimal,
    /// Tax total.
    pub tax: Decimal,
    /// Gross total (amount due).
    pub total: Decimal,
}

impl PreviewInvoice {
    /// What the preview shows of a draft.
    pub fn of(draft: &InvoiceDraft) -> Self {
        Self {
            document_type: draft.document_type,
            currency: draft.currency.code().to_owned(),
            lines: draft
                .lines
                .iter()
                .map(|line| PreviewLine {
                    description: line.item.description.clone(),
                    quantity: line.item.quantity,
                    unit_price: line.item.unit_price.amount(),
                    net: line.net_amount.amount(),
                    period_start: line.service_period.map(|p| p.start),
                    period_end: line.service_period.map(|p| p.end),
                })
                .collect(),
            net: draft.totals.net_total.amount(),
            tax: draft.totals.tax_total.amount(),
            total: draft.totals.gross_total.amount(),
        }
    }
}

/// The customer's last invoice before the run, for comparison.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PreviousInvoice {
    /// Its number.
    pub number: String,
    /// Its date.
    pub issue_date: NaiveDate,
    /// Its gross total.
    pub total: Decimal,
    /// Its currency.
    pub currency: String,
}

/// One customer in a preview.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PreviewCustomer {
    /// The customer.
    pub account_id: AccountId,
    /// As printed on the invoice.
    pub customer_name: String,
    /// What the bill was computed from.
    pub inputs: BillInputs,
    /// The invoices the run would create.
    pub invoices: Vec<PreviewInvoice>,
    /// The customer's latest invoice before the run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_invoice: Option<PreviousInvoice>,
}

/// One batch's part of a preview.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PreviewBatch {
    /// Customers with something due.
    pub customers: Vec<PreviewCustomer>,
    /// Customers that could not be billed.
    pub failures: Vec<RunFailure>,
}

/// A whole preview, assembled when its last batch is done.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Preview {
    /// The preview's run id.
    pub run_id: String,
    /// The day previewed.
    pub run_date: NaiveDate,
    /// Customers with something due, by account id.
    pub customers: Vec<PreviewCustomer>,
    /// Customers that could not be billed.
    pub failures: Vec<RunFailure>,
}

impl Preview {
    /// The preview as CSV, one row per invoice line, for a spreadsheet.
    pub fn to_csv(&self) -> String {
        let mut out = String::from(
            "account_id,customer,invoice,document_type,currency,description,period_start,period_end,quantity,unit_price,net,invoice_net,invoice_tax,invoice_total,previous_invoice_total\n",
        );
        for customer in &self.customers {
            let previous = customer
                .previous_invoice
                .as_ref()
                .map(|p| format!("{} {}", p.total, p.currency))
                .unwrap_or_default();
            for (index, invoice) in customer.invoices.iter().enumerate() {
                for line in &invoice.lines {
                    let fields = [
                        customer.account_id.to_string(),
                        customer.customer_name.clone(),
                        (index + 1).to_string(),
                        format!("{}", invoice.document_type.code()),
                        invoice.currency.clone(),
                        line.description.clone(),
                        line.period_start.map(|d| d.to_string()).unwrap_or_default(),
                        line.period_end.map(|d| d.to_string()).unwrap_or_default(),
                        line.quantity.to_string(),
                        line.unit_price.to_string(),
                        line.net.to_string(),
                        invoice.net.to_string(),
                        invoice.tax.to_string(),
                        invoice.total.to_string(),
                        previous.clone(),
                    ];
                    let row: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
                    let _ = writeln!(out, "{}", row.join(","));
                }
            }
        }
        out
    }
}

/// A CSV field, quoted when it holds a separator, quote or line break
/// (RFC 4180); a leading `=`, `+`, `-` or `@` is prefixed with `'` so a
/// spreadsheet never runs a description as a formula.
fn csv_field(value: &str) -> String {
    let guarded = match value.chars().next() {
        Some('=' | '+' | '@') => format!("'{value}"),
        Some('-') if value.parse::<Decimal>().is_err() => format!("'{value}"),
        _ => value.to_owned(),
    };
    if guarded.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", guarded.replace('"', "\"\""))
    } else {
        guarded
    }
}

/// Key of one batch's preview part.
pub fn batch_key(run_id: &str, batch_id: &str) -> String {
    format!("{}batches/{batch_id}.json", run_prefix(run_id))
}

/// Folder of a run's files.
pub fn run_prefix(run_id: &str) -> String {
    format!("runs/{run_id}/")
}

/// Key of a whole preview as JSON.
pub fn preview_json_key(run_id: &str) -> String {
    format!("{}preview.json", run_prefix(run_id))
}

/// Key of a whole preview as CSV.
pub fn preview_csv_key(run_id: &str) -> String {
    format!("{}preview.csv", run_prefix(run_id))
}

/// The run files in the documents bucket.
#[derive(Debug, Clone)]
pub struct RunFiles {
    s3: aws_sdk_s3::Client,
    bucket: String,
}

impl RunFiles {
    /// Files in `bucket` (the template's `DOCUMENTS_BUCKET`).
    pub fn new(s3: aws_sdk_s3::Client, bucket: impl Into<String>) -> Self {
        Self {
            s3,
            bucket: bucket.into(),
        }
    }

    /// Stores `bytes` under `key` (replacing an earlier version: a batch
    /// redelivered computes the same part again), encrypted as the bucket
    /// says (SSE-S3, or SSE-KMS with the stack's customer key).
    pub async fn put(&self, key: &str, bytes: Vec<u8>, content_type: &str) -> Result<(), RunError> {
        self.s3
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .body(ByteStream::from(bytes))
            .content_type(content_type)
            .checksum_algorithm(ChecksumAlgorithm::Sha256)
            .send()
            .await
            .map_err(|e| RunError::aws("PutObject", key, &e))?;
        Ok(())
    }

    /// Stores a value as JSON.
    pub async fn put_json<T: Serialize>(&self, key: &str, value: &T) -> Result<(), RunError> {
        let bytes = serde_json::to_vec_pretty(value)
            .map_err(|e| RunError::bad_request(key, e.to_string()))?;
        self.put(key, bytes, "application/json").await
    }

    /// Reads a JSON value; `None` when the key does not exist.
    pub async fn get_json<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, RunError> {
        let output = match self
            .s3
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
        {
            Ok(output) => output,
            Err(err) if err.as_service_error().is_some_and(|e| e.is_no_such_key()) => {
                return Ok(None);
            }
            Err(err) => return Err(RunError::aws("GetObject", key, &err)),
        };
        let bytes = output.body.collect().await.map_err(|e| RunError::Aws {
            operation: "GetObject",
            target: key.to_owned(),
            disposition: billing_lambda::Disposition::Retryable,
            message: e.to_string(),
        })?;
        serde_json::from_slice(&bytes.into_bytes())
            .map(Some)
            .map_err(|e| RunError::Preview {
                run_id: key.to_owned(),
                reason: format!("unreadable: {:?} error at line {}", e.classify(), e.line()),
            })
    }

    /// Every key under `prefix`, across pages, in key order.
    pub async fn list(&self, prefix: &str) -> Result<Vec<String>, RunError> {
        let mut keys = Vec::new();
        let mut token = None;
        loop {
            let output = self
                .s3
                .list_objects_v2()
                .bucket(&self.bucket)
                .prefix(prefix)
                .set_continuation_token(token)
                .send()
                .await
                .map_err(|e| RunError::aws("ListObjectsV2", prefix, &e))?;
            keys.extend(
                output
                    .contents()
                    .iter()
                    .filter_map(|o| o.key().map(str::to_owned)),
            );
            token = output.next_continuation_token().map(str::to_owned);
            if token.is_none() {
                keys.sort();
                return Ok(keys);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quotes_separators_and_defuses_formulas() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a, b"), "\"a, b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("=SUM(A1)"), "'=SUM(A1)");
        assert_eq!(csv_field("-12.50"), "-12.50");
        assert_eq!(csv_field("-cmd"), "'-cmd");
    }
}
