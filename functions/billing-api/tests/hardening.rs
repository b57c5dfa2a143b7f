//! Issue #25: what `sales` reads holds no customer's or payer's bank or
//! personal data in any text, on any read route, over realistic data
//! (camt.053 remittance texts, clerks' reasons); and every write refuses by
//! name what it does not understand, changing nothing.

mod common;

use aws_lambda_events::event::apigw::{
    ApiGatewayRequestAuthorizer, ApiGatewayRequestAuthorizerJwtDescription,
    ApiGatewayV2httpRequestContext,
};
use billing_api::handler::handle;
use billing_api::router::{Access, Op, ROUTES};
use chrono::NaiveDate;
use common::{Who, World, etag, get, json, request, unmatched};
use lambda_http::request::RequestContext;
use lambda_http::{Body, RequestExt};
use serde_json::{Value, json};

/// Payers' and customers' data a sales user must never read (compared
/// without case): IBANs compact, printed and hyphenated (their last four
/// may stay), BICs, account holders, e-mail addresses.
const SECRETS: &[&str] = &[
    "DE44500105175407324931",
    "DE44 5001 0517 5407",
    "DE44-5001-0517-5407",
    "AT611904300234573201",
    "AT61 1904 3002 3457",
    "ES9121000418450200051332",
    "ES91 2100 0418 4502 0005",
    "PL61109010140000071219812874",
    "PL61 1090 1014 0000 0712 1981",
    "BE68539007547034",
    "BE68 5390 0754",
    "NL91ABNA0417164300",
    "NL91 ABNA 0417 1643",
    "FR1420041010050500013M02606",
    "FR14 2004 1010 0505 0001 3M02",
    "DE02120300000000202051",
    "DE02 1203 0000 0000 2020",
    "COBADEFFXXX",
    "GENODEF1S04",
    "INGDDEFF",
    "Erika Mustermann",
    "Jan Kowalski",
    "erika.mustermann@kunde-gmbh.example",
    "jan.kowalski@firma.example",
    "zahlung@payer.example",
];

/// Remittance texts as banks deliver them in camt.053 (`Ustrd` lines,
/// joined), each carrying a payer's data.
const REMITTANCES: &[&str] = &[
    "EREF+RE-2026-000017 SVWZ+Rechnung Mai IBAN DE44 5001 0517 5407 3249 31 BIC COBADEFFXXX",
    "Miete Juni AT61 1904 3002 3457 3201 Kontoinhaber: Erika Mustermann",
    "IBANDE44500105175407324931 Rueckfragen erika.mustermann@kunde-gmbh.example",
    "Zahlung ES91 2100 0418 4502 0005 1332 Rechnung RE-2026-000003\nAuftraggeber: Jan Kowalski",
    "PL61 1090 1014 0000 0712 1981 2874 Faktura 17, jan.kowalski@firma.example",
    "Konto DE44-5001-0517-5407-3249-31 BICGENODEF1S04 RE-2026-000018",
    "BE68 5390 0754 7034 NL91ABNA0417164300 FR14 2004 1010 0505 0001 3M02 606 SWIFT INGDDEFF",
    "Rechnung Mai, Konto DE02 1203 0000\n0000 2020 51, Kontoinhaber Erika Mustermann",
];

async fn review_entry(world: &World, remittance: &str, n: usize) {
    let day = NaiveDate::from_ymd_opt(2026, 6, 5).expect("a date");
    world
        .state
        .store
        .put_for_review(&world.entity.id, &unmatched(remittance, day, n as i64))
        .await
        .expect("review entry");
}

/// A billing clerk's write; panics unless it succeeds.
async fn clerk(world: &World, method: &str, path: &str, body: Value) {
    let invoice = path.split('/').take(4).collect::<Vec<_>>().join("/");
    let read = get(&world.state, Who::Billing, &invoice).await;
    let response = handle(
        &world.state,
        request(Who::Billing, method, path, Some(&body), Some(&etag(&read))),
    )
    .await;
    assert!(
        response.status().is_success(),
        "{method} {path}: {}",
        String::from_utf8_lossy(response.body().as_ref())
    );
}

