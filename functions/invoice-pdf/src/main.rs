//! Start-up only: configuration, clients, templates and fonts are loaded
//! once per cold start; a missing piece stops start-up by name.

use billing_documents::InvoiceRenderer;
use billing_documents::letter::LetterRenderer;
use billing_lambda::aws::{AwsClients, load_sdk_config};
use billing_lambda::{config, telemetry};
use billing_store::BillingStore;
use invoice_pdf::archive::{DocumentArchive, retention_from_env};
use invoice_pdf::handler::handle;
use invoice_pdf::service::DocumentService;
use lambda_runtime::{Error, run, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init();
    let table = config::required("BILLING_TABLE")?;
    let bucket = config::required("DOCUMENTS_BUCKET")?;
    let delivery_queue_url = config::required("DELIVERY_QUEUE_URL")?;
    let retention = retention_from_env()?;
    // Built-in templates, or the operator's INVOICE_TEMPLATE_DIR.
    let renderer = InvoiceRenderer::from_env()?;
    let letters = LetterRenderer::from_env()?;
    let clients = AwsClients::new(&load_sdk_config().await);
    let service = DocumentService::new(
        BillingStore::new(clients.dynamodb, table),
        renderer,
        letters,
        DocumentArchive::new(clients.s3, bucket, retention),
        clients.sqs,
        delivery_queue_url,
    );
    let service = &service;
    run(service_fn(move |event| handle(service, event))).await
}
