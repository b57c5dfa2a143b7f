//! One AWS SDK configuration per cold start, and the clients built from it.
//!
//! The SDK reads the standard `AWS_ENDPOINT_URL`, so the same binary talks to
//! AWS in production and to the local emulator in tests without a code path of
//! its own. Only S3 needs a nudge: a custom endpoint on loopback cannot serve
//! virtual-hosted bucket names, so path-style addressing is used there.

use aws_config::{BehaviorVersion, SdkConfig};
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_smithy_http_client::proxy::ProxyConfig;
use aws_smithy_http_client::tls::rustls_provider::CryptoMode;
use aws_smithy_http_client::tls::{Provider, TlsContext, TrustStore};
use aws_smithy_http_client::{Builder, ConnectorBuilder};

use crate::Disposition;

/// The roots of Amazon Trust Services, which issue the certificate of every
/// AWS service endpoint. Compiled in: the SDK's default client reads and
/// parses the platform's whole store (about 140 roots on `provided.al2023`)
/// at every cold start, which cost 1.2–1.7 ms of CPU per start in
/// `make bench-cold-start`, about a hello world's whole init.
pub const AMAZON_TRUST_SERVICES_ROOTS: &str = include_str!("../trust/amazon-trust-services.pem");

/// Which root certificates the functions' HTTPS client trusts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TrustedRoots {
    /// Only Amazon Trust Services' roots: enough for AWS's endpoints.
    AmazonTrustServices,
    /// The platform's store, read the way OpenSSL does (`SSL_CERT_FILE`,
    /// `SSL_CERT_DIR`): for an endpoint with a certificate of another CA,
    /// such as a TLS-inspecting proxy or an emulator served over HTTPS.
    Platform,
}

impl TrustedRoots {
    /// Amazon's roots, unless the environment names a store of its own
    /// with `SSL_CERT_FILE` or `SSL_CERT_DIR` (the variables OpenSSL and
    /// rustls read), which then is the one trusted.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Self {
        let named = |name: &str| lookup(name).is_some_and(|value| !value.is_empty());
        if named("SSL_CERT_FILE") || named("SSL_CERT_DIR") {
            Self::Platform
        } else {
            Self::AmazonTrustServices
        }
    }

    fn trust_store(self) -> TrustStore {
        match self {
            Self::AmazonTrustServices => {
                TrustStore::empty().with_pem_certificate(AMAZON_TRUST_SERVICES_ROOTS)
            }
            Self::Platform => TrustStore::default(),
        }
    }
}

/// Load the SDK configuration from the environment (region, credentials,
/// endpoint override). Call once in `main`.
pub async fn load_sdk_config() -> SdkConfig {
    let roots = TrustedRoots::from_lookup(|name| std::env::var(name).ok());
    aws_config::defaults(BehaviorVersion::latest())
        .http_client(https_client(roots))
        .load()
        .await
}

/// The SDK's default HTTPS client (hyper, rustls with aws-lc, proxies from
/// the environment), trusting `roots`. The roots are parsed once, when the
/// first client makes its first request.
fn https_client(roots: TrustedRoots) -> aws_smithy_runtime_api::client::http::SharedHttpClient {
    let tls = TlsContext::builder()
        .with_trust_store(roots.trust_store())
        .build()
        .expect("a TLS context without server names always builds");
    Builder::new().build_with_connector_fn(move |settings, runtime_components| {
        let mut connector = ConnectorBuilder::default()
            .tls_provider(Provider::Rustls(CryptoMode::AwsLc))
            .tls_context(tls.clone());
        connector.set_connector_settings(settings.cloned());
        if let Some(components) = runtime_components {
            connector.set_sleep_impl(components.sleep_impl());
        }
        connector.set_proxy_config(Some(ProxyConfig::from_env()));
        connector.build()
    })
}

/// The AWS clients a function may use, built once and cloned cheaply.
#[derive(Clone, Debug)]
pub struct AwsClients {
    /// Accounts, contracts, invoices, counters, idempotency records.
    pub dynamodb: aws_sdk_dynamodb::Client,
    /// The documents archive and bank statement files.
    pub s3: aws_sdk_s3::Client,
    /// Invoice and reminder e-mail (SES v2).
    pub ses: aws_sdk_sesv2::Client,
    /// Run batches, documents and delivery queues.
    pub sqs: aws_sdk_sqs::Client,
}

impl AwsClients {
    /// Build every client from one configuration (no network calls happen here).
    pub fn new(config: &SdkConfig) -> Self {
        let s3_config = aws_sdk_s3::config::Builder::from(config)
            .force_path_style(config.endpoint_url().is_some())
            .build();
        Self {
            dynamodb: aws_sdk_dynamodb::Client::new(config),
            s3: aws_sdk_s3::Client::from_conf(s3_config),
            ses: aws_sdk_sesv2::Client::new(config),
            sqs: aws_sdk_sqs::Client::new(config),
        }
    }
}

