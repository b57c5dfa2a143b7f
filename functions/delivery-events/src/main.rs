//! Start-up only: configuration and clients are loaded once per cold start;
//! a missing piece stops start-up by name.

use billing_lambda::aws::{AwsClients, load_sdk_config};
use billing_lambda::{config, telemetry};
use billing_store::BillingStore;
use delivery_events::handler::handle;
use delivery_events::service::DeliveryEventService;
use lambda_runtime::{Error, run, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init();
    let table = config::required("BILLING_TABLE")?;
    let clients = AwsClients::new(&load_sdk_config().await);
    let service = DeliveryEventService::new(BillingStore::new(clients.dynamodb, table));
    let service = &service;
    run(service_fn(move |event| handle(service, event))).await
}
