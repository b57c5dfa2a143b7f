//! Support for integration tests and the demo: reaching the local AWS
//! endpoint exactly as a deployed function would, through the standard
//! `AWS_ENDPOINT_URL` and the resource variables the template defines.
//!
//! `make test` and `make demo` run everything under `tools/local_aws.py run`,
//! which starts the emulator, provisions it from `infra/template.yaml` and
//! exports those variables.
#![warn(missing_docs)]

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use billing_lambda::aws::{AwsClients, load_sdk_config};
use billing_lambda::config;

pub mod billing;
pub mod counting;
pub mod delivery;
pub mod demo_collection;
pub mod demo_dunning;
pub mod emf;
pub mod oidc;
pub mod packaged;
pub mod run;
pub mod webhook;

/// Clients for the local endpoint, refusing to run against anything else.
///
/// # Panics
/// When `AWS_ENDPOINT_URL` is unset or not on loopback: integration tests
/// must never touch a real account (run them through `make test`).
pub async fn local_clients() -> AwsClients {
    let endpoint = config::optional("AWS_ENDPOINT_URL").unwrap_or_else(|| {
        panic!("AWS_ENDPOINT_URL is not set: run integration tests through `make test`, which starts the local AWS")
    });
    assert!(
        endpoint.starts_with("http://127.0.0.1:") || endpoint.starts_with("http://localhost:"),
        "AWS_ENDPOINT_URL={endpoint} is not on loopback; refusing to run integration tests against it"
    );
    AwsClients::new(&load_sdk_config().await)
}

/// A resource name from the environment the template defines.
///
/// # Panics
/// When the variable is missing, naming it.
pub fn resource(name: &str) -> String {
    config::required(name).unwrap_or_else(|err| panic!("{err}: run through `make test`"))
}

/// An id no other test in this run uses, so tests can share one emulator.
pub fn unique_id(prefix: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!(
        "{prefix}-{nanos:x}-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// `invoice` with an id, number, seller and customer of its own, so a test
/// that stores it sees only its own numbers, suppressions and attention
/// entries in the shared emulator.
///
/// # Panics
/// Never for a valid invoice: it round-trips through its own JSON.
pub fn isolated(invoice: &billing_domain::invoice::Invoice) -> billing_domain::invoice::Invoice {
    let mut json = serde_json::to_value(invoice).expect("an invoice encodes");
    let entity = unique_id("ent");
    json["content"]["id"] = unique_id("inv").into();
    json["content"]["billing_entity_id"] = entity.clone().into();
    json["content"]["buyer"]["id"] = unique_id("acc").into();
    json["content"]["buyer"]["billing_entity_id"] = entity.into();
    json["number"] = unique_id("RE-2026").into();
    json["content"]["references"]["payment_reference"] = json["number"].clone();
    serde_json::from_value(json).expect("an invoice decodes")
}

/// Stores `invoice` the way the finalizing transaction writes it (body,
/// account, `document_status`), for tests that start at a finalized invoice.
///
/// # Panics
/// When the local endpoint refuses the write.
pub async fn put_finalized_invoice(
    aws: &AwsClients,
    table: &str,
    invoice: &billing_domain::invoice::Invoice,
    document_status: billing_store::DocumentStatus,
) {
    use aws_sdk_dynamodb::types::AttributeValue::S;
    let (pk, sk) = billing_store::keys::invoice(&invoice.content().id);
    let status = match document_status {
        billing_store::DocumentStatus::Pending => "pending",
        billing_store::DocumentStatus::Archived => "archived",
    };
    aws.dynamodb
        .put_item()
        .table_name(table)
        .item("pk", S(pk))
        .item("sk", S(sk))
        .item(
            "body",
            S(serde_json::to_string(invoice).expect("an invoice encodes")),
        )
        .item("account_id", S(invoice.content().buyer.id.to_string()))
        .item("document_status", S(status.to_owned()))
        .send()
        .await
        .expect("the invoice is stored");
}

/// The physical name of a template resource (e.g. `StatementsBucket`) in
/// the local stack, for resources no function's environment names.
///
/// # Panics
/// When not run under `tools/local_aws.py` or the resource is unknown.
pub fn stack_name(logical_id: &str) -> String {
    let path = resource("LOCAL_AWS_STACK");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let stack: serde_json::Value = serde_json::from_str(&text).expect("stack.json is JSON");
    stack["names"][logical_id]
        .as_str()
        .unwrap_or_else(|| panic!("{logical_id} is not in the local stack"))
        .to_owned()
}

/// A new, empty table with the billing table's keys and indexes, for a
/// test that stores thousands of items: the emulator answers every index
/// Query by walking its table, so such a load in the shared table would
/// slow every later test (the dunning sweep's 16 shard queries per day
/// most of all). Delete it with [`drop_scratch_table`] when done.
///
/// # Panics
/// When the billing table cannot be described or the copy created.
pub async fn scratch_billing_table(aws: &AwsClients) -> String {
    use aws_sdk_dynamodb::types::{BillingMode, GlobalSecondaryIndex};
    let described = aws
        .dynamodb
        .describe_table()
        .table_name(resource("BILLING_TABLE"))
        .send()
        .await
        .expect("the billing table can be described")
        .table
        .expect("a table description");
    let indexes: Vec<GlobalSecondaryIndex> = described
        .global_secondary_indexes()
        .iter()
        .map(|index| {
            GlobalSecondaryIndex::builder()
                .set_index_name(index.index_name().map(str::to_owned))
                .set_key_schema(Some(index.key_schema().to_vec()))
                .set_projection(index.projection().cloned())
                .build()
                .expect("an index definition")
        })
        .collect();
    let name = unique_id("billing-scratch");
    aws.dynamodb
        .create_table()
        .table_name(&name)
        .set_key_schema(Some(described.key_schema().to_vec()))
        .set_attribute_definitions(Some(described.attribute_definitions().to_vec()))
        .set_global_secondary_indexes((!indexes.is_empty()).then_some(indexes))
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await
        .expect("the scratch table is created");
    name
}

/// Deletes a table made by [`scratch_billing_table`] (best effort: the
/// emulator is stopped after the run anyway).
pub async fn drop_scratch_table(aws: &AwsClients, name: &str) {
    if let Err(e) = aws.dynamodb.delete_table().table_name(name).send().await {
        eprintln!("scratch table {name} was not deleted: {e}");
    }
}

/// Runs one of the project's Python checks (`tests/python/<script>`, in the
/// project's venv) on `bytes` written to a temporary `.<extension>` file,
/// so Rust tests check what they produced exactly as `make test`'s pytest
/// suite checks its samples. `Err` carries what the check printed.
///
/// # Panics
/// When the venv's Python cannot be started or the file cannot be written.
pub fn python_check(script: &str, bytes: &[u8], extension: &str) -> Result<(), String> {
    let path = std::env::temp_dir().join(format!("{}.{extension}", unique_id("check")));
    std::fs::write(&path, bytes).expect("the temporary file is written");
    let output = std::process::Command::new(webhook::repo_path(".venv/bin/python"))
        .arg(webhook::repo_path(&format!("tests/python/{script}")))
        .arg(&path)
        .output()
        .expect("the project's Python environment runs");
    let _ = std::fs::remove_file(&path);
    if output.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ))
    }
}
