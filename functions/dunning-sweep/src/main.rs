//! Start-up only: configuration and clients; a missing variable stops
//! start-up by name.

use billing_domain::ids::BillingEntityId;
use billing_lambda::aws::{AwsClients, load_sdk_config};
use billing_lambda::failure::diagnostic;
use billing_lambda::{config, telemetry};
use billing_store::BillingStore;
use dunning_sweep::handler::handle;
use dunning_sweep::service::SweepService;
use lambda_runtime::{Error, run, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init();
    let table = config::required("BILLING_TABLE")?;
    let entity_id = BillingEntityId::parse(&config::required("BILLING_ENTITY_ID")?)?;
    let clients = AwsClients::new(&load_sdk_config().await);
    let service = SweepService::new(BillingStore::new(clients.dynamodb, table), entity_id);
    let service = &service;
    run(service_fn(move |event| async move {
        handle(service, event).await.map_err(|e| diagnostic(&e))
    }))
    .await
}