/// Every read route's concrete path in `world` (lists with a large page).
fn read_paths(world: &World) -> Vec<String> {
    let open = world.open.content().id.as_str();
    let bounced = world.bounced.content().id.as_str();
    let mut paths = Vec::new();
    for route in ROUTES.iter().filter(|r| r.access == Access::Read) {
        // Only the bounced invoice has archived documents.
        let invoices = if route.op == Op::InvoiceDocuments {
            vec![bounced]
        } else {
            vec![open, bounced]
        };
        for invoice in invoices {
            let mut path = route
                .path
                .replace("{account_id}", world.account.id.as_str())
                .replace("{invoice_id}", invoice)
                .replace(
                    "{run_id}",
                    if route.op == Op::RunPreview {
                        &world.preview_id
                    } else {
                        &world.run_id
                    },
                )
                .replace("{source}", "test")
                .replace("{org}", "org")
                .replace("{crm_id}", world.account.crm_id.as_str())
                .replace("{month}", "2026-05");
            path.push_str(if path.ends_with("/v1/accounts") {
                "?name_prefix=muster&limit=200"
            } else if path.ends_with("/v1/search") {
                "?q=muster&limit=200"
            } else {
                "?limit=200"
            });
            if !paths.contains(&path) {
                paths.push(path);
            }
        }
    }
    paths
}

#[tokio::test]
async fn sales_reads_no_customers_or_payers_bank_or_personal_data_on_any_route() {
    // GIVEN a seller whose bank statements and clerks put payers' IBANs,
    // BICs, names and e-mail addresses into texts
    let world = World::new().await;
    for (n, remittance) in REMITTANCES.iter().enumerate() {
        review_entry(&world, remittance, n).await;
    }
    let open = world.open.content().id.as_str();
    clerk(
        &world,
        "PUT",
        &format!("/v1/invoices/{open}/dispute"),
        json!({"reason": "Kunde (erika.mustermann@kunde-gmbh.example) zahlte von AT61 1904 3002 3457 3201 Miete, BIC GENODEF1S04"}),
    )
    .await;
    clerk(
        &world,
        "POST",
        &format!("/v1/invoices/{open}/payments"),
        json!({
            "amount": {"amount": "79.50", "currency": "EUR"},
            "value_date": "2026-05-20",
            "reference": "Ueberweisung von PL61 1090 1014 0000 0712 1981 2874",
            "reason": "Kontoinhaber: Jan Kowalski, jan.kowalski@firma.example",
        }),
    )
    .await;
    clerk(
        &world,
        "PUT",
        &format!("/v1/invoices/{open}/dunning-block"),
        json!({"reason": "Rueckruf an zahlung@payer.example; Konto BE68 5390 0754 7034 Mahnstopp"}),
    )
    .await;
    let paths = read_paths(&world);
    let mut saw_remittance = false;
    for path in &paths {
        // WHEN sales reads every route
        let response = get(&world.state, Who::Sales, path).await;
        let text = String::from_utf8_lossy(response.body().as_ref()).to_string();
        assert_eq!(response.status(), 200, "GET {path}: {text}");
        // THEN no IBAN, BIC, account holder or e-mail address of theirs shows
        for secret in SECRETS {
            assert!(
                !text.to_lowercase().contains(&secret.to_lowercase()),
                "sales read {secret:?} on {path}: {text}"
            );
        }
        saw_remittance |= text.contains("****3201") && text.contains("RE-2026-000017");
        // AND billing reads the same route unmasked
        let response = get(&world.state, Who::Billing, path).await;
        assert_eq!(response.status(), 200, "billing GET {path}");
    }
    assert!(saw_remittance, "the masked texts keep what is not personal");
    // AND the account's invoice addresses, a field sales works with, stay
    let account = get(
        &world.state,
        Who::Sales,
        &format!("/v1/accounts/{}", world.account.id),
    )
    .await;
    assert_eq!(
        json(&account)["invoice_emails"],
        json!(["buchhaltung@example.org"])
    );
    // AND billing sees the texts as received
    let review = get(&world.state, Who::Billing, "/v1/payments/review?limit=200").await;
    assert!(
        String::from_utf8_lossy(review.body().as_ref()).contains("DE44 5001 0517 5407 3249 31")
    );
}

