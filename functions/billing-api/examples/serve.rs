//! `make api`: the staff API on a loopback port against the local AWS, for
//! exploring it with curl or a browser.
//!
//! There is no Cognito locally. With `LOCAL_OIDC_ISSUER` set (the
//! console's local OpenID provider, `make console`), this server verifies
//! `Authorization: Bearer` tokens as API Gateway's JWT authorizer verifies
//! Cognito's — issuer, audience (`LOCAL_OIDC_AUDIENCE`, default
//! `billing-console`), expiry, RS256 signature from the provider's JWKS
//! (`billing_tests::oidc`) — and hands their claims (`sub`,
//! `cognito:groups`) to the function where the authorizer puts them; any
//! other request is answered 401. Without it, for API tests only, two
//! request headers stand in for the claims: `X-Local-Role: billing` or
//! `sales` (the `cognito:groups` claim; omit it to see the 401 of an
//! unauthenticated call) and optionally `X-Local-User` (the `sub` claim,
//! default `local-<role>`). The deployed function never looks at either.
//!
//! CORS as the template's HTTP API answers it: preflights and responses
//! allow exactly the console's origin (`CONSOLE_ORIGIN`, default
//! `http://127.0.0.1:5173`), the `Authorization`, `If-Match` and
//! `Content-Type` headers, and expose `ETag`.
//!
//! `--seed` first stores the template's seller (`BILLING_ENTITY_ID`, from
//! `docs/examples/billing-entity.json`) with a customer and three invoices,
//! so there is something to look at. `BILLING_API_PORT` picks the port
//! (default 8787).

use std::collections::HashMap;
use std::error::Error;

use aws_lambda_events::event::apigw::ApiGatewayV2httpRequestContext;
use billing_api::error::ApiError;
use billing_api::handler::{ApiState, handle};
use billing_api::reply::render;
use billing_domain::ids::BillingEntityId;
use billing_domain::party::CustomerKind;
use billing_lambda::aws::{AwsClients, load_sdk_config};
use billing_lambda::config;
use billing_store::BillingStore;
use billing_tests::oidc::{LocalOidc, authorizer_context};
use lambda_http::request::RequestContext;
use lambda_http::{Body, RequestExt, Response};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

/// Largest request body accepted.
const MAX_BODY: usize = 1 << 20;

/// The console's origin when `CONSOLE_ORIGIN` is not set (`make console`).
const DEFAULT_CONSOLE_ORIGIN: &str = "http://127.0.0.1:5173";

/// The audience of the console's tokens when `LOCAL_OIDC_AUDIENCE` is not
/// set: its client id at the local provider.
const DEFAULT_AUDIENCE: &str = "billing-console";

/// The methods the API answers, for preflights.
const CORS_METHODS: &str = "GET, POST, PUT, PATCH, DELETE";

/// The request headers the console sends, for preflights.
const CORS_HEADERS: &str = "authorization, content-type, if-match";

/// The server: the function's state, how callers are identified, and the
/// console's origin.
struct Local {
    state: ApiState,
    /// The local OpenID provider, if `LOCAL_OIDC_ISSUER` is set.
    oidc: Option<LocalOidc>,
    console_origin: String,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let endpoint = config::optional("AWS_ENDPOINT_URL").unwrap_or_default();
    if !(endpoint.starts_with("http://127.0.0.1:") || endpoint.starts_with("http://localhost:")) {
        return Err("AWS_ENDPOINT_URL must point at the local AWS: run `make api`".into());
    }
    let clients = AwsClients::new(&load_sdk_config().await);
    let entity = BillingEntityId::parse(&config::required("BILLING_ENTITY_ID")?)?;
    let state = ApiState {
        store: BillingStore::new(clients.dynamodb.clone(), config::required("BILLING_TABLE")?),
        entity: entity.clone(),
        s3: clients.s3.clone(),
        documents_bucket: config::required("DOCUMENTS_BUCKET")?,
        sqs: clients.sqs.clone(),
        delivery_queue_url: config::required("DELIVERY_QUEUE_URL")?,
        run_queue_url: config::required("INVOICE_RUN_QUEUE_URL")?,
    };
    if std::env::args().any(|a| a == "--seed") {
        seed(&state.store, &entity).await?;
    }
    let oidc = match config::optional("LOCAL_OIDC_ISSUER") {
        Some(issuer) => {
            let audience =
                config::optional("LOCAL_OIDC_AUDIENCE").unwrap_or_else(|| DEFAULT_AUDIENCE.into());
            let oidc = tokio::task::spawn_blocking(move || LocalOidc::discover(&issuer, &audience))
                .await??;
            println!("verifying bearer tokens of {}", oidc.issuer());
            Some(oidc)
        }
        None => None,
    };
    let console_origin =
        config::optional("CONSOLE_ORIGIN").unwrap_or_else(|| DEFAULT_CONSOLE_ORIGIN.into());
    let port: u16 = config::optional("BILLING_API_PORT")
        .map(|p| p.parse())
        .transpose()?
        .unwrap_or(8787);
    let listener = TcpListener::bind(("127.0.0.1", port)).await?;
    println!(
        "staff API on http://127.0.0.1:{port}/v1/ (seller {entity}), CORS for {console_origin}"
    );
    if oidc.is_none() {
        println!("  curl -H 'X-Local-Role: sales' http://127.0.0.1:{port}/v1/invoices");
        println!("  curl -H 'X-Local-Role: billing' http://127.0.0.1:{port}/v1/needs-attention");
    }
    let local: &'static Local = Box::leak(Box::new(Local {
        state,
        oidc,
        console_origin,
    }));
    loop {
        let (stream, _) = listener.accept().await?;
        tokio::spawn(async move {
            if let Err(err) = serve_one(local, stream).await {
                eprintln!("request failed: {err}");
            }
        });
    }
}

