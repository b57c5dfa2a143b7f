//! Start-up only: configuration and clients are loaded once per cold
//! start; a missing piece stops start-up by name.

use std::convert::Infallible;

use billing_api::handler::{ApiState, handle};
use billing_domain::ids::BillingEntityId;
use billing_lambda::aws::{AwsClients, load_sdk_config};
use billing_lambda::{config, telemetry};
use billing_store::BillingStore;
use lambda_http::{Error, Request, run, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init();
    let table = config::required("BILLING_TABLE")?;
    let entity = BillingEntityId::parse(&config::required("BILLING_ENTITY_ID")?)?;
    let documents_bucket = config::required("DOCUMENTS_BUCKET")?;
    let delivery_queue_url = config::required("DELIVERY_QUEUE_URL")?;
    let run_queue_url = config::required("INVOICE_RUN_QUEUE_URL")?;
    let clients = AwsClients::new(&load_sdk_config().await);
    let state = ApiState {
        store: BillingStore::new(clients.dynamodb, table),
        entity,
        s3: clients.s3,
        documents_bucket,
        sqs: clients.sqs,
        delivery_queue_url,
        run_queue_url,
    };
    let state = &state;
    run(service_fn(move |request: Request| async move {
        Ok::<_, Infallible>(handle(state, request).await)
    }))
    .await
}
