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

use std::time::Duration;

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
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// [`WebhookConfig::from_env`] over any lookup, so tests need not
    /// change the process environment.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let invalid = |name: &str, reason: String| ConfigError::Invalid {
            name: name.to_owned(),
            reason,
        };
        let table = config::required_from("BILLING_TABLE", &lookup)?;
        let entity_id =
            BillingEntityId::parse(&config::required_from("BILLING_ENTITY_ID", &lookup)?)
                .map_err(|error| invalid("BILLING_ENTITY_ID", error.to_string()))?;
        let secrets = match config::optional_from("WEBHOOK_SECRETS", &lookup) {
            Some(list) => SecretsSetting::Fixed(
                WebhookSecrets::from_list(&list)
                    .map_err(|error| invalid("WEBHOOK_SECRETS", error.to_string()))?,
            ),
            None => SecretsSetting::SecretsManager {
                secret_id: config::required_from("WEBHOOK_SECRET_ARN", &lookup)?,
            },
        };
        Ok(Self {
            table,
            entity_id,
            secrets,
        })
    }
}

/// How long the init phase may spend loading: Lambda ends an init phase
/// after 10 s with a bare error, so the load gives up before that and
/// leaves it to the first request.
pub const INIT_LOAD_LIMIT: Duration = Duration::from_secs(8);

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
        let cause = match self {
            StartupError::Seller(store) => store.disposition(),
            StartupError::Secrets(secrets) => secrets.disposition(),
            StartupError::Schema(_) => Disposition::Permanent,
        };
        // A throttled or timed-out read may succeed on the next event; all
        // else is the deployment's fault, never the caller's (no 4xx).
        if cause == Disposition::Retryable {
            Disposition::Retryable
        } else {
            Disposition::Permanent
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
    // CPU work: on the blocking pool, so it overlaps the two calls.
    let schema = tokio::task::spawn_blocking(contract::check_schema);
    let (secrets, seller, schema) = tokio::join!(secrets, seller, schema);
    schema
        .map_err(|error| StartupError::Schema(error.to_string()))?
        .map_err(StartupError::Schema)?;
    let secrets = secrets?;
    let entity = seller?;
    Ok(WebhookState {
        service: OpportunityService::new(store, entity),
        secrets,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        }
    }

    const DEPLOYED: &[(&str, &str)] = &[
        ("BILLING_TABLE", "billing"),
        ("BILLING_ENTITY_ID", "default"),
        (
            "WEBHOOK_SECRET_ARN",
            "arn:aws:secretsmanager:eu-central-1:1:secret:s",
        ),
    ];

    #[test]
    fn the_deployed_environment_reads_secrets_from_secrets_manager() {
        let config = WebhookConfig::from_lookup(lookup(DEPLOYED)).unwrap();
        assert_eq!(config.table, "billing");
        assert_eq!(config.entity_id.as_str(), "default");
        assert!(matches!(
            config.secrets,
            SecretsSetting::SecretsManager { ref secret_id } if secret_id.ends_with(":secret:s")
        ));
    }

    #[test]
    fn local_secrets_take_precedence_over_the_arn() {
        let mut pairs = DEPLOYED.to_vec();
        pairs.push(("WEBHOOK_SECRETS", "one,two"));
        let config = WebhookConfig::from_lookup(lookup(&pairs)).unwrap();
        assert!(matches!(config.secrets, SecretsSetting::Fixed(_)));
    }

    #[test]
    fn each_missing_or_invalid_variable_is_named() {
        let without = |name: &str| -> Vec<(&str, &str)> {
            DEPLOYED
                .iter()
                .copied()
                .filter(|(k, _)| *k != name)
                .collect()
        };
        for name in ["BILLING_TABLE", "BILLING_ENTITY_ID", "WEBHOOK_SECRET_ARN"] {
            let error = WebhookConfig::from_lookup(lookup(&without(name))).unwrap_err();
            assert_eq!(error, ConfigError::Missing { name: name.into() });
        }
        let mut bad_id = without("BILLING_ENTITY_ID");
        bad_id.push(("BILLING_ENTITY_ID", "de\u{7}fault"));
        let error = WebhookConfig::from_lookup(lookup(&bad_id)).unwrap_err();
        assert!(
            matches!(&error, ConfigError::Invalid { name, .. } if name == "BILLING_ENTITY_ID"),
            "{error}"
        );
        let mut blank_secrets = DEPLOYED.to_vec();
        blank_secrets.push(("WEBHOOK_SECRETS", " , "));
        let error = WebhookConfig::from_lookup(lookup(&blank_secrets)).unwrap_err();
        assert!(
            matches!(&error, ConfigError::Invalid { name, .. } if name == "WEBHOOK_SECRETS"),
            "{error}"
        );
    }

    fn store_error(disposition: Disposition) -> StoreError {
        StoreError::Aws {
            operation: "GetItem",
            retryable: disposition == Disposition::Retryable,
            message: "test".into(),
        }
    }

    #[test]
    fn a_passing_fault_is_a_503_and_the_rest_a_500_with_their_codes() {
        let cases = [
            (
                StartupError::Seller(store_error(Disposition::Retryable)),
                503,
                "seller_configuration_unavailable",
            ),
            (
                StartupError::Seller(StoreError::NotFound {
                    what: "billing entity default".into(),
                }),
                500,
                "seller_configuration_unavailable",
            ),
            (
                StartupError::Seller(store_error(Disposition::Permanent)),
                500,
                "seller_configuration_unavailable",
            ),
            (
                StartupError::Secrets(WebhookSecrets::new([" "]).unwrap_err()),
                500,
                "webhook_secrets_unavailable",
            ),
            (StartupError::Schema("broken".into()), 500, "schema_invalid"),
        ];
        for (error, status, code) in cases {
            assert_eq!(
                (error.disposition().http_status(), error.code()),
                (status, code),
                "{error}"
            );
        }
    }
}
