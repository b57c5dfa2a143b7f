//! The opportunity webhook end to end through its real handler, against the
//! local AWS endpoint provisioned from the template.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::LazyLock;

use billing_domain::ids::{AccountId, BillingEntityId, InvoiceId, SubscriptionId};
use billing_domain::numbering::DocumentType;
use billing_domain::numbering::NumberSeries;
use billing_store::keys::derived_id;
use billing_store::{DocumentStatus, OpportunityKey};
use billing_tests::webhook::{
    TEST_SECRET, example_entity, example_opportunity, fixture, local_store, post, request, signed,
    webhook_state,
};
use billing_tests::{local_clients, resource, unique_id};
use chrono::{DateTime, Datelike, Utc};
use opportunity_webhook::handler::REPLAYED_HEADER;
use opportunity_webhook::signature::sign_with;
use serde_json::{Value, json};
use tokio::sync::RwLock;

/// Tests that write hold this shared; the test that proves bad input
/// changes nothing holds it exclusively while it compares table snapshots.
static TABLES: LazyLock<RwLock<()>> = LazyLock::new(|| RwLock::new(()));

fn now() -> DateTime<Utc> {
    Utc::now()
}

fn berlin_year(at: DateTime<Utc>) -> i32 {
    at.with_timezone(&chrono_tz_berlin()).year()
}

fn chrono_tz_berlin() -> chrono::FixedOffset {
    // The example entity bills in Europe/Berlin; the year boundary only
    // matters around New Year's Eve, where UTC+1 is Berlin's offset.
    chrono::FixedOffset::east_opt(3600).expect("valid offset")
}

/// The example opportunity with its own ids, so tests never share a deal.
fn opportunity() -> Value {
    let mut body = example_opportunity();
    body["opportunity_id"] = json!(unique_id("opp"));
    body["account"]["crm_id"] = json!(unique_id("acc"));
    body
}

/// Another deal (new opportunity id) of the customer of `deal`.
fn next_deal_of(deal: &Value) -> Value {
    let mut next = opportunity();
    next["account"] = deal["account"].clone();
    next
}

/// A recurrent CORE mandate as the CRM sends it in `account.mandates`,
/// signed before the deals of these tests.
fn crm_mandate(reference: &str) -> Value {
    json!({
        "reference": reference,
        "signed_on": "2026-01-15",
        "scheme": "CORE",
        "usage": "recurrent",
        "debtor_name": "Muster Handel GmbH",
        "debtor_iban": "DE02120300000000202051"
    })
}

fn bytes(body: &Value) -> Vec<u8> {
    serde_json::to_vec(body).expect("serializable")
}

fn entity_id() -> String {
    unique_id("ent")
}

async fn invoice_counter(entity: &str, at: DateTime<Utc>) -> u64 {
    let series = NumberSeries::german_default(DocumentType::Invoice);
    let key = series.counter_key(
        &BillingEntityId::new(entity),
        at.with_timezone(&chrono_tz_berlin()).date_naive(),
    );
    local_store()
        .await
        .counter_value(&key)
        .await
        .expect("counter readable")
}

#[tokio::test]
async fn a_posted_opportunity_is_invoiced_with_the_first_number_of_the_year() {
    let _shared = TABLES.read().await;
    // GIVEN a seller with no invoices yet and the documented example deal
    let entity = entity_id();
    let state = webhook_state(example_entity(&entity)).await;
    let body = opportunity();
    let at = now();

    // WHEN the CRM posts it, correctly signed
    let (status, answer, _) = post(&state, signed(&bytes(&body), at), at).await;

    // THEN the one-off items are invoiced under RE-<year>-000001
    assert_eq!(status, 201, "{answer}");
    let number = format!("RE-{}-000001", berlin_year(at));
    assert_eq!(answer["status"], "invoiced");
    assert_eq!(answer["invoice_number"], number.as_str());
    // 2 × 1200.00 + 5 × 39.90 = 2599.50 net; 19 % of 2400.00 = 456.00, 7 % of 199.50 = 13.97
    assert_eq!(answer["total"], "3069.47");
    assert_eq!(answer["currency"], "EUR");
    // AND the counter advanced to 1
    assert_eq!(invoice_counter(&entity, at).await, 1);
    // AND the finalized invoice awaits its documents (the pipe announces it)
    let invoice_id = InvoiceId::new(answer["invoice_id"].as_str().expect("an id"));
    let stored = local_store()
        .await
        .invoice(&invoice_id)
        .await
        .unwrap()
        .expect("stored");
    assert_eq!(stored.invoice.number().as_str(), number);
    assert_eq!(stored.document_status, DocumentStatus::Pending);
    assert_eq!(stored.invoice.content().lines.len(), 2);
    assert_eq!(
        stored
            .invoice
            .content()
            .references
            .purchase_order
            .as_deref(),
        Some("PO-2026-0815")
    );
    // AND the recurring item started the customer's contract
    let subscription_id =
        SubscriptionId::new(answer["subscription_id"].as_str().expect("a contract"));
    let account_id = AccountId::new(answer["account_id"].as_str().expect("an account"));
    let contract = local_store()
        .await
        .subscription(&account_id, &subscription_id)
        .await
        .unwrap()
        .expect("contract stored");
    assert_eq!(contract.subscription.items.len(), 1);
    assert_eq!(
        contract.subscription.items[0].item.quantity.to_string(),
        "25"
    );
}

