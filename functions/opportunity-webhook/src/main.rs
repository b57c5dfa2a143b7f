//! Start-up only. The configuration is read before the runtime starts, so a
//! missing variable fails the init phase by name. The secrets, the seller
//! record and the schema are loaded once per execution environment, started
//! here and overlapping the runtime's first poll (`startup`); requests wait
//! for that load, and one that failed is tried again by the next request.

use std::convert::Infallible;
use std::sync::Arc;

use billing_lambda::preload::Preload;
use billing_lambda::telemetry;
use lambda_http::{Error, Request, run, service_fn};
use opportunity_webhook::handler::handle_when_loaded;
use opportunity_webhook::startup::{self, WebhookConfig};

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init();
    let config = WebhookConfig::from_env()
        .inspect_err(|error| tracing::error!(%error, "the webhook cannot start"))?;
    let state = Arc::new(Preload::new(move || startup::load(config.clone())));
    state.start();
    let state = &*state;
    run(service_fn(move |request: Request| async move {
        Ok::<_, Infallible>(handle_when_loaded(state, request).await)
    }))
    .await
}
