//! Start-up only: configuration and clients; a missing variable stops
//! start-up by name.

use billing_domain::ids::BillingEntityId;
use billing_lambda::aws::{AwsClients, load_sdk_config};
use billing_lambda::failure::diagnostic;
use billing_lambda::{config, telemetry};
use billing_store::BillingStore;
use direct_debit_collection::handler::handle;
use direct_debit_collection::service::CollectionService;
use lambda_runtime::{Error, run, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init();
    let table = config::required("BILLING_TABLE")?;
    let bucket = config::required("DOCUMENTS_BUCKET")?;
    let entity_id = BillingEntityId::parse(&config::required("BILLING_ENTITY_ID")?)?;
    let clients = AwsClients::new(&load_sdk_config().await);
    let service = CollectionService::new(
        BillingStore::new(clients.dynamodb, table),
        clients.s3,
        bucket,
        entity_id,
    );
    let service = &service;
    run(service_fn(move |event| async move {
        handle(service, event).await.map_err(|e| diagnostic(&e))
    }))
    .await
}
