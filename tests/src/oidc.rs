//! Local login for `make api`: bearer tokens from a standards-conformant
//! OpenID provider on loopback (the console's `oidc-provider`), verified
//! the way API Gateway's JWT authorizer verifies Cognito's, and their
//! claims handed to the function where the authorizer puts them.
//!
//! What the authorizer checks, and so what is checked here: the token is a
//! JWS signed RS256 with a key of the issuer's JWKS (found through
//! `<issuer>/.well-known/openid-configuration`, `kid` required), `iss` is
//! the configured issuer exactly, `aud` (or `client_id`) names the
//! configured audience, `exp` is in the future and `nbf`/`iat`, if present,
//! are not. No leeway (the authorizer allows none). An unknown `kid`
//! refetches the JWKS once (the provider may have rotated), at most every
//! [`REFETCH_INTERVAL`].
//!
//! The deployed function never sees this code: API Gateway verifies, and
//! only claims reach the Lambda.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use aws_lambda_events::event::apigw::{
    ApiGatewayRequestAuthorizer, ApiGatewayRequestAuthorizerJwtDescription,
    ApiGatewayV2httpRequestContext,
};
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode, decode_header};
use serde_json::Value;

/// Least time between two JWKS fetches caused by unknown key ids.
pub const REFETCH_INTERVAL: Duration = Duration::from_secs(30);

/// Why a token was not accepted. Every case is a 401 to the caller; the
/// reason is for the local server's log (never the token itself).
#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    /// No `Authorization: Bearer` header.
    #[error("no bearer token")]
    Missing,
    /// The token failed a check.
    #[error("token refused: {0}")]
    Refused(String),
    /// The provider's discovery document or JWKS could not be read.
    #[error("OpenID provider {issuer}: {reason}")]
    Provider {
        /// The issuer asked.
        issuer: String,
        /// What went wrong.
        reason: String,
    },
}

/// The configured provider and its current signing keys.
#[derive(Debug)]
pub struct LocalOidc {
    issuer: String,
    audience: String,
    jwks_uri: String,
    keys: Mutex<(JwkSet, Instant)>,
}

impl LocalOidc {
    /// Reads `<issuer>/.well-known/openid-configuration` (its `issuer`
    /// must be `issuer` exactly, as OpenID Connect Discovery requires) and
    /// the JWKS it names. Blocking: call it at start-up.
    pub fn discover(issuer: &str, audience: &str) -> Result<Self, LoginError> {
        let provider = |reason: String| LoginError::Provider {
            issuer: issuer.to_owned(),
            reason,
        };
        let url = format!(
            "{}/.well-known/openid-configuration",
            issuer.trim_end_matches('/')
        );
        let document = fetch_json(&url).map_err(provider)?;
        if document["issuer"].as_str() != Some(issuer) {
            return Err(provider(format!(
                "its discovery document names issuer {}, not this one",
                document["issuer"]
            )));
        }
        let jwks_uri = document["jwks_uri"]
            .as_str()
            .ok_or_else(|| provider("its discovery document has no jwks_uri".into()))?
            .to_owned();
        let keys = fetch_keys(&jwks_uri).map_err(provider)?;
        Ok(Self {
            issuer: issuer.to_owned(),
            audience: audience.to_owned(),
            jwks_uri,
            keys: Mutex::new((keys, Instant::now())),
        })
    }

