//! The webhook signature: `X-Billing-Signature: t=<unix seconds>,v1=<hex>`,
//! HMAC-SHA256 over `"<t>.<raw body>"`.
//!
//! Signing the timestamp with the body lets us refuse replays older than five
//! minutes; comparing in constant time (`Mac::verify_slice`) leaks nothing
//! through timing; accepting several secrets lets an operator rotate without
//! downtime (old and new are both valid until the CRM switches).

use std::sync::RwLock;
use std::time::{Duration, Instant};

use billing_lambda::Disposition;
use billing_lambda::aws::sdk_error_disposition;
use chrono::{DateTime, Utc};
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// The header the CRM sends.
pub const SIGNATURE_HEADER: &str = "x-billing-signature";

/// How far the signed timestamp may be from our clock, either way.
pub const TOLERANCE_SECONDS: i64 = 300;

/// The secrets a signature may be made with. Never printed.
#[derive(Clone)]
pub struct WebhookSecrets(Vec<Vec<u8>>);

impl std::fmt::Debug for WebhookSecrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "WebhookSecrets({} secret(s), redacted)", self.0.len())
    }
}

/// Why secrets could not be loaded. Never holds a secret value.
#[derive(Debug, thiserror::Error)]
#[error("webhook secrets: {reason}")]
pub struct SecretsError {
    reason: String,
    disposition: Disposition,
}

impl SecretsError {
    fn permanent(reason: impl Into<String>) -> Self {
        Self {
            reason: reason.into(),
            disposition: Disposition::Permanent,
        }
    }

    /// Whether reading again may help: a throttled or timed-out
    /// Secrets Manager call may, a missing secret or a bad value does not.
    pub fn disposition(&self) -> Disposition {
        self.disposition
    }
}

impl WebhookSecrets {
    /// Secrets from a list; blank entries are ignored, none at all is an error.
    pub fn new<I, S>(secrets: I) -> Result<Self, SecretsError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let secrets: Vec<Vec<u8>> = secrets
            .into_iter()
            .map(|s| s.as_ref().trim().as_bytes().to_vec())
            .filter(|s| !s.is_empty())
            .collect();
        if secrets.is_empty() {
            return Err(SecretsError::permanent("no secret configured"));
        }
        Ok(Self(secrets))
    }

    /// The Secrets Manager format: a JSON object whose string values are the
    /// valid secrets (`{"current": "...", "previous": "..."}`), or a plain string.
    pub fn from_secret_string(text: &str) -> Result<Self, SecretsError> {
        match serde_json::from_str::<serde_json::Value>(text) {
            Ok(serde_json::Value::Object(map)) => {
                Self::new(map.values().filter_map(|v| v.as_str().map(str::to_owned)))
            }
            _ => Self::new([text]),
        }
    }

    /// The local form: comma-separated secrets in one environment variable.
    pub fn from_list(text: &str) -> Result<Self, SecretsError> {
        Self::new(text.split(','))
    }

    /// Whether `header` is a valid, fresh signature of `body` by any secret.
    pub fn verify(&self, header: Option<&str>, body: &[u8], now: DateTime<Utc>) -> bool {
        let Some(parsed) = header.and_then(SignatureHeader::parse) else {
            return false;
        };
        if (now.timestamp() - parsed.timestamp).abs() > TOLERANCE_SECONDS {
            return false;
        }
        let timestamp = parsed.timestamp.to_string();
        self.0.iter().any(|secret| {
            parsed.signatures.iter().any(|signature| {
                let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret) else {
                    return false;
                };
                mac.update(timestamp.as_bytes());
                mac.update(b".");
                mac.update(body);
                mac.verify_slice(signature).is_ok()
            })
        })
    }

    /// A header value signing `body` at `timestamp` with the first secret;
    /// what a CRM does, and what tests and the demo do.
    pub fn sign(&self, body: &[u8], timestamp: i64) -> String {
        let secret = self.0.first().map(Vec::as_slice).unwrap_or_default();
        sign_with(secret, body, timestamp)
    }
}

/// Sign `body` at `timestamp` with `secret`, in the header format.
pub fn sign_with(secret: &[u8], body: &[u8], timestamp: i64) -> String {
    let hex = match Hmac::<Sha256>::new_from_slice(secret) {
        Ok(mut mac) => {
            mac.update(timestamp.to_string().as_bytes());
            mac.update(b".");
            mac.update(body);
            hex::encode(mac.finalize().into_bytes())
        }
        Err(_) => String::new(),
    };
    format!("t={timestamp},v1={hex}")
}

