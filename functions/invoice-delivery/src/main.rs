//! Start-up only: configuration, clients and the mail templates are loaded
//! once per cold start; a missing piece stops start-up by name.

use billing_documents::mail::MailTemplates;
use billing_lambda::aws::{AwsClients, load_sdk_config};
use billing_lambda::sqs::RetryBackoff;
use billing_lambda::{config, telemetry};
use billing_store::BillingStore;
use invoice_delivery::attachments::ArchivedFiles;
use invoice_delivery::handler::{RETRY_FIRST, RETRY_MAX, handle};
use invoice_delivery::mailer::Mailer;
use invoice_delivery::service::DeliveryService;
use lambda_runtime::{Error, run, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init();
    let table = config::required("BILLING_TABLE")?;
    let bucket = config::required("DOCUMENTS_BUCKET")?;
    let configuration_set = config::required("SES_CONFIGURATION_SET")?;
    let queue_url = config::required("DELIVERY_QUEUE_URL")?;
    // Built-in wording, or the operator's INVOICE_TEMPLATE_DIR.
    let templates = MailTemplates::from_env()?;
    let clients = AwsClients::new(&load_sdk_config().await);
    let service = DeliveryService::new(
        BillingStore::new(clients.dynamodb, table),
        ArchivedFiles::new(clients.s3, bucket),
        Mailer::new(clients.ses, configuration_set),
        templates,
    );
    let backoff = RetryBackoff::new(clients.sqs, queue_url, RETRY_FIRST, RETRY_MAX);
    let (service, backoff) = (&service, &backoff);
    run(service_fn(move |event| handle(service, backoff, event))).await
}