    /// The issuer tokens must name.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The verified claims of the request's `Authorization` header value,
    /// in the form API Gateway hands them to a function: every claim a
    /// string, a list as `[a b]`. May block to refetch the JWKS.
    pub fn verify(
        &self,
        authorization: Option<&str>,
    ) -> Result<HashMap<String, String>, LoginError> {
        let token = authorization
            .and_then(|value| {
                let (scheme, token) = value.trim().split_once(' ')?;
                scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
            })
            .filter(|token| !token.is_empty())
            .ok_or(LoginError::Missing)?;
        let refused = |e: &dyn std::fmt::Display| LoginError::Refused(e.to_string());
        let header = decode_header(token).map_err(|e| refused(&e))?;
        if header.alg != Algorithm::RS256 {
            return Err(LoginError::Refused(format!(
                "{:?} is not RS256",
                header.alg
            )));
        }
        let kid = header
            .kid
            .ok_or_else(|| LoginError::Refused("the token names no key (kid)".into()))?;
        let key = self.key(&kid)?;
        let mut validation = Validation::new(Algorithm::RS256);
        validation.leeway = 0;
        validation.validate_nbf = true;
        validation.set_issuer(&[&self.issuer]);
        validation.set_required_spec_claims(&["exp", "iss"]);
        // The authorizer accepts the audience in `aud` or (access tokens)
        // in `client_id`: checked below, not by the library.
        validation.validate_aud = false;
        let data =
            decode::<HashMap<String, Value>>(token, &key, &validation).map_err(|e| refused(&e))?;
        let claims = data.claims;
        let audience_named = match claims.get("aud") {
            Some(Value::String(aud)) => aud == &self.audience,
            Some(Value::Array(auds)) => auds.iter().any(|a| a.as_str() == Some(&self.audience)),
            _ => claims.get("client_id").and_then(Value::as_str) == Some(&self.audience),
        };
        if !audience_named {
            return Err(LoginError::Refused(format!(
                "the token is not for audience {}",
                self.audience
            )));
        }
        if let Some(iat) = claims.get("iat").and_then(Value::as_i64)
            && iat > chrono::Utc::now().timestamp()
        {
            return Err(LoginError::Refused(
                "the token is issued in the future".into(),
            ));
        }
        Ok(claims
            .into_iter()
            .map(|(name, value)| (name, claim_text(&value)))
            .collect())
    }

    /// The decoding key `kid`, refetching the JWKS once if it is unknown.
    fn key(&self, kid: &str) -> Result<DecodingKey, LoginError> {
        let mut keys = self
            .keys
            .lock()
            .map_err(|_| LoginError::Refused("the key cache is unusable".into()))?;
        if keys.0.find(kid).is_none() && keys.1.elapsed() >= REFETCH_INTERVAL {
            let fetched = fetch_keys(&self.jwks_uri).map_err(|reason| LoginError::Provider {
                issuer: self.issuer.clone(),
                reason,
            })?;
            *keys = (fetched, Instant::now());
        }
        let jwk = keys
            .0
            .find(kid)
            .ok_or_else(|| LoginError::Refused(format!("key {kid} is not in the issuer's JWKS")))?;
        DecodingKey::from_jwk(jwk).map_err(|e| LoginError::Refused(e.to_string()))
    }
}

/// A claim as API Gateway passes it: strings as they are, a list as
/// `[a b]`, anything else as its JSON text.
fn claim_text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        Value::Array(items) => format!(
            "[{}]",
            items.iter().map(claim_text).collect::<Vec<_>>().join(" ")
        ),
        other => other.to_string(),
    }
}

/// The request context API Gateway's JWT authorizer builds from verified
/// claims: what `billing_api::staff::caller` reads.
pub fn authorizer_context(claims: HashMap<String, String>) -> ApiGatewayV2httpRequestContext {
    let mut jwt = ApiGatewayRequestAuthorizerJwtDescription::default();
    jwt.claims = claims;
    let mut authorizer = ApiGatewayRequestAuthorizer::default();
    authorizer.jwt = Some(jwt);
    let mut context = ApiGatewayV2httpRequestContext::default();
    context.authorizer = Some(authorizer);
    context
}

fn fetch_json(url: &str) -> Result<Value, String> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(5)))
        .build()
        .into();
    let text = agent
        .get(url)
        .call()
        .and_then(|mut response| response.body_mut().read_to_string())
        .map_err(|e| format!("GET {url}: {e}"))?;
    serde_json::from_str(&text).map_err(|e| format!("GET {url}: not JSON: {e}"))
}

fn fetch_keys(url: &str) -> Result<JwkSet, String> {
    serde_json::from_value(fetch_json(url)?).map_err(|e| format!("GET {url}: not a JWKS: {e}"))
}