/// One HTTP/1.1 request per connection (`Connection: close`): enough for
/// curl, a browser and the schema fuzzer. A request this server cannot
/// read (a header that is not UTF-8, a malformed request line or header)
/// is answered 400 with the API's error shape, as API Gateway answers it,
/// never by closing the connection.
async fn serve_one(local: &Local, stream: TcpStream) -> Result<(), Box<dyn Error + Send + Sync>> {
    let mut reader = BufReader::new(stream);
    let (label, origin, mut response) = match read_request(local, &mut reader).await? {
        Ok(read) if read.preflight => (read.label, read.origin, preflight()),
        Ok(read) => (
            read.label,
            read.origin,
            handle(&local.state, read.request).await,
        ),
        Err(error) => (
            "(malformed request)".to_owned(),
            None,
            render(None, Err(error)),
        ),
    };
    allow_console(local, origin.as_deref(), &mut response);
    let mut head = format!(
        "HTTP/1.1 {} {}\r\nConnection: close\r\nContent-Length: {}\r\n",
        response.status().as_u16(),
        response.status().canonical_reason().unwrap_or(""),
        response.body().len()
    );
    for (name, value) in response.headers() {
        head.push_str(&format!("{name}: {}\r\n", value.to_str().unwrap_or("")));
    }
    head.push_str("\r\n");
    let mut stream = reader.into_inner();
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(response.body().as_ref()).await?;
    stream.shutdown().await?;
    println!("{label} -> {}", response.status().as_u16());
    Ok(())
}

/// One line of the request head, without its line end; `Err` when it is
/// not UTF-8.
async fn read_line(
    reader: &mut BufReader<TcpStream>,
    what: &str,
) -> std::io::Result<Result<String, ApiError>> {
    let mut bytes = Vec::new();
    reader.read_until(b'\n', &mut bytes).await?;
    Ok(String::from_utf8(bytes)
        .map(|line| line.trim_end_matches(['\r', '\n']).to_owned())
        .map_err(|_| ApiError::invalid(what, "is not UTF-8")))
}

/// The answer to a CORS preflight: no content; the CORS headers are added
/// by [`allow_console`] when the origin is the console's.
fn preflight() -> Response<Body> {
    let mut response = Response::new(Body::Empty);
    *response.status_mut() = lambda_http::http::StatusCode::NO_CONTENT;
    response
}

/// The CORS headers for the console's origin (and for no other).
fn allow_console(local: &Local, origin: Option<&str>, response: &mut Response<Body>) {
    use lambda_http::http::HeaderValue;
    let headers = response.headers_mut();
    headers.insert("vary", HeaderValue::from_static("Origin"));
    if origin != Some(local.console_origin.as_str()) {
        return;
    }
    let pairs = [
        ("access-control-allow-origin", local.console_origin.as_str()),
        ("access-control-allow-methods", CORS_METHODS),
        ("access-control-allow-headers", CORS_HEADERS),
        ("access-control-expose-headers", "ETag"),
        ("access-control-max-age", "600"),
    ];
    for (name, value) in pairs {
        if let Ok(value) = HeaderValue::from_str(value) {
            headers.insert(name, value);
        }
    }
}

/// A request as read: the function's request, or a CORS preflight.
struct Read {
    label: String,
    origin: Option<String>,
    preflight: bool,
    request: lambda_http::Request,
}

