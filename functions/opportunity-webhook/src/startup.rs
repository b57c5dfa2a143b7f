//! What the webhook needs before it can answer, in two steps: the
//! configuration, read from the environment (a missing variable fails the
//! init phase by name), and the state, loaded once per execution
//! environment in the init phase (`billing_lambda::preload`).
//!
//! The state's parts are independent, so they load concurrently: the
//! signing secrets (Secrets Manager), the seller record (DynamoDB) and the
//! published schema's compilation. A cold start waits for the slowest of
//! them, not for their sum, and only one AWS client is built per service
//! the webhook calls.

use billing_domain::ids::BillingEntityId;
use billing_lambda::aws::load_sdk_config;
use billing_lambda::{ConfigError, Disposition, Failure, config};
use billing_store::{BillingStore, StoreError};

use crate::contract;
use crate::handler::WebhookState;
use crate::service::OpportunityService;
use crate::signature::{SecretRing, SecretsError, WebhookSecrets};

/// Where the signing secrets come from.
#[derive(Debug, Clone)]
pub enum SecretsSetting {
    /// Given in the environment (`WEBHOOK_SECRETS`, local runs and tests
    /// only; the template never sets it).
    Fixed(WebhookSecrets),
    /// The Secrets Manager secret the template creates (`WEBHOOK_SECRET_ARN`).
    SecretsManager {
        /// The secret's ARN.
        secret_id: String,
    },
}

/// The webhook's configuration from the environment the template sets.
#[derive(Debug, Clone)]
pub struct WebhookConfig {
    /// The billing table.
    pub table: String,
    /// The seller whose invoices this deployment issues.
    pub entity_id: BillingEntityId,
    /// The signing secrets.
    pub secrets: SecretsSetting,
}

impl WebhookConfig {
    /// Read `BILLING_TABLE`, `BILLING_ENTITY_ID` and `WEBHOOK_SECRETS` or
    /// `WEBHOOK_SECRET_ARN`. Reads no secret value from AWS.
    pub fn from_env() -> Result<Self, ConfigError> {
        let table = config::required("BILLING_TABLE")?;
        let entity_id =
            BillingEntityId::parse(&config::required("BILLING_ENTITY_ID")?).map_err(|error| {
                ConfigError::Invalid {
                    name: "BILLING_ENTITY_ID".into(),
                    reason: error.to_string(),
                }
            })?;
        let secrets = match config::optional("WEBHOOK_SECRETS") {
            Some(list) => {
                SecretsSetting::Fixed(WebhookSecrets::from_list(&list).map_err(|error| {
                    ConfigError::Invalid {
                        name: "WEBHOOK_SECRETS".into(),
                        reason: error.to_string(),
                    }
                })?)
            }
            None => SecretsSetting::SecretsManager {
                secret_id: config::required("WEBHOOK_SECRET_ARN")?,
            },
        };
        Ok(Self {
            table,
            entity_id,
            secrets,
        })
    }
}

/// Why the webhook could not load what it answers with. Each case is the
/// deployment's fault, never the caller's: the CRM gets a 5xx and retries.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    /// The published schema shipped in the binary does not compile.
    #[error("the opportunity-closed schema does not compile: {0}")]
    Schema(String),
    /// The signing secrets could not be read.
    #[error(transparent)]
    Secrets(#[from] SecretsError),
    /// The seller record could not be read (missing, unreadable, or the
    /// table not reachable).
    #[error("seller configuration: {0}")]
    Seller(#[from] StoreError),
}

impl Failure for StartupError {
    fn disposition(&self) -> Disposition {
        match self {
            // A throttled or timed-out read may succeed on the next event.
            StartupError::Seller(store) if store.disposition() == Disposition::Retryable => {
                Disposition::Retryable
            }
            _ => Disposition::Permanent,
        }
    }

    fn code(&self) -> &'static str {
        match self {
            StartupError::Schema(_) => "schema_invalid",
            StartupError::Secrets(_) => "webhook_secrets_unavailable",
            StartupError::Seller(_) => "seller_configuration_unavailable",
        }
    }
}

/// Load the webhook's state: the SDK configuration, then the secrets, the
/// seller record and the schema concurrently.
pub async fn load(config: WebhookConfig) -> Result<WebhookState, StartupError> {
    let sdk = load_sdk_config().await;
    let store = BillingStore::new(aws_sdk_dynamodb::Client::new(&sdk), config.table);
    let secrets = async {
        match config.secrets {
            SecretsSetting::Fixed(secrets) => Ok(SecretRing::fixed(secrets)),
            SecretsSetting::SecretsManager { secret_id } => {
                let client = aws_sdk_secretsmanager::Client::new(&sdk);
                SecretRing::from_secrets_manager(client, secret_id).await
            }
        }
    };
    let seller = store.billing_entity(&config.entity_id);
    // Polled after both requests are on their way, so it overlaps them.
    let schema = async { contract::check_schema() };
    let (secrets, seller, schema) = tokio::join!(secrets, seller, schema);
    schema.map_err(StartupError::Schema)?;
    let secrets = secrets?;
    let entity = seller?;
    Ok(WebhookState {
        service: OpportunityService::new(store, entity),
        secrets,
    })
}