/// A request with a raw body and content type, as `billing`.
fn raw(
    method: &str,
    path: &str,
    body: &str,
    content_type: Option<&str>,
    tag: &str,
) -> lambda_http::Request {
    let mut jwt = ApiGatewayRequestAuthorizerJwtDescription::default();
    jwt.claims.insert("sub".into(), "clerk-1".into());
    jwt.claims
        .insert("cognito:groups".into(), "[billing]".into());
    let mut authorizer = ApiGatewayRequestAuthorizer::default();
    authorizer.jwt = Some(jwt);
    let mut context = ApiGatewayV2httpRequestContext::default();
    context.authorizer = Some(authorizer);
    let mut builder = lambda_http::http::Request::builder()
        .method(method)
        .uri(path)
        .header("If-Match", tag);
    if let Some(content_type) = content_type {
        builder = builder.header("Content-Type", content_type);
    }
    builder
        .body(Body::from(body.to_owned()))
        .expect("a request")
        .with_request_context(RequestContext::ApiGatewayV2(context))
}

/// A refused write: method, path, body, content type, the status and the
/// pointer its error names.
type Case<'a> = (&'a str, &'a str, String, Option<&'a str>, u16, &'a str);

/// What a write could change.
async fn snapshot(world: &World) -> Value {
    let paths = [
        format!("/v1/invoices/{}", world.open.content().id),
        format!("/v1/invoices/{}/payments", world.open.content().id),
        format!("/v1/invoices/{}/audit", world.open.content().id),
        format!("/v1/accounts/{}", world.account.id),
        format!("/v1/accounts/{}/credit", world.account.id),
    ];
    common::snapshot(&world.state, &paths).await
}

