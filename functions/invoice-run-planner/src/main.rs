//! Start-up only: configuration, clients and the seller's time zone are
//! loaded once per cold start; a missing piece stops start-up by name.

use billing_domain::ids::BillingEntityId;
use billing_lambda::aws::{AwsClients, load_sdk_config};
use billing_lambda::{config, telemetry};
use billing_run::RunPlanner;
use billing_run::preview::RunFiles;
use billing_run::queue::RunQueue;
use billing_store::BillingStore;
use invoice_run_planner::handler::handle;
use lambda_runtime::{Error, run, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init();
    let table = config::required("BILLING_TABLE")?;
    let entity_id = BillingEntityId::new(config::required("BILLING_ENTITY_ID")?);
    let queue_url = config::required("INVOICE_RUN_QUEUE_URL")?;
    let bucket = config::required("DOCUMENTS_BUCKET")?;
    let clients = AwsClients::new(&load_sdk_config().await);
    let store = BillingStore::new(clients.dynamodb, table);
    // The run date is the seller's calendar day: its zone is configuration.
    let entity = store.billing_entity(&entity_id).await?;
    let planner = RunPlanner::new(
        store,
        RunQueue::new(clients.sqs, queue_url),
        RunFiles::new(clients.s3, bucket),
        &entity,
    );
    let planner = &planner;
    run(service_fn(move |event| handle(planner, event))).await
}
