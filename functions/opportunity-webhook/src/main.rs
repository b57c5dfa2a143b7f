//! Start-up only: configuration, clients, secrets and the seller record are
//! loaded once per cold start; a missing piece stops start-up by name.

use std::convert::Infallible;

use billing_domain::ids::BillingEntityId;
use billing_lambda::aws::{AwsClients, load_sdk_config};
use billing_lambda::{config, telemetry};
use billing_store::BillingStore;
use lambda_http::{Error, Request, run, service_fn};
use opportunity_webhook::contract;
use opportunity_webhook::handler::{WebhookState, handle};
use opportunity_webhook::service::OpportunityService;
use opportunity_webhook::signature::{SecretRing, WebhookSecrets};

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init();
    contract::check_schema()?;
    let table = config::required("BILLING_TABLE")?;
    let entity_id = BillingEntityId::parse(&config::required("BILLING_ENTITY_ID")?)?;
    let sdk = load_sdk_config().await;
    let clients = AwsClients::new(&sdk);
    let secrets = match config::optional("WEBHOOK_SECRETS") {
        // Local runs only (the template never sets it): comma-separated secrets.
        Some(list) => SecretRing::fixed(WebhookSecrets::from_list(&list)?),
        None => {
            let client = aws_sdk_secretsmanager::Client::new(&sdk);
            SecretRing::from_secrets_manager(client, config::required("WEBHOOK_SECRET_ARN")?)
                .await?
        }
    };
    let store = BillingStore::new(clients.dynamodb, table);
    let entity = store.billing_entity(&entity_id).await?;
    let state = WebhookState {
        service: OpportunityService::new(store, entity),
        secrets,
    };
    let state = &state;
    run(service_fn(move |request: Request| async move {
        Ok::<_, Infallible>(handle(state, request).await)
    }))
    .await
}