#[tokio::test]
async fn writes_refuse_by_name_what_they_do_not_understand_and_change_nothing() {
    let world = World::new().await;
    let open = world.open.content().id.as_str();
    let account = world.account.id.as_str();
    let payments = format!("/v1/invoices/{open}/payments");
    let credit_notes = format!("/v1/invoices/{open}/credit-notes");
    let cancellation = format!("/v1/invoices/{open}/cancellation");
    let dispute = format!("/v1/invoices/{open}/dispute");
    let refunds = format!("/v1/accounts/{account}/credit/refunds");
    let json_type = Some("application/json");
    let before = snapshot(&world).await;
    let money = |amount: &str| {
        json!({"amount": {"amount": amount, "currency": "EUR"}, "reference": "cheque 7"})
            .to_string()
    };
    let cases: Vec<Case> = vec![
        // The wrong JSON type for the body.
        ("POST", &payments, json!([{"amount": {"amount": "5.00", "currency": "EUR"}, "reference": "x"}]).to_string(), json_type, 400, ""),
        ("PUT", &dispute, json!("customer disputes").to_string(), json_type, 400, ""),
        ("POST", &payments, "{\"amount\": ".to_owned(), json_type, 400, ""),
        // A content type other than JSON.
        ("POST", &payments, money("5.00"), Some("text/plain"), 415, "/header/content-type"),
        ("PUT", &dispute, json!({"reason": "x"}).to_string(), None, 415, "/header/content-type"),
        ("POST", &payments, money("5.00"), Some("application/x-www-form-urlencoded"), 415, "/header/content-type"),
        // The wrong JSON type for a field.
        ("POST", &payments, json!({"amount": {"amount": 5, "currency": "EUR"}, "reference": "x"}).to_string(), json_type, 400, "/amount/amount"),
        ("POST", &payments, json!({"amount": "5.00", "reference": "x"}).to_string(), json_type, 400, "/amount"),
        ("POST", &payments, json!({"amount": {"amount": "5.00", "currency": "EUR"}, "reference": 7}).to_string(), json_type, 400, "/reference"),
        ("POST", &payments, json!({"amount": {"amount": "5.00", "currency": "EUR"}, "reference": "x", "value_date": 20260520}).to_string(), json_type, 400, "/value_date"),
        ("POST", &cancellation, json!({"reason": "wrong customer", "release_periods": "yes"}).to_string(), json_type, 400, "/release_periods"),
        ("PUT", &dispute, json!({"reason": ["a", "b"]}).to_string(), json_type, 400, "/reason"),
        ("POST", &payments, json!({"amount": {"amount": "5.00", "currency": "EUR", "fx": 1}, "reference": "x"}).to_string(), json_type, 400, "/amount/fx"),
        // Exponents, more than the limit, more places than the currency has.
        ("POST", &payments, money("1e3"), json_type, 400, "/amount/amount"),
        ("POST", &payments, money("1E3"), json_type, 400, "/amount/amount"),
        ("POST", &payments, money("79228162514264337593543950335"), json_type, 400, "/amount/amount"),
        ("POST", &payments, money("100000000.01"), json_type, 400, "/amount/amount"),
        ("POST", &payments, money("5.001"), json_type, 400, "/amount/amount"),
        ("POST", &payments, money("-5.00"), json_type, 400, "/amount/amount"),
        ("POST", &payments, money("0.00"), json_type, 400, "/amount/amount"),
        ("POST", &payments, json!({"amount": {"amount": "5.00", "currency": "USD"}, "reference": "x"}).to_string(), json_type, 400, "/amount/currency"),
        ("POST", &refunds, money("1e2"), json_type, 400, "/amount/amount"),
        ("POST", &credit_notes, json!({"reason": "x", "selection": {"kind": "amount", "net": {"amount": "1e3", "currency": "EUR"}, "category": "S", "rate": "19"}}).to_string(), json_type, 400, "/selection/net/amount"),
        ("POST", &credit_notes, json!({"reason": "x", "selection": {"kind": "amount", "net": {"amount": "10.00", "currency": "EUR"}, "category": "S", "rate": "1.9e1"}}).to_string(), json_type, 400, "/selection/rate"),
        ("POST", &credit_notes, json!({"reason": "x", "selection": {"kind": "lines", "lines": [{"position": 1, "quantity": "1e0"}]}}).to_string(), json_type, 400, "/selection/lines/0/quantity"),
        ("POST", &credit_notes, json!({"reason": "x", "selection": {"kind": "lines", "lines": [{"position": "1"}]}}).to_string(), json_type, 400, "/selection/lines/0/position"),
    ];
    let read = get(&world.state, Who::Billing, &format!("/v1/invoices/{open}")).await;
    let invoice_tag = etag(&read);
    let read = get(
        &world.state,
        Who::Billing,
        &format!("/v1/accounts/{account}"),
    )
    .await;
    let account_tag = etag(&read);
    for (method, path, body, content_type, status, pointer) in cases {
        let tag = if path.starts_with("/v1/accounts") {
            &account_tag
        } else {
            &invoice_tag
        };
        // WHEN billing sends it
        let response = handle(&world.state, raw(method, path, &body, content_type, tag)).await;
        // THEN it is refused, naming the field, in the one error shape
        let text = String::from_utf8_lossy(response.body().as_ref()).to_string();
        assert_eq!(response.status(), status, "{method} {path} {body}: {text}");
        let error = json(&response);
        assert_eq!(error["errors"][0]["pointer"], pointer, "{body}: {text}");
        assert!(error["message"].is_string() && error["code"].is_string());
        // AND no value sent is quoted back
        assert!(!text.contains("1e3") && !text.contains("yes"), "{text}");
    }
    // AND nothing changed
    assert_eq!(snapshot(&world).await, before);
    // AND a well-formed payment still books
    let response = handle(
        &world.state,
        raw(
            "POST",
            &payments,
            &money("5.00"),
            Some("application/json; charset=utf-8"),
            &invoice_tag,
        ),
    )
    .await;
    assert_eq!(
        response.status(),
        201,
        "{}",
        String::from_utf8_lossy(response.body().as_ref())
    );
}

#[tokio::test]
async fn a_method_a_path_does_not_answer_is_405_with_allow() {
    let world = World::new().await;
    let path = format!("/v1/invoices/{}/dispute", world.open.content().id);
    let response = get(&world.state, Who::Sales, &path).await;
    assert_eq!(response.status(), 405);
    assert_eq!(response.headers()["allow"], "PUT, DELETE");
    assert_eq!(json(&response)["code"], "method_not_allowed");
    // AND a 200-character id is looked up (404), a longer one is 400
    let id = "ä".repeat(200);
    let response = get(
        &world.state,
        Who::Sales,
        &format!("/v1/invoices/{}", id.replace('ä', "%C3%A4")),
    )
    .await;
    assert_eq!(response.status(), 404);
    let response = get(
        &world.state,
        Who::Sales,
        &format!("/v1/invoices/{}", "x".repeat(201)),
    )
    .await;
    assert_eq!(response.status(), 400);
    assert_eq!(json(&response)["errors"][0]["pointer"], "/path/invoice_id");
}
