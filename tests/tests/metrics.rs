//! The functions' business metrics, read from log output as CloudWatch
//! Logs would read them: `make demo`'s binary drives the real handlers of
//! the webhook, invoice-pdf, invoice-delivery, payment-import, the dunning
//! sweep and the invoice-run worker; every metric line on its stdout must
//! be a valid embedded-metric-format object, and none may carry the
//! seeded data's e-mail addresses, names or IBANs. The delivery-events
//! function's lines are checked in `invoice_delivery.rs`, where a bounce
//! is played through it.

use std::collections::BTreeSet;
use std::process::Command;

use billing_lambda::privacy::redact_email_addresses;
use billing_tests::emf::{metric_lines, personal_strings, violations};
use billing_tests::unique_id;
use billing_tests::webhook::repo_path;
use serde_json::Value;

/// The personal data the demo seeds: the seller, the example deal's
/// customer, the run's customers, and the bank statement's payers.
fn seeded_personal_data() -> Vec<String> {
    let mut personal = Vec::new();
    for json in [
        "docs/examples/billing-entity.json",
        "docs/webhooks/example-opportunity.json",
        "tests/fixtures/run/demo-customers.json",
    ] {
        let text = std::fs::read_to_string(repo_path(json)).unwrap();
        personal.extend(personal_strings(&serde_json::from_str(&text).unwrap()));
    }
    let camt =
        std::fs::read_to_string(repo_path("tests/fixtures/camt/demo-statement.xml")).unwrap();
    for tag in ["Nm", "IBAN"] {
        let (open, close) = (format!("<{tag}>"), format!("</{tag}>"));
        for part in camt.split(&open).skip(1) {
            if let Some(value) = part.split(&close).next() {
                personal.push(value.trim().to_owned());
            }
        }
    }
    personal.retain(|p| p.len() >= 4);
    personal
}

#[test]
fn every_functions_metric_lines_follow_the_embedded_metric_format_and_name_no_one() {
    // GIVEN the demo, run in a directory of its own (it writes out/ there)
    let dir = std::env::temp_dir().join(unique_id("metrics-demo"));
    std::fs::create_dir_all(&dir).unwrap();
    // WHEN it drives the functions' handlers against the local AWS
    let output = Command::new(env!("CARGO_BIN_EXE_demo"))
        .current_dir(&dir)
        .output()
        .expect("the demo starts");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "the demo failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );

    // THEN its stdout carries metric lines, each valid EMF ...
    let lines = metric_lines(&stdout);
    assert!(!lines.is_empty(), "no metric line in the output:\n{stdout}");
    for line in &lines {
        assert_eq!(violations(line), Vec::<String>::new(), "{line}");
        let directive = &line["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(directive["Namespace"], "Billing");
        assert_eq!(
            directive["Dimensions"],
            serde_json::json!([["Entity", "Function"]])
        );
        assert_eq!(line["Entity"], "default", "the stack's BILLING_ENTITY_ID");
        for metric in directive["Metrics"].as_array().unwrap() {
            let name = metric["Name"].as_str().unwrap();
            assert!(
                billing_lambda::metrics::ALL.contains(&name),
                "{name} is not a metric of billing_lambda::metrics"
            );
        }
    }
    // ... from every function the demo drives ...
    let functions: BTreeSet<&str> = lines
        .iter()
        .filter_map(|l| l["Function"].as_str())
        .collect();
    for function in [
        "opportunity-webhook",
        "invoice-pdf",
        "invoice-delivery",
        "payment-import",
        "dunning-sweep",
        "invoice-run-worker",
    ] {
        assert!(functions.contains(function), "{function}: no metric line");
    }
    // ... counting what the demo did
    let total = |name: &str| -> f64 {
        lines
            .iter()
            .filter_map(|l| l.get(name).and_then(Value::as_f64))
            .sum()
    };
    assert!(total("WebhookRequests") >= 2.0, "the deal and its retry");
    assert_eq!(total("WebhookServerErrors"), 0.0);
    for name in [
        "InvoicesFinalized",
        "InvoicesRendered",
        "InvoicesDelivered",
        "RunCustomersBilled",
        "InvoiceRunsCompleted",
        "StatementsImported",
        "DunningSweepsCompleted",
    ] {
        assert!(total(name) >= 1.0, "{name}: nothing counted");
    }
    // AND the demo printed the totals it added up from the same lines
    assert!(stdout.contains("== Business metrics (CloudWatch embedded metric format) =="));
    let recorded = std::fs::read_to_string(dir.join("out/metrics.jsonl")).unwrap();
    assert_eq!(metric_lines(&recorded), lines);

    // AND no metric line holds personal data
    let personal = seeded_personal_data();
    assert!(
        personal.iter().any(|p| p.contains('@')) && personal.iter().any(|p| p.starts_with("DE")),
        "the seeded data has e-mail addresses and IBANs to look for: {personal:?}"
    );
    for line in lines.iter().map(Value::to_string) {
        assert_eq!(redact_email_addresses(&line), line, "an e-mail address");
        for value in &personal {
            assert!(!line.contains(value.as_str()), "{value} in {line}");
        }
    }
    std::fs::remove_dir_all(&dir).ok();
}
