//! Local login (issue 20): `make api` verifies the local OpenID provider's
//! tokens as API Gateway's JWT authorizer verifies Cognito's
//! (`billing_tests::oidc`, what `examples/serve.rs` calls). The provider
//! is played by this test: a discovery document and a JWKS on loopback,
//! with a test-only RSA key (`tests/fixtures/oidc/`, never used anywhere
//! else). A good token reaches the function as the claims the authorizer
//! passes on; every other token is answered 401 in the API's error shape.

mod common;

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use billing_api::handler::handle;
use billing_domain::staff::StaffRole;
use billing_tests::billing::stored_seller;
use billing_tests::oidc::{LocalOidc, LoginError, authorizer_context};
use billing_tests::{local_clients, resource};
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use lambda_http::request::RequestContext;
use lambda_http::{Body, RequestExt};
use serde_json::{Value, json};

const SIGNING_KEY: &[u8] = include_bytes!("../../../tests/fixtures/oidc/test-signing-key.pem");
const OTHER_KEY: &[u8] = include_bytes!("../../../tests/fixtures/oidc/test-other-key.pem");
const JWKS: &str = include_str!("../../../tests/fixtures/oidc/test-jwks.json");
const KID: &str = "test-key-1";
const AUDIENCE: &str = "billing-console";

/// The provider on a loopback port: its issuer URL and how many times its
/// JWKS was fetched.
fn provider() -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a loopback port");
    let issuer = format!("http://{}", listener.local_addr().expect("an address"));
    let fetched = Arc::new(AtomicUsize::new(0));
    let (served, counter) = (issuer.clone(), fetched.clone());
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut reader = BufReader::new(stream);
            let mut line = String::new();
            if reader.read_line(&mut line).is_err() {
                continue;
            }
            // The rest of the head.
            let mut header = String::new();
            while reader.read_line(&mut header).is_ok_and(|n| n > 2) {
                header.clear();
            }
            let path = line.split_whitespace().nth(1).unwrap_or("").to_owned();
            let body = match path.as_str() {
                "/.well-known/openid-configuration" => json!({
                    "issuer": served,
                    "jwks_uri": format!("{served}/jwks"),
                    "id_token_signing_alg_values_supported": ["RS256"],
                })
                .to_string(),
                "/jwks" => {
                    counter.fetch_add(1, Ordering::SeqCst);
                    JWKS.to_owned()
                }
                _ => String::new(),
            };
            let status = if body.is_empty() {
                "404 Not Found"
            } else {
                "200 OK"
            };
            let mut stream = reader.into_inner();
            let _ = write!(
                stream,
                "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    (issuer, fetched)
}

