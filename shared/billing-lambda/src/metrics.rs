//! Business metrics as CloudWatch embedded metric format (EMF) log lines.
//!
//! A function records what happened to the billing flow (invoices
//! finalized, rendered, delivered, bounced; customers a run billed or
//! failed; payments matched, sent to review, returned; dunning letters per
//! stage; runs, sweeps and imports completed) by printing one JSON object
//! on stdout. CloudWatch Logs turns each such line into metric data points
//! (<https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html>),
//! so the hot path makes no `PutMetricData` call and cannot fail or slow
//! down because of metrics.
//!
//! The line is written with `println!`, not through `tracing`: the JSON
//! log formatter would nest it under `fields`, and CloudWatch only reads
//! `_aws` at the top level of a line. Dimensions are the seller
//! (`Entity`, the stack's `BILLING_ENTITY_ID`) and the function, never
//! anything about a customer: metric names are fixed strings and values
//! are counts, so no personal data can reach a line.
//!
//! Formatted here with `serde_json` rather than an EMF crate: the ones on
//! crates.io either install a global `metrics` recorder with a Lambda
//! service wrapper (one more layer around every handler) or are a
//! pre-1.0 framework of several crates, for what is one JSON object.

use std::cell::RefCell;
use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value, json};

/// The CloudWatch namespace of every business metric.
pub const NAMESPACE: &str = "Billing";

/// The dimension set of every line: the seller, then the function.
pub const DIMENSIONS: [&str; 2] = ["Entity", "Function"];

/// Invoices numbered (webhook one-offs, invoice-run worker).
pub const INVOICES_FINALIZED: &str = "InvoicesFinalized";
/// Invoices whose PDF and XML were archived now (invoice-pdf).
pub const INVOICES_RENDERED: &str = "InvoicesRendered";
/// Invoice e-mails SES accepted (invoice-delivery).
pub const INVOICES_DELIVERED: &str = "InvoicesDelivered";
/// Invoice or letter e-mails that could not be sent (invoice-delivery).
pub const DELIVERIES_FAILED: &str = "DeliveriesFailed";
/// Bounces SES reported for an invoice or letter (delivery-events).
pub const INVOICES_BOUNCED: &str = "InvoicesBounced";
/// Complaints SES reported (delivery-events).
pub const COMPLAINTS: &str = "Complaints";
/// Customers an invoice run billed (invoice-run worker).
pub const RUN_CUSTOMERS_BILLED: &str = "RunCustomersBilled";
/// Customers an invoice run could not bill (invoice-run worker).
pub const RUN_CUSTOMERS_FAILED: &str = "RunCustomersFailed";
/// Finalize runs completed (planner or worker, whichever completes it):
/// the run-deadline alarm watches this.
pub const INVOICE_RUNS_COMPLETED: &str = "InvoiceRunsCompleted";
/// Statement entries booked by a matching rule (payment-import).
pub const PAYMENTS_MATCHED: &str = "PaymentsMatched";
/// Statement entries put on the review list (payment-import).
pub const PAYMENTS_FOR_REVIEW: &str = "PaymentsForReview";
/// Returned payments and reversals booked (payment-import).
pub const PAYMENTS_RETURNED: &str = "PaymentsReturned";
/// Statements read to the end, imported now or before (payment-import):
/// the payment-import alarm watches this.
pub const STATEMENTS_IMPORTED: &str = "StatementsImported";
/// Statement files refused (payment-import).
pub const STATEMENTS_REFUSED: &str = "StatementsRefused";
/// Dunning sweeps done (dunning-sweep): the sweep alarm watches this.
pub const DUNNING_SWEEPS_COMPLETED: &str = "DunningSweepsCompleted";
/// Dunning letters recorded, by the letter's stage (dunning-sweep).
pub const DUNNING_LETTERS: [&str; 4] = [
    "DunningLettersReminder",
    "DunningLettersFirstNotice",
    "DunningLettersSecondNotice",
    "DunningLettersFinalNotice",
];
/// Invoices handed over to collection (dunning-sweep).
pub const COLLECTION_HANDOVERS: &str = "CollectionHandovers";
/// Webhook requests answered (opportunity-webhook).
pub const WEBHOOK_REQUESTS: &str = "WebhookRequests";
/// Webhook requests answered with a 5xx (opportunity-webhook): with
/// [`WEBHOOK_REQUESTS`] the 5xx-rate alarm's inputs.
pub const WEBHOOK_SERVER_ERRORS: &str = "WebhookServerErrors";