#[tokio::test]
async fn a_retry_returns_the_same_invoice_and_allocates_nothing() {
    let _shared = TABLES.read().await;
    let entity = entity_id();
    let state = webhook_state(example_entity(&entity)).await;
    let body = bytes(&opportunity());
    let at = now();
    let (first, created, _) = post(&state, signed(&body, at), at).await;
    assert_eq!(first, 201, "{created}");

    // WHEN the CRM retries a minute later (new signature, same body)
    let later = at + chrono::Duration::seconds(60);
    let (status, replayed, response) = post(&state, signed(&body, later), later).await;

    // THEN it gets the original invoice, marked as a replay, and no new number
    assert_eq!(status, 200, "{replayed}");
    assert_eq!(replayed, created);
    assert_eq!(response.headers()[REPLAYED_HEADER], "true");
    assert_eq!(invoice_counter(&entity, at).await, 1);
}

#[tokio::test]
async fn a_retry_with_a_newer_last_modified_is_still_a_retry() {
    let _shared = TABLES.read().await;
    let state = webhook_state(example_entity(&entity_id())).await;
    let mut body = opportunity();
    let at = now();
    assert_eq!(post(&state, signed(&bytes(&body), at), at).await.0, 201);
    body["last_modified"] = json!("2026-11-21T09:00:00Z");
    let (status, _, _) = post(&state, signed(&bytes(&body), at), at).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn the_same_opportunity_with_different_content_is_a_conflict() {
    let _shared = TABLES.read().await;
    let entity = entity_id();
    let state = webhook_state(example_entity(&entity)).await;
    let mut body = opportunity();
    let at = now();
    assert_eq!(post(&state, signed(&bytes(&body), at), at).await.0, 201);

    // WHEN the deal comes again with another quantity
    body["items"][0]["quantity"] = json!("3");
    let (status, answer, _) = post(&state, signed(&bytes(&body), at), at).await;

    // THEN it is refused with the way forward, and nothing is numbered
    assert_eq!(status, 409, "{answer}");
    assert!(
        answer["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("credit note")),
        "{answer}"
    );
    assert_eq!(invoice_counter(&entity, at).await, 1);
}

#[tokio::test]
async fn twenty_concurrent_identical_posts_yield_one_invoice() {
    let _shared = TABLES.read().await;
    let entity = entity_id();
    let state = webhook_state(example_entity(&entity)).await;
    let body = bytes(&opportunity());
    let at = now();

    // WHEN 20 copies of the same deal arrive at once
    let answers =
        futures_util::future::join_all((0..20).map(|_| post(&state, signed(&body, at), at))).await;

    // THEN exactly one created the invoice, the others got it back
    let statuses: Vec<u16> = answers.iter().map(|(s, _, _)| *s).collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 201).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        19,
        "{statuses:?}"
    );
    let numbers: BTreeSet<&str> = answers
        .iter()
        .filter_map(|(_, a, _)| a["invoice_number"].as_str())
        .collect();
    assert_eq!(numbers.len(), 1);
    assert_eq!(invoice_counter(&entity, at).await, 1);
}

#[tokio::test]
async fn fifty_different_opportunities_get_fifty_gapless_numbers() {
    let _shared = TABLES.read().await;
    let entity = entity_id();
    let state = webhook_state(example_entity(&entity)).await;
    let at = now();
    let bodies: Vec<Vec<u8>> = (0..50).map(|_| bytes(&opportunity())).collect();

    let answers =
        futures_util::future::join_all(bodies.iter().map(|b| post(&state, signed(b, at), at)))
            .await;

    let year = berlin_year(at);
    let mut numbers: Vec<String> = answers
        .iter()
        .map(|(status, answer, _)| {
            assert_eq!(*status, 201, "{answer}");
            answer["invoice_number"]
                .as_str()
                .expect("a number")
                .to_owned()
        })
        .collect();
    numbers.sort();
    let expected: Vec<String> = (1..=50).map(|n| format!("RE-{year}-{n:06}")).collect();
    assert_eq!(numbers, expected);
    assert_eq!(invoice_counter(&entity, at).await, 50);
}

#[tokio::test]
async fn parked_charges_answer_202_and_a_retry_parks_nothing_new() {
    let _shared = TABLES.read().await;
    let entity = entity_id();
    let state = webhook_state(example_entity(&entity)).await;
    let mut body = opportunity();
    body["billing_option"] = json!("with_next_run");
    let at = now();

    let (status, answer, _) = post(&state, signed(&bytes(&body), at), at).await;
    assert_eq!(status, 202, "{answer}");
    assert_eq!(answer["status"], "parked");
    assert_eq!(answer["pending_charges"], 2);
    assert!(answer.get("invoice_number").is_none());
    assert_eq!(invoice_counter(&entity, at).await, 0);

    let (again, _, _) = post(&state, signed(&bytes(&body), at), at).await;
    assert_eq!(again, 200);
    let account = answer["account_id"].as_str().expect("account");
    assert_eq!(pending_items(account).await, 1);
}

