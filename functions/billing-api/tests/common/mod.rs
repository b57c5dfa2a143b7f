//! A seller with one of everything the staff API shows, and requests that
//! carry the claims API Gateway's JWT authorizer passes on.
#![allow(dead_code)]

use aws_lambda_events::event::apigw::{
    ApiGatewayRequestAuthorizer, ApiGatewayRequestAuthorizerJwtDescription,
    ApiGatewayV2httpRequestContext,
};
use billing_api::handler::ApiState;
use billing_domain::ids::{AccountId, InvoiceId};
use billing_domain::invoice::Invoice;
use billing_domain::matching::MatchRule;
use billing_domain::money::{Currency, Money};
use billing_domain::party::{CustomerAccount, CustomerKind};
use billing_domain::seller::BillingEntity;
use billing_store::run::{NewRun, RunFailure, RunMode};
use billing_store::{
    ArchivedDocument, BillingStore, DeliveryStatus, EntryBooked, EntryBooking, InvoiceBooking,
    ReviewEntry, TroubleReport,
};
use billing_tests::billing::{customer, invoice, stored_seller};
use billing_tests::{local_clients, resource, unique_id};
use chrono::{NaiveDate, Utc};
use lambda_http::request::RequestContext;
use lambda_http::{Body, RequestExt};
use rust_decimal::Decimal;
use serde_json::Value;

/// The seller's IBAN in `docs/examples/billing-entity.json` (on every invoice).
pub const SELLER_IBAN: &str = "DE89370400440532013000";
/// A payer's IBAN quoted in an unmatched transfer's remittance text.
pub const PAYER_IBAN: &str = "DE02120300000000202051";

/// Who sends a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Who {
    /// No claims at all (not through the authorizer).
    Nobody,
    /// Signed in, in neither group.
    Outsider,
    /// `sales`.
    Sales,
    /// `billing`.
    Billing,
}

/// A request as API Gateway hands it over, with real claim shapes.
pub fn request(
    who: Who,
    method: &str,
    path_and_query: &str,
    body: Option<&Value>,
    if_match: Option<&str>,
) -> lambda_http::Request {
    let mut context = ApiGatewayV2httpRequestContext::default();
    let groups = match who {
        Who::Nobody => None,
        Who::Outsider => Some("[partners]"),
        Who::Sales => Some("[sales]"),
        Who::Billing => Some("[billing sales]"),
    };
    if let Some(groups) = groups {
        let mut jwt = ApiGatewayRequestAuthorizerJwtDescription::default();
        jwt.claims
            .insert("sub".into(), format!("user-{}", groups.len()));
        jwt.claims.insert("cognito:groups".into(), groups.into());
        jwt.claims.insert("token_use".into(), "access".into());
        jwt.scopes = Some(vec!["aws.cognito.signin.user.admin".into()]);
        let mut authorizer = ApiGatewayRequestAuthorizer::default();
        authorizer.jwt = Some(jwt);
        context.authorizer = Some(authorizer);
    }
    let mut builder = lambda_http::http::Request::builder()
        .method(method)
        .uri(path_and_query);
    if let Some(tag) = if_match {
        builder = builder.header("If-Match", tag);
    }
    if body.is_some() {
        builder = builder.header("Content-Type", "application/json");
    }
    builder
        .body(match body {
            Some(body) => Body::from(body.to_string()),
            None => Body::Empty,
        })
        .expect("a request")
        .with_request_context(RequestContext::ApiGatewayV2(context))
}

/// A bank entry on the review list: 42.42 EUR (plus `n` cents) booked on
/// `day` with `remittance`, matching no invoice.
pub fn unmatched(remittance: &str, day: NaiveDate, n: i64) -> ReviewEntry {
    ReviewEntry {
        statement_id: unique_id("stmt"),
        entry_id: format!("E{}", n + 1),
        amount: Money::new(Decimal::new(4_242 + n, 2), Currency::EUR),
        booking_date: day,
        value_date: Some(day),
        creditor_reference: None,
        remittance: Some(remittance.to_owned()),
        return_reason: None,
        reason: "no invoice matches reference or amount".into(),
        candidates: vec![],
        since: Utc::now(),
    }
}

/// `GET path` as `who`.
pub async fn get(state: &ApiState, who: Who, path: &str) -> lambda_http::Response<Body> {
    billing_api::handler::handle(state, request(who, "GET", path, None, None)).await
}

/// The bodies of `paths` as `billing` reads them: what a write may change,
/// to compare before and after.
pub async fn snapshot(state: &ApiState, paths: &[String]) -> Value {
    let mut all = Vec::new();
    for path in paths {
        let response = get(state, Who::Billing, path).await;
        assert_eq!(response.status(), 200, "{path}");
        all.push(json(&response));
    }
    Value::Array(all)
}

/// The JSON body of a response.
pub fn json(response: &lambda_http::Response<Body>) -> Value {
    serde_json::from_slice(response.body().as_ref()).expect("a JSON body")
}

/// The ETag of a response.
pub fn etag(response: &lambda_http::Response<Body>) -> String {
    response
        .headers()
        .get("etag")
        .and_then(|v| v.to_str().ok())
        .expect("an ETag")
        .to_owned()
}