/// Where the secrets come from, so that a rotation reaches warm functions.
#[derive(Debug, Clone)]
pub enum SecretSource {
    /// Given once (local runs, tests): never re-read.
    Fixed,
    /// The Secrets Manager secret the template creates.
    SecretsManager {
        /// The client built at cold start.
        client: aws_sdk_secretsmanager::Client,
        /// The secret's ARN or name.
        secret_id: String,
    },
}

/// Re-read the secrets after this long even while signatures verify, so a
/// secret removed after rotation stops being accepted.
pub const SECRETS_MAX_AGE: Duration = Duration::from_secs(300);

/// After a failed verification, re-read at most this often: a rotated
/// secret is picked up at once, while a flood of bad signatures cannot turn
/// into a flood of Secrets Manager calls.
pub const SECRETS_RETRY_AFTER: Duration = Duration::from_secs(30);

/// The valid secrets and where to refresh them from.
#[derive(Debug)]
pub struct SecretRing {
    current: RwLock<(WebhookSecrets, Instant)>,
    source: SecretSource,
}

impl SecretRing {
    /// Secrets that never change (local runs, tests).
    pub fn fixed(secrets: WebhookSecrets) -> Self {
        Self {
            current: RwLock::new((secrets, Instant::now())),
            source: SecretSource::Fixed,
        }
    }

    /// Secrets from Secrets Manager, read now (at cold start) and refreshed
    /// as described on [`SECRETS_MAX_AGE`] and [`SECRETS_RETRY_AFTER`].
    pub async fn from_secrets_manager(
        client: aws_sdk_secretsmanager::Client,
        secret_id: String,
    ) -> Result<Self, SecretsError> {
        let source = SecretSource::SecretsManager { client, secret_id };
        let secrets = fetch(&source).await?;
        Ok(Self {
            current: RwLock::new((secrets, Instant::now())),
            source,
        })
    }

    /// Whether `header` signs `body` with a current secret, re-reading the
    /// secrets when they are old or when verification fails and they were
    /// not read just now.
    pub async fn verify(&self, header: Option<&str>, body: &[u8], now: DateTime<Utc>) -> bool {
        let (verified, age) = match self.current.read() {
            Ok(guard) => (guard.0.verify(header, body, now), guard.1.elapsed()),
            Err(_) => (false, Duration::MAX),
        };
        let refresh = matches!(self.source, SecretSource::SecretsManager { .. })
            && (age > SECRETS_MAX_AGE || (!verified && age > SECRETS_RETRY_AFTER));
        if !refresh {
            return verified;
        }
        match fetch(&self.source).await {
            Ok(fresh) => {
                let verified = fresh.verify(header, body, now);
                if let Ok(mut guard) = self.current.write() {
                    *guard = (fresh, Instant::now());
                }
                verified
            }
            Err(error) => {
                tracing::warn!(%error, "webhook secrets could not be re-read; keeping the loaded ones");
                verified
            }
        }
    }
}

async fn fetch(source: &SecretSource) -> Result<WebhookSecrets, SecretsError> {
    match source {
        SecretSource::Fixed => Err(SecretsError::permanent("fixed secrets are not re-read")),
        SecretSource::SecretsManager { client, secret_id } => {
            let output = client
                .get_secret_value()
                .secret_id(secret_id)
                .send()
                .await
                .map_err(|e| SecretsError {
                    reason: format!(
                        "GetSecretValue failed: {}",
                        aws_sdk_secretsmanager::error::DisplayErrorContext(&e)
                    ),
                    disposition: sdk_error_disposition(&e),
                })?;
            WebhookSecrets::from_secret_string(output.secret_string().unwrap_or_default())
        }
    }
}

struct SignatureHeader {
    timestamp: i64,
    signatures: Vec<Vec<u8>>,
}