/// The claims the request carries: a verified bearer token's when a local
/// OpenID provider is configured, else `X-Local-Role`/`X-Local-User`'s.
/// `None` (401 from the function) when there are none or the token is
/// refused; the reason goes to the log, the token never.
fn claims(
    local: &Local,
    authorization: Option<&str>,
    role: Option<String>,
    user: Option<String>,
) -> Option<HashMap<String, String>> {
    match &local.oidc {
        Some(oidc) => match tokio::task::block_in_place(|| oidc.verify(authorization)) {
            Ok(claims) => Some(claims),
            Err(refused) => {
                eprintln!("401: {refused}");
                None
            }
        },
        None => role.map(|role| {
            HashMap::from([
                (
                    "sub".to_owned(),
                    user.unwrap_or_else(|| format!("local-{role}")),
                ),
                ("cognito:groups".to_owned(), format!("[{role}]")),
            ])
        }),
    }
}

/// The request as API Gateway would hand it to the function (with the
/// claims of [`claims`]), a CORS preflight, or the 400 it would answer.
async fn read_request(
    local: &Local,
    reader: &mut BufReader<TcpStream>,
) -> std::io::Result<Result<Read, ApiError>> {
    let line = match read_line(reader, "/request-line").await? {
        Ok(line) => line,
        Err(error) => return Ok(Err(error)),
    };
    let mut parts = line.split_whitespace();
    let (Some(method), Some(target)) = (parts.next(), parts.next()) else {
        return Ok(Err(ApiError::invalid(
            "/request-line",
            "must be METHOD TARGET HTTP/1.1",
        )));
    };
    let (method, target) = (method.to_owned(), target.to_owned());
    let mut builder = lambda_http::http::Request::builder()
        .method(method.as_str())
        .uri(target.as_str());
    let (mut role, mut user, mut length) = (None, None, 0usize);
    let (mut authorization, mut origin, mut asks_cors) = (None, None, false);
    let mut malformed = None;
    loop {
        let header = match read_line(reader, "/header").await? {
            Ok(header) => header,
            Err(error) => {
                malformed.get_or_insert(error);
                continue;
            }
        };
        if header.is_empty() {
            break;
        }
        let Some((name, value)) = header.split_once(':') else {
            malformed.get_or_insert(ApiError::invalid("/header", "must be Name: value"));
            continue;
        };
        let (name, value) = (name.trim(), value.trim());
        match name.to_ascii_lowercase().as_str() {
            "x-local-role" => role = Some(value.to_owned()),
            "x-local-user" => user = Some(value.to_owned()),
            "authorization" => authorization = Some(value.to_owned()),
            "origin" => origin = Some(value.to_owned()),
            "access-control-request-method" => asks_cors = true,
            "content-length" => match value.parse() {
                Ok(n) => length = n,
                Err(_) => {
                    malformed.get_or_insert(ApiError::invalid(
                        "/header/content-length",
                        "must be a whole number",
                    ));
                }
            },
            _ => {}
        }
        builder = builder.header(name, value);
    }
    if let Some(error) = malformed {
        return Ok(Err(error));
    }
    if length > MAX_BODY {
        return Ok(Err(ApiError::invalid(
            "/header/content-length",
            format!("the body may have at most {MAX_BODY} bytes"),
        )));
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).await?;
    // A CORS preflight, as API Gateway tells it apart: OPTIONS with an
    // origin and the method it asks about; any other OPTIONS is the
    // function's (405 with Allow).
    let preflight = method == "OPTIONS" && origin.is_some() && asks_cors;
    let context = if preflight {
        ApiGatewayV2httpRequestContext::default()
    } else {
        claims(local, authorization.as_deref(), role, user)
            .map(authorizer_context)
            .unwrap_or_default()
    };
    let request = match builder.body(if body.is_empty() {
        Body::Empty
    } else {
        Body::from(body)
    }) {
        Ok(request) => request.with_request_context(RequestContext::ApiGatewayV2(context)),
        Err(_) => {
            return Ok(Err(ApiError::invalid(
                "/request-line",
                "the method, target or a header is not valid HTTP",
            )));
        }
    };
    Ok(Ok(Read {
        label: format!("{method} {target}"),
        origin,
        preflight,
        request,
    }))
}

/// The template's seller, a customer and three invoices (one partly paid).
async fn seed(store: &BillingStore, entity: &BillingEntityId) -> Result<(), Box<dyn Error>> {
    let seller = billing_tests::webhook::example_entity(entity.as_str());
    store.put_billing_entity(&seller).await?;
    let account = billing_tests::billing::customer(&seller.id, CustomerKind::Business);
    for (day, net) in [
        ("2026-03-02", 49_000),
        ("2026-04-01", 12_900),
        ("2026-05-04", 9_900),
    ] {
        let issued = day.parse()?;
        let invoice = billing_tests::billing::invoice(
            store,
            &seller,
            &account,
            issued,
            rust_decimal::Decimal::new(net, 2),
        )
        .await;
        println!(
            "seeded invoice {} ({})",
            invoice.number(),
            invoice.content().id
        );
    }
    println!("seeded account {} ({})", account.id, account.name);
    Ok(())
}