/// The contract an answer names, as stored.
async fn stored_contract(answer: &Value) -> billing_store::VersionedSubscription {
    local_store()
        .await
        .subscription(
            &AccountId::new(answer["account_id"].as_str().expect("account")),
            &SubscriptionId::new(answer["subscription_id"].as_str().expect("contract")),
        )
        .await
        .unwrap()
        .expect("contract")
}

async fn pending_items(account: &str) -> usize {
    let aws = local_clients().await;
    let output = aws
        .dynamodb
        .query()
        .table_name(resource("BILLING_TABLE"))
        .key_condition_expression("pk = :pk AND begins_with(sk, :pending)")
        .expression_attribute_values(
            ":pk",
            aws_sdk_dynamodb::types::AttributeValue::S(format!("ACCOUNT#{account}")),
        )
        .expression_attribute_values(
            ":pending",
            aws_sdk_dynamodb::types::AttributeValue::S("PENDING#".into()),
        )
        .consistent_read(true)
        .send()
        .await
        .expect("query");
    output.items().len()
}

#[tokio::test]
async fn a_deal_with_only_recurring_items_creates_a_contract_and_no_invoice() {
    let _shared = TABLES.read().await;
    let entity = entity_id();
    let state = webhook_state(example_entity(&entity)).await;
    let mut body = opportunity();
    let recurring = body["items"][2].clone();
    body["items"] = json!([recurring]);
    let at = now();

    let (status, answer, _) = post(&state, signed(&bytes(&body), at), at).await;

    assert_eq!(status, 202, "{answer}");
    assert_eq!(answer["status"], "subscribed");
    assert!(answer["subscription_id"].is_string());
    assert_eq!(invoice_counter(&entity, at).await, 0);
}

#[tokio::test]
async fn an_amending_opportunity_changes_quantity_from_its_date_and_adds_items() {
    let _shared = TABLES.read().await;
    let state = webhook_state(example_entity(&entity_id())).await;
    let at = now();
    let mut first = opportunity();
    first["contract_id"] = json!(unique_id("contract"));
    let (status, created, _) = post(&state, signed(&bytes(&first), at), at).await;
    assert_eq!(status, 201, "{created}");

    // WHEN a later deal on the same contract raises the seats and adds support
    let mut amendment = first.clone();
    amendment["opportunity_id"] = json!(unique_id("opp"));
    let mut seats = first["items"][2].clone();
    seats["quantity"] = json!("40");
    seats["recurring"]["start_date"] = json!("2027-03-01");
    let mut support = seats.clone();
    support["product_code"] = json!("SUPPORT");
    support["description"] = json!("Premium-Support");
    support["quantity"] = json!("1");
    support["unit_price"] = json!("300.00");
    amendment["items"] = json!([seats, support]);
    let (status, amended, _) = post(&state, signed(&bytes(&amendment), at), at).await;

    // THEN the same contract now has 40 seats from March and the new item
    assert_eq!(status, 202, "{amended}");
    assert_eq!(amended["subscription_id"], created["subscription_id"]);
    let contract = stored_contract(&created).await;
    let contract = contract.subscription;
    assert_eq!(contract.items.len(), 2);
    let seats_item = &contract.items[0];
    let march = chrono::NaiveDate::from_ymd_opt(2027, 3, 1).expect("date");
    assert_eq!(seats_item.quantity_on(march).to_string(), "40");
    assert_eq!(
        seats_item
            .quantity_on(march.pred_opt().expect("date"))
            .to_string(),
        "25"
    );
    assert_eq!(contract.items[1].item.description, "Premium-Support");
}

/// Every item of both tables, as comparable text (a Scan: test tooling only).
async fn snapshot() -> BTreeSet<String> {
    let aws = local_clients().await;
    let mut all = BTreeSet::new();
    for table in [resource("BILLING_TABLE"), resource("IDEMPOTENCY_TABLE")] {
        let mut start = None;
        loop {
            let page = aws
                .dynamodb
                .scan()
                .table_name(&table)
                .set_exclusive_start_key(start)
                .send()
                .await
                .expect("scan");
            for item in page.items() {
                let sorted: BTreeMap<_, _> = item
                    .iter()
                    .map(|(k, v)| (k.clone(), format!("{v:?}")))
                    .collect();
                all.insert(format!("{table}:{sorted:?}"));
            }
            start = page.last_evaluated_key().cloned();
            if start.is_none() {
                break;
            }
        }
    }
    all
}