impl SignatureHeader {
    /// `t=<digits>` once, `v1=<64 hex>` one or more times; anything else
    /// (unknown schemes such as `v0`) is ignored, as senders may add schemes.
    fn parse(header: &str) -> Option<Self> {
        let mut timestamp = None;
        let mut signatures = Vec::new();
        for part in header.split(',') {
            let part = part.trim();
            if part.is_empty() {
                continue;
            }
            let (key, value) = part.split_once('=')?;
            match key {
                "t" => {
                    if timestamp.is_some()
                        || value.is_empty()
                        || !value.bytes().all(|b| b.is_ascii_digit())
                    {
                        return None;
                    }
                    timestamp = Some(value.parse().ok()?);
                }
                "v1" if value.len() == 64 => signatures.push(hex::decode(value).ok()?),
                "v1" => return None,
                _ => {}
            }
        }
        (!signatures.is_empty()).then_some(())?;
        Some(Self {
            timestamp: timestamp?,
            signatures,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secrets() -> WebhookSecrets {
        WebhookSecrets::new(["new-secret", "old-secret"]).unwrap()
    }

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(seconds, 0).unwrap()
    }

    const BODY: &[u8] = br#"{"opportunity_id":"006A"}"#;

    #[test]
    fn a_fresh_signature_by_any_current_secret_is_valid() {
        let header = sign_with(b"old-secret", BODY, 1_800_000_000);
        assert!(secrets().verify(Some(&header), BODY, at(1_800_000_100)));
        let header = sign_with(b"new-secret", BODY, 1_800_000_000);
        assert!(secrets().verify(Some(&header), BODY, at(1_800_000_000)));
    }

    #[test]
    fn a_signature_outside_five_minutes_is_refused_both_ways() {
        let header = sign_with(b"new-secret", BODY, 1_800_000_000);
        assert!(secrets().verify(Some(&header), BODY, at(1_800_000_300)));
        assert!(!secrets().verify(Some(&header), BODY, at(1_800_000_301)));
        assert!(!secrets().verify(Some(&header), BODY, at(1_799_999_699)));
    }

    #[test]
    fn a_changed_body_or_unknown_secret_is_refused() {
        let header = sign_with(b"new-secret", BODY, 1_800_000_000);
        assert!(!secrets().verify(Some(&header), b"{}", at(1_800_000_000)));
        let header = sign_with(b"someone-else", BODY, 1_800_000_000);
        assert!(!secrets().verify(Some(&header), BODY, at(1_800_000_000)));
    }

    #[test]
    fn malformed_headers_are_refused() {
        let now = at(1_800_000_000);
        let good = sign_with(b"new-secret", BODY, 1_800_000_000);
        let hex = good.split("v1=").nth(1).unwrap();
        for header in [
            "",
            "t=1800000000",
            &format!("v1={hex}"),
            &format!("t=abc,v1={hex}"),
            &format!("t=-5,v1={hex}"),
            &format!("t=1800000000,v1={}", &hex[..10]),
            &format!("t=1800000000,v1={}zz", &hex[..62]),
            &format!("t=1800000000,t=1800000000,v1={hex}"),
            &format!("t=1800000000;v1={hex}"),
        ] {
            assert!(!secrets().verify(Some(header), BODY, now), "{header}");
        }
        assert!(!secrets().verify(None, BODY, now));
    }

    #[test]
    fn empty_parts_such_as_a_trailing_comma_are_ignored() {
        let header = format!("{},", sign_with(b"new-secret", BODY, 1_800_000_000));
        assert!(secrets().verify(Some(&header), BODY, at(1_800_000_000)));
    }

    #[tokio::test]
    async fn a_fixed_ring_verifies_without_refreshing() {
        let ring = SecretRing::fixed(secrets());
        let good = sign_with(b"new-secret", BODY, 1_800_000_000);
        assert!(ring.verify(Some(&good), BODY, at(1_800_000_000)).await);
        assert!(
            !ring
                .verify(Some("t=1,v1=00"), BODY, at(1_800_000_000))
                .await
        );
    }

    #[test]
    fn one_good_signature_among_several_is_enough() {
        let good = sign_with(b"new-secret", BODY, 1_800_000_000);
        let hex = good.split("v1=").nth(1).unwrap();
        let header = format!("t=1800000000,v1={},v1={hex},v0=legacy", "0".repeat(64));
        assert!(secrets().verify(Some(&header), BODY, at(1_800_000_000)));
    }

    #[test]
    fn secrets_manager_json_holds_the_rotation_pair() {
        let s = WebhookSecrets::from_secret_string(r#"{"current":"a","previous":"b"}"#).unwrap();
        assert!(s.verify(Some(&sign_with(b"b", BODY, 10)), BODY, at(10)));
        assert!(WebhookSecrets::from_secret_string(r#"{"current":""}"#).is_err());
        assert_eq!(format!("{s:?}"), "WebhookSecrets(2 secret(s), redacted)");
    }
}