/// Every metric name a function may emit, for the dashboard and tests.
pub const ALL: [&str; 22] = [
    INVOICES_FINALIZED,
    INVOICES_RENDERED,
    INVOICES_DELIVERED,
    DELIVERIES_FAILED,
    INVOICES_BOUNCED,
    COMPLAINTS,
    RUN_CUSTOMERS_BILLED,
    RUN_CUSTOMERS_FAILED,
    INVOICE_RUNS_COMPLETED,
    PAYMENTS_MATCHED,
    PAYMENTS_FOR_REVIEW,
    PAYMENTS_RETURNED,
    STATEMENTS_IMPORTED,
    STATEMENTS_REFUSED,
    DUNNING_SWEEPS_COMPLETED,
    DUNNING_LETTERS[0],
    DUNNING_LETTERS[1],
    DUNNING_LETTERS[2],
    DUNNING_LETTERS[3],
    COLLECTION_HANDOVERS,
    WEBHOOK_REQUESTS,
    WEBHOOK_SERVER_ERRORS,
];

/// Counts of one event (or one batch of events) of one function, printed
/// as one EMF line by [`MetricLine::emit`].
#[derive(Debug, Clone, PartialEq)]
pub struct MetricLine {
    function: &'static str,
    counts: Vec<(&'static str, u64)>,
}

impl MetricLine {
    /// An empty line for `function` (its binary name, e.g. `invoice-pdf`).
    pub fn new(function: &'static str) -> Self {
        Self {
            function,
            counts: Vec::new(),
        }
    }

    /// Adds `count` to metric `name` (a constant of this module).
    pub fn count(mut self, name: &'static str, count: usize) -> Self {
        let count = u64::try_from(count).unwrap_or(u64::MAX);
        match self.counts.iter_mut().find(|(n, _)| *n == name) {
            Some((_, value)) => *value = value.saturating_add(count),
            None => self.counts.push((name, count)),
        }
        self
    }

    /// The EMF object for seller `entity` at `timestamp_ms` (Unix epoch
    /// milliseconds).
    pub fn to_json(&self, entity: &str, timestamp_ms: u64) -> Value {
        let metrics: Vec<Value> = self
            .counts
            .iter()
            .map(|(name, _)| json!({"Name": name, "Unit": "Count"}))
            .collect();
        let mut line = Map::new();
        line.insert(
            "_aws".to_owned(),
            json!({
                "Timestamp": timestamp_ms,
                "CloudWatchMetrics": [{
                    "Namespace": NAMESPACE,
                    "Dimensions": [DIMENSIONS],
                    "Metrics": metrics,
                }],
            }),
        );
        line.insert("Entity".to_owned(), Value::from(entity));
        line.insert("Function".to_owned(), Value::from(self.function));
        for (name, value) in &self.counts {
            line.insert((*name).to_owned(), Value::from(*value));
        }
        Value::Object(line)
    }

    /// Prints the line on stdout (CloudWatch Logs extracts the metrics) and
    /// hands it to a [`Recorder`] active on this thread. A line without
    /// counts prints nothing.
    pub fn emit(self) {
        if self.counts.is_empty() {
            return;
        }
        let timestamp_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
            .unwrap_or_default();
        let line = self.to_json(entity(), timestamp_ms).to_string();
        println!("{line}");
        RECORDED.with(|recorded| {
            if let Some(lines) = recorded.borrow_mut().as_mut() {
                lines.push(line);
            }
        });
    }
}

/// The seller the stack bills as (`BILLING_ENTITY_ID`, set for every
/// function by the template's globals), read once per process.
pub fn entity() -> &'static str {
    static ENTITY: OnceLock<String> = OnceLock::new();
    ENTITY.get_or_init(|| {
        crate::config::optional("BILLING_ENTITY_ID").unwrap_or_else(|| "unconfigured".to_owned())
    })
}