#[tokio::test]
async fn every_client_error_gets_its_status_and_changes_nothing() {
    let _exclusive = TABLES.write().await;
    let state = webhook_state(example_entity(&entity_id())).await;
    let at = now();
    let good = bytes(&opportunity());
    let secret = TEST_SECRET.as_bytes();

    let mut too_many_lines = opportunity();
    let line = too_many_lines["items"][1].clone();
    too_many_lines["items"] = Value::Array(vec![line; 501]);
    let mut ten_thousand_lines = opportunity();
    let line = ten_thousand_lines["items"][1].clone();
    ten_thousand_lines["items"] = Value::Array(vec![line; 10_000]);
    let deep = format!("{}{}", "[".repeat(1000), "]".repeat(1000));
    // Under 256 KiB as sent, but the stored invoice would pass DynamoDB's
    // 400 KB item limit: refused as content, not a 500.
    let mut too_big_to_store = opportunity();
    too_big_to_store["opportunity_id"] = json!(format!("o{}", "9".repeat(127)));
    let mut line = too_big_to_store["items"][1].clone();
    line["description"] = json!("D".repeat(384));
    too_big_to_store["items"] = Value::Array(vec![line; 450]);
    let too_big_to_store = bytes(&too_big_to_store);
    assert!(too_big_to_store.len() < 256 * 1024);

    let cases: Vec<(&str, lambda_http::Request, u16)> = vec![
        (
            "no signature",
            request(&good, None, "application/json"),
            401,
        ),
        (
            "malformed signature",
            request(&good, Some("t=abc,v1=zz".into()), "application/json"),
            401,
        ),
        (
            "stale signature",
            request(
                &good,
                Some(sign_with(secret, &good, at.timestamp() - 301)),
                "application/json",
            ),
            401,
        ),
        (
            "wrong secret",
            request(
                &good,
                Some(sign_with(b"guess", &good, at.timestamp())),
                "application/json",
            ),
            401,
        ),
        (
            "signature of another body",
            request(
                &good,
                Some(sign_with(secret, b"{}", at.timestamp())),
                "application/json",
            ),
            401,
        ),
        (
            "body over 256 KiB",
            signed(&bytes(&ten_thousand_lines), at),
            413,
        ),
        (
            "wrong content type",
            request(
                &good,
                Some(sign_with(secret, &good, at.timestamp())),
                "text/plain",
            ),
            415,
        ),
        (
            "form content type",
            request(
                &good,
                Some(sign_with(secret, &good, at.timestamp())),
                "application/x-www-form-urlencoded",
            ),
            415,
        ),
        ("empty body", signed(b"", at), 400),
        (
            "truncated JSON",
            signed(&fixture("truncated.json"), at),
            400,
        ),
        ("wrong types", signed(&fixture("wrong-types.json"), at), 400),
        (
            "missing account",
            signed(&fixture("missing-account.json"), at),
            400,
        ),
        (
            "number out of range",
            signed(&fixture("huge-number.json"), at),
            400,
        ),
        (
            "injection in an id",
            signed(&fixture("injection-in-id.json"), at),
            400,
        ),
        ("JSON array", signed(b"[1,2,3]", at), 400),
        ("deeply nested", signed(deep.as_bytes(), at), 400),
        ("not UTF-8", signed(&[0xff, 0xfe, 0x7b], at), 400),
        (
            "unknown tax category",
            signed(&fixture("unknown-tax-category.json"), at),
            422,
        ),
        (
            "negative quantity",
            signed(&fixture("negative-quantity.json"), at),
            422,
        ),
        (
            "currency differs from the account's",
            signed(&fixture("currency-mismatch.json"), at),
            422,
        ),
        (
            "script in a description",
            signed(&fixture("script-in-description.json"), at),
            422,
        ),
        (
            "control character",
            signed(&fixture("control-character.json"), at),
            422,
        ),
        (
            "amount out of range",
            signed(&fixture("huge-amount.json"), at),
            422,
        ),
        ("501 lines", signed(&bytes(&too_many_lines), at), 422),
        ("too large to store", signed(&too_big_to_store, at), 422),
    ];
    let before = snapshot().await;
    for (name, request, expected) in cases {
        let (status, answer, _) = post(&state, request, at).await;
        assert_eq!(status, expected, "{name}: {answer}");
        if expected == 400 || expected == 422 {
            let fields = answer["error"]["fields"].as_array();
            assert!(
                fields.is_some_and(|f| !f.is_empty()),
                "{name}: no field errors in {answer}"
            );
        }
    }
    let after = snapshot().await;
    assert_eq!(before, after, "a refused request changed a table");
}

#[tokio::test]
async fn field_errors_name_each_offending_field_by_json_pointer() {
    let _shared = TABLES.read().await;
    let state = webhook_state(example_entity(&entity_id())).await;
    let at = now();
    let mut body = opportunity();
    body["items"][0]["tax_category"] = json!("luxury");
    body["items"][1]["quantity"] = json!("-1");
    body["account"]["invoice_emails"] = json!(["not-an-address"]);
    let (status, answer, _) = post(&state, signed(&bytes(&body), at), at).await;
    assert_eq!(status, 422, "{answer}");
    let pointers: BTreeSet<&str> = answer["error"]["fields"]
        .as_array()
        .expect("fields")
        .iter()
        .filter_map(|f| f["pointer"].as_str())
        .collect();
    assert_eq!(
        pointers,
        BTreeSet::from([
            "/items/0/tax_category",
            "/items/1/quantity",
            "/account/invoice_emails/0"
        ])
    );
}