/// Whether an SDK call failure is worth retrying: throttling, service-side
/// faults, timeouts and connection failures are; everything else (validation,
/// access denied, a failed condition) would fail the same way again. The
/// list of transient codes is the store's (`billing_store::error::transient`),
/// one list for every SDK.
pub fn sdk_error_disposition<E, R>(error: &SdkError<E, R>) -> Disposition
where
    E: ProvideErrorMetadata,
{
    if billing_store::error::transient(error) {
        Disposition::Retryable
    } else {
        Disposition::Permanent
    }
}

#[cfg(test)]
mod tests {
    use aws_sdk_dynamodb::operation::get_item::GetItemError;
    use aws_sdk_dynamodb::types::error::{
        ProvisionedThroughputExceededException, ResourceNotFoundException,
    };
    use aws_smithy_runtime_api::http::{Response, StatusCode};
    use aws_smithy_types::body::SdkBody;
    use rustls_pki_types::CertificateDer;
    use rustls_pki_types::pem::PemObject;
    use sha2::{Digest, Sha256};

    use super::*;

    fn service_error(err: GetItemError, status: u16) -> SdkError<GetItemError, Response> {
        let status = StatusCode::try_from(status).unwrap();
        SdkError::service_error(err, Response::new(status, SdkBody::empty()))
    }

    #[test]
    fn throttling_is_retryable() {
        let err = service_error(
            GetItemError::ProvisionedThroughputExceededException(
                ProvisionedThroughputExceededException::builder()
                    .message("slow down")
                    .meta(
                        aws_sdk_dynamodb::error::ErrorMetadata::builder()
                            .code("ProvisionedThroughputExceededException")
                            .build(),
                    )
                    .build(),
            ),
            400,
        );
        assert_eq!(sdk_error_disposition(&err), Disposition::Retryable);
    }

    #[test]
    fn a_missing_table_is_permanent() {
        let err = service_error(
            GetItemError::ResourceNotFoundException(
                ResourceNotFoundException::builder()
                    .message("no such table")
                    .meta(
                        aws_sdk_dynamodb::error::ErrorMetadata::builder()
                            .code("ResourceNotFoundException")
                            .build(),
                    )
                    .build(),
            ),
            400,
        );
        assert_eq!(sdk_error_disposition(&err), Disposition::Permanent);
    }

    #[test]
    fn a_timeout_is_retryable() {
        let err: SdkError<GetItemError, Response> = SdkError::timeout_error("read timed out");
        assert_eq!(sdk_error_disposition(&err), Disposition::Retryable);
    }

    #[test]
    fn the_compiled_in_roots_are_exactly_amazon_trust_services_five() {
        // GIVEN the compiled-in store WHEN read as the TLS client reads it
        let fingerprints: Vec<String> =
            CertificateDer::pem_slice_iter(AMAZON_TRUST_SERVICES_ROOTS.as_bytes())
                .map(|der| hex::encode_upper(Sha256::digest(der.expect("valid PEM").as_ref())))
                .collect();
        // THEN it holds the published roots of amazontrust.com, nothing else
        assert_eq!(
            fingerprints,
            [
                // Amazon Root CA 1 to 4
                "8ECDE6884F3D87B1125BA31AC3FCB13D7016DE7F57CC904FE1CB97C6AE98196E",
                "1BA5B2AA8C65401A82960118F80BEC4F62304D83CEC4713A19C39C011EA46DB4",
                "18CE6CFE7BF14E60B2E347B8DFE868CB31D02EBB3ADA271569F50343B46DB3A4",
                "E35D28419ED02025CFA69038CD623962458DA5C695FBDEA3C22B0BFB25897092",
                // Starfield Services Root Certificate Authority - G2
                "568D6905A2C88708A4B3025190EDCFEDB1974A606A13C6E5290FCB2AE63EDAB5",
            ]
        );
    }

    #[test]
    fn amazon_roots_are_trusted_unless_the_environment_names_a_store() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(key, _)| *key == name)
                    .map(|(_, value)| (*value).to_owned())
            }
        };
        assert_eq!(
            TrustedRoots::from_lookup(env(&[])),
            TrustedRoots::AmazonTrustServices
        );
        assert_eq!(
            TrustedRoots::from_lookup(env(&[("SSL_CERT_FILE", "")])),
            TrustedRoots::AmazonTrustServices
        );
        assert_eq!(
            TrustedRoots::from_lookup(env(&[("SSL_CERT_FILE", "/etc/pki/tls/cert.pem")])),
            TrustedRoots::Platform
        );
        assert_eq!(
            TrustedRoots::from_lookup(env(&[("SSL_CERT_DIR", "/etc/ssl/certs")])),
            TrustedRoots::Platform
        );
    }
}