/// A token as the console's provider issues it: ID token claims shaped
/// like Cognito's, `overrides` replacing any of them.
fn token(issuer: &str, overrides: Value, key: &[u8], kid: &str) -> String {
    let now = chrono::Utc::now().timestamp();
    let mut claims = json!({
        "iss": issuer,
        "aud": AUDIENCE,
        "sub": "5f1c-clerk",
        "iat": now,
        "exp": now + 300,
        "cognito:groups": ["billing"],
        "email": "clerk@example.org",
    });
    if let (Value::Object(claims), Value::Object(overrides)) = (&mut claims, overrides) {
        claims.extend(overrides);
    }
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some(kid.to_owned());
    encode(
        &header,
        &claims,
        &EncodingKey::from_rsa_pem(key).expect("a test RSA key"),
    )
    .expect("a signed token")
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

/// A request to the function carrying what the authorizer passes on:
/// the claims, or none at all when the token was refused.
fn request(
    claims: Option<HashMap<String, String>>,
    method: &str,
    path: &str,
) -> lambda_http::Request {
    let context = claims.map(authorizer_context).unwrap_or_default();
    lambda_http::http::Request::builder()
        .method(method)
        .uri(path)
        .body(Body::Empty)
        .expect("a request")
        .with_request_context(RequestContext::ApiGatewayV2(context))
}

#[tokio::test]
async fn a_good_token_reaches_the_function_as_the_authorizers_claims() {
    // GIVEN the provider and the API of a seller
    let (issuer, _) = provider();
    let oidc = LocalOidc::discover(&issuer, AUDIENCE).expect("the provider is discovered");
    let store =
        billing_store::BillingStore::new(local_clients().await.dynamodb, resource("BILLING_TABLE"));
    let state = common::state(&stored_seller(&store).await, None).await;

    // WHEN a clerk's and a salesperson's tokens are verified
    let clerk = oidc
        .verify(Some(&bearer(&token(&issuer, json!({}), SIGNING_KEY, KID))))
        .expect("the clerk's token is good");
    let sales = oidc
        .verify(Some(&bearer(&token(
            &issuer,
            json!({"sub": "77aa-sales", "cognito:groups": ["sales"]}),
            SIGNING_KEY,
            KID,
        ))))
        .expect("the salesperson's token is good");

    // THEN their claims are the authorizer's: the id, the groups as a list
    assert_eq!(clerk["sub"], "5f1c-clerk");
    assert_eq!(clerk["cognito:groups"], "[billing]");
    let who = billing_api::staff::caller(&RequestContext::ApiGatewayV2(authorizer_context(
        clerk.clone(),
    )))
    .expect("a staff member");
    assert_eq!(
        (who.user.as_str(), who.role),
        ("5f1c-clerk", StaffRole::Billing)
    );
    // AND the function answers each by role
    let response = handle(&state, request(Some(clerk), "GET", "/v1/needs-attention")).await;
    assert_eq!(response.status(), 200);
    let response = handle(
        &state,
        request(Some(sales.clone()), "GET", "/v1/needs-attention"),
    )
    .await;
    assert_eq!(response.status(), 200);
    let response = handle(&state, request(Some(sales), "POST", "/v1/run-previews")).await;
    assert_eq!(response.status(), 403);
}

#[tokio::test]
async fn every_other_token_is_refused_and_answered_401() {
    let (issuer, fetched) = provider();
    let oidc = LocalOidc::discover(&issuer, AUDIENCE).expect("the provider is discovered");
    let now = chrono::Utc::now().timestamp();
    let cases = [
        (
            "wrong issuer",
            token("http://127.0.0.1:1", json!({}), SIGNING_KEY, KID),
        ),
        (
            "wrong audience",
            token(&issuer, json!({"aud": "another-client"}), SIGNING_KEY, KID),
        ),
        (
            "expired",
            token(&issuer, json!({"exp": now - 1}), SIGNING_KEY, KID),
        ),
        (
            "not yet valid",
            token(&issuer, json!({"nbf": now + 120}), SIGNING_KEY, KID),
        ),
        (
            "issued in the future",
            token(&issuer, json!({"iat": now + 120}), SIGNING_KEY, KID),
        ),
        ("bad signature", token(&issuer, json!({}), OTHER_KEY, KID)),
        (
            "unknown kid",
            token(&issuer, json!({}), OTHER_KEY, "test-key-2"),
        ),
        ("no expiry", {
            // The right key, but claims without `exp`.
            let mut header = Header::new(Algorithm::RS256);
            header.kid = Some(KID.to_owned());
            encode(
                &header,
                &json!({"iss": issuer, "aud": AUDIENCE, "sub": "x", "cognito:groups": ["billing"]}),
                &EncodingKey::from_rsa_pem(SIGNING_KEY).expect("a key"),
            )
            .expect("a token")
        }),
        ("not a JWT", "not.a.jwt".to_owned()),
    ];
    for (case, token) in &cases {
        // WHEN it is verified THEN it is refused
        match oidc.verify(Some(&bearer(token))) {
            Err(LoginError::Refused(_)) => {}
            other => panic!("{case}: {other:?}"),
        }
    }
    // An HS256 token (the key confusion attack) is refused by its algorithm.
    let mut header = Header::new(Algorithm::HS256);
    header.kid = Some(KID.to_owned());
    let hs = encode(
        &header,
        &json!({"iss": issuer, "aud": AUDIENCE, "sub": "x", "exp": now + 300}),
        &EncodingKey::from_secret(JWKS.as_bytes()).expect("an HMAC key"),
    )
    .expect("a token");
    assert!(matches!(
        oidc.verify(Some(&bearer(&hs))),
        Err(LoginError::Refused(_))
    ));
    // No header, another scheme, an empty token: no token at all.
    for header in [None, Some("Basic Y2xlcms6Y2xlcms="), Some("Bearer ")] {
        assert!(
            matches!(oidc.verify(header), Err(LoginError::Missing)),
            "{header:?}"
        );
    }
    // The unknown kid did not refetch the JWKS fetched moments ago at
    // discovery (refetches are rate limited).
    assert_eq!(fetched.load(Ordering::SeqCst), 1);

    // AND a refused token reaches the function without claims: 401 in the
    // API's one error shape
    let store =
        billing_store::BillingStore::new(local_clients().await.dynamodb, resource("BILLING_TABLE"));
    let state = common::state(&stored_seller(&store).await, None).await;
    let response = handle(&state, request(None, "GET", "/v1/needs-attention")).await;
    assert_eq!(response.status(), 401);
    let body = common::json(&response);
    assert_eq!(body["code"], "unauthenticated");
    assert_eq!(body["errors"], json!([]));
}

#[test]
fn a_provider_whose_discovery_names_another_issuer_is_not_trusted() {
    let (issuer, _) = provider();
    // The same provider under another name (localhost for 127.0.0.1).
    let alias = issuer.replace("127.0.0.1", "localhost");
    match LocalOidc::discover(&alias, AUDIENCE) {
        Err(LoginError::Provider { reason, .. }) => {
            assert!(reason.contains("names issuer"), "{reason}")
        }
        other => panic!("{other:?}"),
    }
}