/// The API's state for `entity` on the local AWS, with `dynamodb` (e.g. a
/// counting client) or the plain one.
pub async fn state(entity: &BillingEntity, dynamodb: Option<aws_sdk_dynamodb::Client>) -> ApiState {
    state_on(entity, dynamodb, &resource("BILLING_TABLE")).await
}

/// The API on another table with the billing table's layout (a scratch
/// table for a load test).
pub async fn state_on(
    entity: &BillingEntity,
    dynamodb: Option<aws_sdk_dynamodb::Client>,
    table: &str,
) -> ApiState {
    let aws = local_clients().await;
    ApiState {
        store: BillingStore::new(dynamodb.unwrap_or(aws.dynamodb), table),
        entity: entity.id.clone(),
        s3: aws.s3,
        documents_bucket: resource("DOCUMENTS_BUCKET"),
        sqs: aws.sqs,
        delivery_queue_url: resource("DELIVERY_QUEUE_URL"),
        run_queue_url: resource("INVOICE_RUN_QUEUE_URL"),
    }
}

/// A seller with a customer, two invoices (one archived whose e-mail
/// bounced), a run that could not bill someone, a configuration warning
/// and an unmatched bank entry.
pub struct World {
    /// The API.
    pub state: ApiState,
    /// The seller.
    pub entity: BillingEntity,
    /// The customer.
    pub account: CustomerAccount,
    /// Archived, its e-mail bounced (on the needs-attention list).
    pub bounced: Invoice,
    /// Open, nothing else.
    pub open: Invoice,
    /// Open, to be written off.
    pub uncollectible: Invoice,
    /// A run with one failed customer.
    pub run_id: String,
    /// The reference of the customer's SEPA mandate (debiting
    /// [`PAYER_IBAN`]).
    pub mandate: String,
    /// A SEPA collection file, once [`World::collect`] wrote one.
    pub collection_batch: Option<String>,
    /// A completed preview of today's run (nothing is due: the customer
    /// has no contracts), started through the API.
    pub preview_id: String,
}

/// The body that records a mandate with `reference` debiting
/// [`PAYER_IBAN`] (the seller's creditor identifier by default).
pub fn mandate_body(reference: &str) -> Value {
    serde_json::json!({
        "reference": reference,
        "signed_on": "2026-01-15",
        "scheme": "CORE",
        "usage": "recurrent",
        "debtor_name": "Muster Handel GmbH",
        "debtor_iban": PAYER_IBAN,
    })
}

/// A mandate reference no other test uses (the example seller's creditor
/// identifier is shared by every test).
pub fn mandate_reference() -> String {
    unique_id("MNDT").to_uppercase()
}

/// Stores a mandate with `reference` for `account` as an import would.
pub async fn store_mandate(
    store: &BillingStore,
    entity: &BillingEntity,
    account: &AccountId,
    reference: &str,
) {
    let new: billing_domain::direct_debit::NewMandate =
        serde_json::from_value(mandate_body(reference)).expect("a mandate body");
    let creditor = entity.direct_debit.as_ref().map(|d| &d.creditor_identifier);
    let mandate = new
        .into_mandate(creditor, chrono::Utc::now().date_naive())
        .expect("a valid mandate");
    store
        .create_mandate(
            &billing_store::StoredMandate::new(account.clone(), mandate, chrono::Utc::now()),
            None,
        )
        .await
        .expect("mandate stored");
}

