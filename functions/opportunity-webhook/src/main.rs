//! Start-up only. The configuration is read first, so a missing variable
//! fails the init phase by name. Then the secrets, the seller record and the
//! schema are loaded, concurrently (`startup::load`), still in the init
//! phase: an on-demand environment has a full vCPU only until the runtime's
//! first poll, and a provisioned one is initialized before any request. A
//! failed or timed-out load does not stop the function: requests try again
//! (at most every few seconds) and, while it keeps failing, are answered
//! with a mapped 5xx.

use std::convert::Infallible;

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
    let state = Preload::new(move || startup::load(config.clone()));
    state.load_now(startup::INIT_LOAD_LIMIT).await;
    let state = &state;
    run(service_fn(move |request: Request| async move {
        Ok::<_, Infallible>(handle_when_loaded(state, request).await)
    }))
    .await
}
