//! The needs-attention list through the real handler, against the local
//! AWS endpoint: staff in `billing` or `sales` read it; anyone else, other
//! paths and other methods get a mapped 4xx.

use aws_lambda_events::event::apigw::{
    ApiGatewayRequestAuthorizer, ApiGatewayRequestAuthorizerJwtDescription,
    ApiGatewayV2httpRequestContext,
};
use billing_api::handler::{ApiState, NEEDS_ATTENTION, handle};
use billing_documents::samples;
use billing_domain::invoice::Invoice;
use billing_store::{BillingStore, DeliveryStatus, DocumentStatus, TroubleReport};
use billing_tests::{local_clients, put_finalized_invoice, resource};
use lambda_http::request::RequestContext;
use lambda_http::{Body, RequestExt};
use serde_json::Value;

fn request(method: &str, path: &str, groups: Option<&str>) -> lambda_http::Request {
    let mut context = ApiGatewayV2httpRequestContext::default();
    if let Some(groups) = groups {
        let mut jwt = ApiGatewayRequestAuthorizerJwtDescription::default();
        jwt.claims
            .insert("cognito:groups".to_owned(), groups.to_owned());
        let mut authorizer = ApiGatewayRequestAuthorizer::default();
        authorizer.jwt = Some(jwt);
        context.authorizer = Some(authorizer);
    }
    lambda_http::http::Request::builder()
        .method(method)
        .uri(path)
        .body(Body::Empty)
        .unwrap()
        .with_request_context(RequestContext::ApiGatewayV2(context))
}

/// A seller with one bounced invoice on its list.
async fn state_with_a_bounce() -> (ApiState, Invoice) {
    let aws = local_clients().await;
    let store = BillingStore::new(aws.dynamodb.clone(), resource("BILLING_TABLE"));
    let invoice = billing_tests::isolated(&samples::german_consumer().unwrap());
    put_finalized_invoice(&aws, store.table(), &invoice, DocumentStatus::Archived).await;
    let report = TroubleReport {
        dispatch: invoice.content().id.clone().into(),
        status: DeliveryStatus::Bounced,
        reason: "permanent bounce (General): smtp; 550 5.1.1 user unknown".to_owned(),
        at: chrono::Utc::now(),
        suppress: vec!["ap@kunde.example".to_owned()],
    };
    store.record_delivery_trouble(&report, None).await.unwrap();
    let failure = billing_store::run::RunFailure {
        account_id: billing_domain::ids::AccountId::new("acc-no-vat-id"),
        code: "invalid_contract".to_owned(),
        reason: "account.vat_id: reverse charge to a business in AT needs the customer's VAT ID"
            .to_owned(),
    };
    store
        .record_run_failure(
            "run-test",
            &invoice.content().billing_entity_id,
            &failure,
            true,
            chrono::Utc::now(),
        )
        .await
        .unwrap();
    let state = ApiState {
        store,
        entity: invoice.content().billing_entity_id.clone(),
    };
    (state, invoice)
}

fn json(response: &lambda_http::Response<Body>) -> Value {
    serde_json::from_slice(response.body().as_ref()).unwrap()
}

#[tokio::test]
async fn billing_and_sales_staff_read_the_needs_attention_list() {
    // GIVEN a seller with a bounced invoice and a customer a run could not bill
    let (state, invoice) = state_with_a_bounce().await;
    for groups in ["[billing]", "[sales]", "[sales billing]"] {
        // WHEN staff ask for the list
        let response = handle(&state, request("GET", NEEDS_ATTENTION, Some(groups))).await;
        // THEN they see the invoice with status and reason
        assert_eq!(response.status(), 200, "{groups}");
        let body = json(&response);
        let entries = body["entries"].as_array().unwrap();
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0]["invoice_id"], invoice.content().id.as_str());
        assert_eq!(entries[0]["invoice_number"], invoice.number().as_str());
        assert_eq!(entries[0]["status"], "bounced");
        let customers = body["customers"].as_array().unwrap();
        assert_eq!(
            customers.len(),
            1,
            "{groups}: a customer the run could not bill"
        );
        assert_eq!(customers[0]["account_id"], "acc-no-vat-id");
        assert_eq!(customers[0]["code"], "invalid_contract");
        assert_eq!(customers[0]["run_id"], "run-test");
        assert!(
            entries[0]["reason"]
                .as_str()
                .unwrap()
                .contains("user unknown")
        );
    }
}

#[tokio::test]
async fn others_are_refused_with_a_mapped_status() {
    let (state, _) = state_with_a_bounce().await;
    let cases = [
        (request("GET", NEEDS_ATTENTION, None), 403, "forbidden"),
        (
            request("GET", NEEDS_ATTENTION, Some("[partners]")),
            403,
            "forbidden",
        ),
        (
            request("POST", NEEDS_ATTENTION, Some("[billing]")),
            405,
            "method_not_allowed",
        ),
        (
            request("GET", "/v1/invoices", Some("[billing]")),
            404,
            "not_found",
        ),
    ];
    for (request, status, code) in cases {
        let response = handle(&state, request).await;
        assert_eq!(response.status(), status);
        assert_eq!(json(&response)["error"]["code"], code);
    }
}