thread_local! {
    static RECORDED: RefCell<Option<Vec<String>>> = const { RefCell::new(None) };
}

/// Keeps a copy of every line emitted on this thread while it lives, so
/// the demo can add up its run's metrics and tests can read them. Lines
/// still go to stdout.
#[derive(Debug)]
pub struct Recorder(());

impl Recorder {
    /// Starts recording on this thread (a second recorder shares the lines
    /// of the first).
    pub fn start() -> Self {
        RECORDED.with(|recorded| {
            recorded.borrow_mut().get_or_insert_with(Vec::new);
        });
        Self(())
    }

    /// The lines emitted on this thread since recording started.
    pub fn lines(&self) -> Vec<String> {
        RECORDED.with(|recorded| recorded.borrow().clone().unwrap_or_default())
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        RECORDED.with(|recorded| recorded.borrow_mut().take());
    }
}

/// Sums the metric members of EMF `lines` by metric name (lines that are
/// not EMF objects are skipped), for the demo's totals.
pub fn totals<'a>(lines: impl IntoIterator<Item = &'a str>) -> Vec<(String, f64)> {
    let mut totals: Vec<(String, f64)> = Vec::new();
    for line in lines {
        let Ok(Value::Object(object)) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        let names = object
            .get("_aws")
            .and_then(|aws| aws.get("CloudWatchMetrics"))
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|directive| directive.get("Metrics").and_then(Value::as_array))
            .flatten()
            .filter_map(|metric| metric.get("Name").and_then(Value::as_str));
        for name in names {
            let value = object.get(name).and_then(Value::as_f64).unwrap_or_default();
            match totals.iter_mut().find(|(n, _)| n == name) {
                Some((_, total)) => *total += value,
                None => totals.push((name.to_owned(), value)),
            }
        }
    }
    totals
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_is_an_emf_object_with_its_dimensions_and_counts() {
        let line = MetricLine::new("invoice-run-worker")
            .count(RUN_CUSTOMERS_BILLED, 3)
            .count(RUN_CUSTOMERS_FAILED, 1)
            .count(RUN_CUSTOMERS_BILLED, 2)
            .to_json("default", 1_700_000_000_000);
        assert_eq!(
            line,
            json!({
                "_aws": {
                    "Timestamp": 1_700_000_000_000u64,
                    "CloudWatchMetrics": [{
                        "Namespace": "Billing",
                        "Dimensions": [["Entity", "Function"]],
                        "Metrics": [
                            {"Name": "RunCustomersBilled", "Unit": "Count"},
                            {"Name": "RunCustomersFailed", "Unit": "Count"},
                        ],
                    }],
                },
                "Entity": "default",
                "Function": "invoice-run-worker",
                "RunCustomersBilled": 5,
                "RunCustomersFailed": 1,
            })
        );
    }

    #[test]
    fn the_recorder_keeps_this_threads_lines_and_totals_add_them_up() {
        let recorder = Recorder::start();
        MetricLine::new("invoice-pdf")
            .count(INVOICES_RENDERED, 2)
            .emit();
        MetricLine::new("invoice-pdf").emit();
        MetricLine::new("invoice-delivery")
            .count(INVOICES_DELIVERED, 1)
            .count(INVOICES_RENDERED, 1)
            .emit();
        let lines = recorder.lines();
        assert_eq!(lines.len(), 2, "an empty line prints nothing");
        let mut lines: Vec<&str> = lines.iter().map(String::as_str).collect();
        lines.push("not json");
        lines.push(r#"{"level":"INFO","message":"x"}"#);
        assert_eq!(
            totals(lines),
            vec![
                (INVOICES_RENDERED.to_owned(), 3.0),
                (INVOICES_DELIVERED.to_owned(), 1.0)
            ]
        );
        drop(recorder);
        MetricLine::new("invoice-pdf")
            .count(INVOICES_RENDERED, 1)
            .emit();
        assert!(Recorder::start().lines().is_empty());
    }
}
