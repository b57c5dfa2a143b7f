//! Counting what a client asks of DynamoDB: requests per operation and
//! the items each read touched (`ScannedCount` of Query and Scan, one per
//! GetItem hit), through an SDK interceptor, so tests prove that a route
//! reads a page and not a table.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeDeserializationInterceptorContextRef, BeforeTransmitInterceptorContextRef,
};
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;

/// What was counted since the last [`RequestCounter::take`].
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Counts {
    /// Requests by operation name (`Query`, `GetItem`, …).
    pub requests: BTreeMap<String, u64>,
    /// Items DynamoDB read to answer (sum of `ScannedCount`, GetItem hits).
    pub items_read: u64,
    /// Items inside `TransactWriteItems` requests.
    pub transaction_items: u64,
}

impl Counts {
    /// All requests, whatever the operation.
    pub fn total(&self) -> u64 {
        self.requests.values().sum()
    }

    /// Requests of one operation.
    pub fn of(&self, operation: &str) -> u64 {
        self.requests.get(operation).copied().unwrap_or(0)
    }
}

/// The interceptor; clone it into a client's configuration and keep a copy.
#[derive(Debug, Clone, Default)]
pub struct RequestCounter(Arc<Mutex<Counts>>);

fn operation(cfg: &ConfigBag) -> String {
    cfg.load::<Metadata>()
        .map(|m| m.name().to_owned())
        .unwrap_or_else(|| "unknown".to_owned())
}

impl Intercept for RequestCounter {
    fn name(&self) -> &'static str {
        "RequestCounter"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let operation = operation(cfg);
        let items = if operation == "TransactWriteItems" {
            context
                .request()
                .body()
                .bytes()
                .and_then(|b| serde_json::from_slice::<serde_json::Value>(b).ok())
                .and_then(|v| v["TransactItems"].as_array().map(Vec::len))
                .unwrap_or(0) as u64
        } else {
            0
        };
        if let Ok(mut counts) = self.0.lock() {
            *counts.requests.entry(operation).or_default() += 1;
            counts.transaction_items += items;
        }
        Ok(())
    }

    fn read_before_deserialization(
        &self,
        context: &BeforeDeserializationInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let operation = operation(cfg);
        let Some(body) = context
            .response()
            .body()
            .bytes()
            .and_then(|b| serde_json::from_slice::<serde_json::Value>(b).ok())
        else {
            return Ok(());
        };
        let read = match operation.as_str() {
            "Query" | "Scan" => body["ScannedCount"].as_u64().unwrap_or(0),
            "GetItem" => u64::from(body.get("Item").is_some()),
            _ => 0,
        };
        if let Ok(mut counts) = self.0.lock() {
            counts.items_read += read;
        }
        Ok(())
    }
}

impl RequestCounter {
    /// What was counted so far, resetting the counts.
    pub fn take(&self) -> Counts {
        self.0
            .lock()
            .map(|mut c| std::mem::take(&mut *c))
            .unwrap_or_default()
    }
}

/// A DynamoDB client for the local endpoint that counts through `counter`.
pub async fn counting_dynamodb(counter: &RequestCounter) -> aws_sdk_dynamodb::Client {
    let sdk = billing_lambda::aws::load_sdk_config().await;
    aws_sdk_dynamodb::Client::from_conf(
        aws_sdk_dynamodb::config::Builder::from(&sdk)
            .interceptor(counter.clone())
            .build(),
    )
}