impl World {
    /// Builds it in the shared emulator under fresh ids.
    pub async fn new() -> Self {
        let aws = local_clients().await;
        let store = BillingStore::new(aws.dynamodb.clone(), resource("BILLING_TABLE"));
        let entity = stored_seller(&store).await;
        let account = customer(&entity.id, CustomerKind::Business);
        let issued = NaiveDate::from_ymd_opt(2026, 5, 4).expect("a date");
        let bounced = invoice(&store, &entity, &account, issued, Decimal::new(10_000, 2)).await;
        let open = invoice(&store, &entity, &account, issued, Decimal::new(5_000, 2)).await;
        let uncollectible =
            invoice(&store, &entity, &account, issued, Decimal::new(2_500, 2)).await;
        let bucket = resource("DOCUMENTS_BUCKET");
        let mut documents = Vec::new();
        for (ext, content_type) in [("pdf", "application/pdf"), ("xml", "application/xml")] {
            let key = format!("invoices/{}/2026/{}.{ext}", entity.id, bounced.number());
            aws.s3
                .put_object()
                .bucket(&bucket)
                .key(&key)
                .body(aws_sdk_s3::primitives::ByteStream::from(
                    b"%PDF-1.7 test".to_vec(),
                ))
                .send()
                .await
                .expect("document stored");
            documents.push(ArchivedDocument {
                key,
                sha256: "0".repeat(64),
                content_type: content_type.to_owned(),
            });
        }
        store
            .record_documents(&bounced.content().id, &documents)
            .await
            .expect("documents recorded");
        store
            .record_delivery_trouble(
                &TroubleReport {
                    dispatch: bounced.content().id.clone().into(),
                    status: DeliveryStatus::Bounced,
                    reason: "permanent bounce (General): smtp; 550 5.1.1 user unknown".into(),
                    at: Utc::now(),
                    suppress: vec![],
                },
                None,
            )
            .await
            .expect("bounce recorded");
        let run_id = unique_id("run");
        store
            .open_run(
                &NewRun {
                    run_id: run_id.clone(),
                    run_date: issued,
                    mode: RunMode::Finalize,
                    started_by: "schedule".into(),
                    from_preview: None,
                    account_ids: vec![],
                },
                Utc::now(),
            )
            .await
            .expect("run opened");
        store
            .record_run_failure(
                &run_id,
                &entity.id,
                &RunFailure {
                    account_id: AccountId::new(unique_id("acc-no-vat")),
                    code: "invalid_contract".into(),
                    reason: "account.vat_id: reverse charge needs the customer's VAT ID".into(),
                },
                true,
                Utc::now(),
            )
            .await
            .expect("failure recorded");
        store
            .put_attention_note(
                &entity.id,
                "base_rate_missing",
                "the Bundesbank base rate for 2026-07 is not configured",
                Utc::now(),
            )
            .await
            .expect("warning recorded");
        store
            .put_for_review(
                &entity.id,
                &unmatched(&format!("Rechnung Mai, Konto {PAYER_IBAN}"), issued, 0),
            )
            .await
            .expect("review entry");
        let mandate = mandate_reference();
        store_mandate(&store, &entity, &account.id, &mandate).await;
        let state = state(&entity, None).await;
        let preview_id = start_preview(&state, billing_api::routes::today()).await;
        Self {
            state,
            entity,
            account,
            bounced,
            open,
            uncollectible,
            run_id,
            mandate,
            collection_batch: None,
            preview_id,
        }
    }

    /// Another customer of the seller pays by direct debit: Friday 11
    /// December's collection step writes its file; answers the batch id.
    pub async fn collect(&mut self) -> String {
        let aws = local_clients().await;
        let store = BillingStore::new(aws.dynamodb.clone(), resource("BILLING_TABLE"));
        let debtor = customer(&self.entity.id, CustomerKind::Business);
        let reference = mandate_reference();
        // The first invoice creates the account the mandate is stored on.
        invoice(
            &store,
            &self.entity,
            &debtor,
            NaiveDate::from_ymd_opt(2026, 11, 2).expect("a date"),
            Decimal::new(100, 2),
        )
        .await;
        store_mandate(&store, &self.entity, &debtor.id, &reference).await;
        let mandate = store.mandates(&debtor.id).await.expect("mandates")[0]
            .mandate
            .clone();
        let issued = NaiveDate::from_ymd_opt(2026, 11, 20).expect("a date");
        billing_tests::billing::direct_debit_invoice(
            &store,
            &self.entity,
            &debtor,
            &mandate,
            issued,
            Decimal::new(9900, 2),
        )
        .await;
        let service = direct_debit_collection::service::CollectionService::new(
            store,
            aws.s3,
            resource("DOCUMENTS_BUCKET"),
            self.entity.id.clone(),
        );
        let report = service
            .collect(
                direct_debit_collection::service::CollectionDay::Date(
                    NaiveDate::from_ymd_opt(2026, 12, 11).expect("a date"),
                ),
                Utc::now(),
            )
            .await
            .expect("the collection step runs");
        assert_eq!(report.files.len(), 1, "{report:?}");
        let batch = report.files[0].batch_id.clone();
        self.collection_batch = Some(batch.clone());
        batch
    }
}

/// Starts the preview of `day` through the API as `billing`; its run id.
pub async fn start_preview(state: &ApiState, day: NaiveDate) -> String {
    let body = serde_json::json!({ "run_date": day });
    let response = billing_api::handler::handle(
        state,
        request(Who::Billing, "POST", "/v1/run-previews", Some(&body), None),
    )
    .await;
    assert_eq!(response.status(), 202, "{:?}", response.body());
    json(&response)["run_id"]
        .as_str()
        .expect("a run id")
        .to_owned()
}

/// A day written `YYYY-MM-DD`.
pub fn day(text: &str) -> NaiveDate {
    text.parse().expect("a date")
}

/// An amount in euros written as a decimal.
pub fn eur(text: &str) -> Money {
    Money::new(text.parse().expect("an amount"), Currency::EUR)
}

/// A bank entry paying `amount` on `invoice` with value date `value_date`,
/// through the store's booking path.
pub async fn pay(store: &BillingStore, invoice: &InvoiceId, value_date: &str, amount: &str) {
    let booking = EntryBooking {
        statement_id: unique_id("stmt"),
        entry_id: "E1".into(),
        invoices: vec![InvoiceBooking {
            invoice_id: invoice.clone(),
            amount: eur(amount),
        }],
        credit: None,
        value_date: day(value_date),
        rule: MatchRule::CreditorReference,
        reason: "test fixture".into(),
        booked_at: Utc::now(),
    };
    let booked = store.book_entry(&booking).await.expect("booked");
    assert!(matches!(booked, EntryBooked::Booked(_)), "{booked:?}");
}
