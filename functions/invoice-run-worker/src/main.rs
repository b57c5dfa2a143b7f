//! Start-up only: configuration, clients and the seller are loaded once per
//! cold start; a missing piece stops start-up by name.

use billing_domain::ids::BillingEntityId;
use billing_lambda::aws::{AwsClients, load_sdk_config};
use billing_lambda::{config, telemetry};
use billing_run::RunWorker;
use billing_run::preview::RunFiles;
use billing_store::BillingStore;
use invoice_run_worker::handler::handle;
use lambda_runtime::{Error, run, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init();
    let table = config::required("BILLING_TABLE")?;
    let entity_id = BillingEntityId::new(config::required("BILLING_ENTITY_ID")?);
    let bucket = config::required("DOCUMENTS_BUCKET")?;
    let clients = AwsClients::new(&load_sdk_config().await);
    let store = BillingStore::new(clients.dynamodb, table);
    // Invoices are built from the seller as configured at cold start.
    let entity = store.billing_entity(&entity_id).await?;
    let worker = RunWorker::new(store, RunFiles::new(clients.s3, bucket), entity);
    let worker = &worker;
    run(service_fn(move |event| handle(worker, event))).await
}