#[tokio::test]
async fn the_same_opportunity_id_from_another_crm_is_another_deal() {
    let _shared = TABLES.read().await;
    let state = webhook_state(example_entity(&entity_id())).await;
    let at = now();
    let body = opportunity();
    let mut other = body.clone();
    other["source_system"] = json!("hubspot");
    let (a, first, _) = post(&state, signed(&bytes(&body), at), at).await;
    let (b, second, _) = post(&state, signed(&bytes(&other), at), at).await;
    assert_eq!((a, b), (201, 201));
    assert_ne!(first["invoice_id"], second["invoice_id"]);
    let key = OpportunityKey {
        source: format!("salesforce/{}", body["crm_org_id"].as_str().expect("org")),
        opportunity_id: body["opportunity_id"].as_str().expect("id").to_owned(),
    };
    let record = local_store()
        .await
        .opportunity(&key)
        .await
        .unwrap()
        .expect("recorded");
    assert_eq!(
        record.outcome.invoice.map(|i| i.invoice_id.to_string()),
        first["invoice_id"].as_str().map(str::to_owned)
    );
    assert_eq!(
        derived_id("inv", &[&key.source, &key.opportunity_id]),
        first["invoice_id"].as_str().expect("id")
    );
}

#[tokio::test]
async fn refusals_that_need_stored_state_change_nothing_either() {
    let _exclusive = TABLES.write().await;
    // GIVEN an invoiced deal with a running contract
    let state = webhook_state(example_entity(&entity_id())).await;
    let at = now();
    let deal = opportunity();
    assert_eq!(post(&state, signed(&bytes(&deal), at), at).await.0, 201);

    let mut changed = deal.clone();
    changed["items"][0]["quantity"] = json!("3");
    let mut other_currency = next_deal_of(&deal);
    other_currency["currency"] = json!("CHF");
    other_currency["account"]["currency"] = json!("CHF");
    let mut new_tax_on_running_item = next_deal_of(&deal);
    new_tax_on_running_item["contract_id"] = deal["opportunity_id"].clone();
    let mut seats = deal["items"][2].clone();
    seats["tax_category"] = json!("reduced");
    new_tax_on_running_item["items"] = json!([seats]);
    let mut parked_without_contract = opportunity();
    parked_without_contract["billing_option"] = json!("with_next_run");
    let one_off = parked_without_contract["items"][0].clone();
    parked_without_contract["items"] = json!([one_off]);

    let cases = [
        ("changed content", changed, 409, None),
        (
            "account currency changes",
            other_currency,
            422,
            Some("/account/currency"),
        ),
        (
            "tax change on a running item",
            new_tax_on_running_item,
            422,
            Some("/items/0/tax_category"),
        ),
        (
            "parked without any contract",
            parked_without_contract,
            422,
            Some("/billing_option"),
        ),
    ];
    refused_changing_nothing(&state, at, cases).await;
}

/// Posts each case and checks its status and first field pointer, and
/// that no table changed meanwhile (hold `TABLES` exclusively).
async fn refused_changing_nothing(
    state: &opportunity_webhook::handler::WebhookState,
    at: DateTime<Utc>,
    cases: impl IntoIterator<Item = (&str, Value, u16, Option<&str>)>,
) {
    let before = snapshot().await;
    for (name, body, expected, pointer) in cases {
        let (status, answer, _) = post(state, signed(&bytes(&body), at), at).await;
        assert_eq!(status, expected, "{name}: {answer}");
        if let Some(pointer) = pointer {
            assert_eq!(answer["error"]["fields"][0]["pointer"], pointer, "{name}");
        }
    }
    assert_eq!(
        before,
        snapshot().await,
        "a refused request changed a table"
    );
}

#[tokio::test]
async fn concurrent_deals_of_one_new_customer_share_one_account_and_contract() {
    let _shared = TABLES.read().await;
    let entity = entity_id();
    let state = webhook_state(example_entity(&entity)).await;
    let at = now();
    let customer = unique_id("acc");
    let contract = unique_id("contract");
    // Ten deals for a customer nobody has seen yet, all on one contract,
    // each adding its own product: they race for the account, the contract
    // and the number counter at once.
    let bodies: Vec<Vec<u8>> = (0..10)
        .map(|i| {
            let mut body = opportunity();
            body["account"]["crm_id"] = json!(customer);
            body["contract_id"] = json!(contract);
            body["items"][2]["product_code"] = json!(format!("SEAT-{i}"));
            bytes(&body)
        })
        .collect();
    let answers =
        futures_util::future::join_all(bodies.iter().map(|b| post(&state, signed(b, at), at)))
            .await;
    let accounts: BTreeSet<&str> = answers
        .iter()
        .map(|(status, answer, _)| {
            assert_eq!(*status, 201, "{answer}");
            answer["account_id"].as_str().expect("account")
        })
        .collect();
    assert_eq!(accounts.len(), 1);
    assert_eq!(invoice_counter(&entity, at).await, 10);
    let first = &answers[0].1;
    let contract = stored_contract(first).await;
    assert_eq!(contract.subscription.items.len(), 10);
}

#[tokio::test]
async fn a_retry_spelled_differently_is_still_a_retry() {
    let _shared = TABLES.read().await;
    let state = webhook_state(example_entity(&entity_id())).await;
    let at = now();
    let body = opportunity();
    assert_eq!(post(&state, signed(&bytes(&body), at), at).await.0, 201);
    // The same deal, re-serialized: numbers instead of strings, trailing
    // zeros, explicit nulls, the default billing option spelled out.
    let mut respelled = body.clone();
    respelled["items"][0]["quantity"] = json!(2.0);
    respelled["items"][0]["unit_price"] = json!("1200.0000");
    respelled["items"][1]["service_date"] = Value::Null;
    respelled["account"]["leitweg_id"] = Value::Null;
    respelled["billing_option"] = json!("invoice_now");
    let (status, answer, _) = post(&state, signed(&bytes(&respelled), at), at).await;
    assert_eq!(status, 200, "{answer}");
}

#[tokio::test]
async fn an_amendment_can_end_a_running_item() {
    let _shared = TABLES.read().await;
    let state = webhook_state(example_entity(&entity_id())).await;
    let at = now();
    let deal = opportunity();
    let (_, created, _) = post(&state, signed(&bytes(&deal), at), at).await;
    let mut ending = next_deal_of(&deal);
    ending["contract_id"] = deal["opportunity_id"].clone();
    let mut seats = deal["items"][2].clone();
    seats["recurring"]["end_date"] = json!("2027-06-30");
    ending["items"] = json!([seats]);
    let (status, answer, _) = post(&state, signed(&bytes(&ending), at), at).await;
    assert_eq!(status, 202, "{answer}");
    let contract = stored_contract(&created).await;
    assert_eq!(
        contract.subscription.items[0].end,
        chrono::NaiveDate::from_ymd_opt(2027, 6, 30)
    );
}

#[tokio::test]
async fn a_crm_refresh_of_an_account_moves_its_staff_revision_on() {
    let _shared = TABLES.read().await;
    // GIVEN a customer whose account a clerk changed (revision 3, the
    // account's ETag "r3")
    let entity = entity_id();
    let state = webhook_state(example_entity(&entity)).await;
    let first = opportunity();
    let at = now();
    let (status, answer, _) = post(&state, signed(&bytes(&first), at), at).await;
    assert_eq!(status, 201, "{answer}");
    let account_id = AccountId::new(answer["account_id"].as_str().expect("an account"));
    let store = local_store().await;
    local_clients()
        .await
        .dynamodb
        .update_item()
        .table_name(resource("BILLING_TABLE"))
        .key(
            "pk",
            aws_sdk_dynamodb::types::AttributeValue::S(format!("ACCOUNT#{account_id}")),
        )
        .key(
            "sk",
            aws_sdk_dynamodb::types::AttributeValue::S("ACCOUNT".to_owned()),
        )
        .update_expression("SET revision = :three")
        .expression_attribute_values(
            ":three",
            aws_sdk_dynamodb::types::AttributeValue::N("3".to_owned()),
        )
        .send()
        .await
        .expect("the revision is set");

    // WHEN the CRM sends newer account data with the customer's next deal
    let mut next = next_deal_of(&first);
    next["account"]["name"] = json!("Muster Handel GmbH & Co. KG");
    next["last_modified"] = json!("2099-01-01T00:00:00Z");
    let (status, answer, _) = post(&state, signed(&bytes(&next), at), at).await;
    assert_eq!(status, 201, "{answer}");

    // THEN the account is refreshed and its revision moved on to 4, never
    // back to 0: an ETag handed out before cannot match again
    let stored = store
        .account(&account_id)
        .await
        .unwrap()
        .expect("the account");
    assert_eq!(stored.account.name, "Muster Handel GmbH & Co. KG");
    assert_eq!(stored.revision, 4);
    assert_eq!(stored.version, 2);
}

#[tokio::test]
async fn a_deal_records_the_customers_mandates_once_and_refuses_what_the_store_would_refuse() {
    let _exclusive = TABLES.write().await;
    // GIVEN a deal whose customer signed a SEPA mandate
    let state = webhook_state(example_entity(&entity_id())).await;
    let at = now();
    let mandate = json!({
        "reference": unique_id("M"),
        "signed_on": "2026-01-15",
        "scheme": "CORE",
        "usage": "recurrent",
        "debtor_name": "Muster Handel GmbH",
        "debtor_iban": "DE89 3704 0044 0532 0130 00"
    });
    let mut deal = opportunity();
    deal["account"]["mandates"] = json!([mandate]);
    // WHEN it is posted
    let (status, answer, _) = post(&state, signed(&bytes(&deal), at), at).await;
    assert_eq!(status, 201, "{answer}");
    // THEN the mandate is stored for the account, granted to the seller's
    // creditor identifier, with its audit entry
    let account = AccountId::new(answer["account_id"].as_str().expect("an account"));
    let store = local_store().await;
    let stored = store.mandates(&account).await.unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!(
        stored[0].mandate.reference.as_str(),
        mandate["reference"].as_str().unwrap()
    );
    assert_eq!(
        stored[0].mandate.creditor_identifier.as_str(),
        "DE98ZZZ09999999999"
    );
    assert_eq!(
        stored[0].mandate.debtor_iban.as_str(),
        "DE89370400440532013000"
    );
    let trail = store
        .account_audit(&account, &billing_store::Page::first(10))
        .await
        .unwrap();
    assert!(
        trail
            .items
            .iter()
            .any(|entry| entry.action == "account.mandate.create")
    );
    // AND a retry, and the customer's next deal naming the same mandate,
    // record nothing new
    let (status, _, _) = post(&state, signed(&bytes(&deal), at), at).await;
    assert_eq!(status, 200);
    let next = next_deal_of(&deal);
    let (status, answer, _) = post(&state, signed(&bytes(&next), at), at).await;
    assert_eq!(status, 201, "{answer}");
    assert_eq!(store.mandates(&account).await.unwrap().len(), 1);

    // AND what the staff API or the import would refuse is refused with
    // the field, and changes nothing
    let mut other_details = next_deal_of(&deal);
    other_details["account"]["mandates"][0]["debtor_name"] = json!("Andere GmbH");
    let mut held_by_another = opportunity();
    held_by_another["account"]["mandates"] = json!([mandate]);
    let mut signed_tomorrow = opportunity();
    let mut future = mandate.clone();
    future["reference"] = json!(unique_id("M"));
    future["signed_on"] = json!((at + chrono::Duration::days(2)).date_naive());
    signed_tomorrow["account"]["mandates"] = json!([future]);
    let mut long_name = opportunity();
    let mut named = mandate.clone();
    named["reference"] = json!(unique_id("M"));
    named["debtor_name"] = json!("M".repeat(71));
    long_name["account"]["mandates"] = json!([named]);
    let cases = [
        (
            "a stored mandate with other details",
            other_details,
            422,
            Some("/account/mandates/0/reference"),
        ),
        (
            "a reference another customer holds",
            held_by_another,
            422,
            Some("/account/mandates/0/reference"),
        ),
        (
            "a signature in the future",
            signed_tomorrow,
            422,
            Some("/account/mandates/0/signed_on"),
        ),
        (
            "a debtor name longer than SEPA allows",
            long_name,
            422,
            Some("/account/mandates/0/debtor_name"),
        ),
    ];
    refused_changing_nothing(&state, at, cases).await;
}

#[tokio::test]
async fn a_one_off_deal_naming_direct_debit_is_invoiced_for_collection_under_the_mandate() {
    let _shared = TABLES.read().await;
    let state = webhook_state(example_entity(&entity_id())).await;
    let at = now();
    // GIVEN a one-off deal paid by direct debit, its customer's mandate
    // sent along
    let reference = unique_id("M");
    let mut deal = opportunity();
    let first = deal["items"][0].clone();
    deal["items"] = json!([first]);
    deal["payment_method"] = json!("direct_debit");
    let mut without_mandate = deal.clone();
    deal["account"]["mandates"] = json!([crm_mandate(&reference)]);
    // WHEN it is posted
    let (status, answer, _) = post(&state, signed(&bytes(&deal), at), at).await;
    assert_eq!(status, 201, "{answer}");
    // THEN the invoice is collected under that mandate: it carries the
    // pre-notification and is due on the collection date
    let store = local_store().await;
    let invoice = store
        .invoice(&InvoiceId::new(
            answer["invoice_id"].as_str().expect("an invoice"),
        ))
        .await
        .unwrap()
        .expect("stored")
        .invoice;
    let notice = invoice
        .content()
        .direct_debit
        .clone()
        .expect("collected by direct debit");
    assert_eq!(notice.mandate_reference.as_str(), reference);
    assert_eq!(notice.creditor_identifier.as_str(), "DE98ZZZ09999999999");
    assert_eq!(invoice.content().due_date, notice.collection_date);
    assert!(notice.collection_date >= invoice.content().issue_date + chrono::Days::new(14));
    // AND a customer without a mandate gets 422 naming the payment method,
    // and nothing is written
    without_mandate["account"]["crm_id"] = json!(unique_id("acc"));
    without_mandate["opportunity_id"] = json!(unique_id("opp"));
    let (status, answer, _) = post(&state, signed(&bytes(&without_mandate), at), at).await;
    assert_eq!(status, 422, "{answer}");
    assert_eq!(answer["error"]["fields"][0]["pointer"], "/payment_method");
    let message = answer["error"]["fields"][0]["message"]
        .as_str()
        .unwrap_or_default();
    assert!(message.contains("no SEPA mandate"), "{message}");
    let key = OpportunityKey {
        source: format!(
            "{}/{}",
            without_mandate["source_system"].as_str().unwrap(),
            without_mandate["crm_org_id"].as_str().unwrap()
        ),
        opportunity_id: without_mandate["opportunity_id"]
            .as_str()
            .unwrap()
            .to_owned(),
    };
    assert_eq!(store.opportunity(&key).await.unwrap(), None);
}

#[tokio::test]
async fn a_deal_with_a_contract_naming_direct_debit_puts_the_contract_on_it_only_with_a_mandate() {
    let _exclusive = TABLES.write().await;
    let state = webhook_state(example_entity(&entity_id())).await;
    let at = now();
    // GIVEN a deal with recurring items paid by direct debit, the
    // customer's mandate sent along
    let mut deal = opportunity();
    assert!(
        deal["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|item| item.get("recurring").is_some()),
        "the example deal has recurring items"
    );
    deal["payment_method"] = json!("direct_debit");
    let mut without_mandate = deal.clone();
    deal["account"]["mandates"] = json!([crm_mandate(&unique_id("M"))]);
    // WHEN it is posted
    let (status, answer, _) = post(&state, signed(&bytes(&deal), at), at).await;
    assert_eq!(status, 201, "{answer}");
    // THEN the contract is on direct debit (its runs collect it)
    assert_eq!(
        stored_contract(&answer).await.subscription.payment_method,
        billing_domain::subscription::PaymentMethod::DirectDebit
    );
    // AND without a usable mandate it is refused like a one-off deal, and
    // so is a parked charge naming it; nothing is written
    without_mandate["account"]["crm_id"] = json!(unique_id("acc"));
    without_mandate["opportunity_id"] = json!(unique_id("opp"));
    let mut parked = opportunity();
    parked["billing_option"] = json!("with_next_run");
    parked["payment_method"] = json!("direct_debit");
    // A contract in dollars cannot be collected by SEPA, mandate or not.
    let mut dollars = deal.clone();
    dollars["opportunity_id"] = json!(unique_id("opp"));
    dollars["account"]["crm_id"] = json!(unique_id("acc"));
    dollars["account"]["mandates"][0]["reference"] = json!(unique_id("M"));
    dollars["currency"] = json!("USD");
    dollars["account"]["currency"] = json!("USD");
    let recurring: Vec<Value> = dollars["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|item| item.get("recurring").is_some())
        .cloned()
        .collect();
    dollars["items"] = json!(recurring);
    refused_changing_nothing(
        &state,
        at,
        [
            (
                "a contract on direct debit without a mandate",
                without_mandate.clone(),
                422,
                Some("/payment_method"),
            ),
            (
                "parked charges naming direct debit",
                parked,
                422,
                Some("/payment_method"),
            ),
            (
                "a contract in dollars on direct debit",
                dollars.clone(),
                422,
                Some("/payment_method"),
            ),
        ],
    )
    .await;
    let (_, answer, _) = post(&state, signed(&bytes(&without_mandate), at), at).await;
    let message = answer["error"]["fields"][0]["message"]
        .as_str()
        .unwrap_or_default();
    assert!(message.contains("no SEPA mandate"), "{message}");
    let (_, answer, _) = post(&state, signed(&bytes(&dollars), at), at).await;
    let message = answer["error"]["fields"][0]["message"]
        .as_str()
        .unwrap_or_default();
    assert!(message.contains("euro only"), "{message}");
}

#[tokio::test]
async fn a_debtor_account_from_the_crm_is_checked_against_the_seller_s_range_and_kept() {
    let _exclusive = TABLES.write().await;
    // GIVEN a seller with the default debtor accounts 10000..=69999
    // (account length 4 + 1 digit)
    let state = webhook_state(example_entity(&entity_id())).await;
    let store = local_store().await;
    let at = now();
    // WHEN the CRM names debtor account 12345 for a new customer
    let mut deal = opportunity();
    deal["account"]["debtor_account"] = json!(12345);
    let (status, answer, _) = post(&state, signed(&bytes(&deal), at), at).await;
    assert_eq!(status, 201, "{answer}");
    // THEN it is the customer's debtor account
    let account = AccountId::new(answer["account_id"].as_str().expect("an account"));
    assert_eq!(
        store.debtor_account(&account).await.expect("read"),
        Some(12345)
    );
    // AND a retry is still a retry (the original answer, replayed)
    let (status, answer, _) = post(&state, signed(&bytes(&deal), at), at).await;
    assert_eq!(status, 200, "{answer}");

    // WHEN numbers that are not the seller's, or not this customer's, come
    let with_number = |mut body: Value, number: Value| {
        body["account"]["debtor_account"] = number;
        body
    };
    let cases = [
        (
            "too short for the account length",
            with_number(opportunity(), json!(1234)),
        ),
        (
            "outside the range",
            with_number(opportunity(), json!(70000)),
        ),
        (
            "held by another customer",
            with_number(opportunity(), json!(12345)),
        ),
        (
            "another number for the customer",
            with_number(next_deal_of(&deal), json!(12346)),
        ),
    ];
    let before = snapshot().await;
    for (name, body) in cases {
        let (status, answer, _) = post(&state, signed(&bytes(&body), at), at).await;
        // THEN each is refused naming the field, and nothing changes
        assert_eq!(status, 422, "{name}: {answer}");
        assert_eq!(
            answer["error"]["fields"][0]["pointer"], "/account/debtor_account",
            "{name}"
        );
    }
    let (status, answer, _) = post(
        &state,
        signed(&bytes(&with_number(opportunity(), json!("12345"))), at),
        at,
    )
    .await;
    assert_eq!(
        status, 400,
        "a number in quotes breaks the schema: {answer}"
    );
    assert_eq!(
        before,
        snapshot().await,
        "a refused debtor account changed a table"
    );
    assert_eq!(
        store.debtor_account(&account).await.expect("read"),
        Some(12345)
    );
}
